"""The encrypted backup file: a plaintext header, then the manifest and the database dump sealed
with AES-256-GCM in chunks of 1 MiB, streamed (a backup never sits in memory whole).

    SEVABAK1 | header length (4 bytes) | header (JSON: format, cipher, kdf, key, salt, nonce prefix)
    then per chunk: last? (1 byte) | length (4 bytes) | AES-GCM(chunk)

The key is derived (HKDF-SHA256, a random salt per file) from ``SEVA_BACKUP_KEY``, or from the
instance secret when that is not set. Each chunk's nonce is the file's random prefix and the
chunk's number, and its associated data the header, the number and whether it is the last: a
chunk moved, dropped, swapped from another file or cut off at the end fails to decrypt. The
plaintext is the manifest (8-byte length, JSON) followed by the dump."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from seva_crm.core.common.settings import Settings

MAGIC = b"SEVABAK1"
CHUNK_BYTES = 1 << 20
INFO = b"seva-crm backup v1"


class BackupError(Exception):
    """A backup that cannot be made, read, verified or restored; the message says why."""


def backup_key(settings: Settings) -> tuple[str, bytes]:
    """(which variable the key comes from, the key material)."""
    if settings.backup_key.get_secret_value():
        return "SEVA_BACKUP_KEY", settings.backup_key.get_secret_value().encode()
    return "SEVA_SECRET_KEY", settings.secret.encode()


def _cipher(material: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), 32, salt, INFO).derive(material))


def _aad(header: bytes, number: int, last: bool) -> bytes:
    return header + number.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _plaintext(manifest: dict, payload: Path) -> Iterator[bytes]:
    encoded = json.dumps(manifest, sort_keys=True).encode()
    yield len(encoded).to_bytes(8, "big") + encoded
    with payload.open("rb") as source:
        while block := source.read(CHUNK_BYTES):
            yield block


def _chunks(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Re-cut into CHUNK_BYTES pieces, each with whether it is the last."""
    pending = b""
    for block in blocks:
        pending += block
        while len(pending) > CHUNK_BYTES:
            yield pending[:CHUNK_BYTES], False
            pending = pending[CHUNK_BYTES:]
    yield pending, True


def write_backup(dest: Path, manifest: dict, payload: Path, settings: Settings) -> None:
    """Seal ``manifest`` and the dump in ``payload`` into ``dest`` (created 0600, written whole
    under a temporary name, then renamed)."""
    key_source, material = backup_key(settings)
    salt, prefix = os.urandom(16), os.urandom(4)
    header = json.dumps({"format": 1, "cipher": "AES-256-GCM", "kdf": "HKDF-SHA256", "key": key_source,
                         "salt": base64.b64encode(salt).decode(), "nonce_prefix": base64.b64encode(prefix).decode(),
                         "chunk_bytes": CHUNK_BYTES}, sort_keys=True).encode()
    cipher = _cipher(material, salt)
    partial = dest.with_name(dest.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + len(header).to_bytes(4, "big") + header)
            for number, (chunk, last) in enumerate(_chunks(_plaintext(manifest, payload))):
                sealed = cipher.encrypt(prefix + number.to_bytes(8, "big"), chunk, _aad(header, number, last))
                out.write((b"\x01" if last else b"\x00") + len(sealed).to_bytes(4, "big") + sealed)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def _read_exact(source: BinaryIO, size: int, what: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupError(f"the file is cut short ({what})")
    return data


def _decrypted(source: BinaryIO, settings: Settings) -> Iterator[bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a Seva CRM backup file")
    header = _read_exact(source, int.from_bytes(_read_exact(source, 4, "header"), "big"), "header")
    try:
        meta = json.loads(header)
        salt, prefix = base64.b64decode(meta["salt"]), base64.b64decode(meta["nonce_prefix"])
    except (ValueError, KeyError, TypeError):
        raise BackupError("the backup's header is damaged") from None
    if meta.get("format") != 1:
        raise BackupError(f"backup format {meta.get('format')!r} is not one this version reads")
    key_source, material = backup_key(settings)
    cipher = _cipher(material, salt)
    number, last = 0, False
    while not last:
        flag = source.read(1)
        if not flag:
            raise BackupError("the file is cut short (its last part is missing)")
        last = flag == b"\x01"
        sealed = _read_exact(source, int.from_bytes(_read_exact(source, 4, "chunk"), "big"), "chunk")
        try:
            yield cipher.decrypt(prefix + number.to_bytes(8, "big"), sealed, _aad(header, number, last))
        except InvalidTag:
            if number == 0:
                raise BackupError(f"cannot decrypt: the backup was sealed with a key from {meta.get('key')}, and "
                                  f"{key_source} here is not that key (or the file is damaged)") from None
            raise BackupError(f"the file is damaged (part {number} does not decrypt)") from None
        number += 1
    if source.read(1):
        raise BackupError("the file is damaged (data after its last part)")


def read_backup(path: Path, payload: Path, settings: Settings) -> dict:
    """Decrypt ``path``: write the dump to ``payload`` and return the manifest. Raises
    BackupError if the key is wrong or any part of the file was altered."""
    try:
        source = path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    with source, payload.open("wb") as out:
        buffered = b""
        manifest = None
        for block in _decrypted(source, settings):
            if manifest is None:
                buffered += block
                if len(buffered) < 8 or len(buffered) < 8 + int.from_bytes(buffered[:8], "big"):
                    continue
                size = int.from_bytes(buffered[:8], "big")
                manifest = json.loads(buffered[8:8 + size])
                block = buffered[8 + size:]
            out.write(block)
    if manifest is None:
        raise BackupError("the backup holds no manifest")
    return manifest
