"""Automation: Email Templates, Autoresponders and Messages → Settings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.tui import routes
from crm_tui.tui.base import SectionScreen


class AutomationScreen(SectionScreen):
    SECTION = "automation"

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Automation", classes="page-title")
            items = routes.menu(routes.AUTOMATION, self.crm.who.role)
            yield OptionList(*[Option(r.label, id=r.id) for r in items], id="automation-menu")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.call_later(self.app.run_action, routes.BY_ID[event.option.id].action)  # a coroutine
