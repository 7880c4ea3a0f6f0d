"""The stored tables. Times are stored as Beijing wall time (UTC+8 all year, no DST,
so unambiguous) which lets SQL group by the Beijing day with a plain date().

The annotations are evaluated as the classes are made (no `from __future__ import
annotations`): pydantic and SQLAlchemy then read the types as they are instead of
evaluating a string for every column, in every process that defines the tables."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Index, Integer, Text, column, table
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

# BeijingDateTime: imported from here by the reports and schema/citizens.py.
from banbucheng.schema.base import BeijingDateTime, Table, when  # noqa: F401


class Unit(Table, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    contact: str = ""
    created_at: datetime = when()


class Case(Table, table=True):
    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True)
    status: str = Field(index=True)
    # Citizen: personal data, encrypted (AES-GCM tokens bound to the case number and
    # field) with only the masked forms in the clear (schema/personal.py).
    citizen_enc: str
    citizen_mask: str
    phone_enc: str
    phone_mask: str
    id_enc: str | None = None
    id_mask: str | None = None
    matter: str = Field(sa_column=Column(Text, nullable=False))
    department: str = ""  # the department or window where the matter failed
    channel: str
    received_at: datetime = when(index=True)
    registered_at: datetime = when()
    registered_by: str
    category: str | None = Field(default=None, index=True)
    subtype: str | None = None
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    dispatched_at: datetime | None = when(default=None)
    # The deadline's rule, kept so it can be recomputed when the calendar improves:
    # clock_start + limit_days + extension_days working days, unless due_fixed is set.
    clock_start: datetime = when()
    limit_days: int | None = None
    extension_days: int = 0
    due_fixed: date | None = None
    due_date: date | None = Field(default=None, index=True)
    due_at: datetime | None = when(default=None, index=True)
    provisional: bool = Field(default=False, index=True)
    unit_due_at: datetime | None = when(default=None)
    escalated_at: datetime | None = when(default=None)
    referred_at: datetime | None = when(default=None)
    closed_at: datetime | None = when(default=None, index=True)
    outcome: str | None = None
    result: str | None = Field(default=None, sa_column=Column(Text))
    mechanism: str | None = Field(default=None, sa_column=Column(Text))
    working_days_used: int | None = None
    on_time: bool | None = None
    # Closed while its deadline was still provisional: the deadline keeps following the
    # calendar (domain/recompute.py); other closed cases keep the one they were judged by.
    closed_provisional: bool = Field(default=False, index=True)
    satisfaction: str | None = None
    visited_at: datetime | None = when(default=None)
    reopen_count: int = 0
    # The earlier case of the same citizen about a similar matter (schema/citizens.py).
    repeat_of_id: int | None = Field(default=None, foreign_key="cases.id", index=True)


class StoreInfo:
    """The store's identity (one row): a random id, not secret, that names its key file
    outside the store (core/keyring.py). Only ever read and written as a table
    (schema/personal.py), so no mapped class: one class fewer to define and map in
    every process that opens a store."""

    __tablename__ = "store_info"
    __table__ = sa.Table(
        "store_info",
        SQLModel.metadata,
        Column("id", Integer, primary_key=True, default=1),
        Column("store_id", AutoString, nullable=False),
    )


class Event(Table, table=True):
    """Append-only history: one row per action, never updated or deleted.

    An event without a case is a store-level event: a change to the calendar or the
    policy settings (schema/history.py). It sits in the same hash chain as the cases'
    events, so `verify` walks one sequence and checks both."""

    __tablename__ = "events"
    # A case's events in chain order (its replay, verify's per-case counts) by index;
    # also every look-up by case (no index of case_id alone: m009).
    __table_args__ = (Index("ix_events_case_seq", "case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    at: datetime = when(index=True)
    actor: str
    action: str = Field(index=True)
    # JSON: {"before": {...}, "after": {...}, "text": "..."}; personal data only masked.
    detail: str = Field(sa_column=Column(Text, nullable=False))
    # The tamper-evident chain (integrity.py): position in the store's one chain, the
    # previous event's hash and this event's hash over its content and prev_hash.
    seq: int | None = Field(default=None, unique=True, index=True)
    prev_hash: str | None = None
    hash: str | None = None
    # With a seal key outside the store: HMAC-SHA256 over the hash (chain.event_mac).
    mac: str | None = None


# ---------------------------------------------------------------- knowledge, as read

# The columns of the mechanisms' tables that showing a case or its similar cases reads,
# as plain SQL tables: those reads need no mapped class, so the classes (models_extra.py)
# are defined only by what writes or edits mechanisms and templates.
MECHANISMS = table("mechanisms", column("id"), column("name"), column("issued"), column("decider"))
MECHANISM_CASES = table(
    "mechanism_cases", column("case_id"), column("mechanism_id"), column("role")
)
REPLY_TEMPLATES = table("reply_templates", column("id"), column("name"), column("mechanism_id"))
# A case's helper units, as listing cases reads them (the class CaseHelper is defined
# only by what adds or removes helpers).
CASE_HELPERS = table("case_helpers", column("case_id"), column("unit_id"))
# The citizens' keyed hashes and the settings, as schema/citizens.py writes and reads
# them while a case is registered: as plain tables, so that defines neither class.
CITIZEN_KEYS = table("citizen_keys", column("key"), column("case_id"))
SETTINGS = table("settings", column("key"), column("value"))


# ---------------------------------------------------------------- the other tables

# Every table's name, for the schema's stamp (migrations.stamp), which each process
# reads as it opens the store: known without defining the tables of models_extra.py.
TABLE_NAMES = (
    "units", "cases", "store_info", "case_helpers", "events", "counters", "chain_head",
    "case_chain", "mechanisms", "mechanism_cases", "case_terms", "citizen_keys",
    "settings", "calendar_days", "calendar_years", "chain_verified", "reply_templates",
    "search_terms",
)  # fmt: skip

_EXTRA = frozenset(
    ("Setting", "CalendarDay", "CalendarYear", "ChainVerified", "ReplyTemplate", "SearchTerm")
) | {
    "Counter",
    "CaseTerms",
    "CitizenKey",
    "Mechanism",
    "MechanismCase",
    "ChainHead",
    "CaseChain",
    "CaseHelper",
}


def __getattr__(name: str) -> Any:
    """`from banbucheng.schema.models import Setting` and the like: the tables of
    models_extra.py, each defined when first asked for (see there)."""
    if name in _EXTRA:
        from banbucheng.schema import models_extra

        value = globals()[name] = models_extra.define(name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def define_all() -> None:
    """Every table in SQLModel.metadata: before creating, upgrading or checking a store."""
    from banbucheng.schema import models_extra

    for name in models_extra.NAMES:
        models_extra.define(name)
