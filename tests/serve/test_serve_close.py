"""Members' sessions end when their access does: one removed from the command line, then the
whole close flow walked over SSH at 80×24, from the owner's key to the goodbye screen, while
a team member's open session is ended with its message."""

from __future__ import annotations

import re
import subprocess
import sys

from .kit import process_state, start_server, wait_until
from .seed import ADMIN, OWNER, PLAYER, seed_team

DOWN, END, SHIFT_TAB, ESC = "\x1b[B", "\x1b[F", "\x1b[Z", "\x1b"


def test_a_removed_members_session_ends_then_the_owner_closes_the_account_over_ssh(tmp_path, terminals):
    team = seed_team(tmp_path)
    served = start_server(tmp_path / "home", "--database-url", team.url)
    try:
        # first, a member removed (from the command line) while her session is open: it ends
        priya = terminals(served, team.keys["priya"])
        priya.wait_for(lambda: priya.screen.display[0].rstrip().endswith("PS ▾"))
        priya_pid = served.session_pid()
        removed = subprocess.run(
            [sys.executable, "-m", "crm_tui", "team", "remove", "--email", OWNER, "--member", PLAYER,
             "--password-stdin", "--database-url", team.url],
            input="demo-owner\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert removed.returncode == 0, removed.stderr
        priya.wait_for("You are no longer a member of this account. Your access has ended.", timeout=20)
        assert priya.wait_closed() == 0
        wait_until(lambda: process_state(priya_pid) is None, 5, "Priya's app to be gone")
        served.wait_log(rf'session-end .*member={team.members[PLAYER]} pid={priya_pid} .*end="app ended \(exit 0\)"')

        mark = len(served.log())
        marcus = terminals(served, team.keys["marcus"])
        marcus.wait_for(lambda: marcus.screen.display[0].rstrip().endswith("ML ▾"))
        marcus_pid = served.session_pid(after=mark)

        dana = terminals(served, team.keys["dana"])
        dana.wait_for(lambda: dana.screen.display[0].rstrip().endswith("DW ▾"))
        dana.send("p")  # the profile menu
        dana.wait_for("Billing & Plan")
        dana.send(DOWN, "\r")
        dana.wait_for(lambda: " Billing & Plan" in dana.screen.display[2] and "Danger zone" in dana.text())
        dana.send(END)  # down to the danger zone, on the red button
        dana.wait_for("Cancel & Permanently Delete Your Account")
        dana.send("\r")
        dana.wait_for("Type the account name: Acme Realty")
        text = dana.text()
        assert "cannot be undone" in text and "Marcus Lee" in text and "Priya Shah" not in text
        dana.send(SHIFT_TAB, SHIFT_TAB, "Acme Realty")  # from Cancel back to the name
        dana.wait_for(lambda: re.search(r"Type the account name: Acme Realty\s+Acme Realty", dana.text()))
        dana.send("\r", "demo-owner")
        dana.wait_for("••••••••••")
        dana.send("\r", "\r")  # Enter in the password moves to the delete button; Enter presses it
        dana.wait_for("Your account is closed · one optional question", timeout=60)
        dana.send(ESC)  # the survey is optional
        dana.wait_for("Goodbye — your account is closed")
        # the receipt's body may reach the terminal in a later read than its title line
        dana.wait_for("Acme Realty")
        assert all(len(line) == 80 for line in dana.screen.display)  # still the 80×24 it began at

        # Marcus's open session: ended by the app with its message, reported by the server. The
        # app's check may fall while the close is still under way (the account is marked closing
        # before its backup is written) or after it: either message is the truth at that moment.
        ended = re.compile(r"This account (is being|has been) closed by its owner\. Your access has ended\.")
        marcus.wait_for(lambda: ended.search(marcus.text()), timeout=20)
        assert marcus.wait_closed() == 0
        wait_until(lambda: process_state(marcus_pid) is None, 5, "Marcus's app to be gone")
        end = served.wait_log(rf"session-end .*member={team.members[ADMIN]} pid={marcus_pid} .*", after=mark)
        assert 'end="app ended (exit 0)"' in end.group(0)
    finally:
        served.stop()
