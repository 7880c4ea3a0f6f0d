"""The tables a command reaches only for some actions: the settings and the calendar as
the center entered them, how far `verify` found the chain intact, the reply templates,
the search terms' counts, the case-number counters, the cases' search terms, the
citizens' keyed hashes, the mechanisms (长效机制) and their cases, the event chain's
head and per-case anchors (moved with each event recorded), the cases' helper units.
Each is defined on first use of its name through schema/models.py (its __getattr__),
and only that one: a command that never touches them does not pay for defining and
mapping them. list, show, overdue and daily-report define none of them (the store
reads settings and calendar with plain SQL, a case's mechanism and helpers are read
through models.MECHANISMS and models.CASE_HELPERS); register neither the calendar's,
the mechanisms', the templates' nor the helpers'; close (without a mechanism) none but
the chain's and the search index's.
Creating or checking a store's schema defines them all (models.define_all).

Each table's class is made by a function of its own, called once (define);
the class keeps its plain name and this module, as if defined at the top level."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field

from banbucheng.schema.base import Table, when


def _setting() -> type:
    class Setting(Table, table=True):
        __qualname__ = "Setting"  # as at the top level (define)
        __tablename__ = "settings"

        key: str = Field(primary_key=True)
        value: str

    return Setting


def _calendar_day() -> type:
    class CalendarDay(Table, table=True):
        """A day the center entered itself from a State Council notice; wins over the package."""

        __qualname__ = "CalendarDay"  # as at the top level (define)
        __tablename__ = "calendar_days"

        day: date = Field(primary_key=True)
        workday: bool
        name: str = ""
        source: str
        entered_by: str
        entered_at: datetime = when()

    return CalendarDay


def _calendar_year() -> type:
    class CalendarYear(Table, table=True):
        """A year whose State Council notice the center declared completely entered: its
        deadlines are final, not estimates (domain/calendar.py)."""

        __qualname__ = "CalendarYear"  # as at the top level (define)
        __tablename__ = "calendar_years"

        year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
        source: str
        covered_by: str
        covered_at: datetime = when()

    return CalendarYear


def _chain_verified() -> type:
    class ChainVerified(Table, table=True):
        """How far `bbc verify` last found the chain intact (one row): the next run checks
        from here on unless asked for a full run (integrity.py). With a seal key its
        `mac` binds the position and hash, so it cannot be moved without the key."""

        __qualname__ = "ChainVerified"  # as at the top level (define)
        __tablename__ = "chain_verified"

        id: int = Field(default=1, primary_key=True)
        seq: int = 0
        hash: str = ""
        at: datetime = when()
        mac: str | None = None

    return ChainVerified


def _case_helper() -> type:
    class CaseHelper(Table, table=True):
        """Helper (协办) units of a case; the lead unit is cases.unit_id."""

        __qualname__ = "CaseHelper"  # as at the top level (define)
        __tablename__ = "case_helpers"

        case_id: int = Field(foreign_key="cases.id", primary_key=True)
        unit_id: int = Field(foreign_key="units.id", primary_key=True)

    return CaseHelper


def _chain_head() -> type:
    class ChainHead(Table, table=True):
        """The end of the event chain (one row), moved in the same transaction as each new
        event, so deleting the last events is noticed (integrity.py)."""

        __qualname__ = "ChainHead"  # as at the top level (define)
        __tablename__ = "chain_head"

        id: int = Field(default=1, primary_key=True)
        seq: int = 0
        hash: str = ""

    return ChainHead


def _case_chain() -> type:
    class CaseChain(Table, table=True):
        """Per case: its number, how many events it has and the last one's hash, so
        deleting a case's last events, or the whole case, is noticed and named
        (integrity.py)."""

        __qualname__ = "CaseChain"  # as at the top level (define)
        __tablename__ = "case_chain"

        case_id: int = Field(primary_key=True)
        number: str
        events: int = 0
        last_seq: int = 0
        last_hash: str = ""

    return CaseChain


def _mechanism() -> type:
    class Mechanism(Table, table=True):
        """A 长效机制: a named, reusable way of solving a class of problem (knowledge)."""

        __qualname__ = "Mechanism"  # as at the top level (define)
        __tablename__ = "mechanisms"

        id: int | None = Field(default=None, primary_key=True)
        name: str = Field(unique=True, index=True)
        check_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
        decider: str = ""
        issued: str = ""
        description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
        created_at: datetime = when()
        created_by: str
        updated_at: datetime | None = when(default=None)
        updated_by: str | None = None

    return Mechanism


def _mechanism_case() -> type:
    class MechanismCase(Table, table=True):
        """Which mechanism a case came with: `source` (the mechanism was formed from it)
        or `served` (an existing mechanism solved it). One mechanism per case."""

        __qualname__ = "MechanismCase"  # as at the top level (define)
        __tablename__ = "mechanism_cases"

        case_id: int = Field(foreign_key="cases.id", primary_key=True)
        mechanism_id: int = Field(foreign_key="mechanisms.id", index=True)
        role: str
        linked_at: datetime = when(index=True)
        linked_by: str

    return MechanismCase


def _reply_template() -> type:
    class ReplyTemplate(Table, table=True):
        """A 答复口径: the reply given to citizens whose matter cannot be done."""

        __qualname__ = "ReplyTemplate"  # as at the top level (define)
        __tablename__ = "reply_templates"

        id: int | None = Field(default=None, primary_key=True)
        name: str = Field(unique=True, index=True)
        body: str = Field(sa_column=Column(Text, nullable=False))
        # What the 告知书 cites and offers for such matters (issue 11): the legal or policy
        # basis and what the citizen can do instead.
        basis: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
        alternative: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
        mechanism_id: int | None = Field(default=None, foreign_key="mechanisms.id", index=True)
        created_at: datetime = when()
        created_by: str
        updated_at: datetime | None = when(default=None)
        updated_by: str | None = None

    return ReplyTemplate


def _search_term() -> type:
    class SearchTerm(Table, table=True):
        """How many indexed cases hold each term (for IDF weights); `#docs` counts them all."""

        __qualname__ = "SearchTerm"  # as at the top level (define)
        __tablename__ = "search_terms"

        term: str = Field(primary_key=True)
        df: int = 0

    return SearchTerm


def _counter() -> type:
    class Counter(Table, table=True):
        """Per-day case-number sequences, bumped in the registering transaction."""

        __qualname__ = "Counter"  # as at the top level (define)
        __tablename__ = "counters"

        key: str = Field(primary_key=True)
        value: int = 0

    return Counter


def _case_terms() -> type:
    class CaseTerms(Table, table=True):
        """A case's search terms (bigrams.py), space-separated: `main` from its matter,
        `extra` from its department, result and mechanism. The full-text index over them
        is made with the table (see _search_index below)."""

        __qualname__ = "CaseTerms"  # as at the top level (define)
        __tablename__ = "case_terms"

        case_id: int = Field(
            foreign_key="cases.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
        )
        main: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
        extra: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))

    _search_index(CaseTerms.__table__)  # type: ignore[attr-defined]
    return CaseTerms


def _search_index(table: Any) -> None:
    """The full-text index over case_terms, made whenever the table is: an FTS5 table
    kept in step by triggers on SQLite, a GIN index on PostgreSQL."""
    from sqlalchemy import DDL, event

    fts = "case_terms_fts"
    sqlite = [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(main, extra, content='case_terms', "
        "content_rowid='case_id', tokenize='unicode61 remove_diacritics 0')",
        f"CREATE TRIGGER case_terms_ai AFTER INSERT ON case_terms BEGIN "
        f"INSERT INTO {fts}(rowid, main, extra) VALUES (new.case_id, new.main, new.extra); END",
        f"CREATE TRIGGER case_terms_ad AFTER DELETE ON case_terms BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, main, extra) "
        f"VALUES ('delete', old.case_id, old.main, old.extra); END",
        f"CREATE TRIGGER case_terms_au AFTER UPDATE ON case_terms BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, main, extra) "
        f"VALUES ('delete', old.case_id, old.main, old.extra); "
        f"INSERT INTO {fts}(rowid, main, extra) VALUES (new.case_id, new.main, new.extra); END",
    ]
    for statement in sqlite:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    postgres = (
        "CREATE INDEX ix_case_terms_search ON case_terms USING gin "
        "((array_to_tsvector(string_to_array(btrim(main || ' ' || extra), ' '))))"
    )
    event.listen(table, "after_create", DDL(postgres).execute_if(dialect="postgresql"))


def _citizen_key() -> type:
    class CitizenKey(Table, table=True):
        """Keyed hashes (HMAC-SHA256 with the keyring's lookup key, kept outside the store)
        of a case's phone, ID number and name, so repeats and searches find a citizen
        without an index of personal data (schema/citizens.py)."""

        __qualname__ = "CitizenKey"  # as at the top level (define)
        __tablename__ = "citizen_keys"

        key: str = Field(primary_key=True)
        case_id: int = Field(foreign_key="cases.id", primary_key=True, index=True)

    return CitizenKey


_DEFINE: dict[str, Callable[[], type]] = {
    "Setting": _setting,
    "CalendarDay": _calendar_day,
    "CalendarYear": _calendar_year,
    "ChainVerified": _chain_verified,
    "ReplyTemplate": _reply_template,
    "SearchTerm": _search_term,
    "Counter": _counter,
    "CaseTerms": _case_terms,
    "CitizenKey": _citizen_key,
    "Mechanism": _mechanism,
    "ChainHead": _chain_head,
    "CaseHelper": _case_helper,
    "CaseChain": _case_chain,
    "MechanismCase": _mechanism_case,
}

# Tables whose foreign keys name another table of this module: that one is defined
# first, so the key resolves (in a flush's ordering, in DDL) whichever is asked first.
_NEEDS = {"MechanismCase": "Mechanism", "ReplyTemplate": "Mechanism"}


def define(name: str) -> type:
    """The table class `name`, defined now if it is not yet (once per process)."""
    table = globals().get(name)
    if table is None:
        if name in _NEEDS:
            define(_NEEDS[name])
        table = globals()[name] = _DEFINE[name]()
    return table


NAMES = tuple(_DEFINE)


def __getattr__(name: str) -> type:
    """`models_extra.Setting` and the like, defined on first use as through models.py."""
    if name in _DEFINE:
        return define(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
