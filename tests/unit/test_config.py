from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_TELEGRAM_API_URL, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("RONGCUO_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.uses_embedded_database
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("data/rongcuo.sqlite3")
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.telegram_api_url == DEFAULT_TELEGRAM_API_URL
    assert settings.effective_file_url == "https://api.telegram.org/file/bot"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.telegram_token is None


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "RONGCUO_HTTP_PORT=9001\nRONGCUO_TELEGRAM_API_URL=http://127.0.0.1:8081/bot\n"
    )
    monkeypatch.setenv("RONGCUO_DATABASE_URL", "postgresql://u@db/rongcuo")
    settings = load_settings()
    assert settings.http_port == 9001
    assert settings.effective_file_url == "http://127.0.0.1:8081/file/bot"
    assert not settings.uses_embedded_database


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RONGCUO_HTTP_PORT", "eighty"),
        ("RONGCUO_HTTP_PORT", "70000"),
        ("RONGCUO_TIMEZONE", "Mars/Olympus"),
        ("RONGCUO_TELEGRAM_API_URL", "api.telegram.org"),
        ("RONGCUO_DATABASE_URL", "mysql://x@y/z"),
        ("RONGCUO_TELEGRAM_MODE", "carrier-pigeon"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(name + ":")
    assert "\n" not in message
