"""The account archive: one zip format for "download my data", backups and restore.

This package writes and reads the *data members* — lossless, and the only members restore
reads. Rows stream from a database cursor into the zip; nothing holds a whole table in memory.

    manifest.json          format version, kind, account, counts, sha256 of every member
    contacts.csv  appointments.csv  todos.csv  history.csv  messages.csv  invoices.csv
    email_templates.json   autoresponders.json   team.json   ssh_keys.json

CSV is RFC 4180 (``\\r\\n`` line ends, minimal quoting), UTF-8, with a header row. Text columns
are never NULL in the database, so an empty CSV field is ``NULL`` only for non-text columns.
Every CSV member starts with a UTF-8 byte-order mark (:data:`BOM`), so spreadsheet programs
(Excel, LibreOffice) read it as UTF-8: ``Zoë``, not ``ZoÃ«``. The manifest's sha256 and size
cover the bytes as written, the mark included; reading skips it, and reads archives written
before it was added (without one) alike.

    format         the manifest, the members, the version; values as text and back
    writer         streams members into the zip (export, backup)
    reader         the manifest, members checked as read, whole-archive verification, rows
    restore        inserts an archive's rows under their original ids
    database       picks the database interface by dialect: portable (SQLAlchemy Core, any
                   database) or sqlite (the driver's stored values, multi-row INSERTs)
"""

from crm_tui.services.archive.database import DATABASES, PORTABLE, database_for
from crm_tui.services.archive.format import (
    BATCH,
    BOM,
    CSV_MEMBERS,
    DATA_MEMBERS,
    FORMAT,
    FORMAT_VERSION,
    FORMULA_START,
    JSON_MEMBERS,
    KIND_LABELS,
    KINDS,
    MANIFEST,
    MEMBER_KINDS,
    MEMBER_SKIP,
    Progress,
    ProgressCounter,
    base_manifest,
    cell_converter,
    columns,
    from_json,
    from_text,
    neutralise,
    python_type,
    table_of,
    to_json,
    to_text,
    unneutralise,
)
from crm_tui.services.archive.portable import PortableDatabase, Tap, stream
from crm_tui.services.archive.reader import (
    MemberReader,
    member_rows,
    open_zip,
    read_json,
    read_manifest,
    verify_archive,
)
from crm_tui.services.archive.restore import import_archive, insert_member
from crm_tui.services.archive.sqlite import SQLiteDatabase, raw_batches
from crm_tui.services.archive.writer import (
    ArchiveWriter,
    MemberSink,
    account_record,
    count_rows,
    write_backup_archive,
    write_data_members,
)

__all__ = [
    "ArchiveWriter",
    "BATCH",
    "BOM",
    "CSV_MEMBERS",
    "DATABASES",
    "DATA_MEMBERS",
    "FORMAT",
    "FORMAT_VERSION",
    "FORMULA_START",
    "JSON_MEMBERS",
    "KINDS",
    "KIND_LABELS",
    "MANIFEST",
    "MEMBER_KINDS",
    "MEMBER_SKIP",
    "MemberReader",
    "MemberSink",
    "PORTABLE",
    "PortableDatabase",
    "Progress",
    "ProgressCounter",
    "SQLiteDatabase",
    "Tap",
    "account_record",
    "base_manifest",
    "cell_converter",
    "columns",
    "count_rows",
    "database_for",
    "from_json",
    "from_text",
    "import_archive",
    "insert_member",
    "member_rows",
    "neutralise",
    "open_zip",
    "python_type",
    "raw_batches",
    "read_json",
    "read_manifest",
    "stream",
    "table_of",
    "to_json",
    "to_text",
    "unneutralise",
    "verify_archive",
    "write_backup_archive",
    "write_data_members",
]
