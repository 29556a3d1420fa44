"""Runtime configuration: every setting comes from `RONGCUO_*` environment variables or `.env`.

The README has a table of every field here; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RONGCUO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the embedded database, uploads and keys live.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default: a SQLite file in data_dir. postgresql:// URLs use asyncpg.",
    )
    telegram_token: str | None = Field(None, description="Bot token; Telegram is served only when set.")
    telegram_api_url: str = Field(
        DEFAULT_TELEGRAM_API_URL,
        description="Bot API base URL exactly as python-telegram-bot's base_url takes it.",
    )
    telegram_file_url: str | None = Field(
        None, description="Bot API file base URL; default derived from telegram_api_url."
    )
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = Field(
        None,
        validate_default=True,
        description="Public https base URL Telegram posts to in webhook mode (the path is added).",
    )
    webhook_secret: str | None = Field(
        None, description="Secret of the webhook path and header; default: generated into data_dir."
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    timezone: str = "Asia/Shanghai"
    secret_key: str | None = Field(
        None, description="Signs web session cookies; default: a random key kept in data_dir/secret.key."
    )
    org_directory: Path | None = Field(
        None, description="Organisation directory YAML; default: the one shipped in dialogs/data."
    )
    policy_pack: str = Field(
        "yunnan", description="Policy pack: a shipped pack's name or the path of a pack YAML file."
    )
    workday_overrides: Path | None = Field(
        None,
        description="YAML with `workdays:` and `holidays:` lists for years chinesecalendar does not know.",
    )
    send_rate: float = Field(
        25,
        gt=0,
        le=30,
        description="Outbox messages per second overall (Telegram allows about 30; keep headroom).",
    )
    outbox_max_attempts: int = Field(8, ge=1, le=50, description="Failed sends before a message is given up.")
    reminder_seconds: float = Field(30, gt=0, description="How often due reminders are looked for.")
    quiet_start: int = Field(22, ge=12, le=23, description="Local hour from which no reminder is sent.")
    quiet_end: int = Field(8, ge=0, le=11, description="Local hour from which reminders are sent again.")
    digest_minutes: float = Field(
        5, gt=0, description="How often officers' group chats get a digest of new filings."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    public_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL people open; invitation links start with it."
    )
    invite_hours: float = Field(72, gt=0, le=24 * 90, description="How long an invitation link stays valid.")
    web_open_registration: bool = Field(
        True,
        description="Anyone opening the web chat may register; set false in production so only "
        "invitation links and /link codes let people in.",
    )
    api_tokens: str = Field(
        "", description="Bearer tokens of the bridge API, comma-separated `name:token` pairs."
    )
    rate_session: str = Field("30/10", description="Requests per seconds for one web session or bridge.")
    rate_ip: str = Field("120/60", description="Requests per seconds for one client IP address.")
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="Comma-separated proxy IPs whose X-Forwarded-For is believed (nginx on this host).",
    )
    upload_max_mb: int = Field(20, ge=1, le=20, description="Largest web upload, in MB (Telegram's is 20).")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            if info.data.get("telegram_mode") == "webhook":
                raise ValueError("required when RONGCUO_TELEGRAM_MODE=webhook")
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        return value

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rongcuo.sqlite3').resolve()}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_file_url(self) -> str:
        if self.telegram_file_url:
            return self.telegram_file_url
        # PTB's own default keeps the same shape: .../bot -> .../file/bot
        head, _, tail = self.telegram_api_url.rpartition("/")
        return f"{head}/file/{tail}"


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "RONGCUO_" + "_".join(str(p) for p in first["loc"]).upper()
        raise SettingsError(f"{name}: {first['msg']}") from None
