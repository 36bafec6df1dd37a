"""The SSH server's rows (``python -m tests.bench.run --serve``): ``crm-tui serve`` reached with
the real OpenSSH client through a PTY, its byte stream rendered by pyte (the harness of
tests/serve/kit.py), against floors taken in the same run.

- ``serve_connect``: ``ssh`` → the dashboard painted (key sign-in), against the very program the
  server runs for a session (``python -m crm_tui.served``) started locally on an 80x24 PTY with
  the environment a served session gets (read from a served child), to its dashboard painted.
  Both sides are timed from spawning the process to the same text on the same emulated screen.
- ``serve_session_memory``: a session's app process against the local app, each settled at its
  dashboard (same runs).
- ``serve_memory_sessions``: the server plus N sessions settled at their dashboards (the
  server's memory and every session app's, summed) against N times the local app's.
- ``serve_keys``: N sessions, each typing 10 keys a second (the cursor down and up the Contacts
  list) for a while: the median time from writing a key to the first bytes after it that change
  the emulated screen (characters or attributes), against the same with one session, same run.
  Every session must still answer a last key afterwards. A key written while the previous key's
  update is still arriving is answered by the rest of that update: the measure is a lower bound
  once updates take longer than the gap between keys (the 95th percentile is in the note).

Memory is VmRSS from /proc/<pid>/status (Pss from smaps_rollup, which counts shared pages once
over all processes, is in the notes), read once no process's VmRSS has changed for a second: the
app goes on loading code for a moment after its dashboard is painted (about 56 MiB at the paint,
71 MiB settled).

Sizes: 20 sessions typing for 30 s; with ``--quick`` 5 sessions for 10 s.
"""

from __future__ import annotations

import os
import re
import select
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte

from . import data

try:  # run as ``python -m tests.bench.run``
    from tests.serve.kit import Served, Terminal, environ_of, make_key, start_server, wait_until
except ModuleNotFoundError:  # imported by pytest, whose packages start at tests/
    from serve.kit import Served, Terminal, environ_of, make_key, start_server, wait_until  # type: ignore[no-redef]

FIGURES = ["serve_connect", "serve_session_memory", "serve_memory_sessions", "serve_keys"]
FULL_LOAD = {"sessions": 20, "seconds": 30.0}
QUICK_LOAD = {"sessions": 5, "seconds": 10.0}
KEYS_PER_SECOND = 10
DOWN, UP = "\x1b[B", "\x1b[A"
CYCLE = [DOWN] * 8 + [UP] * 8  # the cursor stays on the rows shown: every key moves it
COLS, ROWS = 80, 24
_COUNT = re.compile(r"│\s+[\d,]+\s+│")


def dashboard_painted(text: str) -> bool:
    """The member's dashboard with its counts: the greeting, a count box holding a number, and
    the open to-dos list."""
    return "Welcome, " in text and "Open to-dos" in text and _COUNT.search(text) is not None


def contacts_painted(text: str) -> bool:
    return "rows 1–" in text


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def pss_kib(pid: int) -> int:
    """Pss of ``pid`` in KiB (/proc/<pid>/smaps_rollup): shared pages counted once over all."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss for {pid}")


def settled(pids: list[int], read, steady: float = 1.0, timeout: float = 20.0) -> list[tuple[int, int]]:
    """(VmRSS, Pss) of each of ``pids`` once no VmRSS has changed for ``steady`` seconds: the app
    goes on loading code for a moment after its dashboard is painted. ``read(seconds)`` reads the
    terminals meanwhile, so no app waits on a full PTY."""
    deadline = time.perf_counter() + timeout
    last = [rss_kib(pid) for pid in pids]
    since = time.perf_counter()
    while time.perf_counter() - since < steady and time.perf_counter() < deadline:
        read(0.1)
        now = [rss_kib(pid) for pid in pids]
        if now != last:
            last, since = now, time.perf_counter()
    return [(rss_kib(pid), pss_kib(pid)) for pid in pids]


def ssh_to_dashboard(served: Served, key: Path, user: str = "member") -> tuple[float, int, Terminal]:
    """``ssh`` spawned → the dashboard painted: (seconds, the session's app pid, the terminal,
    left open)."""
    mark = len(served.log())
    start = time.perf_counter()
    term = Terminal(served, key, user=user)
    try:
        term.wait_for(lambda: dashboard_painted(term.text()), 60)
    except BaseException:
        term.close()
        raise
    seconds = time.perf_counter() - start
    return seconds, served.session_pid(after=mark), term


class LocalTerminal(Terminal):
    """A program on a local PTY of 80x24 (no ssh), with the same screen and reading as
    :class:`Terminal`."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.child = pexpect.spawn(argv[0], argv[1:], dimensions=(ROWS, COLS), env=env)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.received = bytearray()
        self.eof = False


@dataclass
class Session:
    """A terminal in the typing run: its screen's rows as last compared, keys awaiting an
    update, and the key-to-update times."""

    term: Terminal
    rows: list[tuple] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self) -> None:
        self.rows = [self._row(y) for y in range(ROWS)]

    @property
    def fd(self) -> int:
        return self.term.child.child_fd

    def _row(self, y: int) -> tuple:
        line = self.term.screen.buffer[y]
        return tuple(line[x] for x in range(COLS))

    def feed(self, chunk: bytes) -> bool:
        """Render ``chunk``; whether it changed any character or attribute on the screen."""
        screen = self.term.screen
        screen.dirty.clear()
        self.term.received += chunk
        self.term.stream.feed(chunk)
        changed = False
        for y in screen.dirty:
            if 0 <= y < ROWS:
                row = self._row(y)
                if row != self.rows[y]:
                    self.rows[y] = row
                    changed = True
        return changed

    def send(self, key: str, now: float) -> None:
        os.write(self.fd, key.encode())
        self.pending.append(now)
        self.sent += 1


def read_ready(sessions: list[Session], timeout: float) -> None:
    """One select over the sessions' terminals: every key awaiting an update, on a terminal whose
    screen the bytes read change, gets its time to the moment the bytes were there."""
    by_fd = {s.fd: s for s in sessions if not s.term.eof}
    if not by_fd:
        time.sleep(timeout)
        return
    ready, _, _ = select.select(list(by_fd), [], [], max(0.0, timeout))
    seen = time.perf_counter()
    for fd in ready:
        s = by_fd[fd]
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            s.term.eof = True
            continue
        if s.feed(chunk) and s.pending:
            s.latencies.extend(seen - sent for sent in s.pending)
            s.pending.clear()


def type_keys(sessions: list[Session], seconds: float, rate: int = KEYS_PER_SECOND, grace: float = 10.0) -> None:
    """Each session writes ``rate`` keys a second for ``seconds`` (their keys spread evenly over
    each interval), then the run waits up to ``grace`` seconds for the last updates."""
    interval, keys = 1.0 / rate, round(seconds * rate)
    start = time.perf_counter() + 0.1
    first = [start + i * interval / len(sessions) for i in range(len(sessions))]
    written = [0] * len(sessions)
    while True:
        now = time.perf_counter()
        for i, s in enumerate(sessions):
            if written[i] < keys and first[i] + written[i] * interval <= now:
                s.send(CYCLE[s.sent % len(CYCLE)], time.perf_counter())
                written[i] += 1
        upcoming = [first[i] + n * interval for i, n in enumerate(written) if n < keys]
        if not upcoming and (all(not s.pending for s in sessions) or now > start + seconds + grace):
            return
        read_ready(sessions, (min(upcoming) - time.perf_counter()) if upcoming else 0.05)


def settle(sessions: list[Session], quiet: float = 0.5, timeout: float = 30.0) -> None:
    """Read until no terminal has written anything for ``quiet`` seconds."""
    deadline = time.perf_counter() + timeout
    last = [len(s.term.received) for s in sessions]
    calm_since = time.perf_counter()
    while time.perf_counter() - calm_since < quiet and time.perf_counter() < deadline:
        read_ready(sessions, 0.05)
        now = [len(s.term.received) for s in sessions]
        if now != last:
            last, calm_since = now, time.perf_counter()
    for s in sessions:
        s.pending.clear()


def answer_last_key(sessions: list[Session], timeout: float = 20.0) -> int:
    """Every session is sent one more key; how many update their screen for it in ``timeout``."""
    settle(sessions)
    for s in sessions:
        s.latencies.clear()
        s.send(DOWN if s.sent % len(CYCLE) < 8 else UP, time.perf_counter())
    deadline = time.perf_counter() + timeout
    while any(s.pending for s in sessions) and time.perf_counter() < deadline:
        read_ready(sessions, 0.05)
    return sum(1 for s in sessions if s.latencies)


@dataclass
class Load:
    sessions: int
    seconds: float
    latencies: list[float]
    usable: int
    unanswered: int
    server_kib: int = 0
    children_kib: list[int] = field(default_factory=list)
    server_pss: int = 0
    children_pss: list[int] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds while typing, by who used them


class ServeBench:
    """The server's rows for :class:`tests.bench.run.Bench`: one ``crm-tui serve`` on a private
    copy of the typical database, a key linked to its owner."""

    def __init__(self, bench, figure: type, quick: bool) -> None:
        self.bench, self.figure = bench, figure
        self.load_size = QUICK_LOAD if quick else FULL_LOAD
        self.work = bench.work / "serve"
        self.work.mkdir(parents=True, exist_ok=True)
        built = data.copy(bench.db["typical"], self.work / "served.sqlite3")
        self.url = f"sqlite:///{built.path}"
        self.key = make_key(self.work, "member")
        link_key(self.url, built.owner_email, self.key)
        self.served: Served = start_server(
            self.work / "home",
            "--database-url",
            self.url,
            "--per-ip-limit",
            "0",
            "--max-sessions-per-member",
            "0",
            "--idle-timeout",
            "0",
        )
        self.local_env: dict[str, str] = {}
        self._connects: dict[str, list[float]] | None = None
        self._loads: dict[int, Load] = {}

    def stop(self) -> None:
        self.served.stop()

    # --- one session: ssh against the local app ---------------------------------------

    def ssh_to_dashboard(self) -> tuple[float, int, Terminal]:
        return ssh_to_dashboard(self.served, self.key)

    def local_to_dashboard(self) -> tuple[float, int, Terminal]:
        """The served app started locally on a PTY → its dashboard painted."""
        if not self.local_env:
            self._read_served_environment()
        start = time.perf_counter()
        term = LocalTerminal([sys.executable, "-m", "crm_tui.served"], self.local_env)
        try:
            term.wait_for(lambda: dashboard_painted(term.text()), 60)
        except BaseException:
            term.close()
            raise
        return time.perf_counter() - start, term.child.pid, term

    def _read_served_environment(self) -> None:
        """A served session's whole environment, for the local runs (one ssh run, not timed,
        which also warms the file cache for both sides)."""
        _seconds, pid, term = self.ssh_to_dashboard()
        try:
            self.local_env = environ_of(pid)
        finally:
            term.close()

    def _connect_runs(self) -> dict[str, list[float]]:
        if self._connects is None:
            runs: dict[str, list[float]] = {"ssh": [], "local": [], "ssh_kib": [], "local_kib": []}
            runs.update(ssh_pss=[], local_pss=[])
            if not self.local_env:
                self._read_served_environment()
            for _ in range(self.bench.runs):
                for side, measure in (("local", self.local_to_dashboard), ("ssh", self.ssh_to_dashboard)):
                    seconds, pid, term = measure()
                    try:
                        runs[side].append(seconds)
                        ((rss, pss),) = settled([pid], term.pump)
                        runs[f"{side}_kib"].append(rss)
                        runs[f"{side}_pss"].append(pss)
                    finally:
                        term.close()
            self._connects = runs
        return self._connects

    # --- many sessions ------------------------------------------------------------------

    def load(self, n: int) -> Load:
        """``n`` sessions open at the Contacts list, memory read, then typing for the set time."""
        if n in self._loads:
            return self._loads[n]
        opened: list[Terminal] = []
        try:
            mark = len(self.served.log())
            for _ in range(n):
                opened.append(Terminal(self.served, self.key, user="member"))
            sessions = [Session(t) for t in opened]
            wait_until(
                lambda: read_ready(sessions, 0.05) or all(dashboard_painted(t.text()) for t in opened),
                120,
                f"{n} dashboards",
                step=0,
            )
            pids = [int(p) for p in re.findall(r"\bsession from=\S+ .*?pid=(\d+)", self.served.log()[mark:])]
            if len(pids) != n:
                raise RuntimeError(f"{len(pids)} session lines in the server's log for {n} sessions")
            load = Load(n, self.load_size["seconds"], [], 0, 0)
            memory = settled([self.served.proc.pid, *pids], lambda seconds: read_ready(sessions, seconds))
            (load.server_kib, load.server_pss), *children = memory
            load.children_kib = [rss for rss, _pss in children]
            load.children_pss = [pss for _rss, pss in children]
            for s in sessions:
                s.term.send("1")
            wait_until(
                lambda: read_ready(sessions, 0.05) or all(contacts_painted(t.text()) for t in opened),
                120,
                "the Contacts lists",
                step=0,
            )
            settle(sessions)
            for s in sessions:
                s.rows = [s._row(y) for y in range(ROWS)]
            who = {"apps": pids, "server": [self.served.proc.pid], "ssh clients": [t.child.pid for t in opened]}
            before = {k: sum(map(cpu_seconds, v)) for k, v in who.items()}
            mine = time.process_time()
            type_keys(sessions, load.seconds)
            load.cpu = {k: sum(map(cpu_seconds, v)) - before[k] for k, v in who.items()}
            load.cpu["this measuring process"] = time.process_time() - mine
            load.latencies = [x for s in sessions for x in s.latencies]
            load.unanswered = sum(len(s.pending) for s in sessions)
            load.usable = answer_last_key(sessions)
        finally:
            for t in opened:
                t.close()
        self._loads[n] = load
        return load

    # --- figures ------------------------------------------------------------------------

    def serve_connect(self):
        runs = self._connect_runs()
        f = self.figure(
            "ssh → dashboard painted (key sign-in), typical",
            "the served app started locally on an 80×24 pty, to its dashboard",
            "≤ 1.5×",
            1.5,
        )
        f.app, f.base = list(runs["ssh"]), list(runs["local"])
        return f

    def serve_session_memory(self):
        runs = self._connect_runs()
        f = self.figure(
            "memory of one ssh session's app, settled at its dashboard (VmRSS)",
            "the local app at its dashboard",
            "≤ 1.1×",
            1.1,
            unit="MiB",
        )
        f.app = [k / 1024 for k in runs["ssh_kib"]]
        f.base = [k / 1024 for k in runs["local_kib"]]
        f.note = (
            f"Pss: session {statistics.median(runs['ssh_pss']) / 1024:.0f} MiB, "
            f"local {statistics.median(runs['local_pss']) / 1024:.0f} MiB"
        )
        return f

    def serve_memory_sessions(self):
        n = self.load_size["sessions"]
        load = self.load(n)
        local = self._connect_runs()["local_kib"] if self._connects else self._local_memory()
        f = self.figure(
            f"server + {n} ssh sessions settled at their dashboards, total VmRSS",
            f"{n} × the local app at its dashboard",
            "≤ 1.2×",
            1.2,
            unit="MiB",
        )
        f.app = [(load.server_kib + sum(load.children_kib)) / 1024]
        f.base = [n * statistics.median(local) / 1024]
        f.note = (
            f"server {load.server_kib / 1024:.0f} MiB, per session median "
            f"{statistics.median(load.children_kib) / 1024:.0f} MiB "
            f"({min(load.children_kib) / 1024:.0f}–{max(load.children_kib) / 1024:.0f}); Pss total "
            f"{(load.server_pss + sum(load.children_pss)) / 1024:.0f} MiB (server {load.server_pss / 1024:.0f}, "
            f"per session median {statistics.median(load.children_pss) / 1024:.0f})"
        )
        return f

    def _local_memory(self) -> list[int]:
        found = []
        for _ in range(self.bench.runs):
            _seconds, pid, term = self.local_to_dashboard()
            try:
                found.append(settled([pid], term.pump)[0][0])
            finally:
                term.close()
        return found

    def serve_keys(self):
        n = self.load_size["sessions"]
        one = self.load(1)
        many = self.load(n)
        f = self.figure(
            f"key → screen update over ssh, {n} sessions × {KEYS_PER_SECOND} keys/s for {many.seconds:.0f} s",
            "the same with 1 session",
            "≤ 2×; every session answers a last key",
            2.0,
        )
        f.app, f.base = many.latencies, one.latencies
        if many.usable < n or one.usable < 1:
            f.limit = float("-inf")  # not met, whatever the times
        pct = statistics.quantiles(many.latencies, n=20)[-1] if len(many.latencies) > 1 else float("nan")
        f.note = (
            f"{len(many.latencies)} keys timed with {n} sessions (95th percentile {pct * 1000:.0f} ms), "
            f"{many.unanswered} without an update; {many.usable} of {n} sessions answered a last key "
            f"(1 session: {len(one.latencies)} keys, {one.usable} of 1). CPU seconds used while typing, "
            f"{n} sessions: " + ", ".join(f"{k} {v:.1f}" for k, v in many.cpu.items()) + f" (of {os.cpu_count()} CPUs"
            f" × {many.seconds:.0f} s; 1 session: " + ", ".join(f"{k} {v:.1f}" for k, v in one.cpu.items()) + ")"
        )
        return f


def link_key(url: str, email: str, key: Path) -> None:
    """Link ``key`` to the member ``email`` through the service ``crm-tui ssh-key add`` uses."""
    from crm_tui import db
    from crm_tui.services import ssh_keys

    engine = db.get_engine(url)
    try:
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            member_id = conn.execute("SELECT id FROM member WHERE email = ?", (email,)).fetchone()[0]
        ssh_keys.add(engine, member_id, key.with_suffix(".pub").read_text())
    finally:
        engine.dispose()
