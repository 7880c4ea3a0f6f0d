"""`bbc import` in a fresh process, on a store made as bench_scale makes its own
(tests/bulkgen.py), with the environment a cron job or bench gives it: every table the
batch writes is defined though some are only defined on first use (models_extra.py)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import bulkgen

NOW = "2026-11-27 17:45"  # bulkgen.NOW


def test_an_import_in_a_fresh_process_writes_every_table(tmp_path: Path) -> None:
    store = tmp_path / "bbc.sqlite3"
    bulkgen.build(f"sqlite:///{store}", 200)
    sheet = tmp_path / "台账.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "电话", "反映事项", "受理时间", "分类", "主办单位"])
        for i in range(5):
            writer.writerow(
                [f"王{i}", f"1380000{i:04d}", f"第{i}件：不动产登记跑了三次还没办下来",
                 f"2026-11-2{i} 10:{i:02d}", "应办未办", "不动产登记窗口"]
            )  # fmt: skip
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
