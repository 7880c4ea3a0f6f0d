"""Reading cases: one case in full (show) and lists by status, category, unit and date
(list). Lists mask personal data; show --reveal shows it and records who looked.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from banbucheng.commands.common import (
    SHOWN,
    JsonOpt,
    NumberArg,
    case_out,
    more_note,
    opt_date,
    print_json,
    provisional_notice,
    session,
    store_label,
    write_chunks,
)
from banbucheng.core.errors import InvalidInput
from banbucheng.core.validate import LIST_LIMIT

app = typer.Typer()


@app.command()
def show(
    number: NumberArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="显示未遮盖的个人信息")] = False,
    as_json: JsonOpt = False,
) -> None:
    """查看案件详情与完整时间线；--reveal 显示原文，并记入时间线（谁查看了谁的信息）。

    例：bbc show BB20210401-001
    """
    from banbucheng.domain.queries import events_of, get_case
    from banbucheng.domain.views import event_dicts
    from banbucheng.reports import detail

    with session(write=reveal) as ctx:
        case = get_case(ctx.session, number, for_update=reveal)
        if reveal:
            from banbucheng.domain import lifecycle  # only to record who looked

            lifecycle.record_reveal(ctx, case)  # the event holds no personal data
        data = case_out(ctx, case, False, reveal=reveal)
        data["events"] = event_dicts(events_of(ctx.session, case.id))
    if as_json:
        print_json(data)
    else:
        detail.case_detail(data, source=store_label())
    provisional_notice(data)


def _statuses(text: str | None) -> list[str]:
    from banbucheng.core.labels import OPEN_STATUSES, STATUS_LABELS

    if not text:
        return []
    out: list[str] = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if part in ("open", "未办结"):
            out.extend(OPEN_STATUSES)
            continue
        for key, label in STATUS_LABELS.items():
            if part in (key, label):
                out.append(key)
                break
        else:
            raise InvalidInput(
                "未知的状态，应为 open（未办结）、registered（待分类）、classified（待派单）、"
                "dispatched（办理中）、closed（已办结），可用逗号分隔多个"
            )
    return out


def _citizen_keys(ctx: Any, name: str | None, phone: str | None, id_number: str | None) -> list:
    """The keyed hashes of what was typed; the values themselves are never echoed."""
    from banbucheng.core import validate
    from banbucheng.schema.citizens import lookup_keys

    ring = ctx.require_keyring("无法按姓名、电话或身份证号查找")
    return lookup_keys(
        ring,
        name=validate.citizen_name(name) if name else None,
        phone=validate.contact_phone(phone) if phone else None,
        id_number=validate.normalize_id_number(id_number) if id_number else None,
    )


@app.command("list")
def list_(
    status: Annotated[
        str | None, typer.Option("--status", help="状态，如 open、closed、办理中")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="应办未办 / 完全不能")] = None,
    subtype: Annotated[str | None, typer.Option("--subtype", help="很难办 / 不作为")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="主办单位")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="受理日期起")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="受理日期止（含）")] = None,
    name: Annotated[str | None, typer.Option("--name", help="反映人姓名（须有密钥）")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="联系电话（须有密钥）")] = None,
    id_number: Annotated[
        str | None, typer.Option("--id-number", help="身份证号（须有密钥）")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=LIST_LIMIT[0], max=LIST_LIMIT[1], help="只要最近受理的几件"),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="显示全部（默认只显示最近受理的一屏，或 50 件）")
    ] = False,
    as_json: JsonOpt = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="输出 CSV（UTF-8 带 BOM，Excel、WPS 可直接打开）")
    ] = False,
) -> None:
    """按状态、分类、单位、受理日期筛选案件，或按反映人的姓名、电话、身份证号查找（个人信息已遮盖）。

    表格只显示最近受理的一屏（输出到管道时 50 件），并说明另有多少件；--all 显示全部。
    --json、--csv 输出全部（或最近受理的 --limit 件），边读边写，案件再多也不占内存。
    按姓名、电话、身份证号查找须有这个数据库的密钥：比对的是加密的键值，数据库中没有这些信息的原文。

    例：bbc list --status open --unit 省农保中心 --from 2021-04-01；bbc list --phone 13712341111
    """
    from banbucheng.core.policy import normalize_category, normalize_subtype
    from banbucheng.domain import queries
    from banbucheng.domain.views import case_dicts, stream_case_dicts
    from banbucheng.reports import render

    if as_json and as_csv:
        raise InvalidInput("--json、--csv 只能选一个")
    filters = dict(
        statuses=_statuses(status),
        category=normalize_category(category) if category else None,
        subtype=normalize_subtype(subtype) if subtype else None,
        unit=unit.strip() if unit else None,
        received_from=opt_date(date_from, "起始日期"),
        received_to=opt_date(date_to, "截止日期"),
    )
    with session(write=False) as ctx:
        if name or phone or id_number:
            filters["citizen_keys"] = _citizen_keys(ctx, name, phone, id_number)
        if as_json or as_csv or show_all:
            # Everything (or the first --limit), written as it is read.
            batches = queries.iter_cases(ctx.session, limit=limit, **filters)
            rows = stream_case_dicts(ctx.session, batches, now=ctx.now, calendar=ctx.calendar)
            if as_json or as_csv:
                from banbucheng.reports import exports, layouts

                write_chunks(
                    exports.json_array(rows)
                    if as_json
                    else exports.csv_stream(layouts.LIST_COLUMNS, map(layouts.list_row, rows))
                )
                return
            total = queries.count_cases(ctx.session, **filters)
            if limit is not None:
                total = min(total, limit)
            render.case_table_stream(
                rows,
                title=f"案件（{total} 件）",
                names=_unit_names(ctx.session),
                source=store_label(),
            )
            return
        if limit is not None:
            cases = queries.list_cases(ctx.session, **filters, last=limit)
        else:
            # The latest screenful on a terminal, the latest SHOWN on a pipe.
            screen = max(10, render.rows_available() - 8) if render.terminal() else SHOWN
            cases = queries.list_cases(ctx.session, **filters, last=screen)
        total = len(cases)
        if total == (limit or screen):
            total = queries.count_cases(ctx.session, **filters)
        rows_shown = case_dicts(ctx.session, cases, now=ctx.now, calendar=ctx.calendar)
    note = more_note(total - len(rows_shown)) if total > len(rows_shown) else None
    render.case_table(rows_shown, title=f"案件（{total} 件）", source=store_label(), note=note)


def _unit_names(db: Any) -> list[str]:
    from sqlmodel import select

    from banbucheng.schema.models import Unit

    return list(db.exec(select(Unit.name)).all())
