"""The two real cases the window was built for (SPEC.md), loaded as they happened."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from banbucheng.core.errors import InvalidInput
from banbucheng.core.paths import default_db_path
from banbucheng.core.validate import parse_datetime
from banbucheng.domain import lifecycle
from banbucheng.schema.models import Case
from banbucheng.services import cases as case_service
from banbucheng.store import Ctx

REPORT_DAY = "2021-04-06"


def default_path() -> str:
    """A store of its own, so the demo never mixes invented citizens into real records;
    it is made afresh on each run."""
    path = default_db_path().with_name("demo.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def _at(ctx: Ctx, text: str) -> Ctx:
    return replace(ctx, now=parse_datetime(text))


def load(ctx: Ctx) -> list[str]:
    from sqlmodel import func, select

    if ctx.session.exec(select(func.count()).select_from(Case)).one():
        raise InvalidInput("演示只能载入空的数据库，请用 --db 指定一个新文件")
    huo = _huo(ctx)
    li = _li(ctx)
    return [li, huo]


def _huo(ctx: Ctx) -> str:
    c = _at(ctx, "2021-04-01 09:30")
    case = case_service.register(
        c,
        citizen_name="霍某某",
        phone="13712341111",
        matter="诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药",
        department="市场监管窗口、卫健窗口",
        channel="window",
        category="unhandled",
    )
    c = _at(ctx, "2021-04-01 10:00")
    lifecycle.dispatch(c, case, unit="中心综合协调科", helpers=["市场监管窗口", "卫健窗口"])
    c = _at(ctx, "2021-04-02 16:00")
    lifecycle.note(c, case, text="两证均由中心内窗口核发，核实为同一诊所，拟由中心出具证明")
    c = _at(ctx, "2021-04-06 11:00")
    case_service.close(
        c,
        case,
        result="中心出具两证属同一诊所的证明，供货商恢复供药",
        mechanism="今后同类情况由窗口核实两证后直接出具证明",
    )
    c = _at(ctx, "2021-04-07 10:00")
    lifecycle.visit(c, case, satisfaction="very_satisfied", text="霍女士表示问题已解决")
    return case.number


def _li(ctx: Ctx) -> str:
    c = _at(ctx, "2021-04-06 14:20")
    case = case_service.register(
        c,
        citizen_name="李海清",
        phone="13900001111",
        matter="社保卡自2016年起未年检，养老金停发四年（其子代为反映）",
        department="社保窗口",
        channel="window",
        category="unhandled",
        subtype="hard",
    )
    c = _at(ctx, "2021-04-06 15:00")
    lifecycle.dispatch(c, case, unit="省农保中心", helpers=["社保窗口"])
    lifecycle.escalate(c, case, reason="涉及省级单位，需中心领导协调")
    c = _at(ctx, "2021-04-09 10:00")
    lifecycle.note(c, case, text="中心领导已联系省农保中心，省农保中心核实情况")
    c = _at(ctx, "2021-04-09 16:00")
    case_service.close(
        c,
        case,
        result="省农保中心同意补办年检，停发的养老金于4月底前补发",
        mechanism="社保卡年检到期前由社保窗口短信提醒，逾期未检的名单每季度推送乡镇核实",
    )
    return case.number
