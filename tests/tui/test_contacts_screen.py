"""Contacts at 80×24: paging, search, multi-select and a Group Actions export of three
selected contacts."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import OWNER, PLAYER
from pilot_kit import count, press, rows, run, settle, sign_in, static_text, table_text  # noqa: F401

SIZE = (80, 24)


@run
async def test_group_actions_exports_exactly_the_three_selected_contacts(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import NoticeModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        await press(pilot, "space", "down", "space", "down", "down", "space")
        picked = [int(k) for k in sorted(app.screen.picked)]
        assert len(picked) == 3
        assert "3 selected" in static_text(app.screen, "#contacts-status")
        # space marks the row and moves down, so this marks rows 1, 3 and 6
        assert [r[0] for r in table_text(app.screen)[:7]] == ["●", "", "●", "", "", "●", ""]
        await press(pilot, "g")
        assert type(app.screen).__name__ == "GroupActionsModal"
        await press(pilot, "enter")  # Export 3 selected to CSV
        await settle(pilot)
        assert isinstance(app.screen, NoticeModal), app.screen
        notice = static_text(app.screen, "#notice-body")
        path = notice.split("Saved to:")[1].split()[0]
        with open(path, newline="", encoding="utf-8") as f:
            exported = list(csv.DictReader(f))
        emails = {
            e for (e,) in rows(app.engine, f"SELECT email FROM contact WHERE id IN ({','.join(map(str, picked))})")
        }
        assert {r["email"] for r in exported} == emails and len(exported) == 3
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "ContactsScreen"


@run
async def test_paging_and_search(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens import contacts

    contacts.PAGE = 25  # three pages of the 60 demo contacts
    try:
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, PLAYER)
            await press(pilot, "1")
            seen = [r[1] for r in table_text(app.screen)]
            assert "rows 1–25 of 60" in static_text(app.screen, "#contacts-status")
            await press(pilot, "pagedown")
            assert "rows 26–50 of 60" in static_text(app.screen, "#contacts-status")
            seen += [r[1] for r in table_text(app.screen)]
            await press(pilot, "n")
            assert "rows 51–60 of 60" in static_text(app.screen, "#contacts-status")
            seen += [r[1] for r in table_text(app.screen)]
            await press(pilot, "n")  # no further page
            assert "rows 51–60 of 60" in static_text(app.screen, "#contacts-status")
            await press(pilot, "b")
            assert "rows 26–50 of 60" in static_text(app.screen, "#contacts-status")
            expected = [
                f"{ln}, {fn}"
                for ln, fn in rows(
                    app.engine,
                    "SELECT last_name, first_name FROM contact c JOIN account a ON a.id = c.account_id "
                    "WHERE a.name = 'Acme Realty' ORDER BY last_name, first_name, c.id",
                )
            ]
            assert seen == expected
            # search: "/" focuses the box, Enter runs it; the team player cannot export
            last = expected[0].split(", ")[0]
            await press(pilot, "slash", *last.lower(), "enter")
            status = static_text(app.screen, "#contacts-status")
            found = table_text(app.screen)
            shown = [r[1] for r in found]
            # name, company or email holds the term
            assert found and all(any(last.lower() in cell.lower() for cell in r[1:4]) for r in found)
            assert expected[0] in shown and f"of {len(shown)}" in status
            await press(pilot, "g")
            assert type(app.screen).__name__ == "ContactsScreen"
    finally:
        contacts.PAGE = 100


def option_labels(screen) -> list[str]:
    from textual.widgets import OptionList

    options = screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


@run
async def test_group_actions_during_a_search_says_all_is_the_whole_account(demo_url):
    """With a search on, "all" could be read as "all matches": the options say what they do."""
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1", "g")
        assert option_labels(app.screen)[4] == "Export all 60 contacts to CSV"
        assert not app.screen.query("#group-search-note")
        await press(pilot, "escape", "slash", *"harbor", "enter", "g")
        assert option_labels(app.screen)[4:] == [
            "Export every contact to CSV",
            "Export every contact to vCard",
            "Export every contact to Google Contacts CSV",
            "Export every contact to Outlook CSV",
        ]
        assert "not only the matches" in static_text(app.screen, "#group-search-note")


@run
async def test_a_search_typed_ahead_with_its_slash_in_one_burst_is_run(demo_url):
    """ "/", a name and Enter arriving at once (a slow link, a paste): the name lands in the
    search field and is searched for, not lost on the table (whose Enter would open the first
    contact)."""
    from pilot_kit import burst

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contacts import ContactsScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        burst(app, "/", "harbor", "enter")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen), app.screen
        assert app.screen.query_one("#contacts-search").value == "harbor"
        found = table_text(app.screen)
        expected = count(
            app.engine,
            "SELECT count(*) FROM contact c JOIN account a ON a.id = c.account_id "
            "WHERE a.name = 'Acme Realty' AND (lower(c.last_name) LIKE '%harbor%' OR "
            "lower(c.first_name) LIKE '%harbor%' OR lower(c.email) LIKE '%harbor%' OR "
            "lower(c.company) LIKE '%harbor%')",
        )
        assert found and len(found) == expected
        assert f"of {expected}" in static_text(app.screen, "#contacts-status")


@run
async def test_group_actions_offers_google_and_outlook_csv(demo_url):
    """Beside CSV and vCard, the two import files: the chosen one is written, for the selected
    contacts (Outlook's with its byte-order mark)."""
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import NoticeModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1", "space", "space", "g")
        assert option_labels(app.screen)[:4] == [
            "Export 2 selected to CSV",
            "Export 2 selected to vCard",
            "Export 2 selected to Google Contacts CSV",
            "Export 2 selected to Outlook CSV",
        ]
        await press(pilot, "down", "down", "down", "enter")  # Export 2 selected to Outlook CSV
        await settle(pilot)
        assert isinstance(app.screen, NoticeModal), app.screen
        path = static_text(app.screen, "#notice-body").split("Saved to:")[1].split()[0]
        assert path.endswith("-outlook.csv")
        with open(path, "rb") as f:
            raw = f.read()
        assert raw.startswith(b"\xef\xbb\xbfFirst Name,Middle Name,Last Name,")
        exported = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        picked = ",".join(map(str, app.screen_stack[-2].picked))
        emails = {e for (e,) in rows(app.engine, f"SELECT email FROM contact WHERE id IN ({picked})")}
        assert {r["E-mail Address"] for r in exported} == emails and len(exported) == 2


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_enter_and_space_are_labelled_apart_in_the_footer_and_the_keys_help(demo_url):
    """Space marks a row for Group Actions and Enter opens the contact: DataTable called both
    "Select"."""
    from textual.widgets._footer import FooterKey

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contact_detail import ContactDetailScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        active = app.screen.active_bindings
        assert active["space"].binding.description == "Mark"
        assert active["enter"].binding.description == "Open"
        footer = {k.key: k.description for k in app.screen.query(FooterKey)}
        assert footer["space"] == "Mark"
        await press(pilot, "enter")
        assert isinstance(app.screen, ContactDetailScreen)
