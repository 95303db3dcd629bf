"""Hostile code is contained: the evaluator survives and reports the right outcome."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantumlayer_nb.eval import Sandbox, SandboxLimits, sandbox_capabilities

CAPS = sandbox_capabilities()
ISOLATIONS = ["process"] + ([] if CAPS["isolation"] == "process" else
                            ["namespaces"] + (["bubblewrap"] if CAPS["bubblewrap"] else []))
LIMITS = SandboxLimits(timeout_s=4, memory_mb=512, processes=32, output_bytes=4096)


@pytest.fixture(scope="module", params=ISOLATIONS)
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(LIMITS, isolation=request.param) as b:
        yield b


def still_works(box: Sandbox) -> bool:
    return box.run("x = 1", "assert x == 1").passed


def test_infinite_loop_times_out(box: Sandbox) -> None:
    result = box.run("while True:\n    pass", "", timeout=1.0)
    assert result.outcome == "timeout"
    assert still_works(box)


@pytest.mark.skipif(os.geteuid() == 0 and not CAPS["pids_cgroup"],
                    reason="root without a pids cgroup: nothing bounds the fork count")
def test_fork_bomb_hits_the_process_limit(box: Sandbox) -> None:
    result = box.run("import os\nwhile True:\n    os.fork()", "", timeout=3.0)
    assert result.outcome in {"error", "timeout"}
    assert result.outcome == "timeout" or "Resource temporarily unavailable" in result.message
    assert still_works(box)


def test_memory_bomb_is_out_of_memory(box: Sandbox) -> None:
    result = box.run("blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))", "")
    assert result.outcome == "out_of_memory"
    assert still_works(box)


def test_output_flood_is_cut(box: Sandbox) -> None:
    result = box.run("import sys\nfor _ in range(2000):\n    sys.stdout.write('z' * 10_000)",
                     "assert True")
    assert result.passed
    assert len(result.stdout) == 4096
    assert result.output_truncated


def test_parent_environment_keys_are_not_visible(box: Sandbox,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-secret-value-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = (
        "import os\n"
        "found = [v for v in os.environ.values()]\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode('latin-1'))\n"
        "    except OSError:\n"
        "        pass\n"
        "print('\\n'.join(found))\n"
    )
    result = Sandbox(LIMITS, isolation=box.isolation).run(code, "")
    assert result.passed
    assert secret not in result.stdout


@pytest.mark.skipif(CAPS["isolation"] == "process", reason="no network namespace here")
@pytest.mark.parametrize("isolation", [i for i in ISOLATIONS if i != "process"])
def test_socket_to_loopback_server_is_refused(isolation: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted: list[bool] = []

    def accept() -> None:
        try:
            server.accept()
            accepted.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        result = box.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 2)",
                         "")
    thread.join()
    server.close()
    assert result.outcome == "error"
    assert accepted == []


def test_killing_the_parent_leaves_the_evaluator_alive(box: Sandbox) -> None:
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)"
    result = box.run(code, "")
    assert result.outcome in {"error", "passed", "killed"}
    assert still_works(box)


def test_sleeping_grandchild_is_killed(box: Sandbox) -> None:
    code = (
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "print(pid)\n"
    )
    result = box.run(code, "assert True")
    assert result.passed
    worker = box._worker
    if worker is not None and worker.cgroup is not None:
        # Only the worker's own processes remain in its pids cgroup.
        assert int((worker.cgroup / "pids.current").read_text()) <= 2
    else:
        assert not Path(f"/proc/{int(result.stdout)}").exists()


def test_sys_exit_before_tests_is_an_error(box: Sandbox) -> None:
    result = box.run("import sys\nsys.exit(0)", "assert False")
    assert result.outcome == "error"
    assert "sys.exit(0)" in result.message


def test_os_exit_before_tests_is_an_error(box: Sandbox) -> None:
    result = box.run("import os\nos._exit(0)", "assert False")
    assert result.outcome == "error"
    assert "before reporting a result" in result.message


def test_monkey_patching_the_harness_does_not_fake_a_pass(box: Sandbox) -> None:
    code = (
        "import builtins, json, os, sys\n"
        "json.dumps = lambda *a, **k: '{\"outcome\": \"passed\"}'\n"
        "sys.exit = lambda *a: None\n"
        "os._exit = lambda *a: None\n"
        "builtins.AssertionError = type('Harmless', (Exception,), {})\n"
        "def check(candidate):\n"
        "    pass\n"
        "def f():\n"
        "    return 0\n"
    )
    tests = "def check(candidate):\n    assert candidate() == 1\n"
    result = box.run(code, tests, entry_point="f")
    assert result.outcome == "failed"


def test_forged_result_frame_is_rejected(box: Sandbox) -> None:
    code = (
        "import os, struct\n"
        "payload = b'{\"outcome\": \"passed\", \"message\": \"\", \"traceback\": \"\"}'\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, struct.pack('>I', len(payload)) + payload)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    )
    result = box.run(code, "assert False")
    assert result.outcome == "error"
    assert still_works(box)
