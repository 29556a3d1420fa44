"""Telegram channel on python-telegram-bot: updates in, channel-neutral replies out.

Dialog state is not kept in PTB (no ConversationHandler, no persistence): every update goes to
the conversation service, which reads and writes the user's row, so any process can serve it.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram_transport import AiohttpRequest
from bot.channels.update_order import PerUserUpdateProcessor
from bot.clock import Clock
from bot.services.conversation import ConversationService, Handled, Incoming
from bot.services.jobs import Job
from dialogs import menus
from dialogs.context import Viewer
from dialogs.events import Attachment, Event, Press, Unsupported, parse_document, parse_text
from dialogs.replies import Reply
from dialogs.texts import DEFAULT_LOCALE, LOCALES, Texts

log = structlog.get_logger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024

# Message kinds the dialogs cannot use; each gets a polite "this step needs ..." answer.
_UNSUPPORTED = (
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


async def _answer(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except BadRequest:
        pass  # too old to answer; the press is handled all the same
    except TelegramError as exc:
        log.info("telegram.answer_failed", error=str(exc))


def build_application(token: str, api_url: str, file_url: str, *, polling: bool) -> Application:
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .base_file_url(file_url)
        .concurrent_updates(PerUserUpdateProcessor())
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connections=1))
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def to_event(message: Message, clock: Clock) -> Event:
    now = clock.now()
    if message.text is not None:
        return parse_text(now, message.text)
    if message.document is not None:
        doc = message.document
        attachment = Attachment(now, "document", doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
        return parse_document(attachment, message.caption)
    if message.photo:
        largest = message.photo[-1]
        return Attachment(now, "photo", largest.file_id, None, "image/jpeg", largest.file_size)
    for kind in _UNSUPPORTED:
        if getattr(message, kind, None):
            return Unsupported(now, "location" if kind == "venue" else kind)
    return Unsupported(now, "other")


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in reply.buttons]
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks where possible; Telegram refuses texts over 4096 characters."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def bot_commands(viewer: Viewer, locale: str) -> list[BotCommand]:
    texts = Texts(locale)
    return [BotCommand(c.name, texts(c.description_key)) for c in menus.commands_for(viewer)]


class TelegramChannel:
    # Seconds between two edits of a progress message: Telegram limits edits like messages, and
    # nobody reads a percentage that changes faster. The last state is always shown.
    PROGRESS_INTERVAL = 1.0

    def __init__(self, application: Application, service: ConversationService, clock: Clock) -> None:
        self.application = application
        self._service = service
        self._clock = clock
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, self._on_message)
        )
        application.add_error_handler(self._on_error)

    async def start(self, *, polling: bool) -> None:
        await self.application.initialize()
        await self._install_default_menu()
        await self.application.start()
        if polling and self.application.updater is not None:
            await self.application.updater.start_polling(allowed_updates=["message", "callback_query"])
        log.info("telegram.started", polling=polling, bot=self.application.bot.username)

    async def stop(self) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _install_default_menu(self) -> None:
        # What someone sees before registering; registered users get a per-chat menu on first contact.
        # Telegram keys these menus by a two-letter ISO 639-1 code, so Traditional Chinese cannot
        # have its own: such users see the default (Simplified) one until their first message.
        anonymous = Viewer()
        for locale in LOCALES:
            language = {DEFAULT_LOCALE: None, "en": "en"}.get(locale, "")
            if language == "":
                continue
            await self.application.bot.set_my_commands(
                bot_commands(anonymous, locale),
                scope=BotCommandScopeDefault(),
                language_code=language,
            )

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        handled = await self._service.handle(
            Incoming(
                channel=CHANNEL,
                external_id=str(user.id),
                event=to_event(message, self._clock),
                display_name=user.full_name,
                language_code=user.language_code,
                update_id=update.update_id,
            )
        )
        if handled.duplicate:
            return
        await self._deliver(message.chat_id, handled)

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        if query.data is None:
            # A game button's press carries no data: nothing to do, but the spinner must stop.
            await _answer(query)
            return
        # Answered while the press is handled, so the client's spinner stops as soon as it can
        # and the round trip to Telegram does not add to the person's wait.
        answering = asyncio.create_task(_answer(query))
        handled = await self._service.handle(
            Incoming(
                channel=CHANNEL,
                external_id=str(user.id),
                event=Press(self._clock.now(), query.data),
                display_name=user.full_name,
                language_code=user.language_code,
                update_id=update.update_id,
            )
        )
        await answering
        if handled.duplicate:
            return  # the pressed message may be the current question again (a tick): leave it be
        message = query.message
        if not isinstance(message, Message):
            # Too old for Telegram to show us (InaccessibleMessage): just answer in the chat.
            await self._deliver(user.id, handled)
            return
        if handled.replies and handled.replies[0].edit:
            # A toggle (tick a box, add a file): update the same message rather than add one.
            first, *rest = handled.replies
            await self._edit(message, first)
            handled.replies = rest
            await self._deliver(message.chat_id, handled)
            return
        # Marking the old question and sending the next one touch different messages: both at once.
        await asyncio.gather(self._mark_pressed(message, query.data), self._deliver(message.chat_id, handled))

    async def _edit(self, message: Message, reply: Reply) -> None:
        try:
            await message.edit_text(split_text(reply.text)[0], reply_markup=keyboard(reply))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("telegram.edit_failed", error=str(exc))
        except (NetworkError, RetryAfter) as exc:
            # The choice is stored; the next press or message shows the current state again.
            log.warning("telegram.edit_failed", error=str(exc))

    async def _mark_pressed(self, message: Message, action: str) -> None:
        """Show which button was pressed and drop the keyboard: the old question cannot be answered twice."""
        label = None
        if message.reply_markup is not None:
            for row in message.reply_markup.inline_keyboard:
                for button in row:
                    if button.callback_data == action:
                        label = button.text
        text = message.text or ""
        new_text = f"{text}\n\n→ {label}" if label else text
        try:
            if len(new_text) <= MAX_TEXT and new_text:
                await message.edit_text(new_text, reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:
            # Cosmetic: the old question keeps its buttons, and pressing one again is refused.
            log.debug("telegram.mark_pressed_failed", error=str(exc))

    async def _deliver(self, chat_id: int, handled: Handled) -> None:
        if handled.menu_changed and handled.identity_id is not None:
            try:
                await self.application.bot.set_my_commands(
                    bot_commands(handled.viewer, handled.locale), scope=BotCommandScopeChat(chat_id)
                )
                await self._service.remember_menu(handled.identity_id, handled.menu_key)
            except TelegramError as exc:
                log.warning("telegram.menu_failed", chat_id=chat_id, error=str(exc))
        if not await self._send(chat_id, handled.replies):
            return
        if handled.job is not None:
            # "Started" is part of the answer to the command: sent here, in order, before the
            # person's next update is handled. The work itself is not awaited: a long export must
            # not hold up their other requests. PTB awaits such tasks when it stops.
            try:
                started = await self.application.bot.send_message(chat_id, handled.job.started)
            except TelegramError as exc:
                log.info("telegram.job_not_started", chat_id=chat_id, error=str(exc))
                return
            self.application.create_task(self._run_job(chat_id, handled.job, started))

    async def _send(self, chat_id: int, replies: list[Reply]) -> bool:
        """Send replies in order; False when the person has blocked the bot.

        When Telegram cannot be reached (timeouts, 5xx, flood control), what is not yet sent is
        handed to the outbox: the answer is committed already, and the dispatcher delivers it with
        retries once Telegram is back. A timeout may hide a message that did arrive, so it can come
        twice; better than never (there is no idempotency key in the Bot API).
        """
        bot = self.application.bot
        index = 0
        try:
            for index, reply in enumerate(replies):
                file = reply.attachment
                caption = reply.text if file is not None and len(reply.text) <= MAX_CAPTION else None
                chunks = split_text(reply.text) if reply.text and caption is None else []
                for index, chunk in enumerate(chunks):
                    last = index == len(chunks) - 1 and file is None
                    await bot.send_message(chat_id, chunk, reply_markup=keyboard(reply) if last else None)
                if file is None:
                    continue
                upload = InputFile(file.content, filename=file.filename)
                markup = keyboard(reply)
                if file.kind == "photo":
                    await bot.send_photo(chat_id, upload, caption=caption, reply_markup=markup)
                else:
                    await bot.send_document(chat_id, upload, caption=caption, reply_markup=markup)
        except Forbidden:
            log.info("telegram.user_blocked_bot", chat_id=chat_id)
            return False
        except BadRequest as exc:
            # Telegram refuses this message as it is (the chat is gone, a text it cannot take):
            # sending it again would be refused again.
            log.warning("telegram.reply_refused", chat_id=chat_id, error=str(exc))
        except (NetworkError, RetryAfter) as exc:
            log.warning(
                "telegram.reply_deferred", chat_id=chat_id, error=str(exc), replies=len(replies) - index
            )
            try:
                await self._service.defer(CHANNEL, str(chat_id), replies[index:])
            except Exception:
                log.exception("telegram.reply_lost", chat_id=chat_id)
        return True

    async def _run_job(self, chat_id: int, job: Job, message: Message) -> None:
        """Show the job's progress by editing its "started" message, then send what it produced."""
        bot = self.application.bot
        shown, pending, last_edit = job.started, "", time.monotonic()

        async def edit(text: str) -> None:
            nonlocal shown, last_edit
            try:
                await bot.edit_message_text(
                    split_text(text)[0], chat_id=chat_id, message_id=message.message_id
                )
            except RetryAfter:
                return  # progress is a courtesy: skip this state rather than wait
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    log.warning("telegram.progress_edit_failed", error=str(exc))
            except TelegramError as exc:
                log.info("telegram.progress_edit_failed", error=str(exc))
                return
            shown, last_edit = text, time.monotonic()

        async def progress(text: str) -> None:
            nonlocal pending
            pending = text
            if text != shown and time.monotonic() - last_edit >= self.PROGRESS_INTERVAL:
                await edit(text)

        try:
            replies = await job.run(progress)
        except Exception:
            log.exception("telegram.job_failed", chat_id=chat_id)
            await edit(job.failed)
            return
        if pending and pending != shown:
            await edit(pending)
        await self._send(chat_id, replies)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram.handler_error", error=repr(context.error), exc_info=context.error)
        self._service.metrics.error("telegram")
