"""My Account: who is signed in, and in which account."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe


class MyAccountScreen(SectionScreen):
    def compose(self) -> ComposeResult:
        who = self.crm.who
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("My Account", classes="page-title")
            yield Static(safe(f"Name:     {who.name}\nEmail:    {who.email}\nRole:     {who.role}\n"
                              f"Account:  {who.account_name}", multiline=True))
            hint = {
                "owner": "As the owner you can reach Billing & Plan from the profile menu (p).",
                "administrator": "Administrators manage the team and Messages; only the owner sees billing.",
                "team player": "Team players work with contacts, calendar and to-dos.",
            }[who.role]
            yield Static(hint, classes="muted")
        yield Footer()
