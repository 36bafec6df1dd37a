"""Calendar: the account's appointments, upcoming ones first, with the contact's name."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Static

from crm_tui.text import initials
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.widgets.record_table import RecordTable


class CalendarScreen(SectionScreen):
    SECTION = "calendar"

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("Calendar", classes="page-title", id="calendar-title")
            yield RecordTable(
                [
                    ("when", "When", 15),
                    ("time", "Time", 16),
                    ("past", "", 4),
                    ("what", "Appointment", 16),
                    ("contact", "Contact", 11),
                    ("owner", "By", 2),
                ],
                id="calendar-table",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def load(self) -> None:
        from crm_tui.services import records

        self.call_service(records.appointments, self.crm.engine, self.crm.who, done=self.show, group="calendar")

    def show(self, data) -> None:
        from crm_tui.services.zones import day_of, span_text

        zone = self.zone
        shown = len(data.rows)
        more = f" (the {shown:,} nearest shown)" if shown < data.total else ""
        self.query_one("#calendar-title", Static).update(
            f"Calendar · {data.upcoming:,} upcoming, {data.total - data.upcoming:,} past{more}"
        )
        self.query_one(RecordTable).set_records(
            (
                a.id,
                (
                    day_of(a.start, zone),
                    span_text(a.start, a.end, zone),
                    "" if a.upcoming else "past",
                    a.description,
                    a.contact or "—",
                    initials(a.owner),
                ),
            )
            for a in data.rows
        )
