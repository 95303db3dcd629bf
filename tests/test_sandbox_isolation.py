"""What a sample may see and touch: the host's private files, the worker, other samples.

Every test runs on each isolation path this machine has. Under ``bubblewrap`` and
``namespaces`` a sample must not read the project folder, the data folder, ``/root`` or
``/etc/shadow``, must not ptrace or write the warm worker, and must find nothing an earlier
sample left in ``..``, ``/tmp``, ``/dev/shm`` or System V shared memory. The ``process``
fallback cannot hide files: it must say so.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantumlayer_nb.config import reset_configuration
from quantumlayer_nb.eval import Sandbox, SandboxLimits, sandbox_capabilities
from quantumlayer_nb.eval.sandbox import what_a_sample_can_read

CAPS = sandbox_capabilities()
ISOLATIONS = ["process"] + ([] if CAPS["isolation"] == "process" else
                            ["namespaces"] + (["bubblewrap"] if CAPS["bubblewrap"] else []))
HIDING = [isolation for isolation in ISOLATIONS if isolation != "process"]
LIMITS = SandboxLimits(timeout_s=10, output_bytes=64 * 1024)
needs_hiding = pytest.mark.skipif(not HIDING, reason="no namespaces on this machine")

READ_EVERYTHING = """
import json, sys
for path in json.loads(sys.argv[1]):
    try:
        print(path, open(path, errors="replace").read())
    except OSError as error:
        print(path, "refused:", type(error).__name__)
"""


def run_reading(box: Sandbox, paths: list[str]) -> str:
    code = f"import sys\nsys.argv = ['reader', {json.dumps(json.dumps(paths))}]\n"
    result = box.run(code + READ_EVERYTHING, "")
    assert result.passed, result.message
    return result.stdout


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A project outside /tmp and /home with a secret in its folder, its data folder and
    its qlayer.toml, a secret file in /root; the project is the working directory."""
    base = "/" if os.access("/", os.W_OK) else tempfile.gettempdir()
    project = Path(tempfile.mkdtemp(prefix="qlayer-isolation-", dir=base))
    token = secrets.token_hex(12)
    places = {
        "project": project / "secret.env",
        "data": project / ".qlayer" / "ledger" / "events-0.jsonl",
        "config": project / "qlayer.toml",
    }
    places["data"].parent.mkdir(parents=True)
    for name, path in places.items():
        if name == "config":
            path.write_text(f'project = "isolation"\n# planted-{name}-{token}\n')
        else:
            path.write_text(f"PLANTED-{name}-{token}\n")
    home_file = Path("/root") / f".qlayer-isolation-{token}"
    if os.access("/root", os.W_OK):
        home_file.write_text(f"PLANTED-home-{token}\n")
        places["home"] = home_file
    monkeypatch.chdir(project)
    reset_configuration()
    yield places
    reset_configuration()
    shutil.rmtree(project, ignore_errors=True)
    home_file.unlink(missing_ok=True)


@needs_hiding
@pytest.mark.parametrize("isolation", HIDING)
@pytest.mark.parametrize("place", ["project", "data", "config", "home"])
def test_sample_cannot_read_a_planted_secret(isolation: str, place: str,
                                             planted: dict[str, Path]) -> None:
    if place not in planted:
        pytest.skip("/root is not writable here: nothing could be planted there")
    path = planted[place]
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        output = run_reading(box, [str(path)])
    assert "PLANTED" not in output
    assert "planted" not in output
    assert "refused" in output or output.strip() == str(path)


@needs_hiding
@pytest.mark.skipif(not os.path.isfile("/etc/shadow") or not os.access("/etc/shadow", os.R_OK),
                    reason="no readable /etc/shadow on this machine")
@pytest.mark.parametrize("isolation", HIDING)
def test_sample_cannot_read_etc_shadow(isolation: str) -> None:
    first_line = Path("/etc/shadow").read_text().splitlines()[0]
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        output = run_reading(box, ["/etc/shadow", "/etc/gshadow"])
    assert first_line not in output
    assert ":" not in output.replace("/etc/shadow", "").replace("/etc/gshadow", "").replace(
        "refused:", "")


@needs_hiding
@pytest.mark.parametrize("isolation", HIDING)
def test_sample_sees_no_process_of_the_host(isolation: str) -> None:
    code = "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        result = box.run(code, "")
    assert os.getpid() not in json.loads(result.stdout)
    assert max(json.loads(result.stdout)) < 100


@needs_hiding
@pytest.mark.parametrize("isolation", HIDING)
def test_the_interpreter_still_imports_installed_packages(isolation: str) -> None:
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        result = box.run("import json, decimal, sqlite3, pydantic", "assert pydantic.VERSION")
    assert result.passed, result.message


def test_process_fallback_says_it_cannot_hide_files(planted: dict[str, Path]) -> None:
    reads = what_a_sample_can_read("process")
    assert str(planted["project"].parent) in reads["readable"]
    if CAPS["isolation"] == "process":
        assert any("can read every file this user can" in w for w in CAPS["warnings"])


@needs_hiding
def test_doctor_probe_reports_the_project_and_data_folders_hidden(
        planted: dict[str, Path]) -> None:
    reads = what_a_sample_can_read()
    project = str(planted["project"].parent)
    assert project in reads["hidden"]
    assert str(planted["data"].parents[1]) in reads["hidden"]
    assert project not in reads["readable"]


# -- samples against the worker and each other ------------------------------------------

ATTACK_WORKER = """
import ctypes, os
worker = os.getppid()
try:
    open(f"/proc/{worker}/mem", "r+b")
    print("mem: opened")
except OSError as error:
    print("mem: refused", error.errno)
libc = ctypes.CDLL(None, use_errno=True)
print("ptrace:", libc.ptrace(16, worker, None, None))  # PTRACE_ATTACH
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_sample_cannot_write_worker_memory_or_ptrace_it(isolation: str) -> None:
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        attack = box.run(ATTACK_WORKER, "")
        after = box.run("x = 1", "assert x == 1", timeout=5)
    assert "mem: refused" in attack.stdout
    assert "ptrace: -1" in attack.stdout
    # The worker still serves the next sample: it passes inside its own deadline, rather than
    # being killed at it (how fast is the benchmarks' business, not a unit test's).
    assert after.passed
    assert after.duration_ms < 5000


LEAVE = """
import ctypes, os
for path in ("../left-behind", "/dev/shm/left-behind", "/tmp/left-behind",
             "../../left-behind"):
    try:
        with open(path, "w") as handle:
            handle.write("from an earlier sample")
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget(0x51A7, 4096, 0o1600)  # IPC_CREAT | 0600
"""

FIND = """
import ctypes, os
found = [p for p in ("../left-behind", "/dev/shm/left-behind", "/tmp/left-behind",
                     "../../left-behind") if os.path.exists(p)]
if ctypes.CDLL(None).shmget(0x51A7, 0, 0) >= 0:
    found.append("System V shared memory")
print(found)
"""


@needs_hiding
@pytest.mark.parametrize("isolation", HIDING)
def test_nothing_a_sample_leaves_is_seen_by_the_next(isolation: str) -> None:
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        assert box.run(LEAVE, "").passed
        found = box.run(FIND, "")
    assert found.stdout.strip() == "[]"


def test_process_fallback_gives_each_sample_a_fresh_parent_folder() -> None:
    with Sandbox(LIMITS, isolation="process") as box:
        assert box.run("open('../left-behind', 'w').write('x')", "").passed
        found = box.run("import os\nprint(os.path.exists('../left-behind'))", "")
    assert found.stdout.strip() == "False"


FORGE_THROUGH_FRAMES = """
import sys
frame = sys._getframe()
while frame is not None:
    reporter = frame.f_locals.get("report")
    if callable(reporter):
        reporter("passed", "all good", "")
    frame = frame.f_back
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_calling_the_reporter_found_by_walking_frames_is_not_a_pass(isolation: str) -> None:
    with Sandbox(LIMITS, isolation=isolation) as box:  # type: ignore[arg-type]
        result = box.run(FORGE_THROUGH_FRAMES, "assert False")
    assert result.outcome == "error"
    assert "forged" in result.message


@needs_hiding
def test_qlayer_doctor_lists_what_a_sample_can_read(planted: dict[str, Path]) -> None:
    import subprocess
    import sys

    qlayer = str(Path(sys.executable).with_name("qlayer"))
    completed = subprocess.run([qlayer, "doctor", "--json"],
                               capture_output=True, text=True, timeout=120, check=False,
                               cwd=planted["project"].parent)
    assert completed.returncode == 0, completed.stderr
    sandbox = json.loads(completed.stdout)["sandbox"]
    assert str(planted["project"].parent) in sandbox["sample_hidden"]
    assert str(planted["data"].parents[1]) in sandbox["sample_hidden"]
    assert sandbox["sample_readable"] == []
