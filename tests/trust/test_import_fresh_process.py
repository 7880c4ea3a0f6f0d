"""`bbc import` in a fresh process, on a store made as bench_scale makes its own
(tests/bulkgen.py), with the environment a cron job or bench gives it: every table the
batch writes is defined though some are only defined on first use (models_extra.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bulkgen

NOW = "2026-11-27 17:45"  # bulkgen.NOW


def test_an_import_in_a_fresh_process_writes_every_table(tmp_path: Path) -> None:
    store = tmp_path / "bbc.sqlite3"
    bulkgen.build(f"sqlite:///{store}", 200)
    sheet = bulkgen.import_sheet(tmp_path / "台账.csv", 0, rows=5)  # as bench_scale imports
    env = dict(
        os.environ, BBC_DB=f"sqlite:///{store}", BBC_NOW=NOW, BBC_OPERATOR="窗口甲",
        BBC_NO_PROMPT="1",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "banbucheng", "import", str(sheet)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "已导入 5 件案件" in done.stdout + done.stderr
