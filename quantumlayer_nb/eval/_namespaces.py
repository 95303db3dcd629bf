"""What isolation this machine allows: bubblewrap, namespaces, a pids cgroup.

Probed once per process (each probe starts a short child process) and cached.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

Isolation = Literal["bubblewrap", "namespaces", "process"]

WORKER_PATH = str(Path(__file__).with_name("_worker.py"))
MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
_CGROUP_BASES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
_counter = itertools.count()

_UNSHARE_PROBE = (
    "import ctypes,sys;libc=ctypes.CDLL(None,use_errno=True);"
    "sys.exit(0 if libc.unshare(0x40000000|0x20000000|0x08000000|0x04000000)==0 else 1)"
)


def bubblewrap_command(folder: str) -> list[str]:
    """The bwrap prefix: read-only root, ``folder`` writable, new net/PID/IPC/UTS namespaces."""
    bwrap = shutil.which("bwrap") or "bwrap"
    return [
        bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--bind", folder, folder, "--setenv", "TMPDIR", folder,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--",
    ]


def _probe(command: list[str]) -> bool:
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=10, env={"PATH": MINIMAL_PATH}, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


@functools.lru_cache(maxsize=1)
def _bubblewrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    folder = os.path.realpath(os.environ.get("TMPDIR", "/tmp"))
    return _probe([*bubblewrap_command(folder), sys.executable, "-I", "-c", "pass"])


@functools.lru_cache(maxsize=1)
def _namespaces_work() -> bool:
    return sys.platform == "linux" and _probe([sys.executable, "-I", "-c", _UNSHARE_PROBE])


@functools.lru_cache(maxsize=1)
def _pids_cgroup_works() -> bool:
    folder = make_pids_cgroup(8)
    if folder is None:
        return False
    remove_cgroup(folder)
    return True


def best_isolation() -> Isolation:
    """The strongest isolation this machine allows."""
    if _bubblewrap_works():
        return "bubblewrap"
    if _namespaces_work():
        return "namespaces"
    return "process"


def sandbox_capabilities() -> dict[str, Any]:
    """Describe the sandbox this machine gives, for ``qlayer doctor``.

    Returns:
        A dict with ``isolation`` (``bubblewrap``, ``namespaces`` or ``process``), booleans
        ``bubblewrap``, ``network_namespace``, ``pid_namespace``, ``pids_cgroup``,
        ``read_only_filesystem``, ``rlimit_nproc_effective`` and a list of ``warnings``
        saying what is not prevented and how to fix it.
    """
    isolation = best_isolation()
    namespaces = isolation != "process"
    cgroup = _pids_cgroup_works()
    root = os.geteuid() == 0
    warnings: list[str] = []
    if not namespaces:
        warnings.append(
            "No network or PID namespace: sandboxed code can reach the network and processes "
            "that escape its session are only found through the subreaper. Run as root or "
            "allow unprivileged user namespaces to fix it."
        )
    if isolation != "bubblewrap":
        warnings.append(
            "bubblewrap is not installed or cannot run: writes outside the sample's temporary "
            "folder are not prevented. Install it with: apt-get install bubblewrap."
        )
    if root and not cgroup:
        warnings.append(
            "Running as root without a writable pids cgroup: RLIMIT_NPROC does not hold for "
            "root, so a fork bomb is bounded only by the timeout."
        )
    return {
        "isolation": isolation,
        "bubblewrap": isolation == "bubblewrap",
        "network_namespace": namespaces,
        "pid_namespace": namespaces,
        "pids_cgroup": cgroup,
        "read_only_filesystem": isolation == "bubblewrap",
        "rlimit_nproc_effective": not root,
        "warnings": warnings,
    }


def make_pids_cgroup(max_pids: int) -> Path | None:
    """Create a pids cgroup limited to ``max_pids`` tasks; None where not allowed."""
    name = f"quantumlayer_nb-sandbox-{os.getpid()}-{next(_counter)}"
    for base in _CGROUP_BASES:
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            continue
        folder = base / name
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / "pids.max").write_text(str(max_pids))
        except OSError:
            remove_cgroup(folder)
            continue
        return folder
    return None


def remove_cgroup(folder: Path) -> None:
    """Remove a cgroup once its processes have gone (they may take a moment to exit)."""
    for _ in range(50):
        try:
            folder.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
        else:
            return


def join_cgroup_prefix(folder: Path | None) -> list[str]:
    """A shell prefix that moves the process into ``folder`` before it execs the command."""
    if folder is None:
        return []
    procs = str(folder / "cgroup.procs")
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs]


def user_process_count() -> int:
    """How many processes the current user runs (RLIMIT_NPROC counts them all)."""
    uid = str(os.getuid())
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        count += line.split()[1] == uid
                        break
        except OSError:
            continue
    return count
