"""Concurrency: separate processes on one database file.

* The owner closes the account while an administrator and a team player, each in a process
  of their own, read and write it: neither sees "database is locked" or any other database
  error; both end with the account-closed message; the other account is untouched.
* Four writer processes on four accounts for a few seconds: every write they saw commit is
  there, nothing else is, and none of them fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from . import harness as h

ROOT = Path(__file__).resolve().parents[2]
WRITE_SECONDS = float(os.environ.get("CONCURRENCY_SECONDS", "3"))
# Contacts in the account closed under its members (a bigger account holds the lock longer).
CLOSE_CONTACTS = int(os.environ.get("CONCURRENCY_CONTACTS", "40"))


def _spawn(place: h.Place, *args: str) -> subprocess.Popen:
    # a live clock, as users have; this checkout's crm_tui, wherever the environment installed one
    env = {**os.environ, **place.env(), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "ready", line + proc.stderr.read()


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, err
    result = json.loads(lines[-1])
    assert "error" not in result, result.get("traceback") or result
    assert proc.returncode == 0, err
    return result


def test_members_end_cleanly_when_the_owner_closes_under_them(tmp_path: Path) -> None:
    from crm_tui import db
    from crm_tui.services import closing

    place = h.Place(tmp_path / "db")
    h.build_demo(place, contacts=CLOSE_CONTACTS)
    birch_before = h.dump_account(place.db, h.BIRCH_ID)
    procs = [_spawn(place, "member", email, h.PASSWORDS[email]) for email in (h.ADMIN, h.PLAYER)]
    try:
        for proc in procs:
            _wait_ready(proc)
        h.set_clock(None)
        engine = db.get_engine(place.url)
        closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
        results = [_result(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for r in results:
        # the member's session check meets the account while it is marked closing, or after
        assert r["ended"] in (
            "This account is being closed by its owner. Your access has ended.",
            "This account has been closed by its owner. Your access has ended.",
        ), r
        assert r["rounds"] >= 1
    assert h.dump_account(place.db, h.BIRCH_ID) == birch_before
    assert h.dump_account(place.db, h.ACME_ID)["contact"] == []
    assert h.integrity_problems(place.db) == []
    assert h.audit_ok(place.url)


def _writer_accounts(place: h.Place, n: int) -> list[str]:
    from crm_tui import db
    from crm_tui.services import clock, demo
    from crm_tui.services.auth import hash_password

    engine = db.get_engine(place.url)
    hashed = hash_password("writer-pass")
    emails = []
    with db.write_session(engine) as s:
        for k in range(n):
            user = demo.DemoUser(f"owner{k}@writer-{k}.example", f"Owner {k}", "owner", "writer-pass", f"W{k}")
            demo.build_account(
                s.connection(),
                f"Writer Co {k}",
                [(user, hashed)],
                5,
                k,
                messages=False,
                plan="starter",
                today=clock.now().date(),
            )
            emails.append(user.email)
    return emails


def test_four_writers_on_four_accounts_lose_nothing(tmp_path: Path) -> None:
    from crm_tui import db
    from crm_tui.models import Account, Contact, Member

    place = h.Place(tmp_path / "db")
    h.build_demo(place, contacts=10)
    emails = _writer_accounts(place, 4)
    engine = db.get_engine(place.url)

    def state() -> dict[str, tuple[set[int], set[str]]]:
        with db.read_session(engine) as s:
            out = {}
            for email in emails:
                acc = s.execute(select(Member.account_id).where(Member.email == email)).scalar_one()
                out[email] = (
                    set(s.execute(select(Contact.id).where(Contact.account_id == acc)).scalars()),
                    set(s.execute(select(Member.email).where(Member.account_id == acc)).scalars()),
                )
            return out

    before = state()
    others_before = {a: h.dump_account(place.db, a) for a in (h.ACME_ID, h.BIRCH_ID)}
    h.forget_engines()
    started = time.monotonic()
    procs = [_spawn(place, "writer", email, str(WRITE_SECONDS)) for email in emails]
    results = [_result(p) for p in procs]
    elapsed = time.monotonic() - started
    after = state()
    total = 0
    for email, r in zip(emails, results, strict=False):
        contacts, members = before[email]
        assert r["contacts"], f"{email} wrote nothing"
        assert after[email][0] == contacts | set(r["contacts"])
        assert after[email][1] == members | set(r["members"])
        total += len(r["contacts"]) + len(r["members"])
    assert {a: h.dump_account(place.db, a) for a in (h.ACME_ID, h.BIRCH_ID)} == others_before
    assert h.integrity_problems(place.db) == []
    with db.read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Account)).scalar_one() == 6
    print(f"\n4 writers: {total} committed writes in {elapsed:.1f}s, none lost", file=sys.stderr)
