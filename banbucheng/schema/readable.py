"""Values no command can read as their column's type: a store edited behind the tool's
back (SQLite keeps any type in any column: x'00' in a time, words in a number, a status
that is none of the lifecycle's). Found in SQL, a scan of the tables, and only once a
command has already failed on the store's data (store.Store.unreadable): the user is
then told which case and field, not 内部错误, and pointed to `bbc verify`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String
from sqlalchemy.exc import DBAPIError

from banbucheng.core.labels import CHANNELS, FIELD_LABELS, OUTCOMES, SATISFACTION, STATUS_LABELS
from banbucheng.schema.models import Case, Event, Unit

LIMIT = 3  # places named; one is enough to act on, verify names them all

# The values a column may hold, where the record's words are a closed list.
_ALLOWED = {
    "status": STATUS_LABELS,
    "channel": CHANNELS,
    "outcome": OUTCOMES,
    "satisfaction": SATISFACTION,
}
_COLUMN_LABELS = {
    **FIELD_LABELS,
    "id": "内部编号",
    "number": "编号",
    "citizen_enc": "反映人（密文）",
    "citizen_mask": "反映人",
    "phone_enc": "电话（密文）",
    "phone_mask": "电话",
    "id_enc": "身份证号（密文）",
    "id_mask": "身份证号",
    "unit_id": "主办单位",
    "repeat_of_id": "重复反映（前案）",
    "case_id": "所属案件",
    "at": "时间",
    "actor": "经办人",
    "action": "动作",
    "detail": "内容",
    "seq": "链上位置",
    "prev_hash": "前一校验值",
    "hash": "校验值",
    "mac": "密钥封印",
    "name": "名称",
    "contact": "联系人",
    "created_at": "添加时间",
}


def _quoted(values: Any) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _unreadable(column: Any, sqlite: bool) -> str | None:
    """SQL that is true where the column's value cannot be read as its type (None:
    anything it can hold is readable). PostgreSQL's columns are typed: there only
    the closed lists are checked."""
    # A TypeDecorator (SQLModel's AutoString, BeijingDateTime) is read as its own type.
    name, kind = column.name, getattr(column.type, "impl_instance", column.type)
    checks = []
    if sqlite:
        if isinstance(kind, Boolean):
            checks.append(f"typeof({name}) <> 'integer' OR {name} NOT IN (0, 1)")
        elif isinstance(kind, Integer):
            checks.append(f"typeof({name}) <> 'integer'")
        elif isinstance(kind, Date):
            checks.append(
                f"typeof({name}) <> 'text' OR length({name}) <> 10 OR date({name}) IS NULL"
            )
        elif isinstance(kind, DateTime):
            checks.append(f"typeof({name}) <> 'text' OR datetime({name}) IS NULL")
        elif isinstance(kind, String):
            checks.append(f"typeof({name}) <> 'text'")
    if name in _ALLOWED:
        checks.append(f"{name} NOT IN ({_quoted(_ALLOWED[name])})")
    if not checks:
        return None
    either = " OR ".join(f"({check})" for check in checks)
    if column.nullable:
        return f"({name} IS NOT NULL AND ({either}))"
    return f"({name} IS NULL OR {either})"


def _query(model: Any, sqlite: bool, shown: str) -> str | None:
    table = model.__table__
    found = [(c.name, sql) for c in table.columns if (sql := _unreadable(c, sqlite)) is not None]
    if not found:
        return None
    which = " ".join(f"WHEN {sql} THEN '{name}'" for name, sql in found)
    return (
        f"SELECT id, {shown}, CASE {which} END FROM {table.name} "
        f"WHERE {' OR '.join(sql for _, sql in found)} ORDER BY id DESC LIMIT {LIMIT}"
    )


def _number(sqlite: bool, column: str) -> str:
    """A case number, if it is text (else NULL, and the case is named by its id)."""
    if sqlite:
        return f"CASE WHEN typeof({column}) = 'text' THEN {column} END"
    return column


def places(conn: Any) -> list[str]:
    """Where the store holds values it cannot read, in words: up to LIMIT places, each
    naming the case (or event, or unit) and the field, the newest first; [] when there
    are none. The scan reads every row: at 10^6 cases 20–30 s, so a caller limits its
    time (store.Store.unreadable), and a query stopped so ends the look."""
    sqlite = conn.dialect.name == "sqlite"
    number = _number(sqlite, "number")
    event_case = f"(SELECT {_number(sqlite, 'c.number')} FROM cases c WHERE c.id = events.case_id)"
    out: list[str] = []
    for model, shown in ((Case, number), (Event, event_case), (Unit, "name")):
        query = _query(model, sqlite, shown)
        try:
            rows = conn.exec_driver_sql(query).all() if query is not None else []
        except DBAPIError:  # out of time (dialects.time_limit): what was found so far
            break
        for row_id, name, column in rows:
            label = _COLUMN_LABELS.get(column, column)
            if model is Case:
                whose = f"案件 {name} 的" if name else f"案件（内部编号 {row_id}）的"
            elif model is Event:
                whose = f"案件 {name} 的事件 {row_id} 的" if name else f"事件 {row_id} 的"
            else:
                whose = (
                    f"单位“{name}”的" if isinstance(name, str) else f"单位（内部编号 {row_id}）的"
                )
            out.append(f"{whose}「{label}」")
    return out[:LIMIT]
