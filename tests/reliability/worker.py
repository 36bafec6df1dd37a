"""A separate process working on the database through the services, for the concurrency tests.

    python -m tests.reliability.worker member EMAIL PASSWORD   # read and write until access ends
    python -m tests.reliability.worker writer EMAIL SECONDS    # add contacts and members for a while
    python -m tests.reliability.worker templates EMAIL PASSWORD  # add templates and texts until refused
    python -m tests.reliability.worker plans EMAIL PASSWORD N A,B  # change the plan N times: A, B, A, ...

The database and backup folder come from CRM_TUI_DATABASE_URL / CRM_TUI_BACKUP_DIR. Prints
``ready`` once it has done its first round, then one JSON line with what it did, and exits 0;
any exception that is not a domain error is reported as ``error`` (exit 1).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

MAX_SECONDS = 60.0


def add_contact(engine, who, first: str, last: str) -> int:
    """Add a contact as a service does: the actor re-read inside a BEGIN IMMEDIATE session."""
    from crm_tui import db
    from crm_tui.models import Contact
    from crm_tui.services import clock
    from crm_tui.services.auth import load_actor

    with db.write_session(engine) as s:
        actor = load_actor(s, who)
        c = Contact(
            account_id=actor.account_id,
            owner_id=actor.id,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}@worker.example".lower(),
            created_at=clock.now(),
        )
        s.add(c)
        s.flush()
        return c.id


def member(email: str, password: str) -> dict:
    """Loop over what a member does all day until the account is gone under them."""
    from crm_tui import db
    from crm_tui.services import auth, dashboard, records, team
    from crm_tui.services.errors import DomainError

    engine = db.get_engine()
    who = auth.sign_in(engine, email, password)
    rounds, added = 0, []
    started = time.monotonic()
    try:
        while time.monotonic() - started < MAX_SECONDS:
            dashboard.dashboard(engine, who)
            team.list_members(engine, who)
            records.contacts_page(engine, who)
            added.append(add_contact(engine, who, "Worker", f"Round{rounds}"))
            if who.role != "team player":
                team.add_member(
                    engine, who, f"helper{rounds}.{who.member_id}@worker.example", f"Helper {rounds}", "team player"
                )
            rounds += 1
            if rounds == 1:
                print("ready", flush=True)
        return {"ended": "never", "rounds": rounds}
    except DomainError as exc:
        if rounds == 0:
            print("ready", flush=True)
        # What the app shows: the session check's reason, else the refusal itself.
        message = auth.session_problem(engine, who) or str(exc)
        return {"ended": message, "refusal": str(exc), "kind": type(exc).__name__, "rounds": rounds, "added": added}


def writer(email: str, seconds: float) -> dict:
    from crm_tui import db
    from crm_tui.services import auth, team

    engine = db.get_engine()
    who = auth.as_member(engine, email)
    contacts, members = [], []
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < seconds:
        contacts.append(add_contact(engine, who, "Writer", f"N{n}"))
        if n % 5 == 0:
            new = team.add_member(
                engine, who, f"w{n}.{who.account_id}@writer.example", f"Writer {n}", "team player", password="x" * 12
            )
            members.append(new.email)
        n += 1
        if n == 1:
            print("ready", flush=True)
    return {"contacts": contacts, "members": members}


def add_template_and_text(engine, who, n: int) -> tuple[int, int]:
    """A member's write as a service makes it: the actor loaded in a write session (which takes
    the account's lock), then an email template and a text message in the same transaction."""
    from crm_tui import db
    from crm_tui.models import EmailTemplate, TextMessage
    from crm_tui.services import clock
    from crm_tui.services.auth import load_actor

    with db.write_session(engine) as s:
        actor = load_actor(s, who)
        t = EmailTemplate(account_id=actor.account_id, name=f"Worker {n}", subject=f"Round {n}", body="<p>hi</p>")
        m = TextMessage(
            account_id=actor.account_id, direction="out", phone="+15550100", body=f"n{n}", sent_at=clock.now()
        )
        s.add_all([t, m])
        s.flush()
        return t.id, m.id


def templates(email: str, password: str) -> dict:
    """Add a template and a text, one transaction each, as fast as possible, until refused."""
    from crm_tui import db
    from crm_tui.services import auth
    from crm_tui.services.errors import DomainError

    engine = db.get_engine()
    who = auth.sign_in(engine, email, password)
    done: list[tuple[int, int]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < MAX_SECONDS:
            done.append(add_template_and_text(engine, who, len(done)))
            if len(done) == 1:
                print("ready", flush=True)
        return {"refusal": None, "templates": [t for t, _ in done], "texts": [m for _, m in done]}
    except DomainError as exc:
        if not done:
            print("ready", flush=True)
        return {
            "refusal": str(exc),
            "code": exc.code,
            "templates": [t for t, _ in done],
            "texts": [m for _, m in done],
        }


def plans(email: str, password: str, n: int, codes: list[str]) -> dict:
    """Change the account's plan back and forth ``n`` times: each change appends an audit event."""
    from crm_tui import db
    from crm_tui.services import auth, billing

    engine = db.get_engine()
    who = auth.sign_in(engine, email, password)
    print("ready", flush=True)
    for k in range(n):
        billing.change_plan(engine, who, codes[k % 2])
    return {"changes": n}


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "member":
            result = member(argv[1], argv[2])
        elif argv[0] == "writer":
            result = writer(argv[1], float(argv[2]))
        elif argv[0] == "templates":
            result = templates(argv[1], argv[2])
        elif argv[0] == "plans":
            result = plans(argv[1], argv[2], int(argv[3]), argv[4].split(","))
        else:
            raise SystemExit(f"unknown worker {argv[0]!r}")
    except Exception as exc:  # noqa: BLE001 - the test wants to see it
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
