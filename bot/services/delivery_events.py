"""What the application does when the dispatcher cannot deliver: mark people unreachable and tell
the ones who need to know, once."""

from __future__ import annotations

import structlog

from bot.clock import Clock
from dialogs.directory import OrgDirectory
from dialogs.replies import Reply
from dialogs.texts import Texts
from storage.database import Database
from storage.models import OutboxMessage, User
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)
ALERT_PREFIX = "alert:"


async def _queue(uow: UnitOfWork, recipient: User, reply: Reply, *, key: str, now) -> None:
    for identity in await uow.users.identities(recipient.id or 0):
        if identity.channel == "telegram" and identity.reachable:
            await uow.outbox.add(
                channel="telegram",
                chat_id=identity.external_id,
                payload=reply.to_json(),
                now=now,
                user_id=recipient.id,
                dedupe_key=key,
            )
            return


class DeliveryEvents:
    def __init__(self, database: Database, directory: OrgDirectory, clock: Clock) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock

    async def unreachable(self, user_id: int | None, chat_id: str) -> None:
        """The person blocked the bot: stop addressing that chat and tell their officers once."""
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            await uow.users.set_reachable("telegram", chat_id, reachable=False)
            user = await uow.users.get(user_id) if user_id else None
            uow.audit.record(
                at=now, action="identity.unreachable", subject_type="user", subject_id=user_id or chat_id
            )
            jurisdiction = (
                self._directory.jurisdiction_of(user.unit_code) if user and user.unit_code else None
            )
            if user is not None and jurisdiction is not None:
                for officer in await uow.users.officers_of(jurisdiction.code):
                    texts = Texts(officer.locale)
                    reply = Reply(
                        texts(
                            "delivery.unreachable",
                            name=user.name or "—",
                            unit=self._directory.full_name(user.unit_code or ""),
                        )
                    )
                    await _queue(
                        uow, officer, reply, key=f"unreachable:{user.id}:officer:{officer.id}", now=now
                    )
            await uow.commit()
        log.info("delivery.unreachable", user_id=user_id, chat_id=chat_id)

    async def dead(self, row: OutboxMessage) -> None:
        """A message could not be delivered after all retries: the administrators hear of it."""
        log.error("delivery.dead", outbox_id=row.id, chat_id=row.chat_id, error=row.last_error)
        if (row.dedupe_key or "").startswith(ALERT_PREFIX):
            return  # an alert about an alert would loop
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            for admin, _ in await uow.users.list_with_roles("admin"):
                texts = Texts(admin.locale)
                reply = Reply(
                    texts("delivery.dead", id=row.id, chat=row.chat_id, error=(row.last_error or "")[:200])
                )
                await _queue(uow, admin, reply, key=f"{ALERT_PREFIX}dead:{row.id}:admin:{admin.id}", now=now)
            await uow.commit()
