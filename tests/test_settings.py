"""Configuration: YAML + env, expansion, precedence and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugai.core.errors import ConfigError
from plugai.settings import load_settings, parse_duration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plugai.yaml"
    path.write_text(text)
    return path


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGAI_CONFIG", raising=False)
    s = load_settings()
    assert s.server.host == "127.0.0.1"
    assert s.server.port == 8080
    assert s.data_dir == Path("data")
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert s.resolved_database_url.endswith("data/plugai.db")


def test_yaml_with_env_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_KEY", "sk-from-env")
    path = write(
        tmp_path,
        """
server: {port: 9000, cors_origins: ["https://app.example"], max_body_size: 2MB}
providers:
  - {name: openai, type: openai, api_key: "${OPENAI_KEY}"}
  - {name: local-ollama, type: ollama, base_url: "${OLLAMA_URL:-http://127.0.0.1:11434}"}
models:
  - {id: fast, route: [openai/gpt-4o-mini, local-ollama/llama3], aliases: [quick]}
local: {keep_alive: 5m, max_loaded: 3}
storage: {limit: 50GB, artifact_ttl: 7d}
""",
    )
    s = load_settings(path)
    assert s.server.port == 9000
    assert int(s.server.max_body_size) == 2_000_000
    assert s.providers[0].api_key is not None
    assert s.providers[0].api_key.get_secret_value() == "sk-from-env"
    assert s.providers[1].base_url == "http://127.0.0.1:11434"
    assert s.models[0].route == ["openai/gpt-4o-mini", "local-ollama/llama3"]
    assert s.local.keep_alive == 300
    assert s.storage.limit == 50_000_000_000
    assert s.storage.artifact_ttl == 7 * 86400
    assert s.config == path


def test_precedence_overrides_then_env_then_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "server: {port: 9000, host: 0.0.0.0}\ndata_dir: /from/yaml\n")
    monkeypatch.setenv("PLUGAI_SERVER__PORT", "9100")
    monkeypatch.setenv("PLUGAI_DATA_DIR", "/from/env")
    s = load_settings(path)
    assert (s.server.port, s.server.host, s.data_dir) == (9100, "0.0.0.0", Path("/from/env"))
    s = load_settings(path, server={"port": 9200})
    assert (s.server.port, s.server.host) == (9200, "0.0.0.0")


def test_config_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGAI_CONFIG", str(write(tmp_path, "log: {level: debug}\n")))
    assert load_settings().log.level == "debug"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: {port: 99999}", "plugai.yaml: server.port: Input should be less than or equal"),
        ("servr: {port: 1}", "plugai.yaml: servr: unknown setting"),
        ("server: [1, 2", "plugai.yaml: line 1, column"),
        ("- just\n- a list", "plugai.yaml: the top level must be a mapping"),
        ("local: {keep_alive: soon}", "plugai.yaml: local.keep_alive: not a duration"),
        ("providers: [{name: x, type: openai, api_key: '${NOPE_UNSET}'}]", "NOPE_UNSET is not set"),
        ("models: [{id: m}]", "plugai.yaml: models.0: a model needs `provider`"),
        (
            "providers: [{name: a, type: openai}, {name: a, type: anthropic}]",
            "provider names must be unique; repeated: a",
        ),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = info.value.message
    assert "\n" not in message
    assert expected in message


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGAI_MASTER_KEY", "short")
    with pytest.raises(ConfigError, match="PLUGAI_MASTER_KEY: must be 32 random bytes"):
        load_settings()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("7d", 604800), (12, 12.0)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds
