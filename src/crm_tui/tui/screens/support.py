"""Contact Support: the address, and what support can help with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.tui.base import SectionScreen

SUPPORT_TEXT = """\
Email cases@allclients.com

Before you close your account, write to us: many issues can be resolved, and we
may find a plan that fits your needs better.

Support can help with:
  • problems with your account or questions about your plan
  • exporting your data (templates, reports, anything else)
  • restoring a closed account, within 3 months of closing
"""


class SupportScreen(SectionScreen):
    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Contact Support", classes="page-title")
            yield Static(SUPPORT_TEXT, markup=False)
        yield Footer()
