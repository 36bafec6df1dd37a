"""A separate process working on the database through the services, for the concurrency tests.

    python -m tests.reliability.worker member EMAIL PASSWORD   # read and write until access ends
    python -m tests.reliability.worker writer EMAIL SECONDS    # add contacts and members for a while

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


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "member":
            result = member(argv[1], argv[2])
        elif argv[0] == "writer":
            result = writer(argv[1], float(argv[2]))
        else:
            raise SystemExit(f"unknown worker {argv[0]!r}")
    except Exception as exc:  # noqa: BLE001 - the test wants to see it
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
