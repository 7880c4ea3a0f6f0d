"""Makes the pictures of the printed papers in docs/img/ (shown in the README).

The same pipeline as tests/reports/test_paper.py (tests/reports/paper_pipeline.py):
the thirty-case test store, the evening export, a work order printed with
LibreOffice headless, each page turned into a PNG by poppler's pdftoppm. Needs
LibreOffice, poppler-utils and a Chinese font (apt-get install libreoffice-writer
libreoffice-calc poppler-utils fonts-noto-cjk).
Run: python scripts/make_paper_images.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "reports"))

import paper_pipeline as pipeline  # noqa: E402

OUT = ROOT / "docs" / "img"


def main() -> None:
    missing = pipeline.tools_missing()
    if missing:
        sys.exit(f"not installed: {', '.join(missing)}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        files, _ = pipeline.make_papers(Path(work))
        made = [
            pipeline.to_png(files["daily_pdf"], OUT / "daily-report.png"),
            pipeline.to_png(files["work_order.pdf"], OUT / "work-order.png"),
            pipeline.to_png(files["work_order.pdf"], OUT / "work-order-reply.png", page=2),
            pipeline.to_png(files["notice.pdf"], OUT / "notice.png"),
        ]
    for path in made:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
