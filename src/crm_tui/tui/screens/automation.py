"""Automation: Email Templates, Autoresponders and Messages → Settings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.tui import commands
from crm_tui.tui.base import SectionScreen

ITEMS = (("templates", "Email Templates"), ("autoresponders", "Autoresponders"),
         ("messages", "Messages → Settings"))


class AutomationScreen(SectionScreen):
    SECTION = "automation"

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Automation", classes="page-title")
            role = self.crm.who.role
            yield OptionList(
                *[Option(title, id=cid) for cid, title in ITEMS if commands.allowed(commands.BY_ID[cid], role)],
                id="automation-menu",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.call_later(self.app.run_action, f"open('{event.option.id}')")  # a coroutine
