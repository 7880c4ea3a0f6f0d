"""Hostile and broken input, thrown by hypothesis at every command and parser.

Every answer is either success or a clear error with a non-zero exit code: never a
traceback, never an internal error (exit 70), never a citizen's personal data in an
error message, and the store's content is the same after every refused command.

Each example starts from a copy of the same small store, so examples are independent
and hypothesis can shrink a failure to its simplest form.
"""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import dump_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from banbucheng.cli import app
from banbucheng.core import validate
from banbucheng.core.errors import BbcError
from banbucheng.trust import importer, integrity

NOW = "2026-06-01 10:00"
# BBC_FUZZ_SCALE=20 python -m pytest tests/test_hostile.py: a longer hunt than CI's.
SCALE = float(os.environ.get("BBC_FUZZ_SCALE", "1"))


def examples(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Personal data in the template store: it must never appear in an error message.
SECRETS = ("霍某某", "13712341111", "李海清", "13900001111", "11010519491231002X", "张小三")
# Parameters that name files: fuzzed only inside the test's own directory.
PATH_PARAMS = {"target", "source", "file", "directory", "output", "xlsx", "pdf", "db"}
SKIP = {"demo"}  # builds its own demo store; covered in test_cli
INTERNAL_ERROR = 70

NASTY = [
    "",
    " ",
    "\x00",
    "\x07",
    "\x1b[31m红\x1b[0m",
    "\ud800",
    "\udcff",
    "\u202e反转",
    "\u2028",
    "\ufeff",
    "\u200b",
    "=1+1",
    "=cmd|' /C calc'!A0",
    "@SUM(A1)",
    "-2",
    "+86",
    "\t=x",
    "'; DROP TABLE cases; --",
    "%s%n%x",
    "{0}{1}",
    "../../../etc/passwd",
    "𠀀𠀁",
    "👨‍👩‍👧‍👦",
    "١٢٣٤",
    "２０２１－０４－０１",
    "2021-02-29",
    "2021-04-01 25:61",
    "9999-12-31",
    "1999-12-31",
    "0000-00-00",
    "2026-06-01",
    "2026-06-01 09:00",
    "2026-05-29",
    "2026-06-01..2026-06-05",
    "2027-01-01..2027-12-31",
    "NaN",
    "inf",
    "-1",
    "0",
    "1",
    "7",
    "99999999999999999999",
    "1e309",
    "应办未办",
    "完全不能",
    "很难办",
    "不作为",
    "impossible",
    "非常满意",
    "不满意",
    "resolved",
    "open",
    "closed,办理中",
    "BB20260527-001",
    "bb20260527-002",
    " BB20260528-001 ",
    "BB99999999-999",
    "limit.hard",
    "closing_time",
    "number_prefix",
    "nonworking_receipt",
    "17:30",
    "24:00",
    "省农保中心",
    "中心综合协调科",
    "1:" + "0" * 16,
    "2026-06",
    "2026-13",
]
HUGE = st.builds(
    lambda piece, n: piece * n,
    st.sampled_from(["李", "a", "😀", "\n", "=", "9", "\x00"]),
    st.integers(100, 20_000),
)
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.text(st.characters(blacklist_categories=()), max_size=60),  # controls, surrogates
    st.text(st.sampled_from("0123456789-:/. 年月日时分T+Z"), max_size=25),  # date-ish
    st.integers(-(10**15), 10**15).map(str),
    HUGE,
)


def _case(bbc: Callable[..., Any], name: str, phone: str, matter: str, at: str, *extra: str):
    return bbc(
        "register", "--name", name, "--phone", phone, "--matter", matter, "--at", at, *extra
    ).stdout.strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cases in every state: closed and visited, dispatched and escalated, classified
    misconduct, registered only, and one overdue."""
    db = tmp_path_factory.mktemp("template") / "template.sqlite3"
    runner = CliRunner()
    env = {"BBC_DB": str(db), "BBC_OPERATOR": "窗口甲", "BBC_NOW": "2026-05-29 16:00"}

    def bbc(*args: str) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    huo = _case(
        bbc, "霍某某", "13712341111", "两证名称不一致", "2026-05-27 09:30", "--category", "应办未办"
    )
    bbc("dispatch", huo, "--unit", "中心综合协调科")
    bbc("close", huo, "--result", "出具证明", "--at", "2026-05-28 11:00")
    bbc("visit", huo, "--satisfaction", "满意")
    li = _case(
        bbc,
        "李海清",
        "13900001111",
        "社保卡未年检",
        "2026-05-27 14:00",
        "--category",
        "应办未办",
        "--subtype",
        "很难办",
        "--id-number",
        "11010519491231002X",
    )
    bbc("dispatch", li, "--unit", "省农保中心")
    bbc("escalate", li, "--reason", "需协调")
    _case(
        bbc,
        "张小三",
        "13800000000",
        "窗口人员索要好处",
        "2026-05-28 09:00",
        "--category",
        "应办未办",
        "--subtype",
        "不作为",
    )
    _case(bbc, "王五", "0571-87654321", "未分类的事", "2026-05-28 10:00")
    _case(bbc, "赵六", "13600000000", "早已超期", "2026-05-06 10:00", "--category", "完全不能")
    bbc("config", "set", "limit.hard", "7")
    bbc("calendar", "add", "--holiday", "2027-01-01", "--name", "元旦", "--source", "通知")
    return db


@pytest.fixture
def store(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("BBC_NOW", NOW)
    monkeypatch.chdir(tmp_path)  # relative paths a command writes land here
    yield tmp_path / "fuzz.sqlite3"


def _fresh(template: Path, db: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)
    os.chmod(db, 0o600)


def _leaves() -> list[tuple[str, Any]]:
    out = []
    stack: list[tuple[str, Any]] = [("", typer.main.get_command(app))]
    while stack:
        path, cmd = stack.pop()
        subcommands = getattr(cmd, "commands", None)
        if subcommands:
            stack.extend((f"{path} {n}".strip(), c) for n, c in subcommands.items())
        elif path not in SKIP:
            out.append((path, cmd))
    return sorted(out, key=lambda pc: pc[0])


COMMANDS = _leaves()


def _path_value(data: st.DataObject, folder: Path) -> str:
    name = data.draw(
        st.one_of(
            st.sampled_from(["out.sqlite3", "导出", "a.csv", "x.xlsx", "sub/none.csv", ".", ""]),
            st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=300),
        ),
        label="path",
    )
    return str(folder / name) if name not in (".", "") else name


def _args_for(data: st.DataObject, cmd: Any, folder: Path) -> list[str]:
    args: list[str] = []
    for param in cmd.params:
        is_path = param.name in PATH_PARAMS
        if param.param_type_name == "argument":
            if not param.required and not data.draw(st.booleans(), label=param.name):
                continue
            args.append(_path_value(data, folder) if is_path else data.draw(TEXT, label=param.name))
            continue
        if not data.draw(st.booleans(), label=f"use {param.name}"):
            continue
        if getattr(param, "is_flag", False):
            args.append(param.opts[0])
            continue
        repeat = data.draw(st.integers(1, 3), label="repeat") if param.multiple else 1
        for _ in range(repeat):
            value = _path_value(data, folder) if is_path else data.draw(TEXT, label=param.name)
            args += [param.opts[0], value]
    return args


def _check_outcome(db: Path, args: list[str], result: Any, before: dict) -> None:
    shown = f"{args!r}\nexit {result.exit_code}\nstdout {result.stdout[-500:]!r}\n" + (
        f"stderr {result.stderr[-1000:]!r}"
    )
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.exit_code != INTERNAL_ERROR, shown
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (shown, result.exception)
    if result.exit_code == 0:
        return
    if result.exit_code in (1, 3):
        assert result.stderr.strip(), shown  # a reason, on stderr
    if result.exit_code != 2:  # usage errors are typer's, before any of our code runs
        for secret in SECRETS:
            assert secret not in result.stderr, (secret, shown)
    if args[0] in ("overdue", "doctor"):
        return  # exit 4 (overdue cases) and 5 (a warning with --strict) are not refusals
    assert dump_store(db) == before, shown


@examples(120)
@given(data=st.data())
def test_any_command_with_hostile_arguments(store, template, data):
    name, cmd = data.draw(st.sampled_from(COMMANDS), label="command")
    args = [*name.split(), *_args_for(data, cmd, store.parent)]
    _fresh(template, store)
    before = dump_store(store)
    result = CliRunner().invoke(app, ["--db", str(store), *args])
    _check_outcome(store, args, result, before)


@examples(40)
@given(
    cells=st.lists(st.lists(TEXT, min_size=1, max_size=12), min_size=1, max_size=6),
    header=st.lists(
        st.sampled_from(
            [
                "姓名",
                "电话",
                "反映事项",
                "受理时间",
                "分类",
                "子类",
                "主办单位",
                "办结时间",
                "办理结果",
                "满意度",
                "身份证号",
                "name",
                "phone",
                "序号",
                "",
            ]
        ),
        min_size=0,
        max_size=12,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_import_of_hostile_spreadsheets(store, template, cells, header, encoding, delimiter):
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    try:
        writer.writerows([header, *cells] if header else cells)
        payload = buffer.getvalue().encode(encoding, errors="surrogatepass")
    except (csv.Error, UnicodeEncodeError):
        return
    sheet = store.parent / "hostile.csv"
    sheet.write_bytes(payload)
    _fresh(template, store)
    before = dump_store(store)
    args = ["import", str(sheet)]
    result = CliRunner().invoke(app, ["--db", str(store), *args])
    _check_outcome(store, args, result, before)
    if result.exit_code == 0:
        verified = CliRunner().invoke(app, ["--db", str(store), "verify"])
        assert verified.exit_code == 0, verified.stdout


@examples(40)
@given(
    payload=st.one_of(
        st.binary(max_size=3000),
        st.builds(
            lambda head, tail: head + tail,
            st.sampled_from(
                [
                    b"PK\x03\x04",
                    b"\xef\xbb\xbf",
                    b"\xff\xfe",
                    b"\xd0\xcf\x11\xe0",
                    b"SQLite format 3\x00",
                    "姓名,电话,反映事项,受理时间\n".encode(),
                ]
            ),
            st.binary(max_size=3000),
        ),
    ),
    suffix=st.sampled_from([".csv", ".xlsx", ".txt", ".sqlite3", ""]),
    command=st.sampled_from(["import", "restore"]),
)
def test_malformed_files(store, template, payload, suffix, command):
    path = store.parent / f"broken{suffix}"
    path.write_bytes(payload)
    _fresh(template, store)
    before = dump_store(store)
    args = [command, str(path), *(["--yes"] if command == "restore" else [])]
    result = CliRunner().invoke(app, ["--db", str(store), *args])
    _check_outcome(store, args, result, before)
    assert result.exit_code != 0 or command == "import"


def _truncations(xlsx: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(xlsx)).map(lambda n: xlsx[:n])


def _valid_xlsx() -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "电话", "反映事项", "受理时间"])
    sheet.append(["霍某", "13712340000", "事项", "2026-05-29 09:00"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = _valid_xlsx()


@examples(15)
@given(cut=_truncations(XLSX), flip=st.integers(0, len(XLSX) - 1), byte=st.integers(0, 255))
def test_truncated_and_corrupted_xlsx(store, template, cut, flip, byte):
    for payload in (cut, XLSX[:flip] + bytes([byte]) + XLSX[flip + 1 :]):
        path = store.parent / "cut.xlsx"
        path.write_bytes(payload)
        _fresh(template, store)
        before = dump_store(store)
        result = CliRunner().invoke(app, ["--db", str(store), "import", str(path)])
        _check_outcome(store, ["import", str(path)], result, before)


# ---------------------------------------------------------------- personal data


DIGITS = st.text(st.sampled_from(string.digits), min_size=7, max_size=20)


@examples(20)
@given(
    phone=st.one_of(DIGITS, DIGITS.map(lambda d: "2" + d), DIGITS.map(lambda d: d + "x")),
    id_number=st.one_of(DIGITS, DIGITS.map(lambda d: d + "Y"), st.just("110105194912310021")),
    name=st.text(min_size=2, max_size=8).map(lambda s: s + "\x07"),
)
def test_refusals_never_repeat_personal_data(store, template, phone, id_number, name):
    """A phone, ID number or name that is refused is not echoed back: error messages
    end up in terminal scrollback, cron mail and logs."""
    _fresh(template, store)
    runner = CliRunner()
    base = ["--db", str(store), "register", "--matter", "事项"]
    attempts = [
        ["--name", "霍某", "--phone", phone],
        ["--name", "霍某", "--phone", "13712340000", "--id-number", id_number],
        ["--name", name, "--phone", "13712340000"],
    ]
    for extra, secret in zip(attempts, (phone, id_number, name.strip("\x07")), strict=True):
        before = dump_store(store)
        result = runner.invoke(app, [*base, *extra])
        if result.exit_code == 0:
            continue  # a value that happens to be valid
        _check_outcome(store, [*base[2:], *extra], result, before)
        if len(secret.strip()) >= 4:
            assert secret.strip() not in result.stderr, (secret, result.stderr)


@examples(20)
@given(cells=st.lists(TEXT, min_size=4, max_size=4), phone=DIGITS.map(lambda d: "2" + d))
def test_import_reasons_never_repeat_personal_data(store, template, cells, phone):
    sheet = store.parent / "p.csv"
    rows = ["姓名,电话,反映事项,受理时间,身份证号", f"霍某某某,{phone},事项,2026-05-29,{phone}X"]
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _fresh(template, store)
    result = CliRunner().invoke(app, ["--db", str(store), "import", str(sheet)])
    assert result.exit_code == 1
    assert phone not in result.stderr and "霍某某某" not in result.stderr


# ---------------------------------------------------------------- parsers


PARSERS: list[Callable[[str], Any]] = [
    validate.parse_datetime,
    validate.parse_date,
    validate.parse_clock,
    validate.normalize_phone,
    validate.normalize_id_number,
    lambda t: validate.clean_text(t, field="事项"),
    integrity.parse_anchor,
    importer.header_key,
    lambda t: importer.decode(t.encode("utf-8", errors="surrogatepass")),
]


@examples(300)
@given(text=TEXT, which=st.integers(0, len(PARSERS) - 1))
def test_parsers_answer_or_refuse_cleanly(text, which):
    try:
        PARSERS[which](text)
    except BbcError as exc:
        assert exc.message and "\n" not in exc.message


@examples(200)
@given(
    raw=st.dictionaries(
        st.sampled_from(sorted(importer.HEADERS)),
        st.one_of(
            TEXT, st.integers(), st.floats(), st.datetimes(), st.dates(), st.none(), st.booleans()
        ),
    )
)
def test_row_checks_answer_or_refuse_cleanly(raw):
    from datetime import datetime, time

    from banbucheng.core.timeutil import BEIJING

    now = datetime(2026, 6, 1, 10, 0, tzinfo=BEIJING)
    row, errors = importer.check_row(2, raw, now=now, closing=time(17, 30))
    assert (row is None) == bool(errors)
    for reason in errors:
        assert reason and "\n" not in reason


@examples(200)
@given(text=st.text(max_size=30))
def test_masks_never_show_more_than_they_should(text):
    for mask in (validate.mask_name, validate.mask_phone, validate.mask_id_number):
        masked = mask(text)
        shown = text.strip() if mask is validate.mask_name else text
        if len(shown) >= 3:
            assert len(masked) == len(shown) and "*" in masked
            assert all(m in ("*", c) for m, c in zip(masked, shown, strict=True))


# ---------------------------------------------------------------- exports


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_exports_cannot_attack_their_reader(bbc, tmp_path, start):
    """Text a citizen or a unit typed that a spreadsheet would run as a formula is
    neutralised in CSV and XLSX, wherever it lands."""
    from openpyxl import load_workbook

    payload = f'{start}HYPERLINK("http://example.com/x","点我")'
    number = bbc(
        "register", "--name", "霍某", "--phone", "13712341111", "--matter", payload,
        "--department", payload, "--category", "应办未办", "--at", "2026-11-02 09:00",
        now="2026-11-23 09:00",
    ).stdout.strip()  # fmt: skip
    bbc("dispatch", number, "--unit", f"{start}SUM(1+1)")
    import csv
    import io

    csv_text = bbc("overdue", "--csv", code=4).stdout.lstrip("\ufeff")
    cells = [c for row in csv.reader(io.StringIO(csv_text)) for c in row]
    assert "'" + payload in cells  # the content is kept, and inert:
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    bbc("overdue", "--xlsx", str(tmp_path / "o.xlsx"), code=4)
    bbc("export", "--dir", str(tmp_path), "--date", "2026-11-23")
    # In a workbook such text is a string cell (never a formula), marked as typed text.
    for book in tmp_path.glob("*.xlsx"):
        for sheet in load_workbook(book):
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", cell.value
                    if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                        assert cell.data_type == "s" and cell.quotePrefix, cell.value


@examples(300)
@given(text=st.text(max_size=20))
def test_safe_cell_never_starts_a_formula(text):
    from banbucheng.core.sanitize import safe_cell

    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text or cell == text


# ---------------------------------------------------------------- tampered stores

CHAIN_COLUMNS = {
    "events": ["case_id", "at", "actor", "action", "detail", "seq", "prev_hash", "hash"],
    "chain_head": ["id", "seq", "hash"],
    "case_chain": ["case_id", "number", "events", "last_seq", "last_hash"],
}
OTHER_COLUMNS = {
    "settings": ["key", "value"],
    "calendar_days": ["day", "workday", "name", "source", "entered_at"],
}
CASE_COLUMNS = ["number", "status", "category", "subtype", "limit_days", "extension_days",
                "due_date", "due_at", "provisional", "unit_id", "closed_at", "on_time",
                "satisfaction", "reopen_count", "escalated_at", "visited_at"]  # fmt: skip
STORED = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.text(max_size=30),
    st.binary(max_size=8),
    st.floats(allow_nan=False),
    st.sampled_from(
        ["2026-05-28 11:00:00.000000", "2026-05-29", "2030-01-01 17:30:00.000000", "closed",
         "registered", "unhandled", "very_satisfied", "BB20260527-002", "0" * 64, "垃圾"]
    ),
)  # fmt: skip


def _policy_rows(con: Any, table: str) -> Any:
    """The calendar entries, or the policy settings (not the citizens' key secret), as
    stored, a moment compared as a moment: what verify checks against the history."""
    import contextlib
    from datetime import datetime

    from banbucheng.core.policy import setting_keys

    if table == "settings":
        keys = set(setting_keys())
        return {
            (k, v, type(v)) for k, v in con.execute("SELECT key, value FROM settings") if k in keys
        }
    if table != "calendar_days":
        return None
    rows = set()
    for row in con.execute(
        "SELECT day, workday, name, source, entered_by, entered_at FROM calendar_days"
    ):
        *rest, at = row
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(at) if isinstance(at, str) else at
        rows.add((*((v, type(v)) for v in rest), at, type(at)))
    return rows


def _same_moment(a: Any, b: Any) -> bool:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(str(b))
    except ValueError:
        return False


@examples(50)
@given(
    table=st.sampled_from([*CHAIN_COLUMNS, "cases", *OTHER_COLUMNS]),
    pick=st.integers(0, 1000),
    data=st.data(),
    value=STORED,
    how=st.sampled_from(["update", "update", "update", "delete"]),
)
def test_verify_and_doctor_survive_any_tampering(store, template, table, pick, data, value, how):
    """Whatever someone writes into the database with sqlite3, `verify` and `doctor`
    answer with a report (exit 0 or 5), never a crash; and any change to the chain
    itself, to a calendar entry or to a policy setting is reported."""
    import sqlite3

    _fresh(template, store)
    con = sqlite3.connect(store)
    policy_before = _policy_rows(con, table)
    rowids = [r[0] for r in con.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]
    rowid = rowids[pick % len(rowids)]
    columns = CHAIN_COLUMNS.get(table) or OTHER_COLUMNS.get(table) or CASE_COLUMNS
    column = data.draw(st.sampled_from(columns), label="column")
    old = con.execute(f"SELECT {column} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()[0]
    try:
        if how == "delete":
            con.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        else:
            con.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (value, rowid))
        con.commit()
    except sqlite3.IntegrityError:
        con.close()
        return  # the schema itself refused it
    policy_changed = policy_before != _policy_rows(con, table)
    con.close()
    changed = how == "delete" or not (
        (old == value and type(old) is type(value)) or (column == "at" and _same_moment(old, value))
    )
    runner = CliRunner()
    verified = runner.invoke(app, ["--db", str(store), "verify", "--json"])
    shown = (table, column, how, old, value, verified.stdout[-800:], verified.stderr)
    assert "Traceback" not in verified.stdout + verified.stderr, shown
    assert verified.exit_code in (0, 5), shown
    if (table in CHAIN_COLUMNS and changed) or policy_changed:
        assert verified.exit_code == 5, shown
    doctor = runner.invoke(app, ["--db", str(store), "doctor", "--json"])
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert doctor.exit_code in (0, 5), (shown, doctor.stdout[-800:], doctor.stderr)
    assert (doctor.exit_code == 5) >= (verified.exit_code == 5)


# What window staff run all day, each reading every field of the cases it shows.
READING = (["list", "--all", "--json"], ["list", "--all"], ["overdue", "--json"], ["due"],
           ["daily-report", "--json"], ["search", "证明"])  # fmt: skip


@examples(30)
@given(pick=st.integers(0, 1000), data=st.data(), value=STORED)
def test_reading_commands_survive_any_tampering_with_a_case(store, template, pick, data, value):
    """Whatever someone writes into a case's row with sqlite3, the reading commands show
    it or stop with one line naming the case and field (exit 7, pointing to verify),
    never 内部错误 (70) or a traceback; and the store stays as it was."""
    import sqlite3

    from conftest import dump_store

    _fresh(template, store)
    con = sqlite3.connect(store)
    rowids = [r[0] for r in con.execute("SELECT rowid FROM cases ORDER BY rowid")]
    column = data.draw(st.sampled_from([*CASE_COLUMNS, "matter", "citizen_mask", "received_at"]))
    try:
        con.execute(
            f"UPDATE cases SET {column} = ? WHERE rowid = ?", (value, rowids[pick % len(rowids)])
        )
        con.commit()
    except sqlite3.IntegrityError:
        return  # the schema itself refused it
    finally:
        con.close()
    before = dump_store(store)
    runner = CliRunner()
    for command in READING:
        result = runner.invoke(app, ["--db", str(store), *command])
        shown = (column, value, command, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr, shown
        assert result.exit_code in (0, 4, 5, 7), shown  # 4, 5: overdue, due soon
        if result.exit_code == 7:
            assert "无法读取的值" in result.stderr and "bbc verify" in result.stderr, shown
    assert dump_store(store) == before
