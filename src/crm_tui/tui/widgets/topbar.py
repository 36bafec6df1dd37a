"""The top bar: the sections, and at the top right the profile "picture" (initials)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from crm_tui.tui.safe import safe

SECTIONS = (("contacts", "1", "Contacts"), ("calendar", "2", "Calendar"),
            ("todos", "3", "To-Dos"), ("automation", "4", "Automation"))


class Section(Static):
    def __init__(self, screen_id: str, key: str, title: str, active: bool) -> None:
        super().__init__(f"{key} {title}", classes="section -active" if active else "section",
                         id=f"section-{screen_id}", markup=False)
        self.screen_id = screen_id

    def on_click(self) -> None:
        self.app.call_later(self.app.run_action, f"open('{self.screen_id}')")


class ProfileBadge(Static):
    """The user's initials in a coloured badge; p (or a click) opens the profile menu."""

    def on_click(self) -> None:
        self.app.call_later(self.app.run_action, "profile_menu")


class TopBar(Horizontal):
    def __init__(self, who, active: str = "") -> None:
        super().__init__(id="topbar")
        self.who = who
        self.active = active

    def compose(self) -> ComposeResult:
        yield Static(safe(self.who.account_name if self.who else "crm-tui", limit=22), id="account-name")
        for screen_id, key, title in SECTIONS:
            yield Section(screen_id, key, title, screen_id == self.active)
        yield Static("", id="topbar-spacer")
        initials = self.who.initials if self.who else "?"
        yield ProfileBadge(safe(f" {initials} ▾"), id="profile-badge")
