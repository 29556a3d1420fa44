"""Seeded random Telegram updates and webhook bodies for the fuzz drill (test_fuzz_drill.py).

`FuzzGenerator.next()` plans one POST to the webhook: a user's message of any kind PTB knows, an
edited message, a button press (a real button, forged data on a real bot message, or a message
that does not exist), an update of a kind the bot does not ask for, or a body that is not a
Telegram update at all. Each plan says what the sender must see: an answer, an answered button,
nothing (but no error), or a 4xx status.

Messages and presses go through the Bot API emulator's user side, so the emulator knows the chat
is open and can answer the callback query; the test posts the update itself, playing Telegram's
part, which is what lets it also post what Telegram never would.
"""

from __future__ import annotations

import itertools
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialogs import menus
from tests.emulator import BotApiEmulator

JSON = dict[str, Any]

# What the sender of a planned post must experience.
ANSWER = "answer"  # a person's message: at least one reply (a message or an edit) in their chat
PRESS = "press"  # a button press: answerCallbackQuery for its id, and a reply or an edit
QUIET = "quiet"  # accepted (200) and handled without a word: not a private message the bot asks for
REJECTED = "rejected"  # refused by the webhook with a 4xx status; nothing is handled
TOLERATED = "tolerated"  # a 4xx, or accepted and handled without an error (with or without a reply)


@dataclass
class Person:
    telegram_id: int
    role: str  # admin | officer | cadre | stranger (never registered before the drill)
    name: str

    @property
    def roles(self) -> frozenset[str]:
        if self.role == "stranger":
            return frozenset()
        return frozenset({"cadre", self.role})


@dataclass
class Planned:
    kind: str
    expect: str
    body: bytes
    person: Person | None = None
    update_id: int | None = None
    callback_id: str | None = None
    # A command outside the sender's role: the answer must be a polite refusal.
    refused_command: str | None = None
    path: str | None = None  # None: the right webhook path
    headers: dict[str, str] | None = None  # None: the right secret header
    method: str = "POST"
    content_type: str = "application/json"
    # A press must also change something the person sees; not so for one carrying no data.
    needs_reply: bool = True


@dataclass
class Targets:
    """Ids the drill seeded: real filings of other people, for forged commands and buttons."""

    filing_ids: list[int] = field(default_factory=list)
    filing_numbers: list[str] = field(default_factory=list)
    # Filing id -> its filer's user id and its title (a deleted draft leaves only its audit entry).
    owners: dict[int, int] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)


# ---- texts ----------------------------------------------------------------------------------------

PLAUSIBLE = (
    "张三",
    "李四",
    "科员",
    "副主任",
    "杨桥片区批而未供土地盘活项目",
    "落实县委县政府关于盘活批而未供土地的部署，时限为年底前。",
    "12月1日",
    "2027-03-31",
    "2026-12-15 完成场地平整",
    "50万",
    "1.5亿",
    "是",
    "否",
    "好的",
    "跳过",
    "确认",
    "取消",
    "返回",
    "yes",
    "ok",
    "0",
    "-1",
    "１２３",
    "2026-02-30",
    "明天",
    "已补充红线图，见附件。",
)
EMOJI = ("😀", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "🏳️‍🌈", "❤️", "🧧", "🀄", "1️⃣", "🫠")
RTL = ("مرحبا بالعالم", "שלום עולם", "\u202eevil\u202c", "\u200fابحث\u200e", "ئۇيغۇرچە")
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u3000")
CONTROL = ("\x01", "\x07", "\x08", "\x1b[31m", "\x7f", "\u0085", "\u2028", "\u2029", "\r", "\t")
ODD = (
    "𠀀𠀁𪚥",  # astral CJK (surrogate pairs in UTF-16)
    "𝕏𝔂𝔷",
    "Z̴̡̛̖̈́ą̷̈l̸̺̄g̶̣̀o̵̟͝",
    "ｆｕｌｌｗｉｄｔｈ",
    "<b>粗体</b>",
    "*markdown* _x_ `code` [link](http://x)",
    "'; DROP TABLE filing; --",
    "%s %d {0} {name} ${HOME}",
    "../../etc/passwd",
    "\\u0000",
    "null",
    "NaN",
)
COMMAND_ARGS = (
    "",
    "0",
    "-1",
    "1",
    "2",
    "3",
    "7",
    "42",
    "1 yes",
    "2 yes",
    "#1",
    "#2 admin ~ok",
    "#3 officer 530127 ~ok",
    "~ok",
    "~no",
    "~2",
    "~999999",
    "abc",
    "嵩明-2026-0001",
    "安宁-2026-0001",
    "1e9",
    "0x10",
    "１",
    "1.5",
    "@530127",
    "month @all",
    "a b c d e f",
    "🙂",
    "sc1",
    "en",
    "zh_TW",
    "xx",
)


def _ids(rng: random.Random, targets: Targets) -> str:
    pool = [*targets.filing_ids, 1, 2, 3, 4, 5, 0, 10, 99, 1000, 2147483647]
    return str(rng.choice(pool))


class FuzzGenerator:
    """A seeded mix of everything a webhook can be sent."""

    # (kind, weight): the shares of each kind of post.
    WEIGHTS: tuple[tuple[str, int], ...] = (
        ("text", 14),
        ("text_weird", 7),
        ("text_huge", 2),
        ("command", 9),
        ("command_outside_role", 8),
        ("command_forged_id", 7),
        ("media", 10),
        ("service_message", 2),
        ("edited", 3),
        ("press_real", 16),
        ("press_forged", 7),
        ("press_invented", 3),
        ("other_update", 3),
        ("malformed", 4),
        ("wrong_secret", 1),
        ("known_failure", 0),  # see KNOWN_FAILURES; 1 with known_failures=True
    )

    def __init__(
        self,
        rng: random.Random,
        emulator: BotApiEmulator,
        people: list[Person],
        targets: Targets,
        *,
        bot_messages: Callable[[int], list[JSON]],
        max_body: int,
        known_failures: bool = False,
    ) -> None:
        self.rng = rng
        self.emulator = emulator
        self.people = people
        self.targets = targets
        self.bot_messages = bot_messages
        self.max_body = max_body
        self._kinds = [k for k, _ in self.WEIGHTS]
        self._weights = [w or int(known_failures and k == "known_failure") for k, w in self.WEIGHTS]
        self._forged_ids = iter(range(900_000_000, 2_000_000_000))
        self._odd_ids = [0, -1, -(2**31), 2**31, 2**53 + 1, 2**63 - 1]
        self._current = people[0]
        self._left = 0
        self._last = ""
        self._builders: dict[str, Callable[[], Planned]] = {
            "text": self._text,
            "text_weird": self._text_weird,
            "text_huge": self._text_huge,
            "command": self._command,
            "command_outside_role": self._command_outside_role,
            "command_forged_id": self._command_forged_id,
            "media": self._media,
            "service_message": self._service_message,
            "edited": self._edited,
            "press_real": self._press_real,
            "press_forged": self._press_forged,
            "press_invented": self._press_invented,
            "other_update": self._other_update,
            "malformed": self._malformed,
            "wrong_secret": self._wrong_secret,
            "known_failure": self._known_failure,
        }

    def next(self) -> Planned:
        # People act in bursts, and a press is often followed by another on the answer it got:
        # that is how a random walk gets deep into a dialog (a registration, a filing, a decision).
        if self._left <= 0:
            self._current = self.rng.choice(self.people)
            self._left = self.rng.randint(1, 8)
        self._left -= 1
        if self._last == "press_real" and self.rng.random() < 0.5:
            kind = "press_real"
        else:
            kind = self.rng.choices(self._kinds, self._weights)[0]
        self._last = kind
        return self._builders[kind]()

    # ---- people and their messages ---------------------------------------------------------------

    def _person(self) -> Person:
        return self._current

    def _message(
        self, kind: str, person: Person, fields: JSON, expect: str = ANSWER, **extra: Any
    ) -> Planned:
        # The emulator files the message in the person's chat (and opens it), as a client would.
        self.emulator._user_message(person.telegram_id, fields)
        update = self.emulator.updates[-1]
        self._forget_emulator_queue()
        return Planned(kind, expect, _encode(update), person=person, update_id=update["update_id"], **extra)

    def _forget_emulator_queue(self) -> None:
        # No webhook is set and nobody polls: the test delivers each update itself, so the
        # emulator's own record of them would only grow.
        self.emulator.updates.clear()
        self.emulator._pending.clear()

    def _random_text(self, low: int = 1, high: int = 40) -> str:
        pieces = [*PLAUSIBLE, *EMOJI, *RTL, *INVISIBLE, *ODD, *CONTROL]
        count = self.rng.randint(low, high)
        text = "".join(
            self.rng.choice(pieces) if self.rng.random() < 0.3 else self.rng.choice(string.printable)
            for _ in range(count)
        )
        return text

    def typed(self, kind: str, person: Person, text: str, **extra: Any) -> Planned:
        """`text` as `person`'s client sends it, with the entity it marks a command with."""
        # Telegram trims surrounding whitespace and never delivers an empty message.
        if not text.strip(" \t\r\n\u3000\u2028\u2029\x0b\x0c\x85"):
            text = text + "。"
        fields: JSON = {"text": text}
        if text.startswith("/"):
            head = text.split(" ", 1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(head)}]
        return self._message(kind, person, fields, **extra)

    def _text(self) -> Planned:
        person = self._person()
        if self.rng.random() < 0.6:
            text = self.rng.choice(PLAUSIBLE)
        else:
            text = self._random_text()
        return self.typed("text", person, text)

    def _text_weird(self) -> Planned:
        person = self._person()
        pool = (EMOJI, RTL, INVISIBLE, CONTROL, ODD)
        text = "".join(self.rng.choice(self.rng.choice(pool)) for _ in range(self.rng.randint(1, 30)))
        if self.rng.random() < 0.2:
            text = "/" + text  # a "command" made of odd characters
        return self.typed("text_weird", person, text)

    def _text_huge(self) -> Planned:
        person = self._person()
        # Beyond Telegram's 4096 characters, up to what still fits the webhook's body limit.
        size = int(4097 * (14 ** self.rng.random()))
        unit = self.rng.choice(["字", "a", "😀", "长文本 ", "\n", "\u200b"])
        text = (unit * (size // len(unit) + 1))[:size]
        text = "开头" + text
        if self.rng.random() < 0.2:
            text = "/new " + text
        planned = self.typed("text_huge", person, text)
        if len(planned.body) > self.max_body:
            planned.expect = REJECTED
            planned.kind = "text_too_big"
        return planned

    def _command(self) -> Planned:
        person = self._person()
        allowed = [c.name for c in menus.COMMANDS if _allowed(c, person)]
        # Heavy reports (a spreadsheet, a chart) are a small share: the drill is about the edges.
        if self.rng.random() < 0.85:
            allowed = [n for n in allowed if n not in ("export", "stats")]
        if person.role == "admin":
            # The administrator's real role changes are not fuzzed: the drill checks that roles
            # never change, which holds only if nobody who may change them confirms a change.
            allowed = [n for n in allowed if n not in ("grant", "revoke", "move")]
        name = self.rng.choice([*allowed, "nosuchcommand", "START", "help@rongcuo_test_bot", "x" * 80])
        args = self.rng.choice(COMMAND_ARGS)
        return self.typed("command", person, f"/{name} {args}".strip())

    def _command_outside_role(self) -> Planned:
        person = self._person()
        name = self.rng.choice(
            [
                c.name
                for c in menus.COMMANDS
                if c.audience not in (menus.ANYONE, menus.REGISTERED) and not _allowed(c, person)
            ]
        )
        args = self.rng.choice([*COMMAND_ARGS, _ids(self.rng, self.targets)])
        text = f"/{name} {args}".strip()
        if self.rng.random() < 0.5:
            return self.typed("command_outside_role", person, text, refused_command=name)
        # The same command forged onto a button of a real bot message.
        return self._press("press_outside_role", person, text[:64], refused_command=name)

    def _command_forged_id(self) -> Planned:
        person = self._person()
        name = self.rng.choice(
            [
                "filing",
                "withdraw",
                "resume",
                "deldraft",
                "answer",
                "progress",
                "evidence",
                "visitform",
                "savecheck",
                "audit",
                "accept",
                "reject",
                "return",
                "close",
                "rectify",
                "openreview",
                "guidance",
                "itemok",
                "itemback",
                "extend",
                "visit",
                "team",
                "findings",
                "decide",
                "review",
            ]
        )
        arg = self.rng.choice(
            [
                _ids(self.rng, self.targets),
                self.rng.choice(self.targets.filing_numbers or ["嵩明-2026-0001"]),
                f"{_ids(self.rng, self.targets)} yes",
            ]
        )
        text = f"/{name} {arg}"
        if self.rng.random() < 0.5:
            return self.typed("command_forged_id", person, text)
        return self._press("press_forged_id", person, text[:64])

    def _media(self) -> Planned:
        person = self._person()
        kind = self.rng.choice(MEDIA_KINDS)
        fields = media_fields(self.rng, self.emulator, kind)
        if self.rng.random() < 0.3 and kind in ("photo", "document", "video", "audio", "animation", "voice"):
            caption = self.rng.choice(
                ["/import", "/import 1 ~ok", "说明", self._random_text(1, 20), "字" * 1100]
            )
            fields["caption"] = caption
        return self._message(f"media:{kind}", person, fields)

    def _service_message(self) -> Planned:
        """Status messages in a private chat: the bot's filter leaves them alone, quietly."""
        person = self._person()
        kind = self.rng.choice(list(SERVICE_FIELDS))
        return self._message(f"service:{kind}", person, SERVICE_FIELDS[kind](person), expect=QUIET)

    def _edited(self) -> Planned:
        person = self._person()
        chat = self.emulator._chats.get(person.telegram_id)
        latest = list(itertools.islice(reversed(chat.messages.values()), 30)) if chat is not None else []
        own = [
            m.data["message_id"]
            for m in latest
            if not m.outgoing and "text" in m.data and len(m.data["text"]) < 5000
        ]
        if not own:
            return self._text()
        message_id = self.rng.choice(own)
        text = self.rng.choice([*PLAUSIBLE, self._random_text()])
        try:
            self.emulator.user(person.telegram_id).edit(message_id, text + "（改）")
        except AssertionError:
            return self._text()
        update = self.emulator.updates[-1]
        self._forget_emulator_queue()
        return Planned("edited", ANSWER, _encode(update), person=person, update_id=update["update_id"])

    # ---- button presses ------------------------------------------------------------------------

    def _recent_with_buttons(self, person: Person) -> list[JSON]:
        return [
            m
            for m in self.bot_messages(person.telegram_id)
            if (m.get("reply_markup") or {}).get("inline_keyboard")
        ]

    def _press(self, kind: str, person: Person, data: str, *, refused_command: str | None = None) -> Planned:
        """`data` pressed on one of the person's recent bot messages, whatever its buttons say."""
        recent = self.bot_messages(person.telegram_id)
        if not recent:
            # Nothing to press on yet: the person says something instead.
            return self.typed(kind.replace("press", "typed"), person, data, refused_command=refused_command)
        message = self.rng.choice(recent[-8:])
        record = self.emulator.user(person.telegram_id).press_data(data, message["message_id"])
        update = self.emulator.updates[-1]
        self._forget_emulator_queue()
        return Planned(
            kind,
            PRESS,
            _encode(update),
            person=person,
            update_id=update["update_id"],
            callback_id=record.id,
            refused_command=refused_command,
        )

    def _press_real(self) -> Planned:
        person = self._person()
        keyed = self._recent_with_buttons(person)
        if not keyed:
            return self._text()
        # Mostly the newest question, sometimes an older one (a stale button).
        message = keyed[-1] if self.rng.random() < 0.8 else self.rng.choice(keyed)
        buttons = [
            b for row in message["reply_markup"]["inline_keyboard"] for b in row if "callback_data" in b
        ]
        if person.role == "admin":
            buttons = [b for b in buttons if not _changes_roles(b["callback_data"])]
        if not buttons:
            return self._text()
        data = self.rng.choice(buttons)["callback_data"]
        record = self.emulator.user(person.telegram_id).press_data(data, message["message_id"])
        update = self.emulator.updates[-1]
        self._forget_emulator_queue()
        return Planned(
            "press_real",
            PRESS,
            _encode(update),
            person=person,
            update_id=update["update_id"],
            callback_id=record.id,
        )

    def _stolen(self, person: Person) -> str:
        """A real button's data from someone else's chat: their dialog's step, their filing's id."""
        other = self.rng.choice([p for p in self.people if p is not person])
        found = [
            b["callback_data"]
            for m in self._recent_with_buttons(other)
            for row in m["reply_markup"]["inline_keyboard"]
            for b in row
            if "callback_data" in b and not (person.role == "admin" and _changes_roles(b["callback_data"]))
        ]
        return self.rng.choice(found) if found else "/help"

    def _press_forged(self) -> Planned:
        person = self._person()
        data = self.rng.choice(
            [
                self._stolen(person),
                self._stolen(person),
                self._random_text(1, 20)[:64] or "x",
                "".join(
                    self.rng.choice(string.ascii_letters + ":!/#~") for _ in range(self.rng.randint(1, 64))
                ),
                f"{self.rng.getrandbits(32):x}:name:{self.rng.choice(['!back', '!skip', '!exit', 'x', '530127'])}",
                f"/filing {_ids(self.rng, self.targets)}",
                f"/withdraw {_ids(self.rng, self.targets)} yes",
                f"/deldraft {_ids(self.rng, self.targets)} yes",
                f"/accept {_ids(self.rng, self.targets)}",
                f"/answer {_ids(self.rng, self.targets)}",
                "/grant #1 admin ~ok" if person.role != "admin" else "/help",
                "/import 1 ~ok" if person.role != "admin" else "/me",
                "/",
                "//",
                "/start@other_bot",
                ":::",
                "a" * 64,
                "字" * 21,
                "x" * 300,  # beyond Telegram's 64 bytes: a forger is not bound by it
            ]
        )
        refused = _outside_role(data, person)
        return self._press("press_forged", person, data, refused_command=refused)

    def _press_invented(self) -> Planned:
        """A callback query Telegram never sent: unknown query id, missing or inaccessible message."""
        person = self._person()
        update_id = next(self._forged_ids)
        query: JSON = {
            "id": str(self.rng.getrandbits(63)),
            "from": _user(person),
            "chat_instance": str(self.rng.getrandbits(40)),
            "data": self.rng.choice(
                ["/help", "/me", "x:y:z", "/filing 1", self._random_text(1, 10)[:64] or "x"]
            ),
        }
        shape = self.rng.choice(["missing_message", "inaccessible", "no_message", "inline"])
        chat = {"id": person.telegram_id, "type": "private", "first_name": person.name}
        if shape == "missing_message":
            query["message"] = {
                "message_id": self.rng.randint(10**6, 10**7),
                "date": 1_700_000_000,
                "chat": chat,
                "from": {"id": self.emulator.bot_id, "is_bot": True, "first_name": "bot"},
                "text": "一条并不存在的消息",
                "reply_markup": {"inline_keyboard": [[{"text": "按钮", "callback_data": query["data"]}]]},
            }
        elif shape == "inaccessible":
            query["message"] = {"message_id": self.rng.randint(1, 10**6), "date": 0, "chat": chat}
        elif shape == "inline":
            query["inline_message_id"] = "AAAA" + str(self.rng.getrandbits(40))
        update = {"update_id": update_id, "callback_query": query}
        return Planned(
            f"press_invented:{shape}",
            PRESS,
            _encode(update),
            person=person,
            update_id=update_id,
            callback_id=query["id"],
            refused_command=_outside_role(query["data"], person),
        )

    # ---- what is not a private message -------------------------------------------------------

    def _other_update(self) -> Planned:
        person = self._person()
        if self._odd_ids and self.rng.random() < 0.05:
            # A private message under an update id Telegram's sequence never gives: each once, as
            # a second delivery of one id is a duplicate, which the bot rightly leaves unanswered.
            update_id = self._odd_ids.pop()
            message = plain_message(person, self.rng.choice(["/help", "/me", "张三"]), update_id % 1000)
            update = {"update_id": update_id, "message": message}
            return Planned("other:odd_update_id", ANSWER, _encode(update), person=person, update_id=update_id)
        update_id = next(self._forged_ids)
        kind, payload = self.rng.choice(list(OTHER_UPDATES.items()))
        update = {"update_id": update_id, kind: payload(person, self.rng)}
        return Planned(f"other:{kind}", QUIET, _encode(update), person=person, update_id=update_id)

    def _malformed(self) -> Planned:
        name, body = self.rng.choice(malformed_bodies(self.rng, next(self._forged_ids), self._person()))
        return Planned(f"malformed:{name}", REJECTED, body)

    def _known_failure(self) -> Planned:
        name, known = self.rng.choice(list(KNOWN_FAILURES.items()))
        person = self.rng.choice([p for p in self.people if p.role == known.sender])
        update_id = next(self._forged_ids)
        callback_id = str(update_id) if known.expect == PRESS else None
        body = known.build(person, update_id)
        try:
            update_id = json.loads(body)["update_id"]
        except (ValueError, RecursionError, KeyError, TypeError):
            pass  # not an update at all
        return Planned(
            f"known:{name}",
            known.expect,
            body,
            person=person,
            update_id=update_id,
            callback_id=callback_id,
            needs_reply=known.expect != PRESS,
        )

    def _wrong_secret(self) -> Planned:
        person = self._person()
        update = {"update_id": next(self._forged_ids), "message": plain_message(person, "/start")}
        shape = self.rng.choice(["no_header", "wrong_header", "wrong_path", "swapped", "get"])
        planned = Planned(f"secret:{shape}", REJECTED, _encode(update), person=person)
        if shape == "no_header":
            planned.headers = {}
        elif shape == "wrong_header":
            planned.headers = {"X-Telegram-Bot-Api-Secret-Token": self.rng.choice(["", "x", "a" * 300])}
        elif shape == "wrong_path":
            planned.path = "/telegram/webhook/" + "".join(
                self.rng.choice("0123456789abcdef") for _ in range(64)
            )
        elif shape == "swapped":
            planned.path = "swap"  # the header's value in the path, the path's in the header
        else:
            planned.method = "GET"
        return planned


# ---- shapes ---------------------------------------------------------------------------------------


def _allowed(command: menus.MenuCommand, person: Person) -> bool:
    if command.audience == menus.ANYONE:
        return True
    if person.role == "stranger":
        return False
    if command.audience == menus.REGISTERED:
        return True
    return any(role in person.roles for role in command.audience.split("|"))


def _outside_role(data: str, person: Person) -> str | None:
    """The command a pressed `/name ...` names, when it needs a role `person` does not have."""
    if not data.startswith("/"):
        return None
    name = data[1:].split(" ", 1)[0].split("@", 1)[0].lower()
    for command in menus.COMMANDS:
        if command.name == name and command.audience not in (menus.ANYONE, menus.REGISTERED):
            return None if _allowed(command, person) else name
    return None


def _changes_roles(action: str) -> bool:
    return action.split(" ", 1)[0] in ("/grant", "/revoke", "/move") and "~ok" in action.split()


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _encode(update: JSON) -> bytes:
    # ensure_ascii keeps any character (even one Telegram would never send) transportable.
    return json.dumps(update).encode()


def _user(person: Person) -> JSON:
    return {"id": person.telegram_id, "is_bot": False, "first_name": person.name, "language_code": "zh-hans"}


def plain_message(person: Person, text: str, message_id: int = 1) -> JSON:
    return {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": person.telegram_id, "type": "private", "first_name": person.name},
        "from": _user(person),
        "text": text,
    }


def _file(rng: random.Random, emulator: BotApiEmulator, kind: str = "document") -> JSON:
    """A file Telegram holds (so getFile works) or a file id nobody ever issued."""
    if rng.random() < 0.5:
        stored = emulator.store_file(b"%PDF-1.4 fuzz " + rng.randbytes(rng.randint(0, 64)), kind)
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    return {"file_id": "forged-" + str(rng.getrandbits(64)), "file_unique_id": str(rng.getrandbits(32))}


def _size(rng: random.Random) -> int | None:
    return rng.choice([None, 0, 1, 2048, 20 * 1024 * 1024 + 1, 2**31 - 1, 2**53, 10**15])


MEDIA_KINDS = (
    "photo",
    "document",
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
    "invoice",
    "empty",
)


def media_fields(rng: random.Random, emulator: BotApiEmulator, kind: str) -> JSON:
    size = _size(rng)
    sized = {"file_size": size} if size is not None else {}
    if kind == "photo":
        sizes = [
            {**_file(rng, emulator, "photo"), "width": w, "height": h, **sized}
            for w, h in rng.choice([[(90, 90)], [(90, 60), (320, 213), (1280, 853)], [(1, 10000)]])
        ]
        return {"photo": sizes}
    if kind == "document":
        name = rng.choice(
            [
                "纪要.pdf",
                "a" * 300 + ".docx",
                "../../etc/passwd",
                "无扩展名",
                ".hidden",
                "x.exe",
                "报表.xlsx",
                "名单.csv",
                "😀.png",
                "con.txt",
                None,
            ]
        )
        mime = rng.choice(
            [
                "application/pdf",
                "application/x-msdownload",
                "text/html",
                "",
                "a/b/c",
                "image/svg+xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "text/csv",
                None,
            ]
        )
        doc: JSON = {**_file(rng, emulator), **sized}
        if name is not None:
            doc["file_name"] = name
        if mime is not None:
            doc["mime_type"] = mime
        return {"document": doc}
    if kind == "sticker":
        return {
            "sticker": {
                **_file(rng, emulator, "sticker"),
                "type": rng.choice(["regular", "mask", "custom_emoji"]),
                "width": 512,
                "height": 512,
                "is_animated": rng.random() < 0.5,
                "is_video": False,
                "emoji": rng.choice(EMOJI),
            }
        }
    if kind == "voice":
        return {"voice": {**_file(rng, emulator, "voice"), "duration": rng.choice([0, 3, 86400]), **sized}}
    if kind == "audio":
        return {
            "audio": {
                **_file(rng, emulator),
                "duration": 180,
                "title": "歌",
                "mime_type": "audio/mpeg",
                **sized,
            }
        }
    if kind == "video":
        return {"video": {**_file(rng, emulator), "width": 1920, "height": 1080, "duration": 60, **sized}}
    if kind == "video_note":
        return {"video_note": {**_file(rng, emulator), "length": 240, "duration": 9, **sized}}
    if kind == "animation":
        file = {**_file(rng, emulator), **sized}
        # Telegram sends an animation with a document too, for old clients.
        return {
            "animation": {**file, "width": 320, "height": 240, "duration": 2, "mime_type": "video/mp4"},
            "document": {**file, "mime_type": "video/mp4", "file_name": "a.gif.mp4"},
        }
    if kind == "location":
        return {"location": {"latitude": rng.uniform(-90, 90), "longitude": rng.uniform(-180, 180)}}
    if kind == "venue":
        location = {"latitude": 25.05, "longitude": 102.71}
        return {
            "location": location,
            "venue": {"location": location, "title": "县政府", "address": "嵩明县" * rng.randint(1, 50)},
        }
    if kind == "contact":
        return {
            "contact": {"phone_number": rng.choice(["+8613800000000", "", "电话"]), "first_name": "联系人"}
        }
    if kind == "poll":
        return {"poll": poll(str(rng.getrandbits(40)))}
    if kind == "dice":
        return {
            "dice": {"emoji": rng.choice(["🎲", "🎯", "🏀", "⚽", "🎳", "🎰"]), "value": rng.randint(1, 6)}
        }
    if kind == "game":
        return {
            "game": {
                "title": "游戏",
                "description": "描述",
                "photo": [{**_file(rng, emulator, "photo"), "width": 90, "height": 90}],
            }
        }
    if kind == "story":
        return {"story": {"chat": {"id": 777, "type": "channel", "title": "频道"}, "id": rng.randint(1, 99)}}
    if kind == "invoice":
        return {
            "invoice": {
                "title": "账单",
                "description": "说明",
                "start_parameter": "x",
                "currency": "CNY",
                "total_amount": 100,
            }
        }
    return {}  # a message with no content at all


def poll(poll_id: str) -> JSON:
    return {
        "id": poll_id,
        "question": "投票？",
        "options": [
            {"text": "是", "voter_count": 0, "persistent_id": "a"},
            {"text": "否", "voter_count": 1, "persistent_id": "b"},
        ],
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }


SERVICE_FIELDS: dict[str, Callable[[Person], JSON]] = {
    "pinned_message": lambda p: {
        "pinned_message": {"message_id": 1, "date": 0, "chat": {"id": p.telegram_id, "type": "private"}}
    },
    "write_access_allowed": lambda p: {"write_access_allowed": {"from_request": True}},
    "users_shared": lambda p: {"users_shared": {"request_id": 1, "users": [{"user_id": 5}]}},
    "chat_shared": lambda p: {"chat_shared": {"request_id": 2, "chat_id": -100123}},
    "message_auto_delete_timer_changed": lambda p: {
        "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}
    },
    "web_app_data": lambda p: {"web_app_data": {"data": "{}", "button_text": "打开"}},
    "connected_website": lambda p: {"connected_website": "example.com"},
    "proximity_alert_triggered": lambda p: {
        "proximity_alert_triggered": {"traveler": _user(p), "watcher": _user(p), "distance": 10}
    },
}


def _group_message(person: Person, rng: random.Random) -> JSON:
    message = plain_message(person, rng.choice(["/start", "/queue", "张三", "/grant #1 admin ~ok"]))
    message["chat"] = {"id": -1001234567890, "type": rng.choice(["group", "supergroup"]), "title": "群"}
    return message


OTHER_UPDATES: dict[str, Callable[[Person, random.Random], JSON]] = {
    # Not asked for (allowed_updates is message and callback_query) but a forger can post them.
    "message": _group_message,
    "channel_post": lambda p, r: {
        "message_id": 5,
        "date": 0,
        "chat": {"id": -1009876543210, "type": "channel", "title": "频道"},
        "text": "/start",
    },
    "edited_channel_post": lambda p, r: {
        "message_id": 5,
        "date": 0,
        "edit_date": 1,
        "chat": {"id": -1009876543210, "type": "channel", "title": "频道"},
        "text": "/queue",
    },
    "my_chat_member": lambda p, r: {
        "chat": {"id": p.telegram_id, "type": "private", "first_name": p.name},
        "from": _user(p),
        "date": 0,
        "old_chat_member": {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "b"}},
        "new_chat_member": {
            "status": "kicked",
            "until_date": 0,
            "user": {"id": 123456, "is_bot": True, "first_name": "b"},
        },
    },
    "inline_query": lambda p, r: {"id": "1", "from": _user(p), "query": "/grant", "offset": ""},
    "chosen_inline_result": lambda p, r: {"result_id": "1", "from": _user(p), "query": "x"},
    "poll_answer": lambda p, r: {
        "poll_id": "1",
        "user": _user(p),
        "option_ids": [0],
        "option_persistent_ids": ["a"],
    },
    "poll": lambda p, r: poll("1"),
    "chat_join_request": lambda p, r: {
        "chat": {"id": -100555, "type": "supergroup", "title": "群"},
        "from": _user(p),
        "user_chat_id": p.telegram_id,
        "date": 0,
    },
    "message_reaction": lambda p, r: {
        "chat": {"id": p.telegram_id, "type": "private"},
        "message_id": 1,
        "user": _user(p),
        "date": 0,
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}],
    },
    "pre_checkout_query": lambda p, r: {
        "id": "1",
        "from": _user(p),
        "currency": "CNY",
        "total_amount": 100,
        "invoice_payload": "x",
    },
    "shipping_query": lambda p, r: {
        "id": "1",
        "from": _user(p),
        "invoice_payload": "x",
        "shipping_address": {
            "country_code": "CN",
            "state": "云南",
            "city": "昆明",
            "street_line1": "1",
            "street_line2": "",
            "post_code": "650000",
        },
    },
}


def malformed_bodies(rng: random.Random, update_id: int, person: Person) -> list[tuple[str, bytes]]:
    """Bodies that are not a Telegram update: every one must get a 4xx."""
    good = plain_message(person, "/start")
    return [
        ("empty", b""),
        ("not_json", b"{not json"),
        ("truncated", json.dumps({"update_id": update_id, "message": good}).encode()[:-7]),
        ("array", json.dumps([{"update_id": update_id, "message": good}]).encode()),
        ("number", b"42"),
        ("string", b'"update"'),
        ("null", b"null"),
        ("object_without_update_id", json.dumps({"message": good}).encode()),
        ("update_id_string", json.dumps({"update_id": str(update_id), "message": good}).encode()),
        ("update_id_float", json.dumps({"update_id": update_id + 0.5, "message": good}).encode()),
        ("update_id_null", json.dumps({"update_id": None, "message": good}).encode()),
        ("message_string", json.dumps({"update_id": update_id, "message": "hello"}).encode()),
        ("message_list", json.dumps({"update_id": update_id, "message": [good]}).encode()),
        ("invalid_utf8", b'{"update_id": 1, "message": {"text": "\xff\xfe\xc3\x28"}}'),
        ("binary", rng.randbytes(rng.randint(1, 2048))),
        ("too_big", json.dumps({"update_id": update_id, "message": good, "pad": "x" * 70_000}).encode()),
    ]


# ---- what the fuzz found ----------------------------------------------------------------------------
# Each was a bug in the program, found by this drill and fixed since. Each stays a case of its own
# in test_fuzz_drill.py and a kind in the random mix (RONGCUO_FUZZ_KNOWN=0 leaves them out).


@dataclass(frozen=True)
class KnownFailure:
    reason: str
    sender: str  # the role of who sends it
    expect: str  # ANSWER, PRESS, REJECTED or TOLERATED: what the fixed program does
    build: Callable[[Person, int], bytes]


def _typed(text: str) -> Callable[[Person, int], bytes]:
    return lambda person, update_id: _encode({"update_id": update_id, "message": plain_message(person, text)})


def _shaped(**changes: Any) -> Callable[[Person, int], bytes]:
    def build(person: Person, update_id: int) -> bytes:
        message = plain_message(person, "/help")
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        return _encode({"update_id": update_id, "message": message})

    return build


_ID_REASON = (
    "`arg.isdigit()` accepts what int() or the database cannot take: non-ASCII digits ('²' passes "
    "isdigit, int('²') raises ValueError) and numbers beyond the id column (OverflowError on SQLite, "
    "int32 out of range on PostgreSQL); the handler raises and the person gets error.internal "
    "(conversation.failed). E.g. bot/services/filings.py:163,174, review.py:104,245, closing.py:33, "
    "updates.py:23, tolerance.py:43,49, rectification.py:97,181, visits.py:73, selfchecks.py:75, "
    "audit_trail.py:40, admin.py:363 (#id), filings.py:105 (sc<id>)"
)

KNOWN_FAILURES: dict[str, KnownFailure] = {
    "deeply_nested_json": KnownFailure(
        "json.loads raises RecursionError, not ValueError, on a deeply nested body: "
        "bot/channels/webhook.py:63-66 lets it through and aiohttp answers 500",
        "cadre",
        REJECTED,
        lambda person, update_id: (
            b'{"update_id": %d, "message": ' % update_id + b"[" * 30_000 + b"]" * 30_000 + b"}"
        ),
    ),
    "message_without_chat": KnownFailure(
        "Update.de_json does not enforce required fields, so webhook.receive (bot/channels/webhook.py:67-75) "
        "accepts a message without `chat`; PTB's ChatType filter then raises AttributeError "
        "(telegram.handler_error)",
        "cadre",
        TOLERATED,
        _shaped(chat=None),
    ),
    "text_not_a_string": KnownFailure(
        "a message whose text is a number is accepted (200); to_event passes it to parse_text, "
        "which calls .strip() on it (bot/channels/telegram.py to_event, dialogs/events.py parse_text): "
        "AttributeError, telegram.handler_error, no answer",
        "cadre",
        TOLERATED,
        _shaped(text=12345),
    ),
    "chat_id_not_a_number": KnownFailure(
        "a chat id that is not a number is accepted (200), and answering it raises: "
        "BotCommandScopeChat(int('abc')) gives ValueError in TelegramChannel._deliver "
        "(bot/channels/telegram.py) or, once the menu is set, send_message gives BadRequest('Chat "
        "not found'), which TelegramChannel._send does not catch: "
        "telegram.handler_error",
        "cadre",
        TOLERATED,
        lambda person, update_id: _shaped(chat={"id": "abc", "type": "private"})(person, update_id),
    ),
    "press_without_data": KnownFailure(
        "a callback query without data (a game button's, game_short_name) is never answered: "
        "TelegramChannel._on_callback (bot/channels/telegram.py) returns before query.answer(), "
        "so the client's spinner runs until Telegram gives up",
        "cadre",
        PRESS,
        lambda person, update_id: _encode(
            {
                "update_id": update_id,
                "callback_query": {
                    "id": str(update_id),
                    "from": _user(person),
                    "chat_instance": "1",
                    "game_short_name": "game",
                },
            }
        ),
    ),
    "filing_id_beyond_integer": KnownFailure(
        _ID_REASON, "cadre", ANSWER, _typed("/filing 99999999999999999999")
    ),
    "filing_id_superscript": KnownFailure(_ID_REASON, "cadre", ANSWER, _typed("/filing ²")),
    "withdraw_id_beyond_integer": KnownFailure(
        _ID_REASON, "cadre", ANSWER, _typed("/withdraw 99999999999999999999 yes")
    ),
    "new_from_selfcheck_beyond_integer": KnownFailure(
        _ID_REASON, "cadre", ANSWER, _typed("/new sc99999999999999999999")
    ),
    "accept_id_superscript": KnownFailure(_ID_REASON, "officer", ANSWER, _typed("/accept ²")),
    "audit_id_beyond_integer": KnownFailure(
        _ID_REASON, "officer", ANSWER, _typed("/audit 99999999999999999999")
    ),
    "update_id_beyond_64_bits": KnownFailure(
        "an update id beyond 64 bits passes webhook.receive's isinstance(int) check "
        "(bot/channels/webhook.py:67), and ConversationService._claim stores it in "
        "processed_update.update_id, a BigInteger: OverflowError on SQLite, out of range on "
        "PostgreSQL, conversation.failed and error.internal (the processed_update work is not "
        "committed yet: if it changes, this case changes with it)",
        "cadre",
        TOLERATED,
        lambda person, update_id: _encode(
            {"update_id": 2**64 + update_id, "message": plain_message(person, "/help")}
        ),
    ),
    "grant_user_beyond_integer": KnownFailure(
        _ID_REASON, "admin", ANSWER, _typed("/grant #99999999999999999999")
    ),
}
