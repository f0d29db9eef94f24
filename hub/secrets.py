"""Encryption of secrets at rest (templates, face encodings, comm keys).

The key comes from settings.secret_key (HUB_SECRET_KEY) or, on the embedded default,
from var/secret.key, created on first use with owner-only permissions.
"""

from __future__ import annotations

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


def fernet() -> Fernet:
    settings = get_settings()
    key = settings.secret_key.encode() if settings.secret_key else None
    if key is None:
        path = _key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        key = path.read_bytes().strip()
    try:
        return _fernet_for(key)
    except ValueError as exc:  # malformed key
        raise SecretError(
            "Kunci enkripsi (HUB_SECRET_KEY / var/secret.key) tidak valid: harus 32 byte "
            "base64 urlsafe. Buat yang baru dengan `hub secret new`."
        ) from exc


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
