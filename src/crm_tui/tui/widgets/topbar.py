"""The top bar: the sections, and at the top right the profile "picture" (initials)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from crm_tui.tui import routes
from crm_tui.tui.safe import safe


class Section(Static):
    def __init__(self, route: routes.Route, active: bool) -> None:
        super().__init__(
            f"{route.key} {route.title}",
            classes="section -active" if active else "section",
            id=f"section-{route.id}",
            markup=False,
        )
        self.route = route

    def on_click(self) -> None:
        self.app.call_later(self.app.run_action, self.route.action)


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
        for route in routes.menu(routes.SECTIONS, self.who.role if self.who else None):
            yield Section(route, route.id == self.active)
        yield Static("", id="topbar-spacer")
        initials = self.who.initials if self.who else "?"
        yield ProfileBadge(safe(f" {initials} ▾"), id="profile-badge")
