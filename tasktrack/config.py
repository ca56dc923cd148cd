"""Settings read from the environment, once, into a frozen Struct."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec
import platformdirs

ENV_DATABASE_URL = "TASKTRACK_DATABASE_URL"
ENV_DATA_DIR = "TASKTRACK_DATA_DIR"
ENV_MAX_BODY_BYTES = "TASKTRACK_MAX_BODY_BYTES"
ENV_POOL_SIZE = "TASKTRACK_POOL_SIZE"
ENV_MAX_BATCH_EVENTS = "TASKTRACK_MAX_BATCH_EVENTS"
ENV_MAX_BATCH_IDS = "TASKTRACK_MAX_BATCH_IDS"
ENV_READ_TIMEOUT_MS = "TASKTRACK_READ_TIMEOUT_MS"
ENV_AUTH_FAILURES_PER_KEY = "TASKTRACK_AUTH_FAILURES_PER_KEY"
ENV_AUTH_FAILURES_PER_ADDRESS = "TASKTRACK_AUTH_FAILURES_PER_ADDRESS"
ENV_MAX_CONNECTIONS = "TASKTRACK_MAX_CONNECTIONS"
ENV_KEEP_ALIVE_SECONDS = "TASKTRACK_KEEP_ALIVE_SECONDS"
ENV_HEADER_TIMEOUT_SECONDS = "TASKTRACK_HEADER_TIMEOUT_SECONDS"
ENV_BODY_TIMEOUT_SECONDS = "TASKTRACK_BODY_TIMEOUT_SECONDS"
ENV_MAX_HEADER_BYTES = "TASKTRACK_MAX_HEADER_BYTES"
ENV_FILES_DIR = "TASKTRACK_FILES_DIR"
ENV_MAX_FILE_BYTES = "TASKTRACK_MAX_FILE_BYTES"
ENV_UI_DIR = "TASKTRACK_UI_DIR"

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_BATCH_EVENTS = 10_000
DEFAULT_MAX_BATCH_IDS = 1_000
DEFAULT_READ_TIMEOUT_MS = 10_000
# Failed authentications per minute (and at once) before 429 (docs/reliability.md, Authentication).
DEFAULT_AUTH_FAILURES_PER_KEY = 10
DEFAULT_AUTH_FAILURES_PER_ADDRESS = 30
# What `tasktrack serve` allows a connection, per process (docs/reliability.md, Connection limits).
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_KEEP_ALIVE_SECONDS = 5
DEFAULT_HEADER_TIMEOUT_SECONDS = 10
DEFAULT_BODY_TIMEOUT_SECONDS = 60
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
# The file server's limit on one upload request (docs/architecture.md, "The file server").
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024 * 1024


class ConfigError(ValueError):
    """A setting in the environment has an unusable value."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything tasktrack reads from its environment."""

    database_url: str | None
    data_dir: Path
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    pool_size: int = 10
    # Limits of one request (docs/reliability.md): events in an events.add_batch, ids in a
    # *_many, tasks.archive or tasks.update_tags, and the statement timeout of a read.
    max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS
    max_batch_ids: int = DEFAULT_MAX_BATCH_IDS
    read_timeout_ms: int = DEFAULT_READ_TIMEOUT_MS
    auth_failures_per_key: int = DEFAULT_AUTH_FAILURES_PER_KEY
    auth_failures_per_address: int = DEFAULT_AUTH_FAILURES_PER_ADDRESS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    keep_alive_seconds: int = DEFAULT_KEEP_ALIVE_SECONDS
    header_timeout_seconds: int = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: int = DEFAULT_BODY_TIMEOUT_SECONDS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    # The file server's folder (None: `files` in the data directory) and upload size limit.
    files_dir_setting: Path | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # A built ClearML web UI to serve beside the API (`tasktrack serve --ui DIR`), if any.
    ui_dir: Path | None = None

    @property
    def embedded(self) -> bool:
        """True when no server is configured and the embedded PostgreSQL is used."""
        return self.database_url is None

    @property
    def files_dir(self) -> Path:
        """Where the file server keeps uploads: the configured folder, else the data dir's."""
        return self.files_dir_setting or self.data_dir / "files"


def _int_setting(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _path_setting(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).expanduser() if raw and raw.strip() else None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    url = env.get(ENV_DATABASE_URL) or None
    data_dir_raw = env.get(ENV_DATA_DIR) or None
    data_dir = (
        Path(data_dir_raw).expanduser()
        if data_dir_raw
        else Path(platformdirs.user_data_dir("tasktrack", appauthor=False))
    )
    return Settings(
        database_url=url,
        data_dir=data_dir,
        max_body_bytes=_int_setting(env, ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
        pool_size=_int_setting(env, ENV_POOL_SIZE, 10),
        max_batch_events=_int_setting(env, ENV_MAX_BATCH_EVENTS, DEFAULT_MAX_BATCH_EVENTS),
        max_batch_ids=_int_setting(env, ENV_MAX_BATCH_IDS, DEFAULT_MAX_BATCH_IDS),
        read_timeout_ms=_int_setting(env, ENV_READ_TIMEOUT_MS, DEFAULT_READ_TIMEOUT_MS),
        auth_failures_per_key=_int_setting(
            env, ENV_AUTH_FAILURES_PER_KEY, DEFAULT_AUTH_FAILURES_PER_KEY
        ),
        auth_failures_per_address=_int_setting(
            env, ENV_AUTH_FAILURES_PER_ADDRESS, DEFAULT_AUTH_FAILURES_PER_ADDRESS
        ),
        max_connections=_int_setting(env, ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS),
        keep_alive_seconds=_int_setting(env, ENV_KEEP_ALIVE_SECONDS, DEFAULT_KEEP_ALIVE_SECONDS),
        header_timeout_seconds=_int_setting(
            env, ENV_HEADER_TIMEOUT_SECONDS, DEFAULT_HEADER_TIMEOUT_SECONDS
        ),
        body_timeout_seconds=_int_setting(
            env, ENV_BODY_TIMEOUT_SECONDS, DEFAULT_BODY_TIMEOUT_SECONDS
        ),
        max_header_bytes=_int_setting(env, ENV_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES),
        files_dir_setting=_path_setting(env, ENV_FILES_DIR),
        max_file_bytes=_int_setting(env, ENV_MAX_FILE_BYTES, DEFAULT_MAX_FILE_BYTES),
        ui_dir=Path(env[ENV_UI_DIR]).expanduser() if env.get(ENV_UI_DIR) else None,
    )
