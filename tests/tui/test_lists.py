"""Calendar, To-Dos, Email Templates, Autoresponders and the contact details at 80×24,
reached with keys only, showing what the database holds."""

from __future__ import annotations

from conftest import OWNER, PLAYER
from pilot_kit import SIZE, press, rows, run, shows, shows_all, sign_in, static_text, table_text  # noqa: F401


@run
async def test_calendar_lists_upcoming_first_with_contact_names(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.calendar import CalendarScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "2")
        assert isinstance(app.screen, CalendarScreen)
        shown = table_text(app.screen)
        expected = rows(
            app.engine,
            """
            SELECT a.description, trim(c.first_name || ' ' || c.last_name) FROM appointment a
            JOIN account x ON x.id = a.account_id LEFT JOIN contact c ON c.id = a.contact_id
            WHERE x.name = 'Acme Realty' AND a.start >= :now ORDER BY a.start, a.id""",
            now="2026-11-27 10:00:00",
        )
        assert len(shown) == 24  # every appointment of Acme, upcoming first
        upcoming = [r for r in shown if r[2] == ""]
        assert len(upcoming) == len(expected)  # in order; long descriptions and names end in "…"
        assert all(shows(r[3], d) and shows(r[4], c) for r, (d, c) in zip(upcoming, expected, strict=False))
        assert all(r[2] == "past" for r in shown[len(upcoming) :])
        assert f"{len(expected)} upcoming, {24 - len(expected)} past" in static_text(app.screen, "#calendar-title")
        await press(pilot, "escape")
        assert not isinstance(app.screen, CalendarScreen)


@run
async def test_todos_toggle_between_open_and_closed(demo_url):
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "3")
        open_rows = table_text(app.screen)
        db_open = rows(
            app.engine,
            "SELECT summary FROM todo t JOIN account x ON x.id = t.account_id "
            "WHERE x.name = 'Acme Realty' AND t.status = 'open'",
        )
        assert shows_all([r[2] for r in open_rows], [s for (s,) in db_open])
        assert "open (16)" in static_text(app.screen, "#todos-title")
        await press(pilot, "o")
        closed_rows = table_text(app.screen)
        db_closed = rows(
            app.engine,
            "SELECT summary FROM todo t JOIN account x ON x.id = t.account_id "
            "WHERE x.name = 'Acme Realty' AND t.status = 'closed'",
        )
        assert shows_all([r[2] for r in closed_rows], [s for (s,) in db_closed])
        assert "closed (8)" in static_text(app.screen, "#todos-title")


@run
async def test_templates_preview_and_autoresponder_steps(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.autoresponders import AutorespondersScreen
    from crm_tui.tui.screens.templates import TemplatesScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "4")  # Automation menu: Email Templates, Autoresponders (no Messages for a player)
        await press(pilot, "enter")
        assert isinstance(app.screen, TemplatesScreen)
        names = [r[0] for r in table_text(app.screen)]
        assert names == sorted(names, key=str.lower) and len(names) == 8
        await press(pilot, "down", "down")  # "Market update"
        body = static_text(app.screen, "#template-body")
        assert "Prices in your area moved 2% this month." in body and "<p>" not in body
        await press(pilot, "escape", "down", "enter")
        assert isinstance(app.screen, AutorespondersScreen)
        assert [r[0] for r in table_text(app.screen)] == [
            "New buyer lead",
            "Open house follow-up",
            "Past client nurture",
        ]
        await press(pilot, "down", "down")
        steps = static_text(app.screen, "#steps-body")
        assert "after 30 days" in steps and "after 365 days" in steps and steps.count("→") == 4


@run
async def test_contact_detail_shows_every_field(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contact_detail import ContactDetailScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        first = app.screen.query_one("RecordTable")
        cid = int(first.current_key())
        await press(pilot, "enter")
        assert isinstance(app.screen, ContactDetailScreen)
        (c,) = rows(
            app.engine,
            "SELECT first_name, last_name, email, phone1, phone1_text_ok, city, notes FROM contact WHERE id = :i",
            i=cid,
        )
        main = static_text(app.screen, "#detail-main")
        assert c.email in main and c.phone1 in main and c.city in main
        assert ("texts OK" if c.phone1_text_ok else "no texts") in main
        assert static_text(app.screen, "#detail-title") == f"{c.first_name} {c.last_name}"
        assert static_text(app.screen, "#detail-notes") == (c.notes or "No notes.")
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "ContactsScreen"
