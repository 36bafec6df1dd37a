"""A 3,000-character name is cut with an ellipsis, as table cells are (record_table.fit), in the
closing confirmation's list of members who lose access and on a contact's Owner line."""

from __future__ import annotations

from conftest import ADMIN, OWNER
from pilot_kit import SIZE, press, rows, run, sign_in, static_text
from sqlalchemy import text

LONG = "Marcus " + "Longname-" * 333  # 3,004 characters


def _rename(url: str, email: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE member SET name = :n WHERE email = :e"), {"n": name, "e": email})
    finally:
        engine.dispose()


def test_fit_text_cuts_by_cells_and_cleans():
    from crm_tui.tui.widgets.record_table import fit_text

    assert fit_text("short", 10) == "short"
    assert fit_text(LONG, 32) == LONG[:31] + "…"
    assert fit_text("例" * 40, 11) == "例" * 5 + "…"  # wide characters count two cells
    assert fit_text("a\x1b[31mb" * 20, 8) == "a␛[31mb…"


@run
async def test_the_close_confirmation_cuts_a_long_member_name(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

    _rename(demo_url, ADMIN, LONG)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        app.push_screen(CloseConfirmScreen())
        await press(pilot)
        team = static_text(app.screen, "#close-team").splitlines()
        [line] = [x for x in team if "Marcus" in x]
        assert line == f"  • {LONG[:23]}… <{ADMIN}> — administrator"
        width = app.screen.query_one("#close-team").content_size.width
        assert len(line) <= width, (len(line), width)


@run
async def test_a_contacts_owner_line_cuts_a_long_name(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contact_detail import ContactDetailScreen

    _rename(demo_url, OWNER, LONG)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        cid = int(app.screen.query_one("RecordTable").current_key())
        with app.engine.begin() as conn:
            conn.execute(
                text("UPDATE contact SET owner_id = (SELECT id FROM member WHERE email = :e) WHERE id = :i"),
                {"e": OWNER, "i": cid},
            )
        await press(pilot, "enter")
        assert isinstance(app.screen, ContactDetailScreen)
        [owner] = [x for x in static_text(app.screen, "#detail-main").splitlines() if x.startswith("Owner")]
        assert owner == f"Owner       {LONG[:59]}…"
        assert rows(app.engine, "SELECT count(*) FROM contact WHERE id = :i", i=cid)[0][0] == 1
