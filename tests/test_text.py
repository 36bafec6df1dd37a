"""crm_tui.text.clean: the one cleaning function behind the CLI's output and the app's safe()."""

from __future__ import annotations

import json

import pytest

from crm_tui.text import clean

ZERO_WIDTH = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2060",
    "\u2061",
    "\u2064",
    "\u206a",
    "\u206f",
    "\u180e",
    "\ufeff",
    "\ufff9",
    "\ufffb",
]


@pytest.mark.parametrize("ch", ZERO_WIDTH, ids=[f"U+{ord(c):04X}" for c in ZERO_WIDTH])
def test_zero_width_and_invisible_format_characters_are_shown(ch):
    assert clean(f"Dana{ch}Whitfield") == "Dana\ufffdWhitfield"
    assert clean(f"line{ch}\nnext", multiline=True) == "line\ufffd\nnext"


def test_the_others_stay_as_they_were():
    assert clean("a\x1b[31mb\u202ec\x7f") == "a\u241b[31mb\ufffdc\u2421"
    assert clean("Zo\u00eb \u00c5sa \u4f8b\u3048 \U0001f600 ok") == "Zo\u00eb \u00c5sa \u4f8b\u3048 \U0001f600 ok"
    assert clean("tab\tand\nnewline") == "tab and newline"


def test_the_app_and_the_json_output_show_them_too(capsys):
    from crm_tui import cli
    from crm_tui.tui.safe import safe

    assert safe("x\u200by").plain == "x\ufffdy"
    cli._print_json({"name": "x\u200by\ufeff"})
    out = capsys.readouterr().out
    assert "\u200b" not in out and "\ufeff" not in out
    assert json.loads(out) == {"name": "x\u200by\ufeff"}
