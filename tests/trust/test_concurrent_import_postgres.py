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
    # Events, not sleeps: the import holds its lock until the writer is seen waiting
    # for it, however slow the machine.
    started, release, written = threading.Event(), threading.Event(), threading.Event()

    def long_import() -> None:
        with importing.announce("import"), importing.context(actor="导入", now=moment) as ctx:
            case_service.register(
                ctx, citizen_name="n", phone="13800000000", matter="导入的", channel="window"
            )
            started.set()
            release.wait(60)

    def window_writes() -> None:
        with window.context(actor="窗口乙", now=moment) as ctx:
            case_service.register(
                ctx, citizen_name="m", phone="13900000000", matter="窗口的", channel="window"
            )
        written.set()

    importer = threading.Thread(target=long_import)
    writer = threading.Thread(target=window_writes)
    try:
        importer.start()
        assert started.wait(30)
        # A reader waiting for the import would wait here until it gave up (60 s) and
        # then count its case.
        with window.session(write=False) as reader:
            assert reader.exec(select(func.count()).select_from(Case)).one() == 0
        writer.start()
        deadline = time.monotonic() + 60
        while not told and time.monotonic() < deadline:
            time.sleep(0.05)
        assert told and told[0][1] == "导入"  # the writer waits, told for what
        assert not written.is_set()
        release.set()
        writer.join(60)
        assert written.is_set()
        with window.session(write=False) as reader:
            assert reader.exec(select(func.count()).select_from(Case)).one() == 2
    finally:
        release.set()
        importer.join(60)
        if writer.ident is not None:  # started
            writer.join(60)
        importing.close()
        window.close()
