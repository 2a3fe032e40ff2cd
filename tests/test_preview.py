"""``python -m pipeline preview``: the entries table, its warnings, and ``--json`` (a JSON Resume
that ingests back to the same entries and facts).

Run: ``pytest tests/test_preview.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ResumeError
from pipeline.resume.ingest import ingest
from pipeline.resume.preview import entries, entries_table, to_json_resume, write_json_resume

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "resumes"
SAMPLE = REPO / "data" / "resume" / "maya_okonkwo_lindqvist.md"


def _structured(resume) -> list[tuple]:
    """Each structured entry's fields and bullets; per category in document order (a JSON Resume
    orders its sections by the schema, so categories may come in another order)."""
    return sorted([(e.category, e.fields.get("organization"), e.fields.get("title"), e.fields.get("degree"),
             e.fields.get("area"), e.fields.get("name"), e.fields.get("start_date"), e.fields.get("end_date"),
             e.fields.get("gpa"), tuple(b.text for b in e.bullets)) for e in entries(resume) if e.header is not None],
                  key=lambda row: row[0])


def _round_trip(resume, tmp_path) -> object:
    return ingest(write_json_resume(resume, tmp_path / "extracted.json"))


def _sources() -> list[Path]:
    out = [SAMPLE, REPO / "data" / "resume" / "maya_okonkwo_lindqvist.pdf"]
    out += [SHARED / n for n in ("john_doe_classic.pdf", "john_doe_classic.rendercv.yaml",
                                 "richard_hendriks.resume.json") if (SHARED / n).is_file()]
    return out


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.name)
def test_json_resume_round_trips(source, tmp_path):
    """Ingesting the written JSON Resume gives the same entries (fields and bullets, in order) and
    the same fact texts per category."""
    original = ingest(source)
    again = _round_trip(original, tmp_path)
    assert again.format == "json_resume" and again.name == original.name
    assert _structured(again) == _structured(original)
    by_category = lambda r: {c: sorted(f.text for f in r.facts if f.category == c) for c in {f.category for f in r.facts}}  # noqa: E731
    assert by_category(again) == by_category(original)
    twice = _round_trip(again, tmp_path / "twice")
    assert _structured(twice) == _structured(again) and twice.text == again.text  # a second trip changes nothing


def test_sample_entries_table():
    table = entries_table(ingest(SAMPLE))
    rows = table.splitlines()
    assert rows[0].split() == ["category", "organization", "title", "/", "degree", "dates", "bullets"]
    assert any(r.split()[:3] == ["work_experience", "Northwind", "Robotics"] and r.rstrip().endswith("4") and
               "2021-03 – present" in r for r in rows)
    assert sum(r.startswith("work_experience") for r in rows) == 4 and sum(r.startswith("education") for r in rows) == 2
    assert not any(r.startswith("WARNING") for r in rows)  # every entry of the sample has an organization and dates


def test_table_warns_about_entries_missing_organization_or_dates(tmp_path):
    md = tmp_path / "r.md"
    md.write_text("# Jane Roe\n\n## Experience\n\n### Data Engineer\n\n- Built the nightly billing pipeline.\n\n"
                  "### Analyst — Acme Corp\n2017 – 2019\n\n- Wrote the weekly sales report.\n\n"
                  "## Skills\n\n- Python, SQL\n", encoding="utf-8")
    warnings = [r for r in entries_table(ingest(md)).splitlines() if r.startswith("WARNING")]
    assert len(warnings) == 1 and "'Data Engineer'" in warnings[0] and "no organization and no dates" in warnings[0]
    assert "preview --json FILE" in warnings[0]


def test_cli_writes_the_json_resume(write_config, tmp_path, capsys):
    from pipeline.__main__ import main

    out = tmp_path / "sub" / "me.json"
    assert main(["preview", "--config", str(write_config()), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "entries:" in printed and f"wrote {out}" in printed and "set resume_path" in printed
    assert json.loads(out.read_text())["work"][0]["name"] == "Northwind Robotics"
    assert not list(out.parent.glob(".*.tmp"))


def test_json_target_that_is_a_folder_or_unwritable(tmp_path):
    resume = ingest(SAMPLE)
    with pytest.raises(ResumeError, match=r"is a folder; pass a file name"):
        write_json_resume(resume, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResumeError, match=r"cannot write .*pass a writable path to --json"):
        write_json_resume(resume, blocker / "me.json")
    assert to_json_resume(resume)["basics"]["name"] == "Maya Okonkwo-Lindqvist"


def test_cli_refuses_a_bad_json_target_before_extracting(write_config, tmp_path, capsys):
    from pipeline.__main__ import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target, message in ((tmp_path, "is a folder"), (blocker / "me.json", "not a writable folder")):
        assert main(["preview", "--config", str(write_config()), "--json", str(target)]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == ""  # nothing extracted or printed first
