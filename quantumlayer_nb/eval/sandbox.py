"""Run untrusted code and its tests outside the kernel.

A :class:`Sandbox` keeps one warm worker process (``python -I``, stdlib only) that lives in
its own network and PID namespaces (under bubblewrap when installed, which also makes the
filesystem read-only outside the sample's temporary folder) and forks one child per sample:
``setsid``, resource limits, an empty environment, a fresh temporary folder, a wall-clock
timeout that kills every process the sample started. Where namespaces are not allowed, the
sandbox falls back to a fresh ``python -I`` per sample (``isolation="process"``).

Example::

    with Sandbox() as box:
        result = box.run("def add(a, b): return a + b", "assert add(1, 2) == 3")
    result.outcome  # "passed"
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field

from quantumlayer_nb.errors import SandboxError
from quantumlayer_nb.eval import _namespaces
from quantumlayer_nb.eval._namespaces import Isolation, sandbox_capabilities
from quantumlayer_nb.eval._worker import read_frame, write_frame
from quantumlayer_nb.observability import span

__all__ = ["Outcome", "Sandbox", "SandboxLimits", "SandboxResult", "run_in_sandbox",
           "sandbox_capabilities", "what_a_sample_can_read"]

Outcome = Literal["passed", "failed", "error", "timeout", "out_of_memory", "killed"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "timeout", "out_of_memory",
                                 "killed")
_MB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Limits applied to every sample.

    Attributes:
        timeout_s: wall-clock seconds before the sample and all its processes are killed.
        cpu_seconds: CPU time (RLIMIT_CPU).
        memory_mb: address space (RLIMIT_AS).
        file_size_mb: largest file the sample may write (RLIMIT_FSIZE).
        open_files: open file descriptors (RLIMIT_NOFILE).
        processes: processes and threads (a pids cgroup as root, RLIMIT_NPROC otherwise).
        output_bytes: stdout and stderr are each cut at this many bytes.
    """

    timeout_s: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 64
    output_bytes: int = 64 * 1024


class SandboxResult(BaseModel):
    """What happened to one sample."""

    outcome: Outcome = Field(description="passed, failed, error, timeout, out_of_memory, killed")
    message: str = Field(default="", description="one line: the failing assertion or the error")
    traceback: str = Field(default="", description="traceback, trimmed to the sample")
    stdout: str = Field(default="", description="captured stdout, cut at the output limit")
    stderr: str = Field(default="", description="captured stderr, cut at the output limit")
    output_truncated: bool = Field(default=False, description="whether output was cut")
    duration_ms: float = Field(default=0.0, description="wall-clock time of the sample")
    isolation: str = Field(default="", description="bubblewrap, namespaces or process")

    @property
    def passed(self) -> bool:
        """True when every test passed."""
        return self.outcome == "passed"


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, isolation: Isolation, processes: int,
                 view: _namespaces.HostView | None = None) -> None:
        self.folder = tempfile.mkdtemp(prefix="qlayer-sandbox-")
        os.chmod(self.folder, 0o700)
        self.cgroup = _namespaces.make_pids_cgroup(processes + 4)
        self.hello: dict[str, Any] = {}
        command = [sys.executable, "-I", _namespaces.WORKER_PATH]
        view = view or _namespaces.HostView(needed=(_namespaces.WORKER_PATH,))
        if isolation == "bubblewrap":
            command = [*_namespaces.bubblewrap_command(self.folder, view), *command,
                       "--pid-namespace", "--private-tmp"]
        elif isolation == "namespaces":
            command += ["--unshare", "--hide", json.dumps(_namespaces.namespaces_plan(view)),
                        "--drop-capabilities"]
        else:
            command += ["--drop-capabilities"]
        env = {"PATH": _namespaces.MINIMAL_PATH, "LANG": "C.UTF-8", "TMPDIR": self.folder}
        try:
            self.process = subprocess.Popen(
                [*_namespaces.join_cgroup_prefix(self.cgroup), *command],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env=env, cwd=self.folder, start_new_session=True,
            )
        except OSError as error:
            self.close()
            raise SandboxError(f"Could not start the sandbox worker ({error}). Check that "
                               f"{sys.executable} runs, or use isolation='process'.") from error
        hello = self.receive(timeout=30.0)
        if hello is None or not hello.get("ready"):
            self.close()
            raise SandboxError(
                f"The sandbox worker ({isolation}) did not start. Run `qlayer doctor` to see "
                "which isolation this machine allows, or pass isolation='process'."
            )
        self.hello = hello

    def send(self, job: dict[str, Any]) -> None:
        stdin: IO[bytes] | None = self.process.stdin
        assert stdin is not None
        write_frame(stdin.fileno(), json.dumps(job).encode())

    def receive(self, timeout: float) -> dict[str, Any] | None:
        stdout: IO[bytes] | None = self.process.stdout
        assert stdout is not None
        # poll, not select: a process with over 1,024 open files (a busy kernel or server)
        # has descriptors select() refuses.
        waiter = select.poll()
        waiter.register(stdout.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        if not waiter.poll(max(timeout, 0.0) * 1000):
            return None
        frame = read_frame(stdout.fileno())
        if frame is None:
            return None
        value: dict[str, Any] = json.loads(frame)
        return value

    def close(self) -> None:
        process = getattr(self, "process", None)
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            with contextlib.suppress(OSError):
                os.killpg(process.pid, 9)
            process.wait()
        if self.cgroup is not None:
            _namespaces.remove_cgroup(self.cgroup)
        shutil.rmtree(self.folder, ignore_errors=True)


class Sandbox:
    """Runs code strings with their tests in an isolated child process.

    Args:
        limits: resource limits for every sample (defaults: :class:`SandboxLimits`).
        isolation: ``"auto"`` (the strongest available), ``"bubblewrap"``, ``"namespaces"``
            (warm worker in network and PID namespaces) or ``"process"`` (a fresh
            ``python -I`` per sample, no namespaces).

    Raises:
        SandboxError: the requested isolation is not available on this machine.
    """

    def __init__(self, limits: SandboxLimits | None = None, *,
                 isolation: Literal["auto", "bubblewrap", "namespaces", "process"] = "auto"
                 ) -> None:
        self.limits = limits or SandboxLimits()
        best = _namespaces.best_isolation()
        order: list[Isolation] = ["bubblewrap", "namespaces", "process"]
        if isolation == "auto":
            isolation = best
        elif order.index(isolation) < order.index(best):
            raise SandboxError(
                f"Isolation {isolation!r} is not available here (the best is {best!r}). Run "
                "`qlayer doctor` for details, or use isolation='auto'."
            )
        self.isolation: Isolation = isolation
        # What samples must not read (project, data folder, home folders), worked out once.
        self._view = _namespaces.host_view() if isolation != "process" else None
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._nproc = -1
        if os.geteuid() != 0:
            self._nproc = _namespaces.user_process_count() + self.limits.processes
        self._finalizer = weakref.finalize(self, Sandbox._close_worker, [None])

    @staticmethod
    def _close_worker(holder: list[_Worker | None]) -> None:
        worker = holder[0]
        if worker is not None:
            worker.close()

    def _job(self, code: str, tests: str, entry_point: str | None,
             timeout: float | None) -> dict[str, Any]:
        limits = self.limits
        return {
            "code": code, "tests": tests, "entry_point": entry_point,
            "timeout": timeout if timeout is not None else limits.timeout_s,
            "token": secrets.token_hex(16), "output_limit": limits.output_bytes,
            "limits": {
                "cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_mb * _MB,
                "file_size_bytes": limits.file_size_mb * _MB, "open_files": limits.open_files,
                "processes": self._nproc,
            },
        }

    def run(self, code: str, tests: str = "", *, entry_point: str | None = None,
            timeout: float | None = None) -> SandboxResult:
        """Run ``code``, then ``tests`` in the same namespace, and say what happened.

        ``tests`` may be an assert block, pytest-style ``test_*`` functions (called without
        arguments), or HumanEval's ``check(candidate)`` (called with ``entry_point``).

        Args:
            code: the program under test (for HumanEval, the prompt plus the completion).
            tests: test code.
            entry_point: name of the function passed to ``check``.
            timeout: wall-clock seconds; defaults to ``limits.timeout_s``.

        Returns:
            The :class:`SandboxResult`.

        Raises:
            SandboxError: the worker could not be started at all.
        """
        with span("qlayer.sandbox.run", **{"qlayer.sandbox.isolation": self.isolation}) as current:
            result = self._run(code, tests, entry_point, timeout)
            current.set_attribute("qlayer.sandbox.outcome", result.outcome)
        return result

    def start(self) -> None:
        """Start the warm worker now, instead of on the first :meth:`run`.

        Nothing to do with ``isolation="process"`` (a fresh interpreter per sample).

        Raises:
            SandboxError: the worker could not be started.
        """
        if self.isolation == "process":
            return
        with self._lock:
            self._ensure_worker()

    def _ensure_worker(self) -> _Worker:
        if self._worker is None:
            self._worker = _Worker(self.isolation, self.limits.processes, self._view)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, Sandbox._close_worker, [self._worker])
        return self._worker

    def _run(self, code: str, tests: str, entry_point: str | None,
             timeout: float | None) -> SandboxResult:
        job = self._job(code, tests, entry_point, timeout)
        with self._lock:
            if self.isolation == "process":
                worker = _Worker("process", self.limits.processes)
                try:
                    return self._exchange(worker, job, keep=False)
                finally:
                    worker.close()
            return self._exchange(self._ensure_worker(), job, keep=True)

    def _exchange(self, worker: _Worker, job: dict[str, Any], *, keep: bool) -> SandboxResult:
        try:
            worker.send(job)
            answer = worker.receive(timeout=float(job["timeout"]) + 15.0)
        except (OSError, ValueError):
            answer = None
        if answer is None or answer.get("id") is not None:
            if keep:
                worker.close()
                self._worker = None
            return SandboxResult(outcome="killed", isolation=self.isolation,
                                 message="The sandbox worker stopped answering and was "
                                 "restarted; the sample's result is lost.")
        answer.pop("id", None)
        return SandboxResult(isolation=self.isolation, **answer)

    def close(self) -> None:
        """Stop the worker process (a new one starts on the next :meth:`run`)."""
        with self._lock:
            self._finalizer()
            self._worker = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_in_sandbox(code: str, tests: str = "", *, entry_point: str | None = None,
                   limits: SandboxLimits | None = None) -> SandboxResult:
    """Run one sample in a fresh :class:`Sandbox` (convenient, slower than reusing one)."""
    with Sandbox(limits) as box:
        return box.run(code, tests, entry_point=entry_point)


_READ_PROBE = """
import json, os, sys
found = {}
for path in json.loads(sys.argv[1]):
    try:
        if os.path.isdir(path):
            found[path] = sorted(os.listdir(path))
        else:
            with open(path, "rb") as handle:
                found[path] = bool(handle.read(1))
    except OSError:
        found[path] = None
print(json.dumps(found))
"""


def _read_probe_targets() -> list[str]:
    view = _namespaces.host_view()
    targets = ["/root", *sorted(str(p) for p in Path("/home").glob("*")), *view.hidden_dirs,
               *view.hidden_files, *_namespaces.SENSITIVE_FILES,
               *sorted(str(p) for p in Path("/etc/ssh").glob("ssh_host_*key"))]
    # An empty file says nothing about whether the sample could read it.
    return [path for path in dict.fromkeys(targets)
            if os.path.isdir(path) or (os.path.isfile(path) and os.path.getsize(path) > 0)]


def what_a_sample_can_read(isolation: Literal["auto", "bubblewrap", "namespaces",
                                               "process"] = "auto") -> dict[str, list[str]]:
    """Run a sample that tries to read the host's private places, and say what it got.

    The places: ``/root`` and the home folders, the project folder, the data folder, the
    configuration files, ``/etc/shadow`` and similar, the SSH host keys.

    Returns:
        ``readable`` (what the sample read), ``partly`` (folders of which it saw only what
        the interpreter needs, e.g. ``/root: .pyenv``) and ``hidden`` (what it could not
        read or found empty); plus ``error`` when the probe sample could not run.
    """
    targets = _read_probe_targets()
    key = (isolation, tuple(targets))
    if key not in _PROBED:  # one probe per process and set of places
        _PROBED[key] = _probe_reads(isolation, targets)
    return {name: list(paths) for name, paths in _PROBED[key].items()}


_PROBED: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}


def _probe_reads(isolation: Literal["auto", "bubblewrap", "namespaces", "process"],
                 targets: list[str]) -> dict[str, list[str]]:
    code = f"import sys\nsys.argv = ['probe', {json.dumps(json.dumps(targets))}]\n"
    try:
        with Sandbox(SandboxLimits(timeout_s=20), isolation=isolation) as box:
            result = box.run(code + _READ_PROBE, "")
        seen: dict[str, Any] = json.loads(result.stdout)
    except (SandboxError, ValueError) as error:
        why = str(error) if isinstance(error, SandboxError) else \
            f"{result.outcome}: {result.message}"
        return {"readable": [], "partly": [], "hidden": [],
                "error": [f"the probe sample did not run ({why})"]}
    report: dict[str, list[str]] = {"readable": [], "partly": [], "hidden": []}
    for path in targets:
        got = seen.get(path)
        if isinstance(got, list) and os.path.isdir(path):
            host = set(os.listdir(path))
            shown = sorted(host & set(got))
            if not shown:
                report["hidden"].append(path)
            elif len(shown) < len(host):
                report["partly"].append(f"{path}: {', '.join(shown)}")
            else:
                report["readable"].append(path)
        elif got:
            report["readable"].append(path)
        else:
            report["hidden"].append(path)
    return report


def _doctor_lines() -> list[str]:
    """Human-readable lines about the sandbox, for ``qlayer doctor``."""
    caps = sandbox_capabilities()
    lines = [f"sandbox isolation: {caps['isolation']}"]
    lines += [f"  warning: {text}" for text in caps["warnings"]]
    return lines
