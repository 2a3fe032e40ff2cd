"""Word resumes (.docx, python-docx): the sample resume written as Word users write it ingests to
the same entries as its Markdown source; bad .docx files get one clear message.

Run: ``pytest tests/test_docx.py``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipeline.errors import ResumeError
from pipeline.resume.ingest import ingest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "resume" / "maya_okonkwo_lindqvist.md"


def _word_from_markdown(markdown: Path, dest: Path, *, entry_style: str) -> Path:
    """Write ``markdown`` as a Word document the way people format one: a Title, Heading 1 per
    section, each entry header in bold (``entry_style="bold"``) or as Heading 2, bullets as
    List Bullet paragraphs, the rest as plain paragraphs."""
    import docx

    document = docx.Document()
    for line in markdown.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("# "):
            document.add_paragraph(text[2:], style="Title")
        elif text.startswith("## "):
            document.add_heading(text[3:], level=1)
        elif text.startswith("### "):
            if entry_style == "bold":
                document.add_paragraph().add_run(text[4:]).bold = True
            else:
                document.add_heading(text[4:], level=2)
        elif text.startswith("- "):
            document.add_paragraph(text[2:].replace("**", ""), style="List Bullet")
        else:
            document.add_paragraph(text.replace("**", ""))
    document.save(str(dest))
    return dest


def _entries(resume) -> list[tuple]:
    return sorted({(f.category, f.fields.get("organization"), f.fields.get("title") or f.fields.get("degree"),
                    f.fields.get("start_date"), f.fields.get("end_date")) for f in resume.facts if f.fields.get("organization")},
                  key=str)


@pytest.mark.parametrize("entry_style", ["bold", "heading"])
def test_word_resume_ingests_like_its_markdown(tmp_path, entry_style):
    reference = ingest(SAMPLE)
    word = ingest(_word_from_markdown(SAMPLE, tmp_path / "maya.docx", entry_style=entry_style))
    assert word.format == "docx" and word.name == reference.name
    assert _entries(word) == _entries(reference)
    assert ("work_experience", "Northwind Robotics", "Staff Machine Learning Engineer", "2021-03", "present") in _entries(word)
    assert len(word.facts) == len(reference.facts)
    assert {f.text for f in word.facts} == {f.text for f in reference.facts}
    assert "maya.ok.lindqvist@example.com" not in word.text and "+46 70 123 45 67" not in word.text  # scrubbed


def test_tables_are_read_row_by_row(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Jane Roe", style="Title")
    document.add_heading("Experience", level=1)
    document.add_paragraph().add_run("Data Engineer — Acme Corp").bold = True
    document.add_paragraph("2019 – 2023")
    document.add_paragraph("Built the nightly billing pipeline in Spark.", style="List Bullet")
    document.add_heading("Skills", level=1)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Languages", "Python, SQL, Scala"
    table.cell(1, 0).text, table.cell(1, 1).text = "Tools", "Spark, Airflow"
    document.save(str(tmp_path / "jane.docx"))
    resume = ingest(tmp_path / "jane.docx")
    texts = [f.text for f in resume.facts]
    assert "Data Engineer, Acme Corp (2019 – 2023)" in texts and "Built the nightly billing pipeline in Spark." in texts
    assert any("Python" in t and "Scala" in t for t in texts) and any("Airflow" in t for t in texts), texts
    job = next(f for f in resume.facts if f.fields.get("organization") == "Acme Corp")
    assert (job.fields.get("title"), job.fields.get("start_date"), job.fields.get("end_date")) == ("Data Engineer", "2019", "2023")


def test_bad_docx_files_get_one_clear_message(tmp_path):
    import docx

    renamed = tmp_path / "renamed.docx"
    renamed.write_bytes(b"%PDF-1.4 not a word file")
    with pytest.raises(ResumeError, match=r"renamed.docx: not a readable .docx.*save it again"):
        ingest(renamed)
    no_document = tmp_path / "broken.docx"
    with zipfile.ZipFile(no_document, "w") as z:
        z.writestr("hello.txt", "a zip, but not a Word document")
    with pytest.raises(ResumeError, match=r"broken.docx: not a readable .docx"):
        ingest(no_document)
    empty = tmp_path / "images.docx"
    docx.Document().save(str(empty))  # no text: what a document of only images looks like to a reader
    with pytest.raises(ResumeError, match=r"images.docx: the .docx has no text.*JSON Resume"):
        ingest(empty)


def test_bold_title_and_org_with_a_tabbed_range_ending_present(tmp_path):
    """"**Senior Data Engineer — Ferncliff Logistics**<tab>Apr 2020 – Present": the range is read
    whole, so "Present" is never taken for a place and the organization is kept (a new user's file)."""
    import docx

    document = docx.Document()
    document.add_heading("Ilse Marchetti-Obi", 0)
    document.add_heading("Professional Experience", 1)
    for title, org, loc, dates, bullets in [
            ("Senior Data Engineer", "Ferncliff Logistics", "Portland, OR", "Apr 2020 – Present", ["Migrated 140 jobs."]),
            ("Data Engineer", "Bramble & Finch Insurance", "Hartford, CT", "Sep 2017 – Mar 2020", ["Built a pipeline."])]:
        par = document.add_paragraph()
        par.add_run(f"{title} — {org}").bold = True
        par.add_run(f"\t{dates}")
        document.add_paragraph().add_run(loc).italic = True
        for b in bullets:
            document.add_paragraph(f"•\t{b}")
    document.add_heading("Volunteering", 1)
    par = document.add_paragraph()
    par.add_run("Mentor — Portland Code Collective").bold = True
    par.add_run("\t2018 – Present")
    document.add_paragraph("•\tMentors 5 career changers a year.")
    path = tmp_path / "cv.docx"
    document.save(str(path))
    assert _entries(ingest(path)) == [
        ("leadership", "Portland Code Collective", "Mentor", "2018", "present"),
        ("work_experience", "Bramble & Finch Insurance", "Data Engineer", "2017-09", "2020-03"),
        ("work_experience", "Ferncliff Logistics", "Senior Data Engineer", "2020-04", "present")]
