"""The ``crm-tui`` command line.

Exit codes: 0 done, 1 refused (one line on stderr says why), 2 usage.
``--help`` and ``--version`` import neither Textual nor the database stack: every command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable

from crm_tui import __version__

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """A one-line refusal from the CLI itself (exit 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"crm-tui: {message} (see '{self.prog} --help')\n")


def _read_password(args) -> str:
    if not getattr(args, "password_stdin", False):
        raise Refused("this step needs the password: pass --password-stdin and pipe it in")
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass  # typed at a terminal: don't echo it

        line = getpass.getpass("Password: ")
    else:
        line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise Refused("no password was given on standard input")
    return password


def _engine(args):
    from crm_tui import db

    return db.get_engine(args.database_url)


def _who(args, email: str | None = None):
    from crm_tui.services import auth
    from crm_tui.services.errors import NotFound

    engine = _engine(args)
    try:
        return auth.as_member(engine, email or args.email)
    except NotFound:
        if email is None and getattr(args, "password_stdin", False):
            # A command that asks for the password: the right one of someone whose account
            # was closed is told so, as signing in tells them (one hash checked either way).
            auth.refuse_if_closed(engine, args.email, _read_password(args))
        raise


def _print_json(payload) -> None:
    """JSON escapes C0 controls itself; DEL, C1 (such as CSI, U+009B) and bidi overrides in
    user text are escaped here too, so none reaches a terminal raw. The JSON means the same."""
    import re

    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    print(re.sub("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text))


def _say(text: str) -> None:
    """Print user-originated text to a terminal with control characters made visible."""
    from crm_tui.text import clean

    print(clean(text))


# --- commands ---------------------------------------------------------------------------


def cmd_app(args) -> int:
    from crm_tui.tui.launch import run_app

    return run_app(args.database_url)


def cmd_paths(args) -> int:
    from crm_tui import db, paths

    url = paths.resolve_database_url(args.database_url)
    print(f"database:  {db.sqlite_path(url) or url}")
    print(f"data:      {paths.data_dir()}")
    print(f"backups:   {paths.backup_dir()}")
    print(f"downloads: {paths.downloads_dir()}")
    return EXIT_OK


def cmd_demo(args) -> int:
    from crm_tui.services import demo

    users = demo.create(_engine(args), contacts=args.contacts, seed=args.seed, reset=args.reset)
    print(f"Demo accounts ready: {demo.ACME} ({args.contacts} contacts) and {demo.BIRCH}.")
    print(f"{'email':32} {'role':13} {'password':12} account")
    for u in users:
        print(f"{u.email:32} {u.role:13} {u.password:12} {u.account}")
    return EXIT_OK


def cmd_account_impact(args) -> int:
    from crm_tui.services import accounts

    impact = accounts.impact(_engine(args), _who(args))
    if args.json:
        _print_json(impact.as_json())
        return EXIT_OK
    _say(f"Closing {impact.account_name} ({impact.plan_name}) would permanently delete:")
    for label, n in impact.lines():
        print(f"  {n:>9,}  {label}")
    if impact.members_losing_access:
        print("Team members who would lose access:")
        for m in impact.members_losing_access:
            _say(f"  {m.name} <{m.email}> ({m.role})")
    if impact.messages_active:
        _say(f"Messages is active on {impact.messages_phone}. {accounts.TWILIO_NOTE}")
    print(f"Questions first? Write to {accounts.SUPPORT_EMAIL} - we may be able to help.")
    return EXIT_OK


def cmd_account_close(args) -> int:
    from crm_tui.services import closing, survey
    from crm_tui.services.errors import DomainError

    # The survey answer is checked before closing: a refusal after the close would say
    # "refused" (exit 1) about an account that is already gone.
    if args.comment and not args.reason:
        raise Refused("--comment goes with --reason (why you are leaving); nothing was closed")
    if args.reason:
        try:
            survey.checked(args.reason, args.comment or "")
        except DomainError as exc:
            raise Refused(f"{exc}; nothing was closed") from None
    engine = _engine(args)
    who = _who(args)
    password = _read_password(args)
    receipt = closing.close_account(engine, who, args.confirm, password)
    _say(f"{receipt.account_name} was closed and its data permanently deleted at "
         f"{receipt.closed_at:%Y-%m-%d %H:%M} UTC:")
    for label, n in receipt.lines():
        print(f"  {n:>9,}  {label}")
    print(f"Changed your mind? Email {receipt.support_email} by {receipt.restore_until:%d %B %Y} "
          "to have it restored.")
    if args.reason:
        try:
            survey.submit(engine, args.reason, args.comment or "", plan_code=receipt.plan_code,
                          tenure_months=receipt.tenure_months, team_size=receipt.team_size)
        except Exception as exc:  # the close stands: report the optional survey, still exit 0
            message = _refusal(exc)
            if message is None or os.environ.get("CRM_TUI_DEBUG"):
                raise
            from crm_tui.text import clean

            print(f"crm-tui: the account is closed; your survey answer was not saved ({clean(message)})",
                  file=sys.stderr)
        else:
            print("Thank you for telling us why you left.")
    return EXIT_OK


def cmd_account_export(args) -> int:
    from crm_tui.services import auth, export

    engine = _engine(args)
    who = _who(args)
    auth.confirm_with_password(engine, who, "data.export", _read_password(args))
    result = export.export_account(engine, who, out_dir=args.out)
    print(f"{result.path}")
    print(f"size {result.size:,} bytes  sha256 {result.sha256}")
    return EXIT_OK


def cmd_contacts_export(args) -> int:
    from crm_tui.services import export

    ids = None
    if args.ids is not None:
        try:
            ids = [int(part) for part in args.ids.split(",") if part.strip()]
        except ValueError:
            raise Refused("--ids takes contact ids separated by commas, such as 3,7,12") from None
        if not ids:
            raise Refused("--ids names no contact")
    result = export.export_contacts(_engine(args), _who(args), ids, args.format, out_dir=args.out)
    print(f"{result.path}")
    print(f"{result.counts['contacts']:,} contacts  size {result.size:,} bytes  sha256 {result.sha256}")
    return EXIT_OK


def cmd_team_list(args) -> int:
    from crm_tui.services import team

    for m in team.list_members(_engine(args), _who(args)):
        _say(f"{m.id:>5}  {m.name:24} {m.email:32} {m.role:13} "
             f"{m.contacts} contacts, {m.todos} to-dos, {m.appointments} appointments")
    return EXIT_OK


def cmd_team_add(args) -> int:
    from crm_tui.services import team

    new = team.add_member(_engine(args), _who(args), args.member, args.name, args.role.replace("-", " "))
    _say(f"Added {new.email} as {new.role}. Temporary password: {new.temporary_password}")
    return EXIT_OK


def cmd_team_remove(args) -> int:
    from crm_tui.services import team

    engine = _engine(args)
    who = _who(args)
    result = team.remove_member(engine, who, team.find_in_account(engine, who, args.member))
    _say(f"Removed {result.name}: {result.contacts_moved} contacts and {result.todos_moved} to-dos "
         f"moved to {result.owner_name}; {result.appointments_deleted} appointments deleted.")
    return EXIT_OK


def cmd_team_transfer(args) -> int:
    from crm_tui.services import team

    engine = _engine(args)
    who = _who(args)
    target = team.find_in_account(engine, who, args.to)
    name = team.transfer_ownership(engine, who, target, _read_password(args))
    _say(f"{name} now owns the account; you are an administrator.")
    return EXIT_OK


def cmd_team_leave(args) -> int:
    from crm_tui.services import team

    result = team.leave_account(_engine(args), _who(args), _read_password(args))
    _say(f"You left the account: {result.contacts_moved} contacts and {result.todos_moved} to-dos "
         f"moved to {result.owner_name}; {result.appointments_deleted} appointments deleted.")
    return EXIT_OK


def cmd_messages_show(args) -> int:
    from crm_tui.services import billing, messages

    st = messages.settings(_engine(args), _who(args))
    _say(f"status {st.status}  number {st.phone_number or '-'}  fee {billing.money(st.monthly_fee_cents)}/month  "
          f"sent {st.sent}  received {st.received}")
    return EXIT_OK


def cmd_messages_cancel(args) -> int:
    from crm_tui.services import billing, messages

    result = messages.cancel(_engine(args), _who(args), _read_password(args))
    print(f"Messages cancelled: {result.messages_deleted} text messages deleted, "
          f"{billing.money(result.fee_removed_cents)}/month removed from billing.")
    print(result.twilio_note)
    return EXIT_OK


def cmd_billing_show(args) -> int:
    from crm_tui.services import billing

    b = billing.summary(_engine(args), _who(args))
    m = billing.money
    _say(f"{b.account_name}: {b.plan_name} plan {m(b.plan_price_cents)}/month")
    print(f"  seats: {b.seats} x {m(b.seat_price_cents)}   Messages: "
          f"{m(b.messages_fee_cents) if b.messages_active else 'not active'}")
    _say(f"  monthly total {m(b.monthly_total_cents)}, next billing {b.next_billing:%d %b %Y}, card {b.card}")
    return EXIT_OK


def cmd_billing_plan(args) -> int:
    from crm_tui.services import billing

    name = billing.change_plan(_engine(args), _who(args), args.plan)
    print(f"The account is now on the {name} plan.")
    return EXIT_OK


def cmd_admin_closed(args) -> int:
    from crm_tui.services import closing

    rows = closing.list_closed(_engine(args))
    if args.json:
        _print_json([r.as_json() for r in rows])
        return EXIT_OK
    if not rows:
        print("No closed accounts.")
    for r in rows:
        total = sum(r.counts.values())
        print(f"account {r.account_id:>5}  closed {r.closed_at:%Y-%m-%d %H:%M}  restore until "
              f"{r.restore_until:%Y-%m-%d}  {r.state:9} {'restorable' if r.restorable else '-':10} {total:,} rows")
    return EXIT_OK


def cmd_admin_restore(args) -> int:
    from crm_tui.services import closing

    result = closing.restore(_engine(args), args.email)
    total = sum(result.counts.values())
    _say(f"Restored {result.account_name} (account {result.account_id}): {total:,} rows, "
         f"{result.counts.get('team_members', 0)} team members. They can sign in again.")
    return EXIT_OK


def cmd_admin_purge(args) -> int:
    from crm_tui.services import closing

    report = closing.purge(_engine(args))
    print(f"Purged {report.purged} closed account(s) past their restore window; "
          f"{report.files_removed} backup file(s) destroyed.")
    for warning in report.warnings:  # the purge stands (its keys are gone): exit 0
        print(f"crm-tui: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_admin_survey(args) -> int:
    from crm_tui.services import survey

    rows = survey.summary(_engine(args))
    if args.json:
        _print_json([r.__dict__ for r in rows])
        return EXIT_OK
    if not rows:
        print("No survey responses.")
    for r in rows:
        print(f"{r.responses:>6}  {r.reason}  ({r.with_comment} with a comment)")
    return EXIT_OK


def cmd_admin_audit(args) -> int:
    from crm_tui import db
    from crm_tui.services import audit

    with db.read_session(_engine(args)) as s:
        report = audit.verify(s)
    if not report.ok:
        raise Refused(f"the audit chain is broken at event {report.first_bad_id}")
    print(f"Audit chain verified: {report.events} events.")
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", metavar="URL", default=argparse.SUPPRESS,
                        help="any SQLAlchemy URL (default: CRM_TUI_DATABASE_URL, else the embedded SQLite file)")

    p = _Parser(prog="crm-tui", description="A keyboard-first terminal CRM.", parents=[common])
    p.add_argument("--version", action="version", version=f"crm-tui {__version__}")
    p.set_defaults(func=cmd_app)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(parent, name: str, func: Callable, help: str):
        sp = parent.add_parser(name, help=help, description=help, parents=[common])
        sp.set_defaults(func=func)
        return sp

    def needs_email(sp, help="the acting user's email"):
        sp.add_argument("--email", required=True, metavar="E", help=help)

    def needs_password(sp):
        sp.add_argument("--password-stdin", action="store_true",
                        help="required: read the password from standard input (asked without echo at a terminal)")

    add(sub, "paths", cmd_paths, "show where crm-tui keeps its files")
    sp = add(sub, "demo", cmd_demo, "create the demo accounts and print their users")
    sp.add_argument("--reset", action="store_true", help="delete existing demo accounts first")
    sp.add_argument("--contacts", type=int, default=250, metavar="N", help="contacts in Acme Realty (default 250)")
    sp.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")

    acc = sub.add_parser("account", help="the account of the user named by --email").add_subparsers(
        dest="account_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(acc, "impact", cmd_account_impact, "what closing the account would delete")
    needs_email(sp)
    sp.add_argument("--json", action="store_true")
    sp = add(acc, "close", cmd_account_close, "close the account and permanently delete its data")
    needs_email(sp, "the owner's email")
    sp.add_argument("--confirm", required=True, metavar="NAME", help="the account name, typed exactly")
    needs_password(sp)
    sp.add_argument("--reason", help="optional survey: why you are leaving")
    sp.add_argument("--comment", help="optional survey comment")
    sp = add(acc, "export", cmd_account_export, "download all the account's data as one archive")
    needs_email(sp)
    needs_password(sp)
    sp.add_argument("--out", metavar="DIR", help="folder to write to (default: your downloads folder)")

    ct = sub.add_parser("contacts", help="contacts").add_subparsers(
        dest="contacts_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(ct, "export", cmd_contacts_export,
             "export chosen contacts (or all) as CSV, vCard, Google Contacts CSV or Outlook CSV")
    needs_email(sp)
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("--ids", metavar="1,2,3", help="the contacts' ids, separated by commas")
    which.add_argument("--all", action="store_true", help="every contact of the account")
    sp.add_argument("--format", required=True, choices=["csv", "vcf", "google", "outlook"],
                    help="csv: every field (crm-tui's own CSV); vcf: vCard 3.0; google: a Google Contacts "
                         "CSV; outlook: an Outlook CSV")
    sp.add_argument("--out", metavar="DIR", help="folder to write to (default: your downloads folder)")

    tm = sub.add_parser("team", help="team members").add_subparsers(
        dest="team_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(tm, "list", cmd_team_list, "list the team")
    needs_email(sp)
    sp = add(tm, "add", cmd_team_add, "add a team member")
    needs_email(sp)
    sp.add_argument("--member", required=True, metavar="EMAIL", help="the new member's email")
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", required=True, choices=["administrator", "team-player"])
    sp = add(tm, "remove", cmd_team_remove,
             "remove a member: their contacts and to-dos move to the owner, their appointments are deleted")
    needs_email(sp)
    sp.add_argument("--member", required=True, metavar="EMAIL")
    sp = add(tm, "transfer", cmd_team_transfer, "make another member the owner")
    needs_email(sp, "the owner's email")
    sp.add_argument("--to", required=True, metavar="EMAIL")
    needs_password(sp)
    sp = add(tm, "leave", cmd_team_leave, "end your own access to the account")
    needs_email(sp)
    needs_password(sp)

    ms = sub.add_parser("messages", help="the Messages (SMS) add-on").add_subparsers(
        dest="messages_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(ms, "show", cmd_messages_show, "Messages settings")
    needs_email(sp)
    sp = add(ms, "cancel", cmd_messages_cancel, "permanently cancel Messages and delete the text history")
    needs_email(sp)
    needs_password(sp)

    bl = sub.add_parser("billing", help="Billing & Plan").add_subparsers(
        dest="billing_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(bl, "show", cmd_billing_show, "plan, seats, add-ons and the monthly total")
    needs_email(sp)
    sp = add(bl, "plan", cmd_billing_plan, "change the plan")
    needs_email(sp)
    sp.add_argument("--plan", required=True, metavar="CODE")

    ad = sub.add_parser("admin", help="support tasks").add_subparsers(
        dest="admin_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = add(ad, "closed", cmd_admin_closed, "list closed accounts and their restore windows")
    sp.add_argument("--json", action="store_true")
    sp = add(ad, "restore", cmd_admin_restore, "restore a closed account within its 3-month window")
    sp.add_argument("--email", required=True, metavar="E", help="the owner's email")
    add(ad, "purge", cmd_admin_purge, "destroy backups whose restore window has passed")
    sp = add(ad, "survey", cmd_admin_survey, "leaving-survey answers by reason")
    sp.add_argument("--json", action="store_true")
    add(ad, "audit", cmd_admin_audit, "verify the audit log's hash chain")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "database_url"):
        args.database_url = None
    try:
        return args.func(args)
    except BaseException as exc:
        return outcome_of(exc)


def outcome_of(exc: BaseException) -> int:
    """The exit code for an exception a command let out: every refusal is one line on
    stderr, never a traceback; anything else is raised again."""
    if isinstance(exc, KeyboardInterrupt):
        print("crm-tui: interrupted", file=sys.stderr)
        return 130
    message = _refusal(exc) if isinstance(exc, Exception) else None
    if message is None or os.environ.get("CRM_TUI_DEBUG"):
        raise exc
    from crm_tui.text import clean

    print(f"crm-tui: {clean(message)}", file=sys.stderr)  # it may quote what was typed
    return EXIT_REFUSED


def _refusal(exc: Exception) -> str | None:
    from crm_tui.db import DatabaseError
    from crm_tui.services.errors import DomainError

    if isinstance(exc, (Refused, DomainError, DatabaseError)):
        return str(exc)
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover
        SQLAlchemyError = ()  # type: ignore[assignment]
    if isinstance(exc, SQLAlchemyError):
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"database error: {text[0] if text else type(exc).__name__}"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
