"""Terminal output for mechanisms, reply templates and similar cases (rich).

rich, and the reports' console, are imported by the functions that draw with them:
`register` prints its suggestions as plain lines (suggestion_lines) and should not
pay for either."""

from __future__ import annotations

from typing import Any

from banbucheng.core.timeutil import human


def console() -> Any:
    """render.console, imported on first use (see the module docstring)."""
    from banbucheng.reports.render import console as shared

    return shared()


def _short(text: str | None, n: int = 40) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


def mechanism_label(m: dict[str, Any] | None) -> str:
    if not m:
        return "—"
    return f"#{m['id']} {m['name']}"


def hits_table(rows: list[dict[str, Any]], *, title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title))
    for header in ("编号", "相似度", "状态", "受理", "受阻部门", "事项", "长效机制"):
        table.add_column(header, overflow="fold", justify="right" if header == "相似度" else "left")
    for r in rows:
        table.add_row(
            r["number"],
            percent(r["similarity"]),
            r["status_label"],
            human(r["received_at"])[:10],
            escape(r["department"] or "—"),
            escape(_short(r["matter"])),
            escape(mechanism_label(r["mechanism"])),
        )
    console().print(table)


def suggestion_lines(number: str, rows: list[dict[str, Any]], category: str | None) -> list[str]:
    """What `register` says on stderr about similar earlier cases (plain text)."""
    if not rows:
        return []
    lines = ["相似的既往案件："]
    mechanisms: dict[int, dict[str, Any]] = {}
    for r in rows:
        state = r["status_label"]
        lines.append(f"  {r['number']}  相似度 {percent(r['similarity'])}  {state}  {r['matter']}")
        m = r["mechanism"]
        if m:
            mechanisms.setdefault(m["id"], m)
            lines.append(f"      长效机制 #{m['id']}「{m['name']}」")
        elif r["result"]:
            lines.append(f"      办理结果：{_short(r['result'], 60)}")
    for m in mechanisms.values():
        detail = "；".join(
            x
            for x in (
                f"由{m['decider']}决定" if m.get("decider") else "",
                f"出具{m['issued']}" if m.get("issued") else "",
            )
            if x
        )
        hint = f"可按长效机制 #{m['id']} 直接办理" + (f"（{detail}）" if detail else "")
        lines.append(f"{hint}：bbc close {number} --mechanism {m['id']} --result ...")
        if category == "impossible":
            for t in m.get("templates", []):
                lines.append(
                    f"答复口径 #{t['id']}「{t['name']}」：bbc close {number} --template {t['id']}"
                )
    return lines


def mechanisms_table(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"长效机制（{len(rows)} 项）")
    for header in ("编号", "名称", "核实内容", "决定", "出具", "形成自", "已服务", "答复口径"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            escape(r["name"]),
            escape(_short(r["check"], 30) or "—"),
            escape(r["decider"] or "—"),
            escape(r["issued"] or "—"),
            f"{r['source_cases']} 件",
            f"{r['served_cases']} 件",
            str(r["templates"]),
        )
    console().print(table)


def mechanism_detail(data: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    out.print(f"[bold]长效机制 #{data['id']}[/bold]  {escape(data['name'])}")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in (
        ("核实内容", data["check"]),
        ("决定", data["decider"]),
        ("出具", data["issued"]),
        ("说明", data["description"]),
        ("建立", f"{human(data['created_at'])}（{data['created_by']}）"),
        ("修改", human(data["updated_at"]) if data["updated_at"] else ""),
        ("答复口径", "、".join(f"#{t['id']} {t['name']}" for t in data["templates"])),
    ):
        grid.add_row(label, escape(value or "—"))
    out.print(grid)
    table = Table(title=f"关联案件（{len(data['cases'])} 件）")
    for header in ("编号", "关系", "状态", "受理", "办结", "事项"):
        table.add_column(header, overflow="fold")
    for c in data["cases"]:
        table.add_row(
            c["number"],
            c["role_label"],
            {"closed": "已办结"}.get(c["status"], "重新办理中"),
            human(c["received_at"])[:10],
            human(c["closed_at"])[:10] if c["closed_at"] else "—",
            escape(_short(c["matter"])),
        )
    out.print(table)


def templates_table(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"答复口径（{len(rows)} 条）")
    for header in ("编号", "名称", "长效机制", "内容"):
        table.add_column(header, overflow="fold")
    for r in rows:
        mechanism = f"#{r['mechanism_id']} {r['mechanism_name']}" if r["mechanism_id"] else "—"
        table.add_row(
            str(r["id"]), escape(r["name"]), escape(mechanism), escape(_short(r["body"], 50))
        )
    console().print(table)


def template_detail(data: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console()
    out.print(f"[bold]答复口径 #{data['id']}[/bold]  {escape(data['name'])}")
    if data["mechanism_id"]:
        out.print(f"长效机制：#{data['mechanism_id']} {escape(data['mechanism_name'])}")
    out.print()
    out.print(escape(data["body"]))
    if data.get("basis") or data.get("alternative"):
        out.print()
        out.print(f"告知书依据：{escape(data.get('basis') or '—')}")
        out.print(f"告知书其他途径：{escape(data.get('alternative') or '—')}")
    if data.get("preview"):
        out.print()
        out.print(f"[bold]用于 {data['preview']['number']} 时：[/bold]")
        out.print(escape(data["preview"]["text"]))
