"""The close confirmation at 80×24 (and 120 columns): the whole account name to type, a name
message that follows the field, spaces around the name named, the article's alternatives one
key away (never taken from typing), counts in words; and the goodbye screen's saved receipt."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import OTHER_OWNER, OWNER, PASSWORDS, PLAYER
from pilot_kit import SIZE, burst, press, run, settle, sign_in, static_text
from sqlalchemy import text
from tui.test_closing_flow import acme_id

from crm_tui.session_context import SessionContext

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def at_confirmation(demo_url, check, *, email=OWNER, size=SIZE, session_context=None):
    """Run ``await check(app, pilot, confirm)`` signed in as ``email`` at the confirmation."""
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url, session_context=session_context)

    async def body():
        async with app.run_test(size=size) as pilot:
            from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

            await sign_in(pilot, email)
            await press(pilot, "p", "down", "enter", "end", "enter")  # Billing & Plan, the red button
            assert isinstance(app.screen, CloseConfirmScreen)
            await check(app, pilot, app.screen)

    run(body())
    return app


async def to_name_field(app, pilot, confirm):
    from textual.widgets import Input

    await pilot.press("shift+tab", "shift+tab")
    assert app.focused is confirm.query_one("#close-name", Input)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_the_whole_account_name_to_type_is_shown(demo_url, size):
    """ "Birch & Co Bookkeeping" was cut to "Birch & Co Bo…": the name is shown whole, wrapped."""
    from textual.widgets import Button, Label

    async def check(app, pilot, confirm):
        label = confirm.query_one("#close-name-label", Label)
        shown = str(label.visual)
        assert shown == "Type the account name: Birch & Co Bookkeeping"
        assert label.size.height >= 2  # wrapped in its column, not cut
        lines = [strip.text.rstrip() for strip in label.render_lines(label.size.region)]
        assert " ".join(line for line in lines if line) == shown
        assert confirm.region.contains_region(label.region)
        await to_name_field(app, pilot, confirm)
        await pilot.press(*"Birch & Co Bookkeeping")
        await pilot.pause()
        assert not confirm.query_one("#close-delete", Button).disabled

    at_confirmation(demo_url, check, email=OTHER_OWNER, size=size)


def test_the_name_message_follows_the_field(demo_url):
    """After a mismatch is reported, typing the right name clears it (and a wrong one brings
    it back, saying what is wrong now)."""
    from textual.widgets import Button

    async def check(app, pilot, confirm):
        await to_name_field(app, pilot, confirm)
        await pilot.press(*"Acme Realt", "enter", *PASSWORDS[OWNER], "enter")
        await pilot.pause()
        assert static_text(confirm, "#close-status") == "The account name you typed does not match."
        assert confirm.query_one("#close-status").has_class("-error")
        await pilot.press("y")  # focus is back on the name, the cursor at its end: the letter missing
        await pilot.pause()
        assert confirm.query_one("#close-name").value == "Acme Realty"
        assert not confirm.query_one("#close-delete", Button).disabled
        assert "does not match" not in static_text(confirm, "#close-status")
        assert static_text(confirm, "#close-status") == "The name matches."
        assert not confirm.query_one("#close-status").has_class("-error")
        await pilot.press("space")
        await pilot.pause()
        assert confirm.query_one("#close-delete", Button).disabled
        assert "a space at the end" in static_text(confirm, "#close-status")
        await pilot.press("backspace")
        await pilot.pause()
        assert static_text(confirm, "#close-status") == "The name matches."

    at_confirmation(demo_url, check)


@pytest.mark.parametrize(("typed", "where"), [("Acme Realty ", "at the end"), (" Acme Realty", "at the start")])
def test_a_space_around_the_name_is_named(demo_url, typed, where):
    from textual.widgets import Button

    async def check(app, pilot, confirm):
        await to_name_field(app, pilot, confirm)
        await pilot.press(*[("space" if c == " " else c) for c in typed], "enter", *PASSWORDS[OWNER], "enter")
        await pilot.pause()
        assert confirm.query_one("#close-delete", Button).disabled
        assert static_text(confirm, "#close-status") == (
            f"The name you typed has a space {where}; the account name does not."
        )
        await press(pilot, "enter", "enter", "enter")
        assert app.screen is confirm and acme_id(app.engine) is not None

    at_confirmation(demo_url, check)


def test_a_trailing_space_is_put_right_with_backspace(demo_url):
    """Sent back to the name field after a trailing space, Backspace takes off the space (the
    field does not select its whole text on focus, which Backspace would wipe)."""
    from textual.widgets import Button, Input

    async def check(app, pilot, confirm):
        await to_name_field(app, pilot, confirm)
        await pilot.press(*"Acme", "space", *"Realty", "space", "enter", *PASSWORDS[OWNER], "enter")
        await pilot.pause()
        name = confirm.query_one("#close-name", Input)
        assert app.focused is name and name.value == "Acme Realty "
        await press(pilot, "backspace")
        assert name.value == "Acme Realty"
        assert not confirm.query_one("#close-delete", Button).disabled

    at_confirmation(demo_url, check)


def test_team_members_are_counted_in_words(demo_url):
    from crm_tui.services import auth, team

    async def check(app, pilot, confirm):
        assert static_text(confirm, "#close-team").startswith("2 team members lose access:")
        owner = auth.as_member(app.engine, OWNER)
        team.remove_member(app.engine, owner, auth.as_member(app.engine, PLAYER).member_id)
        await press(pilot, "m")  # Team Members on top; Esc back reads the counts again
        await press(pilot, "escape")
        assert app.screen is confirm
        assert static_text(confirm, "#close-team").startswith("1 team member loses access:")
        assert "        2  team members" in static_text(confirm, "#close-counts")

    at_confirmation(demo_url, check)


ALTERNATIVES = [
    ("t", "TeamScreen", "become the owner"),
    ("m", "TeamScreen", "press r"),
    ("s", "MessagesScreen", "cancel only Messages"),
    ("c", "ContactsScreen", "Group Actions"),
]


@pytest.mark.parametrize(("key", "screen", "hint"), ALTERNATIVES, ids=[a[0] for a in ALTERNATIVES])
def test_each_alternative_is_one_key_away_and_esc_comes_back(demo_url, key, screen, hint):
    async def check(app, pilot, confirm):
        assert f"  {key}  " in static_text(confirm, "#close-alternatives")
        await press(pilot, key)
        assert type(app.screen).__name__ == screen
        assert any(hint in str(n.message) for n in app._notifications)
        await press(pilot, "escape")
        assert app.screen is confirm
        assert acme_id(app.engine) is not None

    at_confirmation(demo_url, check)


def test_the_alternatives_keys_are_listed_and_never_taken_from_typing(demo_url):
    from textual.widgets import Input
    from tui.test_qa_walk import shown_footer_keys

    async def check(app, pilot, confirm):
        keys = {"e", "t", "m", "s", "c"}
        bound = {b.binding.key: b.binding.description for b in confirm.active_bindings.values()}
        assert keys <= set(bound)
        # in the footer at 80 columns, or in the ? help (which lists every active binding)
        shown = shown_footer_keys(confirm)
        await press(pilot, "question_mark")
        help_text = " ".join(row.description for row in app.screen.rows)  # the keys help lists them
        for key in keys:
            assert key in shown or bound[key] in help_text, key
        await press(pilot, "question_mark")
        # typed in the fields, the letters are letters
        await to_name_field(app, pilot, confirm)
        await press(pilot, *"tmsce")
        assert confirm.query_one("#close-name", Input).value == "tmsce"
        await press(pilot, "tab", *"tmsce")
        assert confirm.query_one("#close-password", Input).value == "tmsce"
        assert app.screen is confirm

    at_confirmation(demo_url, check)


def test_after_transferring_ownership_instead_the_confirmation_closes(demo_url):
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.widgets.confirm import ConfirmModal

    async def check(app, pilot, confirm):
        await press(pilot, "t")
        await press(pilot, "down", "t")  # Marcus Lee
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, *PASSWORDS[OWNER], "enter", "enter")
        assert app.who.role == "administrator"
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen)
        assert any("no longer the owner" in str(n.message) for n in app._notifications)
        assert "(administrator)" in static_text(app.screen, "#welcome")

    app = at_confirmation(demo_url, check)
    with app.engine.connect() as conn:
        assert conn.execute(text("SELECT role FROM member WHERE email = :e"), {"e": OWNER}).scalar() == "administrator"
        assert conn.execute(text("SELECT count(*) FROM closed_account")).scalar() == 0


def test_the_confirmation_and_goodbye_say_the_export_can_be_imported(demo_url):
    keep = "Keep your export: you can import it into a new account at any time."

    async def check(app, pilot, confirm):
        assert keep in static_text(confirm, "#close-export-note")
        await to_name_field(app, pilot, confirm)
        await press(pilot, *"Acme Realty", "enter", *PASSWORDS[OWNER], "enter", "enter")
        await press(pilot, "escape")  # no survey answer
        assert type(app.screen).__name__ == "GoodbyeScreen"
        assert keep in static_text(app.screen, "#goodbye-keep")

    at_confirmation(demo_url, check)


def test_the_goodbye_screen_saves_the_receipt_on_a_key(demo_url, isolated_dirs, monkeypatch):
    from crm_tui.services.closing import receipt_text

    downloads = isolated_dirs / "downloads"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    over_ssh = SessionContext.from_environ({"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"})

    async def check(app, pilot, confirm):
        await to_name_field(app, pilot, confirm)
        await press(pilot, *"Acme Realty", "enter", *PASSWORDS[OWNER], "enter", "enter")
        await press(pilot, "escape")
        goodbye = app.screen
        assert type(goodbye).__name__ == "GoodbyeScreen"
        assert goodbye.query_one("#goodbye-body").scroll_y == 0  # the receipt is read from its start
        shown = static_text(goodbye, "#goodbye-receipt")
        assert shown == receipt_text(goodbye.receipt)
        assert "27 Nov 2026 10:00 UTC" in shown and goodbye.receipt.audit_hash in shown
        body = goodbye.query_one("#goodbye-body")
        await press(pilot, "pagedown")  # the rest of the receipt, below the fold at 80x24
        assert body.scroll_y > 0
        await press(pilot, "pageup")
        assert body.scroll_y == 0
        await press(pilot, "r")
        [saved] = list(downloads.iterdir())
        assert saved.read_text(encoding="utf-8") == shown + "\n"
        assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
        said = static_text(goodbye, "#goodbye-saved")
        assert said.startswith(f"Receipt saved: ~/downloads/{saved.name}\nFetch it: scp ")  # over SSH
        assert body.region.contains_region(goodbye.query_one("#goodbye-saved").region)  # scrolled to
        assert app.screen is goodbye  # still there to read; Enter signs out
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "SignInScreen"

    at_confirmation(demo_url, check, session_context=over_ssh)


def test_a_hostile_account_name_is_shown_literally_to_type_and_on_the_receipt(demo_url, isolated_dirs, monkeypatch):
    from crm_tui import db
    from crm_tui.tui.widgets.form_input import FormInput

    name = "[bold]Acme[/] \x1b[31mRealty"
    with db.get_engine(demo_url).begin() as conn:
        conn.execute(text("UPDATE account SET name = :n WHERE name = 'Acme Realty'"), {"n": name})
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(isolated_dirs / "downloads"))

    def terminal_text(app) -> str:
        return "\n".join("".join(seg.text for seg in line) for line in app.screen._compositor.render_strips())

    async def check(app, pilot, confirm):
        assert str(confirm.query_one("#close-name-label").visual) == "Type the account name: [bold]Acme[/] ␛[31mRealty"
        assert "\x1b" not in terminal_text(app)
        confirm.query_one("#close-name", FormInput).value = name  # what a paste would give
        confirm.query_one("#close-password", FormInput).value = PASSWORDS[OWNER]
        await press(pilot, "tab", "enter")  # from Cancel to Delete
        await press(pilot, "escape")
        goodbye = app.screen
        assert "“[bold]Acme[/] ␛[31mRealty” was closed" in static_text(goodbye, "#goodbye-receipt")
        await press(pilot, "r")
        assert "\x1b" not in terminal_text(app)
        [saved] = list((isolated_dirs / "downloads").iterdir())
        assert saved.name.startswith("bold-acme-31mrealty-closing-receipt-")
        assert "“[bold]Acme[/] ␛[31mRealty”" in saved.read_text(encoding="utf-8")  # no raw ESC in the file

    at_confirmation(demo_url, check)


def test_after_cancelling_only_messages_the_confirmation_no_longer_lists_it(demo_url):
    async def check(app, pilot, confirm):
        assert confirm.query_one("#close-messages").display
        assert "       30  text messages" in static_text(confirm, "#close-counts")
        await press(pilot, "s", "x", *PASSWORDS[OWNER], "enter", "enter")  # Messages, cancel it
        assert type(app.screen).__name__ == "MessagesScreen"
        await press(pilot, "escape")
        assert app.screen is confirm
        assert not confirm.query_one("#close-messages").display
        assert "        0  text messages" in static_text(confirm, "#close-counts")

    at_confirmation(demo_url, check)


def test_a_receipt_that_cannot_be_saved_says_why_and_the_screen_stays(demo_url, isolated_dirs, monkeypatch):
    blocker = isolated_dirs / "not-a-folder"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the downloads folder would be")
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(blocker / "downloads"))

    async def check(app, pilot, confirm):
        await to_name_field(app, pilot, confirm)
        await press(pilot, *"Acme Realty", "enter", *PASSWORDS[OWNER], "enter", "enter")
        await press(pilot, "escape")
        goodbye = app.screen
        await press(pilot, "r")
        said = static_text(goodbye, "#goodbye-saved")
        assert said.startswith("The receipt was not saved: cannot create the downloads folder")
        assert goodbye.query_one("#goodbye-saved").has_class("-error")
        assert goodbye.query_one("#goodbye-body").region.contains_region(goodbye.query_one("#goodbye-saved").region)
        assert app.screen is goodbye

    at_confirmation(demo_url, check)


@pytest.mark.parametrize(
    ("error", "status", "focus"),
    [
        ("name", "The name you typed differs; nothing was deleted.", "#close-name"),
        ("damaged", "Rows of the team naming its contacts are damaged; nothing was deleted.", "#close-password"),
        ("password", "Wrong password; nothing was deleted.", "#close-password"),
    ],
)
def test_a_refused_close_is_told_from_the_errors_code_and_fields_not_its_text(demo_url, error, status, focus):
    """The screen adds "nothing was deleted" unless the error says it already (``undone``), and
    goes back to the name only when the name is what is wrong (``field``), whatever the words."""
    from textual.widgets import Input

    from crm_tui import db
    from crm_tui.services import errors
    from crm_tui.services.errors import AuthenticationFailed, InvalidInput
    from crm_tui.tui.base import error_text

    exc = {
        "name": InvalidInput(
            "the name you typed differs; nothing was deleted", code=errors.NAME_MISMATCH, field="name", undone="deleted"
        ),
        "damaged": db.DatabaseError(
            "rows of the team naming its contacts are damaged; nothing was deleted", undone="deleted"
        ),
        "password": AuthenticationFailed("wrong password", code=errors.WRONG_PASSWORD, field="password"),
    }[error]

    async def check(app, pilot, confirm):
        confirm.refused(error_text(exc))
        await pilot.pause()
        assert static_text(confirm, "#close-status") == status
        assert confirm.query_one("#close-status").has_class("-error")
        assert app.focused is confirm.query_one(focus, Input)

    at_confirmation(demo_url, check)


@pytest.mark.sqlite_only("keys and focus on a screen: nothing here depends on the database")
@pytest.mark.parametrize("how", ["pressed", "burst"])
def test_the_name_typed_at_once_on_cancel_lands_in_its_field(demo_url, how):
    """The screen says "Type the account name", and focus starts on Cancel: "Acme Realty" typed
    straight away lost its "A" and went to Contacts on its "c". A character no key binding
    answers now starts the name."""
    from textual.widgets import Button, Input

    async def check(app, pilot, confirm):
        assert app.focused is confirm.query_one("#close-cancel", Button)
        if how == "pressed":
            await press(pilot, *"Acme Realty")
        else:
            burst(app, "Acme Realty")
            await settle(pilot)
        assert app.screen is confirm
        name = confirm.query_one("#close-name", Input)
        assert name.value == "Acme Realty"
        assert app.focused is name
        await pilot.press("tab")
        await press(pilot, *PASSWORDS[OWNER])
        assert confirm.query_one("#close-password", Input).value == PASSWORDS[OWNER]
        assert not confirm.query_one("#close-delete", Button).disabled

    at_confirmation(demo_url, check)


@pytest.mark.sqlite_only("keys and focus on a screen: nothing here depends on the database")
@pytest.mark.parametrize("key, opens", [("c", "ContactsScreen"), ("question_mark", "KeysScreen")])
def test_keys_the_screen_answers_still_act_from_cancel(demo_url, key, opens):
    from textual.widgets import Button, Input

    async def check(app, pilot, confirm):
        assert app.focused is confirm.query_one("#close-cancel", Button)
        await press(pilot, key)
        assert type(app.screen).__name__ == opens
        assert confirm.query_one("#close-name", Input).value == ""

    at_confirmation(demo_url, check)
