"""The keys of a screen (the app's ``?``, and "Keys" in the command palette): every key the
screen beneath answers to at that moment, in a panel at the right that takes focus, so that
↑ ↓ PgUp PgDn Home End scroll it when the list is longer than the terminal; Esc or ? closes it.

Textual's own HelpPanel was cut at 24 rows and could not be scrolled from the keyboard: it
never takes focus, as the keys it lists are those of the focused widget."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from crm_tui.tui.base import CrmModal


@dataclass(frozen=True)
class KeyRow:
    keys: tuple[str, ...]  # the key names bound (as Textual names them: "question_mark")
    shown: str  # how they are printed ("?"; several keys for one action: "b pgup")
    description: str


def key_rows(screen: Screen) -> list[KeyRow]:
    """The keys ``screen`` answers to now (its focused widget's, then its own, then the
    app's), one row per action, as Textual's key panel groups them; keys without a description
    and Textual's system keys are left out, as there."""
    app = screen.app
    rows: dict[tuple[int, str], list] = {}
    for key, (namespace, binding, _enabled, _tooltip) in screen.active_bindings.items():
        if binding.system or not binding.description:
            continue
        rows.setdefault((id(namespace), binding.action), []).append((key, binding))
    out = []
    for bound in rows.values():
        first = bound[0][1]
        shown = " ".join(dict.fromkeys(app.get_key_display(b) for _key, b in bound))
        # a short footer label may carry the whole description as its tooltip ("c Plan")
        out.append(KeyRow(tuple(k for k, _b in bound), shown, first.tooltip or first.description))
    return out


class KeysScreen(CrmModal):
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="keys-close"),
        Binding("question_mark", "cancel", "Close", show=False, id="keys-close-again"),
    ]
    CSS_PATH = "keys_help.tcss"

    def __init__(self, rows: list[KeyRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-panel"):
            yield Static("Keys · ↑↓ PgUp PgDn scroll · Esc closes", id="keys-title", markup=False)
            with VerticalScroll(id="keys-list"):
                for row in self.rows:
                    with Horizontal(classes="keys-row"):
                        yield Static(row.shown, classes="keys-key", markup=False)
                        yield Static(row.description, classes="keys-description", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#keys-list", VerticalScroll).focus()
