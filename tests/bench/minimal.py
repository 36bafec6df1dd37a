"""The start-up floor: a minimal Textual app (Header, Static, Footer) that exits once painted.

``python -m tests.bench.minimal [--sqlmodel]``; with ``--sqlmodel`` it also imports sqlmodel
(the floor of the signed-in dashboard figure).
"""

import sys

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("ready")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.exit)


if __name__ == "__main__":
    if "--sqlmodel" in sys.argv:
        import sqlmodel  # noqa: F401
    Minimal().run()
