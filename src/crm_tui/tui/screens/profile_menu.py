"""The profile menu, opened from the initials badge at the top right."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.tui import routes
from crm_tui.tui.base import CrmModal
from crm_tui.tui.safe import safe


class ProfileMenu(CrmModal):
    def compose(self) -> ComposeResult:
        who = self.crm.who
        with Vertical(id="profile-menu"):
            yield Static(safe(f"{who.name}\n{who.email}\n{who.role}", multiline=True), id="profile-who")
            options = [Option(r.label, id=r.id) for r in routes.menu(routes.PROFILE, who.role)]
            yield OptionList(*options, id="profile-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
