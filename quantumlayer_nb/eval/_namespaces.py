"""What isolation this machine allows (bubblewrap, namespaces, a pids cgroup) and what a
sample may see of the host.

Probed once per process (each probe starts a short child process) and cached.

What a sample sees: under bubblewrap, only the system folders the interpreter needs
(``/usr``, ``/bin``, ``/lib*``, ``/etc`` with its secrets masked), the interpreter's own
prefixes and site-packages, and its own temporary folder; everything else (home folders,
the project and data folders, ``/tmp``, ``/srv``, ...) is absent. In the ``namespaces``
path the worker mounts empty tmpfs over a deny list (the same secrets, home folders, the
project and data folders, ``/tmp``, ``/dev/shm``) in its own mount namespace. The
``process`` fallback hides nothing.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import site
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Isolation = Literal["bubblewrap", "namespaces", "process"]

WORKER_PATH = str(Path(__file__).with_name("_worker.py"))
MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
_CGROUP_BASES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
_counter = itertools.count()

# What bubblewrap shows of the host (read-only), besides the interpreter's own folders.
SYSTEM_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Secrets inside the folders that stay visible: masked by /dev/null (files) or tmpfs (dirs).
SENSITIVE_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                   "/etc/security/opasswd", "/etc/sudoers", "/etc/master.passwd")
SENSITIVE_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
# The namespaces path cannot build a root from scratch: it hides these instead.
DENIED_DIRS = ("/root", "/home", "/srv", "/mnt", "/media", "/opt", "/var/lib", "/var/log",
               "/var/mail", "/var/spool", "/var/backups", "/var/tmp", "/run", "/tmp",
               "/dev/shm")

_UNSHARE_PROBE = (
    "import ctypes,sys;libc=ctypes.CDLL(None,use_errno=True);"
    "sys.exit(0 if libc.unshare(0x40000000|0x20000000|0x08000000|0x04000000|0x00020000)==0"
    " else 1)"
)


@dataclass(frozen=True)
class HostView:
    """What to hide from samples and what the interpreter needs to stay visible.

    Attributes:
        hidden_dirs: folders replaced by an empty tmpfs (home folders, the project folder,
            the data folder, the working directory of this process).
        hidden_files: files replaced by an empty one (configuration files, secrets).
        needed: folders and files the worker needs (its interpreter's prefixes and
            site-packages, the worker script), kept visible read-only even inside a hidden
            folder.
    """

    hidden_dirs: tuple[str, ...] = ()
    hidden_files: tuple[str, ...] = ()
    needed: tuple[str, ...] = ()


def _under(path: str, roots: tuple[str, ...] | list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _interpreter_paths() -> list[str]:
    """Folders the worker's interpreter reads: prefixes, site-packages, its executable."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}
    with contextlib.suppress(AttributeError):  # some embedded interpreters lack it
        paths.update(site.getsitepackages())
    found: set[str] = set()
    for path in paths:
        if path and os.path.exists(path):
            found.update({os.path.abspath(path), os.path.realpath(path)})
    return sorted(found)


def _project_paths() -> tuple[list[str], list[str]]:
    """The folders and files of this user and project that samples must not read."""
    dirs = ["/root", "/home", os.path.expanduser("~"), os.getcwd()]
    files: list[str] = []
    try:
        from quantumlayer_nb.config import get_settings

        settings = get_settings()
        dirs += [str(settings.project_root), str(settings.data_path)]
        files += [str(path) for path in settings.config_files]
    except Exception:  # an unreadable configuration must not stop the sandbox
        pass
    return dirs, files


def host_view() -> HostView:
    """The view of the host samples get here: what is hidden and what stays needed."""
    needed = [*_interpreter_paths(), WORKER_PATH]
    dirs, files = _project_paths()
    hidden: set[str] = set()
    for path in dirs:
        real = os.path.realpath(path)
        # Never hide the root or a folder that holds the system: the interpreter needs them.
        if real == "/" or any(_under(root, [real]) for root in SYSTEM_ROOTS):
            continue
        if os.path.isdir(real):
            hidden.add(real)
    masked = {os.path.realpath(path) for path in files if os.path.isfile(path)}
    return HostView(tuple(sorted(hidden)), tuple(sorted(masked)), tuple(dict.fromkeys(needed)))


def bubblewrap_command(folder: str, view: HostView | None = None) -> list[str]:
    """The bwrap prefix: a root built from the system folders and the interpreter only.

    ``folder`` is the one writable place; ``/tmp``, ``/dev`` (with ``/dev/shm``) and
    ``/proc`` are fresh; new network, PID, IPC and UTS namespaces; no capabilities.
    """
    view = view or HostView(needed=(*_interpreter_paths(), WORKER_PATH))
    bwrap = shutil.which("bwrap") or "bwrap"
    args = [bwrap, "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--mqueue", "/dev/mqueue"]
    visible: list[str] = []
    for root in SYSTEM_ROOTS:
        if os.path.islink(root):
            args += ["--symlink", os.readlink(root), root]
        elif os.path.isdir(root):
            args += ["--ro-bind", root, root]
            visible.append(root)
    needed = sorted({os.path.abspath(p) for p in view.needed if os.path.exists(p)}, key=len)
    for path in needed:
        if not _under(path, visible):
            args += ["--ro-bind", path, path]
            visible.append(path)
    hidden = [d for d in (*SENSITIVE_DIRS, *view.hidden_dirs)
              if os.path.isdir(d) and _under(d, visible) and d not in visible]
    for directory in hidden:
        args += ["--tmpfs", directory]
    for file in (*SENSITIVE_FILES, *view.hidden_files):
        if os.path.isfile(file) and _under(file, visible) and not _under(file, hidden):
            args += ["--ro-bind", "/dev/null", file]
    for path in needed:  # what the interpreter needs inside a hidden folder comes back
        if _under(path, hidden):
            args += ["--ro-bind", path, path]
    return [
        *args, "--bind", folder, folder, "--setenv", "TMPDIR", folder,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--",
    ]


def namespaces_plan(view: HostView) -> dict[str, list[str]]:
    """What the worker of the ``namespaces`` path hides in its own mount namespace."""
    return {
        "dirs": [*DENIED_DIRS, *SENSITIVE_DIRS, *view.hidden_dirs],
        "files": [*SENSITIVE_FILES, *view.hidden_files],
        "needed": [p for p in view.needed if os.path.exists(p)],
    }


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
        ``read_only_filesystem``, ``hides_host_files`` (home, project and data folders,
        ``/etc/shadow``...), ``private_tmp`` (each sample gets an empty ``/tmp``,
        ``/dev/shm`` and ``..``), ``rlimit_nproc_effective`` and a list of ``warnings``
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
        warnings.append(
            "No mount namespace: samples can read every file this user can (home folder, "
            "the project and its .qlayer data folder, configuration), and share /tmp and "
            "/dev/shm with each other. Install bubblewrap (apt-get install bubblewrap) to "
            "hide them."
        )
    if isolation == "namespaces":
        warnings.append(
            "bubblewrap is not installed or cannot run: home folders, the project and data "
            "folders, /tmp, /dev/shm and /etc secrets are hidden and the rest is remounted "
            "read-only, but files outside that deny list stay readable. Install it with: "
            "apt-get install bubblewrap."
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
        "read_only_filesystem": namespaces,
        "hides_host_files": namespaces,
        "private_tmp": namespaces,
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
