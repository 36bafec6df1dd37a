"""The archive writer: what reaches the zip, its checksum and its size are those of the text
written, however it was cut into writes, and a failing write reaches the caller as the error
it is."""

from __future__ import annotations

import errno
import hashlib
import io
import zipfile

import pytest


def test_members_of_many_blocks_arrive_whole_with_their_checksums():
    from crm_tui.services import archive

    buf = io.BytesIO()
    w = archive.ArchiveWriter(buf, "export")
    texts = {
        "big.txt": "".join(f"line {k} é ✓\r\n" for k in range(300_000)),  # many blocks
        "small.txt": "one line\n",
        "empty.txt": "",
    }
    for name, text in texts.items():
        with w.member(name) as sink:
            for at in range(0, len(text), 70_001):
                sink.write(text[at : at + 70_001])
    manifest = w.close({})
    zf = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    for name, text in texts.items():
        data = text.encode("utf-8")
        assert zf.read(name) == data
        assert manifest["members"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


class _FullDisk(io.RawIOBase):
    """A file that takes the first ``room`` bytes and then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b) -> int:
        if len(self.data) + len(b) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.data += b
        return len(b)


def test_a_failing_write_is_raised_to_the_caller():
    from crm_tui.services import archive

    w = archive.ArchiveWriter(_FullDisk(20_000), "export")
    with pytest.raises(OSError) as caught:
        with w.member("big.txt") as sink:
            for k in range(400_000):
                sink.write(f"row {k}, some text to fill the disk\r\n")
    assert caught.value.errno == errno.ENOSPC
    w.abort()
