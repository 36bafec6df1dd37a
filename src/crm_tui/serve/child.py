"""The app of one session: its own process, whose controlling terminal is a fresh PTY.

The child is spawned with ``posix_spawn``: ``setsid`` makes it the leader of a new session
without a terminal, then the PTY's slave is opened as its standard input, which makes that
PTY its controlling terminal (what ``TIOCSCTTY`` does explicitly). A window change from the
client is set on the PTY with ``TIOCSWINSZ``, and the kernel tells the child's foreground
process group with ``SIGWINCH``. Its end is watched through a pidfd, so the child is reaped
by the server as soon as it exits, without a ``SIGCHLD`` handler.

``posix_spawn`` (no Python runs between fork and exec) is used because the server is an
asyncio program that may run threads (database lookups).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import re
import signal
import struct
import termios
from collections.abc import Callable, Mapping

# asked of the client (what the SSH client sent with SendEnv / SetEnv): nothing else passes
CLIENT_VARIABLES = ("LANG", "COLORTERM", "NO_COLOR")
_CLIENT_LOCALE = re.compile(r"^LC_[A-Z_]{1,32}$")
# the server's own (the operator's): where the app finds its code, files and zone
SERVER_VARIABLES = (
    "PATH",
    "HOME",
    "TZ",
    "PYTHONPATH",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "CRM_TUI_BACKUP_DIR",
)
_MAX_VALUE = 256  # a locale or TERM name is short; anything longer is not passed on
READ_SIZE = 65536
INPUT_BACKLOG = 256 * 1024  # bytes waiting for the PTY before the client is paused


def _plain(value: str) -> bool:
    return len(value) <= _MAX_VALUE and all(32 <= ord(c) < 127 for c in value)


def child_environment(
    term: str, client: Mapping[str, str], server: Mapping[str, str], session: Mapping[str, str]
) -> dict[str, str]:
    """The whole environment of a session's app: TERM from the PTY request, the locale and
    colour variables the client sent, the server's own paths, and the session's facts
    (``session``: CRM_TUI_DATABASE_URL and the CRM_TUI_SERVE_* variables). Nothing else the
    client sent reaches the app."""
    env: dict[str, str] = {}
    for name in SERVER_VARIABLES:
        if server.get(name):
            env[name] = server[name]
    for name, value in client.items():
        if (name in CLIENT_VARIABLES or _CLIENT_LOCALE.match(name)) and _plain(value):
            env[name] = value
    env["TERM"] = term if term and _plain(term) else "xterm-256color"
    env.update(session)
    return env


def set_size(fd: int, cols: int, rows: int) -> None:
    """The PTY's window size (the kernel sends SIGWINCH to its foreground group when it changes)."""
    cols = max(1, min(int(cols or 80), 1000))
    rows = max(1, min(int(rows or 24), 1000))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def quiet(fd: int) -> None:
    """No echo on a fresh terminal: keys typed before the app takes the terminal (a password
    typed ahead) would otherwise be echoed by the terminal itself, in clear, and stay in the
    client's scrollback. The app sets the modes it needs anyway."""
    modes = termios.tcgetattr(fd)
    modes[3] &= ~(termios.ECHO | termios.ECHONL)  # the local modes
    termios.tcsetattr(fd, termios.TCSANOW, modes)


def describe_status(status: int) -> str:
    """ "exit 0", "killed by SIGHUP"."""
    if os.WIFSIGNALED(status):
        try:
            name = signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            name = f"signal {os.WTERMSIG(status)}"
        return f"killed by {name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"


class PtyChild:
    """One app process on its own PTY, wired to the event loop.

    ``on_output(bytes)`` receives what the app writes; ``on_exit(status)`` is called once,
    after the child has been reaped and its last output delivered (a wait status)."""

    def __init__(
        self,
        argv: tuple[str, ...] | list[str],
        env: Mapping[str, str],
        cols: int,
        rows: int,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[int], None],
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._size = (cols, rows)
        self._on_output = on_output
        self._on_exit = on_exit
        self._loop = asyncio.get_running_loop()
        self.pid = 0
        self._master = -1
        self._pidfd = -1
        self._reading = False
        self._paused = False
        self._pending = bytearray()  # input not yet taken by the PTY
        self._kill_timer: asyncio.TimerHandle | None = None
        self.status: int | None = None
        self.exited = asyncio.Event()

    # --- start ---------------------------------------------------------------------------

    def start(self) -> int:
        master, slave = os.openpty()  # both close-on-exec: the child gets the slave by name
        try:
            set_size(master, *self._size)
            quiet(slave)
            name = os.ttyname(slave)
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, name, os.O_RDWR, 0),  # after setsid: the controlling terminal
                (os.POSIX_SPAWN_DUP2, 0, 1),
                (os.POSIX_SPAWN_DUP2, 0, 2),
            ]
            self.pid = os.posix_spawn(self._argv[0], self._argv, self._env, file_actions=actions, setsid=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # the child holds the only other end now: its exit reads as EIO
        self._master = master
        os.set_blocking(master, False)
        self._pidfd = os.pidfd_open(self.pid)
        self._loop.add_reader(self._pidfd, self._reap)
        self._start_reading()
        return self.pid

    # --- output (app -> client) ---------------------------------------------------------

    def _start_reading(self) -> None:
        if self._master >= 0 and not self._reading and not self._paused:
            self._loop.add_reader(self._master, self._readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def pause_output(self) -> None:
        """The client is not keeping up: stop reading the PTY (the app then blocks writing)."""
        self._paused = True
        self._stop_reading()

    def resume_output(self) -> None:
        self._paused = False
        self._start_reading()

    def _readable(self) -> None:
        self._drain(READ_SIZE)

    def _drain(self, limit: int | None) -> None:
        """Read what the PTY holds (one read, or all of it when ``limit`` is None)."""
        while self._master >= 0:
            try:
                data = os.read(self._master, READ_SIZE)
            except BlockingIOError:
                return
            except OSError as exc:  # EIO: no process has the terminal open any more
                if exc.errno != errno.EIO:
                    raise
                self._close_master()
                return
            if not data:
                self._close_master()
                return
            self._on_output(data)
            if limit is not None:
                return

    # --- input (client -> app) ----------------------------------------------------------

    def write(self, data: bytes) -> bool:
        """Hand ``data`` to the app; False when the backlog is big enough that the client
        should be paused until :meth:`input_drained` is called back."""
        if self._master < 0:
            return True
        self._pending += data
        self._flush_input()
        return len(self._pending) < INPUT_BACKLOG

    def _flush_input(self) -> None:
        while self._pending and self._master >= 0:
            try:
                n = os.write(self._master, self._pending)
            except BlockingIOError:
                self._loop.add_writer(self._master, self._writable)
                return
            except OSError:  # the app is gone; its exit is reported through the pidfd
                self._pending.clear()
                return
            del self._pending[:n]
        if self._master >= 0:
            self._loop.remove_writer(self._master)

    input_drained: Callable[[], None] | None = None

    def _writable(self) -> None:
        self._flush_input()
        if len(self._pending) < INPUT_BACKLOG and self.input_drained is not None:
            self.input_drained()

    def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._master >= 0:
            set_size(self._master, cols, rows)

    # --- end ----------------------------------------------------------------------------

    def hang_up(self, grace: float) -> None:
        """End the app as a terminal hang-up does: SIGHUP to its process group (and the PTY
        closed), then SIGKILL after ``grace`` seconds if anything of it is still there."""
        if self.status is not None or not self.pid:
            return
        self._signal_group(signal.SIGHUP)
        self._close_master()
        if self._kill_timer is None:
            self._kill_timer = self._loop.call_later(grace, self.kill)

    def kill(self) -> None:
        if self.status is None and self.pid:
            self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.pid, sig)  # the child leads its own session and group
        except ProcessLookupError:
            pass
        except PermissionError:  # pragma: no cover - a group we cannot signal: the child alone
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _reap(self) -> None:
        # The pidfd is readable once the child has exited; until it is reaped its pid (and so
        # its group id) cannot be reused, so anything else of its group (a process it started)
        # is killed first.
        self._signal_group(signal.SIGKILL)
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: nothing more to learn
            pid, status = self.pid, 0
        if pid == 0:
            return
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None
        self._drain(None)  # its last words, written before it exited
        self._close_master()
        self.status = status
        self.exited.set()
        self._on_exit(status)

    def _close_master(self) -> None:
        if self._master < 0:
            return
        self._stop_reading()
        self._loop.remove_writer(self._master)
        os.close(self._master)
        self._master = -1
        self._pending.clear()
