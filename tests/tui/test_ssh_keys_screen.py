"""My Account → SSH Keys: paste a public key, see it listed with its fingerprint (as ssh-keygen
prints it), remove it after a confirmation; keyboard only, at 80×24. Refusals are one line
on the screen; a key's comment reaches the screen as text, never as markup."""

from __future__ import annotations

from conftest import OWNER, PLAYER
from pilot_kit import SIZE, press, rows, run, settle, sign_in, static_text, table_text
from ssh_kit import keygen_fingerprint, make_key, needs_keygen


async def open_keys(pilot) -> None:
    from crm_tui.tui.screens.ssh_keys import SshKeysScreen

    await press(pilot, "p", "enter", "k")  # profile menu → My Account → k
    assert isinstance(pilot.app.screen, SshKeysScreen), pilot.app.screen


async def paste(pilot, text: str) -> None:
    """Paste as a terminal does (bracketed paste) into the focused field."""
    from textual import events

    pilot.app.focused.post_message(events.Paste(text))
    await settle(pilot)


@needs_keygen
@run
async def test_paste_list_and_remove_a_key(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    pub = make_key(tmp_path, comment="[b]dana[/b]@laptop").with_suffix(".pub")
    fingerprint = keygen_fingerprint(pub)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await open_keys(pilot)
        assert table_text(app.screen, "#ssh-keys-table") == []
        assert "Press a and paste" in static_text(app.screen, "#ssh-keys-status")
        await press(pilot, "a")
        assert app.focused.id == "ssh-key-input"
        await paste(pilot, pub.read_text())
        await press(pilot, "enter")
        assert table_text(app.screen, "#ssh-keys-table") == [[fingerprint, "ed25519", "[b]dana[/b…"]]
        assert app.focused.id == "ssh-keys-table"
        stored = rows(app.engine, "SELECT fingerprint, comment FROM ssh_key")
        assert stored == [(fingerprint, "[b]dana[/b]@laptop")]

        await press(pilot, "x")  # asks first; Cancel is focused, Enter keeps the key
        assert isinstance(app.screen, ConfirmModal)
        assert fingerprint in str(app.screen.query_one("#confirm-body").children[0].visual)
        await press(pilot, "enter")
        assert rows(app.engine, "SELECT count(*) FROM ssh_key") == [(1,)]
        await press(pilot, "x", "tab", "enter")  # to "Remove key", pressed
        assert rows(app.engine, "SELECT count(*) FROM ssh_key") == [(0,)]
        assert table_text(app.screen, "#ssh-keys-table") == []
        await press(pilot, "escape")
        from crm_tui.tui.screens.my_account import MyAccountScreen

        assert isinstance(app.screen, MyAccountScreen)


@needs_keygen
@run
async def test_a_private_key_or_junk_is_refused_in_one_line_and_nothing_is_stored(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp

    private = make_key(tmp_path).read_text()
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await open_keys(pilot)
        await press(pilot, "a")
        await paste(pilot, private)
        await press(pilot, "enter")
        error = static_text(app.screen, "#ssh-key-error")
        assert error.startswith("That is a private key") and "\n" not in error
        assert app.focused.id == "ssh-key-input"
        app.focused.value = ""
        await paste(pilot, "\x1b[31mhello")
        await press(pilot, "enter")
        assert "not an SSH public key line" in static_text(app.screen, "#ssh-key-error")
        await press(pilot, "escape")  # leaves the field, clears it and the error
        assert app.focused.id == "ssh-keys-table"
        assert static_text(app.screen, "#ssh-key-error") == ""
        assert rows(app.engine, "SELECT count(*) FROM ssh_key") == [(0,)]


@needs_keygen
@run
async def test_the_list_shows_only_the_members_own_keys(demo_url, tmp_path):
    from crm_tui import db
    from crm_tui.services import auth, ssh_keys
    from crm_tui.tui.app import CrmApp

    engine = db.get_engine(demo_url)
    mine = make_key(tmp_path, comment="mine").with_suffix(".pub")
    theirs = make_key(tmp_path, "rsa", comment="theirs", bits=2048).with_suffix(".pub")
    ssh_keys.add(engine, auth.as_member(engine, OWNER).member_id, mine.read_text())
    ssh_keys.add(engine, auth.as_member(engine, PLAYER).member_id, theirs.read_text())
    db.dispose_all()
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await open_keys(pilot)
        assert table_text(app.screen, "#ssh-keys-table") == [[keygen_fingerprint(mine), "ed25519", "mine"]]
