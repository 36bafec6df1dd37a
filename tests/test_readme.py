"""The README's command-line section names every command the parser has, with its options."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1]
    block = section.split("```", 2)[1]
    # a line is the command, then (after two or more spaces) what it does
    return [re.split(r"\s{2,}", line)[0] for line in block.splitlines() if line.startswith("crm-tui")]


def _commands() -> dict[str, argparse.ArgumentParser]:
    from crm_tui.cli import build_parser

    out: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            out[" ".join(path)] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(build_parser(), ())
    return out


def _mentions(line: str, command: str) -> bool:
    """``crm-tui team add ...`` or ``crm-tui admin closed | restore ...`` name ``team add`` and
    ``admin restore``."""
    group, _, action = command.partition(" ")
    words = re.findall(r"[\w-]+", line)
    if words[:2] != ["crm-tui", group]:
        return False
    return not action or action in words


def test_every_command_and_its_options_are_in_the_readme():
    lines = _block()
    for command, parser in _commands().items():
        if command in ("paths",):
            assert any("paths" in line for line in lines)
            continue
        mine = [line for line in lines if _mentions(line, command)]
        assert mine, f"the README's command-line section lacks 'crm-tui {command}'"
        for action in parser._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if not longs or longs[0] in ("--help", "--database-url", "--create", "--password-stdin"):
                continue  # every (member) command takes them: the section says so once
            assert any(longs[0] in line for line in mine), f"'crm-tui {command}' lacks {longs[0]} in the README"


def test_the_options_every_command_takes_are_explained():
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1].split("\n## ", 1)[0]
    for option in ("--database-url", "--create", "--password-stdin"):
        assert option in section.split("```", 2)[0] + section.split("```", 2)[2], option


def test_every_readme_command_exists():
    commands = _commands()
    for line in _block():
        words = re.findall(r"[\w-]+", line)
        if len(words) < 2 or words[1].startswith("-"):
            continue  # the app itself, or --version
        group = words[1]
        assert any(c == group or c.startswith(group + " ") for c in commands), line


def test_the_menus_by_role_table_gives_each_roles_own_keys():
    """The profile and Automation menus list only what a role may use: the README's keys for
    each item and role are the ones that reach it in that role's menu."""
    from crm_tui.services.roles import Role
    from crm_tui.tui import routes

    section = README.read_text(encoding="utf-8").split("### The menus by role", 1)[1]
    table = [line for line in section.split("\n\n")[2].splitlines() if line.startswith("|")][2:]
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table)}
    roles = (Role.OWNER, Role.ADMIN, Role.TEAM_PLAYER)

    def keys(menu_key: str, menu: str, route_id: str, role: str) -> str:
        shown = [r.id for r in routes.menu(menu, role)]
        if route_id not in shown:
            return "—"
        at = shown.index(route_id)
        if at == len(shown) - 1 and menu_key == "p":
            return f"`{menu_key}` ↑ Enter"  # the last item: the list wraps round
        return f"`{menu_key}` " + ("↓" * at + " " if at else "") + "Enter"

    menus = [("p", routes.PROFILE), ("4", routes.AUTOMATION)]
    expected = {
        route.title: [keys(key, menu, route.id, role) for role in roles]
        for key, menu in menus
        for route in routes.menu(menu)
    }
    assert rows == expected
