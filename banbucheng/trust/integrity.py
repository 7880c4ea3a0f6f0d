"""`verify`'s work, in constant memory and at the speed of the database.

Three passes, none of which holds a list of all events or cases in Python:

1. The chain, checked by the database a range at a time (walk_db.py: only aggregates
   come back); a range that is not clean streamed in order of `seq` through a plain
   cursor (a server-side one on PostgreSQL), in batches: each event's hash recomputed
   from its fields read as bytes (the bytes chain.digest_bytes hashes), its link to
   the one before, gaps and duplicates; with a seal key, the keyed MAC of the last
   event, which through the chain authenticates every one (each MAC when it does not
   hold: walk.py). A batch is checked at once, one C-level pass per step
   (_Walker._clean); a batch with anything unusual is walked again event by event
   (_Walker._row), which names each finding. Incremental runs start after the
   position the last clean run recorded (chain_verified), once that event is found
   unchanged.
2. The anchors: per case, the number of events and the last one against case_chain,
   checked in pass 3's query (trust/rows.py, FUSED); as anti-joins in SQL the
   case_chain rows whose case is gone and the cases without one.
3. The cases, streamed once (trust/rows.py): the digest of each row against the one
   its last event recorded (schema/sealed.py; on SQLite of the row's JSON made in
   SQL), and with the store's keys the personal data, which the digest does not
   cover (trust/personal.py). Only a case that disagrees has its events replayed, to
   name the fields.

On a large store a helper process walks the later half of the chain and checks the
cases with the lower ids, while this one walks the earlier half, checks the anchors
and the rest of the cases, and only then takes the helper's walk (_Helper,
walk.take_share, _own_cases, _check_cases_split): the two meet once, at the end.

Store-level events (calendar, settings, units) are few: they are read apart, by the
index on (case_id, seq), folded, and compared with the tables (integrity.py).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from banbucheng.schema import history
from banbucheng.schema.chain import (
    GENESIS,
)
from banbucheng.trust import rows as _rows
from banbucheng.trust import walk_db
from banbucheng.trust.findings import (  # noqa: F401  (the public names of verify)
    Problem,
    Problems,
    Report,
    _check_store_state,
    _iso,
    _span,
    anchor_text,
    parse_anchor,
)
from banbucheng.trust.rows import Anchored, check_cases
from banbucheng.trust.walk import as_text, walk

BATCH = 5000
VERIFIED_FORMAT = b"bbc-verified-1:"


class _Sql:
    """The few things the two databases spell differently."""

    def __init__(self, session: Session) -> None:
        import sqlite3

        conn = session.connection()
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.dbapi = conn.connection.dbapi_connection
        self.mark = "%s" if self.postgres else "?"
        # SQLite 3.45 and later read a BLOB that is valid JSONB as JSON (trust/rows.py)
        self.jsonb = not self.postgres and sqlite3.sqlite_version_info >= (3, 45)
        if self.postgres:
            # Its queries read much and compute little a row: PostgreSQL's JIT spent
            # 2.5 s compiling the case query of 200,000 cases (at 10^6) and saved less.
            self.dbapi.execute("SET LOCAL jit = off")

    def blob(self, column: str) -> str:
        return f"convert_to({column}, 'UTF8')" if self.postgres else f"CAST({column} AS BLOB)"

    def at(self, column: str) -> str:
        if self.postgres:  # as SQLite keeps it, so the walk's usual path takes it
            return f"convert_to(to_char({column}, 'YYYY-MM-DD HH24:MI:SS.US'), 'UTF8')"
        return f"CAST({column} AS BLOB)"

    def sealed(self, column: str, kind: str) -> str:
        """A sealed column of `cases` (schema/sealed.py), times and dates on PostgreSQL
        as the text SQLite keeps: the form sealed.canonical takes without a call."""
        if self.postgres and kind == "time":
            return f"to_char({column}, 'YYYY-MM-DD HH24:MI:SS.US')"
        if self.postgres and kind == "date":
            return f"to_char({column}, 'YYYY-MM-DD')"
        return column

    def names(self, column: str) -> str:
        if self.postgres:
            return f"string_agg({column}, chr(31))"
        return f"group_concat({column}, char(31))"

    def url(self) -> str | None:
        """The store's URL, for a helper process to open it too (None: in memory)."""
        url = self.conn.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return url.render_as_string(hide_password=False)

    @property
    def empty(self) -> str:
        return "''::bytea" if self.postgres else "x''"

    def batches(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[list[Any]]:
        """Rows a batch at a time, never all at once."""
        named = {"name": "bbc_verify"} if self.postgres else {}  # server-side on PostgreSQL
        cursor = self.dbapi.cursor(**named)
        try:
            cursor.execute(sql, params)
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows:
                    break
                yield rows
        finally:
            cursor.close()

    def stream(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Rows one by one, read in batches."""
        for rows in self.batches(sql, params):
            yield from rows

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    @contextmanager
    def lenient_text(self) -> Iterator[None]:
        """Text that is not UTF-8 (typed into SQLite behind the tool's back) read with
        U+FFFD in place of what cannot be decoded, not refused: the row then differs
        from its digest and is named. Only for the careful way: a Python call per
        text value."""
        if self.postgres:  # the server keeps only valid text
            yield
            return
        before = self.dbapi.text_factory
        self.dbapi.text_factory = _decoded
        try:
            yield
        finally:
            self.dbapi.text_factory = before

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            cursor.close()


def _decoded(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def verified_mac(key: bytes, seq: int, hash_: str) -> str:
    return hmac.new(key, VERIFIED_FORMAT + f"{seq}:{hash_}".encode(), "sha256").hexdigest()


def verify(
    session: Session,
    *,
    anchor: tuple[int, str] | None = None,
    key: bytes | None = None,
    full: bool = True,
    keyring: Any = None,
) -> Report:
    """Walk the chain and the anchors; every problem names the case and the event.
    Values of the wrong type, written behind the tool's back, are problems too, never
    a crash. `key`: the seal key (events from the first keyed one on must carry a
    valid MAC). `full=False`: walk only the events after the point the last clean
    run recorded (chain_verified); the rows are always all compared. `keyring`: the
    store's keys, to open the personal fields' tokens (trust/personal.py)."""
    from sqlalchemy.exc import DBAPIError, StatementError

    report = Report()
    try:
        _run(session, report, anchor=anchor, key=key, full=full, keyring=keyring)
    except (ValueError, TypeError, OverflowError, StatementError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and not _is_data_error(exc):
            raise
        report.problems.append(
            Problem("unreadable", "数据库中有无法读取的值（类型被直接改动），校验无法完成")
        )
    return report


def _is_data_error(exc: Exception) -> bool:
    return "lock" not in str(exc).lower() and "busy" not in str(exc).lower()


def _run(
    session: Session,
    report: Report,
    *,
    anchor: tuple[int, str] | None,
    key: bytes | None,
    full: bool,
    keyring: Any,
) -> None:
    sql = _Sql(session)
    m = sql.mark
    report.events = sql.one("SELECT count(*) FROM events")[0]
    report.cases = sql.one("SELECT count(*) FROM cases")[0]
    first_mac = sql.one("SELECT min(seq) FROM events WHERE mac IS NOT NULL")[0]
    if first_mac is not None:
        report.sealed = "checked" if key else "unchecked"
    start, prev_hash = _resume(sql, report, key)  # checked in a full run too
    if full:
        start, prev_hash = 0, GENESIS
    report.checked_from = start
    walk_args = (key, first_mac, anchor)
    helper = _Helper.start(sql, report, keyring, start, walk_args)
    share = None
    if helper is not None and helper.cut is not None:
        share = (helper.cut, helper.walked)
    # This process's part of the walk, then the anchors and its share of the cases,
    # each kept apart to be reported in the order of one pass after another; the
    # walk is finished (the helper's part taken, if it holds) only then, so that
    # nothing here waits for the helper until all of this process's work is done.
    try:
        finish = walk(sql, report, start, prev_hash, *walk_args, share=share)
        anchors = _check_anchors(sql)
        own = _own_cases(sql, keyring, helper)
        anchored = finish()
    except BaseException:
        if helper is not None:
            helper.stop()
        raise
    if key and first_mac is None and report.events:
        report.problems.append(
            Problem(
                "unsealed",
                "本机配置了封印密钥，但事件链中没有任何带密钥封印的事件：封印被全部去除"
                "（若密钥是刚配置的，下一次登记或办理即开始封印）",
            )
        )
    personal = Problems()
    _check_cases_split(sql, report, keyring, personal, helper, own, anchors)
    _check_store(sql, session, report)
    if anchor is not None:
        seq, wanted = anchor
        report.anchor_checked = anchor_text(seq, wanted)
        if seq <= start:
            row = sql.one(f"SELECT hash FROM events WHERE seq = {m}", (seq,))
            anchored = row[0] if row else None
        if anchored is None:
            report.problems.append(
                Problem("anchor", f"锚点所指的第 {seq} 条事件不存在：此前的历史被删减")
            )
        elif not str(anchored).startswith(wanted):
            report.problems.append(
                Problem("anchor", f"与锚点不符：第 {seq} 条事件的校验值已不同，此前的历史被改写")
            )
    for problem in personal:  # after the rest, as ever
        report.problems.append(problem)
    report.problems.more += personal.more


def _resume(sql: _Sql, report: Report, key: bytes | None) -> tuple[int, str]:
    """Where the last clean run stopped, if it still holds; else (0, GENESIS)."""
    m = sql.mark
    row = sql.one("SELECT seq, hash, mac FROM chain_verified WHERE id = 1")
    if row is None or not isinstance(row[0], int) or row[0] <= 0:
        return 0, GENESIS
    seq, hash_, mac = row
    if key and not (
        isinstance(mac, str) and hmac.compare_digest(mac, verified_mac(key, seq, hash_))
    ):
        return 0, GENESIS  # recorded without this key (or moved): walk everything
    found = sql.one(f"SELECT hash FROM events WHERE seq = {m}", (seq,))
    if found is None:
        report.problems.append(
            Problem("rewritten", f"上次校验到第 {seq} 条事件，现已没有这一条：此前的历史被删减")
        )
        return 0, GENESIS
    if found[0] != hash_:
        report.problems.append(
            Problem(
                "rewritten",
                f"上次校验时第 {seq} 条事件的校验值为 {str(hash_)[:16]}，"
                "现已不同：此前的历史被改写",
            )
        )
        return 0, GENESIS
    present = sql.one(f"SELECT count(*) FROM events WHERE seq <= {m}", (seq,))[0]
    if present != seq:
        return 0, GENESIS  # events were deleted or added before it: the walk names them
    return seq, hash_


def _check_anchors(sql: _Sql) -> tuple[Anchored, Problems]:
    """Pass 2's findings that pass 3 does not make: the case_chain rows whose case is
    gone (by case id, to be merged with pass 3's: _check_cases_split) and the cases
    without a row of case_chain. With _rows.FUSED off, all of case_chain's here."""
    gone = Anchored()
    query = _rows.anchor_query()
    if _rows.FUSED:
        query = (
            "SELECT a.case_id, a.number, a.events, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
            "FROM case_chain a LEFT JOIN cases c ON c.id = a.case_id "
            "WHERE c.id IS NULL ORDER BY a.case_id"
        )
    for row in sql.stream(query):
        gone.add(row[0], _rows.anchor_problem(row))
    unanchored = Problems()
    for (number,) in sql.stream(
        "SELECT c.number FROM cases c LEFT JOIN case_chain a ON a.case_id = c.id "
        "WHERE a.case_id IS NULL ORDER BY c.id"
    ):
        unanchored.append(
            Problem("inserted", "不在事件链中：案件是直接插入数据库的", case=as_text(number))
        )
    return gone, unanchored


# Splitting the work between two processes (a helper process started by verify itself,
# not a pool): the helper walks the later part of the chain and checks the cases with
# the lower ids, while this process walks the earlier part, checks the anchors and then
# the rest of the cases; each share is about the same CPU time, by these weights (CPU
# time measured per event walked, per case checked and per event in pass 2, on a store
# of 10^6 cases; since pass 2's per-case checks went into pass 3's query (rows.FUSED)
# scaled by what changed on the 10^5 store, each against the walk in the same run: a
# case keyed 3.3 to 2.8 events there, within the noise of a shared machine, kept;
# unkeyed 1.90 to 1.97; pass 2, now only its anti-joins, 0.10 to 0.015).
PARALLEL_FROM = 150_000  # units of work below which one process does it all (a second
# process costs its start-up, ~0.3 s here)
CASE_WEIGHT = 2.7  # one case (row digest, anchor and personal data) costs about 2.7 events
CASE_WEIGHT_UNKEYED = 1.35  # without the store's keys (no personal data opened)
ANCHOR_WEIGHT = 0.015  # pass 2's anti-joins (this process's alone), per event of the store
HELPER_START = 80_000  # the helper's start-up (its imports), in events
WALK_SHARE_FROM = 20_000  # events below which the helper walks none of the chain
_HELPER = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from banbucheng.trust.integrity import _helper_main; _helper_main()"
)


class _Helper:
    """The helper process and what it was given: the events after seq `cut` (None:
    none) and the cases with ids in [low, high] (high < low: none)."""

    def __init__(self, process: Any, cut: Any, low: int, high: int, head: Any) -> None:
        self.process, self.cut, self.low, self.high, self.head = process, cut, low, high, head

    @classmethod
    def start(
        cls, sql: _Sql, report: Report, keyring: Any, start: int, walk_args: tuple[Any, ...]
    ) -> _Helper | None:
        import pickle
        import subprocess
        import sys

        events = report.events - start
        weight = CASE_WEIGHT if keyring is not None else CASE_WEIGHT_UNKEYED
        step = 1.0  # per event walked, in Python
        if walk_db.SERVER:  # or by the database (walk_db.py)
            step = walk_db.WEIGHT if sql.postgres else walk_db.SQLITE_WEIGHT
        work = step * events + ANCHOR_WEIGHT * report.events + weight * report.cases
        url = sql.url()
        if work < PARALLEL_FROM or url is None:
            return None
        low, high = sql.one("SELECT min(id), max(id) FROM cases")
        last = sql.one("SELECT max(seq) FROM events")[0]
        if not isinstance(last, int):
            return None
        if not (isinstance(low, int) and isinstance(high, int)):
            low, high = 1, 0
        # The helper's share: half of all the work, less half its start-up (which this
        # process spends working: both then end at half the work and start-up); first
        # the later half of the chain's events (this process walks the earlier half
        # meanwhile), then a share of the cases. (Less all of the start-up, as before,
        # left this process the last by about the start-up: 1.2 s keyed, 0.7 s unkeyed
        # at 10^5 cases; now within noise either way.)
        later = int((events - HELPER_START / step) // 2)
        cut = last - later if later >= WALK_SHARE_FROM and last - later > start else None
        if cut is None:
            later = 0
        cases = max(0.0, work / 2 - HELPER_START / 2 - step * later) / weight
        share = min(1.0, cases / report.cases) if report.cases else 0.0
        top = low + int((high - low + 1) * share) - 1
        if cut is None and top < low:
            return None
        head = sql.one("SELECT seq, hash FROM chain_head WHERE id = 1")
        process = subprocess.Popen(
            [sys.executable, "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert process.stdin is not None
            pickle.dump(list(sys.path), process.stdin)
            pickle.dump((url, keyring, cut, walk_args, low, top), process.stdin)
            process.stdin.close()
        except OSError:
            process.kill()
            process.wait()
            return None
        return cls(process, cut, low, top, tuple(head) if head else None)

    def walked(self) -> dict[str, Any] | None:
        """The helper's walk of the events after `cut` (walk.walk_share), if it saw
        the same chain head as this process (else None: walked again here)."""
        found = self._read()
        if found is None or found.get("head") != self.head:
            return None
        return found

    def result(self) -> dict[str, Any] | None:
        """What the helper found in the cases, or None if it could not finish."""
        found = self._read()
        self.stop()
        return found

    def _read(self) -> dict[str, Any] | None:
        import pickle

        try:
            assert self.process.stdout is not None
            found = pickle.load(self.process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            found = None
        return found if isinstance(found, dict) else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _helper_main() -> None:
    """The helper process, in a transaction of its own: the events after `cut`, then
    the cases in [low, high]; each result goes back pickled as soon as it is known,
    with the chain head it saw (see walk.take_share and _check_cases_split)."""
    import pickle
    import sys

    from banbucheng.store import Store
    from banbucheng.trust.walk import walk_share

    url, keyring, cut, walk_args, low, high = pickle.load(sys.stdin.buffer)
    store = Store(url)
    out = sys.stdout.buffer
    try:
        with store.session(write=False) as session:
            sql = _Sql(session)
            head = sql.one("SELECT seq, hash FROM chain_head WHERE id = 1")
            head = tuple(head) if head else None
            if cut is not None:
                try:
                    walked = walk_share(sql, cut, *walk_args)
                except Exception:  # the parent process walks them again, and reports
                    walked = {"ok": False}
                pickle.dump({**walked, "head": head}, out)
                out.flush()
            report, personal, anchors = Report(), Problems(), Anchored()
            found: dict[str, Any] = {"ok": False}
            try:
                if high >= low:
                    check_cases(sql, report, keyring, personal, (low, high), anchors)
            except Exception:  # the parent process does them again, and reports
                pass
            else:
                found = {
                    "ok": True,
                    "head": head,
                    "state": list(report.problems),
                    "state_more": report.problems.more,
                    "personal": list(personal),
                    "personal_more": personal.more,
                    "anchors": list(anchors),
                    "anchors_more": anchors.more,
                }
    finally:
        store.close()
    pickle.dump(found, out)
    out.flush()


def _own_cases(
    sql: _Sql, keyring: Any, helper: _Helper | None
) -> tuple[Report, Problems, Anchored]:
    """This process's share of pass 3 (all of it without a helper: the higher ids),
    checked while the helper still works; its findings (the state's, the personal
    data's, the anchors') kept aside to follow the helper's, as in one pass in order
    of id."""
    own, own_personal, own_anchors = Report(), Problems(), Anchored()
    ids = (helper.high + 1, None) if helper is not None else None
    check_cases(sql, own, keyring, own_personal, ids, own_anchors)
    return own, own_personal, own_anchors


def _check_cases_split(
    sql: _Sql,
    report: Report,
    keyring: Any,
    personal: Problems,
    helper: _Helper | None,
    own: tuple[Report, Problems, Anchored],
    anchors: tuple[Anchored, Problems],
) -> None:
    """Pass 2's findings (_check_anchors' and those of both shares of pass 3, in order
    of case id), then pass 3's: the helper's share's, then this process's
    (_own_cases). The helper's transaction began a moment after this one: its
    findings count only if it saw the same chain head, i.e. no event was written in
    between (every change the tool makes writes one); otherwise this process checks
    the helper's share too."""
    share, share_personal, share_anchors = Report(), Problems(), Anchored()
    if helper is not None:
        found = helper.result()
        if found is None or not found["ok"] or found["head"] != helper.head:
            ids = (helper.low, helper.high)
            check_cases(sql, share, keyring, share_personal, ids, share_anchors)
        else:
            _extend(share.problems, _counted(found["state"], found["state_more"]))
            _extend(share_personal, _counted(found["personal"], found["personal_more"]))
            share_anchors[:] = found["anchors"]
            share_anchors.more = found["anchors_more"]
    gone, unanchored = anchors
    # With FUSED off (a test's reference) _check_anchors found them all already.
    shares = [gone, share_anchors, own[2]] if _rows.FUSED else [gone]
    _rows.merge(report.problems, shares)
    _extend(report.problems, unanchored)
    _extend(report.problems, share.problems)
    _extend(personal, share_personal)
    _extend(report.problems, own[0].problems)
    _extend(personal, own[1])


def _counted(found: list[Problem], more: int) -> Problems:
    out = Problems()
    for problem in found:
        out.append(problem)
    out.more += more
    return out


def _extend(problems: Problems, more: Problems) -> None:
    for problem in more:
        problems.append(problem)
    problems.more += more.more


def _check_store(sql: _Sql, session: Session, report: Report) -> None:
    """The calendar, settings and units against their store-level events."""
    recorded = history.empty()
    for (detail,) in sql.stream(
        "SELECT detail FROM events WHERE case_id IS NULL AND seq IS NOT NULL ORDER BY seq"
    ):
        try:
            after = json.loads(detail).get("after", {})
        except (ValueError, TypeError, AttributeError):
            continue  # an edited detail is reported by its hash already
        history.fold(recorded, after)
    _check_store_state(session, report, recorded)


def record_verified(session: Session, report: Report, key: bytes | None, now: Any) -> None:
    """Remember how far the chain was found intact, for the next incremental run."""
    from banbucheng.schema.models import ChainVerified

    row = session.get(ChainVerified, 1) or ChainVerified(id=1)
    row.seq, row.hash, row.at = report.head_seq, report.head_hash, now
    row.mac = verified_mac(key, report.head_seq, report.head_hash) if key else None
    session.add(row)
