"""What every stored table is made of: the base class, and the column type of the times
(Beijing wall time, UTC+8 all year, no DST, so unambiguous, which lets SQL group by
the Beijing day with a plain date()). The tables are in models.py and models_extra.py."""

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel

from banbucheng.core.timeutil import BEIJING, to_beijing


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


class Table(SQLModel):
    """The base of every stored table. Pydantic's validator and serializer for a table
    are built only if something asks for them (defer_build): rows are read and written
    through SQLAlchemy, so a command does not pay for building them at each start."""

    model_config = ConfigDict(defer_build=True)


def when(**kw: object) -> object:
    """A time column (BeijingDateTime)."""
    return Field(sa_type=BeijingDateTime, **kw)
