"""/export through the conversation service: the workbook and the CSV files reopened and read cell
by cell, who may export what, and the audit trail of full exports."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.conversation import Handled, Incoming
from dialogs.events import parse_text
from storage.models import AuditEntry, Filing, RectificationItem, ReturnVisit, ToleranceReview, User
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS, Talker

TITLE = "杨桥片区批而未供土地盘活项目"
FILING_HEADERS = [
    "报备编号",
    "状态",
    "县（市、区）",
    "报备单位",
    "报备人",
    "报备类型",
    "事项类别",
    "拟适用容错情形",
    "风险等级",
    "提交时间",
    "初审期限",
    "初审时间",
    "决定文号",
    "开始日期",
    "完成日期",
    "涉及资金（元）",
    "撤回时间",
    "办结时间",
]
FREE_FILING_HEADERS = [
    "事项名称",
    "事项背景及上级部署依据",
    "拟采取的做法",
    "可能突破或简化的规定、程序",
    "必要性与公共利益",
    "可能出现的失误及损失",
    "风险防控措施与补救预案",
    "利益关联情况",
]
SHEETS = ["统计汇总", "报备事项", "容错认定", "整改事项", "回访"]


async def export(
    runtime: Runtime, clock: ManualClock, external_id: str, text: str
) -> tuple[Handled, list[str]]:
    """Send a command as a Telegram user; run the job it started as a channel would."""
    handled = await runtime.conversations.handle(
        Incoming("telegram", external_id, parse_text(clock.now(), text), language_code="zh-hans")
    )
    progress: list[str] = []

    async def record(line: str) -> None:
        progress.append(line)

    if handled.job is not None:
        handled.replies = await handled.job.run(record)
    return handled, progress


async def seed_review_item_visit(runtime: Runtime) -> None:
    """A decided review, a rectification item and a recorded visit on the accepted filing, with
    free text that a spreadsheet would take for a formula."""
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
        officer = (await uow.session.execute(select(User).where(User.name == "王纪"))).scalars().one()
        assert filing.id is not None and officer.id is not None
        opened = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
        review = ToleranceReview(
            filing_id=filing.id,
            jurisdiction_code="530127",
            source="complaint",
            status="decided",
            reason='=HYPERLINK("http://x") 群众来信反映',
            findings="核查属实，符合容错情形二。",
            meeting_date=date(2026, 12, 8),
            meeting_decision="联席会议同意免责。",
            outcome="exempt",
            decision_number="嵩明容认〔2026〕1号",
            year=2026,
            decision_seq=1,
            opened_by=officer.id,
            opened_at=opened,
            decided_at=datetime(2026, 12, 8, 7, 15, tzinfo=UTC),
        )
        uow.session.add(review)
        await uow.session.flush()
        assert review.id is not None
        uow.session.add(
            RectificationItem(
                filing_id=filing.id,
                review_id=review.id,
                jurisdiction_code="530127",
                item_no=1,
                problem="用地手续不全",
                measure="补办农用地转用审批",
                owner_user_id=filing.user_id,
                due_date=date(2027, 1, 29),
                original_due_date=date(2027, 1, 15),
                status="submitted",
                extended=True,
                evidence_text="已取得批复",
                officer_note="请补充批复扫描件",
                created_by=officer.id,
                created_at=opened,
                updated_at=opened,
                submitted_at=datetime(2027, 1, 20, 1, 0, tzinfo=UTC),
            )
        )
        uow.session.add(
            ReturnVisit(
                review_id=review.id,
                filing_id=filing.id,
                jurisdiction_code="530127",
                cadre_user_id=filing.user_id,
                officer_user_id=officer.id,
                outcome="exempt",
                seq=1,
                due_date=date(2027, 2, 8),
                status="done",
                visited_on=date(2027, 2, 5),
                form="talk",
                notes="思想稳定，工作积极。",
                next_step="半年后再访",
                stage="counselling",
                recorded_by=officer.id,
                recorded_at=datetime(2027, 2, 5, 8, 0, tzinfo=UTC),
                created_at=opened,
            )
        )
        await uow.commit()


def workbook_of(handled: Handled):  # type: ignore[no-untyped-def]
    (reply,) = handled.replies
    assert reply.attachment is not None and reply.attachment.kind == "document"
    assert reply.attachment.filename.endswith(".xlsx")
    return reply, load_workbook(io.BytesIO(reply.attachment.content))


def rows(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def everything(book) -> set[object]:  # type: ignore[no-untyped-def]
    return {value for sheet in book.worksheets for row in rows(sheet) for value in row}


@pytest.fixture
async def admin(runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]) -> Talker:
    await runtime.admin.grant(3001, "admin", None, by="test")
    talker = Talker(runtime, clock, "3001")
    await talker.register(name="赵管")
    await seed_review_item_visit(runtime)
    return talker


async def test_admin_export_is_a_workbook_of_five_sheets_without_free_text(
    runtime: Runtime, clock: ManualClock, admin: Talker
) -> None:
    handled, progress = await export(runtime, clock, "3001", "/export")
    reply, book = workbook_of(handled)
    assert reply.text == "导出完成，共 4 条记录（不含文字内容）。"  # one of each: filing, review, item, visit
    assert book.sheetnames == SHEETS

    filings = rows(book["报备事项"])
    assert filings[0] == FILING_HEADERS
    assert len(filings) == 2
    row = dict(zip(FILING_HEADERS, filings[1], strict=True))
    assert row["报备编号"] == "嵩明-2026-0001"
    assert row["状态"] == "已正式受理"
    assert row["县（市、区）"] == "嵩明县"
    assert row["报备单位"] == "昆明市 / 嵩明县 / 杨桥街道办事处"
    assert row["报备人"] == "张三"
    assert row["报备类型"] == "个人报备"
    assert row["事项类别"] == "K1"
    assert row["拟适用容错情形"] == "S4、S6"
    assert row["风险等级"] == "绿色"
    # Submitted and reviewed at the fixture's 09:30 Beijing time (01:30 UTC), shown as local time.
    assert row["提交时间"] == datetime(2026, 11, 23, 9, 30)
    assert row["初审时间"] == datetime(2026, 11, 23, 9, 30)
    assert row["决定文号"] == "嵩明容受〔2026〕1号"
    assert row["开始日期"] == datetime(2026, 12, 1)  # openpyxl reads date cells back as datetimes
    assert row["完成日期"] == datetime(2027, 3, 31)
    assert row["涉及资金（元）"] == 500000
    assert row["撤回时间"] is None and row["办结时间"] is None
    assert book["报备事项"]["J2"].number_format == "yyyy-mm-dd hh:mm"

    reviews = rows(book["容错认定"])
    assert reviews[0] == [
        "报备编号",
        "县（市、区）",
        "线索来源",
        "认定进度",
        "认定结果",
        "决定文号",
        "联席会议日期",
        "启动时间",
        "认定时间",
    ]
    assert reviews[1] == [
        "嵩明-2026-0001",
        "嵩明县",
        "收到举报",
        "已认定",
        "容错免责",
        "嵩明容认〔2026〕1号",
        datetime(2026, 12, 8),
        datetime(2026, 11, 30, 10, 0),
        datetime(2026, 12, 8, 15, 15),
    ]
    items = rows(book["整改事项"])
    assert items[1] == [
        "嵩明-2026-0001",
        1,
        "已提交，待验收",
        datetime(2027, 1, 29),
        datetime(2027, 1, 15),
        "是",
        datetime(2026, 11, 30, 10, 0),
        datetime(2027, 1, 20, 9, 0),
        None,
    ]
    visits = rows(book["回访"])
    assert visits[1] == [
        "嵩明-2026-0001",
        "嵩明县",
        1,
        "容错免责",
        datetime(2027, 2, 8),
        "已完成",
        datetime(2027, 2, 5),
        "谈心谈话",
        "教育疏导",
        datetime(2027, 2, 5, 16, 0),
    ]
    # No free text anywhere: not the title, not a description, not a finding or a note.
    values = everything(book)
    for secret in (
        TITLE,
        DESCRIPTIONS["background"],
        "核查属实，符合容错情形二。",
        "用地手续不全",
        "思想稳定，工作积极。",
    ):
        assert secret not in values
    assert not set(FREE_FILING_HEADERS) & set(filings[0])

    summary = [r[0] for r in rows(book["统计汇总"])]
    assert summary[0] == "统计汇总（全部时间，与 /stats 相同）"
    assert any(str(line).startswith("2026-11") for line in summary)
    month = next(r for r in rows(book["统计汇总"]) if r[0] == "2026-11")
    assert month[:3] == ["2026-11", 1, 1]  # received 1, accepted 1

    # The summary's rows as the progress line counted them, and as the sheet holds them (+ header).
    assert progress[0] == f"正在生成导出文件…20%\n✓ 统计汇总：{len(rows(book['统计汇总'])) - 1} 行"
    assert [p.splitlines()[0] for p in progress] == [
        "正在生成导出文件…20%",
        "正在生成导出文件…40%",
        "正在生成导出文件…60%",
        "正在生成导出文件…80%",
        "导出文件已生成 100%",
    ]
    assert progress[-1].splitlines()[2:] == [
        "✓ 报备事项：1 行",
        "✓ 容错认定：1 行",
        "✓ 整改事项：1 行",
        "✓ 回访：1 行",
    ]

    async with UnitOfWork(runtime.database) as uow:
        entries = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.subject_type == "export")))
            .scalars()
            .all()
        )
    assert [(e.action, e.subject_id, e.data["format"]) for e in entries] == [
        ("export.standard", "all", "xlsx")
    ]


async def test_full_export_has_the_free_text_and_is_audit_logged(
    runtime: Runtime, clock: ManualClock, admin: Talker
) -> None:
    handled, _ = await export(runtime, clock, "3001", "/export full")
    reply, book = workbook_of(handled)
    assert "已记入审计日志" in reply.text
    assert "full" in reply.attachment.filename  # type: ignore[union-attr]
    filings = rows(book["报备事项"])
    assert filings[0] == FILING_HEADERS + FREE_FILING_HEADERS
    row = dict(zip(filings[0], filings[1], strict=True))
    assert row["事项名称"] == TITLE
    assert row["事项背景及上级部署依据"] == DESCRIPTIONS["background"]
    assert row["风险防控措施与补救预案"] == DESCRIPTIONS["controls"]
    assert row["利益关联情况"] is None  # "不存在利益关联": nothing to describe
    reviews = rows(book["容错认定"])
    assert reviews[0][-3:] == ["启动事由", "核查情况", "联席会议意见"]
    # Typed text that starts with "=" stays text: never a formula that runs when the file is opened.
    assert reviews[1][-3] == '=HYPERLINK("http://x") 群众来信反映'
    assert book["容错认定"]["J2"].data_type == "s"
    assert rows(book["整改事项"])[1][-4:] == [
        "用地手续不全",
        "补办农用地转用审批",
        "已取得批复",
        "请补充批复扫描件",
    ]
    assert rows(book["回访"])[1][-2:] == ["思想稳定，工作积极。", "半年后再访"]

    async with UnitOfWork(runtime.database) as uow:
        admin_user = (await uow.session.execute(select(User).where(User.name == "赵管"))).scalars().one()
        (entry,) = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "export.full")))
            .scalars()
            .all()
        )
    assert entry.actor_user_id == admin_user.id
    assert entry.subject_id == "all" and entry.data["full"] is True and entry.data["channel"] == "telegram"


async def test_csv_export_is_a_zip_of_utf8_bom_files(
    runtime: Runtime, clock: ManualClock, admin: Talker
) -> None:
    handled, _ = await export(runtime, clock, "3001", "/export csv")
    (reply,) = handled.replies
    assert reply.attachment is not None and reply.attachment.filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(reply.attachment.content))
    assert archive.namelist() == [
        "summary.csv",
        "filings.csv",
        "reviews.csv",
        "rectification.csv",
        "visits.csv",
    ]
    raw = archive.read("filings.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == FILING_HEADERS
    row = dict(zip(FILING_HEADERS, table[1], strict=True))
    assert row["报备编号"] == "嵩明-2026-0001" and row["状态"] == "已正式受理"
    assert row["提交时间"] == "2026-11-23 09:30" and row["开始日期"] == "2026-12-01"
    assert row["撤回时间"] == ""
    reviews = list(csv.reader(io.StringIO(archive.read("reviews.csv").decode("utf-8-sig"))))
    assert reviews[1][:5] == ["嵩明-2026-0001", "嵩明县", "收到举报", "已认定", "容错免责"]


async def test_officers_export_their_county_only_and_never_free_text(
    runtime: Runtime, clock: ManualClock, admin: Talker
) -> None:
    handled, _ = await export(runtime, clock, "2001", "/export")  # 嵩明's officer
    _, book = workbook_of(handled)
    assert [r[0] for r in rows(book["报备事项"])[1:]] == ["嵩明-2026-0001"]

    handled, _ = await export(runtime, clock, "2003", "/export")  # 安宁's officer: nothing of 嵩明
    _, book = workbook_of(handled)
    for name in SHEETS[1:]:
        assert len(rows(book[name])) == 1, name  # the header only

    handled, _ = await export(runtime, clock, "2001", "/export full")
    assert handled.job is None
    assert [r.text for r in handled.replies] == [
        "抱歉，包含文字内容的完整导出仅限管理员使用。您可以发送 /export 导出不含文字内容的数据。"
    ]
    handled, _ = await export(runtime, clock, "2001", "/export 530181")  # another county
    assert handled.job is None and [r.text for r in handled.replies] == ["抱歉，您无权查看或操作这条记录。"]
    handled, _ = await export(runtime, clock, "2001", "/export 999999")
    assert handled.job is None and "不是组织目录中的县（市、区）代码" in handled.replies[0].text
    handled, _ = await export(runtime, clock, "2001", "/export pdf please")
    assert handled.job is None and handled.replies[0].text.startswith("用法：/export")

    handled, _ = await export(runtime, clock, "3001", "/export 530181")  # an admin may narrow it
    _, book = workbook_of(handled)
    assert len(rows(book["报备事项"])) == 1


async def test_a_cadre_is_refused_politely(runtime: Runtime, clock: ManualClock, admin: Talker) -> None:
    for text in ("/export", "/export full", "/export csv"):
        handled, _ = await export(runtime, clock, "1001", text)
        assert handled.job is None
        assert [r.text for r in handled.replies] == [
            "抱歉，您没有使用 /export 的权限。如有需要请联系管理员。"
        ]
        assert all(r.attachment is None for r in handled.replies)
