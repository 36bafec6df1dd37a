"""Table cells wider than their column end in an ellipsis, so a cut value shows it is cut."""

from __future__ import annotations

from pilot_kit import run
from textual.content import Content


def test_a_cell_wider_than_its_column_ends_in_an_ellipsis():
    from crm_tui.tui.widgets.record_table import fit

    assert fit(Content("dana@acme-realty.example"), 18).plain == "dana@acme-realty.…"
    assert fit(Content("Lee"), 18).plain == "Lee"  # narrower: as it is, unpadded
    assert fit(Content("exactly-eighteen!!"), 18).plain == "exactly-eighteen!!"
    wide = fit(Content("山田太郎のメールアドレス"), 9)  # two cells a character
    assert wide.plain.endswith("…") and wide.cell_length <= 9


@run
async def test_record_table_rows_show_cut_cells_with_an_ellipsis():
    from textual.app import App

    from crm_tui.tui.widgets.record_table import RecordTable

    class One(App):
        def compose(self):
            yield RecordTable([("name", "Name", 10), ("email", "Email", 12)])

    app = One()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(RecordTable)
        table.add_record(1, "Ann", "ann.longname@example.com")
        await pilot.pause()
        name, email = (c.plain for c in table.get_row_at(0))
        assert (name, email) == ("Ann", "ann.longnam…")
