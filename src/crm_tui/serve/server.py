"""The SSH server: who connected (the key that completed authentication), one app process per
session on its own PTY, each member's exports over SFTP, the limits, and a clean stop.

Authentication. Every client gets in, and the app decides what it may see: a key that
completes authentication and belongs to a member opens that member's dashboard; any other
key, or none (keyboard-interactive with no question), gets the sign-in screen, as the local
app does. The identity is the key whose signature was verified, never one only offered:
asyncssh asks :meth:`SSHServer.validate_public_key` both for a key the client merely offers
and for the signed request, so the key is taken where the signature is checked
(:meth:`_Connection._capture_signed_key`), right before authentication succeeds. No password
is taken at the SSH level; no forwarding of any kind is allowed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncssh
from asyncssh.channel import SSHChannel
from asyncssh.public_key import decode_ssh_public_key
from asyncssh.sftp import MIN_SFTP_VERSION
from asyncssh.stream import SSHServerStreamSession

from crm_tui.serve import log
from crm_tui.serve.child import PtyChild, child_environment, describe_status
from crm_tui.serve.config import ServeConfig, format_duration
from crm_tui.serve.limits import ConnectionRate, session_refusal
from crm_tui.serve.sandbox import Sandbox, Sandboxes
from crm_tui.serve.sftp import ExportsSFTPServer, NoExportsSFTPServer, member_folder, sweep_exports

# what a session's end leaves on the client's terminal after the app was stopped from outside:
# the normal screen back, the cursor shown, mouse reporting and bracketed paste off
RESET_TERMINAL = b"\x1b[0m\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"
TYPED_AHEAD_MAX = 64 * 1024  # keys kept for the app while it starts
TICK = 0.25  # how often idle sessions and demo lifetimes are checked (s)


def _line(text: str) -> bytes:
    return ("\r\n" + text + "\r\n").encode("utf-8")


def _title(text: str) -> bytes:
    return b"\x1b]0;" + text.encode("ascii", "replace") + b"\x07"


def key_line(key: asyncssh.SSHKey) -> str:
    """The key as an OpenSSH public key line, without a comment."""
    return f"{key.algorithm.decode('ascii')} {base64.b64encode(key.public_data).decode('ascii')}"


class Server:
    """Everything one ``crm-tui serve`` shares between its connections."""

    def __init__(
        self,
        config: ServeConfig,
        host_key: asyncssh.SSHKey,
        member_for_key: Callable[[str, str], int | None] | None,
        sandboxes: Sandboxes | None,
    ) -> None:
        self.config = config
        self.limits = config.limits
        self.host_key = host_key
        self._member_for_key = member_for_key
        self.sandboxes = sandboxes
        self.rate = ConnectionRate(self.limits.connections_per_ip, self.limits.connections_window)
        self.connections: set[_Connection] = set()
        self.sessions: set[AppSession] = set()
        self.acceptor: asyncssh.SSHAcceptor | None = None
        self.stopping = False
        self._tasks: set[asyncio.Task] = set()

    # --- start / stop ---------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        self.acceptor = await asyncssh.create_server(
            lambda: _Connection(self),
            self.config.host,
            self.config.port,
            server_host_keys=[self.host_key],
            line_editor=False,  # bytes pass through untouched: the app reads the keys itself
            encoding=None,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            login_timeout=self.limits.login_timeout,
            keepalive_interval=30,
            keepalive_count_max=3,
        )
        self._spawn(self._tick())
        self._spawn(self._sweep_exports_now_and_then())
        address = self.acceptor.sockets[0].getsockname() if self.acceptor.sockets else (self.config.host, 0)
        return address[0], address[1]

    async def stop(self) -> int:
        """End every session with a message, close every connection; the number of sessions ended."""
        self.stopping = True
        if self.acceptor is not None:
            self.acceptor.close()
        ended: set[AppSession] = set()
        deadline = time.monotonic() + self.limits.hangup_grace + 5
        # a session still starting is counted already; once its app runs it sees `stopping`
        while self.sessions:
            live = list(self.sessions)
            ended.update(live)
            for session in live:
                session.end("server stopped", "crm-tui: the server is shutting down; this session has ended.")
            waits = asyncio.gather(*(s.ended.wait() for s in live))
            try:
                await asyncio.wait_for(waits, max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                for session in live:
                    if session.child is not None:
                        session.child.kill()
                    else:
                        self.sessions.discard(session)
                await asyncio.wait(
                    [asyncio.ensure_future(s.ended.wait()) for s in live], timeout=self.limits.hangup_grace
                )
                break
        # a client whose session ended leaves by itself (after showing the last line); the rest
        # (SFTP, a client still authenticating) are disconnected
        leave_by = time.monotonic() + 2
        while self.connections and time.monotonic() < leave_by:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.close("server stopped", "the server is shutting down")
        for task in self._tasks:
            task.cancel()
        if self.acceptor is not None:
            await self.acceptor.wait_closed()
        return len(ended)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            for session in list(self.sessions):
                session.check(now)
            self.rate.forget_idle()

    async def _sweep_exports_now_and_then(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.sandboxes is not None:
                await loop.run_in_executor(None, self.sandboxes.sweep, self.limits.demo_lifetime)
            else:
                removed = await loop.run_in_executor(
                    None, sweep_exports, self.config.exports_root, self.config.export_max_age
                )
                if removed:
                    log.line("exports-swept", removed=removed)
            await asyncio.sleep(self.config.sweep_interval)

    # --- what the connections ask -----------------------------------------------------------

    async def member_for(self, key: asyncssh.SSHKey | None) -> int | None:
        if key is None or self._member_for_key is None:
            return None
        algorithm = key.algorithm.decode("ascii")
        data = base64.b64encode(key.public_data).decode("ascii")
        return await asyncio.get_running_loop().run_in_executor(None, self._member_for_key, algorithm, data)

    def live_for(self, member_id: int | None) -> int:
        return sum(1 for s in self.sessions if member_id is not None and s.member_id == member_id)


class _Connection(asyncssh.SSHServer):
    """One client connection: its address, the key that completed authentication, the member."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.port = 0
        self.opened = time.monotonic()
        self._signed: bytes | None = None
        self.key: asyncssh.SSHKey | None = None
        self.fingerprint = ""
        self.member_id: int | None = None
        self._lookup: asyncio.Future[int | None] | None = None
        self._refusal: tuple[str, str, int] | None = None
        self.end_reason = ""

    # --- the connection ---------------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.address, self.port = str(peer[0]), int(peer[1])
        self.server.connections.add(self)
        if self.server.stopping:
            self._refusal = ("server stopping", "the server is shutting down", asyncssh.DISC_BY_APPLICATION)
        elif not self.server.rate.admit(self.address):
            limits = self.server.limits
            self._refusal = (
                "too many connections from this address",
                f"too many new connections from your address (the most is {limits.connections_per_ip} "
                f"in {format_duration(limits.connections_window)}); try again later",
                asyncssh.DISC_TOO_MANY_CONNECTIONS,
            )
        self._capture_signed_key(conn)

    def _capture_signed_key(self, conn: asyncssh.SSHServerConnection) -> None:
        """Note the key whose signature asyncssh verified. ``conn.validate_public_key`` is where
        asyncssh checks a key (through :meth:`validate_public_key` below) and, when the request
        carries one, its signature; a verified signature is followed at once, with nothing in
        between, by the success that calls :meth:`auth_completed`."""
        checked = conn.validate_public_key

        async def validate(username: str, key_data: bytes, msg: bytes, signature: bytes) -> bool:
            ok = await checked(username, key_data, msg, signature)
            self._signed = key_data if ok and msg else None
            return ok

        setattr(conn, "validate_public_key", validate)  # noqa: B010 - one instance's method

    def close(self, reason: str, message: str = "", code: int = asyncssh.DISC_BY_APPLICATION) -> None:
        """Disconnect; ``message`` is the one line the client prints."""
        self.end_reason = self.end_reason or reason
        if self.conn is not None:
            self.conn.disconnect(code, message or reason)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        reason = self.end_reason or (f"{exc}" if exc else "closed by the client")
        log.line(
            "connection",
            **{"from": f"{self.address}:{self.port}"},
            key=self.fingerprint,
            member=self.member_id,
            duration=log.duration(time.monotonic() - self.opened),
            end=reason,
        )

    # --- authentication ---------------------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        if self._refusal is not None:
            # refused here, once the keys are exchanged: a message sent before that would be
            # garbage to the client, after it the client prints it
            self.close(*self._refusal)
        return True  # the client must try something: a key, or keyboard-interactive with no question

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return True  # any key may sign in; whose it is (if anyone's) is decided by the app's table

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        self._signed = None
        return True  # no question: a client without a usable key gets the sign-in screen

    def password_auth_supported(self) -> bool:
        return False  # passwords are typed into the app, which checks them

    async def auth_completed(self) -> None:
        if self._signed is not None:
            self.key = decode_ssh_public_key(self._signed)
            self.fingerprint = self.key.get_fingerprint("sha256")
        # The client may open a session as soon as it reads the success, which asyncssh sends
        # before calling this: whoever needs the member awaits the same lookup.
        self._lookup = asyncio.ensure_future(self._find_member())
        self.member_id = await self._lookup

    async def _find_member(self) -> int | None:
        if self.server.config.demo or self.key is None:
            return None
        try:
            return await self.server.member_for(self.key)
        except Exception as exc:  # the database is down: nobody is recognised, the app will say why
            log.line("lookup-failed", **{"from": self.address}, error=type(exc).__name__)
            return None

    async def member(self) -> int | None:
        """The member whose key completed authentication (None: unknown key, or none)."""
        return await self._lookup if self._lookup is not None else None

    def session_requested(self) -> AppSession:
        return AppSession(self)


class AppSession(SSHServerStreamSession):
    """One session channel: the app on a PTY, or the SFTP subsystem."""

    def __init__(self, connection: _Connection) -> None:
        super().__init__(None, sftp_factory=self._sftp_server, sftp_version=MIN_SFTP_VERSION)
        self.connection = connection
        self.server = connection.server
        self.app_chan: asyncssh.SSHServerChannel | None = None
        self.term = ""
        self.cols, self.rows = 80, 24
        self.has_pty = False
        self.command: str | None = None
        self.is_sftp = False
        self.child: PtyChild | None = None
        self.member_id: int | None = None
        self.sandbox: Sandbox | None = None
        self.started = time.monotonic()
        self.last_input = self.started
        self.warned = False
        self.typed_ahead = bytearray()
        self.closed = False
        self.end_reason = ""
        self.end_message = ""
        self.ended = asyncio.Event()

    # --- requests ---------------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:  # type: ignore[override]
        super().connection_made(chan)
        self.app_chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any) -> bool:
        self.has_pty = True
        self.term = term_type
        self.cols, self.rows = term_size[0] or 80, term_size[1] or 24
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        # SFTP is each member's own exports: a client without a key has none (one whose key is
        # no member's gets a view that refuses everything, decided once the lookup is done)
        if subsystem != "sftp" or self.server.config.demo or self.connection.key is None:
            return False
        self.is_sftp = True
        return True

    async def _sftp_server(self, chan: SSHChannel[bytes]) -> asyncssh.SFTPServer:
        member = await self.connection.member()
        server_chan = cast(asyncssh.SSHServerChannel, chan)
        if member is None:
            return NoExportsSFTPServer(server_chan)
        try:
            return ExportsSFTPServer(server_chan, member_folder(self.server.config.exports_root, member))
        except (OSError, asyncssh.SFTPError):  # the folder cannot be made, or is a symbolic link
            return NoExportsSFTPServer(server_chan)

    def session_started(self) -> None:
        if self.is_sftp:
            super().session_started()
            return
        self.server._spawn(self._start_app())

    # --- the app ----------------------------------------------------------------------------

    async def _start_app(self) -> None:
        chan = self.app_chan
        assert chan is not None
        if self.command is not None:
            return self._refuse("crm-tui: this server runs the app only; connect without a command.", "a command")
        if not self.has_pty:
            return self._refuse("crm-tui: a terminal is required; connect with ssh -t.", "no terminal")
        server, limits = self.server, self.server.limits
        if server.stopping:
            return self._refuse("crm-tui: the server is shutting down.", "server stopping")
        key = self.connection.key
        try:
            member = await server.member_for(key)  # again: a key removed since is no one's
        except Exception as exc:
            log.line("lookup-failed", **{"from": self.connection.address}, error=type(exc).__name__)
            return self._refuse("crm-tui: the database cannot be reached; try again later.", "database error")
        refusal = session_refusal(
            len(server.sessions), server.live_for(member), member, limits.max_sessions, limits.max_sessions_per_member
        )
        if refusal:
            return self._refuse(refusal, "session limit")
        if self.closed:
            return
        self.member_id = member
        server.sessions.add(self)  # counted from here on, before anything else is awaited
        try:
            if server.sandboxes is not None:
                self.sandbox = await asyncio.get_running_loop().run_in_executor(None, server.sandboxes.make)
            env = child_environment(self.term, chan.get_environment(), os.environ, self._facts(chan))
            if self.closed:
                raise ConnectionError("the client left while the session was starting")
            self.child = PtyChild(server.config.child_argv, env, self.cols, self.rows, self._output, self._child_exited)
            self.child.input_drained = chan.resume_reading
            pid = self.child.start()
            if self.typed_ahead:
                self.child.write(bytes(self.typed_ahead))
                self.typed_ahead.clear()
            if server.stopping:  # the server began stopping while this session was starting
                self.end("server stopped", "crm-tui: the server is shutting down; this session has ended.")
        except Exception as exc:
            server.sessions.discard(self)
            self._discard_sandbox()
            self.ended.set()
            log.line("session-failed", **{"from": self.connection.address}, error=f"{type(exc).__name__}: {exc}")
            if not self.closed:
                self._refuse("crm-tui: the session could not be started; try again later.", "start failed")
            return
        self.started = self.last_input = time.monotonic()
        log.line(
            "session",
            **{"from": f"{self.connection.address}:{self.connection.port}"},
            key=self.connection.fingerprint,
            member=member,
            pid=pid,
            term=self.term,
            size=f"{self.cols}x{self.rows}",
            demo=1 if self.sandbox else None,
        )

    def _facts(self, chan: asyncssh.SSHServerChannel) -> dict[str, str]:
        """The session's facts for the app (see the serve contract)."""
        config = self.server.config
        sockname = chan.get_extra_info("sockname") or (config.host, config.port)
        key = self.connection.key
        if self.sandbox is not None:
            database, exports, public_key = self.sandbox.database_url, self.sandbox.exports_root, ""
        else:
            database, exports = config.database_url, config.exports_root
            public_key = key_line(key) if key is not None else ""
        return {
            "CRM_TUI_DATABASE_URL": database,
            "CRM_TUI_SERVE_MEMBER_ID": "" if self.member_id is None else str(self.member_id),
            "CRM_TUI_SERVE_KEY": public_key,
            "CRM_TUI_SERVE_EXPORTS": str(exports),
            "CRM_TUI_SERVE_HOST": str(sockname[0]),
            "CRM_TUI_SERVE_PORT": str(sockname[1]),
            "CRM_TUI_SERVE_DEMO": "1" if config.demo else "",
        }

    def _refuse(self, line: str, reason: str) -> None:
        log.line(
            "refused",
            **{"from": f"{self.connection.address}:{self.connection.port}"},
            key=self.connection.fingerprint,
            member=self.connection.member_id,
            reason=reason,
        )
        if self.app_chan is not None and not self.closed:
            self.app_chan.write((line + "\r\n").encode("utf-8"))
            self.app_chan.exit(1)
        self.ended.set()

    def _output(self, data: bytes) -> None:
        if not self.closed and self.app_chan is not None:
            self.app_chan.write(data)

    def _child_exited(self, status: int) -> None:
        chan = self.app_chan
        self.server.sessions.discard(self)
        if self.end_reason:
            reason = self.end_reason
        else:
            reason = f"app ended ({describe_status(status)})"
        if not self.closed and chan is not None:
            try:
                if self.end_message:
                    chan.write(RESET_TERMINAL + _line(self.end_message))
                if os.WIFSIGNALED(status):
                    chan.exit(0 if self.end_message else 128 + os.WTERMSIG(status))
                else:
                    chan.exit(os.waitstatus_to_exitcode(status))
            except (OSError, asyncssh.Error):  # the channel went away meanwhile
                pass
        self._discard_sandbox()
        log.line(
            "session-end",
            **{"from": f"{self.connection.address}:{self.connection.port}"},
            key=self.connection.fingerprint,
            member=self.member_id,
            pid=self.child.pid if self.child else None,
            duration=log.duration(time.monotonic() - self.started),
            end=reason,
        )
        self.ended.set()

    def _discard_sandbox(self) -> None:
        if self.sandbox is not None and self.server.sandboxes is not None:
            self.server.sandboxes.destroy(self.sandbox)
            self.sandbox = None

    def end(self, reason: str, message: str) -> None:
        """End the session from the server's side: the app is hung up, and once it is gone
        ``message`` is the last line on the client's terminal."""
        if self.child is None or self.child.status is not None:
            return
        self.end_reason = self.end_reason or reason
        self.end_message = self.end_message or message
        self.child.hang_up(self.server.limits.hangup_grace)

    def check(self, now: float) -> None:
        """Idle timeout (with its warning) and the demo's lifetime."""
        limits = self.server.limits
        if self.child is None or self.end_reason:
            return
        if self.sandbox is not None and now - self.started >= limits.demo_lifetime:
            self.end(
                "demo lifetime",
                f"crm-tui: this demo ended after {format_duration(limits.demo_lifetime)}; "
                "connect again for a fresh one.",
            )
            return
        if limits.idle_timeout <= 0:
            return
        idle = now - self.last_input
        if idle >= limits.idle_timeout:
            self.end(
                "idle",
                f"crm-tui: this session ended after {format_duration(limits.idle_timeout)} without input.",
            )
        elif not self.warned and idle >= limits.idle_timeout - limits.warning_lead():
            self.warned = True
            # the app owns the screen: the warning goes in the window title, with a bell
            left = format_duration(limits.warning_lead())
            self._output(_title(f"crm-tui: no input for a while - this session ends in {left}") + b"\x07")

    # --- the channel ------------------------------------------------------------------------

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:  # type: ignore[override]
        if self.is_sftp:
            super().data_received(data, datatype)
            return
        self.last_input = time.monotonic()
        if self.warned:
            self.warned = False
            self._output(_title("crm-tui"))
        if self.child is None:
            if len(self.typed_ahead) < TYPED_AHEAD_MAX:  # keys typed while the app starts go to it once it runs
                self.typed_ahead += data[: TYPED_AHEAD_MAX - len(self.typed_ahead)]
            return
        if not self.child.write(data) and self.app_chan is not None:
            self.app_chan.pause_reading()

    def eof_received(self) -> bool:
        if self.is_sftp:
            return super().eof_received()
        return True  # the app goes on until it ends or the client leaves

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if self.is_sftp:
            return
        self.cols, self.rows = width or self.cols, height or self.rows
        if self.child is not None:
            self.child.resize(self.cols, self.rows)

    def break_received(self, msec: int) -> bool:
        return False if not self.is_sftp else super().break_received(msec)

    def signal_received(self, signal: str) -> None:
        if self.is_sftp:
            super().signal_received(signal)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.child is not None:
            self.child.pause_output()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.child is not None:
            self.child.resume_output()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        super().connection_lost(exc)
        if self.child is not None and self.child.status is None:
            self.end_reason = self.end_reason or ("client disconnected" if exc is None else f"connection lost: {exc}")
            self.child.hang_up(self.server.limits.hangup_grace)
        elif self.child is None and not self.is_sftp:
            self.ended.set()


async def serve(config: ServeConfig, host_key: asyncssh.SSHKey, member_for_key, sandboxes, ready=None) -> int:
    """Run until SIGINT or SIGTERM; ``ready(host, port)`` is called once listening."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = Server(config, host_key, member_for_key, sandboxes)
    host, port = await server.start()
    log.line("listening", address=f"{host}:{port}", host_key=host_key.get_fingerprint("sha256"))
    if ready is not None:
        ready(host, port)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    ended = await server.stop()
    log.line("stopped", sessions_ended=ended)
    return ended
