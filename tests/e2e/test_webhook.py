"""Telegram webhook mode: the Bot API emulator posts updates to the program's aiohttp server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels import webhook
from bot.channels.telegram import TelegramChannel, build_application
from bot.channels.web import create_web_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime, serve
from storage.uow import UnitOfWork
from tests.e2e.telegram_harness import emulator_running, free_port
from tests.emulator import BotApiEmulator, message_text

SECRET = "webhook-test-secret"


def typed(emulator: BotApiEmulator, user_id: int, text: str) -> dict[str, Any]:
    """The update Telegram would post when this user types `text` (no hook is set: the test posts it)."""
    emulator.user(user_id, first_name="五", last_name="赵", language_code="zh-hans").send_text(text)
    return emulator.updates[-1]


async def test_serve_in_webhook_mode_registers_the_hook_and_answers_through_it(
    database_url: str, tmp_path: Path
) -> None:
    """`rongcuo run` with RONGCUO_TELEGRAM_MODE=webhook: no polling; updates arrive by POST."""
    port = free_port()
    async with emulator_running() as emulator:
        settings = load_settings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            telegram_token=emulator.token,
            telegram_api_url=emulator.base_url,
            telegram_file_url=emulator.base_file_url,
            telegram_mode="webhook",
            webhook_url=f"http://127.0.0.1:{port}/",
            http_port=port,
        )
        stop = asyncio.Event()
        serving = asyncio.create_task(serve(settings, stop=stop))
        try:
            await _until(lambda: bool(emulator.webhook["url"]), serving)
            hook = emulator.webhook
            generated = (tmp_path / "data" / "webhook.secret").read_text()
            assert hook["url"] == webhook.webhook_url(f"http://127.0.0.1:{port}", generated)
            assert hook["allowed_updates"] == ["message", "callback_query"]
            assert generated not in hook["url"]  # only a derived value is ever sent out
            assert not any(method == "getUpdates" for method, _ in emulator.calls)

            user = emulator.user(1001, first_name="三", last_name="张", language_code="zh-hans")
            user.send_text("/start")
            greeting = message_text(await user.wait_for_message(10))
            assert "容错纠错助手" in greeting and "请输入您的姓名" in greeting
            user.send_text("张三")
            assert "请选择您所在的市" in message_text(await user.wait_for_message(10))
        finally:
            stop.set()
            await asyncio.wait_for(serving, 30)
        # Left set at stop: another process behind the same hook may still be serving it.
        assert emulator.webhook["url"] == hook["url"]
        assert not any(method == "deleteWebhook" for method, _ in emulator.calls)


async def _until(condition: object, task: asyncio.Task[None], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if task.done():
            task.result()  # raises what stopped the program
            raise AssertionError("serve() returned before the webhook was set")
        assert asyncio.get_running_loop().time() < deadline, "no setWebhook call"
        await asyncio.sleep(0.05)


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = await build_runtime(load_settings(database_url=database_url, data_dir=tmp_path / "data"), clock)
    yield rt
    await rt.database.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with emulator_running() as running:
        yield running


@pytest.fixture
async def client(runtime: Runtime, emulator: BotApiEmulator) -> AsyncIterator[TestClient]:
    """The web app with the webhook route, the PTB Application started without an Updater."""
    app = create_web_app(
        runtime.conversations, runtime.database, runtime.clock, "k", runtime.settings.data_dir / "uploads"
    )
    application = build_application(emulator.token, emulator.base_url, emulator.base_file_url, polling=False)
    channel = TelegramChannel(application, runtime.conversations, runtime.clock)
    webhook.install(app, application, SECRET)
    await channel.start(polling=False)
    try:
        async with TestClient(TestServer(app)) as test_client:
            yield test_client
    finally:
        await channel.stop()


PATH = "/telegram/webhook/" + webhook.path_secret(SECRET)
HEADERS = {webhook.HEADER: webhook.header_token(SECRET)}


async def stored_identity(runtime: Runtime, external_id: str) -> bool:
    async with UnitOfWork(runtime.database) as uow:
        return await uow.users.by_identity("telegram", external_id) is not None


async def test_a_good_post_is_handled_and_answered(
    client: TestClient, runtime: Runtime, emulator: BotApiEmulator
) -> None:
    update = typed(emulator, 3003, "/start")
    user = emulator.user(3003)
    response = await client.post(PATH, json=update, headers=HEADERS)
    assert response.status == 200
    assert "请输入您的姓名" in message_text(await user.wait_for_message(10))
    assert await stored_identity(runtime, "3003")
    samples = (await (await client.get("/metrics")).text()).splitlines()
    assert 'rongcuo_updates_total{channel="telegram"} 1.0' in samples


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (PATH, {}),  # no header
        (PATH, {webhook.HEADER: "wrong"}),
        (PATH, {webhook.HEADER: webhook.path_secret(SECRET)}),  # the path's value is not the header's
        ("/telegram/webhook/" + webhook.path_secret("another"), HEADERS),
        ("/telegram/webhook/" + webhook.header_token(SECRET), HEADERS),
    ],
    ids=["missing-header", "wrong-header", "path-as-header", "wrong-path", "header-as-path"],
)
async def test_a_wrong_secret_gets_403_and_nothing_is_processed(
    client: TestClient, runtime: Runtime, emulator: BotApiEmulator, path: str, headers: dict[str, str]
) -> None:
    update = typed(emulator, 4004, "/start")
    user = emulator.user(4004)
    response = await client.post(path, json=update, headers=headers)
    assert response.status == 403
    await user.assert_no_new_messages(within=0.5)
    assert not await stored_identity(runtime, "4004")


async def test_bad_json_gets_400(client: TestClient) -> None:
    for body in (b"{not json", b"[1, 2]", json.dumps({"message": {}}).encode()):
        response = await client.post(PATH, data=body, headers={**HEADERS, "Content-Type": "application/json"})
        assert response.status == 400, body
        assert "error" in await response.json()


async def test_an_oversized_body_gets_413(
    client: TestClient, runtime: Runtime, emulator: BotApiEmulator
) -> None:
    update = typed(emulator, 5005, "/start")
    update["padding"] = "x" * (80 * 1024)
    response = await client.post(PATH, json=update, headers=HEADERS)
    assert response.status == 413
    assert not await stored_identity(runtime, "5005")


async def test_only_post_is_routed(client: TestClient) -> None:
    assert (await client.get(PATH, headers=HEADERS)).status == 405
