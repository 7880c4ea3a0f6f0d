"""Commands for learning from cases: similar, search, reindex, mechanism, reply-template
and analyse.
"""

from __future__ import annotations

from typing import Annotated

import typer

from banbucheng.commands.common import (
    JsonOpt,
    NumberArg,
    notice,
    print_json,
    required,
    session,
    source_line,
    store_label,
)
from banbucheng.commands.reports import Output, emit, output_options, period_of

app = typer.Typer()
mechanism_app = typer.Typer(
    name="mechanism",
    help="长效机制：一类问题的办法（核实什么、谁决定、出具什么），及其来源案件与服务过的案件。",
    no_args_is_help=True,
)
template_app = typer.Typer(
    name="reply-template",
    help="答复口径：完全不能办理时答复群众的统一说法，可关联长效机制。",
    no_args_is_help=True,
)

LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=100, help="至多显示条数")]


# ---------------------------------------------------------------- similar cases


@app.command()
def similar(number: NumberArg, limit: LimitOpt = 5, as_json: JsonOpt = False) -> None:
    """与某件案件相似的其他案件（按相似度排序），及其长效机制。

    例：bbc similar BB20210401-001 --limit 10
    """
    from banbucheng.domain import lifecycle
    from banbucheng.knowledge.mechanisms import clean_ref
    from banbucheng.knowledge.similar import describe, similar_to
    from banbucheng.window import knowledge_view as render_knowledge

    number = clean_ref(number, "案件编号")
    with session(write=False) as ctx:
        case = lifecycle.get_case(ctx.session, number)
        rows = describe(ctx.session, similar_to(ctx.session, case, limit=limit))
    if as_json:
        print_json(rows)
    elif rows:
        render_knowledge.hits_table(rows, title=f"与 {case.number} 相似的案件（{len(rows)} 件）")
        source_line(store_label())
    else:
        notice(f"没有与 {case.number} 相似的案件")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="要查找的文字，如 社保 年检", show_default=False)],
    limit: LimitOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """按事项、部门、办理结果查找案件：两个字的词（社保、年检、名称）即可，措辞不必一致。

    例：bbc search "诊所两证名字不一样"
    """
    from banbucheng.core.validate import clean_text, masked_echo
    from banbucheng.knowledge.similar import describe
    from banbucheng.knowledge.similar import search as find
    from banbucheng.window import knowledge_view as render_knowledge

    query = clean_text(text, field="查找内容", max_len=500)
    with session(write=False) as ctx:
        rows = describe(ctx.session, find(ctx.session, query, limit=limit))
    if as_json:
        print_json(rows)
    elif rows:
        shown = masked_echo(query)  # what was typed may be a phone or a name
        render_knowledge.hits_table(rows, title=f"查找「{shown}」（{len(rows)} 件）")
        source_line(store_label())
    else:
        notice(f"没有找到与「{masked_echo(query)}」相关的案件")


@app.command()
def reindex() -> None:
    """重建相似案件检索索引（升级分词规则后，或数据库被其他工具改动后使用）。

    例：bbc reindex
    """
    from banbucheng.schema.index import rebuild

    with session(write=True) as ctx:
        n = rebuild(ctx.session)
    typer.echo(f"已重建检索索引：{n} 件案件")


# ---------------------------------------------------------------- mechanisms

CheckOpt = Annotated[
    str | None, typer.Option("--check", help="核实什么（如：两证的统一社会信用代码是否一致）")
]
DeciderOpt = Annotated[str | None, typer.Option("--decider", help="谁决定（单位或岗位）")]
IssuedOpt = Annotated[str | None, typer.Option("--issued", help="出具什么（证明、告知书等）")]
DescriptionOpt = Annotated[str | None, typer.Option("--description", help="完整说明")]
MechanismArg = Annotated[str, typer.Argument(help="长效机制的编号或名称", show_default=False)]


def _field(value: str | None, label: str, max_len: int = 2000) -> str | None:
    from banbucheng.core.validate import clean_text

    if value is None:
        return None
    return clean_text(value, field=label, max_len=max_len, required=False)


@mechanism_app.command("add")
def mechanism_add(
    name: Annotated[str, typer.Argument(help="机制名称（简明，一行）", show_default=False)],
    check: CheckOpt = None,
    decider: DeciderOpt = None,
    issued: IssuedOpt = None,
    description: DescriptionOpt = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="由哪件案件形成（可多次给出）")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """建立长效机制：核实什么、谁决定、出具什么，可注明由哪些案件形成。

    例：bbc mechanism add "两证名称不一致由窗口出具证明" --check "两证的统一社会信用代码、
    负责人、地址是否一致" --decider 中心综合协调科 --issued "两证属同一主体的证明"
    --case BB20210401-001
    """
    from banbucheng.domain import lifecycle
    from banbucheng.knowledge import mechanisms as knowledge

    fields = {
        "check_text": _field(check, "核实内容") or "",
        "decider": _field(decider, "决定人", 100) or "",
        "issued": _field(issued, "出具材料", 200) or "",
        "description": _field(description, "说明") or "",
    }
    numbers = [knowledge.clean_ref(n, "案件编号") for n in dict.fromkeys(case or [])]
    with session(write=True) as ctx:
        cases = [lifecycle.get_case(ctx.session, n, checked=True) for n in numbers]
        mechanism = knowledge.add_mechanism(ctx, name=name, cases=cases, **fields)
        data = knowledge.mechanism_detail(ctx.session, mechanism)
    if as_json:
        print_json(data)
    else:
        typer.echo(f"已建立长效机制 #{data['id']}「{data['name']}」")


@mechanism_app.command("edit")
def mechanism_edit(
    ref: MechanismArg,
    name: Annotated[str | None, typer.Option("--name", help="新名称")] = None,
    check: CheckOpt = None,
    decider: DeciderOpt = None,
    issued: IssuedOpt = None,
    description: DescriptionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """修改长效机制的名称、核实内容、决定人、出具材料或说明。

    例：bbc mechanism edit 1 --decider 中心综合协调科 --issued "两证属同一诊所的证明"
    """
    from banbucheng.knowledge import mechanisms as knowledge

    changes = {
        "name": name,
        "check_text": _field(check, "核实内容"),
        "decider": _field(decider, "决定人", 100),
        "issued": _field(issued, "出具材料", 200),
        "description": _field(description, "说明"),
    }
    with session(write=True) as ctx:
        mechanism = knowledge.find_mechanism(ctx.session, ref)
        changed = knowledge.edit_mechanism(ctx, mechanism, **changes)
        data = knowledge.mechanism_detail(ctx.session, mechanism)
    if as_json:
        print_json(data)
    elif changed:
        typer.echo(f"已修改长效机制 #{data['id']}「{data['name']}」")
    else:
        notice("没有改动")


@mechanism_app.command("list")
def mechanism_list(as_json: JsonOpt = False) -> None:
    """全部长效机制，及由其形成、按其办结的案件数。

    例：bbc mechanism list
    """
    from banbucheng.knowledge import mechanisms as knowledge
    from banbucheng.window import knowledge_view as render_knowledge

    with session(write=False) as ctx:
        rows = knowledge.mechanism_rows(ctx.session)
    if as_json:
        print_json(rows)
    else:
        render_knowledge.mechanisms_table(rows)


@mechanism_app.command("show")
def mechanism_show(ref: MechanismArg, as_json: JsonOpt = False) -> None:
    """长效机制详情：核实内容、决定人、出具材料，来源案件与服务过的案件，答复口径。

    例：bbc mechanism show 1
    """
    from banbucheng.knowledge import mechanisms as knowledge
    from banbucheng.window import knowledge_view as render_knowledge

    with session(write=False) as ctx:
        data = knowledge.mechanism_detail(ctx.session, knowledge.find_mechanism(ctx.session, ref))
    if as_json:
        print_json(data)
    else:
        render_knowledge.mechanism_detail(data)


# ---------------------------------------------------------------- reply templates

TemplateArg = Annotated[str, typer.Argument(help="答复口径的编号或名称", show_default=False)]
BodyHelp = "答复内容，可用占位符 {编号} {受理日期} {事项} {部门} {中心}"
BasisOpt = Annotated[
    str | None, typer.Option("--basis", help="告知书引用的法律政策依据（同类事项通用）")
]
AlternativeOpt = Annotated[
    str | None, typer.Option("--alternative", help="告知书中群众可以采取的其他途径")
]


@template_app.command("add")
def template_add(
    name: Annotated[str, typer.Argument(help="口径名称（简明，一行）", show_default=False)],
    body: Annotated[str | None, typer.Option("--body", help=BodyHelp)] = None,
    mechanism: Annotated[
        str | None, typer.Option("--mechanism", help="关联的长效机制（编号或名称）")
    ] = None,
    basis: BasisOpt = None,
    alternative: AlternativeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """建立答复口径，供「完全不能」类案件答复群众时使用（bbc close --template）。

    --basis、--alternative 是打印告知书（bbc print --notice）时引用的依据和其他途径。

    例：bbc reply-template add "跨省社保转移不能在本中心办理" --body "您于{受理日期}反映的
    「{事项}」，依规定须由参保地经办机构办理，本中心不能办理……" --mechanism 2
    """
    from banbucheng.knowledge import mechanisms as knowledge

    text = required(body, "--body", "答复内容")
    with session(write=True) as ctx:
        linked = knowledge.find_mechanism(ctx.session, mechanism) if mechanism else None
        template = knowledge.add_template(
            ctx,
            name=name,
            body=text,
            mechanism=linked,
            basis=basis or "",
            alternative=alternative or "",
        )
        data = knowledge.template_dict(ctx.session, template)
    if as_json:
        print_json(data)
    else:
        typer.echo(f"已建立答复口径 #{data['id']}「{data['name']}」")


@template_app.command("edit")
def template_edit(
    ref: TemplateArg,
    name: Annotated[str | None, typer.Option("--name", help="新名称")] = None,
    body: Annotated[str | None, typer.Option("--body", help=BodyHelp)] = None,
    mechanism: Annotated[
        str | None, typer.Option("--mechanism", help="关联的长效机制（编号或名称）")
    ] = None,
    no_mechanism: Annotated[
        bool, typer.Option("--no-mechanism", help="取消与长效机制的关联")
    ] = False,
    basis: BasisOpt = None,
    alternative: AlternativeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """修改答复口径的名称、内容、告知书的依据和其他途径，或关联的长效机制。

    例：bbc reply-template edit 1 --mechanism 2
    """
    from banbucheng.core.errors import InvalidInput
    from banbucheng.knowledge import mechanisms as knowledge

    if mechanism and no_mechanism:
        raise InvalidInput("--mechanism 与 --no-mechanism 只能给出一个")
    with session(write=True) as ctx:
        template = knowledge.find_template(ctx.session, ref)
        linked = knowledge.find_mechanism(ctx.session, mechanism) if mechanism else None
        changed = knowledge.edit_template(
            ctx,
            template,
            name=name,
            body=body,
            mechanism=linked,
            unlink=no_mechanism,
            basis=basis,
            alternative=alternative,
        )
        data = knowledge.template_dict(ctx.session, template)
    if as_json:
        print_json(data)
    elif changed:
        typer.echo(f"已修改答复口径 #{data['id']}「{data['name']}」")
    else:
        notice("没有改动")


@template_app.command("list")
def template_list(as_json: JsonOpt = False) -> None:
    """全部答复口径及其关联的长效机制。

    例：bbc reply-template list
    """
    from banbucheng.knowledge import mechanisms as knowledge
    from banbucheng.window import knowledge_view as render_knowledge

    with session(write=False) as ctx:
        rows = knowledge.template_rows(ctx.session)
    if as_json:
        print_json(rows)
    else:
        render_knowledge.templates_table(rows)


@template_app.command("show")
def template_show(
    ref: TemplateArg,
    case: Annotated[str | None, typer.Option("--case", help="预览用于某件案件时的答复全文")] = None,
    as_json: JsonOpt = False,
) -> None:
    """答复口径全文；--case 预览用于某件案件时的答复。

    例：bbc reply-template show 1 --case BB20261127-002
    """
    from banbucheng.domain import lifecycle
    from banbucheng.knowledge import mechanisms as knowledge
    from banbucheng.window import knowledge_view as render_knowledge

    with session(write=False) as ctx:
        template = knowledge.find_template(ctx.session, ref)
        data = knowledge.template_dict(ctx.session, template)
        if case:
            target = lifecycle.get_case(ctx.session, knowledge.clean_ref(case, "案件编号"))
            data["preview"] = {
                "number": target.number,
                "text": knowledge.render_template(template, target, ctx.policy.center_name),
            }
    if as_json:
        print_json(data)
    else:
        render_knowledge.template_detail(data)


# ---------------------------------------------------------------- 短板 analysis


@output_options
def analyse(
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期（含，默认今天）")] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="月份，如 2021-04（默认本月）")
    ] = None,
    *,
    out: Output,
) -> None:
    """短板分析：哪些部门/窗口、哪类事项、什么原因产生的案件最多，与上期相比的增减、
    月度趋势，以及哪些已有长效机制、哪些还没有。

    例：bbc analyse --month 2021-04 --md
    """
    from banbucheng.reports import analysis

    with session(write=False) as ctx:
        today = ctx.now.astimezone(analysis.BEIJING).date()
        if date_from is None and date_to is None and month is None:
            month = f"{today:%Y-%m}"
        first, last, label = period_of(today, date_from, date_to, month, False)
        data = analysis.analyse(ctx.session, first, last)
        doc = analysis.document(data, center=ctx.policy.center_name, label=label, as_of=ctx.now)
    emit(doc, out)


app.command("analyse")(analyse)
app.command("analyze", hidden=True)(analyse)  # the American spelling
