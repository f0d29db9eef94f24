"""Encryption of secrets at rest (templates, face encodings, comm keys).

The key comes from settings.secret_key (HUB_SECRET_KEY) or, on the embedded default,
from var/secret.key, created on first use with owner-only permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hub.config import get_settings


class SecretError(RuntimeError):
    pass


def _key_file() -> Path:
    return get_settings().var_path / "secret.key"


@lru_cache(maxsize=4)
def _fernet_for(key: bytes) -> Fernet:
    return Fernet(key)


def _key() -> bytes:
    settings = get_settings()
    key = settings.secret_key.encode() if settings.secret_key else None
    if key is None:
        path = _key_file()
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        key = path.read_bytes().strip()
    return key


def fernet() -> Fernet:
    key = _key()
    try:
        return _fernet_for(key)
    except ValueError as exc:  # malformed key
        raise SecretError(
            "Kunci enkripsi (HUB_SECRET_KEY / var/secret.key) tidak valid: harus 32 byte "
            "base64 urlsafe. Buat yang baru dengan `hub secret new`."
        ) from exc


def fingerprint(data: bytes) -> str:
    """A keyed digest: equal inputs give equal digests (a resent line is recognised) while
    the digest tells nothing about a card number or PIN it was made from."""
    key = hashlib.sha256(b"hub-fingerprint\x00" + _key()).digest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def encrypt(data: bytes) -> bytes:
    return fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    try:
        return fernet().decrypt(token)
    except InvalidToken as exc:
        raise SecretError(
            "Data terenkripsi tidak dapat dibuka dengan kunci saat ini "
            "(kunci berbeda dengan yang dipakai saat menyimpan?)"
        ) from exc


# --- single values inside JSON (command payloads, pushed user records) ----------------------
SEALED = "enc:"


def seal(value: str) -> str:
    """A text kept encrypted inside a JSON document."""
    return SEALED + encrypt(value.encode()).decode()


def unseal(value: object) -> object:
    if isinstance(value, str) and value.startswith(SEALED):
        return decrypt(value[len(SEALED):].encode()).decode()
    return value


def seal_tree(doc: object, keys: frozenset[str]) -> object:
    """A copy of a JSON document whose non-empty texts under `keys` are sealed."""
    if isinstance(doc, dict):
        return {k: (seal(v) if k in keys and isinstance(v, str) and v and not v.startswith(SEALED)
                    else seal_tree(v, keys)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [seal_tree(v, keys) for v in doc]
    return doc


def unseal_tree(doc: object) -> object:
    if isinstance(doc, dict):
        return {k: unseal_tree(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [unseal_tree(v) for v in doc]
    return unseal(doc)


def blank_sealed(doc: object, mark: str = "[dihapus setelah dikonfirmasi]") -> object:
    """A copy with every sealed text replaced by `mark` (the secret is gone, not just hidden)."""
    if isinstance(doc, dict):
        return {k: blank_sealed(v, mark) for k, v in doc.items()}
    if isinstance(doc, list):
        return [blank_sealed(v, mark) for v in doc]
    return mark if isinstance(doc, str) and doc.startswith(SEALED) else doc
