"""Messages to people other than the one speaking: outbox rows written in the caller's transaction.

The dispatcher delivers them later (honouring Telegram's flood limits), so a crash between the
commit and the send loses nothing, and a rolled-back change sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.services.calls import Call
from dialogs.replies import Reply
from dialogs.texts import Texts
from storage.models import User
from storage.uow import UnitOfWork

# Preferred channel first: Telegram pushes to the phone; the web chat shows queued messages on open.
CHANNEL_PREFERENCE = ("telegram", "web")


async def notify(call: Call, recipient: User, render: Callable[[Texts], Reply], *, dedupe_key: str) -> bool:
    """Queue one message for `recipient`, written in their language; False if they cannot be reached."""
    return await queue_message(call.uow, call.now, recipient, render, dedupe_key=dedupe_key)


async def queue_message(
    uow: UnitOfWork,
    now: datetime,
    recipient: User,
    render: Callable[[Texts], Reply],
    *,
    dedupe_key: str,
) -> bool:
    """`notify` for callers without a speaking user (the reminder tick)."""
    assert recipient.id is not None
    identities = [i for i in await uow.users.identities(recipient.id) if i.reachable]
    identities.sort(
        key=lambda i: CHANNEL_PREFERENCE.index(i.channel) if i.channel in CHANNEL_PREFERENCE else 99
    )
    if not identities:
        return False
    target = identities[0]
    reply = render(Texts(recipient.locale))
    await uow.outbox.add(
        channel=target.channel,
        chat_id=target.external_id,
        payload=reply.to_json(),
        now=now,
        user_id=recipient.id,
        dedupe_key=dedupe_key,
    )
    return True
