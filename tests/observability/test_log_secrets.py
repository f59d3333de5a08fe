"""No secret reaches the logs: API keys, the master key, provider keys, vault plaintexts."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from plugai.observability.redaction import MASK, Redactor
from tests.server import run_server

ADMIN_KEY = "sk-plugai-admin-secret-AAAA1111BBBB2222"
MASTER_KEY = "9f" * 32
PROVIDER_KEY = "sk-provider-secret-CCCC3333DDDD4444"
VAULT_SECRET = "hf_vaultSecretEEEE5555FFFF6666"


def test_secrets_never_appear_in_logs(tmp_path: Path) -> None:
    config = tmp_path / "plugai.yaml"
    config.write_text(
        "providers:\n  - {name: openai, type: openai, api_key: '${TEST_PROVIDER_KEY}'}\n"
    )
    env = {
        "PLUGAI_ADMIN_KEY": ADMIN_KEY,
        "PLUGAI_MASTER_KEY": MASTER_KEY,
        "TEST_PROVIDER_KEY": PROVIDER_KEY,
    }
    with run_server(
        tmp_path / "data", "--config", str(config), "--log-level", "debug", env=env
    ) as server:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=server.url) as c:
            created = c.post("/v1/admin/users", json={"name": "u1"}, headers=admin).json()
            user_key = created["api_key"]
            c.get("/v1/me", headers={"Authorization": f"Bearer {user_key}"})
            c.get("/v1/me", headers={"Authorization": f"Bearer {VAULT_SECRET}"})  # rejected key
            c.get("/v1/me", headers={"x-api-key": PROVIDER_KEY})
            c.post("/v1/admin/users", json={"name": 1, "api_key": VAULT_SECRET}, headers=admin)
            c.post("/v1/admin/users", content=VAULT_SECRET.encode(), headers=admin)
            c.get(f"/v1/admin/users/{VAULT_SECRET}", headers=admin)
            c.get("/nowhere", headers={"X-Request-ID": "trace-me"})
    logs = server.output()  # after the process has exited: every line is flushed
    assert '"request_id": "trace-me"' in logs  # the request log really was captured
    request_lines = [json.loads(ln) for ln in logs.splitlines() if ln.startswith("{")]
    assert sum(1 for ln in request_lines if ln.get("event") == "request") >= 8
    for secret in (ADMIN_KEY, MASTER_KEY, PROVIDER_KEY, VAULT_SECRET, user_key):
        assert secret not in logs


def test_redactor_masks_fields_known_values_and_key_shapes() -> None:
    redactor = Redactor([PROVIDER_KEY])
    event = redactor(
        None,
        "info",
        {
            "event": f"calling with {PROVIDER_KEY}",
            "api_key": "anything",
            "headers": {"Authorization": "Bearer x"},
            "note": "token sk-abcdefghijklmnop and hf_abcdefghijk",
            "count": 3,
            "prompt_tokens": 12,
            "hf_token": "abc",
        },
    )
    assert event["event"] == f"calling with {MASK}"
    assert event["api_key"] == MASK
    assert event["headers"]["Authorization"] == MASK
    assert "sk-abcdefghijklmnop" not in event["note"]
    assert "hf_abcdefghijk" not in event["note"]
    assert event["count"] == 3
    assert event["prompt_tokens"] == 12
    assert event["hf_token"] == MASK
