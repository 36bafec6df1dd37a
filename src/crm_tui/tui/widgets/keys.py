"""Footer room at 80 columns: the section keys 1–4 are printed in the top bar already, so
screens with keys of their own keep them out of the footer (they still work, and ? lists them)."""

from __future__ import annotations

from textual.binding import Binding


def quiet_nav_bindings() -> list[Binding]:
    """The app's navigation keys for a screen with keys of its own: the route table already
    leaves the section keys out of the footer (:attr:`crm_tui.tui.routes.Route.in_footer`)."""
    from crm_tui.tui.base import nav_bindings

    return nav_bindings()
