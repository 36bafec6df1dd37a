"""Contact Support: the address, and what support can help with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.tui.base import SectionScreen

# a paragraph is one line: the screen wraps it at its width
SUPPORT_TEXT = (
    "Email cases@allclients.com\n"
    "\n"
    "Before you close your account, write to us: many issues can be resolved, and we "
    "may find a plan that fits your needs better.\n"
    "\n"
    "Support can help with:\n"
    "  • problems with your account or questions about your plan\n"
    "  • exporting your data (templates, reports, anything else)\n"
    "  • restoring a closed account, within 3 months of closing\n"
)


class SupportScreen(SectionScreen):
    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Contact Support", classes="page-title")
            yield Static(SUPPORT_TEXT, markup=False)
        yield Footer()
