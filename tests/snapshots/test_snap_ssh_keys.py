"""A snapshot of My Account → SSH Keys with two keys linked (the first selected) at 80×24.
Fixed keys (made once by ssh-keygen) and a pinned clock: the same picture every run."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import settle, sign_in

pytestmark = pytest.mark.sqlite_only("screen pixels do not depend on the database backend")

KEYS = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf+tm7KQW5q4YtGIO3JA3YT+ZkDKV2Tuh2QkQeUot88 dana@laptop",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCgN6bhQs8H5FY4llUcBQEfoLRxW+pPrINYfVf/3zmd1rV/jva4Vfj38zP9BTWxPDZLTjCo5D9Kn"
    "3C7iMxd+xYThvR4JkCMGwPBtDJVZpxVx1bIaF0++um0rCm0Gg6EEaLRecjzMUN6HLUxqaeQHgeYkivYu21V+g6/at/bg2zibEZPRRgskV+0KXhY"
    "cbcghXl10ht+7kM54Q3TNfswyrGNZo1KbZdN/uHUFmv3nAKGPTAaSZK1p90GAjRmj2xzyu2oS8eoQ8mXpxEx4BOf+seOW16NRRycTrC59Kc9pGBK"
    "7T4D9vsyhWz7Uqtwc4NCMfRByxtrBC5LXjZ73HD8XBQh dana@office-desktop",
)


@pytest.fixture
def app(demo_url):
    from crm_tui import db
    from crm_tui.services import auth, ssh_keys
    from crm_tui.tui.app import CrmApp

    engine = db.get_engine(demo_url)
    dana = auth.as_member(engine, OWNER).member_id
    for line in KEYS:
        ssh_keys.add(engine, dana, line)
    db.dispose_all()
    return CrmApp(database_url=demo_url)


async def at_ssh_keys(pilot) -> None:
    await sign_in(pilot, OWNER)
    for key in ("p", "enter", "k"):
        await pilot.press(key)
        await settle(pilot)


def test_ssh_keys_snapshot(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=at_ssh_keys)
