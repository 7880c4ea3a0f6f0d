"""短板 analysis: where, why and about what the center's matters fail, and whether a
mechanism exists yet for each, compared with the period before and month by month.

Counts over whole tables are made in SQL; the per-case work (splitting departments,
grouping matters into types) reads only the cases of the two periods compared.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core import bigrams
from banbucheng.core.policy import CATEGORIES, SUBTYPES
from banbucheng.core.timeutil import BEIJING
from banbucheng.reports.clustering import cluster
from banbucheng.reports.document import Chart, Column, Document, Section
from banbucheng.schema.models import Case, CaseTerms, Mechanism, MechanismCase

KNOWN_MIN = 0.45  # similarity at which an earlier case's mechanism covers a type
TOP_TYPES = 20
TOP_KEYWORDS = 15
TREND_MONTHS = 6
NO_DEPARTMENT = "（未填写）"
_DEPARTMENT_SPLIT = re.compile(r"[、，,;；/]+")


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The calendar month before a whole month; else as many days just before."""
    month_end = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if first.day == 1 and last == month_end:
        prev_last = first - timedelta(days=1)
        return prev_last.replace(day=1), prev_last
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def departments(text: str | None) -> list[str]:
    """'市场监管窗口、卫健窗口' → both; an empty department is counted as not given."""
    parts = [p.strip() for p in _DEPARTMENT_SPLIT.split(text or "") if p.strip()]
    return list(dict.fromkeys(parts)) or [NO_DEPARTMENT]


def reason_of(category: str | None, subtype: str | None) -> tuple[str, str]:
    if category is None:
        return "unclassified", "待分类"
    if subtype:
        return f"{category}/{subtype}", f"{CATEGORIES[category]}/{SUBTYPES[subtype]}"
    return category, CATEGORIES[category]


@dataclass
class Row:
    id: int
    number: str
    department: str
    category: str | None
    subtype: str | None
    status: str
    repeat: bool
    received_at: datetime
    mechanism_id: int | None
    mechanism_name: str | None
    current: bool


def _cases(session: Session, lo: datetime, mid: datetime, hi: datetime) -> list[Row]:
    stmt = (
        select(
            Case.id,
            Case.number,
            Case.department,
            Case.category,
            Case.subtype,
            Case.status,
            Case.repeat_of_id,
            Case.received_at,
            Mechanism.id,
            Mechanism.name,
        )
        .join(MechanismCase, col(MechanismCase.case_id) == Case.id, isouter=True)
        .join(Mechanism, col(Mechanism.id) == MechanismCase.mechanism_id, isouter=True)
        .where(col(Case.received_at) >= lo, col(Case.received_at) < hi)
        .order_by(col(Case.received_at), col(Case.id))
    )
    out = []
    for cid, number, dept, cat, sub, status, repeat_of, received, mid_, mname in session.exec(
        stmt
    ).all():
        linked = status == "closed" and mid_ is not None  # a reopened case's link is dormant
        out.append(
            Row(
                id=cid,
                number=number,
                department=dept,
                category=cat,
                subtype=sub,
                status=status,
                repeat=repeat_of is not None,
                received_at=received,
                mechanism_id=mid_ if linked else None,
                mechanism_name=mname if linked else None,
                current=received >= mid,
            )
        )
    return out


def _change(now: int, before: int) -> str:
    return f"{now - before:+d}" if now != before else "0"


def _group(rows: Iterable[Row], key_of: Any, current_total: int) -> list[dict[str, Any]]:
    """Per group: cases now and before, split by category, repeats, mechanisms."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        for key, label in key_of(r):
            g = groups.setdefault(
                key,
                {
                    "key": key,
                    "name": label,
                    "cases": 0,
                    "previous": 0,
                    "unhandled": 0,
                    "impossible": 0,
                    "repeats": 0,
                    "with_mechanism": 0,
                    "_mechanisms": {},
                },
            )
            if r.mechanism_id is not None:
                g["_mechanisms"][r.mechanism_id] = r.mechanism_name
            if not r.current:
                g["previous"] += 1
                continue
            g["cases"] += 1
            if r.category in ("unhandled", "impossible"):
                g[r.category] += 1
            g["repeats"] += r.repeat
            g["with_mechanism"] += r.mechanism_id is not None
    out = []
    for g in groups.values():
        if not g["cases"] and not g["previous"]:
            continue
        mechanisms = g.pop("_mechanisms")
        g["share"] = g["cases"] / current_total if current_total else 0.0
        g["change"] = _change(g["cases"], g["previous"])
        g["mechanisms"] = [{"id": i, "name": n} for i, n in sorted(mechanisms.items())]
        g["mechanism_text"] = "、".join(f"#{i} {n}" for i, n in sorted(mechanisms.items()))
        out.append(g)
    out.sort(key=lambda g: (-g["cases"], -g["previous"], g["name"]))
    return out


# ---------------------------------------------------------------- matter types


def spans(text: str, keep: set[str]) -> list[str]:
    """The runs of `text` (normalised) covered by bigrams in `keep`, in order, that hold
    at least one telling bigram: 养老金停发 rather than 养老, 老金, 金停, 停发."""
    value = bigrams.normalize(text)
    covered = [False] * len(value)
    for i in range(len(value) - 1):
        if value[i : i + 2] in keep:
            covered[i] = covered[i + 1] = True
    out, current = [], ""
    for ch, on in zip(value, covered, strict=True):
        if on:
            current += ch
        elif current:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    telling = [w for w in out if any(_telling(w[i : i + 2]) for i in range(len(w) - 1))]
    return list(dict.fromkeys(telling))


def _han_bigrams(terms: Iterable[str]) -> set[str]:
    return {t for t in terms if len(t) == 2 and bigrams.is_han(t)}


def _telling(term: str) -> bool:
    return (
        len(term) == 2
        and bigrams.is_han(term)
        and term not in bigrams.GENERIC
        and not (term[0] in bigrams.FUNCTION_CHARS or term[1] in bigrams.FUNCTION_CHARS)
    )


def label(texts: Sequence[str], terms: Sequence[Sequence[str]], weight: Mapping[str, float]) -> str:
    """A few readable words for a type: the spans of the bigrams most of its matters
    share, in its most typical matter (社保卡、年检、养老金停发); a type of one matter
    is named by its first clause."""
    if len(texts) == 1:
        first = re.split(r"[，,。；;（(：:]", texts[0].strip())[0]
        return first if len(first) <= 16 else first[:15] + "…"
    counts = Counter(t for ts in terms for t in _han_bigrams(ts))
    keep = {t for t, n in counts.items() if n >= max(2, math.ceil(len(texts) / 2))}
    best = max(range(len(texts)), key=lambda i: (len(keep & set(terms[i])), -i))
    found = spans(texts[best], keep)
    found.sort(key=lambda w: -sum(weight.get(b, 0.0) for b in _han_bigrams(bigrams.terms(w))))
    words = [w if len(w) <= 10 else w[:9] + "…" for w in found[:3]]
    return "、".join(words) if words else label(texts[best : best + 1], [], weight)


def _types(
    session: Session, rows: list[Row], matters: dict[int, str], weights: Any
) -> list[dict[str, Any]]:
    from banbucheng.domain.views import links_for
    from banbucheng.knowledge.similar import lookup

    by_id = {r.id: r for r in rows}
    terms: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    for i in range(0, len(ids), 900):
        part = session.exec(
            select(CaseTerms.case_id, CaseTerms.main).where(
                col(CaseTerms.case_id).in_(ids[i : i + 900])
            )
        ).all()
        terms.update({cid: bigrams.split(main) for cid, main in part})
    for cid in ids:  # a case missing from the index (should not happen) still counts
        terms.setdefault(cid, bigrams.terms(matters[cid]))
    weights.load(t for ts in terms.values() for t in ts)
    out = []
    for members in cluster(terms, weights):
        now = [by_id[i] for i in members if by_id[i].current]
        if not now:
            continue
        before = [by_id[i] for i in members if not by_id[i].current]
        mechanisms = {by_id[i].mechanism_id: by_id[i].mechanism_name for i in members}
        mechanisms.pop(None, None)
        out.append(
            {
                "name": label([matters[i] for i in members], [terms[i] for i in members], weights),
                "example": matters[now[0].id],
                "cases": len(now),
                "previous": len(before),
                "change": _change(len(now), len(before)),
                "numbers": [r.number for r in now],
                "repeats": sum(r.repeat for r in now),
                "with_mechanism": sum(r.mechanism_id is not None for r in now),
                "_members": members,
                "_mechanisms": mechanisms,
            }
        )
    out.sort(key=lambda t: (-t["cases"], -t["previous"], t["numbers"][0]))
    # A type is covered, too, by a mechanism of an earlier case much like it.
    for t in out[:TOP_TYPES]:
        if t["_mechanisms"]:
            continue
        example = t["_members"][0]
        hits = lookup(session, terms[example], limit=5, exclude=t["_members"], min_score=KNOWN_MIN)
        for link in links_for(session, [h.case_id for h in hits]).values():
            t["_mechanisms"].setdefault(link["id"], link["name"])
    for t in out:
        t.pop("_members")
        found = t.pop("_mechanisms")
        t["mechanisms"] = [{"id": i, "name": n} for i, n in sorted(found.items())]
        t["mechanism_text"] = "、".join(f"#{i} {n}" for i, n in sorted(found.items()))
        t["has_mechanism"] = bool(found)
    return out


def _keywords(rows: list[Row], matters: Mapping[int, str]) -> list[dict[str, Any]]:
    """The words that recur in the period's matters: runs of bigrams found in at least
    two of its cases (公积金提取, 营业执照, 名称不一致), by how many cases hold them."""
    current = [r for r in rows if r.current]
    counts = Counter(t for r in current for t in _han_bigrams(bigrams.terms(matters[r.id])))
    keep = {t for t, n in counts.items() if n >= 2}
    now: Counter[str] = Counter()
    for r in current:
        now.update(w for w in spans(matters[r.id], keep) if len(w) >= 2)
    before_texts = [bigrams.normalize(matters[r.id]) for r in rows if not r.current]
    ranked = sorted((w for w, n in now.items() if n >= 2), key=lambda w: (-now[w], -len(w), w))
    out = []
    for word in ranked[:TOP_KEYWORDS]:
        previous = sum(word in text for text in before_texts)
        out.append(
            {
                "keyword": word,
                "cases": now[word],
                "previous": previous,
                "change": _change(now[word], previous),
            }
        )
    return out


# ---------------------------------------------------------------- trend


def _months_back(last: date, n: int) -> list[date]:
    first = last.replace(day=1)
    months = [first]
    for _ in range(n - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def _trend(session: Session, last: date) -> list[dict[str, Any]]:
    from banbucheng.knowledge.mechanisms import formed_count, served_count

    out = []
    for first in _months_back(last, TREND_MONTHS):
        following = (first + timedelta(days=32)).replace(day=1)
        lo, hi = _start(first), _start(following)
        in_month = (col(Case.received_at) >= lo, col(Case.received_at) < hi)
        cases, unhandled, impossible, repeats = session.exec(
            select(
                func.count(),
                func.count().filter(Case.category == "unhandled"),
                func.count().filter(Case.category == "impossible"),
                func.count(col(Case.repeat_of_id)),
            ).where(*in_month)
        ).one()
        out.append(
            {
                "month": f"{first:%Y-%m}",
                "cases": cases,
                "unhandled": unhandled,
                "impossible": impossible,
                "repeats": repeats,
                "served": served_count(session, lo, hi),
                "formed": formed_count(session, lo, hi),
            }
        )
    return out


# ---------------------------------------------------------------- the analysis


def analyse(session: Session, first: date, last: date) -> dict[str, Any]:
    """The 短板 analysis of the cases received from `first` to `last` (both included)."""
    from banbucheng.knowledge.mechanisms import formed_count, served_count
    from banbucheng.schema.index import Weights

    prev_first, prev_last = previous_period(first, last)
    lo, mid, hi = _start(prev_first), _start(first), _start(last + timedelta(days=1))
    rows = _cases(session, lo, mid, hi)
    current = [r for r in rows if r.current]
    total, before = len(current), len(rows) - len(current)
    matters = dict(
        session.exec(
            select(Case.id, Case.matter).where(
                col(Case.received_at) >= lo, col(Case.received_at) < hi
            )
        ).all()
    )
    weights = Weights(session)
    types = _types(session, rows, matters, weights)
    repeats = sum(r.repeat for r in current)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "previous": {"from": prev_first.isoformat(), "to": prev_last.isoformat()},
        "totals": {
            "cases": total,
            "previous": before,
            "change": _change(total, before),
            "unhandled": sum(r.category == "unhandled" for r in current),
            "impossible": sum(r.category == "impossible" for r in current),
            "unclassified": sum(r.category is None for r in current),
            "closed": sum(r.status == "closed" for r in current),
            "repeats": repeats,
            "repeat_rate": repeats / total if total else 0.0,
            "with_mechanism": sum(r.mechanism_id is not None for r in current),
            "served": served_count(session, first, last),
            "mechanisms_formed": formed_count(session, first, last),
            "types": len(types),
            "types_without_mechanism": sum(not t["has_mechanism"] for t in types),
        },
        "departments": _group(rows, lambda r: [(d, d) for d in departments(r.department)], total),
        "reasons": _group(rows, lambda r: [reason_of(r.category, r.subtype)], total),
        "types": types,
        "keywords": _keywords(rows, matters),
        "trend": _trend(session, last),
    }


# ---------------------------------------------------------------- as a report document


def document(data: dict[str, Any], *, center: str, label: str, as_of: datetime) -> Document:
    """The analysis as a report (a document.Document): the terminal, JSON, CSV, Markdown
    and XLSX all come from it, like every other report."""
    t = data["totals"]
    facts = [
        ("受理", t["cases"], f"{t['cases']} 件（上期 {t['previous']}，{t['change']}）"),
        ("应办未办", t["unhandled"], f"{t['unhandled']} 件"),
        ("完全不能", t["impossible"], f"{t['impossible']} 件"),
        ("待分类", t["unclassified"], f"{t['unclassified']} 件"),
        ("重复反映", t["repeats"], f"{t['repeats']} 件（{t['repeat_rate'] * 100:.1f}%）"),
        ("按已有长效机制办结", t["served"], f"{t['served']} 件"),
        ("新形成长效机制", t["mechanisms_formed"], f"{t['mechanisms_formed']} 项"),
        (
            "类案",
            t["types"],
            f"{t['types']} 类，其中尚无长效机制 {t['types_without_mechanism']} 类",
        ),
    ]
    group_columns = [
        Column("cases", "件数", "int"),
        Column("share", "占比", "rate"),
        Column("previous", "上期", "int"),
        Column("change", "增减"),
        Column("unhandled", "应办未办", "int"),
        Column("impossible", "完全不能", "int"),
        Column("repeats", "重复反映", "int"),
        Column("with_mechanism", "关联机制", "int"),
        Column("mechanism_text", "长效机制"),
    ]
    types = data["types"]
    type_rows = [dict(r, numbers_text="、".join(r["numbers"][:5])) for r in types[:TOP_TYPES]]
    gaps = [
        dict(r, numbers_text="、".join(r["numbers"][:5]))
        for r in types
        if not r["has_mechanism"] and r["cases"] + r["previous"] >= 2
    ]
    type_columns = [
        Column("name", "类案"),
        Column("example", "示例事项"),
        Column("cases", "件数", "int"),
        Column("previous", "上期", "int"),
        Column("change", "增减"),
        Column("repeats", "重复反映", "int"),
        Column("mechanism_text", "长效机制"),
        Column("numbers_text", "案件"),
    ]
    sections = [
        Section(
            "summary",
            "概况",
            [],
            [{"label": k, "value": v, "text": s} for k, v, s in facts],
            facts=True,
        ),
        Section(
            "departments",
            "按受阻部门/窗口",
            [Column("name", "部门/窗口"), *group_columns],
            data["departments"],
            note="一件案件涉及几个部门时，每个部门各计一次。",
        ),
        Section(
            "reasons", "按原因（分类）", [Column("name", "原因"), *group_columns], data["reasons"]
        ),
        Section(
            "types",
            "按事项类型（类案）",
            type_columns,
            type_rows,
            note=(
                f"相似的事项归为一类（含上期）；仅列前 {TOP_TYPES} 类。"
                if len(types) > TOP_TYPES
                else "相似的事项归为一类（含上期）。"
            ),
        ),
        Section(
            "gaps",
            "短板：反复出现但尚无长效机制的类案",
            type_columns,
            gaps,
            note="本期与上期合计至少 2 件、且本期及既往相似案件均未形成长效机制。",
        ),
        Section(
            "keywords",
            "高频关键词",
            [
                Column("keyword", "关键词"),
                Column("cases", "件数", "int"),
                Column("previous", "上期", "int"),
                Column("change", "增减"),
            ],
            data["keywords"],
        ),
        Section(
            "monthly",
            "月度趋势",
            [
                Column("month", "月份"),
                Column("cases", "受理", "int"),
                Column("unhandled", "应办未办", "int"),
                Column("impossible", "完全不能", "int"),
                Column("repeats", "重复反映", "int"),
                Column("served", "按机制办结", "int"),
                Column("formed", "新形成机制", "int"),
            ],
            data["trend"],
        ),
    ]
    charts = [
        Chart(
            title="月度受理件数",
            section="monthly",
            x="month",
            series=("cases",),
            sheet="趋势图",
            kind="line",
            terminal="bars",
        )
    ]
    previous = data["previous"]
    return Document(
        kind="analysis",
        title=f"{center} 办不成事 短板分析",
        subtitle=f"{label}（上期：{previous['from']} 至 {previous['to']}）",
        data=data,
        as_of=as_of,
        sections=sections,
        charts=charts,
    )
