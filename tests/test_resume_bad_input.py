"""Structured resumes (RenderCV YAML, JSON Resume) that are hostile or mistyped: one clear ResumeError.

Each case names the field it is about and the fix, and fails fast: a budget on depth, aliases and
expanded size stops alias bombs and deep nesting before anything is expanded or stringified.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path

import pytest
import yaml

from pipeline.errors import ResumeError
from pipeline.resume.ingest import ingest

REPO = Path(__file__).resolve().parents[1]

_ENTRY = ("cv:\n  name: Maya Lind\n  sections:\n    experience:\n      - company: Northwind\n"
          "        position: Engineer\n        start_date: 2021-03\n        end_date: present\n")
_HIGHLIGHTS = "        highlights:\n          - Built the robot fleet planner\n          - Cut latency by 40%\n"


@contextlib.contextmanager
def _no_hang(seconds: int = 60):
    """Turn a hang (the alias bomb used to expand past 1 GB) into a test failure, not a stuck run."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _raise(signum, frame):
        raise AssertionError(f"still running after {seconds} s: the budget did not stop it")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _laughs(levels: int, width: int) -> str:
    lines = ["  l0: &l0 [\"lol\"]"]
    for i in range(1, levels + 1):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return ("anchors:\n" + "\n".join(lines) + "\n" + _ENTRY + f"        highlights: *l{levels}\n")


def _nested_yaml(depth: int) -> str:
    return _ENTRY + "        highlights: " + "[" * depth + "x" + "]" * depth + "\n"


def _json(**work) -> str:
    entry = {"name": "Northwind", "position": "Engineer", "startDate": "2021-03",
             "highlights": ["Built the fleet planner", "Cut latency by 40%"], **work}
    return json.dumps({"basics": {"name": "Maya Lind"}, "work": [entry],
                       "skills": [{"name": "Python", "keywords": ["pandas"]}]})


def _nested_json(depth: int) -> str:
    return '{"basics": {"name": "Maya"}, "work": [{"name": "N", "highlights": ' + "[" * depth + '"x"' \
        + "]" * depth + "}]}"


# (file name, content, words the message must hold)
_CASES = {
    "yaml_billion_laughs": ("cv.yaml", _laughs(9, 9), ["aliases", "write the values out"]),
    "yaml_alias_expansion": ("cv.yaml", _laughs(5, 9), ["expands to more than", "without aliases"]),
    "yaml_recursive_alias": ("cv.yaml", _ENTRY + "        highlights: &h [a, *h]\n", ["recursive YAML alias"]),
    "yaml_alias_too_deep": ("cv.yaml", "a: &a " + "[" * 40 + "x" + "]" * 40 + "\n" + _ENTRY
                            + "        highlights: [[[[[[[[[[[[*a]]]]]]]]]]]]\n", ["more than 50 levels"]),
    "yaml_nested_3000": ("cv.yaml", _nested_yaml(3000), ["cv.sections.experience[0].highlights",
                                                         "nested more than 50 levels"]),
    "yaml_nested_5000_block": ("cv.yaml", "cv:\n" + "".join("  " * i + f"  k{i}:\n" for i in range(5000)),
                               ["nested more than 50 levels", "cv.k0.k1"]),
    "yaml_highlights_number": ("cv.yaml", _ENTRY + "        highlights: 12345\n",
                               ["cv.sections.experience[0].highlights: expected a list of text, got a number"]),
    "yaml_highlight_null": ("cv.yaml", _ENTRY + "        highlights:\n          - Built it\n          -\n",
                            ["cv.sections.experience[0].highlights[1]: expected text, got null"]),
    "yaml_company_mapping": ("cv.yaml", _ENTRY.replace("company: Northwind", "company: {x: 1}") + _HIGHLIGHTS,
                             ["cv.sections.experience[0].company: expected text, got an object"]),
    "yaml_position_list": ("cv.yaml", _ENTRY.replace("position: Engineer", "position: [Eng]") + _HIGHLIGHTS,
                           ["cv.sections.experience[0].position: expected text, got a list"]),
    "yaml_name_list": ("cv.yaml", _ENTRY.replace("name: Maya Lind", "name: [Maya, Lind]") + _HIGHLIGHTS,
                       ["cv.name: expected text, got a list"]),
    "yaml_date_float": ("cv.yaml", _ENTRY.replace("start_date: 2021-03", "start_date: 2021.5") + _HIGHLIGHTS,
                        ["cv.sections.experience[0].start_date: expected a date as text", "2021.5"]),
    "yaml_huge_int": ("cv.yaml", _ENTRY + _HIGHLIGHTS + "        summary: " + "9" * 5000 + "\n",
                      ["unreadable YAML value"]),
    "json_nested_5000": ("cv.json", _nested_json(5000), ["work[0].highlights", "nested more than 50 levels"]),
    "json_nested_3000": ("cv.json", _nested_json(3000), ["nested more than 50 levels"]),
    "json_date_float": ("cv.json", _json(startDate=2021.5),
                        ["work[0].startDate: expected a date as text", "2021.5"]),
    "json_skill_numbers": ("cv.json", _json().replace('{"name": "Python", "keywords": ["pandas"]}',
                                                      '{"name": 123, "keywords": ["pandas"]}'),
                           ["skills[0].name: expected text, got a number (123)"]),
    "json_skill_keyword_numbers": ("cv.json", _json().replace('"keywords": ["pandas"]', '"keywords": [1, "pandas"]'),
                                   ["skills[0].keywords[0]: expected text, got a number (1)"]),
    "json_highlight_number": ("cv.json", _json(highlights=[42, "Cut latency by 40%"]),
                              ["work[0].highlights[0]: expected text, got a number (42)"]),
    "json_highlight_null": ("cv.json", _json(highlights=["Built it", None]),
                            ["work[0].highlights[1]: expected text, got null"]),
    "json_highlights_number": ("cv.json", _json(highlights=12345),
                               ["work[0].highlights: expected a list of text, got a number"]),
    "json_name_object": ("cv.json", _json().replace('"name": "Maya Lind"', '"name": {"first": "Maya"}'),
                         ["basics.name: expected text, got an object"]),
    "json_position_bool": ("cv.json", _json(position=True), ["work[0].position: expected text, got a boolean"]),
    "json_work_number": ("cv.json", '{"basics": {"name": "A"}, "work": 0}', ["'work' must be a list"]),
    "json_work_item_text": ("cv.json", '{"basics": {"name": "A"}, "work": ["Hooli"]}',
                            ["work[0]", "'work' must be a list of objects"]),
    "json_huge_int": ("cv.json", '{"basics": {"name": "A"}, "work": [{"name": ' + "9" * 5000 + "}]}",
                      ["unreadable JSON value"]),
    "json_highlights_string": ("cv.json", _json(highlights="Built the fleet planner"),
                               ["work[0].highlights: expected a list of text, got text",
                                'e.g. ["Built the fleet planner"]']),
    "json_date_words": ("cv.json", _json(startDate="sometime"),
                        ['work[0].startDate: "sometime" is not a date', "YYYY-MM"]),
    "json_date_month_13": ("cv.json", _json(startDate="2021-13"), ['"2021-13" is not a date']),
    "json_end_before_start": ("cv.json", _json(startDate="2021-03", endDate="2019-01"),
                              ['work[0].endDate: "2019-01" is before startDate "2021-03"', "swap"]),
    "yaml_end_before_start": ("cv.yaml", _ENTRY.replace("end_date: present", "end_date: 2020-01") + _HIGHLIGHTS,
                              ["cv.sections.experience[0].end_date", "is before start_date"]),
    "yaml_highlights_string": ("cv.yaml", _ENTRY + "        highlights: Built the robot fleet planner\n",
                               ["cv.sections.experience[0].highlights: expected a list of text, got text"]),
    "json_too_many_values": ("cv.json", _json(highlights=["x"] * 30_000), ["more than 20000 values"]),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_structured_bad_input_one_clear_line(tmp_path, case):
    name, content, needles = _CASES[case]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with _no_hang(), pytest.raises(ResumeError) as err:
        ingest(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    assert ";" in message, message  # problem; fix
    assert len(message) < 600, message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize("case", ["yaml_billion_laughs", "yaml_nested_3000", "json_skill_numbers"])
def test_structured_bad_input_cli_exits_2_with_one_line(tmp_path, capsys, case):
    from pipeline.__main__ import main

    name, content, needles = _CASES[case]
    resume = tmp_path / name
    resume.write_text(content, encoding="utf-8")
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["resume_path"] = str(resume)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with _no_hang():
        assert main(["preview", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(resume) in err[0] and needles[0] in err[0], err
    assert "Traceback" not in err[0]


def test_rendercv_year_numbers_dates_and_plain_aliases_still_work(tmp_path):
    path = tmp_path / "cv.yaml"
    path.write_text(
        "cv:\n  name: Maya Lind\n  sections:\n    experience:\n"
        "      - company: Northwind\n        position: Engineer\n        location: &city Malmö, Sweden\n"
        "        date: 2021\n        highlights:\n          - Built the fleet planner\n"
        "      - company: Southwind\n        position: Intern\n        location: *city\n"
        "        start_date: 2019-06-01\n        end_date: 2020\n        highlights:\n          - Cut latency by 40%\n"
        "    education:\n      - institution: Lund University\n        degree: MSc\n        area: Robotics\n"
        "        start_date: 2017\n        end_date: 2019\n", encoding="utf-8")
    resume = ingest(path)
    north, south = (next(f for f in resume.facts if f.fields.get("organization") == org)
                    for org in ("Northwind", "Southwind"))
    assert north.fields["start_date"] == "2021" and north.fields["location"] == "Malmö, Sweden"
    assert (south.fields["start_date"], south.fields["end_date"]) == ("2019-06", "2020")
    assert south.fields["location"] == "Malmö, Sweden"
    edu = next(f for f in resume.facts if f.category == "education")
    assert (edu.fields["start_date"], edu.fields["end_date"]) == ("2017", "2019")


def test_json_resume_integer_years_and_nulls_are_fine(tmp_path):
    path = tmp_path / "cv.json"
    path.write_text(_json(startDate=2021, endDate=None, location=None, summary=None), encoding="utf-8")
    resume = ingest(path)
    job = next(f for f in resume.facts if f.fields.get("organization") == "Northwind")
    assert job.fields["start_date"] == "2021" and "end_date" not in job.fields
    assert "None" not in resume.text


def test_shared_samples_still_ingest(shared_dir):
    for name in ("john_doe_classic.rendercv.yaml", "richard_hendriks.resume.json"):
        assert len(ingest(shared_dir / "resumes" / name).facts) > 10


def test_every_wrong_field_is_reported_at_once(tmp_path):
    """Three mistakes in three places: one error that names all three, each with its key path."""
    data = json.loads(_json(highlights="Built the fleet planner", startDate="sometime"))
    data["education"] = [{"institution": "KTH", "studyType": "MSc", "startDate": "2019", "endDate": "2017"}]
    path = tmp_path / "cv.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResumeError) as err:
        ingest(path)
    first, *rest = str(err.value).splitlines()
    assert str(path) in first and "3 fields to fix" in first, first
    assert [line.split(":")[0].strip() for line in rest] == ["work[0].startDate", "work[0].highlights",
                                                             "education[0].endDate"], rest


def test_many_wrong_fields_are_counted_not_all_listed(tmp_path):
    path = tmp_path / "cv.json"
    path.write_text(_json(highlights=list(range(30))), encoding="utf-8")
    with pytest.raises(ResumeError) as err:
        ingest(path)
    lines = str(err.value).splitlines()
    assert "30 fields to fix" in lines[0] and lines[-1].strip() == "... and 10 more", lines
    assert len(lines) == 22


def test_cli_reports_every_field_and_exits_2(tmp_path, capsys):
    from pipeline.__main__ import main

    resume = tmp_path / "cv.json"
    resume.write_text(_json(highlights=[1, 2], endDate="later"), encoding="utf-8")
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["resume_path"] = str(resume)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["preview", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "3 fields to fix" in err and "work[0].endDate" in err and "work[0].highlights[1]" in err, err
    assert "Traceback" not in err
