"""The dashboard: counts, upcoming appointments and open to-dos."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe


class MainScreen(SectionScreen):
    SECTION = "dashboard"
    BINDINGS = [Binding("escape", "back", "Back", id="back", show=False)]

    def action_back(self) -> None:
        """The dashboard is home: Esc has nothing to back out of (Sign Out is in the menu)."""

    def compose(self) -> ComposeResult:
        # Just signed in, the figures are usually here already: drawn with them at once,
        # the screen is laid out and painted once instead of twice.
        data = self.crm.first_dashboard if not self.crm.dashboard_pending else None
        self.crm.first_dashboard = None
        self._drawn_with_figures = data is not None
        text = figures_text(data, self.zone)
        yield self.compose_top()
        with VerticalScroll(id="dashboard"):
            yield Static("", id="welcome")
            with Horizontal(id="tiles"):
                yield Static(text["tile-contacts"], id="tile-contacts", classes="tile")
                yield Static(text["tile-appointments"], id="tile-appointments", classes="tile")
                yield Static(text["tile-todos"], id="tile-todos", classes="tile")
            with Vertical(classes="panel"):
                yield Static("Upcoming appointments", classes="panel-title")
                yield Static(text["next-appointments"], id="next-appointments")
            with Vertical(classes="panel"):
                yield Static("Open to-dos", classes="panel-title")
                yield Static(text["next-todos"], id="next-todos")
        yield Footer()

    def on_mount(self) -> None:
        self.show_welcome()
        # no refresh_data() here: pushing the screen sends ScreenResume too, and two queries
        # at once on a large account slowed the first dashboard down

    def show_welcome(self) -> None:
        who = self.crm.who
        self.query_one("#welcome", Static).update(
            safe(f"Welcome, {who.name} ({who.role}) — press p for the profile menu, ? for keys.")
        )

    waiting = False  # for the figures the sign-in's worker is reading
    _drawn_with_figures = False

    def on_screen_resume(self) -> None:
        if self.crm.who is not None:  # the role may have changed above (ownership transferred)
            self.show_welcome()
        if self._drawn_with_figures:  # first shown, with the sign-in's figures
            self._drawn_with_figures = False
            self.crm.painted("dashboard")
            return
        if self.crm.dashboard_pending:  # just signed in: the sign-in's worker brings them
            self.waiting = True
            return
        self.show_first()

    def show_first(self) -> None:
        """Show what the sign-in's worker read, if it is still unused; otherwise ask."""
        self.waiting = False
        data, self.crm.first_dashboard = self.crm.first_dashboard, None
        if data is not None:
            self.show_data(data)
        else:
            self.refresh_data()

    def refresh_data(self) -> None:
        if self.crm.who is None:  # resumed for a moment while signing out: nothing to show
            return
        from crm_tui.services.dashboard import dashboard

        self.call_service(dashboard, self.crm.engine, self.crm.who, done=self.show_data, group="dashboard")

    def show_data(self, d) -> None:
        for widget_id, text in figures_text(d, self.zone).items():
            self.query_one(f"#{widget_id}", Static).update(text)
        self.crm.painted("dashboard")


def figures_text(d, zone=None) -> dict:
    """What the dashboard's figure widgets show for the figures ``d`` (None: not read yet),
    times in ``zone`` (the member's; the machine's when None)."""
    from crm_tui.services.zones import time_text, zone_for

    if d is None:
        return {
            "tile-contacts": "Contacts\n…",
            "tile-appointments": "Upcoming\n…",
            "tile-todos": "Open to-dos\n…",
            "next-appointments": "…",
            "next-todos": "…",
        }
    zone = zone if zone is not None else zone_for("")
    whens = [time_text(when, zone) for when, _text in d.next_appointments]
    width = max(map(len, whens), default=0)  # "Tue 8 Dec" and "Thu 10 Dec": the descriptions line up
    appts = [
        f"{when:<{width}}  {clean_line(text)}" for when, (_when, text) in zip(whens, d.next_appointments, strict=False)
    ]
    todos = [
        f"{(due.strftime('%d %b') if due else 'no date'):>7}  P{prio}  {clean_line(text)}"
        for due, prio, text in d.next_todos
    ]
    return {
        "tile-contacts": f"Contacts\n{d.contacts:,}",
        "tile-appointments": f"Upcoming\n{d.upcoming_appointments:,}",
        "tile-todos": f"Open to-dos\n{d.open_todos:,}",
        "next-appointments": safe("\n".join(appts) or "No upcoming appointments.", multiline=True),
        "next-todos": safe("\n".join(todos) or "No open to-dos.", multiline=True),
    }


def clean_line(text: str, limit: int = 60) -> str:
    from crm_tui.text import clean

    return clean(text, limit=limit)
