"""The PTY child on its own, with small real programs: its terminal is its controlling one,
window changes reach it as SIGWINCH, a hang-up that is ignored is followed by SIGKILL, and
it is always reaped."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from crm_tui.serve.child import PtyChild

SIZES = r"""
import os, signal, sys, time
def show(*_):
    cols, rows = os.get_terminal_size(0)
    sys.stdout.write(f"size {cols}x{rows} fg={os.tcgetpgrp(0) == os.getpgrp()}\n"); sys.stdout.flush()
signal.signal(signal.SIGWINCH, show)
show()
for line in sys.stdin:
    if line.strip() == "bye":
        sys.exit(7)
"""

STUBBORN = r"""
import signal, sys, time
signal.signal(signal.SIGHUP, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


async def _run(program: str, steps):
    output = bytearray()
    exits: list[int] = []
    child = PtyChild((sys.executable, "-c", program), {"PATH": os.environ["PATH"]}, 80, 24, output.extend, exits.append)
    child.start()

    async def seen(text: bytes, timeout: float = 10) -> None:
        async def poll():
            while text not in output:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(poll(), timeout)

    await steps(child, seen)
    await asyncio.wait_for(child.exited.wait(), 10)
    return child, bytes(output), exits


def test_window_changes_reach_the_child_and_its_exit_status_is_reported():
    async def steps(child, seen):
        await seen(b"size 80x24 fg=True")  # its own terminal, and it is in the foreground
        child.resize(120, 40)
        await seen(b"size 120x40 fg=True")
        child.write(b"bye\r")

    child, output, exits = asyncio.run(_run(SIZES, steps))
    assert exits == [child.status] and os.waitstatus_to_exitcode(child.status) == 7
    assert b"bye" not in output  # a fresh terminal does not echo: the app decides what is shown
    try:
        os.kill(child.pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive  # reaped: not even a zombie is left


def test_a_child_that_ignores_the_hang_up_is_killed_after_the_grace():
    async def steps(child, seen):
        await seen(b"ready")
        loop = asyncio.get_running_loop()
        started = loop.time()
        child.hang_up(grace=0.5)
        await asyncio.wait_for(child.exited.wait(), 5)
        assert loop.time() - started >= 0.45

    child, _, exits = asyncio.run(_run(STUBBORN, steps))
    assert os.WIFSIGNALED(child.status) and os.WTERMSIG(child.status) == signal.SIGKILL
    assert exits == [child.status]
