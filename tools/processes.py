"""Child processes of the demo: each in its own process group, logged to a file, stopped as a group.

Every child gets a new session (`start_new_session=True`), so a terminal Ctrl-C reaches only the demo, which
then stops each group itself: SIGTERM (SIGINT for `dagster dev`, which shuts its children down on it), a grace
period, then SIGKILL for whatever is left. Stopping a whole group also stops grandchildren (`dagster dev`
spawns the webserver, the daemon and a code server), so nothing is orphaned.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class PortInUseError(RuntimeError):
    pass


class ChildFailedError(RuntimeError):
    pass


def ensure_ports_free(host: str, ports: Mapping[str, int]) -> None:
    """Raise PortInUseError naming the variable to change for the first port something already listens on."""
    for variable, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise PortInUseError(
                        f"port {port} on {host} is in use ({variable}); stop what listens there "
                        f"(e.g. `ss -ltnp 'sport = :{port}'`) or choose another port: {variable}=<port> make run"
                    ) from None
                raise


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM

    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class ProcessGroupManager:
    """Starts children and guarantees they are all gone after `stop_all()` (also called on any exit path)."""

    log_dir: Path
    grace_seconds: float = 10.0
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        *,
        stdout_to_terminal: bool = False,
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log: IO[bytes] = log_path.open("ab")
        try:
            process = subprocess.Popen(  # noqa: S603 - argv built by the demo from fixed commands
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=None if stdout_to_terminal else log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own descriptor
        child = Child(name, process, log_path, stop_signal)
        self.children.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, **kwargs: object) -> None:
        """Start a child and wait for it; raise ChildFailedError (with its log's tail) if it fails."""
        child = self.start(name, argv, env, cwd, **kwargs)  # type: ignore[arg-type]
        code = child.process.wait()
        self.children.remove(child)
        if code != 0:
            raise ChildFailedError(
                f"{name} failed (exit {code}); last lines of {child.log_path}:\n{tail(child.log_path)}"
            )

    def check_alive(self) -> None:
        for child in self.children:
            if not child.running():
                raise ChildFailedError(
                    f"{child.name} exited (code {child.process.returncode}); last lines of {child.log_path}:\n"
                    f"{tail(child.log_path)}"
                )

    def wait_until(self, what: str, probe: Callable[[], bool], timeout: float) -> None:
        """Poll `probe` until true; fail early if a child died, or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if probe():
                return
            time.sleep(0.25)
        raise ChildFailedError(f"timed out after {timeout:.0f}s waiting for {what}")

    def stop_all(self) -> None:
        for child in reversed(self.children):
            _signal_group(child.process.pid, child.stop_signal)
        deadline = time.monotonic() + self.grace_seconds
        for child in reversed(self.children):
            remaining = max(0.0, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=remaining)
        # Whatever is left in any of the groups (a child that ignored the signal, or a grandchild): SIGKILL.
        for child in self.children:
            _signal_group(child.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
        self.children.clear()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local http URLs only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
