"""The warm sandbox worker: a stdlib-only script that forks one child per sample.

Started by :mod:`quantumlayer_nb.eval.sandbox` as ``python -I _worker.py`` (never imported
into the kernel's process for execution). It reads jobs as length-prefixed JSON frames on
stdin and answers with frames on stdout. Each job runs in a forked child that calls
``setsid``, lowers its resource limits, clears its environment, moves into a fresh temporary
folder, runs the code and its tests, and reports over a private pipe.

With ``--unshare`` the worker first enters new network, PID, IPC, UTS and mount namespaces
and serves as PID 1 of the new PID namespace, so ``kill(-1, SIGKILL)`` after each sample ends
every process the sample left behind; in its mount namespace it mounts empty tmpfs over the
folders given with ``--hide`` (home folders, the project, ``/tmp``, ``/dev/shm``...) and a
fresh ``/proc``. Without namespaces the worker makes itself a child subreaper and kills the
sample's orphans one by one.

The worker is not dumpable (``PR_SET_DUMPABLE`` 0), so a sample cannot ``ptrace`` it or open
``/proc/<worker>/mem``. Where its ``/tmp`` and ``/dev/shm`` are its own (bubblewrap, or the
mount namespace), it empties them, its folder and its System V IPC objects after every
sample, so nothing one sample leaves is seen by the next.

It imports nothing from the package: it must start fast and must not import anything heavy.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import json
import linecache
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from typing import Any

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNS = 0x00020000
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
PR_CAPBSET_DROP = 24
_LAST_CAP = 63
_TRACEBACK_LIMIT = 8_000
# Light standard-library modules that generated code often imports: imported once here, every
# forked sample finds them in sys.modules instead of loading them again.
_PRELOAD = ("math", "re", "collections", "itertools", "functools", "string", "heapq",
            "bisect", "copy", "random", "hashlib", "typing", "dataclasses", "fractions")


def read_frame(fd: int) -> bytes | None:
    """Read one length-prefixed frame; None at end of file."""
    header = _read_exactly(fd, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    return _read_exactly(fd, size)


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame, looping over partial writes."""
    data = struct.pack(">I", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def enter_namespaces() -> None:
    """Enter new namespaces and continue as PID 1 of the new PID namespace.

    The calling process stays outside the PID namespace, waits for the namespace's first
    process (which runs the rest of the program) and exits with its status.
    """
    flags = CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS
    if _libc().unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare failed: {os.strerror(errno)}")
    pid = os.fork()
    if pid:
        signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if _libc().mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def hide_host(plan: dict[str, list[str]]) -> dict[str, list[str]]:
    """In a new mount namespace: tmpfs over ``plan["dirs"]``, empty files over
    ``plan["files"]``, ``plan["needed"]`` bound back read-only, and a fresh ``/proc``.

    Returns what was hidden and what could not be (``hidden``, ``not_hidden``).
    """
    hidden: list[str] = []
    failed: list[str] = []
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host
    dirs = [d for d in dict.fromkeys(plan.get("dirs", [])) if os.path.isdir(d)]
    keep = []  # opened before they disappear under a tmpfs
    for path in plan.get("needed", []):
        if _inside(path, dirs) and os.path.exists(path):
            keep.append((path, os.path.isdir(path), os.open(path, os.O_PATH)))
    for directory in dirs:
        if not os.path.isdir(directory):  # inside a folder already hidden
            hidden.append(directory)
            continue
        try:
            _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256m")
            hidden.append(directory)
        except OSError:
            failed.append(directory)
    for file in plan.get("files", []):
        if not os.path.isfile(file):
            continue
        try:
            _mount("/dev/null", file, None, MS_BIND)
            hidden.append(file)
        except OSError:
            failed.append(file)
    for path, is_dir, fd in keep:
        try:
            if is_dir:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except OSError:
            failed.append(path)
        finally:
            os.close(fd)
    try:  # a /proc of this PID namespace only: no other process of the host is listed
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        failed.append("/proc")
    writable: list[str] = [d for d in ("/tmp", "/dev/shm") if d in hidden]
    return {"hidden": hidden, "not_hidden": failed,
            "not_read_only": _remount_read_only(writable)}


def _remount_read_only(writable: list[str]) -> list[str]:
    """Make every mount of this namespace read-only except ``writable`` and ``/proc``.

    Returns the mount points that could not be made read-only.
    """
    try:
        with open("/proc/self/mountinfo") as handle:
            rows = [line.split() for line in handle]
    except OSError:
        return ["/"]
    failed = []
    for row in rows:
        point = row[4].encode().decode("unicode_escape")
        if _inside(point, [*writable, "/proc"]) or not os.path.exists(point):
            continue
        options = row[5].split(",")
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
        flags |= MS_NODEV if "nodev" in options else 0
        flags |= MS_NOEXEC if "noexec" in options else 0
        try:
            _mount(None, point, None, flags)
        except OSError:
            failed.append(point)
    return failed


def make_undumpable() -> None:
    """Refuse ptrace and /proc/<pid>/mem to processes without CAP_SYS_PTRACE."""
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _remove_tree_entries(folder: str, keep: frozenset[str] = frozenset()) -> None:
    """Remove everything inside ``folder`` except the names in ``keep``."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name in keep:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, onerror=_make_removable)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _make_removable(_function: Any, path: str, _info: Any) -> None:
    """rmtree's error handler: a sample may leave folders without write permission."""
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def _remove_sysv_ipc() -> None:
    """Remove the System V shared memory, queues and semaphores left in our IPC namespace."""
    libc = None
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 2:
                continue
            libc = libc or _libc()
            ident = int(fields[1])
            if kind == "shm":
                libc.shmctl(ident, 0, None)  # IPC_RMID
            elif kind == "msg":
                libc.msgctl(ident, 0, None)
            else:
                libc.semctl(ident, 0, 0)


def clear_shared_places(base: str) -> None:
    """Empty every place a sample could leave something for the next one.

    Only called where ``/tmp`` and ``/dev/shm`` belong to this worker alone.
    """
    _remove_tree_entries(base)
    parts = os.path.normpath(base).split(os.sep)
    keep = frozenset(parts[2:3]) if len(parts) > 2 and parts[1] == "tmp" else frozenset()
    _remove_tree_entries("/tmp", keep)
    _remove_tree_entries("/dev/shm")
    _remove_tree_entries("/dev/mqueue")
    _remove_sysv_ipc()


def drop_capabilities() -> bool:
    """Drop every capability (bounding, effective, permitted, inheritable) when root."""
    if os.geteuid() != 0:
        return False
    libc = _libc()
    for cap in range(_LAST_CAP + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    return bool(libc.capset(header, data) == 0)


def apply_limits(limits: dict[str, int]) -> None:
    """Lower the resource limits of the current process (soft and hard)."""
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "memory_bytes": resource.RLIMIT_AS,
        "file_size_bytes": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
        "processes": resource.RLIMIT_NPROC,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = limits.get(key)
        if value is None or value < 0:
            continue
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _format_traceback(error: BaseException) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename not in ("<solution>", "<tests>"):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))
    return text[-_TRACEBACK_LIMIT:]


def _assert_message(error: BaseException, filename: str) -> str:
    """The assertion's own message, or the source line of the failing assert."""
    if str(error):
        return f"AssertionError: {error}"[:_TRACEBACK_LIMIT]
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == filename and frame.line:
            return f"AssertionError at {filename} line {frame.lineno}: {frame.line}"
    return "AssertionError"


def run_harness(job: dict[str, Any], report: Any, *,
                assertion_error: type[BaseException] = AssertionError,
                memory_error: type[BaseException] = MemoryError,
                system_exit: type[BaseException] = SystemExit) -> None:
    """Run the solution, then its tests, in one namespace; ``report`` ends the process.

    The exception classes are bound when the worker starts, so code that replaces
    ``builtins.AssertionError`` cannot change what counts as a failed test.
    """
    code, tests = str(job.get("code", "")), str(job.get("tests", ""))
    entry_point = job.get("entry_point")
    for name, source in (("<solution>", code), ("<tests>", tests)):
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    stage = "solution"
    try:
        exec(compile(code, "<solution>", "exec"), namespace)
        stage = "tests"
        if entry_point:
            if entry_point not in namespace:
                report("error", f"The solution does not define {entry_point!r}.", "")
            # Assert blocks and test_* functions may call the entry point ``candidate``.
            namespace.setdefault("candidate", namespace[entry_point])
        exec(compile(tests, "<tests>", "exec"), namespace)
        ran = 0
        check = namespace.get("check")
        if entry_point and callable(check):
            check(namespace[entry_point])
            ran += 1
        for name, value in list(namespace.items()):
            code_object = getattr(value, "__code__", None)
            if (name.startswith("test") and callable(value) and code_object is not None
                    and code_object.co_filename == "<tests>"):
                value()
                ran += 1
    except assertion_error as error:
        where = "<tests>" if stage == "tests" else "<solution>"
        outcome = "failed" if stage == "tests" else "error"
        report(outcome, _assert_message(error, where), _format_traceback(error))
    except memory_error as error:
        namespace.clear()
        report("out_of_memory", "MemoryError: the memory limit was reached.", "")
        del error
    except system_exit as error:
        code_value = getattr(error, "code", None)
        report("error", f"The {stage} called sys.exit({code_value!r}) before the tests "
               "finished.", _format_traceback(error))
    except BaseException as error:
        message = f"{type(error).__name__} in the {stage}: {error}"[:_TRACEBACK_LIMIT]
        report("error", message, _format_traceback(error))
    report("passed", f"{ran} test(s) passed" if ran else "no test failed", "")


def run_child(job: dict[str, Any], folder: str, result_fd: int, out_fd: int,
              err_fd: int, keep_fds: tuple[int, ...]) -> None:
    """Body of the forked child: isolate, run the harness, report, never return."""
    write, dumps, exit_now, getpid = os.write, json.dumps, os._exit, os.getpid
    get_frame, harness_codes = sys._getframe, (run_harness.__code__, run_child.__code__)
    main_pid, token = getpid(), str(job.pop("token", ""))

    def report(outcome: str, message: str, trace: str) -> None:
        if getpid() != main_pid:  # a fork of the sample: only the sample itself reports
            exit_now(0)
        if get_frame(1).f_code not in harness_codes:  # called from the sample's own code
            outcome, message, trace = ("error", "The sample called the harness's reporter "
                                       "itself (a forged result).", "")
        payload = dumps({"outcome": outcome, "message": message, "traceback": trace,
                         "token": token}).encode("utf-8", "replace")
        try:
            write(result_fd, struct.pack(">I", len(payload)) + payload)
        finally:
            exit_now(0)

    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd, *keep_fds):
            os.close(fd)
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 65536)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
        os.chdir(folder)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": folder,
                           "TMPDIR": folder, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
        tempfile.tempdir = folder
        sys.argv = ["<solution>"]
        apply_limits(job.get("limits", {}))
    except BaseException as error:  # anything here is a sandbox failure
        report("error", f"The sandbox could not set up the child: {error}", "")
    run_harness(job, report)


def _drain(fd: int, buffer: bytearray, limit: int) -> tuple[bool, int]:
    """Read what is available; keep up to ``limit`` bytes. Returns (open, bytes dropped)."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return True, 0
    if not chunk:
        return False, 0
    room = max(0, limit - len(buffer))
    buffer.extend(chunk[:room])
    return True, len(chunk) - min(room, len(chunk))


def _kill_leftovers(pid: int, pid_namespace: bool) -> None:
    """Kill the sample's process group and every process it left behind, then reap."""
    if pid_namespace:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
    else:
        for _ in range(100):
            victims = [pid] if pid else []
            try:
                with open("/proc/thread-self/children") as handle:
                    victims += [int(text) for text in handle.read().split()]
            except OSError:
                pass
            for victim in set(victims):
                for send in (os.killpg, os.kill):
                    with contextlib.suppress(OSError):
                        send(victim, signal.SIGKILL)
            _reap()
            pid = 0
            if len(victims) <= 1 and not _has_children():
                break
    _reap()


def _has_children() -> bool:
    try:
        with open("/proc/thread-self/children") as handle:
            return bool(handle.read().split())
    except OSError:
        return False


def _reap() -> None:
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not _has_children():
                return
            time.sleep(0.0005)


def run_job(job: dict[str, Any], base: str, pid_namespace: bool,
            private_places: bool = False) -> dict[str, Any]:
    """Fork a child for one job, supervise it, and return the result as a dict.

    With ``private_places`` (``/tmp`` and ``/dev/shm`` are this worker's own), everything
    the sample wrote there, in ``base`` and in System V IPC is removed once it has ended.
    """
    limit = int(job.get("output_limit", 65536))
    timeout = float(job.get("timeout", 10.0))
    folder = tempfile.mkdtemp(prefix="sample-", dir=base)
    result_r, result_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_child(job, folder, result_w, out_w, err_w, (result_r, out_r, err_r))
        os._exit(70)
    for fd in (result_w, out_w, err_w):
        os.close(fd)
    buffers = {result_r: bytearray(), out_r: bytearray(), err_r: bytearray()}
    limits = {result_r: 4 * 1024 * 1024, out_r: limit, err_r: limit}
    dropped = 0
    watch = {result_r, out_r, err_r}
    for fd in watch:
        os.set_blocking(fd, False)
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else -1
    status: int | None = None
    timed_out = False
    deadline = started + timeout
    while status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        waits = [*watch, pidfd] if pidfd >= 0 else list(watch)
        ready, _, _ = select.select(waits, [], [], min(remaining, 0.05 if pidfd < 0 else 1.0))
        for fd in ready:
            if fd in watch:
                still_open, lost = _drain(fd, buffers[fd], limits[fd])
                dropped += lost
                if not still_open:
                    watch.discard(fd)
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
    for fd in list(watch):  # whatever the child wrote before it ended
        while True:
            still_open, lost = _drain(fd, buffers[fd], limits[fd])
            dropped += lost
            if not still_open or not _readable(fd):
                break
    _kill_leftovers(pid, pid_namespace)
    if status is None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
    for fd in (result_r, out_r, err_r, pidfd):
        if fd >= 0:
            os.close(fd)
    if private_places:
        clear_shared_places(base)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    result = _interpret(bytes(buffers[result_r]), status, timed_out, str(job.get("token")), job)
    result.update(stdout=buffers[out_r].decode("utf-8", "replace"),
                  stderr=buffers[err_r].decode("utf-8", "replace"),
                  output_truncated=dropped > 0,
                  duration_ms=(time.monotonic() - started) * 1000.0)
    return result


def _readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _interpret(raw: bytes, status: int, timed_out: bool, token: str,
               job: dict[str, Any]) -> dict[str, Any]:
    """Turn the child's report and exit status into an outcome."""
    if timed_out:
        return {"outcome": "timeout", "traceback": "",
                "message": f"Wall-clock timeout: still running after {job.get('timeout')} s."}
    report: dict[str, Any] | None = None
    if len(raw) >= 4:
        (size,) = struct.unpack(">I", raw[:4])
        try:
            candidate = json.loads(raw[4:4 + size])
        except ValueError:
            candidate = None
        if isinstance(candidate, dict) and candidate.get("token") == token:
            report = candidate
    code = os.waitstatus_to_exitcode(status)
    if report is not None:
        report.pop("token", None)
        return report
    if code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return {"outcome": "timeout", "traceback": "",
                    "message": "CPU time limit reached (SIGXCPU)."}
        if sig == signal.SIGXFSZ:
            return {"outcome": "error", "traceback": "",
                    "message": "File size limit reached (SIGXFSZ)."}
        return {"outcome": "killed", "traceback": "",
                "message": f"The child was killed by signal {signal.Signals(sig).name}."}
    if raw:
        return {"outcome": "error", "traceback": "",
                "message": "The child wrote a result the sandbox did not issue (forged)."}
    return {"outcome": "error", "traceback": "",
            "message": f"The child exited with status {code} before reporting a result."}


def serve(pid_namespace: bool, private_places: bool = False,
          hello: dict[str, Any] | None = None) -> None:
    """Answer jobs from stdin until it closes."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must never corrupt the protocol
    os.close(devnull)
    # Where /tmp is ours, the sample's ``..`` is the worker's own temporary root, emptied
    # after every sample; elsewhere a folder of our own, removed when the worker ends.
    base = tempfile.gettempdir() if private_places else tempfile.mkdtemp(prefix="qlayer-worker-")
    try:
        write_frame(proto_out, json.dumps({"ready": True, "pid": os.getpid(),
                                           **(hello or {})}).encode())
        while True:
            frame = read_frame(proto_in)
            if frame is None:
                return
            job = json.loads(frame)
            del frame  # the job's token must not linger in a frame a sample can walk to
            try:
                result = run_job(job, base, pid_namespace, private_places)
            except Exception as error:  # the worker must keep serving
                result = {"outcome": "error", "traceback": _format_traceback(error),
                          "message": f"The sandbox worker failed: {error}", "stdout": "",
                          "stderr": "", "output_truncated": False, "duration_ms": 0.0}
            result["id"] = job.get("id")
            write_frame(proto_out, json.dumps(result).encode())
    finally:
        if not private_places:
            shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Entry point: ``--unshare`` enters namespaces, ``--pid-namespace`` says we are PID 1."""
    make_undumpable()
    pid_namespace = "--pid-namespace" in argv
    private_places = "--private-tmp" in argv
    hello: dict[str, Any] = {}
    if "--unshare" in argv:
        enter_namespaces()
        pid_namespace = True
        if "--hide" in argv:
            hello = hide_host(json.loads(argv[argv.index("--hide") + 1]))
            private_places = "/tmp" in hello["hidden"] and "/dev/shm" in hello["hidden"]
            tempfile.tempdir = None
            os.environ["TMPDIR"] = "/tmp"
            os.chdir("/tmp")
    if "--drop-capabilities" in argv:
        drop_capabilities()
    if not pid_namespace:
        _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)
    serve(pid_namespace and os.getpid() == 1, private_places, hello)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
