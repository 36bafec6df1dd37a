"""Automation → Email Templates: the list, and the highlighted template's body as plain text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.text import plural
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.record_table import RecordTable

PREVIEW_LIMIT = 20_000


class TemplatesScreen(SectionScreen):
    SECTION = "automation"
    CSS_PATH = "templates.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.templates: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("Automation → Email Templates", classes="page-title", id="templates-title")
            yield RecordTable(
                [("name", "Name", 26), ("subject", "Subject", 36), ("used", "Used in", 7)], id="templates-table"
            )
            with VerticalScroll(id="template-preview"):
                yield Static("", id="template-body")
        yield Footer()

    def on_mount(self) -> None:
        from crm_tui.services import records

        self.query_one(RecordTable).focus()
        self.call_service(records.templates, self.crm.engine, self.crm.who, done=self.show, group="templates")

    def show(self, rows) -> None:
        self.templates = {str(t.id): t for t in rows}
        self.query_one("#templates-title", Static).update(f"Automation → Email Templates · {len(rows):,}")
        self.query_one(RecordTable).set_records(
            (t.id, (t.name, t.subject, plural(t.used_in, "step") if t.used_in else "—")) for t in rows
        )
        self.preview()
        if not rows:
            self.query_one("#template-body", Static).update("No email templates.")

    def on_data_table_row_highlighted(self, event: RecordTable.RowHighlighted) -> None:
        self.preview()

    def preview(self) -> None:
        key = self.query_one(RecordTable).current_key()
        t = self.templates.get(key) if key else None
        if t is None:
            return
        self.query_one("#template-body", Static).update(
            safe(f"Subject: {t.subject}\n\n{t.text}", multiline=True, limit=PREVIEW_LIMIT)
        )
