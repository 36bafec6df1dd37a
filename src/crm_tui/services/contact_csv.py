"""Contacts as the CSV files Google Contacts and Outlook import.

Both read a CSV by its header row: these write each format's full header, as the service
itself exports it, and fill the columns a contact has. They are import files, written the way
those services write their own exports: no formula apostrophes (the lossless CSV and the
archive have those), UTF-8, and for Outlook a byte-order mark.

Phones follow the contact's "can receive texts" flags: a phone that can is a mobile, the
others are home, then other numbers. Categories become Google labels ("Group Membership",
separated by `` ::: ``) and Outlook categories (separated by ``;``). Birthdays are ISO dates
(``1980-04-01``), which both read whatever the importing computer's locale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

# Google Contacts' "Google CSV" (Export → Google CSV, and what Google Contacts → Import reads;
# Google Contacts Help, "Create or edit a CSV file": support.google.com/contacts/answer/1069522):
# its fixed columns, then numbered groups of columns, as many of each as the data needs.
GOOGLE_FIXED = (
    "Name",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Yomi Name",
    "Given Name Yomi",
    "Additional Name Yomi",
    "Family Name Yomi",
    "Name Prefix",
    "Name Suffix",
    "Initials",
    "Nickname",
    "Short Name",
    "Maiden Name",
    "Birthday",
    "Gender",
    "Location",
    "Billing Information",
    "Directory Server",
    "Mileage",
    "Occupation",
    "Hobby",
    "Sensitivity",
    "Priority",
    "Subject",
    "Notes",
    "Language",
    "Photo",
    "Group Membership",
)
GOOGLE_EMAIL = ("E-mail {n} - Type", "E-mail {n} - Value")
GOOGLE_PHONE = ("Phone {n} - Type", "Phone {n} - Value")
GOOGLE_ADDRESS = (
    "Address {n} - Type",
    "Address {n} - Formatted",
    "Address {n} - Street",
    "Address {n} - City",
    "Address {n} - PO Box",
    "Address {n} - Region",
    "Address {n} - Postal Code",
    "Address {n} - Country",
    "Address {n} - Extended Address",
)
GOOGLE_ORGANIZATION = (
    "Organization {n} - Type",
    "Organization {n} - Name",
    "Organization {n} - Yomi Name",
    "Organization {n} - Title",
    "Organization {n} - Department",
    "Organization {n} - Symbol",
    "Organization {n} - Location",
    "Organization {n} - Job Description",
)


def _numbered(group: tuple[str, ...], count: int) -> tuple[str, ...]:
    return tuple(name.format(n=n) for n in range(1, count + 1) for name in group)


# a contact has up to 2 emails, 4 phones, 1 address, 1 company
GOOGLE_HEADER = (
    GOOGLE_FIXED
    + _numbered(GOOGLE_EMAIL, 2)
    + _numbered(GOOGLE_PHONE, 4)
    + _numbered(GOOGLE_ADDRESS, 1)
    + _numbered(GOOGLE_ORGANIZATION, 1)
)

# Outlook's contacts CSV, as Outlook.com exports it (People → Manage contacts → Export
# contacts) and as the sample file of Microsoft Support's "Import contacts to Outlook.com"
# lays it out; Outlook for Windows and the new Outlook import it by these names. It has no
# column for categories: "Categories", Outlook's own name for that column (Microsoft Support,
# "Create or edit .csv files to import into Outlook", whose template has it), is added last.
OUTLOOK_COM_HEADER = (
    "First Name",
    "Middle Name",
    "Last Name",
    "Title",
    "Suffix",
    "Nickname",
    "Given Yomi",
    "Surname Yomi",
    "E-mail Address",
    "E-mail 2 Address",
    "E-mail 3 Address",
    "Home Phone",
    "Home Phone 2",
    "Business Phone",
    "Business Phone 2",
    "Mobile Phone",
    "Car Phone",
    "Other Phone",
    "Primary Phone",
    "Pager",
    "Business Fax",
    "Home Fax",
    "Other Fax",
    "Company Main Phone",
    "Callback",
    "Radio Phone",
    "Telex",
    "TTY/TDD Phone",
    "IMAddress",
    "Job Title",
    "Department",
    "Company",
    "Office Location",
    "Manager's Name",
    "Assistant's Name",
    "Assistant's Phone",
    "Company Yomi",
    "Business Street",
    "Business City",
    "Business State",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Other Street",
    "Other City",
    "Other State",
    "Other Postal Code",
    "Other Country/Region",
    "Personal Web Page",
    "Spouse",
    "Schools",
    "Hobby",
    "Location",
    "Web Page",
    "Birthday",
    "Anniversary",
    "Notes",
)
OUTLOOK_HEADER = OUTLOOK_COM_HEADER + ("Categories",)

# the contact columns the rows are made from, in order
COLUMNS = (
    "first_name",
    "last_name",
    "company",
    "email",
    "email2",
    "phone1",
    "phone1_text_ok",
    "phone2",
    "phone2_text_ok",
    "phone3",
    "phone3_text_ok",
    "phone4",
    "phone4_text_ok",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "birthday",
    "category1",
    "category2",
    "notes",
)

_OUTLOOK_MOBILE = ("Mobile Phone",)
_OUTLOOK_VOICE = ("Home Phone", "Other Phone")
# where a phone goes when its kind's columns are taken: four columns for at most four phones
_OUTLOOK_SPARE = ("Other Phone", "Home Phone 2", "Home Phone", "Mobile Phone")


def _iso(day) -> str:
    if not day:
        return ""
    return day if isinstance(day, str) else date.isoformat(day)


def _index(header: tuple[str, ...]) -> Callable[[str], int]:
    where = {name: k for k, name in enumerate(header)}
    return where.__getitem__


_G = _index(GOOGLE_HEADER)
_G_NAME, _G_GIVEN, _G_FAMILY, _G_BIRTHDAY, _G_NOTES, _G_GROUPS = (
    _G("Name"),
    _G("Given Name"),
    _G("Family Name"),
    _G("Birthday"),
    _G("Notes"),
    _G("Group Membership"),
)
_G_EMAILS = [(_G(f"E-mail {n} - Type"), _G(f"E-mail {n} - Value")) for n in (1, 2)]
_G_PHONES = [(_G(f"Phone {n} - Type"), _G(f"Phone {n} - Value")) for n in (1, 2, 3, 4)]
_G_ADDRESS = [_G(f"Address 1 - {part}") for part in ("Type", "Street", "City", "Region", "Postal Code", "Country")]
_G_COMPANY = _G("Organization 1 - Name")


def google_rows(rows: Iterable[tuple]) -> list[list[str]]:
    """Google CSV rows of contacts (tuples in :data:`COLUMNS` order)."""
    width = len(GOOGLE_HEADER)
    out = []
    for (
        first,
        last,
        company,
        email,
        email2,
        p1,
        t1,
        p2,
        t2,
        p3,
        t3,
        p4,
        t4,
        street,
        city,
        state,
        postal_code,
        country,
        birthday,
        category1,
        category2,
        notes,
    ) in rows:
        row = [""] * width
        row[_G_NAME] = f"{first} {last}" if first and last else first or last
        row[_G_GIVEN], row[_G_FAMILY] = first, last
        row[_G_BIRTHDAY] = _iso(birthday)
        row[_G_NOTES] = notes
        row[_G_GROUPS] = " ::: ".join([c for c in (category1, category2) if c])
        for (kind, value), address in zip(_G_EMAILS, [e for e in (email, email2) if e], strict=False):
            row[kind], row[value] = "Other", address
        voice = 0
        for (kind, value), (number, texts) in zip(
            _G_PHONES, [(n, t) for n, t in ((p1, t1), (p2, t2), (p3, t3), (p4, t4)) if n], strict=False
        ):
            if texts:
                row[kind] = "Mobile"
            else:
                row[kind] = "Home" if voice == 0 else "Other"
                voice += 1
            row[value] = number
        if street or city or state or postal_code or country:
            for k, v in zip(_G_ADDRESS, ("Home", street, city, state, postal_code, country), strict=False):
                row[k] = v
        row[_G_COMPANY] = company
        out.append(row)
    return out


_O = _index(OUTLOOK_HEADER)
_O_FIRST, _O_LAST, _O_COMPANY, _O_BIRTHDAY, _O_NOTES, _O_CATEGORIES = (
    _O("First Name"),
    _O("Last Name"),
    _O("Company"),
    _O("Birthday"),
    _O("Notes"),
    _O("Categories"),
)
_O_EMAILS = (_O("E-mail Address"), _O("E-mail 2 Address"))
_O_ADDRESS = tuple(_O(f"Home {part}") for part in ("Street", "City", "State", "Postal Code", "Country/Region"))


def outlook_phones(phones: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Outlook's phone columns for (number, can receive texts) pairs: a phone that can is the
    Mobile Phone, the others the Home Phone, then the Other Phone; a phone whose columns are
    taken goes to the first free of Other Phone, Home Phone 2, Home Phone, Mobile Phone."""
    placed: dict[str, str] = {}
    left = []
    for number, texts in phones:
        if not number:
            continue
        slot = next((s for s in (_OUTLOOK_MOBILE if texts else _OUTLOOK_VOICE) if s not in placed), None)
        if slot is None:
            left.append(number)
        else:
            placed[slot] = number
    for number in left:
        placed[next(s for s in _OUTLOOK_SPARE if s not in placed)] = number
    return placed


def outlook_rows(rows: Iterable[tuple]) -> list[list[str]]:
    """Outlook CSV rows of contacts (tuples in :data:`COLUMNS` order)."""
    width = len(OUTLOOK_HEADER)
    out = []
    for (
        first,
        last,
        company,
        email,
        email2,
        p1,
        t1,
        p2,
        t2,
        p3,
        t3,
        p4,
        t4,
        street,
        city,
        state,
        postal_code,
        country,
        birthday,
        category1,
        category2,
        notes,
    ) in rows:
        row = [""] * width
        row[_O_FIRST], row[_O_LAST], row[_O_COMPANY] = first, last, company
        for k, address in zip(_O_EMAILS, [e for e in (email, email2) if e], strict=False):
            row[k] = address
        for name, number in outlook_phones(((p1, t1), (p2, t2), (p3, t3), (p4, t4))).items():
            row[_O(name)] = number
        for k, v in zip(_O_ADDRESS, (street, city, state, postal_code, country), strict=False):
            row[k] = v
        row[_O_BIRTHDAY] = _iso(birthday)
        row[_O_NOTES] = notes
        row[_O_CATEGORIES] = ";".join([c for c in (category1, category2) if c])
        out.append(row)
    return out
