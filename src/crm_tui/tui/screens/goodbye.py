"""Goodbye: the deletion receipt (what was deleted, counts, when, the restore-until date and
how to ask for it, the audit event's hash), saved as a text file on a key; then sign-out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Static

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


class GoodbyeScreen(CrmScreen):
    BINDINGS = [
        Binding("escape", "sign_out", "Sign out", id="back"),
        Binding("s", "sign_out", "Sign out", id="goodbye-sign-out"),
        Binding("r", "save_receipt", "Save receipt", id="goodbye-save-receipt"),
        Binding("pagedown", "scroll_body(1)", "Scroll down", id="goodbye-page-down", show=False),
        Binding("pageup", "scroll_body(-1)", "Scroll up", id="goodbye-page-up", show=False),
    ]
    CSS_PATH = "goodbye.tcss"

    def __init__(self, receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        from crm_tui.services.accounts import KEEP_EXPORT
        from crm_tui.services.closing import receipt_text

        yield Static("Goodbye — your account is closed", id="goodbye-title")
        with VerticalScroll(id="goodbye-body", can_focus=False):  # page keys scroll it
            yield Static(safe(receipt_text(self.receipt), multiline=True), id="goodbye-receipt")
            yield Static(
                safe(
                    f"{KEEP_EXPORT}\nPress r to save this receipt as a text file in your downloads folder.",
                    multiline=True,
                ),
                id="goodbye-keep",
            )
            yield Static("", id="goodbye-saved")
            yield Static("", id="goodbye-survey")
        # outside the scrolling body: focusing a button never scrolls the receipt's start away
        with Horizontal(id="goodbye-actions"):
            yield Button("Sign out", id="goodbye-sign-out", variant="primary", compact=True)
            yield Button("Save receipt", id="goodbye-save-receipt", compact=True)
        yield Footer()

    def on_screen_resume(self) -> None:
        self.query_one("#goodbye-sign-out", Button).focus()

    def survey_done(self, answered: bool) -> None:
        self.query_one("#goodbye-survey", Static).update("Thank you for your answer." if answered else "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "goodbye-sign-out":
            self.action_sign_out()
        elif event.button.id == "goodbye-save-receipt":
            self.action_save_receipt()

    def action_save_receipt(self) -> None:
        from crm_tui.services.closing import save_receipt

        self.call_service(
            save_receipt, self.receipt, done=self.receipt_saved, failed=self.receipt_failed, group="save-receipt"
        )

    def receipt_saved(self, path) -> None:
        from crm_tui.tui.screens.download import shown_path

        saved = self.query_one("#goodbye-saved", Static)
        fetch = self.crm.session_context.scp_line(path)
        saved.update(
            safe(f"Receipt saved: {shown_path(path)}" + (f"\nFetch it: {fetch}" if fetch else ""), multiline=True)
        )
        saved.remove_class("-error")
        self.call_after_refresh(saved.scroll_visible, animate=False)

    def receipt_failed(self, message: str) -> None:
        saved = self.query_one("#goodbye-saved", Static)
        saved.update(safe(f"The receipt was not saved: {message}."))
        saved.add_class("-error")
        self.call_after_refresh(saved.scroll_visible, animate=False)

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#goodbye-body", VerticalScroll)
        body.scroll_page_down() if direction > 0 else body.scroll_page_up()

    def action_sign_out(self) -> None:
        self.app.sign_out(SIGNED_OUT)
