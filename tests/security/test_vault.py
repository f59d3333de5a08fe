"""AES-GCM vault: round trips, and refuses tampered data, wrong keys and moved secrets."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

import pytest

from plugai.core.errors import ConfigError, VaultError
from plugai.security.vault import SecretVault, decode_master_key, load_master_key


def test_round_trip_and_fresh_nonce() -> None:
    vault = SecretVault(secrets.token_bytes(32))
    a = vault.encrypt("sk-live-123", owner="usr_1", name="openai")
    b = vault.encrypt("sk-live-123", owner="usr_1", name="openai")
    assert a != b
    assert b"sk-live-123" not in a
    assert vault.decrypt(a, owner="usr_1", name="openai") == "sk-live-123"


def test_tampered_ciphertext_is_an_error() -> None:
    vault = SecretVault(secrets.token_bytes(32))
    blob = bytearray(vault.encrypt("hello", owner="u", name="n"))
    blob[-1] ^= 0x01
    with pytest.raises(VaultError, match="tampered"):
        vault.decrypt(bytes(blob), owner="u", name="n")
    with pytest.raises(VaultError, match="malformed"):
        vault.decrypt(b"\x01short", owner="u", name="n")


def test_wrong_master_key_is_an_error() -> None:
    blob = SecretVault(secrets.token_bytes(32)).encrypt("hello", owner="u", name="n")
    with pytest.raises(VaultError, match="wrong master key"):
        SecretVault(secrets.token_bytes(32)).decrypt(blob, owner="u", name="n")


def test_secret_is_bound_to_owner_and_name() -> None:
    vault = SecretVault(secrets.token_bytes(32))
    blob = vault.encrypt("hello", owner="alice", name="openai")
    with pytest.raises(VaultError):
        vault.decrypt(blob, owner="mallory", name="openai")
    with pytest.raises(VaultError):
        vault.decrypt(blob, owner="alice", name="anthropic")


def test_master_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    key = load_master_key(None, tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "master.key").st_mode)
    assert mode == 0o600
    assert load_master_key(None, tmp_path) == key


def test_master_key_from_env_hex_or_base64(tmp_path: Path) -> None:
    raw = secrets.token_bytes(32)
    assert load_master_key(raw.hex(), tmp_path) == raw
    assert load_master_key(base64.urlsafe_b64encode(raw).decode(), tmp_path) == raw
    assert not (tmp_path / "master.key").exists()
    with pytest.raises(ValueError, match="32 random bytes"):
        decode_master_key("too-short")


def test_damaged_master_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_text("garbage")
    with pytest.raises(ConfigError, match="damaged"):
        load_master_key(None, tmp_path)
