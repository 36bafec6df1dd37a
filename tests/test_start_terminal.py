"""What the app does to the terminal before it takes it: keys typed ahead are not echoed
(a password would show in clear on the shell's screen), and the modes come back afterwards."""

from __future__ import annotations

import os
import termios

from crm_tui import start


def _echo(fd: int) -> bool:
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def test_echo_is_held_while_the_app_starts_and_given_back_after():
    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave)) as stream:
            assert _echo(slave)
            before = termios.tcgetattr(slave)
            held = start.hold_echo(stream)
            assert held is not None and not _echo(slave)
            os.write(master, b"secret\n")  # typed ahead: kept for the app, not echoed
            os.set_blocking(master, False)
            try:
                shown = os.read(master, 100)
            except BlockingIOError:
                shown = b""
            assert b"secret" not in shown
            start.release_echo(held)
            assert termios.tcgetattr(slave) == before
            assert os.read(slave, 100) == b"secret\n"
    finally:
        os.close(master)
        os.close(slave)


def test_nothing_is_held_without_a_terminal(tmp_path):
    with open(tmp_path / "input.txt", "w+") as stream:
        assert start.hold_echo(stream) is None
    start.release_echo(None)
