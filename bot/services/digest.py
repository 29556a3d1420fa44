"""One digest per few minutes into an officers' group chat, instead of one message per filing:
Telegram lets a bot post only about 20 messages a minute into a group."""

from __future__ import annotations

from datetime import timedelta

import structlog

from bot.clock import Clock
from dialogs.directory import OrgDirectory
from dialogs.texts import Texts
from storage.database import Database
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)
LISTED = 20
# A window ends this far in the past: a filing stamped just before a tick but committed just after
# it must fall into the next window, not between two.
GRACE = timedelta(seconds=60)


async def send_digests(database: Database, directory: OrgDirectory, clock: Clock) -> int:
    """Queue a digest for every configured group with new filings since its last one; returns how many."""
    now = clock.now()
    window_end = now - GRACE
    queued = 0
    async with UnitOfWork(database) as uow:
        settings = list(await uow.settings.with_groups())
    for setting in settings:
        async with UnitOfWork(database) as uow:
            if setting.digest_sent_at is not None and setting.digest_sent_at >= window_end:
                continue
            if not await uow.settings.claim_digest(setting.code, setting.digest_sent_at, window_end):
                continue  # another process took this window
            filings = await uow.settings.submitted_between(setting.code, setting.digest_sent_at, window_end)
            if filings:
                texts = Texts()
                lines = [texts("digest.header", county=directory.full_name(setting.code), count=len(filings))]
                for filing in filings[:LISTED]:
                    lines.append(texts("digest.line", number=filing.number, title=filing.title or ""))
                if len(filings) > LISTED:
                    lines.append(texts("digest.more", count=len(filings) - LISTED))
                lines.append(texts("digest.footer"))
                await uow.outbox.add(
                    channel="telegram",
                    chat_id=setting.group_chat_id or "",
                    payload={"text": "\n".join(lines)},
                    now=now,
                    dedupe_key=f"digest:{setting.code}:{window_end.isoformat()}",
                )
                queued += 1
            await uow.commit()
    if queued:
        log.info("digest.queued", groups=queued)
    return queued
