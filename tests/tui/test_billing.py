"""Billing & Plan at 80×24: the figures an owner sees, and changing the plan by keys."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import SIZE, run, settle, sign_in, static_text  # noqa: F401
from sqlalchemy import text
from test_closing_flow import open_billing_by_keys
from test_qa_walk import shown_footer_keys

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def plan_code(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT plan.code FROM account JOIN plan ON plan.id = account.plan_id "
                "WHERE account.name = 'Acme Realty'"
            )
        ).scalar_one()


def test_billing_shows_plan_seats_messages_total_card_and_invoices(demo_url):
    from crm_tui.tui.app import CrmApp

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await open_billing_by_keys(pilot)
            s = app.screen
            assert static_text(s, "#billing-plan") == "Professional — $59.00/month"
            assert static_text(s, "#billing-seats") == "2 × $15.00/month = $30.00/month"
            assert static_text(s, "#billing-messages") == "active — $25.00/month"
            assert static_text(s, "#billing-total") == "$114.00/month"
            # the demo (seed 7) bills on the 14th; the clock is pinned to 27 Nov 2026
            assert static_text(s, "#billing-next") == "14 Dec 2026"
            assert "ending" in static_text(s, "#billing-card")
            invoices = static_text(s, "#invoices").splitlines()
            assert len(invoices) == 6
            assert all("INV-" in line and "$114.00" in line for line in invoices), invoices

    run(body())


def test_change_plan_by_keys_and_esc_keeps_it(demo_url):
    from crm_tui import db
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.billing import BillingScreen, ChangePlanModal

    engine = db.get_engine(demo_url)

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await open_billing_by_keys(pilot)
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, ChangePlanModal)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, BillingScreen)
            assert plan_code(engine) == "professional"

            await pilot.press("c")
            await pilot.pause()
            await pilot.press("up", "enter")  # Starter sits above the current plan
            await settle(pilot)
            assert isinstance(app.screen, BillingScreen)
            assert plan_code(engine) == "starter"
            assert static_text(app.screen, "#billing-plan") == "Starter — $29.00/month"
            assert static_text(app.screen, "#billing-total") == "$84.00/month"

    run(body())


def test_end_to_the_danger_zone_is_in_the_footer_and_the_footer_fits_80_columns(demo_url):
    """The danger zone is below the fold at 24 rows: the footer says End reaches it, and
    every key of the footer is still drawn whole at 80 columns (Keys included)."""
    from textual.widgets import Button
    from textual.widgets._footer import FooterKey

    from crm_tui.tui.app import CrmApp

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await open_billing_by_keys(pilot)
            keys = {k.key for k in app.screen.query(FooterKey) if not k.has_class("-command-palette")}
            assert "end" in keys
            assert shown_footer_keys(app.screen) == keys  # each one whole, left of the palette key
            assert {"end", "escape", "c", "p", "question_mark"} <= keys
            end = next(k for k in app.screen.query(FooterKey) if k.key == "end")
            assert end.description == "Danger zone"
            await pilot.press("end")
            await settle(pilot)
            assert app.focused is app.screen.query_one("#close-account", Button)

    run(body())
