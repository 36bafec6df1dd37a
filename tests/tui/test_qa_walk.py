"""Regressions found walking every screen at 80×24 with the keyboard alone."""

from __future__ import annotations

import pytest
from conftest import OWNER, PLAYER
from pilot_kit import SIZE, press, run, settle, sign_in, static_text  # noqa: F401

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


@run
async def test_signing_out_over_visited_sections_returns_to_sign_in(demo_url):
    """Signing out pops every screen; those that reload on resume must not query the
    database for a session that no longer exists (the app used to crash here)."""
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "1")  # Contacts, Calendar, To-Dos reload when uncovered
        await press(pilot, "2")
        await press(pilot, "3")
        await press(pilot, "4")
        await press(pilot, "p", "up", "enter")  # the last item: Sign Out
        assert isinstance(app.screen, SignInScreen)
        assert "You signed out." in static_text(app.screen, "#signin-message")
        await sign_in(pilot, OWNER)  # and the app still works


def shown_footer_keys(screen) -> set[str]:
    """The footer keys drawn whole at the current width (left of the palette key)."""
    from textual.widgets._footer import FooterKey

    keys = list(screen.query(FooterKey))
    palette = next(k for k in keys if k.has_class("-command-palette"))
    return {k.key for k in keys if k is not palette and k.region.width and k.region.right <= palette.region.x}


@run
async def test_footer_fits_each_screens_own_keys_at_80_columns(demo_url):
    """The section keys 1–4 live in the top bar; the footer keeps room for the screen's keys."""
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        assert {"p", "question_mark"} <= shown_footer_keys(app.screen)
        await press(pilot, "1")
        assert {"slash", "g", "space"} <= shown_footer_keys(app.screen)
        await press(pilot, "escape", "p", "down", "enter")  # Billing & Plan
        assert {"escape", "c"} <= shown_footer_keys(app.screen)
        await press(pilot, "escape", "p", "down", "down", "enter")  # Team Members
        assert {"a", "r", "t"} <= shown_footer_keys(app.screen)
        assert not {"1", "2", "3", "4"} & shown_footer_keys(app.screen)


@run
async def test_tab_from_cancel_reaches_the_name_field_and_letters_type_into_it(demo_url):
    """On the closing confirmation, Tab from Cancel goes to the account-name field: typing the
    name there must not trigger the screen's letter keys (e started an export before)."""
    from textual.containers import VerticalScroll
    from textual.widgets import Input

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "down", "enter", "end", "enter")
        screen = app.screen
        assert isinstance(screen, CloseConfirmScreen)
        assert app.focused.id == "close-cancel"
        await press(pilot, "tab", *"Acme")
        assert isinstance(app.screen, CloseConfirmScreen)  # no export screen on top
        assert app.focused.id == "close-name"
        assert screen.query_one("#close-name", Input).value == "Acme"
        info = screen.query_one("#close-info", VerticalScroll)
        await press(pilot, "pagedown")
        assert info.scroll_y > 0  # the page keys still scroll the explanation


@run
async def test_esc_in_the_contacts_search_returns_to_the_table_keeping_the_selection(demo_url):
    from textual.widgets import Input

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contacts import ContactsScreen, ContactTable

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1", "space", "space")
        screen = app.screen
        await press(pilot, "slash", *"zzz")  # typed, not searched for
        await press(pilot, "escape")
        assert app.screen is screen and isinstance(screen, ContactsScreen)
        assert isinstance(app.focused, ContactTable)
        assert screen.query_one("#contacts-search", Input).value == ""
        assert "rows 1–60 of 60 · 2 selected" in static_text(screen, "#contacts-status")
        await press(pilot, "escape")  # from the table, Esc leaves Contacts
        assert not isinstance(app.screen, ContactsScreen)


@run
async def test_team_roles_are_shown_whole_at_80_columns(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.record_table import RecordTable

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "down", "down", "enter")
        table = app.screen.query_one(RecordTable)
        role = table.columns["role"]
        assert role.get_render_width(table) - 2 * table.cell_padding >= len("administrator")
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no sideways scroll


@run
async def test_a_role_changed_in_another_session_is_picked_up_by_the_session_check(demo_url):
    """The owner transfers ownership to an administrator who is signed in elsewhere: the
    administrator's session is told, goes home, and now offers Billing & Plan."""
    import asyncio

    from conftest import ADMIN, PASSWORDS
    from textual.widgets import OptionList

    from crm_tui.services import auth, team
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, ADMIN)
        await press(pilot, "p", "down", "enter")  # Team Members
        owner = auth.sign_in(app.engine, OWNER, PASSWORDS[OWNER])
        admin = auth.as_member(app.engine, ADMIN)
        await asyncio.to_thread(team.transfer_ownership, app.engine, owner, admin.member_id, PASSWORDS[OWNER])
        app.check_session()  # what the 2-second timer runs
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.who.role == "owner"
        assert "(owner)" in static_text(app.screen, "#welcome")
        await press(pilot, "p")
        options = app.screen.query_one("#profile-options", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert "billing" in ids


@run
async def test_the_demo_hint_drops_a_member_removed_while_signed_in(demo_url):
    from conftest import PASSWORDS

    from crm_tui.services import auth, team
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        assert PLAYER in static_text(app.screen_stack[1], "#demo-hint")
        owner = auth.sign_in(app.engine, OWNER, PASSWORDS[OWNER])
        team.remove_member(app.engine, owner, auth.as_member(app.engine, PLAYER).member_id)
        app.check_session()
        await settle(pilot)
        assert "no longer a member" in static_text(app.screen, "#signin-message")
        assert PLAYER not in static_text(app.screen, "#demo-hint")
        assert OWNER in static_text(app.screen, "#demo-hint")


def test_the_goodbye_receipt_counts_members_in_words():
    from datetime import date, datetime, timezone

    from crm_tui.services.closing import Receipt, receipt_text

    def receipt(n):
        return Receipt(
            account_name="A",
            closed_at=datetime(2026, 11, 27, tzinfo=timezone.utc),
            restore_until=date(2027, 2, 27),
            counts={"contacts": 3},
            members_signed_out=n,
        )

    assert "1 team member lost access and was signed out." in receipt_text(receipt(1))
    assert "2 team members lost access and were signed out." in receipt_text(receipt(2))
    assert "team member" not in receipt_text(receipt(0))


@run
async def test_a_team_player_is_not_offered_selection_in_contacts(demo_url):
    """Selecting rows only feeds Group Actions, which a team player may not use."""
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "1")
        shown = shown_footer_keys(app.screen)
        assert "slash" in shown and not {"space", "g"} & shown
        await press(pilot, "space", "space")
        assert app.screen.picked == {}
        assert "selected" not in static_text(app.screen, "#contacts-status")


@run
async def test_hopping_between_sections_does_not_pile_up_screens(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contacts import ContactsScreen
    from crm_tui.tui.screens.main import MainScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        depth = len(app.screen_stack)
        for key in ("1", "2", "3", "4", "1", "2", "3", "1"):
            await press(pilot, key)
        assert isinstance(app.screen, ContactsScreen)
        assert len(app.screen_stack) == depth + 1
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen)


@run
async def test_messages_never_set_up_offers_no_cancel_and_no_twilio_note(demo_url):
    from conftest import OTHER_OWNER

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.messages import MessagesScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OTHER_OWNER)
        await press(pilot, "4", "down", "down", "enter")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        assert "Not set up" in static_text(screen, "#messages-settings")
        assert not screen.query_one("#twilio-note").display
        assert not screen.query_one("#cancel-messages").display
        assert "nothing to cancel" in static_text(screen, "#danger-note")
        assert "x" not in shown_footer_keys(screen)


@run
async def test_a_result_that_arrives_after_its_screen_was_left_is_dropped(demo_url):
    """Hopping between sections: a list's rows can be on their way to the UI thread when its
    screen is being removed (its widgets already gone, its workers not yet cancelled). Held
    back here and delivered once the screen is gone, the result must be dropped, not shown."""
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.calendar import CalendarScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "2")
        calendar = app.screen
        assert isinstance(calendar, CalendarScreen)
        held = []
        app.call_from_thread = lambda callback, *args: held.append((callback, args))
        shown = []
        calendar.call_service(
            lambda: "late rows", done=lambda rows: shown.append(calendar.query_one("#calendar-title"))
        )
        await app.workers.wait_for_complete()
        assert len(held) == 1  # the result is on its way
        del app.call_from_thread
        await press(pilot, "escape")  # leave the calendar
        assert not isinstance(app.screen, CalendarScreen)
        callback, args = held[0]
        callback(*args)  # the UI thread gets to it now
        assert shown == []


@run
async def test_section_keys_typed_ahead_in_one_burst_each_count(demo_url):
    """Over a slow link "1 2 3 4 1 2 3 2 1 2" can arrive at once. Each key opens its section
    in turn and the last one wins: the Calendar, with its rows. (The Contacts screen used to
    give its search field focus for a moment when opened, and the keys behind the 1 were
    taken as typing for it and lost.)"""
    from pilot_kit import burst, count, table_text
    from sqlalchemy import create_engine

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.calendar import CalendarScreen
    from crm_tui.tui.screens.contacts import ContactsScreen
    from crm_tui.tui.screens.main import MainScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        burst(app, "1234123212")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen), app.screen
        assert [type(s) for s in app.screen_stack[-3:]] == [MainScreen, ContactsScreen, CalendarScreen]
        engine = create_engine(demo_url)
        acc = count(engine, "SELECT account_id FROM member WHERE email = :e", e=OWNER)
        appointments = count(engine, "SELECT count(*) FROM appointment WHERE account_id = :a", a=acc)
        assert appointments > 0 and len(table_text(app.screen)) == appointments  # every one, as the list shows
