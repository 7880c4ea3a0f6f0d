"""The tables a command reaches only for some actions: the settings and the calendar as
the center entered them, how far `verify` found the chain intact, the reply templates
and the search terms' counts. Each is defined on first use of its name through
schema/models.py (its __getattr__), and only that one: a command that never touches
them (list, show, overdue, daily-report: the store reads settings and calendar with
plain SQL) does not pay for defining and mapping them, and `register`, which needs
the settings and the search terms, not for the calendar's or the templates'.
Creating or checking a store's schema defines them all (models.define_all).

Each table's class is made by a function of its own, called once (define);
the class keeps its plain name and this module, as if defined at the top level."""

from collections.abc import Callable
from datetime import date, datetime

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


_DEFINE: dict[str, Callable[[], type]] = {
    "Setting": _setting,
    "CalendarDay": _calendar_day,
    "CalendarYear": _calendar_year,
    "ChainVerified": _chain_verified,
    "ReplyTemplate": _reply_template,
    "SearchTerm": _search_term,
}


def define(name: str) -> type:
    """The table class `name`, defined now if it is not yet (once per process)."""
    table = globals().get(name)
    if table is None:
        table = globals()[name] = _DEFINE[name]()
    return table


NAMES = tuple(_DEFINE)


def __getattr__(name: str) -> type:
    """`models_extra.Setting` and the like, defined on first use as through models.py."""
    if name in _DEFINE:
        return define(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
