"""The optional leaving survey, shown once the account is closed: a reason and a comment.
Submit stores it (without any account id or personal data); Esc or Skip leaves it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, RadioButton, RadioSet, Static

from crm_tui.tui.base import CrmScreen, ErrorText
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput, FormRadioSet


class ReasonButton(RadioButton):
    """A radio button whose state shows without colour too (NO_COLOR, 16 colours): the inner
    mark is drawn only when the reason is chosen."""

    @property
    def _button(self):
        self.BUTTON_INNER = RadioButton.BUTTON_INNER if self.value else " "
        return super()._button


class SurveyScreen(CrmScreen):
    """Dismissed with True when an answer was stored, False when skipped."""

    BINDINGS = [Binding("escape", "skip", "Skip", id="survey-skip")]
    CSS_PATH = "survey.tcss"

    def __init__(self, receipt) -> None:
        super().__init__()
        self.receipt = receipt
        self.sending = False

    def compose(self) -> ComposeResult:
        from crm_tui.services.survey import MAX_COMMENT, REASONS

        yield Static("Your account is closed · one optional question", id="survey-title")
        # Not focusable: Shift+Tab from the reasons wraps to Skip, not to an invisible container.
        with VerticalScroll(id="survey-body", can_focus=False):
            yield Static(
                "Why did you leave? Your answer is stored without your name, email or "
                "account. Esc or Skip goes on without answering.",
                id="survey-intro",
            )
            with FormRadioSet(id="survey-reasons"):
                for index, reason in enumerate(REASONS):
                    yield ReasonButton(reason, id=f"reason-{index}")
            yield Static("Anything else you'd like to tell us? (optional)", id="survey-comment-label")
            yield FormInput(id="survey-comment", max_length=MAX_COMMENT, compact=True, placeholder="a comment")
            with Horizontal(id="survey-buttons"):
                yield FormButton("Submit", id="survey-submit", variant="primary", compact=True)
                yield FormButton("Skip", id="survey-skip-button", compact=True)
            yield Static("", id="survey-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    def reason(self) -> str | None:
        from crm_tui.services.survey import REASONS

        pressed = self.query_one(RadioSet).pressed_index
        return REASONS[pressed] if pressed >= 0 else None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#survey-submit", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "survey-submit":
            self.submit()
        elif event.button.id == "survey-skip-button":
            self.action_skip()

    def submit(self) -> None:
        if self.sending:
            return
        reason = self.reason()
        if reason is None:
            self.status("Choose a reason first (arrows, then Enter or Space), or Skip.", error=True)
            self.query_one(RadioSet).focus()
            return
        from crm_tui.services import survey

        r = self.receipt
        comment = self.query_one("#survey-comment", Input).value
        self.sending = True
        self.status("Sending…")
        self.call_service(
            lambda: survey.submit(
                self.crm.engine,
                reason,
                comment,
                plan_code=r.plan_code,
                tenure_months=r.tenure_months,
                team_size=r.team_size,
            ),
            done=lambda _none: self.dismiss(True),
            failed=self.failed,
            group="survey",
        )

    def failed(self, message: ErrorText) -> None:
        self.sending = False
        self.status(message.sentence, error=True)

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#survey-status", Static)
        widget.update(safe(text))
        widget.set_class(error, "-error")

    def action_skip(self) -> None:
        if not self.sending:
            self.dismiss(False)
