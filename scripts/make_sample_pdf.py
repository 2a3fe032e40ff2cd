"""Render the sample resume's Markdown as a PDF (dev tool; needs the ``dev`` extra: reportlab).

Run: ``python scripts/make_sample_pdf.py`` (defaults: data/resume/maya_okonkwo_lindqvist.md →
the same path with ``.pdf``). The output is byte-for-byte reproducible (reportlab's invariant
mode) so the committed PDF only changes when the Markdown does.

The layout exercises the PDF cleaner in ``pipeline.resume.ingest``: a running header and a
"Page N of M" footer on every page, bullet glyphs, an icon-font style contact row.
Understood Markdown: ``#`` name, ``##`` section, ``###`` entry, ``- `` bullet, plain lines.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MD = REPO / "data" / "resume" / "maya_okonkwo_lindqvist.md"

_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13)
_NAME = ParagraphStyle("name", fontName="Helvetica-Bold", fontSize=20, leading=24, spaceAfter=4)
_SECTION = ParagraphStyle("section", fontName="Helvetica-Bold", fontSize=13, leading=16,
                          spaceBefore=8, spaceAfter=3)
_ENTRY = ParagraphStyle("entry", fontName="Helvetica-Bold", fontSize=10.5, leading=13, spaceBefore=4)


class _NumberedCanvas(rl_canvas.Canvas):
    """Canvas that draws the running header and "Page N of M" once the page count is known."""

    def __init__(self, *args, running_title: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._saved: list[dict] = []
        self._title = running_title

    def showPage(self):  # noqa: N802 (reportlab API)
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            width, height = A4
            self.setFont("Helvetica", 8)
            self.drawString(2 * cm, height - 1.2 * cm, f"{self._title} · Curriculum Vitae")
            self.drawRightString(width - 2 * cm, 1.2 * cm, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _flowables(markdown: str) -> tuple[str, list]:
    story: list = []
    bullets: list[str] = []
    name = ""

    def flush() -> None:
        if bullets:
            items = [ListItem(Paragraph(escape(b), _BODY), leftIndent=12) for b in bullets]
            story.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=12))
            bullets.clear()

    for line in markdown.splitlines():
        line = line.rstrip()
        if line.startswith("- "):
            bullets.append(line[2:])
            continue
        flush()
        if not line:
            continue
        if line.startswith("### "):
            story.append(Paragraph(escape(line[4:]), _ENTRY))
        elif line.startswith("## "):
            story.append(Paragraph(escape(line[3:]), _SECTION))
        elif line.startswith("# "):
            name = line[2:]
            story.append(Paragraph(escape(name), _NAME))
        else:
            story.append(Paragraph(escape(line), _BODY))
    flush()
    story.append(Spacer(1, 6))
    return name, story


def make_pdf(markdown_path: Path, pdf_path: Path) -> Path:
    """Write ``pdf_path`` from ``markdown_path`` (temp file, then rename); return ``pdf_path``."""
    rl_config.invariant = 1  # fixed document id and dates: reproducible bytes
    name, story = _flowables(markdown_path.read_text(encoding="utf-8"))
    tmp = pdf_path.with_suffix(".pdf.tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm,
                            topMargin=2 * cm, bottomMargin=2 * cm, title=f"{name} - CV", author=name)
    doc.build(story, canvasmaker=lambda *a, **k: _NumberedCanvas(*a, running_title=name, **k))
    os.replace(tmp, pdf_path)
    return pdf_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("markdown", nargs="?", type=Path, default=DEFAULT_MD)
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args()
    out = make_pdf(args.markdown, args.output or args.markdown.with_suffix(".pdf"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
