"""Making user-originated text safe to print: no control characters reach a terminal.

The TUI wraps this in ``crm_tui.tui.safe.safe`` (which also disables markup); the CLI uses
:func:`clean` directly. This module imports nothing beyond the standard library.
"""

from __future__ import annotations

import re

# C0 controls (but \t, \n), DEL, C1 controls, bidirectional overrides/isolates that could
# reorder what the terminal shows, and invisible format characters that would hide inside a
# name or an address: zero-width space, joiners and marks (U+200B-U+200F), word joiner and
# invisible operators (U+2060-U+2064), deprecated format controls (U+206A-U+206F), the
# Mongolian vowel separator (U+180E), the byte-order mark / zero-width no-break space
# (U+FEFF) and interlinear annotation controls (U+FFF9-U+FFFB).
INVISIBLE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
_CONTROL = re.compile(f"[{INVISIBLE}]")
_PICTURE = {**{c: chr(0x2400 + c) for c in range(0x20)}, 0x7F: "\u2421"}


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return _PICTURE.get(code, "\ufffd")


def clean(text: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """``text`` with control characters replaced by visible stand-ins (ESC shows as ␛; the
    others, bidi and zero-width characters among them, as �).

    Single-line text also turns newlines and tabs into spaces; ``limit`` cuts long text
    with an ellipsis."""
    s = "" if text is None else str(text)
    if not multiline:
        s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    else:
        s = s.replace("\r\n", "\n").replace("\t", "    ")
    s = _CONTROL.sub(_visible, s)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (a database driver's own, when it wraps one),
    or its class's name when it has none."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


# --- counts in words ---------------------------------------------------------------------------

# Nouns whose plural is not the regular one (the rules below cover "entry" → "entries").
_IRREGULAR = {"person": "people", "is": "are", "was": "were", "has": "have"}


def plural_of(noun: str) -> str:
    """The plural of an English noun (or of the last word of a phrase: "history entry")."""
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif len(last) > 1 and last.endswith("y") and last[-2] not in "aeiou":
        word = last[:-1] + "ies"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def noun(n: int, singular: str, many: str | None = None) -> str:
    """``singular`` when ``n`` is 1, else its plural (``many`` if given)."""
    return singular if n == 1 else (many or plural_of(singular))


def plural(n: int, singular: str, many: str | None = None) -> str:
    """A count in words: "1 team member", "0 team members", "1,234 contacts"."""
    return f"{n:,} {noun(n, singular, many)}"


def initials(name: str) -> str:
    """The first letters of a person's first two words ("Dana Whitfield" → "DW"), skipping
    words that start with punctuation; "" when there is none."""
    parts = [p for p in name.split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper()
