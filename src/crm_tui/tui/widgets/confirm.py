"""A confirmation dialog: what will happen, an optional password, Cancel focused first, or,
when it asks for the password, the password field (the body says "Enter your password to
confirm": typing must land there). Cancel stays the default: Enter in the empty password
field cancels, Enter after a password moves to the confirm button, which takes its own press.

The action itself runs in a thread worker while the dialog stays open, so a wrong password
or a refusal is shown in place and the user can try again or back out with Esc."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from crm_tui.services.errors import capitalised
from crm_tui.tui.base import CrmModal
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput


class ConfirmModal(CrmModal):
    DEFAULT_CSS = """
    ConfirmModal {
        align: center middle;
    }
    ConfirmModal > #confirm-box {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $error;
        background: $surface;
        padding: 0 1;
    }
    ConfirmModal.-plain > #confirm-box {
        border: round $primary;
    }
    ConfirmModal #confirm-title {
        text-style: bold;
    }
    ConfirmModal #confirm-body {
        height: auto;
        max-height: 14;
    }
    ConfirmModal #confirm-password {
        margin: 1 0 0 0;
    }
    ConfirmModal #confirm-error {
        color: $error;
        text-style: bold;
        height: auto;
    }
    ConfirmModal #confirm-buttons {
        height: auto;
        margin: 1 0 0 0;
        align-horizontal: right;
    }
    ConfirmModal #confirm-buttons Button {
        margin: 0 0 0 2;
    }
    """

    def __init__(
        self,
        title: str,
        body: str | Content,
        confirm_label: str,
        run: Callable[[str], Any],
        *,
        password: bool = False,
        danger: bool = True,
    ) -> None:
        """``run(password)`` is called in a worker on confirm; its result dismisses the dialog."""
        super().__init__(classes="" if danger else "-plain")
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.run = run
        self.password = password
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.title_text, id="confirm-title", markup=False)
            with VerticalScroll(id="confirm-body", can_focus=False):
                body = self.body if isinstance(self.body, Content) else Content(self.body)
                yield Static(body)
            if self.password:
                yield FormInput(password=True, placeholder="Your password", id="confirm-password", compact=True)
            yield Static("", id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield FormButton("Cancel", id="cancel", compact=True)
                yield FormButton(
                    self.confirm_label, id="confirm", variant="error" if self.danger else "primary", compact=True
                )

    def on_mount(self) -> None:
        if self.password:
            self.query_one("#confirm-password", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:  # nothing typed: Enter means the default, Cancel
            self.dismiss(None)
            return
        self.query_one("#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "confirm":
            self.attempt()

    def attempt(self) -> None:
        password = ""
        if self.password:
            password = self.query_one("#confirm-password", Input).value
            if not password:
                self.failed("Enter your password to confirm.")
                self.query_one("#confirm-password", Input).focus()
                return
        self.query_one("#confirm", Button).disabled = True
        self.query_one("#confirm-error", Static).update("Working…")
        self.call_service(self.run, password, done=self.dismiss, failed=self.failed, group="confirm")

    def failed(self, message: str) -> None:
        self.query_one("#confirm", Button).disabled = False
        self.query_one("#confirm-error", Static).update(safe(capitalised(message)))
        if self.password:
            field = self.query_one("#confirm-password", Input)
            field.value = ""
            field.focus()


def password_first_in_key_session(
    app, title: str, what: str, then: Callable[[], Any], cancelled: Callable[[], Any] | None = None
) -> None:
    """Run ``then`` at once; in a session signed in by SSH key (nobody typed a password), only
    once the member has entered their password (an export, like the other destructive steps,
    asks for it whatever the session). Esc or Cancel: ``cancelled``, if given."""
    if not getattr(app, "signed_in_by_key", False) or app.who is None:
        then()
        return
    from crm_tui.services import auth

    engine, member_id = app.engine, app.who.member_id

    def check(password: str) -> bool:
        auth.reauthenticate(engine, member_id, password)
        return True

    def answered(ok) -> None:
        if ok:
            then()
        elif cancelled is not None:
            cancelled()

    body = safe(f"{what}\n\nYou signed in with your SSH key: enter your password to confirm.", multiline=True)
    app.push_screen(ConfirmModal(title, body, "Continue", check, password=True, danger=False), answered)


class NoticeModal(CrmModal):
    """A result worth reading before going on (a temporary password, where a file went)."""

    DEFAULT_CSS = """
    NoticeModal {
        align: center middle;
    }
    NoticeModal > #notice-box {
        width: 74;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    NoticeModal #notice-title {
        text-style: bold;
    }
    NoticeModal #notice-buttons {
        height: auto;
        margin: 1 0 0 0;
        align-horizontal: right;
    }
    """

    def __init__(self, title: str, body: Content) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="notice-box"):
            yield Static(self.title_text, id="notice-title", markup=False)
            yield Static(self.body, id="notice-body")
            with Horizontal(id="notice-buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)
