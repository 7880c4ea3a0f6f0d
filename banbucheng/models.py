"""The stored tables. Times are stored as Beijing wall time (UTC+8 all year, no DST,
so unambiguous) which lets SQL group by the Beijing day with a plain date()."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Text, TypeDecorator
from sqlmodel import Field, SQLModel

from .timeutil import BEIJING, to_beijing


class BeijingDateTime(TypeDecorator):
    """Aware datetimes in, aware Beijing datetimes out; naive Beijing time in the table."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return to_beijing(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=BEIJING)


def _when(**kw: object) -> object:
    return Field(sa_type=BeijingDateTime, **kw)


class Unit(SQLModel, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    contact: str = ""
    created_at: datetime = _when()


class Case(SQLModel, table=True):
    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True)
    status: str = Field(index=True)
    # Citizen: personal data, masked wherever it is shown unless revealed explicitly.
    citizen_name: str
    phone: str
    id_number: str | None = None
    matter: str = Field(sa_column=Column(Text, nullable=False))
    department: str = ""  # the department or window where the matter failed
    channel: str
    received_at: datetime = _when(index=True)
    registered_at: datetime = _when()
    registered_by: str
    category: str | None = Field(default=None, index=True)
    subtype: str | None = None
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    dispatched_at: datetime | None = _when(default=None)
    # The deadline's rule, kept so it can be recomputed when the calendar improves:
    # clock_start + limit_days + extension_days working days, unless due_fixed is set.
    clock_start: datetime = _when()
    limit_days: int | None = None
    extension_days: int = 0
    due_fixed: date | None = None
    due_date: date | None = Field(default=None, index=True)
    due_at: datetime | None = _when(default=None, index=True)
    provisional: bool = Field(default=False, index=True)
    unit_due_at: datetime | None = _when(default=None)
    escalated_at: datetime | None = _when(default=None)
    referred_at: datetime | None = _when(default=None)
    closed_at: datetime | None = _when(default=None, index=True)
    outcome: str | None = None
    result: str | None = Field(default=None, sa_column=Column(Text))
    mechanism: str | None = Field(default=None, sa_column=Column(Text))
    working_days_used: int | None = None
    on_time: bool | None = None
    satisfaction: str | None = None
    visited_at: datetime | None = _when(default=None)
    reopen_count: int = 0


class CaseHelper(SQLModel, table=True):
    """Helper (协办) units of a case; the lead unit is cases.unit_id."""

    __tablename__ = "case_helpers"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    unit_id: int = Field(foreign_key="units.id", primary_key=True)


class Event(SQLModel, table=True):
    """Append-only history: one row per action, never updated or deleted."""

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    at: datetime = _when(index=True)
    actor: str
    action: str = Field(index=True)
    # JSON: {"before": {...}, "after": {...}, "text": "..."}; personal data only masked.
    detail: str = Field(sa_column=Column(Text, nullable=False))


class Setting(SQLModel, table=True):
    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class CalendarDay(SQLModel, table=True):
    """A day the center entered itself from a State Council notice; wins over the package."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    workday: bool
    name: str = ""
    source: str
    entered_by: str
    entered_at: datetime = _when()


class Counter(SQLModel, table=True):
    """Per-day case-number sequences, bumped in the registering transaction."""

    __tablename__ = "counters"

    key: str = Field(primary_key=True)
    value: int = 0
