"""Configuration: ``PLUGAI_*`` environment variables over one YAML file, validated at start.

Precedence, highest first: explicit overrides (CLI flags), environment, YAML file, defaults.
Any problem becomes one :class:`ConfigError` naming the file (or variable), the key and what
is wrong; the CLI prints it as one line and exits with code 2.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from plugai.core.errors import ConfigError
from plugai.security.vault import decode_master_key

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: Any) -> Any:
    """``30s``, ``5m``, ``2h``, ``7d``, ``250ms`` or plain seconds → seconds as a float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m, 2h, 7d)")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    max_body_size: ByteSize = Field(ByteSize(16 * 1024 * 1024), description="Largest request body.")
    key_cache_ttl: Duration = Field(
        4.0, ge=0, le=5, description="How long a checked API key is trusted without the DB."
    )
    web_dir: Path | None = Field(
        None, description="Built web app served at / (default: the repo's web/dist if built)."
    )


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class ProviderSettings(_Section):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    type: str = Field(
        description="Adapter or preset: openai, groq, mistral, openrouter, …, anthropic, gemini, "
        "ollama, huggingface, stability."
    )
    base_url: str | None = None
    api_key: SecretStr | None = None
    byok: Literal["never", "optional", "required"] = "optional"
    connect_timeout: Duration = Field(10.0, gt=0)
    read_timeout: Duration = Field(
        300.0, gt=0, description="Longest wait for the next bytes (first token, stream idle)."
    )
    timeout: Duration = Field(600.0, gt=0, description="Longest a whole request may take.")
    max_connections: int = Field(256, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)
    list_models: bool = Field(True, description="Ask the provider which models it has.")
    drop_unsupported_params: bool = False


class DeploymentSettings(_Section):
    target: str = Field(description="provider/model")
    weight: int = Field(1, ge=1)
    max_concurrency: int | None = Field(None, ge=1)


class ModelSettings(_Section):
    id: str
    provider: str | None = None
    model: str | None = Field(None, description="The provider's name for it (default: id).")
    deployments: list[DeploymentSettings] = Field(default_factory=list)
    balance: Literal["weighted", "least_busy"] = "weighted"
    route: list[str] = Field(default_factory=list, description="Fallbacks, in order.")
    aliases: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict, description="Default parameters.")
    context_length: int | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ModelSettings:
        if not self.provider and not self.route and not self.deployments:
            raise ValueError("a model needs `provider`, `deployments` or a `route` list")
        return self


class RoutingSettings(_Section):
    retries: int = Field(2, ge=0, le=10, description="Retries per deployment on retryable errors.")
    backoff_base: Duration = Field(0.25, ge=0)
    backoff_max: Duration = Field(8.0, ge=0)
    max_total_time: Duration = Field(60.0, gt=0, description="Budget for retries + fallbacks.")
    cooldown: Duration = Field(30.0, ge=0, description="Rest for a deployment that keeps failing.")
    failures_before_cooldown: int = Field(3, ge=1)
    models_cache_ttl: Duration = Field(300.0, ge=0)
    drop_unsupported_params: bool = False


class LocalSettings(_Section):
    model_dirs: list[Path] = Field(
        default_factory=list, description="Folders of GGUF files and safetensors model folders."
    )
    keep_alive: Duration = Field(
        300.0,
        ge=-1,
        description="How long an idle model stays loaded (the most a request may ask for); "
        "-1 keeps models loaded, 0 unloads after each request.",
    )
    max_loaded: int = Field(2, ge=1, description="Models loaded at once; the LRU idle one goes.")
    memory_budget: ByteSize | None = Field(
        None,
        description="Memory all loaded models may use together (e.g. 12GiB); a load that "
        "would pass it first unloads least recently used idle models. Default: no budget.",
    )
    queue_size: int = Field(
        8, ge=0, description="Requests that may wait per model; beyond that a 503 + Retry-After."
    )
    n_ctx: int = Field(4096, ge=16, description="Context window (tokens) for GGUF models.")
    threads: int | None = Field(None, ge=1, description="CPU threads per model (default: all).")
    load_timeout: Duration = Field(300.0, gt=0, description="Longest a model may take to load.")
    download_concurrency: int = Field(2, ge=1, le=32, description="Downloads running at once.")
    download_retries: int = Field(5, ge=0, le=100, description="Retries of a failing download.")
    stall_timeout: Duration = Field(
        30.0, gt=0, description="A download that receives no bytes this long is retried."
    )
    download_stale: Duration = Field(
        30.0,
        ge=2,
        description="A running download whose process wrote no heartbeat (one a second) this "
        "long is queued again, for a process on another machine; on the same data dir a dead "
        "process's downloads are queued again at once (its lock on the job is gone).",
    )
    hf_endpoint: str | None = Field(
        None, description="Hugging Face Hub (or mirror) URL; default HF_ENDPOINT or the hub."
    )
    hf_token: SecretStr | None = Field(
        None, description="Operator token for the hub, used when the caller stored none."
    )
    scan_hf_cache: bool = Field(True, description="Register models found in the HF cache.")


class StorageSettings(_Section):
    limit: ByteSize | None = None
    artifact_ttl: Duration = Field(
        7 * 86400.0,
        ge=0,
        description="Generated files are deleted this long after their "
        "creation unless pinned; 0 keeps them until deleted.",
    )
    eviction: Literal["evict", "refuse"] = Field(
        "evict", description="Over the limit: evict LRU idle downloaded models, or refuse (507)."
    )
    min_free_disk: ByteSize = Field(
        ByteSize(1024**3), description="Free disk a download must leave on the models' disk."
    )
    artifact_url_ttl: Duration = Field(
        3600.0, gt=0, description="How long a signed artifact URL works without an API key."
    )


class JobsSettings(_Section):
    concurrency: int = Field(
        1, ge=1, le=64, description="Generation jobs a gateway process runs at once; more wait."
    )
    retention: Duration = Field(
        7 * 86400.0,
        gt=0,
        description="How long finished jobs stay listed (their files follow storage.artifact_ttl).",
    )


class Settings(BaseSettings):
    """Everything PlugAI reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="PLUGAI_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("data")
    config: Path | None = Field(None, description="The YAML file these settings came from.")
    database_url: str | None = None
    master_key: SecretStr | None = None
    admin_key: SecretStr | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    providers: list[ProviderSettings] = Field(default_factory=list)
    models: list[ModelSettings] = Field(default_factory=list)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'plugai.db').resolve()}"

    @field_validator("master_key")
    @classmethod
    def _master_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        names = [p.name for p in self.providers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"provider names must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _one_owner_of_local_models(self) -> Settings:
        """N gateway workers would each load their own copy of every local model."""
        if self.server.workers > 1 and self.local.model_dirs:
            raise ValueError(
                "local.model_dirs needs server.workers = 1; with more workers, run the models "
                "in `plugai runner` and add it as a provider of type runner"
            )
        return self


class _YamlSource(PydanticBaseSettingsSource):
    """Lowest-priority source holding the already-parsed YAML document."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _expand_env(value: Any, path: str, source: Path) -> Any:
    if isinstance(value, dict):
        return {
            k: _expand_env(v, f"{path}.{k}" if path else str(k), source) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand_env(v, f"{path}.{i}", source) for i, v in enumerate(value)]
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is None:
                if default is None:
                    raise ConfigError(f"{source}: {path}: environment variable {name} is not set")
                return default
            return found

        return _ENV_REF.sub(substitute, value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    expanded = _expand_env(data, "", path)
    assert isinstance(expanded, dict)
    return expanded


def _describe(exc: ValidationError, data: dict[str, Any], source: Path | None) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        top = str(err["loc"][0]) if err["loc"] else ""
        if source is not None and top in data:
            where = f"{source}: {loc}"
        else:
            where = f"PLUGAI_{loc.replace('.', '__').upper()}"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown setting"
        parts.append(f"{where}: {message}")
    more = f" (and {len(parts) - 1} more problem(s))" if len(parts) > 1 else ""
    return parts[0] + more


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (``config_file`` or ``$PLUGAI_CONFIG``), then env, then overrides."""
    path_text = config_file or os.environ.get("PLUGAI_CONFIG")
    path = Path(path_text) if path_text else None
    data = _read_yaml(path) if path else {}
    if path is not None:
        data["config"] = path

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _YamlSource(settings_cls, data))

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        loaded = _Loaded(**clean)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, path)) from exc
    return Settings.model_validate(loaded.model_dump())
