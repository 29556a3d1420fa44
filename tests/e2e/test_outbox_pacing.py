"""The dispatcher's pure parts: flood pacing, backoff, payload rendering (no database, no emulator)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

import pytest

from bot.delivery.backoff import backoff
from bot.delivery.limiter import RateLimiter
from bot.delivery.payload import MalformedPayload, render


class FakeTime:
    """Virtual time for one task at a time: sleeping just moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def fake_limiter(fake: FakeTime, **options: float) -> RateLimiter:
    return RateLimiter(monotonic=fake.monotonic, sleep=fake.sleep, **options)  # type: ignore[arg-type]


async def test_the_chat_interval_runs_from_the_end_of_a_send() -> None:
    fake = FakeTime()
    limiter = fake_limiter(fake)
    async with limiter.slot(1001):
        fake.now += 0.4  # the request took a while; Telegram may have got it at the very end
    assert limiter.delay(1001) == pytest.approx(1.0)
    assert limiter.delay(1002) == 0.0
    start = fake.now
    async with limiter.slot("1001"):
        assert fake.now == pytest.approx(start + 1.0)


async def test_retry_after_defers_one_chat_only() -> None:
    fake = FakeTime()
    limiter = fake_limiter(fake)
    limiter.defer(1001, 3)
    assert limiter.delay(1001) == pytest.approx(3.0)
    assert limiter.delay(1002) == 0.0
    limiter.defer(1001, 1)  # a shorter wait never shortens a longer one
    assert limiter.delay(1001) == pytest.approx(3.0)


async def test_a_group_gets_at_most_twenty_messages_a_minute() -> None:
    fake = FakeTime()
    limiter = fake_limiter(fake)
    starts = []
    for _ in range(21):
        async with limiter.slot(-100123):
            starts.append(fake.now)
    assert starts[19] - starts[0] == pytest.approx(19.0)  # 1/s while the minute's budget lasts
    assert starts[20] - starts[0] == pytest.approx(60.0)
    # Private chats only know the per-second rule.
    for _ in range(21):
        async with limiter.slot(555):
            pass
    assert limiter.delay(555) == pytest.approx(1.0)


async def test_the_global_rate_spaces_sends_across_chats() -> None:
    limiter = RateLimiter(global_rate=100.0)
    starts: list[float] = []

    async def send(chat: int) -> None:
        async with limiter.slot(chat):
            starts.append(time.monotonic())

    await asyncio.gather(*(send(chat) for chat in range(10)))
    # Starts are scheduled 10 ms apart; a late wake-up may shorten one gap, never the average.
    assert starts[-1] - starts[0] >= 0.09 - 0.002
    assert starts == sorted(starts)


async def test_no_second_holds_more_sends_than_the_rate_whatever_the_round_trip() -> None:
    """Telegram counts arrivals, which lie anywhere between a send's start and its answer.

    For every send, the earlier sends that could have arrived within the second before it
    (answered less than a second before its start, or not answered yet) must be fewer than the
    rate; slow answers are what exact start spacing alone got wrong.
    """
    limiter = RateLimiter(global_rate=10.0)
    spans: list[tuple[float, float]] = []

    async def send(chat: int) -> None:
        async with limiter.slot(chat):
            start = time.monotonic()
            await asyncio.sleep(0.15 if chat % 3 else 0.02)  # round trips of several lengths
            spans.append((start, time.monotonic()))

    began = time.monotonic()
    await asyncio.gather(*(send(chat) for chat in range(25)))
    took = time.monotonic() - began
    for start, _ in spans:
        possible = [other for other in spans if other[0] < start and other[1] > start - 1.0]
        assert len(possible) <= 9, f"{len(possible) + 1} sends could have arrived within one second"
    # 25 sends at 10 a second: two full windows, each stretched by a round trip.
    assert 2.0 <= took < 4.0


async def test_an_unanswered_send_holds_its_place_for_a_bounded_time() -> None:
    limiter = RateLimiter(global_rate=1.0)
    release = asyncio.Event()
    starts: dict[int, float] = {}

    async def send(chat: int) -> None:
        async with limiter.slot(chat):
            starts[chat] = time.monotonic()
            if chat == 1:
                await release.wait()  # a request Telegram does not answer

    hung = asyncio.create_task(send(1))
    await asyncio.sleep(0.01)
    await send(2)
    release.set()
    await hung
    # It may arrive any time until ARRIVAL_BOUND (1 s), and occupies the window a second more;
    # not until its 20 s read timeout.
    assert 1.95 <= starts[2] - starts[1] < 2.5


async def test_a_waiting_chat_does_not_hold_up_another() -> None:
    limiter = RateLimiter()
    limiter.defer(1001, 0.5)
    finished: dict[int, float] = {}
    begin = time.monotonic()

    async def send(chat: int) -> None:
        async with limiter.slot(chat):
            finished[chat] = time.monotonic() - begin

    await asyncio.gather(send(1001), send(1002))
    assert finished[1002] < 0.1 <= 0.45 <= finished[1001]


def test_backoff_doubles_with_jitter_up_to_ten_minutes() -> None:
    rng = random.Random(1)
    for attempts in range(1, 10):
        wait = backoff(attempts, rng).total_seconds()
        assert 0.8 * 2**attempts <= wait <= 1.2 * 2**attempts
    assert timedelta(minutes=8) <= backoff(10, rng) <= timedelta(minutes=10)
    assert timedelta(minutes=8) <= backoff(5000, rng) <= timedelta(minutes=10)


def test_payload_renders_buttons_as_callback_data() -> None:
    text, markup = render(
        {
            "text": "新报备",
            "buttons": [[{"label": "查看", "action": "r:1"}, {"label": "稍后", "action": "r:2"}]],
        }
    )
    assert text == "新报备"
    assert markup is not None
    [[view, later]] = markup.inline_keyboard
    assert (view.text, view.callback_data, later.callback_data) == ("查看", "r:1", "r:2")
    assert render({"text": "无按钮"}) == ("无按钮", None)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"text": "  "},
        {"text": "x", "buttons": [{"label": "a", "action": "b"}]},
        {"text": "x", "buttons": [[{"label": "a"}]]},
        {"text": "x", "buttons": [[{"label": "a", "action": "长" * 30}]]},
    ],
)
def test_malformed_payloads_are_refused(payload: object) -> None:
    with pytest.raises(MalformedPayload):
        render(payload)
