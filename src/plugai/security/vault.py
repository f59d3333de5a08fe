"""Secrets encrypted at rest with AES-GCM under one master key.

Each ciphertext is bound to its owner and name through the associated data, so a value
copied onto another user's row, or renamed, fails to decrypt instead of leaking.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from plugai.core.errors import ConfigError, VaultError

_VERSION = b"\x01"
_NONCE = 12
KEY_FILE = "master.key"

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def decode_master_key(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    raise ValueError(
        "must be 32 random bytes as hex or base64 "
        "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
    )


def write_private_file(path: Path, text: str, *, replace: bool = False) -> None:
    """Write ``path`` readable by its owner only (0600) from the first byte on.

    Without ``replace`` an existing file raises FileExistsError (first writer wins).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    if replace:
        os.replace(target, path)


def load_master_key(env_value: str | None, data_dir: Path) -> bytes:
    """The key from the environment, else from ``data_dir/master.key`` (created on first use)."""
    if env_value:
        return decode_master_key(env_value)
    path = data_dir / KEY_FILE
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        write_private_file(path, base64.urlsafe_b64encode(key).decode() + "\n")
    except FileExistsError:  # another worker created it first
        return _read_key_file(path)
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        return decode_master_key(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: the master key file is damaged: {exc}") from exc


class SecretVault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._key = master_key
        self._cipher: AESGCM | None = None
        self._derive_root = hmac.new(master_key, b"plugai:derive:v1", hashlib.sha256).digest()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (e.g. signing URLs), stable for this master key:
        what it signs stays valid across restarts, and no purpose learns another's key."""
        return hmac.new(self._derive_root, purpose.encode(), hashlib.sha256).digest()

    def _aead(self) -> AESGCM:
        """Built on first use: cryptography's native library (about 6 MB) stays out of a
        server that has no stored secret to open."""
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(self._key)
        return self._cipher

    @staticmethod
    def _aad(owner: str, name: str) -> bytes:
        return f"plugai:v1\x00{owner}\x00{name}".encode()

    def encrypt(self, plaintext: str, *, owner: str, name: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead().encrypt(nonce, plaintext.encode("utf-8"), self._aad(owner, name))
        return _VERSION + nonce + sealed

    def decrypt(self, blob: bytes, *, owner: str, name: str) -> str:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise VaultError(f"Stored secret {name!r} is malformed.")
        from cryptography.exceptions import InvalidTag

        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            plain = self._aead().decrypt(nonce, sealed, self._aad(owner, name))
        except InvalidTag as exc:
            raise VaultError(
                f"Stored secret {name!r} cannot be decrypted: wrong master key or tampered data."
            ) from exc
        return plain.decode("utf-8")
