"""`bbc import`: cases kept so far in spreadsheets, brought in through the lifecycle.

Files: CSV in UTF-8 (with or without BOM), GB18030/GBK (what Excel and WPS save on
Chinese Windows) or UTF-16 ("Unicode text"), comma- or tab-separated, decoded in one
encoding for the whole file (encoding.py); and XLSX (the first worksheet). Headers
in Chinese or English (HEADERS below).

Every row is checked first; each bad row is reported with its number as Excel or WPS
shows it (the header is row 1) and a reason that never repeats personal data. The
good rows then go through the same lifecycle functions as typed commands, with the
clock set to the row's own times (as demo.py does), so deadlines follow the same
rules; each case also gets an `import` event naming the file and row. They are kept
in a batch and written in bulk, every FLUSH_ROWS rows (services/bulk.py), not one
statement at a time. Everything happens in the caller's one transaction: by default
nothing is kept when any row is bad, and a crash or kill in the middle leaves the
store as it was.
"""

from __future__ import annotations

import csv
import functools
import gc
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from banbucheng.core.errors import BbcError, InvalidInput
from banbucheng.core.timeutil import BEIJING, to_beijing
from banbucheng.trust.encoding import decode

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CELL = 10_000
MAX_COLUMNS = 200  # of an XLSX sheet; registers have a few dozen at most
_TITLE_ROWS = 10  # how far down the header row may be, below titles and notes

# key: (Chinese headers, English headers); the first of each is the documented one.
HEADERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "name": (("姓名", "反映人", "反映人姓名", "群众姓名"), ("name", "citizen", "citizen_name")),
    "phone": (("电话", "联系电话", "手机", "手机号", "手机号码"), ("phone", "telephone", "mobile")),
    "id_number": (("身份证号", "身份证号码", "身份证"), ("id_number", "id_no", "id_card")),
    "matter": (("反映事项", "事项", "反映问题", "问题"), ("matter", "issue")),
    "department": (("受阻部门", "受阻部门/窗口", "受阻窗口", "部门"), ("department",)),
    "channel": (("渠道", "受理渠道"), ("channel",)),
    "received_at": (("受理时间", "受理日期", "登记时间", "反映时间"), ("received_at", "received")),
    "category": (("分类", "类别"), ("category",)),
    "subtype": (("子类",), ("subtype",)),
    "unit": (("主办单位", "责任单位", "承办单位"), ("unit",)),
    "closed_at": (("办结时间", "办结日期"), ("closed_at", "closed")),
    "result": (("办理结果", "结果"), ("result",)),
    "mechanism": (("长效机制",), ("mechanism",)),
    "satisfaction": (("满意度", "回访满意度"), ("satisfaction",)),
}
REQUIRED = ("name", "phone", "matter", "received_at")
LABELS = {key: zh[0] for key, (zh, _) in HEADERS.items()}
_ALIASES = {
    alias: key for key, (zh, en) in HEADERS.items() for alias in (*zh, *(e.lower() for e in en))
}
_DECORATION = re.compile(r"[\s*＊]+|[（(][^）)]*[）)]$")


def header_key(text: Any) -> str | None:
    """'姓名*', ' Phone ', '受理时间（年-月-日）' → the field they name, or None."""
    if text is None:
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip().lstrip("\ufeff")
    value = _DECORATION.sub("", _DECORATION.sub("", value)).lower()
    return _ALIASES.get(value)


# ---------------------------------------------------------------- reading files


@dataclass
class Table:
    source: str  # what the import event records: file name and digest
    rows: list[tuple[int, dict[str, Any]]]  # (row number as Excel shows it, field → raw cell)
    ignored: list[str] = field(default_factory=list)  # header cells that name no field


def read_table(path: Path, encoding: str | None = None) -> Table:
    """The file's header and rows; `encoding` for a CSV, checked by check_encoding."""
    from banbucheng.core.files import os_reason

    path = path.expanduser()
    try:
        if path.is_dir():
            raise InvalidInput(f"{_shown_path(path)} 是目录，请给出 CSV 或 XLSX 文件")
        if not path.is_file():
            raise InvalidInput(f"找不到文件：{_shown_path(path)}")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InvalidInput(f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB），请拆分后分批导入")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取文件：{os_reason(exc)}") from None
    if not data.strip():
        raise InvalidInput("文件是空的")
    digest = hashlib.sha256(data).hexdigest()[:12]
    source = f"{_shown_path(Path(path.name))}（SHA-256 {digest}）"
    if data.startswith(b"PK\x03\x04"):
        grid = _xlsx_grid(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput("不支持旧版 Excel（.xls）文件，请在 Excel 或 WPS 中另存为 .xlsx 或 CSV")
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        raise InvalidInput("文件扩展名为 .xlsx，但内容不是有效的 XLSX 文件")
    else:
        grid = _csv_grid(data, encoding)
    return _table(grid, source)


def _shown_path(path: Path) -> str:
    """A file name safe to print and record: no control characters, at most 80 chars."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in str(path))
    return text if len(text) <= 80 else text[:79] + "…"


def _csv_grid(data: bytes, encoding: str | None) -> Iterator[tuple[int, list[Any]]]:
    text = decode(data, encoding)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for cells in reader:
            number += 1  # one record is one row in Excel, even with line breaks in a cell
            yield number, cells
    except csv.Error:
        raise InvalidInput(
            f"第 {number + 1} 行不是有效的 CSV（引号不配对或单元格过长），请检查后重新导入"
        ) from None


def _xlsx_grid(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the first worksheet, streamed (read-only mode); a malformed file, or one
    that breaks in the middle, is one clear error."""
    import warnings
    import zipfile

    from openpyxl import load_workbook

    book = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it cannot read
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            if not book.worksheets:
                raise InvalidInput("XLSX 文件中没有工作表")
            rows = book.worksheets[0].iter_rows(
                values_only=True, max_row=MAX_ROWS + 50, max_col=MAX_COLUMNS
            )
            for number, cells in enumerate(rows, start=1):
                yield number, list(cells)
    except BbcError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
        raise InvalidInput(f"无法读取 XLSX 文件（{type(exc).__name__}），文件可能已损坏") from None
    except Exception as exc:  # openpyxl raises many kinds on malformed XML
        raise InvalidInput(f"无法读取 XLSX 文件（{type(exc).__name__}），文件可能已损坏") from None
    finally:
        if book is not None:
            book.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(grid: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[Any]]:
    """The header row: the first row naming at least two fields, below any titles and
    notes (many registers have some); else the first row, to say what it lacks."""
    seen: list[tuple[int, list[Any]]] = []
    for number, cells in grid:
        if all(_blank(c) for c in cells):
            continue
        if sum(header_key(c) is not None for c in cells) >= 2:
            return number, cells
        seen.append((number, cells))
        if len(seen) >= _TITLE_ROWS:
            break
    if not seen:
        raise InvalidInput("文件中没有表头和数据")
    return seen[0]


def _table(grid: Iterator[tuple[int, list[Any]]], source: str) -> Table:
    number, cells = _header(grid)
    header = [header_key(c) for c in cells]
    ignored: list[str] = []
    seen: dict[str, int] = {}
    for i, key in enumerate(header):
        if key is None:
            if not _blank(cells[i]):
                ignored.append(_shown_path(Path(str(cells[i]).strip()))[:20])
            continue
        if key in seen:
            raise InvalidInput(f"表头中「{LABELS[key]}」出现了两次（第 {i + 1} 列）")
        seen[key] = i
    missing = [f"{LABELS[k]}（{HEADERS[k][1][0]}）" for k in REQUIRED if k not in seen]
    if missing:
        raise InvalidInput(
            f"第 {number} 行（表头）缺少必需的列：{'、'.join(missing)}；"
            "表头可用中文或英文，见 bbc import --help"
        )
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, cells in grid:
        if all(_blank(c) for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(f"文件超过 {MAX_ROWS} 行，请拆分后分批导入")
        record: dict[str, Any] = {
            key: cells[i] for i, key in enumerate(header) if key is not None and i < len(cells)
        }
        extra = [c for c in cells[len(header) :] if not _blank(c)]
        if extra:
            record["_extra"] = len(extra)
        rows.append((number, record))
    if not rows:
        raise InvalidInput("文件中只有表头，没有数据行")
    return Table(source=source, rows=rows, ignored=ignored)


# ---------------------------------------------------------------- checking rows


@dataclass
class Row:
    number: int
    name: str
    phone: str
    matter: str
    received_at: datetime
    id_number: str | None = None
    department: str = ""
    channel: str = "window"
    category: str | None = None
    subtype: str | None = None
    unit: str | None = None
    closed_at: datetime | None = None
    closed_date_only: bool = False
    result: str | None = None
    mechanism: str | None = None
    satisfaction: str | None = None


def _text(value: Any) -> str:
    if value.__class__ is str:  # every cell of a CSV
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _when(value: Any, label: str) -> tuple[datetime, bool]:
    """A time from a cell: an Excel date/time, or text in any form `parse_datetime`
    takes. Returns (aware Beijing datetime, whether only a date was given)."""
    from banbucheng.core.validate import parse_moment

    if value.__class__ is str:
        found = _plain_moment(value)
        if found is not None:
            return found, False
    if isinstance(value, datetime):
        if not 2000 <= value.year <= 2099:
            raise InvalidInput(f"{label}超出范围：年份应在2000至2099之间")
        return to_beijing(value), value.time() == time(0)
    if isinstance(value, date):
        if not 2000 <= value.year <= 2099:
            raise InvalidInput(f"{label}超出范围：年份应在2000至2099之间")
        return datetime.combine(value, time(0), BEIJING), True
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise InvalidInput(f"{label}是数字而不是日期，请把该列设为日期或文本格式")
    return parse_moment(_text(value), field=label)


_PLAIN_MOMENT = re.compile(r"(20[0-9][0-9])-([0-9][0-9])-([0-9][0-9]) ([0-9][0-9]):([0-9][0-9])")


def _plain_moment(text: str) -> datetime | None:
    """'2024-03-05 09:13', as registers mostly write it: what parse_moment makes of it
    (Beijing time, years 2000 to 2099), without its general parse; None for any other
    text, or a day or time that does not exist (parse_moment then says why)."""
    match = _PLAIN_MOMENT.fullmatch(text)
    if match is None:
        return None
    y, m, d, hour, minute = match.groups()
    try:
        return datetime(int(y), int(m), int(d), int(hour), int(minute), tzinfo=BEIJING)
    except ValueError:
        return None


@functools.cache
def _fields() -> tuple[tuple[str, Callable[[Any, datetime], Any]], ...]:
    """Each field's check, (key, convert(cell, now)), in the order errors are listed;
    the values repeated from row to row (units, results, names) checked once."""
    from banbucheng.core.policy import normalize_category, normalize_subtype
    from banbucheng.core.validate import clean_text, normalize_id_number, normalize_phone
    from banbucheng.domain import lifecycle

    cached = functools.lru_cache(maxsize=4096)

    @cached
    def text(value: str, label: str, max_len: int) -> str:
        return clean_text(value, field=label, max_len=max_len)

    @cached
    def phone(value: str) -> str:
        if _MOBILE.fullmatch(value):  # as normalize_phone gives an 11-digit mobile
            return value
        return normalize_phone(value, field="电话")

    def limited(label: str, max_len: int = 2000) -> Callable[[Any, datetime], Any]:
        return lambda v, now: text(_text(v), label, max_len)

    # A few values each, on every row: each text's answer kept (a refusal is not).
    channel, category = cached(lifecycle.normalize_channel), cached(normalize_category)
    subtype, satisfaction = cached(normalize_subtype), cached(lifecycle.normalize_satisfaction)

    return (
        ("name", limited("姓名", 40)),
        ("phone", lambda v, now: phone(_text(v))),
        ("id_number", lambda v, now: normalize_id_number(_text(v), today=now.date())),
        ("matter", limited("反映事项")),
        ("department", limited("受阻部门", 60)),
        ("channel", lambda v, now: channel(_text(v))),
        ("received_at", lambda v, now: _when(v, "受理时间")),
        ("category", lambda v, now: category(_text(v))),
        ("subtype", lambda v, now: subtype(_text(v))),
        ("unit", limited("主办单位", 60)),
        ("closed_at", lambda v, now: _when(v, "办结时间")),
        ("result", limited("办理结果")),
        ("mechanism", limited("长效机制")),
        ("satisfaction", lambda v, now: satisfaction(_text(v))),
    )


_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def check_row(
    number: int, raw: dict[str, Any], *, now: datetime, closing: time
) -> tuple[Row | None, list[str]]:
    """A checked row, or the reasons it is bad (never the values themselves)."""
    errors: list[str] = []
    values: dict[str, Any] = {}
    for key, convert in _fields():
        cell = raw.get(key)
        text_cell = isinstance(cell, str)
        if cell is None or (text_cell and not cell.strip()):  # _blank
            if key in REQUIRED:
                errors.append(f"缺少{LABELS[key]}")
            continue
        if text_cell and len(cell) > MAX_CELL:
            errors.append(f"{LABELS[key]}过长")
            continue
        try:
            values[key] = convert(cell, now)
        except InvalidInput as exc:
            message = exc.message
            if key in ("phone", "id_number") and isinstance(cell, int | float):
                message += "（该单元格是数字格式，开头的 0 或末几位可能已丢失，请设为文本格式）"
            errors.append(message)
    if raw.get("_extra"):
        errors.append(f"比表头多出 {raw['_extra']} 个有内容的单元格")

    received = values.get("received_at", (None, False))[0]
    closed, closed_date_only = values.get("closed_at", (None, False))
    if received is not None and received > now:
        errors.append("受理时间晚于当前时间")
    category = values.get("category")
    if values.get("subtype") and category is None:
        category = "unhandled"  # both subtypes belong to 应办未办 (as in register)
    if values.get("subtype") and category != "unhandled":
        errors.append("子类（很难办、不作为/吃拿卡要）只用于「应办未办」")
    if values.get("unit") and category is None:
        errors.append("有主办单位但缺少分类，未分类的案件不能派单")
    if closed is not None:
        if closed_date_only:  # a day without a time: the center's closing time that day,
            day = closed.date()  # but not before the receipt nor after now on those days
            closed = datetime.combine(day, closing, BEIJING)
            if received is not None and day == received.date():
                closed = max(closed, received)
            if day == now.date():
                closed = min(closed, now)
        if category is None:
            errors.append("已办结的案件须有分类")
        if "result" not in values:
            errors.append("有办结时间但缺少办理结果")
        if received is not None and closed < received:
            errors.append("办结时间早于受理时间")
        if closed > now:
            errors.append("办结时间晚于当前时间")
    elif "result" in values:
        errors.append("有办理结果但缺少办结时间")
    if "satisfaction" in values and closed is None:
        errors.append("有满意度但案件未办结（缺少办结时间）")
    if errors:
        return None, errors
    return (
        Row(
            number=number,
            name=values["name"],
            phone=values["phone"],
            matter=values["matter"],
            received_at=received,
            id_number=values.get("id_number"),
            department=values.get("department", ""),
            channel=values.get("channel", "window"),
            category=category,
            subtype=values.get("subtype"),
            unit=values.get("unit"),
            closed_at=closed,
            closed_date_only=closed_date_only,
            result=values.get("result"),
            mechanism=values.get("mechanism"),
            satisfaction=values.get("satisfaction"),
        ),
        [],
    )


# ---------------------------------------------------------------- importing


@dataclass
class Outcome:
    source: str
    rows: int = 0
    imported: list[tuple[int, str]] = field(default_factory=list)  # (row, case number)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    ignored: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    kept: bool = True  # False when the transaction was rolled back (dry run, bad rows)

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "dry_run": dry_run,
            "imported": [{"row": r, "number": n} for r, n in self.imported] if self.kept else [],
            "would_import": len(self.imported),
            "bad": [{"row": r, "reason": why} for r, why in self.bad],
            "ignored_columns": self.ignored,
            "new_units": self.new_units,
        }


FLUSH_ROWS = 500  # rows written together (domain/batch.py)


def run_import(
    ctx: Any,
    table: Table,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Check every row, then load the good ones through the lifecycle into a batch
    (services/bulk.py), written every FLUSH_ROWS rows; a row the lifecycle refuses is
    undone alone, reported and left out. The caller's transaction decides what is kept.
    The cyclic garbage collector is paused meanwhile: the import keeps what it makes
    alive to its end, so each collection walked it all again for nothing (a seventh of
    the CPU time); the rows make no reference cycles, and the batch's is broken at the end."""
    from banbucheng.services import bulk
    from banbucheng.trust.duplicates import stored_duplicates

    enabled = gc.isenabled()
    gc.disable()
    try:
        outcome = Outcome(source=table.source, rows=len(table.rows), ignored=table.ignored)
        good: list[Row] = []
        seen: dict[tuple[Any, ...], int] = {}
        for number, raw in table.rows:
            row, errors = check_row(number, raw, now=ctx.now, closing=ctx.policy.closing_time)
            if row is not None:
                key = (row.received_at, row.phone, row.matter)
                if key in seen:
                    errors = [f"与第 {seen[key]} 行重复（受理时间、电话和事项相同）"]
                else:
                    seen[key] = number
                    good.append(row)
            if errors:
                outcome.bad.append((number, "；".join(dict.fromkeys(errors))))
        stored = stored_duplicates(ctx, good)
        checked: list[Row] = []
        for row in good:
            existing = stored.get((row.received_at, row.phone, row.matter))
            if existing:
                outcome.bad.append(
                    (row.number, f"与已有案件 {existing} 重复（受理时间、电话和事项相同）")
                )
            else:
                checked.append(row)
        bulk_ctx = bulk.start(ctx)
        batch = bulk_ctx.batch
        batch.learning.prepare((row.phone, row.id_number) for row in checked)
        for i, row in enumerate(checked, start=1):
            mark = batch.savepoint()
            try:
                number, new_unit = _load(bulk_ctx, row, table.source)
            except BbcError as exc:
                batch.rollback(mark)
                outcome.bad.append((row.number, exc.message))
            else:
                outcome.imported.append((row.number, number))
                if new_unit and new_unit not in outcome.new_units:  # listed once at the end
                    outcome.new_units.append(new_unit)
            if i % FLUSH_ROWS == 0 or i == len(checked):
                batch.flush(last=i == len(checked))
                if progress is not None:
                    progress(i, len(checked))
        batch.learning, batch.before_flush = None, []  # freed now, not by the collector
        outcome.bad.sort()
        return outcome
    finally:
        if enabled:
            gc.enable()


def _at(ctx: Any, now: datetime) -> Any:
    """The Ctx at another time (dataclasses.replace without its cost: no __init__)."""
    moved = object.__new__(type(ctx))
    moved.__dict__.update(vars(ctx))
    moved.now = now
    return moved


def _load(ctx: Any, row: Row, source: str) -> tuple[str, str | None]:
    """One row through the lifecycle, as the commands would have typed it at its own
    times. Returns the case number and the unit added to the directory, if any."""
    from banbucheng.domain import lifecycle
    from banbucheng.services import cases as case_service

    at_received = _at(ctx, row.received_at)
    learning = ctx.batch.learning if ctx.batch is not None else None
    if learning is not None:  # the row's citizen is hashed from these (services/bulk.py)
        learning.expect((row.name, row.phone, row.id_number))
    try:
        case = case_service.register(
            at_received,
            citizen_name=row.name,
            phone=row.phone,
            matter=row.matter,
            channel=row.channel,
            received_at=row.received_at,
            id_number=row.id_number,
            department=row.department,
            category=row.category,
            subtype=row.subtype,
        )
    finally:
        if learning is not None:
            learning.expect(None)
    new_unit = bool(row.unit) and bool(lifecycle.dispatch(at_received, case, unit=row.unit))
    if row.closed_at is not None:
        at_closed = _at(ctx, row.closed_at)
        case_service.close(
            at_closed, case, result=row.result or "", at=row.closed_at, mechanism=row.mechanism
        )
        if row.satisfaction:
            lifecycle.visit(at_closed, case, satisfaction=row.satisfaction, at=row.closed_at)
    lifecycle.record_import(ctx, case, source=source, row=row.number)
    return case.number, row.unit if new_unit else None
