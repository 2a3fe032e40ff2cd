"""Resume structure on the layout corpus (``data/layouts/``): ``benchmarks/layout_bench.py`` as a test.

Run with ``pytest tests/test_layout_corpus.py``. The two shared RenderCV PDFs must give every
entry right (organization, title or degree, start, end, bullet count). The corpus layouts made
here (moderncv classic/banking, Jake's-resume-like, AltaCV-like, Awesome-CV-like, a Word export,
the five added in session 8: Deedy-like, Ivy-like, dates-first, a Word table, a modern sans, and
the held-out sets after them; also the Word layouts' .docx sources, read as Word documents)
must reach the 95% target with the layout-aware PDF reader of issue #13; those named in
``BELOW_TARGET`` are strict xfails (the day one reaches the target the xfail fails, and its name
must go).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = REPO / "data" / "layouts"
TARGET = 0.95


def test_every_corpus_pdf_has_its_truth_and_source():
    pdfs = sorted(p.stem for p in (LAYOUTS / "pdf").glob("*.pdf"))
    assert len(pdfs) >= 12, pdfs
    for stem in pdfs:
        truth = json.loads((LAYOUTS / "truth" / f"{stem}.json").read_text(encoding="utf-8"))
        assert truth["entries"], stem
        assert (LAYOUTS / truth["source"]).is_file(), truth["source"]


@pytest.mark.parametrize("name", ["shared-john_doe_classic", "shared-john_doe_engineering"])
def test_shared_pdfs_give_every_entry_right(shared_dir, load_benchmark, name):
    result = load_benchmark("layout_bench").run(only=name)["layouts"][name]
    assert result["found"] == result["expected"] and result["all_right"] >= TARGET, result


CORPUS = sorted(p.stem for p in (LAYOUTS / "pdf").glob("*.pdf"))
# The Word layouts' .docx sources, read by pipeline/resume/docx_reader.py: rows "<stem>.docx".
CORPUS += sorted(f"{p.stem}.docx" for p in (LAYOUTS / "truth").glob("*.json")
                 if json.loads(p.read_text(encoding="utf-8")).get("source", "").endswith(".docx"))


# Layouts still below the target with the layout-aware reader (pipeline/resume/layout.py): strict
# xfails, so the day one reaches it the mark must go. The 24 first PDFs all reach 0.95, the five
# layouts added in session 8 included (held out for their first measurement, development layouts
# since; docs/experiments.md, "Held-out layouts (session 8)"). The second held-out set (timeline,
# europass_like, word_bullets, centered) was measured with the reader unchanged; those below the
# target are listed (docs/experiments.md, "Second held-out set (session 8)").
# After the second held-out set (docs/experiments.md) all four reach it and are development layouts.
# The third held-out set (session 9: twoline_dates, title_paren, right_sidebar, word_header_table,
# and the Word layouts' .docx sources) was measured before any reader change (docs/experiments.md,
# "Third held-out set"); all reach the target since (header-row tables in a PDF are read by
# pipeline/resume/layout/tables.py).
BELOW_TARGET: set[str] = set()


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="issue #13: below the 0.95 target"))
    if n in BELOW_TARGET else n for n in CORPUS])
def test_corpus_layout_reaches_the_target(load_benchmark, name):
    result = load_benchmark("layout_bench").run(only=name.removesuffix(".docx"))["layouts"][name]
    assert result["all_right"] >= TARGET, result


@pytest.mark.parametrize("pdf", sorted((LAYOUTS / "pdf").glob("*.pdf")) + sorted((LAYOUTS / "user").glob("*.pdf")),
                         ids=lambda p: p.stem)
def test_layout_reader_reads_every_pdf_without_falling_back(pdf):
    """ingest falls back to plain text when the layout reader raises (with only a log warning),
    so a crash would hide as a drop in accuracy: call the layout reader itself."""
    from pipeline.resume import layout
    from pipeline.resume.ingest import _is_heading, category_for

    name, sections = layout.read_pdf(pdf, _is_heading, category_for)
    assert name and sections, pdf
