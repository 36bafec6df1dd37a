"""My Account: who is signed in, in which account, the time zone times are shown in, and the
command-line sessions (``crm-tui login``) the member has; ``k`` opens their SSH keys.

``z`` goes to the time-zone field: type an IANA name (any case; the names that match show
below as you type), Enter saves it. "machine" means the zone of the machine the app runs on.
A name that is not a zone gets one line saying so, and nothing changes. ``x`` ends the
command-line session selected."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, Static

from crm_tui.services.errors import capitalised
from crm_tui.services.roles import Role
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormInput
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable

MATCHES_SHOWN = 4


class AccountPage(VerticalScroll):
    """The page, focused first: z moves to the time-zone field."""

    BINDINGS = [Binding("z", "screen.edit_zone", "Time zone", id="my-account-zone")]


class MyAccountScreen(SectionScreen):
    BINDINGS = quiet_nav_bindings() + [
        Binding("x", "revoke", "End session", id="account-revoke-session"),
        Binding("k", "app.open('ssh-keys')", "SSH keys", id="account-ssh-keys"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        who = self.crm.who
        yield self.compose_top()
        with Vertical(classes="page"):
            # focused first (the section keys and z work; typed keys reach the field only after z);
            # not around the field, so the keys the field leaves (Esc) go on to the screen
            with AccountPage(id="my-account-page"):
                yield Static("My Account", classes="page-title")
                yield Static(
                    safe(
                        f"Name:     {who.name}\nEmail:    {who.email}\nRole:     {who.role}\n"
                        f"Account:  {who.account_name}",
                        multiline=True,
                    )
                )
                yield Static("Time zone: …", id="zone-current")
            with Horizontal(id="zone-row"):
                yield Label("Change (z), Enter:", id="zone-label")
                yield FormInput(id="zone-input", compact=True, placeholder="e.g. America/New_York, or machine")
            yield Static("", id="zone-matches")
            yield Static("", id="zone-error")
            hint = {
                Role.OWNER: "As the owner you can reach Billing & Plan from the profile menu (p).",
                Role.ADMIN: "Administrators manage the team and Messages; only the owner sees billing.",
                Role.TEAM_PLAYER: "Team players work with contacts, calendar and to-dos.",
            }[Role(who.role)]
            yield Static(hint, classes="muted")
            yield Static("Command-line sessions", classes="page-title", id="sessions-title")
            yield RecordTable(
                [("where", "Where", 26), ("since", "Signed in", 20), ("used", "Last used", 20)],
                id="sessions-table",
            )
            yield Static("", id="sessions-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        from crm_tui.services import profile

        self.query_one("#my-account-page").focus()
        self.call_service(profile.time_zone, self.crm.engine, self.crm.who, done=self.show_zone, group="my-account")
        self.load()

    def show_zone(self, zone) -> None:
        self.query_one("#zone-current", Static).update(safe(f"Time zone: {zone.describe()}"))

    # --- changing the zone ---------------------------------------------------------------------

    def action_edit_zone(self) -> None:
        self.set_focus(self.query_one("#zone-input", FormInput))

    def action_back(self) -> None:
        """Esc in the field leaves the field; Esc elsewhere leaves the screen."""
        field = self.query_one("#zone-input", FormInput)
        if self.focused is field:
            field.value = ""
            self.query_one("#zone-error", Static).update("")
            self.query_one("#my-account-page").focus()
            return
        super().action_back()

    def on_input_changed(self, event: Input.Changed) -> None:
        from crm_tui.services.zones import matching

        text = event.value.strip()
        found = matching(text) if text else []
        if not found:
            shown = ""
        elif len(found) <= MATCHES_SHOWN:
            shown = "  ".join(found)
        else:
            shown = "  ".join(found[:MATCHES_SHOWN]) + f"  … {len(found) - MATCHES_SHOWN:,} more"
        self.query_one("#zone-matches", Static).update(safe(shown))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from crm_tui.services import errors, profile, zones
        from crm_tui.services.errors import InvalidInput

        event.stop()
        text = event.value.strip()
        try:
            name = zones.checked(text)
        except InvalidInput as exc:
            found = zones.matching(text) if text else []
            if len(found) != 1:  # one match is as good as typing it whole
                self.query_one("#zone-error", Static).update(safe(capitalised(errors.message(exc))))
                return
            name = found[0]
        self.query_one("#zone-error", Static).update("")
        self.call_service(
            profile.set_time_zone,
            self.crm.engine,
            self.crm.who,
            name,
            done=self.zone_saved,
            failed=self.zone_refused,
            group="my-account",
        )

    def zone_saved(self, zone) -> None:
        self.crm.time_zone_changed(zone.stored)
        self.show_zone(zone)
        field = self.query_one("#zone-input", FormInput)
        field.value = ""
        self.query_one("#zone-matches", Static).update("")
        self.query_one("#my-account-page").focus()
        self.app.notify(f"Times are now shown in {zone.name} ({zone.abbreviation}).", markup=False)

    def zone_refused(self, message: str) -> None:
        self.query_one("#zone-error", Static).update(safe(capitalised(message)))

    def load(self) -> None:
        from crm_tui.services import sessions

        self.call_service(sessions.list_for, self.crm.engine, self.crm.who, done=self.show, group="my-sessions")

    def show(self, rows) -> None:
        self.sessions = {str(r.id): r for r in rows}
        table = self.query_one("#sessions-table", RecordTable)
        from crm_tui.services.zones import time_text, zone_for

        zone = zone_for(self.crm.who.time_zone)
        table.set_records(
            (r.id, (r.label or "command line", time_text(r.created_at, zone), time_text(r.last_used_at, zone)))
            for r in rows
        )
        status = self.query_one("#sessions-status", Static)
        if rows:
            status.update(
                "Each ends after 12 hours unused. x ends the one selected (the command line "
                "then asks for the password, or 'crm-tui login' again)."
            )
        else:
            status.update("None. 'crm-tui login --email ...' lets the command line act as you for 12 hours.")

    def action_revoke(self) -> None:
        from crm_tui.services import sessions

        key = self.query_one("#sessions-table", RecordTable).current_key()
        if key is None or key not in self.sessions:
            return

        def ended(_result) -> None:
            self.app.notify("Session ended.", markup=False)
            self.load()

        self.call_service(
            sessions.revoke, self.crm.engine, self.crm.who, int(key), done=ended, group="my-sessions-revoke"
        )
