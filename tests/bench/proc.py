"""Whole-process timing in a pseudo-terminal of 80x24, with the child's own peak memory."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios
import threading
import time


def run_in_pty(argv: list[str], env: dict[str, str], timeout: float = 120.0) -> tuple[float, int, int]:
    """Run ``argv`` on a fresh 80x24 pty; returns (wall seconds, exit code, peak RSS in KiB)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **env}

    def drain() -> None:
        while True:
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env, start_new_session=True)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.001)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    os.close(slave)
    os.close(master)
    reader.join(timeout=1)
    return wall, proc.returncode, usage.ru_maxrss


def run_plain(argv: list[str], env: dict[str, str], timeout: float = 3600.0) -> tuple[str, int, int]:
    """Run ``argv`` without a terminal; returns (stdout, exit code, peak RSS in KiB)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env}, text=True)
    out, err = proc.communicate(timeout=timeout)
    _pid, _status, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}… failed ({proc.returncode}):\n{err[-2000:]}")
    return out, proc.returncode, 0
