"""Crash safety: kill an operation with SIGKILL at a random moment, then check the files.

For each operation (close, restore, purge, remove-member, cancel-messages, export) and each
trial: copy a prepared demo database and its backup folder, fork a child that runs the
operation through the services, kill it with SIGKILL after a random delay, and check from
the outside that

* ``PRAGMA integrity_check`` is ``ok`` and ``PRAGMA foreign_key_check`` is empty;
* the whole database (every row of every table) is either exactly as before or exactly as
  after an uninterrupted run of the operation, never in between;
* after ``backups.sweep`` (what the app runs at its next close, restore or purge) and
  ``backups.remove_destroyed`` (what the next purge runs) every backup file has a row and a
  key, every key has its finished file, nothing is pending;
* closed accounts restore to exactly what they held; purged ones refuse to restore;
* the audit chain verifies.

The child is forked from this (already warmed-up) process, so a trial costs the operation
and the checks, not an interpreter start. Delays are drawn from the operation's measured
duration: half uniformly over the whole run (and a bit past it), half over the span of its
write transactions (first BEGIN to last commit), so kills land before, inside and after the
commit. The child reports when it begins and commits write transactions through a pipe, and
every kill is counted by where it landed.

    python -m tests.reliability.crash --trials 100            # every operation
    python -m tests.reliability.crash --trials 1000 --ops close,purge
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # pragma: no cover - run as a file
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tests.reliability"

from . import harness as h  # noqa: E402

# --- the operations, as the child runs them -------------------------------------------


def _who(engine, email: str):
    from crm_tui.services import auth

    return auth.as_member(engine, email)


def op_close(engine, place: h.Place) -> None:
    from crm_tui.services import closing

    closing.close_account(engine, _who(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])


def op_restore(engine, place: h.Place) -> None:
    from crm_tui.services import closing

    closing.restore(engine, h.OWNER)


def op_purge(engine, place: h.Place) -> None:
    from crm_tui.services import closing

    closing.purge(engine)


def op_remove_member(engine, place: h.Place) -> None:
    from crm_tui.services import team

    who = _who(engine, h.OWNER)
    team.remove_member(engine, who, team.find_in_account(engine, who, h.ADMIN))


def op_cancel_messages(engine, place: h.Place) -> None:
    from crm_tui.services import messages

    messages.cancel(engine, _who(engine, h.OWNER), h.PASSWORDS[h.OWNER])


def op_export(engine, place: h.Place) -> None:
    from crm_tui.services import export

    out = place.root / "out"
    out.mkdir(exist_ok=True)
    export.export_account(engine, _who(engine, h.OWNER), out_dir=out)


def export_available() -> bool:
    try:
        from crm_tui.services import export
    except ImportError:
        return False
    return hasattr(export, "export_account")


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable
    base: str  # "open": both demo accounts live; "closed": Acme closed at PINNED_NOW
    now: str = h.PINNED_NOW


OPERATIONS = {
    "close": Operation("close", op_close, "open"),
    "restore": Operation("restore", op_restore, "closed"),
    "purge": Operation("purge", op_purge, "closed", now=h.AFTER_WINDOW),
    "remove-member": Operation("remove-member", op_remove_member, "open"),
    "cancel-messages": Operation("cancel-messages", op_cancel_messages, "open"),
    "export": Operation("export", op_export, "open"),
}


# --- one child ------------------------------------------------------------------------


def _child(op: Operation, place: h.Place, wfd: int) -> None:
    """Runs in the forked child; never returns."""
    code = 3
    try:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        from crm_tui import db

        def mark(c: str) -> None:
            os.write(wfd, f"{c} {time.monotonic():.6f}\n".encode())

        h.use(place, op.now)
        engine = db.get_engine(place.url)
        if op.name == "close":  # the boundaries of the close's phases, and small batches in (d)
            from crm_tui.services import closing

            closing._phase_hook = lambda boundary: mark("P" + boundary)
            closing.DELETE_BATCHES = closing.Batches.fixed(CLOSE_BATCH)

        def is_write(conn) -> bool:
            return bool(conn.get_execution_options().get("crm_tui_write"))

        event.listen(engine, "begin", lambda conn: mark("W") if is_write(conn) else None)
        event.listen(engine, "commit", lambda conn: mark("C") if is_write(conn) else None)
        event.listen(engine, "rollback", lambda conn: mark("R") if is_write(conn) else None)
        event.listen(Session, "after_commit", lambda s: mark("c"))
        mark("S")
        op.run(engine, place)
        mark("D")
        code = 0
    except BaseException as exc:  # the operation itself must not fail in an uninterrupted run
        try:
            os.write(wfd, f"E {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


@dataclass
class Run:
    markers: list[tuple[str, float]]
    status: int
    killed: bool

    def first(self, code: str) -> float | None:
        return next((t for c, t in self.markers if c == code), None)

    @property
    def error(self) -> str | None:
        return next((c for c, _ in self.markers if c.startswith("E ")), None)

    def phase(self) -> str:
        """Where the kill landed: 'before' the first write transaction, 'inside' one,
        'between' them, or 'after' the operation returned."""
        codes = [c for c, _ in self.markers]
        if "D" in codes:
            return "after"
        open_ = False
        seen = False
        for c in codes:
            if c == "W":
                open_, seen = True, True
            elif c in ("c", "R"):
                open_ = False
        if open_:
            return "inside"
        return "between" if seen else "before"

    def close_phase(self) -> str:
        """For a close: the phase the kill landed in, (a) marking closing (or before it), (b) the
        backup, (c) recording the close, (d) the batches; 'after' once it returned."""
        codes = [c for c, _ in self.markers]
        if "D" in codes:
            return "after"
        last = next((c for c in reversed(codes) if c.startswith("P")), None)
        return {None: "a", "Pmarked": "b", "Pbacked_up": "c"}.get(last, "d")


# rows per batch of the close's phase (d) in the harness: the demo's accounts are small, so
# batches this small give the kills several transactions of (d) to land in
CLOSE_BATCH = 8


def _read_line(fd: int) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf


def _parse(raw: bytes) -> list[tuple[str, float]]:
    out = []
    for line in raw.decode(errors="replace").splitlines():
        if line.startswith("E "):
            out.append((line, 0.0))
            continue
        code, _, t = line.partition(" ")
        try:
            out.append((code, float(t)))
        except ValueError:
            out.append((line, 0.0))
    return out


def run_child(op: Operation, place: h.Place, kill_after: float | None) -> Run:
    """Fork, run the operation, and (when ``kill_after`` is given) SIGKILL it that many
    seconds after it started."""
    h.forget_engines()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        _child(op, place, wfd)
    os.close(wfd)
    try:
        first = _read_line(rfd)
        killed = False
        if kill_after is not None and first.startswith(b"S"):
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)
            killed = True
        _, status = os.waitpid(pid, 0)
        rest = b""
        while chunk := os.read(rfd, 65536):
            rest += chunk
    finally:
        os.close(rfd)
    markers = _parse(first + rest)
    if killed and os.WIFEXITED(status):
        killed = False  # it had finished before the signal arrived
    return Run(markers, status, killed)


# --- checks ----------------------------------------------------------------------------


@dataclass
class Reference:
    before: dict
    after: dict
    acme: dict  # Acme's rows while it was live (what a restore must bring back)
    # (duration, (first write BEGIN, last commit)) of recent uninterrupted runs, in seconds
    timings: list[tuple[float, tuple[float, float]]] = field(default_factory=list)

    def _recent(self):
        return sorted(self.timings[-7:], key=lambda t: t[0])[len(self.timings[-7:]) // 2]

    @property
    def duration(self) -> float:
        return self._recent()[0]

    @property
    def window(self) -> tuple[float, float]:
        return self._recent()[1]

    def observe(self, run: Run, delay: float | None) -> None:
        """Follow the machine's speed: a finished run gives its timing; a kill that came
        later than the expected duration and still found it running stretches the estimate."""
        timing = timing_of(run)
        if timing is not None:
            self.timings.append(timing)
        elif delay is not None and delay > self.duration:
            scale = delay * 1.25 / self.duration
            lo, hi = self.window
            self.timings.append((delay * 1.25, (lo * scale, hi * scale)))


def timing_of(run: Run) -> tuple[float, tuple[float, float]] | None:
    start, end = run.first("S"), run.first("D")
    if start is None or end is None:
        return None
    begins = [t for c, t in run.markers if c == "W"]
    commits = [t for c, t in run.markers if c == "c"]
    window = (begins[0] - start, commits[-1] - start) if begins and commits else (0.0, end - start)
    return end - start, window


@dataclass
class Tally:
    trials: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    close_phases: dict[str, int] = field(default_factory=dict)  # a close's kills by phase (a)-(d)
    swept: int = 0
    partials: int = 0
    violations: list[str] = field(default_factory=list)

    def add(self, key: dict, name: str) -> None:
        key[name] = key.get(name, 0) + 1


def _backup_state(place: h.Place) -> tuple[set[str], set[str], set[str]]:
    """(file names on disk, finished ones only, file names of backup rows that have a key)."""
    on_disk = {p.name for p in place.files()}
    finished = {n for n in on_disk if n.endswith(".crmbak")}
    conn = h.connect(place.db)
    try:
        keyed = {r[0] for r in conn.execute("SELECT b.file_name FROM backup b JOIN backup_key k ON k.backup_id = b.id")}
    finally:
        conn.close()
    return on_disk, finished, keyed


def check_trial(op: Operation, place: h.Place, ref: Reference) -> tuple[str, bool, list[str]]:
    """(outcome, whether sweep had work, violations) of a trial whose child has died."""
    from crm_tui import db
    from crm_tui.services import backups, closing
    from crm_tui.services.errors import RestoreRefused

    problems = h.integrity_problems(place.db)
    if problems:
        return "corrupt", False, problems
    h.use(place, op.now)
    engine = db.get_engine(place.url)
    closing.resume(engine)  # what the next start of any crm-tui process does first
    h.forget_engines()
    state = h.dump(place.db)
    if state == ref.before:
        outcome = "before"
    elif state == ref.after:
        outcome = "after"
    else:
        differs = h.diff_tables(state, ref.before)
        return "half-done", False, [f"neither before nor after; tables differing from before: {differs}"]

    h.use(place, op.now)
    engine = db.get_engine(place.url)
    if not h.audit_ok(place.url):
        problems.append("audit chain does not verify")
    swept = bool(backups.sweep(engine))  # what the next close/restore/purge does first
    # and what the next purge does: remove the files whose key a restore or purge destroyed
    # before it could remove them itself (a sweep never removes a finished file)
    removed, warnings = backups.remove_destroyed(engine)
    swept = swept or bool(removed)
    problems.extend(f"tidying: {w}" for w in warnings)
    if h.dump(place.db) != state:
        problems.append("sweep changed database rows")
    on_disk, finished, keyed = _backup_state(place)
    if on_disk != finished:
        problems.append(f"unfinished files after sweep: {sorted(on_disk - finished)}")
    if finished != keyed:
        problems.append(f"files without key: {sorted(finished - keyed)}; keys without file: {sorted(keyed - finished)}")

    closed = op.name in ("close", "restore", "purge")
    live_after = {"close": outcome == "before", "restore": outcome == "after", "purge": False}
    if closed and not live_after[op.name]:
        # Acme is closed: a purge (after) must refuse; otherwise its backup must restore exactly.
        purged = op.name == "purge" and outcome == "after"
        if purged and keyed:
            problems.append("a key survived the purge")
        try:
            closing.restore(engine, h.OWNER, now=_pinned(h.PINNED_NOW))
        except RestoreRefused:
            if not purged:
                problems.append("restore refused an account inside its window")
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            problems.append(f"restore failed: {type(exc).__name__}: {exc}")
        else:
            if purged:
                problems.append("a purged account was restored")
            elif h.dump_account(place.db, h.ACME_ID) != ref.acme:
                problems.append(
                    "restored account differs from the original: "
                    f"{h.diff_tables(h.dump_account(place.db, h.ACME_ID), ref.acme)}"
                )
    elif closed and keyed:
        problems.append("the account is live but its backup still has a key")
    if op.name == "export":
        problems.extend(_check_export(place, outcome))
    h.forget_engines()
    return outcome, swept, problems


def _check_export(place: h.Place, outcome: str) -> list[str]:
    """A published export is complete and verifies; once audited, it exists."""
    from crm_tui.services import archive

    out = place.root / "out"
    finals = sorted(out.glob("*.zip")) if out.exists() else []
    problems = []
    if outcome == "after" and len(finals) != 1:
        problems.append(f"the export was recorded but {len(finals)} archives exist")
    for f in finals:
        try:
            with archive.open_zip(f) as zf:
                archive.verify_archive(zf)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"published export {f.name} does not verify: {exc}")
    return problems


def partial_exports(place: h.Place) -> int:
    out = place.root / "out"
    return len(list(out.glob(".*.part"))) if out.exists() else 0


def _pinned(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)


# --- preparing bases and references ----------------------------------------------------


def prepare(work: Path, contacts: int) -> dict[str, h.Place]:
    open_ = h.Place(work / "base-open")
    h.build_demo(open_, contacts=contacts)
    _settle_backup_folder(open_)
    closed = h.copy_place(open_, h.Place(work / "base-closed"))
    run = run_child(OPERATIONS["close"], closed, None)
    if run.error or run.status != 0:
        raise RuntimeError(f"preparing the closed base failed: {run.error}")
    return {"open": open_, "closed": closed}


def _settle_backup_folder(place: h.Place) -> None:
    """Give the base its backup folder (the ``setting`` rows naming it), as the first close of a
    database does in its phase (a): a close undone after that keeps them (they name the folder,
    not the account), so the base starts with them."""
    from crm_tui import db
    from crm_tui.services import backups

    h.use(place, h.PINNED_NOW)
    with db.write_connection(db.get_engine(place.url)) as conn:
        backups.prepare_folder(conn)
    h.forget_engines()


def reference(op: Operation, base: h.Place, before: dict, work: Path, acme: dict, runs: int = 3) -> Reference:
    """Run the operation uninterrupted a few times: its after-state and its timing.

    ``before`` is the base's dump, taken once before the workers start: a worker must only copy
    a base, never open it, since closing SQLite's last connection checkpoints and removes the
    -wal file that another worker may be copying."""
    after = None
    ref = Reference(before, {}, acme)
    for i in range(runs):
        place = h.copy_place(base, h.Place(work / f"ref-{op.name}-{i}"))
        run = run_child(op, place, None)
        if run.error or run.status != 0:
            raise RuntimeError(f"{op.name} failed without a kill: {run.error}")
        state = h.dump(place.db)
        if after is not None and state != after:
            raise RuntimeError(f"{op.name}: two uninterrupted runs disagree in {h.diff_tables(state, after)}")
        after = state
        ref.observe(run, None)
        _remove(place.root)
    ref.after = after
    return ref


def draw_delay(rng: random.Random, ref: Reference) -> float:
    if rng.random() < 0.5:
        return rng.uniform(0.0, ref.duration * 1.3)
    lo, hi = ref.window
    pad = (hi - lo) * 0.15 + 0.0005
    return max(0.0, rng.uniform(lo - pad, hi + pad))


# --- the driver ---------------------------------------------------------------------------


def run_operation(
    op: Operation,
    bases: dict[str, h.Place],
    befores: dict[str, dict],
    work: Path,
    trials: int,
    seed: int,
    acme: dict,
    log=None,
) -> tuple[Tally, Reference]:
    rng = random.Random(f"{seed}:{op.name}")
    base = bases[op.base]
    ref = reference(op, base, befores[op.base], work, acme)
    tally = Tally()
    for i in range(trials):
        place = h.copy_place(base, h.Place(work / f"{op.name}-{i}"))
        delay = draw_delay(rng, ref)
        run = run_child(op, place, delay)
        ref.observe(run, delay if run.killed else None)
        tally.trials += 1
        if run.error:
            tally.violations.append(f"trial {i}: the operation failed: {run.error}")
        tally.add(tally.phases, run.phase() if run.killed else "after")
        if op.name == "close":
            tally.add(tally.close_phases, run.close_phase() if run.killed else "after")
        outcome, swept, problems = check_trial(op, place, ref)
        tally.add(tally.outcomes, outcome)
        tally.swept += swept
        partials = partial_exports(place)
        tally.partials += partials
        if partials:
            tally.violations.append(f"trial {i}: a partial export file was left in the export folder")
        tally.violations.extend(f"trial {i}: {p}" for p in problems)
        _remove(place.root)
        if log and (i + 1) % 50 == 0:
            log(f"  {op.name}: {i + 1}/{trials}")
    return tally, ref


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def scratch_dir() -> str | None:
    """Where trials run: a memory file system when there is one (CRASH_DIR overrides).

    A process killed with SIGKILL loses nothing the kernel already holds, whatever the file
    system, so fsync adds only waiting here; power loss is another matter, not tested."""
    chosen = os.environ.get("CRASH_DIR")
    if chosen:
        return chosen
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _worker(job: tuple) -> tuple[str, Tally, float, float, tuple[float, float]]:
    name, bases, befores, work, trials, seed, acme, verbose = job
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if verbose else None
    started = time.monotonic()
    tally, ref = run_operation(OPERATIONS[name], bases, befores, work, trials, seed, acme, log)
    return name, tally, time.monotonic() - started, ref.duration, ref.window


def run(ops: list[str], trials: int, seed: int = 1, contacts: int = 40, jobs: int = 3, log=None) -> dict[str, Tally]:
    """Run every operation's trials; up to ``jobs`` operations at once (each in a forked
    worker: a trial mostly waits for its kill and for fsync, so this helps even on 2 cores)."""
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="crm-crash-", dir=scratch_dir()) as tmp:
            work = Path(tmp)
            bases = prepare(work, contacts)
            acme = h.dump_account(bases["open"].db, h.ACME_ID)
            befores = {kind: h.dump(place.db) for kind, place in bases.items()}
            h.forget_engines()
            work_items = [(name, bases, befores, work, trials, seed, acme, log is not None) for name in ops]
            if jobs > 1 and len(ops) > 1:
                import multiprocessing

                with multiprocessing.get_context("fork").Pool(min(jobs, len(ops))) as pool:
                    done = pool.map(_worker, work_items, chunksize=1)
            else:
                done = [_worker(item) for item in work_items]
            results = {}
            for name, tally, seconds, duration, window in done:
                if log:
                    log(
                        f"{name}: {trials} trials in {seconds:.1f}s (operation {duration * 1000:.0f} ms, "
                        f"write transactions {window[0] * 1000:.0f}-{window[1] * 1000:.0f} ms)"
                    )
                results[name] = tally
            return results
    finally:
        h.forget_engines()
        h.set_clock(None)
        os.environ.clear()
        os.environ.update(saved)


def format_report(results: dict[str, Tally]) -> str:
    lines = [
        f"{'operation':16} {'trials':>6} {'before':>7} {'inside':>7} {'between':>8} {'after':>6}"
        f"   {'unchanged':>9} {'done':>5} {'swept':>6} {'violations':>10}"
    ]
    for name, t in results.items():
        p, o = t.phases, t.outcomes
        lines.append(
            f"{name:16} {t.trials:>6} {p.get('before', 0):>7} {p.get('inside', 0):>7} "
            f"{p.get('between', 0):>8} {p.get('after', 0):>6}   {o.get('before', 0):>9} "
            f"{o.get('after', 0):>5} {t.swept:>6} {len(t.violations):>10}"
        )
    lines.append(
        "kill landed: before/inside/between write transactions, or after the operation "
        "returned; outcome: database unchanged or exactly the finished state; swept: "
        "trials where the next run's sweep tidied a backup file"
    )
    for name, t in results.items():
        if t.close_phases:
            c = t.close_phases
            lines.append(
                f"{name}: kills by phase: (a) marking closing {c.get('a', 0)}, (b) backup {c.get('b', 0)}, "
                f"(c) recording {c.get('c', 0)}, (d) deleting in batches {c.get('d', 0)}, after {c.get('after', 0)}"
            )
    for name, t in results.items():
        if t.partials:
            lines.append(f"note {name}: {t.partials} trials left a hidden partial file (.*.part) in the export folder")
        for v in t.violations[:10]:
            lines.append(f"VIOLATION {name}: {v}")
    return "\n".join(lines)


def default_ops() -> list[str]:
    return [n for n in OPERATIONS if n != "export" or export_available()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.reliability.crash", description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=100, help="kills per operation (default 100)")
    p.add_argument("--ops", default=",".join(default_ops()), help="comma-separated operations")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--contacts", type=int, default=40, help="contacts in the demo account (default 40)")
    p.add_argument("--jobs", type=int, default=3, help="operations run at once (default 3)")
    args = p.parse_args(argv)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    unknown = [o for o in ops if o not in OPERATIONS]
    if unknown:
        p.error(f"unknown operation(s): {', '.join(unknown)}")
    started = time.monotonic()
    results = run(ops, args.trials, args.seed, args.contacts, args.jobs, log=lambda m: print(m, file=sys.stderr))
    print(format_report(results))
    print(f"total {sum(t.trials for t in results.values())} kills in {time.monotonic() - started:.0f}s")
    return 1 if any(t.violations for t in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
