"""The sandbox: outcomes, isolation of environment, folder and output, and its fallback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from quantumlayer_nb.errors import SandboxError
from quantumlayer_nb.eval import Sandbox, SandboxLimits, sandbox_capabilities

ISOLATIONS = ["process"] + (
    [] if sandbox_capabilities()["isolation"] == "process"
    else ["namespaces"] + (["bubblewrap"] if sandbox_capabilities()["bubblewrap"] else [])
)


@pytest.fixture(scope="module", params=ISOLATIONS)
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(SandboxLimits(timeout_s=5, output_bytes=1000), isolation=request.param) as b:
        yield b


def test_passing_code_passes(box: Sandbox) -> None:
    result = box.run("def add(a, b):\n    return a + b\n", "assert add(1, 2) == 3")
    assert result.outcome == "passed"
    assert result.isolation == box.isolation


def test_failing_assert_reports_the_assert_line(box: Sandbox) -> None:
    result = box.run("def add(a, b):\n    return a - b\n", "x = 1\nassert add(1, 2) == 3\n")
    assert result.outcome == "failed"
    assert "assert add(1, 2) == 3" in result.message
    assert "<tests>" in result.traceback


def test_check_candidate_is_called_with_entry_point(box: Sandbox) -> None:
    tests = "def check(candidate):\n    assert candidate(2) == 4\n"
    assert box.run("def sq(x):\n    return x * x\n", tests, entry_point="sq").passed
    wrong = box.run("def sq(x):\n    return x + x + 1\n", tests, entry_point="sq")
    assert wrong.outcome == "failed"


def test_pytest_style_functions_run(box: Sandbox) -> None:
    tests = "def test_one():\n    assert f() == 1\n\ndef test_two():\n    assert f() == 2\n"
    result = box.run("def f():\n    return 1\n", tests)
    assert result.outcome == "failed"
    assert "f() == 2" in result.message


def test_exception_in_solution_is_an_error(box: Sandbox) -> None:
    result = box.run("raise KeyError('boom')", "assert True")
    assert result.outcome == "error"
    assert "KeyError" in result.message


def test_syntax_error_is_an_error(box: Sandbox) -> None:
    assert box.run("def f(:\n", "").outcome == "error"


def test_wall_clock_timeout(box: Sandbox) -> None:
    result = box.run("import time\ntime.sleep(30)", "", timeout=0.5)
    assert result.outcome == "timeout"
    assert result.duration_ms < 5000


def test_environment_is_minimal(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    result = box.run("import os\nprint(sorted(os.environ))", "")
    assert result.stdout.strip() == str(sorted(["HOME", "LANG", "PATH", "PYTHONIOENCODING",
                                                 "TMPDIR"]))


def test_working_directory_is_a_fresh_temp_folder(box: Sandbox) -> None:
    code = "import os\nprint(os.getcwd(), os.listdir('.'))\nopen('f.txt', 'w').write('x')"
    first = box.run(code, "").stdout.split()
    second = box.run(code, "").stdout.split()
    assert first[0] != second[0]
    assert second[1] == "[]"


def test_output_is_cut_at_the_limit(box: Sandbox) -> None:
    result = box.run("print('y' * 50_000)", "")
    assert result.passed
    assert len(result.stdout) == 1000
    assert result.output_truncated


def test_stderr_is_captured_apart(box: Sandbox) -> None:
    result = box.run("import sys\nprint('out')\nprint('err', file=sys.stderr)", "")
    assert (result.stdout.strip(), result.stderr.strip()) == ("out", "err")


def test_capabilities_describe_isolation_and_warn_when_weak() -> None:
    caps = sandbox_capabilities()
    assert caps["isolation"] in {"bubblewrap", "namespaces", "process"}
    if not caps["read_only_filesystem"]:
        assert any("writes outside" in warning for warning in caps["warnings"])


@pytest.mark.skipif(not sandbox_capabilities()["bubblewrap"], reason="bubblewrap not usable")
def test_bubblewrap_makes_the_filesystem_read_only() -> None:
    with Sandbox(isolation="bubblewrap") as box:
        result = box.run("open('/etc/qlayer-sandbox-probe', 'w')", "")
    assert result.outcome == "error"
    assert "Read-only file system" in result.message
    assert not os.path.exists("/etc/qlayer-sandbox-probe")


def test_process_fallback_does_not_prevent_writes_outside(tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(str(tmp_path), "outside.txt")
    with Sandbox(isolation="process") as box:
        result = box.run(f"open({target!r}, 'w').write('x')", "")
    assert result.passed
    assert os.path.exists(target)


def test_unavailable_isolation_is_refused_with_advice() -> None:
    if sandbox_capabilities()["isolation"] == "bubblewrap":
        pytest.skip("every isolation is available here")
    with pytest.raises(SandboxError, match="qlayer doctor"):
        Sandbox(isolation="bubblewrap")


def test_a_process_with_over_1024_open_files_still_runs_samples() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with Sandbox() as box:
            result = box.run("def add(a, b):\n    return a + b", "assert add(1, 2) == 3")
        assert result.outcome == "passed"
    finally:
        for fd in opened:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
