"""Regenerate screenshots/: one SVG per screen, in the order of the flow, at 80x24.

    .venv/bin/python scripts/screenshots.py

Each picture comes from a fresh copy of a demo database (250 contacts, seed 1) with the clock
pinned, driven by the same keys a user presses (listed in README.md's tour)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
NOW = "2026-11-27T10:00:00+00:00"
SIZE = (80, 24)
OWNER, PASSWORD = "dana@acme-realty.example", "demo-owner"

# (file name, title, keys after signing in as the owner; None = the sign-in screen itself)
SHOTS: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("01-sign-in", "Sign in", None),
    ("02-dashboard", "Dashboard", ()),
    ("03-profile-menu", "Profile menu (p)", ("p",)),
    ("04-billing", "Billing & Plan (p, ↓, Enter)", ("p", "down", "enter")),
    ("05-danger-zone", "Danger zone (End)", ("p", "down", "enter", "end")),
    ("06-confirm-close", "Confirmation (Enter on the red button)", ("p", "down", "enter", "end", "enter")),
    ("07-download", "Export first (e)", ("p", "down", "enter", "end", "enter", "e")),
    (
        "08-survey",
        "Optional survey (after typing the name and password)",
        (
            "p",
            "down",
            "enter",
            "end",
            "enter",
            "shift+tab",
            "shift+tab",
            *"Acme Realty",
            "enter",
            *PASSWORD,
            "enter",
            "enter",
        ),
    ),
    (
        "09-goodbye",
        "Goodbye and deletion receipt",
        (
            "p",
            "down",
            "enter",
            "end",
            "enter",
            "shift+tab",
            "shift+tab",
            *"Acme Realty",
            "enter",
            *PASSWORD,
            "enter",
            "enter",
            "down",
            "enter",
            "tab",
            *"Need more features",
            "enter",
            "enter",
        ),
    ),
    ("10-team", "Team Members (p, ↓↓, Enter)", ("p", "down", "down", "enter")),
    ("11-remove-member", "Remove a member (r)", ("p", "down", "down", "enter", "down", "down", "r")),
    ("12-messages", "Automation → Messages → Settings (4)", ("4", "down", "down", "enter")),
    ("13-cancel-messages", "Permanently Cancel Messages (x)", ("4", "down", "down", "enter", "x")),
    ("14-contacts", "Contacts (1)", ("1",)),
    ("15-group-actions", "Group Actions (space, g)", ("1", "space", "down", "space", "down", "space", "g")),
    ("16-contact", "A contact (Enter)", ("1", "down", "enter")),
    ("17-calendar", "Calendar (2)", ("2",)),
    ("18-todos", "To-Dos (3)", ("3",)),
    ("19-templates", "Email Templates (4, Enter)", ("4", "enter")),
    ("20-autoresponders", "Autoresponders (4, ↓, Enter)", ("4", "down", "enter")),
    ("21-ssh-keys", "My Account → SSH Keys (p, Enter, k)", ("p", "enter", "k")),
]

# Sessions of ``crm-tui serve`` (ssh -p 2222 crm.example.com): a client whose key is not linked
# yet is offered to link it after signing in; an export says how to fetch it over SFTP.
UNLINKED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf+tm7KQW5q4YtGIO3JA3YT+ZkDKV2Tuh2QkQeUot88 dana@laptop"
SERVED_SHOTS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("22-served-link-key", "Over SSH with a key not linked yet: the offer after signing in", (), UNLINKED_KEY),
    (
        "23-served-export",
        "Over SSH: Download My Data says how to fetch the file with sftp or scp (p, ↓↓↓, Enter)",
        ("p", "down", "down", "down", "enter"),
        "",
    ),
]


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def sign_in_and_press(app, pilot, keys: tuple[str, ...]) -> None:
    """Sign in as the owner from the sign-in screen, then press ``keys``, settling after each."""
    from textual.widgets import Input

    app.screen.query_one("#email", Input).value = OWNER
    app.screen.query_one("#password", Input).value = PASSWORD
    app.screen.query_one("#password", Input).focus()
    await pilot.press("enter")
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def shoot(
    template: Path, work: Path, name: str, keys: tuple[str, ...] | None, served_key: str | None = None
) -> None:
    from textual.widgets import Input

    from crm_tui.session_context import SessionContext
    from crm_tui.tui.app import CrmApp

    db_path = work / f"{name}.sqlite3"
    shutil.copyfile(template, db_path)
    context = None
    if served_key is not None:
        context = SessionContext(
            ssh_host="crm.example.com",
            ssh_port="2222",
            served=True,
            public_key=served_key,
            exports_root=work / "served-exports",
        )
    app = CrmApp(database_url=f"sqlite:///{db_path}", session_context=context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        if keys is not None:
            await sign_in_and_press(app, pilot, keys)
        else:
            app.screen.query_one("#email", Input).value = OWNER
            await settle(pilot)
        app.save_screenshot(f"{name}.svg", str(OUT))


CLOSE_KEYS = ("p", "down", "enter", "end", "enter", "shift+tab", "shift+tab", *"Acme Realty", "enter")
CLOSE_KEYS += (*PASSWORD, "enter")
PROGRESS_SHOT = ("24-close-progress", "While the account closes: its rows deleted in batches, with a progress bar")


async def shoot_progress(template: Path, work: Path) -> None:
    """The confirmation while the close runs: held at its progress report for the second batch
    of contacts (batches of 50), shown once the screen's next tick has put it up."""
    import threading

    from crm_tui.services import closing
    from crm_tui.tui.app import CrmApp

    db_path = work / "progress.sqlite3"
    shutil.copyfile(template, db_path)
    batches, closing.DELETE_BATCHES = closing.DELETE_BATCHES, closing.Batches.fixed(50)
    held, go = threading.Event(), threading.Event()
    real = closing.close_account

    def close_and_hold(engine, who, name, password, progress=None):
        def report(table, done, total):
            progress(table, done, total)
            if table == "contact" and done == 100:
                held.set()
                go.wait(60)

        return real(engine, who, name, password, report)

    closing.close_account = close_and_hold
    app = CrmApp(database_url=f"sqlite:///{db_path}")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await sign_in_and_press(app, pilot, CLOSE_KEYS)
            await pilot.press("enter")  # the red button
            while not held.is_set():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the screen's tick (0.1 s) shows the held figures
            await pilot.pause()
            app.save_screenshot(f"{PROGRESS_SHOT[0]}.svg", str(OUT))
            go.set()
            await settle(pilot)
    finally:
        go.set()
        closing.close_account, closing.DELETE_BATCHES = real, batches


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="crm-shots-"))
    from crm_tui.services import clock

    clock.set_fixed(NOW)  # the same day in every screenshot
    os.environ.update(
        {
            "CRM_TUI_BACKUP_DIR": str(work / "backups"),
            "TZ": "UTC",
            "XDG_DOWNLOAD_DIR": str(work / "downloads"),
            "HOME": str(work),
        }
    )
    os.environ.pop("SSH_CONNECTION", None)
    time.tzset()
    from crm_tui import db
    from crm_tui.services import demo

    template = work / "template.sqlite3"
    demo.create(db.get_engine(f"sqlite:///{template}"), contacts=250, seed=1)
    db.dispose_all()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.svg"):
        old.unlink()
    for name, title, keys in SHOTS:
        asyncio.run(shoot(template, work, name, keys))
        print(f"screenshots/{name}.svg  {title}")
    for name, title, keys, served_key in SERVED_SHOTS:
        asyncio.run(shoot(template, work, name, keys, served_key))
        print(f"screenshots/{name}.svg  {title}")
    asyncio.run(shoot_progress(template, work))
    print(f"screenshots/{PROGRESS_SHOT[0]}.svg  {PROGRESS_SHOT[1]}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
