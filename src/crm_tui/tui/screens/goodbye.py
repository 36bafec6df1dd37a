"""Goodbye: the deletion receipt (what was deleted, counts, when, the restore-until date and
how to ask for it, the audit event's hash), saved as a text file on a key; then sign-out.

In the public demo (``crm-tui serve --demo``) the restore support would do is one key away
(u): the account comes back, and the visitor signs in again."""

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

    member_id = app.who.member_id if app.who is not None else None
    email = app.who.email if app.who is not None else ""
    app.end_session()
    while len(app.screen_stack) > 1 and not isinstance(app.screen, SignInScreen):
        app.pop_screen()
    goodbye = GoodbyeScreen(receipt, member_id=member_id, email=email)
    app.push_screen(goodbye)
    app.push_screen(SurveyScreen(receipt), goodbye.survey_done)


class GoodbyeScreen(CrmScreen):
    BINDINGS = [
        Binding("escape", "sign_out", "Sign out", id="back"),
        Binding("s", "sign_out", "Sign out", id="goodbye-sign-out"),
        Binding("r", "save_receipt", "Save receipt", id="goodbye-save-receipt"),
        Binding("u", "demo_restore", "Restore (demo)", id="goodbye-demo-restore"),
        Binding("pagedown", "scroll_body(1)", "Scroll down", id="goodbye-page-down", show=False),
        Binding("pageup", "scroll_body(-1)", "Scroll up", id="goodbye-page-up", show=False),
    ]
    CSS_PATH = "goodbye.tcss"

    def __init__(self, receipt, *, member_id: int | None = None, email: str = "") -> None:
        super().__init__()
        self.receipt = receipt
        self.member_id = member_id  # who closed the account (their served exports folder)
        self.email = email  # the owner's, for the demo's restore

    def compose(self) -> ComposeResult:
        from crm_tui.services.accounts import KEEP_EXPORT
        from crm_tui.services.closing import receipt_text

        yield Static("Goodbye — your account is closed", id="goodbye-title")
        with VerticalScroll(id="goodbye-body", can_focus=False):  # page keys scroll it
            yield Static(safe(receipt_text(self.receipt), multiline=True), id="goodbye-receipt")
            context = self.crm.session_context
            where = "your folder on this server" if context.served else "your downloads folder"
            demo = (
                "\nThis is the demo: press u to restore the account now, as support would on request."
                if self.demo_restore_offered
                else ""
            )
            yield Static(
                safe(f"{KEEP_EXPORT}\nPress r to save this receipt as a text file in {where}.{demo}", multiline=True),
                id="goodbye-keep",
            )
            yield Static("", id="goodbye-saved")
            yield Static("", id="goodbye-survey")
        # outside the scrolling body: focusing a button never scrolls the receipt's start away
        with Horizontal(id="goodbye-actions"):
            yield Button("Sign out", id="goodbye-sign-out", variant="primary", compact=True)
            yield Button("Save receipt", id="goodbye-save-receipt", compact=True)
        yield Footer()

    @property
    def demo_restore_offered(self) -> bool:
        return self.crm.session_context.demo and bool(self.email)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo_restore":
            return self.demo_restore_offered
        return True

    def action_demo_restore(self) -> None:
        """The demo: restore the account (the real restore, as support runs it), then sign in."""
        if not self.demo_restore_offered:
            return
        from crm_tui.services import closing

        self.query_one("#goodbye-saved", Static).update("Restoring the account…")
        self.call_service(
            closing.restore,
            self.crm.engine,
            self.email,
            done=self.restored,
            failed=self.restore_failed,
            group="restore",
        )

    def restored(self, result) -> None:
        self.app.sign_out(
            f"{result.account_name} was restored, with everything it held. Sign in again to see it.",
            to_sign_in=True,
        )

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

        receipt, context, member_id = self.receipt, self.crm.session_context, self.member_id

        def run():
            return save_receipt(receipt, context.export_folder(member_id) if member_id is not None else None)

        self.call_service(run, done=self.receipt_saved, failed=self.receipt_failed, group="save-receipt")

    def receipt_saved(self, path) -> None:
        from crm_tui.tui.screens.download import shown_path

        saved = self.query_one("#goodbye-saved", Static)
        fetch = self.crm.session_context.scp_line(path)
        saved.update(
            safe(f"Receipt saved: {shown_path(path)}" + (f"\nFetch it: {fetch}" if fetch else ""), multiline=True)
        )
        saved.remove_class("-error")
        self.call_after_refresh(saved.scroll_visible, animate=False)

    def restore_failed(self, message: str) -> None:
        saved = self.query_one("#goodbye-saved", Static)
        saved.update(safe(f"The account was not restored: {message}."))
        saved.add_class("-error")

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
