"""Talks to the web channel's JSON API as the page (chat.js) does: CSRF token first, then chat,
and after a 429 the same request again once Retry-After has passed."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient


async def arm(client: TestClient) -> None:
    """Do what the page does: load it, then send its CSRF token with every request."""
    assert (await client.get("/")).status == 200
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["rongcuo_csrf"].value
    client.session.headers["X-CSRF-Token"] = token


class WebUser:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.replies: list[dict[str, Any]] = []
        self.commands: list[dict[str, str]] = []

    async def post(self, body: dict[str, Any]) -> str:
        if "X-CSRF-Token" not in self.client.session.headers:
            await arm(self.client)
        response = await self.client.post("/api/chat", json=body)
        while response.status == 429:
            # As the page does: wait as long as the server asks, then send the same again.
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            response = await self.client.post("/api/chat", json=body)
        assert response.status == 200, await response.text()
        data = await response.json()
        self.replies, self.commands = data["replies"], data["commands"]
        return "\n".join(r["text"] for r in self.replies)

    async def say(self, text: str) -> str:
        return await self.post({"text": text})

    async def press(self, label: str) -> str:
        for reply in reversed(self.replies):
            for row in reply["buttons"]:
                for button in row:
                    if button["label"] == label:
                        return await self.post({"action": button["action"]})
        raise AssertionError(f"no button {label}")
