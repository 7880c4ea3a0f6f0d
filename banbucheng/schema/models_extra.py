"""The tables a command reaches only for some actions: the settings and the calendar as
the center entered them, how far `verify` found the chain intact, the reply templates
and the search terms' counts. Defined on first use of their names through
schema/models.py (its __getattr__), so a command that never touches them (list, show,
overdue, daily-report: the store reads settings and calendar with plain SQL) does not
pay for defining and mapping them; creating or checking a store's schema defines
them all (models.define_all)."""

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from banbucheng.schema.base import Table, when


class Setting(Table, table=True):
    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class CalendarDay(Table, table=True):
    """A day the center entered itself from a State Council notice; wins over the package."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    workday: bool
    name: str = ""
    source: str
    entered_by: str
    entered_at: datetime = when()


class CalendarYear(Table, table=True):
    """A year whose State Council notice the center declared completely entered: its
    deadlines are final, not estimates (domain/calendar.py)."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str
    covered_by: str
    covered_at: datetime = when()


class ChainVerified(Table, table=True):
    """How far `bbc verify` last found the chain intact (one row): the next run checks
    from here on unless asked for a full run (integrity.py). With a seal key its
    `mac` binds the position and hash, so it cannot be moved without the key."""

    __tablename__ = "chain_verified"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = ""
    at: datetime = when()
    mac: str | None = None


class ReplyTemplate(Table, table=True):
    """A 答复口径: the reply given to citizens whose matter cannot be done."""

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


class SearchTerm(Table, table=True):
    """How many indexed cases hold each term (for IDF weights); `#docs` counts them all."""

    __tablename__ = "search_terms"

    term: str = Field(primary_key=True)
    df: int = 0
