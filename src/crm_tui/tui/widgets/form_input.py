"""Form fields and buttons.

Keys typed ahead in a burst reach the field the typist meant because the app hands keys over
one at a time (:mod:`crm_tui.tui.keyflow`); these widgets add only what forms need on top.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Button, Input, RadioSet


class FormInput(Input):
    """A text field; with ``next_on_enter`` (a selector), Enter moves to that field."""

    def __init__(self, *args, next_on_enter: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.next_on_enter = next_on_enter

    async def action_submit(self) -> None:
        if self.next_on_enter:
            self.screen.set_focus(self.screen.query_one(self.next_on_enter))
        else:
            await super().action_submit()


class FormButton(Button):
    """A button in a form. A ``deliberate`` one (the button that deletes) takes Enter or Space
    only when the key was pressed after the button got focus: a key typed ahead, meant for the
    field before it, moves focus here but never presses it; it posts :class:`HeldBack`
    instead, so the screen can say why nothing happened."""

    class HeldBack(Message):
        """A deliberate button did not take a key typed ahead of its focus."""

        def __init__(self, button: FormButton) -> None:
            super().__init__()
            self.button = button

    def __init__(self, *args, deliberate: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deliberate = deliberate
        self._focused_at = float("inf")

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._focused_at = event.time

    def on_key(self, event: events.Key) -> None:
        if self.deliberate and event.key in ("enter", "space") and event.time < self._focused_at:
            event.stop()
            event.prevent_default()
            self.post_message(self.HeldBack(self))


class FormRadioSet(RadioSet):
    """A list of choices in a form."""
