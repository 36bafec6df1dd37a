"""The one way user-originated text reaches the screen.

``safe()`` returns a :class:`textual.content.Content`, which Textual never parses as markup,
built from text whose control characters (ESC and friends) are replaced by visible stand-ins.
Labels, Statics, DataTable cells, OptionList options and notifications all take it."""

from __future__ import annotations

from textual.content import Content

from crm_tui.text import clean


def safe(text: object, *, multiline: bool = False, limit: int | None = None, style: str = "") -> Content:
    content = Content(clean(text, multiline=multiline, limit=limit))
    return content.stylize(style) if style else content
