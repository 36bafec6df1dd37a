"""Snapshots of "Import an archive": the form, a refusal on it, and the result with the
one-time temporary passwords, at 80×24 and 120×40. Clock pinned, demo seed fixed and the
temporary passwords made predictable: the same pictures every run."""

from __future__ import annotations

import itertools

import pytest
from conftest import OWNER, PASSWORDS
from pilot_kit import NOW, settle

pytestmark = pytest.mark.sqlite_only("screen pixels do not depend on the database backend")

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def app(demo_url):
    from crm_tui.tui.app import CrmApp

    return CrmApp(database_url=demo_url)


@pytest.fixture
def archive(demo_url, tmp_path, monkeypatch) -> str:
    """Dana's export, her account closed and purged; the import's passwords made predictable."""
    import secrets
    from datetime import datetime, timedelta, timezone

    from crm_tui import db
    from crm_tui.services import auth, closing, export

    engine = db.get_engine(demo_url)
    dana = auth.sign_in(engine, OWNER, PASSWORDS[OWNER])
    path = export.export_account(engine, dana, out_dir=tmp_path).path
    closing.close_account(engine, dana, "Acme Realty", PASSWORDS[OWNER])
    closing.purge(engine, now=datetime.fromisoformat(NOW).astimezone(timezone.utc) + timedelta(days=200))
    serial = itertools.count(1)
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: f"temporary-{next(serial)}")
    return str(path)


def typed(path: str, password: str = "a-new-password", again: str = "a-new-password"):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        for value in (path, "newowner@example.org", "Acme Again", password):
            await pilot.press(*value, "tab")
        await pilot.press(*again, "enter")
        await settle(pilot)

    return run_before


async def form(pilot) -> None:
    await settle(pilot)
    await pilot.press("ctrl+o")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("flow", ["form", "refused", "done"])
def test_import_snapshot(snap_compare, app, archive, flow, size, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a path typed relative to here: the pictures do not name tmp_path
    (tmp_path / "acme.zip").symlink_to(archive)
    run_before = {"form": form, "refused": typed("missing.zip"), "done": typed("acme.zip")}[flow]
    assert snap_compare(app, terminal_size=size, run_before=run_before)
