"""On PostgreSQL too, a writer waits for an import (the advisory lock every writer
takes), told what it waits for, instead of failing after the lock timeout; readers
do not wait (skipped without the server binaries, failing in CI like test_postgres)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlmodel import func, select

from banbucheng.core.timeutil import BEIJING


def test_a_writer_waits_for_an_import_and_a_reader_does_not(pg_url: str) -> None:
    from banbucheng.schema.models import Case
    from banbucheng.services import cases as case_service
    from banbucheng.store import Store

    moment = datetime(2021, 4, 1, 9, 0, tzinfo=BEIJING)
    importing, told = Store(pg_url), []
    window = Store(pg_url, waiting=lambda seconds, doing: told.append((int(seconds), doing)))
    started = threading.Event()

    def long_import() -> None:
        with importing.announce("import"), importing.context(actor="导入", now=moment) as ctx:
            case_service.register(
                ctx, citizen_name="n", phone="13800000000", matter="导入的", channel="window"
            )
            started.set()
            time.sleep(2.5)

    thread = threading.Thread(target=long_import)
    try:
        thread.start()
        assert started.wait(30)
        begun = time.monotonic()
        with window.session(write=False) as reader:  # at once, the import not yet seen
            assert reader.exec(select(func.count()).select_from(Case)).one() == 0
        assert time.monotonic() - begun < 2
        with window.context(actor="窗口乙", now=moment) as ctx:
            waited = time.monotonic() - begun
            case_service.register(
                ctx, citizen_name="m", phone="13900000000", matter="窗口的", channel="window"
            )
        thread.join(30)
        assert waited >= 1.5
        assert told and told[0][1] == "导入"
        with window.session(write=False) as reader:
            assert reader.exec(select(func.count()).select_from(Case)).one() == 2
    finally:
        thread.join(30)
        importing.close()
        window.close()
