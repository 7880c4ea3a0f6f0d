"""Registering and closing a case with everything that goes with it.

The lifecycle (domain/lifecycle.py) decides what is allowed and records it; what
else must happen as a case is registered or closed lives here, in one place the
lifecycle does not depend on: the similar-case index (schema/index.py), the
citizens' keyed hashes and the repeat they reveal (schema/citizens.py, imported only
as a case is registered), reply templates and mechanisms (knowledge/mechanisms.py,
imported only as a case closes with one: registering never reaches their tables).
Every caller that registers or closes a case (the commands, the import, the demo)
goes through these functions.
"""

from __future__ import annotations

from typing import Any

from banbucheng.core.errors import InvalidInput
from banbucheng.domain import lifecycle
from banbucheng.schema import index
from banbucheng.schema.models import Case
from banbucheng.store import Ctx


class Learning:
    """lifecycle.Learning, done by the knowledge parts. The steps that touch the store
    (index, keys, find_repeat, link_of) are methods of their own, so that a bulk
    import (services/bulk.py) keeps the same rules over its in-memory batch."""

    def registered(self, ctx: Ctx, case: Case) -> Any:
        self.index(ctx, case)
        earlier = self.find_repeat(ctx, case, self.keys(ctx, case))
        if earlier is not None:
            case.repeat_of_id = earlier.id
        return earlier

    def index(self, ctx: Ctx, case: Case) -> None:
        index.index_case(ctx.session, case)

    def keys(self, ctx: Ctx, case: Case) -> list[str]:
        # Imported where used: closing a case does not define the citizens' tables.
        from banbucheng.schema import citizens

        return citizens.record_keys(ctx.session, case, ctx.keyring)

    def find_repeat(self, ctx: Ctx, case: Case, keys: list[str]) -> Any:
        from banbucheng.schema import citizens

        return citizens.find_repeat(ctx.session, case, keys)

    def link_of(self, ctx: Ctx, case: Case) -> Any:
        """The case's mechanism link (case_id, mechanism_id, role) or None, read through
        the plain table: the usual close, with no mechanism before or now, neither
        defines the mechanisms' classes nor loads knowledge/mechanisms.py."""
        from sqlalchemy import select

        from banbucheng.schema.models import MECHANISM_CASES as t

        if ctx.session.new:  # a link added in this transaction is read too
            ctx.session.flush()
        stmt = select(t.c.case_id, t.c.mechanism_id, t.c.role).where(t.c.case_id == case.id)
        # The closing case's changes so far need not be written before this read: they
        # go out with the rest of the close, one UPDATE instead of two.
        with ctx.session.no_autoflush:
            return ctx.session.execute(stmt).first()

    def reply_text(self, ctx: Ctx, case: Case, kind: str, template: str, result: str) -> str:
        if kind != "replied":
            raise InvalidInput(
                "答复口径只用于答复不能办理的案件（「完全不能」类，或 --outcome replied）"
            )
        from banbucheng.knowledge import mechanisms

        found = mechanisms.find_template(ctx.session, template)
        reply = mechanisms.render_template(found, case, ctx.policy.center_name)
        return f"{reply}\n{result}" if result else reply

    def closing_mechanism(
        self, ctx: Ctx, case: Case, ref: str | None, template: str | None
    ) -> str | None:
        """Link the closing case to its mechanism and return the text kept on the case:
        the new mechanism's text, or the name of the existing one that served it.
        Without one, a mechanism formed from this case earlier stays; a served link is
        dropped."""
        existing = self.link_of(ctx, case)
        if existing is None and not (ref and ref.strip()) and not template:
            return None  # the usual close: no mechanism, then or now
        from banbucheng.knowledge import mechanisms
        from banbucheng.schema.models import Mechanism

        mechanism, created = None, False
        if ref and ref.strip():
            mechanism, created = mechanisms.for_close(ctx, case, ref)
        elif template:
            reply = mechanisms.find_template(ctx.session, template)
            if reply.mechanism_id is not None:
                mechanism = ctx.session.get(Mechanism, reply.mechanism_id)
        if mechanism is None:
            if existing is None:
                return None
            if existing.role == "served":
                row = mechanisms.link_of(ctx.session, case.id)  # type: ignore[arg-type]
                if row is not None:
                    ctx.session.delete(row)
                    ctx.session.flush()
                return None
            kept = ctx.session.get(Mechanism, existing.mechanism_id)
            return kept.name if kept else None
        same = existing is not None and existing.mechanism_id == mechanism.id
        role = "source" if created or (same and existing.role == "source") else "served"  # type: ignore[union-attr]
        mechanisms.link(ctx, case, mechanism, role)
        return mechanism.description if created else mechanism.name

    def closed(self, ctx: Ctx, case: Case) -> None:
        self.index(ctx, case)  # the result and mechanism are searchable now


LEARNING = Learning()


def _learning(ctx: Ctx) -> Learning:
    """The batch's own (bbc import, services/bulk.py), else the one for single writes."""
    return ctx.batch.learning if ctx.batch is not None else LEARNING


def register(ctx: Ctx, **fields: Any) -> Case:
    """lifecycle.register, with the case indexed, its citizen keyed and a repeat found."""
    return lifecycle.register(ctx, learning=_learning(ctx), **fields)


def close(ctx: Ctx, case: Case, **fields: Any) -> None:
    """lifecycle.close, with reply templates, mechanisms and the index kept."""
    lifecycle.close(ctx, case, learning=_learning(ctx), **fields)
