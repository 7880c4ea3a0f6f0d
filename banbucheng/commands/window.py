"""Commands for the people at the window: the home screen and printed documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from banbucheng.commands.common import (
    JsonOpt,
    NumberArg,
    notice,
    print_json,
    session,
    store_label,
)

app = typer.Typer()
# The personal fields each document shows unmasked when printed in full (recorded by
# name in the print event, never their values).
REVEALED = {"work_order": ["citizen", "phone"], "notice": ["citizen"]}


def home(as_json: bool = False) -> None:
    """The day at a glance; what `bbc` shows when run with no command."""
    from banbucheng.window import home as home_mod

    with session(write=False) as ctx:
        data = home_mod.summary(ctx.session, ctx.now, ctx.calendar)
        center = ctx.policy.center_name
    if as_json:
        print_json(data)
    else:
        home_mod.show(data, center, source=store_label())


@app.command("home")
def home_command(as_json: JsonOpt = False) -> None:
    """首页：今日超期、到期、待分类、待派单、待回访的案件和下一步操作（直接运行 bbc 也显示）。

    例：bbc home
    """
    home(as_json)


@app.command("print")
def print_document(
    number: NumberArg,
    work_order: Annotated[bool, typer.Option("--work-order", help="派单单（交责任单位）")] = False,
    notice_doc: Annotated[
        bool, typer.Option("--notice", help="告知书（完全不能类，交群众）")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="输出文件（默认 编号-派单单.docx）")
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template", metavar="FILE", help="本次使用的模板（默认取设置 template_dir）"
        ),
    ] = None,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="派单单上显示完整姓名和电话（供单位联系群众，记录在案）"),
    ] = False,
    reasons: Annotated[str | None, typer.Option("--reasons", help="告知书：不能办理的理由")] = None,
    basis: Annotated[str | None, typer.Option("--basis", help="告知书：法律政策依据")] = None,
    alternative: Annotated[
        str | None, typer.Option("--alternative", help="告知书：群众可以采取的其他途径")
    ] = None,
    reply_template: Annotated[
        str | None,
        typer.Option(
            "--reply-template",
            help="告知书：取该答复口径中的依据和其他途径（默认取案件所关联长效机制的口径）",
        ),
    ] = None,
) -> None:
    """打印文书：派单单（交责任单位，附回执）或告知书（完全不能类，交群众）。

    DOCX 格式，A4，按 GB/T 9704-2012 党政机关公文格式排版，Word 和 WPS 均可打开；
    模板可换成中心自己的抬头（见 bbc config 的 template_dir）。
    派单单写明派单的窗口经办人和日期；告知书须有依据和其他途径（命令中给出，
    或取该类事项答复口径中填写的），日期为答复之日。

    例：bbc print BB20210401-001 --work-order
    """
    from banbucheng.core.errors import InvalidInput
    from banbucheng.core.files import check_target
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle
    from banbucheng.domain.views import case_dicts
    from banbucheng.knowledge import mechanisms
    from banbucheng.window import documents

    if work_order == notice_doc:
        raise InvalidInput("请选择 --work-order（派单单）或 --notice（告知书）其中之一")
    kind = "work_order" if work_order else "notice"
    if kind == "work_order" and any((reasons, basis, alternative, reply_template)):
        raise InvalidInput("--reasons、--basis、--alternative、--reply-template 只用于告知书")
    texts = {
        k: clean_text(v, field=label, required=False) if v else None
        for k, v, label in (
            ("reasons", reasons, "理由"),
            ("basis", basis, "依据"),
            ("alternative", alternative, "其他途径"),
        )
    }
    target = check_target(out) if out is not None else None
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        # The notice is addressed to the citizen by name; the work order shows the
        # citizen's contact only on request, and that request is recorded.
        full = reveal or kind == "notice"
        shown = REVEALED[kind] if full else []
        data = case_dicts(
            ctx.session,
            [case],
            now=ctx.now,
            calendar=ctx.calendar,
            reveal=full,
            keyring=ctx.require_keyring("无法显示未遮盖的个人信息") if full else None,
        )[0]
        center = ctx.policy.center_name
        if kind == "work_order":
            issued = documents.current_round(ctx.session, case) if data["unit"] else None
            context = documents.work_order_context(
                data, center=center, issued=issued or documents.Round(ctx.now, ctx.actor)
            )
            dated = issued.at if issued else ctx.now
        else:
            if reply_template:
                templates = [mechanisms.find_template(ctx.session, reply_template)]
            else:
                templates = mechanisms.notice_templates(ctx.session, case)
            if len(templates) > 1 and not (texts["basis"] and texts["alternative"]):
                names = "、".join(f"#{t.id}" for t in templates)
                raise InvalidInput(
                    f"该类事项有多条答复口径（{names}），请用 --reply-template 指定其中一条"
                )
            if templates:
                texts["basis"] = texts["basis"] or templates[0].basis or None
                texts["alternative"] = texts["alternative"] or templates[0].alternative or None
            replied, clerk = documents.reply_of(ctx.session, case, now=ctx.now, clerk=ctx.actor)
            context = documents.notice_context(
                data, center=center, replied=replied, clerk=clerk, **texts
            )
            dated = case.closed_at or ctx.now
        source = template or documents.template_for(kind, ctx.policy.template_dir)
        target = target or check_target(Path(f"{case.number}-{documents.KINDS[kind]}.docx"))
        title = f"{documents.KINDS[kind]} {case.number}"
        data = documents.render(source, context, title=title, dated=dated)  # in memory
        lifecycle.record_print(ctx, case, kind=kind, file=target.name, revealed=shown)
    # Only now, the print (and what it shows unmasked) committed, is the file written:
    # a store that cannot take the record (read-only, busy) gets no document either.
    documents.write(target, data)
    typer.echo(str(target))
    notice(f"已生成{documents.KINDS[kind]}：{target}")
