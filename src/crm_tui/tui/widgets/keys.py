"""Footer room at 80 columns: the section keys 1–4 are printed in the top bar already, so
screens with keys of their own keep them out of the footer (they still work, and ? lists them)."""

from __future__ import annotations

import dataclasses

from textual.binding import Binding


def quiet_nav_bindings() -> list[Binding]:
    from crm_tui.tui.base import nav_bindings

    return [dataclasses.replace(b, show=False) if b.key in "1234" else b for b in nav_bindings()]
