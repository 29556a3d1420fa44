"""Talks to the conversation service as a channel would, for database-level tests."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.conversation import Incoming
from dialogs.events import Attachment, Event, Press, parse_text
from dialogs.replies import Reply

DESCRIPTIONS = {
    "background": "落实县委县政府关于盘活批而未供土地的部署，时限为年底前。",
    "planned_action": "先行开展场地平整和招商对接，同步补办用地手续。",
    "rule_at_risk": "可能存在容缺受理、未批先建的程序瑕疵。",
    "necessity": "项目关系重点产业落地和群众就业，时间紧迫。",
    "risks": "手续补办不及时可能被认定为违规用地，造成返工损失。",
    "controls": "设立专班跟踪手续办理，出现问题立即停工整改并报告。",
}


class Talker:
    def __init__(
        self,
        runtime: Runtime,
        clock: ManualClock,
        external_id: str = "1001",
        channel: str = "telegram",
        language_code: str = "zh-hans",
    ):
        self.runtime, self.clock, self.external_id, self.channel = runtime, clock, external_id, channel
        self.language_code = language_code  # what the person's Telegram client says
        self.last: list[Reply] = []
        self.last_menu_key: str | None = None

    async def send(self, event: Event) -> str:
        handled = await self.runtime.conversations.handle(
            Incoming(
                self.channel, self.external_id, event, display_name="Zhang", language_code=self.language_code
            )
        )
        self.last = handled.replies
        self.last_menu_key = handled.menu_key
        return "\n".join(r.text for r in handled.replies)

    async def text(self, text: str) -> str:
        return await self.send(parse_text(self.clock.now(), text))

    async def file(self, name: str = "纪要.pdf") -> str:
        return await self.send(
            Attachment(self.clock.now(), "document", f"id-{name}", name, "application/pdf", 2048)
        )

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]

    def action(self, label: str) -> str:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for button in row:
                    if button.label == label:
                        return button.action
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    async def press(self, label: str) -> str:
        return await self.send(Press(self.clock.now(), self.action(label)))

    async def register(
        self, name: str = "张三", county: str = "嵩明县", unit: str = "杨桥街道办事处"
    ) -> None:
        await self.text("/start")
        await self.text(name)
        await self.press("昆明市")
        await self.press(county)
        await self.press(unit)
        said = await self.text("副主任")
        assert "注册完成" in said

    async def fill_prefiling(self, title: str = "杨桥片区批而未供土地盘活项目") -> str:
        """From /new to the summary, with an attachment; returns the summary text."""
        await self.text("/new")
        await self.press("个人报备")
        await self.text(title)
        await self.press("K1 推进项目建设")
        await self.press("✅ 选好了（已选 2 项）")
        for name in ("background", "planned_action", "rule_at_risk", "necessity"):
            await self.text(DESCRIPTIONS[name])
        await self.press("已集体研究")
        await self.text("街道党工委会议")
        await self.text("2026-11-20")
        await self.file("党工委会议纪要.pdf")
        await self.press("✅ 完成（1 个附件）")
        await self.text(DESCRIPTIONS["risks"])
        await self.text(DESCRIPTIONS["controls"])
        await self.press("不存在利益关联")
        await self.text("12月1日")
        await self.text("2027年3月31日")
        await self.text("2026-12-15 完成场地平整")
        await self.press("✅ 完成（1 个节点）")
        await self.text("50万")
        await self.file("实施方案.pdf")
        await self.press("✅ 完成（1 个附件）")
        return await self.press("✍ 我承诺")

    async def send_action(self, action: str) -> str:
        """Press a button of a message the bot pushed (an outbox notice), not of the last reply."""
        return await self.send(Press(self.clock.now(), action))
