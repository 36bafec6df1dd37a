"""Encryption at rest for backups: chunked AES-256-GCM, streaming both ways.

File layout::

    MAGIC (8) | version (1) | nonce prefix (7) | chunk*
    chunk = length (4, big-endian) | ciphertext + tag

Chunk ``i`` is sealed with nonce ``prefix | i (4 bytes) | last-flag (1 byte)`` and the
header as associated data, so a reordered, dropped, truncated or altered chunk fails its tag.
The key is never written to the file: it lives in the ``backup_key`` table only.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_tui.services.errors import ArchiveError

MAGIC = b"CRMTUIBK"
VERSION = 1
CHUNK = 1 << 20
_HEADER_LEN = len(MAGIC) + 1 + 7


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only, non-seekable file object that seals what it is given."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self._out = out
        self._aead = AESGCM(key)
        self._prefix = os.urandom(7)
        self._header = MAGIC + bytes([VERSION]) + self._prefix
        out.write(self._header)
        self._buf = bytearray()
        self._index = 0
        self._written = 0
        self.closed = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._written

    def write(self, data) -> int:
        self._buf += data
        self._written += len(data)
        while len(self._buf) > CHUNK:
            self._seal(bytes(self._buf[:CHUNK]), last=False)
            del self._buf[:CHUNK]
        return len(data)

    def flush(self) -> None:
        pass

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._header)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buf), last=True)
            self._buf.clear()
            self.closed = True


def decrypt_stream(src: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk; raise ArchiveError on any damage."""
    header = src.read(_HEADER_LEN)
    if len(header) < _HEADER_LEN or not header.startswith(MAGIC):
        raise ArchiveError("the backup file is not a crm-tui backup or is truncated")
    if header[len(MAGIC)] != VERSION:
        raise ArchiveError(f"the backup file has an unknown format version {header[len(MAGIC)]}")
    prefix = header[len(MAGIC) + 1 :]
    aead = AESGCM(key)
    index = 0
    while True:
        raw_len = src.read(4)
        if len(raw_len) < 4:
            raise ArchiveError("the backup file is truncated")
        (length,) = struct.unpack(">I", raw_len)
        if length > CHUNK + 16:
            raise ArchiveError("the backup file is damaged")
        sealed = src.read(length)
        if len(sealed) < length:
            raise ArchiveError("the backup file is truncated")
        plain = None
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, index, last), sealed, header)
                break
            except InvalidTag:
                continue
        if plain is None:
            raise ArchiveError("the backup file has been altered or the key does not match")
        yield plain
        index += 1
        if last:
            if src.read(1):
                raise ArchiveError("the backup file has data after its end")
            return
