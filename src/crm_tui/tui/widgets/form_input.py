"""Form fields and buttons that keep typed-ahead keys where the typist meant them.

Over a slow link (or from a fast typist, or tmux ``send-keys``) the keys of "Tab, name, Tab,
password, Enter" can arrive in one burst. Textual hands every key to the widget focused when
the key arrives and moves focus for Tab only once that key's binding has run, so the keys after
the Tab land in the widget being left: a password typed ahead would show, in clear, in the
field before it, and a name typed after Tab from a button would be lost on the button. A
:class:`FormInput`, :class:`FormButton` or :class:`FormRadioSet` moves focus itself, at once,
on Tab, Shift+Tab and (for a field given ``next_on_enter``) Enter, passes on the keys that
reached it after focus left, and runs its own key bindings in turn with the other keys.

Keys typed before the app has taken the terminal (while it starts, over SSH) went through the
terminal's line discipline, which turns Enter into a line feed: Textual reads that as Ctrl+J.
These widgets take Ctrl+J as the Enter it was.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Button, Input, RadioSet


class TypeAhead:
    """Mixed into a focusable widget (these form widgets, and record tables): what the module
    docstring describes."""

    next_on_enter: str | None = None

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "ctrl+j":  # an Enter typed before the app started (see above)
            event.stop()
            event.prevent_default()
            event = events.Key("enter", "\r")
        screen = self.screen
        focused = screen.focused
        if focused is not None and focused is not self:  # queued before focus moved on
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("tab", "shift+tab") or (event.key == "enter" and self.next_on_enter):
            # here rather than as a binding, which runs only after the keys already queued
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                screen.focus_next()
            elif event.key == "shift+tab":
                screen.focus_previous()
            else:
                screen.set_focus(screen.query_one(self.next_on_enter))
            return
        # The widget's own key bindings (Backspace in a field, Enter on a button, the arrows in a
        # list of choices) run here, in turn with the other keys: left to the app, a binding
        # runs only once its key has bubbled up, after this widget has handled the keys behind
        # it ("x, Backspace, y" would end "x"; a Tab behind it would have moved focus already).
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
        await super()._on_key(event)


class FormInput(TypeAhead, Input):
    def __init__(self, *args, next_on_enter: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.next_on_enter = next_on_enter


class FormButton(TypeAhead, Button):
    """A button in a form."""


class FormRadioSet(TypeAhead, RadioSet):
    """A list of choices in a form."""
