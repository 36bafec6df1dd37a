"""Drive ``crm-tui serve`` as its users do: the real OpenSSH client, through a PTY (pexpect),
its byte stream rendered by a terminal emulator (pyte) to assert on the screen as it is seen.

The server runs as ``python -m crm_tui serve --port 0`` in a subprocess with its own HOME;
its stdout says where it listens, its stderr is the log (one line per connection and
session end, with the app's pid). Every wait polls with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte

SSH_OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=10",
]


def wait_until(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def make_key(folder: Path, name: str, passphrase: str = "", kind: str = "ed25519") -> Path:
    path = folder / name
    size = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *size, "-N", passphrase, "-C", name, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def home_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SSH_", "CRM_TUI_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        TZ="UTC",
    )
    return env


@dataclass
class Served:
    """A running ``crm-tui serve``."""

    proc: subprocess.Popen
    port: int
    out: Path
    err: Path
    home: Path
    args: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.home / "data" / "crm-tui"

    def log(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, pattern: str, timeout: float = 20, after: int = 0) -> re.Match:
        """The first match of ``pattern`` in the log (from offset ``after``)."""
        regex = re.compile(pattern)
        return wait_until(lambda: regex.search(self.log(), after), timeout, f"log line {pattern!r}:\n{self.log()}")

    def session_pid(self, after: int = 0, timeout: float = 20) -> int:
        return int(self.wait_log(r"\bsession from=\S+ .*?pid=(\d+)", timeout, after).group(1))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def start_server(home: Path, *args: str, timeout: float = 60) -> Served:
    home.mkdir(parents=True, exist_ok=True)
    out, err = home / "serve.out", home / "serve.err"
    cmd = [sys.executable, "-m", "crm_tui", "serve", "--host", "127.0.0.1", "--port", "0", *args]
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=home_environment(home))
    served = Served(proc, 0, out, err, home, list(args))

    def listening():
        if proc.poll() is not None:
            raise AssertionError(f"crm-tui serve exited {proc.returncode}:\n{out.read_text()}\n{err.read_text()}")
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", out.read_text())
        return int(found.group(1)) if found else 0

    served.port = wait_until(listening, timeout, "the server to listen")
    return served


class Terminal:
    """The OpenSSH client in a PTY of ``cols``×``rows``, and the screen it shows."""

    def __init__(
        self,
        served: Served,
        key: Path | None = None,
        *,
        cols: int = 80,
        rows: int = 24,
        user: str = "crm",
        options: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        args = ["-tt", *SSH_OPTIONS, "-p", str(served.port)]
        if key is not None:
            args += ["-o", "IdentitiesOnly=yes", "-i", str(key)]
        else:
            args += ["-o", "PubkeyAuthentication=no"]
        args += [*options, f"{user}@127.0.0.1"]
        base = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}  # no agent
        base["TERM"] = "xterm-256color"
        base.update(env or {})
        self.child = pexpect.spawn("ssh", args, dimensions=(rows, cols), env=base)
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.received = bytearray()  # every byte the client wrote to its terminal
        self.eof = False

    def pump(self, timeout: float = 0.05) -> None:
        if self.eof:
            time.sleep(timeout)
            return
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
            self.received += data
            self.stream.feed(data)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            self.eof = True

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, what: str | Callable[[], object], timeout: float = 30) -> object:
        """Read until ``what`` (text on the screen, or a predicate) holds; the screen in the
        failure otherwise."""
        check = (lambda: what in self.text()) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what!r}; the screen:\n{self.text()}")
            if self.eof and not check():
                raise AssertionError(f"the connection ended before {what!r}; the screen:\n{self.text()}")
            self.pump()

    def wait_gone(self, text: str, timeout: float = 30) -> None:
        self.wait_for(lambda: text not in self.text(), timeout)

    def send(self, *parts: str) -> None:
        for part in parts:
            self.child.send(part)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    def wait_closed(self, timeout: float = 20) -> int | None:
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() > deadline:
                raise AssertionError(f"the ssh client did not end; the screen:\n{self.text()}")
            self.pump()
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.close(force=True)


def process_state(pid: int) -> str | None:
    """The process's state letter (Z: a zombie), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def group_members(pgid: int) -> list[int]:
    """Processes whose process group is ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item]
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}
