"""Delivery of outbox rows to Telegram: pacing, retries, and recording what happened."""

from bot.delivery.dispatcher import OutboxDispatcher
from bot.delivery.limiter import RateLimiter

__all__ = ["OutboxDispatcher", "RateLimiter"]
