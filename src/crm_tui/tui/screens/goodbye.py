"""Goodbye: the deletion receipt (what was deleted, counts, when), the restore-until date and
how to ask for it; then sign-out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Static

from crm_tui.services.zones import day_text, time_text, zone_for
from crm_tui.tui.base import CrmScreen
from crm_tui.tui.safe import safe

SIGNED_OUT = "Your account was closed. You have been signed out."


def after_closing(app, receipt) -> None:
    """The account is gone: end the session (no more session checks), clear the screens that
    showed it, and show the goodbye screen with the optional survey on top of it."""
    from crm_tui.tui.screens.signin import SignInScreen
    from crm_tui.tui.screens.survey import SurveyScreen

    app.end_session()
    while len(app.screen_stack) > 1 and not isinstance(app.screen, SignInScreen):
        app.pop_screen()
    goodbye = GoodbyeScreen(receipt)
    app.push_screen(goodbye)
    app.push_screen(SurveyScreen(receipt), goodbye.survey_done)


def receipt_text(receipt) -> str:
    lines = [f"The account “{receipt.account_name}” was closed on "
             f"{time_text(receipt.closed_at, zone_for(receipt.time_zone), year=True)}.", "", "Deleted:"]
    cells = [f"{n:>9,}  {label}" for label, n in receipt.lines()]
    half = (len(cells) + 1) // 2
    for left, right in zip(cells[:half], cells[half:] + [""]):
        lines.append(f"{left:<34}{right}".rstrip())
    n = receipt.members_signed_out
    if n:
        lines += ["", f"{n} team member{'s' if n != 1 else ''} lost access and "
                      f"{'were' if n != 1 else 'was'} signed out."]
    return "\n".join(lines)


class GoodbyeScreen(CrmScreen):
    BINDINGS = [
        Binding("escape", "sign_out", "Sign out", id="back"),
        Binding("s", "sign_out", "Sign out", id="goodbye-sign-out"),
    ]
    DEFAULT_CSS = """
    GoodbyeScreen #goodbye-title {
        height: 1;
        background: $panel;
        text-style: bold;
        padding: 0 1;
    }
    GoodbyeScreen #goodbye-body { padding: 0 1; }
    GoodbyeScreen #goodbye-receipt { margin: 1 0; }
    GoodbyeScreen #goodbye-restore { border: round $primary; padding: 0 1; height: auto; }
    GoodbyeScreen #goodbye-survey { margin: 1 0 0 0; color: $text-muted; }
    GoodbyeScreen #goodbye-actions { height: 1; margin: 1 0 0 0; }
    """

    def __init__(self, receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        r = self.receipt
        yield Static("Goodbye — your account is closed", id="goodbye-title")
        with VerticalScroll(id="goodbye-body"):
            yield Static(safe(receipt_text(r), multiline=True), id="goodbye-receipt")
            yield Static(safe(
                f"Changed your mind? The account can be restored, team members included, until "
                f"{day_text(r.restore_until)}. Email {r.support_email} from the owner's address "
                f"and ask for a restore. After that date the backup is destroyed and the data "
                f"cannot be recovered."), id="goodbye-restore")
            yield Static("", id="goodbye-survey")
            with Horizontal(id="goodbye-actions"):
                yield Button("Sign out", id="goodbye-sign-out", variant="primary", compact=True)
        yield Footer()

    def on_screen_resume(self) -> None:
        self.query_one("#goodbye-sign-out", Button).focus()

    def survey_done(self, answered: bool) -> None:
        self.query_one("#goodbye-survey", Static).update(
            "Thank you for your answer." if answered else "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "goodbye-sign-out":
            self.action_sign_out()

    def action_sign_out(self) -> None:
        self.app.sign_out(SIGNED_OUT)
