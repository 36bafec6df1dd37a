"""A DataTable for records: fixed column widths and every cell made safe.

Cells are always :func:`crm_tui.tui.safe.safe` Content (never a ``str``, which DataTable
would parse as markup). Content cells do not report a width to DataTable, so each column
has a fixed one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable

from crm_tui.tui.safe import safe

CELL_LIMIT = 200  # characters kept of one cell (a 10,000-character name renders as 200)


class RecordTable(DataTable):
    DEFAULT_CSS = """
    RecordTable {
        height: 1fr;
    }
    """

    def __init__(self, columns: Iterable[tuple[str, str, int]], **kwargs: Any) -> None:
        """``columns``: (key, label, width) triples."""
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.column_spec = tuple(columns)

    def on_mount(self) -> None:
        for key, label, width in self.column_spec:
            self.add_column(safe(label), width=width, key=key)

    def add_record(self, key: object, *cells: object) -> None:
        """A row; a cell wider than its column ends in "…", so a cut value shows it is cut."""
        widths = [width for _key, _label, width in self.column_spec]
        contents = [cell_content(c) for c in cells]
        if len(contents) == len(widths):
            contents = [fit(c, w) for c, w in zip(contents, widths, strict=False)]
        self.add_row(*contents, key=str(key))

    def set_records(self, records: Iterable[tuple[object, tuple[object, ...]]]) -> None:
        """Replace every row, keeping the cursor on the same row number when it can."""
        row = self.cursor_row
        self.clear()
        for key, cells in records:
            self.add_record(key, *cells)
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


def fit(content, width: int):
    """``content`` cut to ``width`` cells, its last one an ellipsis, when it is wider."""
    return content.truncate(width, ellipsis=True) if content.cell_length > width else content


def fit_text(value: object, width: int) -> str:
    """User text cleaned (:func:`crm_tui.text.clean`) and cut with :func:`fit`, for a line
    that is put together before it is shown (a 3,000-character name then takes ``width``)."""
    return fit(safe("" if value is None else value), width).plain


def cell_content(value: object):
    from textual.content import Content

    if isinstance(value, Content):
        return value
    return safe("" if value is None else value, limit=CELL_LIMIT)
