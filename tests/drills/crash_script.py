"""Scripted users for the crash drill: registration, a whole pre-filing, a self-check, like a person.

A `ScriptedUser` reads the newest bot message the way a person reads the screen and answers what
is asked from its `Plan` (answers drawn per user from a seeded random generator). When no reply
comes within its patience (the bot was killed), it presses the same button again, or sends
/start to see where it is; an "impatient" user sends the same text or file again first, which a
crash can turn into an answer to the next question, so every user checks the summary before
submitting and corrects what is wrong, as the summary asks them to.

An answer counts as acknowledged when the screen shows that the bot moved past its question (the
next question, the summary, a receipt, a result); `Outcome.acked` records those answers as the
database must hold them.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from dialogs.actions import parse_step_action
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory, parse_directory
from dialogs.flows import prefiling
from dialogs.parsing.amounts import parse_amount
from dialogs.parsing.dates import format_date
from dialogs.policy.pack import PolicyPack, load_pack
from dialogs.texts import Texts
from tests.emulator import BotApiEmulator, UserDriver, find_button, message_text, tiny_png

JSON = dict[str, Any]
TEXTS = Texts("zh_CN")
PACK: PolicyPack = load_pack("yunnan")
TZ = ZoneInfo("Asia/Shanghai")


def _directory() -> OrgDirectory:
    source = resources.files("dialogs") / "data" / "org_directory.yaml"
    return parse_directory(yaml.safe_load(source.read_text(encoding="utf-8")))


DIRECTORY = _directory()
# What the summary shows is computed with the dialog's own display code, so the check compares
# like with like (date formats, amounts, labels).
SUMMARY_CTX = Context(texts=TEXTS, viewer=Viewer(), directory=DIRECTORY, tz=TZ, policy=PACK)

REGISTRATION_STEPS = ("name", "city", "county", "unit", "position")
TEXT_FIELDS = (
    "title",
    "background",
    "planned_action",
    "rule_at_risk",
    "necessity",
    "meeting_name",
    "risks",
    "controls",
    "conflict_detail",
)
DATE_FIELDS = ("meeting_date", "start_date", "end_date")
LIST_FIELDS = ("minutes", "milestones", "attachments")
CHOICE_FIELDS = {
    "kind": {"person": "pf.kind.person", "unit": "pf.kind.unit"},
    "decision": {
        "yes": "pf.decision.yes",
        "no": "pf.decision.no",
        "not_required": "pf.decision.not_required",
    },
    "conflict": {"no": "pf.conflict.no", "yes": "pf.conflict.yes"},
}

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
    "海燕",
)
POSITIONS = ("副主任", "科员", "主任", "副局长", "局长", "副镇长", "所长", "股长", "副科长", "站长", "办事员")
PROJECTS = (
    "杨桥片区批而未供土地盘活项目",
    "农村人居环境整治提升工程",
    "城区老旧小区改造试点",
    "高原特色农业产业园建设",
    "营商环境“一窗通办”改革",
    "防汛抢险应急处置工作",
    "历史遗留不动产登记问题化解",
    "重点招商项目落地服务",
)
MEETINGS = ("街道党工委会议", "局党组会议", "县政府常务会议", "镇党委会议", "项目领导小组会议")
MILESTONE_WORK = ("完成场地平整", "完成招标", "主体工程完工", "完成竣工验收", "完成手续补办")
FUNDS = ("50.5万元", "120万", "无", "3000000", "1.2亿", "8万元")
# Long answers: several variants per field so that users differ; each is made unique per user.
WRITING = {
    "background": (
        "落实县委县政府关于盘活批而未供土地的部署，时限为年底前。",
        "上级要求本季度内完成辖区人居环境整治任务，时间紧、任务重。",
        "群众反映强烈的历史遗留问题需要在年内化解，已列入重点督办事项。",
    ),
    "planned_action": (
        "先行开展场地平整和招商对接，同步补办用地手续。",
        "采取容缺受理方式先行办理，后续补齐相关材料。",
        "由专班统筹推进，先实施后完善程序，边干边规范。",
    ),
    "rule_at_risk": (
        "可能存在容缺受理、未批先建的程序瑕疵。",
        "可能与现行审批时限和材料齐全的要求不完全一致。",
        "可能被认为超出常规议事程序的要求。",
    ),
    "necessity": (
        "项目关系重点产业落地和群众就业，时间紧迫。",
        "若不及时推进将影响汛期安全和群众正常生活。",
        "涉及重大民生利益，拖延会造成更大的损失。",
    ),
    "risks": (
        "手续补办不及时可能被认定为违规用地，造成返工损失。",
        "材料补齐前存在程序不完备的风险，可能引发质疑。",
        "资金拨付节奏与工程进度不匹配可能带来损失。",
    ),
    "controls": (
        "设立专班跟踪手续办理，出现问题立即停工整改并报告。",
        "每周向上级报告进展，关键环节留痕备查。",
        "聘请第三方全程监督，发现偏差及时纠正。",
    ),
    "conflict_detail": (
        "本人亲属在项目周边经营商铺，已申请回避相关决策环节。",
        "本人曾在合作企业任职，已按规定报告并回避。",
    ),
}


def normalized(text: str) -> str:
    """A text answer as the dialog stores it (runs of whitespace become one space)."""
    return " ".join(text.split())


@dataclass
class Plan:
    """What one user means to answer; `filing` holds each field's value as the database stores it."""

    user_id: int
    impatient: bool
    name: str
    unit_code: str
    position: str
    filing: dict[str, Any]
    file_bytes: dict[str, bytes]
    selfcheck: dict[str, str]

    @property
    def unit_path(self) -> list[str]:
        """The button labels for city, county and unit."""
        return [u.name for u in DIRECTORY.path(self.unit_code)]

    @property
    def registration(self) -> dict[str, str]:
        city, county, unit = (u.code for u in DIRECTORY.path(self.unit_code))
        return {
            "name": self.name,
            "city": city,
            "county": county,
            "unit": unit,
            "position": self.position,
        }


def make_plan(user_id: int, rng: random.Random, today: date) -> Plan:
    units = [u for u in DIRECTORY if u.level == "unit"]
    unit = rng.choice(units)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN[:8]))
    if len(name) < 2:  # pragma: no cover - a surname and a given name are always two characters
        name += "华"
    suffix = f"（第{user_id}号）"

    def writing(name_: str) -> str:
        return rng.choice(WRITING[name_]) + suffix

    category = rng.choice(PACK.categories)
    situations = rng.sample([s.id for s in PACK.situations], rng.randint(1, 3))
    filing: dict[str, Any] = {
        "kind": rng.choice(("person", "unit")),
        "title": f"{rng.choice(PROJECTS)}{suffix}",
        "category": category.id,
        "situations": [s.id for s in PACK.situations if s.id in situations],
        "background": writing("background"),
        "planned_action": writing("planned_action"),
        "rule_at_risk": writing("rule_at_risk"),
        "necessity": writing("necessity"),
        "decision": rng.choice(("yes", "no", "not_required")),
    }
    file_bytes: dict[str, bytes] = {}
    if filing["decision"] == "yes":
        filing["meeting_name"] = rng.choice(MEETINGS)
        filing["meeting_date"] = (today - timedelta(days=rng.randint(2, 40))).isoformat()
        minutes = []
        for k in range(rng.choice((0, 1, 1, 2))):
            file_name = f"会议纪要{k + 1}.pdf"
            file_bytes[file_name] = f"%PDF-1.4 minutes {user_id} {k}".encode()
            minutes.append({"kind": "document", "name": file_name})
        filing["minutes"] = minutes or None  # an optional step skipped is stored as None
    filing["risks"] = writing("risks")
    filing["controls"] = writing("controls")
    filing["conflict"] = rng.choice(("no", "no", "yes"))
    if filing["conflict"] == "yes":
        filing["conflict_detail"] = writing("conflict_detail")
    start = today + timedelta(days=rng.randint(3, 30))
    end = start + timedelta(days=rng.randint(30, 300))
    filing["start_date"], filing["end_date"] = start.isoformat(), end.isoformat()
    stones = []
    for work in rng.sample(MILESTONE_WORK, rng.randint(0, 2)):
        when = start + timedelta(days=rng.randint(1, (end - start).days))
        stones.append({"date": when.isoformat(), "what": work})
    filing["milestones"] = sorted(stones, key=lambda m: m["date"])
    funds = rng.choice(FUNDS)
    filing["funds"] = parse_amount(funds)
    filing["_funds_typed"] = funds
    photos = [{"kind": "photo", "name": TEXTS("input.kind.photo")} for _ in range(rng.choice((0, 1)))]
    filing["attachments"] = photos or None
    filing["commitment"] = True

    selfcheck = {}
    for question in PACK.questions:
        values = [c.value for c in question.choices]
        # Mostly clear answers, sometimes unsure, so the verdicts differ between users.
        weights = [1.0 if v != "unsure" else 0.3 for v in values]
        selfcheck[question.id] = rng.choices(values, weights)[0]
    return Plan(
        user_id=user_id,
        impatient=rng.random() < 0.3,
        name=name,
        unit_code=unit.code,
        position=rng.choice(POSITIONS),
        filing=filing,
        file_bytes=file_bytes,
        selfcheck=selfcheck,
    )


def stored_filing(plan: Plan) -> dict[str, Any]:
    """The filing's answers as the database must hold them (files compared by kind and name)."""
    return {k: v for k, v in plan.filing.items() if not k.startswith("_")}


def files_as_compared(value: Any) -> Any:
    """Files by kind and name: their file ids are the emulator's, not part of the plan."""
    if not (isinstance(value, list) and value and isinstance(value[0], dict) and "kind" in value[0]):
        return value
    return [{"kind": f["kind"], "name": f["name"]} for f in value]


# --- what a screen says ------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """The newest bot message and what a person would make of it."""

    message: JSON | None

    @property
    def text(self) -> str:
        return message_text(self.message) if self.message else ""

    @property
    def message_id(self) -> int:
        assert self.message is not None
        return int(self.message["message_id"])

    def buttons(self) -> list[JSON]:
        if not self.message:
            return []
        markup = self.message.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def labels(self) -> list[str]:
        return [b["text"] for b in self.buttons()]

    @property
    def step(self) -> tuple[str, str] | None:
        """(dialog instance, step) when the message is a dialog question, from its buttons' actions."""
        for button in self.buttons():
            data = button.get("callback_data") or ""
            parsed = None if data.startswith("/") else parse_step_action(data)
            if parsed is not None:
                return parsed.instance, parsed.step
        return None

    def has(self, key: str) -> bool:
        return _template_prefix(key) in self.text

    def count_on(self, key: str) -> int:
        """The number in a `… n …` button (files/milestones done), 0 when there is no such button."""
        pattern = re.escape(TEXTS(key, count=999_999)).replace("999999", r"(\d+)")
        for label in self.labels():
            found = re.fullmatch(pattern, label)
            if found:
                return int(found.group(1))
        return 0


def _template_prefix(key: str) -> str:
    """The fixed beginning of a message template (up to its first placeholder)."""
    return TEXTS(key).split("{", 1)[0]  # without parameters Texts returns the bare template


WELCOME_BACK = re.compile(re.escape(TEXTS("router.welcome_back", name="@@")).replace("@@", ".+"))
RECEIPT_NUMBER = re.compile(
    re.escape(TEXTS("pf.receipt", number="@@", due="##").split("\n")[1]).replace("@@", r"(\S+)")
)
SAVED = re.compile(re.escape(TEXTS("sc.saved", id=999_999)).replace("999999", r"(\d+)"))
VERDICTS = {key: TEXTS(f"sc.verdict.{key}") for key in ("tolerable", "not_tolerable", "uncertain")}


def milestone_line(milestone: dict[str, str]) -> str:
    return f"· {format_date(date.fromisoformat(milestone['date']))} {milestone['what']}"


def listed_milestones(screen: Screen) -> list[str] | None:
    """The milestones the bot says it has recorded, when the message lists them."""
    header = _template_prefix("milestones.so_far")
    if header not in screen.text:
        return None
    lines = screen.text.split(header, 1)[1].split("\n\n", 1)[0].splitlines()
    return [line for line in lines if line.startswith("· ")]


def is_menu(screen: Screen) -> bool:
    text = screen.text
    return bool(WELCOME_BACK.search(text)) or any(
        text.startswith(TEXTS(k)) for k in ("router.idle", "router.button_expired")
    )


# --- the user ------------------------------------------------------------------------------------


@dataclass
class Act:
    """One thing the user does: type a text, press a button, send a file."""

    kind: str  # "text" | "press" | "document" | "photo"
    value: str  # the text, the button label, the file name
    message_id: int | None = None  # the message a pressed button is on
    answers: str | None = None  # the dialog step this act completes (an acknowledgeable answer)
    expected: Any = None  # that answer as the database stores it
    repeatable: bool = False  # pressing again is harmless (a step button: stale presses are refused)

    def __str__(self) -> str:
        where = f" on #{self.message_id}" if self.message_id else ""
        return f"{self.kind} {self.value!r}{where}"


class ConversationStuck(AssertionError):
    pass


@dataclass
class Outcome:
    """What the user saw happen, for the final checks."""

    filing_number: str | None = None
    selfcheck_id: int | None = None
    verdict: str | None = None
    acked: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"registration": {}, "filing": {}, "selfcheck": {}}
    )
    actions: int = 0
    timeouts: int = 0
    resends: int = 0  # an impatient user sent the same text or file again
    summary_fixes: list[str] = field(default_factory=list)  # fields corrected from the summary
    selfcheck_runs: int = 0
    apologies: int = 0  # the bot answered with an internal-error or busy apology
    seconds: float = 0.0


class ScriptedUser:
    MAX_ACTIONS = 400

    def __init__(self, emulator: BotApiEmulator, plan: Plan, *, patience: float, settle: float = 0.2) -> None:
        self.emulator = emulator
        self.plan = plan
        self.driver: UserDriver = emulator.user(plan.user_id, first_name=plan.name)
        self.patience = patience
        self.settle_for = settle
        self.out = Outcome()
        self.trace: list[str] = []
        self._pending: tuple[str, str, Any] | None = None  # (phase, step, expected) not yet acknowledged
        self._sc_instance: str | None = None
        self._new_sent = False
        self._selfcheck_sent = False
        self._last_text = ""  # the last thing sent if it was a text: a menu after /start means no dialog
        self._fixing: str | None = None
        self._clearing = False

    # --- the conversation, phase by phase -------------------------------------------------------

    async def run(self) -> Outcome:
        started = time.monotonic()
        try:
            await self._phase("registration", self._registration)
            await self._phase("filing", self._filing)
            await self._phase("selfcheck", self._selfcheck)
        except ConversationStuck:
            raise
        except AssertionError as exc:
            raise ConversationStuck(f"{exc}\n{self.describe()}") from exc
        self.out.seconds = time.monotonic() - started
        return self.out

    async def _phase(self, phase: str, decide: Any) -> None:
        while True:
            screen = self.screen()
            self._note_progress(phase, screen)
            act = decide(screen)
            if act is None:
                return
            if self.out.actions >= self.MAX_ACTIONS:
                raise ConversationStuck(f"user {self.plan.user_id} did not finish {phase}\n{self.describe()}")
            seen = screen.step[1] if screen.step else screen.text[:12]
            self.trace.append(f"[#{screen.message_id if screen.message else 0} {seen}]")
            await self._do(act, phase)

    def _registration(self, screen: Screen) -> Act | None:
        plan = self.plan
        if screen.has("reg.done") or screen.has("me.header"):
            return None
        where = screen.step
        if where is not None and where[1] in REGISTRATION_STEPS:
            step = where[1]
            expected = plan.registration[step]
            if step in ("name", "position"):
                return Act("text", expected, answers=step, expected=expected)
            label = plan.unit_path[REGISTRATION_STEPS.index(step) - 1]
            return self._press(screen, label, answers=step, expected=expected)
        if is_menu(screen):
            return Act("text", "/me")  # registered; see what the bot holds
        return Act("text", "/start")

    def _filing(self, screen: Screen) -> Act | None:
        found = RECEIPT_NUMBER.search(screen.text)
        if found and screen.has("pf.receipt"):
            self.out.filing_number = found.group(1)
            return None
        if screen.has("mine.header"):
            for line in screen.text.splitlines():
                parts = line.removeprefix("· ").split("｜")
                if len(parts) == 3 and parts[1] == self.plan.filing["title"]:
                    self.out.filing_number = parts[0]
                    self._ack("filing", "summary", "submitted")
                    return None
            return self._new_filing()
        if screen.has("mine.none"):
            return self._new_filing()
        where = screen.step
        if where is not None and prefiling.FIELD_STEPS.get(where[1]) is not None:
            return self._field(screen, where[1])
        if where is not None and where[1] == "summary":
            return self._summary(screen)
        if where is not None and where[1] == "edit_pick":
            assert self._fixing is not None, f"an edit menu nobody asked for\n{self.describe()}"
            label = TEXTS(prefiling.FIELD_STEPS[self._fixing].label_key)
            return self._press(screen, label)
        if is_menu(screen) or screen.has("reg.done") or screen.has("me.header"):
            if not self._new_sent:
                return self._new_filing()
            # A menu after /new: a late answer to something earlier, or /new was lost in a crash.
            # /start shows a draft in progress; if there is none, /mine shows whether the filing
            # went in (its receipt may have been lost) before starting again.
            return Act("text", "/mine" if self._last_text == "/start" else "/start")
        return Act("text", "/start")

    def _new_filing(self) -> Act:
        self._new_sent = True
        return Act("text", "/new")

    def _field(self, screen: Screen, step: str) -> Act:
        want = self.plan.filing
        value = want.get(step)
        if step in TEXT_FIELDS:
            return Act("text", value, answers=step, expected=value)
        if step in DATE_FIELDS:
            confirm = next((label for label in screen.labels() if label.startswith("✔")), None)
            if confirm is not None:
                return self._press(screen, confirm, answers=step, expected=value)
            return Act("text", value, answers=step, expected=value)
        if step in CHOICE_FIELDS:
            return self._press(screen, TEXTS(CHOICE_FIELDS[step][value]), answers=step, expected=value)
        if step == "category":
            category = PACK.category(value)
            return self._press(
                screen, f"{category.id} {category.name['zh_CN']}", answers=step, expected=value
            )
        if step == "situations":
            for situation in PACK.situations:
                label = f"{situation.id} {situation.title['zh_CN']}"
                ticked = f"☑ {label}" in screen.labels()
                if ticked != (situation.id in value):
                    return self._press(screen, ("☑ " if ticked else "☐ ") + label, toggle=True)
            return self._press(screen, TEXTS("multi.done", count=len(value)), answers=step, expected=value)
        if step in LIST_FIELDS and self._clearing:
            # Correcting a list from the summary: start it afresh rather than guess what is wrong.
            key = "milestones.done" if step == "milestones" else "files.done"
            if screen.count_on(key) > 0:
                undo = TEXTS("milestones.undo" if step == "milestones" else "files.undo")
                return self._press(screen, undo, toggle=True)
            self._clearing = False
        if step in ("minutes", "attachments"):
            files = value or []
            have = screen.count_on("files.done")
            if have < len(files):
                entry = files[have]
                return Act(entry["kind"], entry["name"])
            if have > len(files):
                return self._press(screen, TEXTS("files.undo"), toggle=True)
            if not files:
                return self._press(screen, TEXTS("nav.skip"), answers=step, expected=None)
            return self._press(screen, TEXTS("files.done", count=have), answers=step, expected=value)
        if step == "milestones":
            have = screen.count_on("milestones.done")
            listed = listed_milestones(screen)
            if listed is not None and listed != [milestone_line(m) for m in value[: len(listed)]]:
                return self._press(screen, TEXTS("milestones.undo"), toggle=True)  # not the person's
            if have < len(value):
                stone = value[have]
                return Act("text", f"{stone['date']} {stone['what']}")
            if have > len(value):
                return self._press(screen, TEXTS("milestones.undo"), toggle=True)
            return self._press(screen, TEXTS("milestones.done", count=have), answers=step, expected=value)
        if step == "funds":
            return Act("text", want["_funds_typed"], answers=step, expected=value)
        if step == "commitment":
            return self._press(screen, TEXTS("pf.commit_button"), answers=step, expected=True)
        raise AssertionError(f"the script has no answer for step {step!r}\n{self.describe()}")

    def _summary(self, screen: Screen) -> Act:
        """Check every line against what was meant; correct the first wrong one, else submit."""
        expected = prefiling.summary_lines(SUMMARY_CTX, stored_filing(self.plan))
        shown = [line for line in screen.text.splitlines() if line.startswith("【")]
        for name, line in zip(prefiling.field_path(stored_filing(self.plan)), expected, strict=True):
            if line not in shown:
                self._fixing = name
                self._clearing = name in LIST_FIELDS
                self.out.summary_fixes.append(name)
                return self._press(screen, TEXTS("pf.edit"))
        if len(shown) != len(expected):
            # A field the plan does not have (a decision changed by a stray answer): not expected.
            raise AssertionError(f"the summary shows fields nobody answered: {shown}\n{self.describe()}")
        self._fixing = None
        return self._press(screen, TEXTS("pf.submit"), answers="summary", expected="submitted")

    def _selfcheck(self, screen: Screen) -> Act | None:
        saved = SAVED.search(screen.text)
        if saved:
            self.out.selfcheck_id = int(saved.group(1))
            return None
        if screen.has("sc.result_header"):
            self.out.verdict = next(key for key, text in VERDICTS.items() if text in screen.text)
            if TEXTS("sc.save") in screen.labels():
                return self._press(screen, TEXTS("sc.save"))
            return self._start_selfcheck()  # the result is on screen but can no longer be saved
        where = screen.step
        if where is not None and where[1] in self.plan.selfcheck:
            instance, question_id = where
            if instance != self._sc_instance:
                # A new run of the questionnaire: what was acknowledged in an earlier run is moot.
                self._sc_instance = instance
                self.out.acked["selfcheck"] = {}
                self.out.selfcheck_runs += 1
            value = self.plan.selfcheck[question_id]
            question = PACK.question(question_id)
            label = next(c.label["zh_CN"] for c in question.choices if c.value == value)
            return self._press(screen, label, answers=question_id, expected=value)
        if is_menu(screen) or screen.has("pf.receipt") or screen.has("mine.header"):
            if self._selfcheck_sent and self._last_text != "/start":
                return Act("text", "/start")  # a questionnaire may be in progress: look first
            return self._start_selfcheck()
        return Act("text", "/start")

    def _start_selfcheck(self) -> Act:
        self._selfcheck_sent = True
        return Act("text", "/selfcheck")

    def _press(
        self,
        screen: Screen,
        label: str,
        *,
        answers: str | None = None,
        expected: Any = None,
        toggle: bool = False,
    ) -> Act:
        """Press a button on the screen; `toggle` for one that changes the step without leaving it."""
        button = find_button(screen.message or {}, label)
        if button is None:
            raise AssertionError(f"no button {label!r} on the screen {screen.labels()}\n{self.describe()}")
        data = str(button.get("callback_data") or "")
        return Act(
            "press",
            label,
            message_id=screen.message_id,
            answers=answers,
            expected=expected,
            # A button that leaves its step is refused as stale when pressed again after it worked;
            # a toggle (tick, undo) would act twice, so after a silence the person looks first.
            repeatable=not toggle and (not data.startswith("/") or data.startswith("/savecheck")),
        )

    # --- acknowledgements -----------------------------------------------------------------------

    def _note_progress(self, phase: str, screen: Screen) -> None:
        if screen.has("error.internal") or screen.has("error.busy"):
            self.out.apologies += 1
        if self._pending is None:
            return
        pending_phase, step, expected = self._pending
        where = screen.step
        moved_on = (where is not None and where[1] != step) or self._finished_screen(pending_phase, screen)
        if moved_on:
            self._ack(pending_phase, step, expected)

    def _finished_screen(self, phase: str, screen: Screen) -> bool:
        if phase == "registration":
            return screen.has("reg.done") or screen.has("me.header") or is_menu(screen)
        if phase == "filing":
            return screen.has("pf.receipt")
        return screen.has("sc.result_header")

    def _ack(self, phase: str, step: str, expected: Any) -> None:
        self.out.acked[phase][step] = expected
        if self._pending is not None and self._pending[:2] == (phase, step):
            self._pending = None

    # --- acting and waiting ---------------------------------------------------------------------

    def screen(self) -> Screen:
        for stored in reversed(self.emulator.history(self.plan.user_id)):
            if stored.outgoing and not stored.deleted:
                return Screen(stored.data)
        return Screen(None)

    def _mark(self) -> int:
        """Changes a person would notice: new bot messages and edits of old ones."""
        return sum(1 + m.edits for m in self.emulator.history(self.plan.user_id) if m.outgoing)

    async def _changed(self, before: int, within: float) -> bool:
        return await self.emulator._signal.wait_for(lambda: self._mark() != before, within)

    def _reply_mark(self, act: Act) -> tuple[int, int]:
        """What counts as the answer to `act`: a new message, or an edit of the message pressed.

        An edit of an older message (the previous question marked with the choice, which the bot
        sends alongside the next question) is not: a person waits for the answer at the bottom.
        """
        chat = self.driver._chat
        pressed = chat.messages.get(act.message_id) if act.message_id is not None else None
        return len(chat.outgoing_ids), pressed.edits if pressed is not None else 0

    async def _answered(self, act: Act, before: tuple[int, int]) -> bool:
        return await self.emulator._signal.wait_for(lambda: self._reply_mark(act) != before, self.patience)

    async def _settle(self) -> None:
        """Read on until the chat is quiet: one input may bring several messages."""
        while await self._changed(self._mark(), self.settle_for):
            pass

    def _send(self, act: Act) -> None:
        self.out.actions += 1
        self.trace.append(f"{time.monotonic():.2f} {act}")
        self._last_text = act.value if act.kind == "text" else ""
        if act.kind == "text":
            self.driver.send_text(act.value)
        elif act.kind == "press":
            self.driver.press(act.value, message_id=act.message_id)
        elif act.kind == "document":
            self.driver.send_document(act.value, self.plan.file_bytes[act.value], "application/pdf")
        elif act.kind == "photo":
            self.driver.send_photo(tiny_png(64, 48))
        else:  # pragma: no cover - the script makes only these
            raise ValueError(act.kind)

    def _can_press_again(self, act: Act) -> bool:
        stored = self.driver._chat.messages.get(act.message_id or 0)
        return stored is not None and find_button(stored.data, act.value) is not None

    async def _do(self, act: Act, phase: str) -> None:
        if act.answers is not None:
            self._pending = (phase, act.answers, act.expected)
        before = self._reply_mark(act)
        self._send(act)
        attempt = 0
        while not await self._answered(act, before):
            # No reply: the bot is down or slow. Do what a person does, then wait again.
            self.out.timeouts += 1
            self.trace.append(f"{time.monotonic():.2f} (no reply)")
            if self.out.actions >= self.MAX_ACTIONS:
                raise ConversationStuck(f"user {self.plan.user_id} got no replies\n{self.describe()}")
            impatient = attempt == 0 and self.plan.impatient
            if act.kind == "press" and act.repeatable and self._can_press_again(act):
                pass  # pressed again below
            elif impatient and act.kind == "press" and self._can_press_again(act):
                self.out.resends += 1  # a tick or an undo pressed again: it may act twice
            elif impatient and act.kind != "press" and not act.value.startswith("/"):
                # Sending an answer again (never a command: a second /new would start a second draft).
                self.out.resends += 1
            else:
                act = Act("text", "/start")
            before = self._reply_mark(act)
            self._send(act)
            attempt += 1
        await self._settle()

    def describe(self) -> str:
        plan = self.plan
        lines = [
            f"user {plan.user_id} ({plan.name}, impatient={plan.impatient}): acked={self.out.acked}",
            "last actions: " + " | ".join(self.trace[-60:]),
        ]
        return "\n".join(lines) + "\n" + self.driver.describe()
