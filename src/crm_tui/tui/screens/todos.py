"""To-Dos: open ones by due date, or (o) the closed ones."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Static

from crm_tui.text import initials
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable

PRIORITY = {1: "high", 3: "normal", 5: "low"}


class TodosScreen(SectionScreen):
    SECTION = "todos"
    BINDINGS = quiet_nav_bindings() + [Binding("o", "toggle_status", "Open/closed", id="todos-toggle")]

    def __init__(self) -> None:
        super().__init__()
        self.status = "open"

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("To-Dos", classes="page-title", id="todos-title")
            yield RecordTable(
                [
                    ("due", "Due", 11),
                    ("priority", "Prio", 6),
                    ("summary", "To-do", 22),
                    ("category", "Category", 10),
                    ("contact", "Contact", 12),
                    ("who", "By", 2),
                ],
                id="todos-table",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def action_toggle_status(self) -> None:
        self.status = "closed" if self.status == "open" else "open"
        self.load()

    def load(self) -> None:
        from crm_tui.services import records

        self.call_service(records.todos, self.crm.engine, self.crm.who, self.status, done=self.show, group="todos")

    def show(self, data) -> None:
        shown = len(data.rows)
        more = f", {shown:,} shown" if shown < data.total else ""
        other = "closed" if data.status == "open" else "open"
        self.query_one("#todos-title", Static).update(
            f"To-Dos · {data.status} ({data.total:,}{more}) · o shows the {other} ones "
            f"({data.closed if other == 'closed' else data.open:,})"
        )
        self.query_one(RecordTable).set_records(
            (
                t.id,
                (
                    f"{t.due:%d %b %Y}" if t.due else "no date",
                    PRIORITY.get(t.priority, str(t.priority)),
                    t.summary,
                    t.category or "—",
                    t.contact or "—",
                    initials(t.assignee),
                ),
            )
            for t in data.rows
        )
