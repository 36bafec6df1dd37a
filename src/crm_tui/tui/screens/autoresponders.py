"""Automation → Autoresponders: each sequence and its ordered steps (delay → template)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.text import clean
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.record_table import RecordTable


def step_text(step) -> str:
    unit = step.unit if step.delay != 1 else step.unit.rstrip("s")
    when = "at once" if step.delay == 0 else f"after {step.delay:,} {clean(unit)}"
    return f"{step.position:>2}. {when:<16} → {clean(step.template, limit=120) or '(missing template)'}"


class AutorespondersScreen(SectionScreen):
    SECTION = "automation"
    CSS_PATH = "autoresponders.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("Automation → Autoresponders", classes="page-title", id="autoresponders-title")
            yield RecordTable(
                [("name", "Name", 34), ("active", "Status", 8), ("steps", "Steps", 5), ("span", "Spans", 12)],
                id="autoresponders-table",
            )
            with VerticalScroll(id="autoresponder-steps"):
                yield Static("", id="steps-body")
        yield Footer()

    def on_mount(self) -> None:
        from crm_tui.services import records

        self.query_one(RecordTable).focus()
        self.call_service(records.autoresponders, self.crm.engine, self.crm.who, done=self.show, group="autoresponders")

    def show(self, rows) -> None:
        self.rows = {str(a.id): a for a in rows}
        self.query_one("#autoresponders-title", Static).update(f"Automation → Autoresponders · {len(rows):,}")
        self.query_one(RecordTable).set_records(
            (a.id, (a.name, "active" if a.active else "paused", str(len(a.steps)), span(a.steps))) for a in rows
        )
        self.show_steps()
        if not rows:
            self.query_one("#steps-body", Static).update("No autoresponders.")

    def on_data_table_row_highlighted(self, event: RecordTable.RowHighlighted) -> None:
        self.show_steps()

    def show_steps(self) -> None:
        key = self.query_one(RecordTable).current_key()
        a = self.rows.get(key) if key else None
        if a is None:
            return
        lines = [f"Steps of “{clean(a.name, limit=200)}”:"] + [step_text(s) for s in a.steps]
        if not a.steps:
            lines.append("No steps.")
        self.query_one("#steps-body", Static).update(safe("\n".join(lines), multiline=True))


def span(steps) -> str:
    units = {s.unit for s in steps}
    if not steps or len(units) != 1:
        return "—"
    total = max(s.delay for s in steps)
    return f"{total:,} {next(iter(units))}"
