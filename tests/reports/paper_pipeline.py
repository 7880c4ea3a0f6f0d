"""What the office gets on paper, made the way a person would: the thirty-case store,
the evening export (XLSX, CSV, JSON, PDF), the period report's workbook, a work order
and a notice, then the workbooks and documents printed to PDF by LibreOffice.

Used by test_paper.py (one conversion per test session) and by
scripts/make_paper_images.py (the pictures in the README), so both show the same
pipeline. Runs `bbc` as a separate process, with BBC_OPERATOR unset as on a server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # report_fixture

from report_fixture import build, number_of

DAY = "2026-10-09"  # the roll-up's day (report_fixture: 3 overdue, 4 closed)
LATER = "2026-10-20 09:00"
ORDER_AT = "2026-10-20 09:30"  # Li Haiqing's case, registered and dispatched then
NOTICE_AT = "2026-10-20 10:00"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def tools_missing() -> list[str]:
    missing = [] if soffice() else ["LibreOffice (soffice)"]
    missing += [t for t in ("pdftotext", "pdfinfo", "pdftoppm") if not shutil.which(t)]
    return missing


def bbc(env: dict[str, str], *args: str, now: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "banbucheng", *args],
        env=dict(env, BBC_NOW=now),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode not in (0, 4, 5):
        raise RuntimeError(f"bbc {' '.join(args)}: {result.returncode} {result.stderr}")
    return result.stdout.strip()


def make_papers(work: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Every paper, as its source file and as the PDF LibreOffice prints from it, and
    the case numbers on them. Keys: daily_xlsx, report_xlsx, work_order, notice (DOCX)
    and daily_pdf (bbc's own PDF), each with a `<key>.pdf` printout (daily_pdf is
    already one); numbers: li (the work order), stall (the notice), overdue (the
    three overdue cases of the day, most overdue first)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "window.sqlite3"
    build(db)
    # The store's key (BBC_KEY_DIR) is where build() left it; nothing else of BBC_*.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BBC_") or k == "BBC_KEY_DIR"}
    env.update(BBC_DB=str(db), XDG_DATA_HOME=str(work / "data"))
    out = work / "export"
    bbc(env, "export", "--dir", str(out), "--date", DAY, now=LATER)
    report = work / "2026年9月统计.xlsx"
    bbc(env, "report", "--month", "2026-09", "--xlsx", str(report), now=LATER)

    # A work order for Li Haiqing's case; a notice for a matter that cannot be done,
    # its basis and remedy from the center's reply template.
    li = bbc(
        env, "register", "--name", "李海清", "--phone", "13900001111",
        "--matter", "社保卡自2016年起未年检，养老金停发四年（其子代为反映）",
        "--department", "社保窗口", "--category", "应办未办", "--subtype", "很难办",
        now=ORDER_AT,
    )  # fmt: skip
    clerk = dict(env, BBC_OPERATOR="窗口甲")
    bbc(clerk, "dispatch", li, "--unit", "省农保中心", "--helper", "社保窗口", now=ORDER_AT)
    bbc(clerk, "mechanism", "add", "占用消防通道的摊点不予许可", now=NOTICE_AT)
    bbc(
        clerk, "reply-template", "add", "无证摊点不予许可", "--mechanism", "1",
        "--body", "您反映的「{事项}」，该摊点占用消防通道，依法不能许可",
        "--basis", "《中华人民共和国消防法》第二十八条",
        "--alternative", "可向所在街道申请在规划的便民市场设摊",
        now=NOTICE_AT,
    )  # fmt: skip
    stall = bbc(
        clerk, "register", "--name", "霍某某", "--phone", "13712341111",
        "--matter", "要求为消防通道旁的无证摊点办理经营许可", "--category", "完全不能",
        now=NOTICE_AT,
    )  # fmt: skip
    bbc(clerk, "close", stall, "--template", "无证摊点不予许可", now=NOTICE_AT)
    papers = {
        "daily_xlsx": out / f"{DAY}-每日汇总.xlsx",
        "daily_pdf": out / f"{DAY}-每日汇总.pdf",
        "report_xlsx": report,
        "work_order": work / f"{li}-派单单.docx",
        "notice": work / f"{stall}-告知书.docx",
    }
    # Printed later, by whoever is at the machine (no BBC_OPERATOR: the OS login).
    bbc(env, "print", li, "--work-order", "--out", str(papers["work_order"]), now=LATER)
    bbc(env, "print", stall, "--notice", "--out", str(papers["notice"]), now="2026-10-22 15:00")
    convert([papers[k] for k in ("daily_xlsx", "report_xlsx", "work_order", "notice")], work)
    for key in ("daily_xlsx", "report_xlsx", "work_order", "notice"):
        papers[f"{key}.pdf"] = work / "pdf" / (papers[key].stem + ".pdf")
    overdue = ",".join(number_of(k) for k in (6, 14, 13))
    return papers, {"li": li, "stall": stall, "overdue": overdue}


def convert(files: list[Path], work: Path) -> None:
    """Print to PDF with LibreOffice headless, in one run, with a profile of its own
    (so parallel test workers do not share one)."""
    program = soffice()
    assert program, "LibreOffice is not installed"
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-", dir=work))
    subprocess.run(
        [
            program,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "pdf"),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def pdf_text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages(pdf: Path) -> tuple[int, str]:
    """(number of pages, page size as pdfinfo says it, e.g. '595.304 x 841.89 pts (A4)')."""
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    return int(fields["Pages"].strip()), fields["Page size"].strip()


def to_png(pdf: Path, target: Path, *, page: int = 1, dpi: int = 80) -> Path:
    """One page as a PNG (pdftoppm)."""
    stem = target.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
         "-singlefile", str(pdf), str(stem)],
        check=True,
    )  # fmt: skip
    return stem.with_suffix(".png")
