"""Structured resume readers: JSON Resume (``.json``) and RenderCV YAML (``.yaml``/``.yml``).

Used by :func:`pipeline.resume.ingest.ingest` (``python -m pipeline preview``); tested by
``pytest tests/test_resume.py``. Both return ``(name, sections)`` like the text readers in
:mod:`pipeline.resume.formats`; malformed files raise :class:`pipeline.errors.ResumeError`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ResumeError
from pipeline.resume.formats import DATE_ONLY, RawEntry, RawSection, norm_date
from pipeline.resume.formats import md_inline as _md_inline


def _items(data: dict, key: str, path: Path) -> list[dict]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ResumeError(f"{path}: '{key}' must be a list of objects in a JSON Resume; "
                          "fix it per https://jsonresume.org/schema")
    return value


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value or [] if str(v).strip()]


def _dates(item: dict, *keys: str) -> dict[str, str]:
    out = {}
    for key, target in zip(keys, ("start_date", "end_date"), strict=False):
        if item.get(key):
            out[target] = norm_date(item[key])
    return out


def read_json_resume(path: Path, text: str) -> tuple[str | None, list[RawSection]]:
    """JSON Resume (jsonresume.org schema v1) → sections with preset categories."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResumeError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
                          "fix the syntax (e.g. python -m json.tool FILE)") from exc
    known = {"basics", "work", "volunteer", "education", "awards", "certificates", "publications",
             "skills", "languages", "interests", "references", "projects"}
    if not isinstance(data, dict) or not known & set(data):
        raise ResumeError(f"{path}: not a JSON Resume (no basics/work/education... keys at the top level); "
                          "follow https://jsonresume.org/schema")
    basics = data.get("basics") or {}
    if not isinstance(basics, dict):
        raise ResumeError(f"{path}: 'basics' must be an object in a JSON Resume; fix it per the schema")
    secs: list[RawSection] = []

    def add(title: str, category: str, entries: list[RawEntry]) -> None:
        if entries:
            secs.append(RawSection(title, entries, category))

    summary = [s for s in (basics.get("label"), basics.get("summary")) if isinstance(s, str) and s]
    add("Summary", "character", [RawEntry(lines=summary)] if summary else [])
    for key, title, category, org, role in (("work", "Work", "work_experience", "name", "position"),
                                            ("volunteer", "Volunteer", "leadership", "organization",
                                             "position")):
        entries = []
        for w in _items(data, key, path):
            f = {"organization": str(w.get(org) or w.get("company") or ""), "title": str(w.get(role) or ""),
                 **_dates(w, "startDate", "endDate"), "location": str(w.get("location") or "")}
            lines = _strs(w.get("description")) + _strs(w.get("summary")) + _strs(w.get("highlights"))
            entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
        add(title, category, entries)
    entries = []
    for e in _items(data, "education", path):
        f = {"organization": str(e.get("institution") or ""), "degree": str(e.get("studyType") or ""),
             "area": str(e.get("area") or ""), "gpa": str(e.get("score") or ""),
             **_dates(e, "startDate", "endDate")}
        lines = [f"Courses: {', '.join(_strs(e['courses']))}"] if e.get("courses") else []
        entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
    add("Education", "education", entries)
    flat = []
    for a in _items(data, "awards", path):
        by = f" from {a['awarder']}" if a.get("awarder") else ""
        when = f" ({norm_date(a['date'])})" if a.get("date") else ""
        flat.append(f"{a.get('title', '')}{by}{when}" + (f": {a['summary']}" if a.get("summary") else ""))
    for c in _items(data, "certificates", path):
        flat.append(f"Certificate: {c.get('name', '')}" + (f" from {c['issuer']}" if c.get("issuer") else "")
                    + (f" ({norm_date(c['date'])})" if c.get("date") else ""))
    for p in _items(data, "publications", path):
        flat.append(f"Publication: {p.get('name', '')}" + (f", {p['publisher']}" if p.get("publisher") else "")
                    + (f" ({norm_date(p['releaseDate'])})" if p.get("releaseDate") else "")
                    + (f". {p['summary']}" if p.get("summary") else ""))
    add("Awards and Publications", "achievements", [RawEntry(lines=flat)] if flat else [])
    skills = [f"{s.get('name', '')}" + (f" ({s['level']})" if s.get("level") else "")
              + (f": {', '.join(_strs(s.get('keywords')))}" if s.get("keywords") else "")
              for s in _items(data, "skills", path)]
    add("Skills", "technical_skills", [RawEntry(lines=skills)] if skills else [])
    personal = [f"Speaks {lang.get('language', '')}" + (f" ({lang['fluency']})" if lang.get("fluency") else "")
                for lang in _items(data, "languages", path)]
    personal += [f"Interests: {i.get('name', '')}" + (f" ({', '.join(_strs(i.get('keywords')))})"
                                                       if i.get("keywords") else "")
                 for i in _items(data, "interests", path)]
    add("Languages and Interests", "character", [RawEntry(lines=personal)] if personal else [])
    refs = [RawEntry({}, "", [f'"{r["reference"]}" — {r.get("name") or "a reference"}'])
            for r in _items(data, "references", path) if r.get("reference")]
    add("References", "recommendations", refs)
    entries = []
    for p in _items(data, "projects", path):
        f = {"name": str(p.get("name") or ""), "organization": str(p.get("entity") or ""),
             "title": ", ".join(_strs(p.get("roles"))), **_dates(p, "startDate", "endDate")}
        lines = _strs(p.get("description")) + _strs(p.get("highlights"))
        if p.get("keywords"):
            lines.append(f"Technologies: {', '.join(_strs(p['keywords']))}")
        entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
    add("Projects", "projects", entries)
    return (basics.get("name") or None), secs


def read_rendercv(path: Path, text: str) -> tuple[str | None, list[RawSection]]:
    """RenderCV YAML (``cv:`` with ``sections``; entry types education, experience, normal,
    one-line, bullet, numbered, publication, text) → sections."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ResumeError(f"{path}: malformed YAML{where} ({getattr(exc, 'problem', exc)}); "
                          "fix the syntax (RenderCV files start with 'cv:')") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cv"), dict):
        raise ResumeError(f"{path}: not a RenderCV file (no top-level 'cv:' mapping); "
                          "use RenderCV's format (cv: name, sections) or a .json/.md/.pdf resume")
    cv = data["cv"]
    sections = cv.get("sections") or {}
    if not isinstance(sections, dict):
        raise ResumeError(f"{path}: 'cv.sections' must map section titles to lists of entries; fix the YAML")
    out = []
    for title, items in sections.items():
        if not isinstance(items, list):
            raise ResumeError(f"{path}: cv.sections.{title} must be a list of entries; fix the YAML")
        sec = RawSection(str(title).replace("_", " ").strip().title() if "_" in str(title)
                         or str(title).islower() else str(title))
        for i, item in enumerate(items):
            sec.entries.append(_rendercv_entry(path, f"cv.sections.{title}[{i}]", item))
        out.append(sec)
    return (str(cv["name"]) if cv.get("name") else None), out


def _rendercv_entry(path: Path, where: str, item: Any) -> RawEntry:
    if isinstance(item, str):
        return RawEntry(lines=[_md_inline(item)])
    if not isinstance(item, dict):
        raise ResumeError(f"{path}: {where} must be text or a mapping (entry); fix the YAML")
    f: dict[str, str] = {}
    if item.get("date") and not item.get("start_date"):
        dm = DATE_ONLY.match(str(item["date"]))
        f.update({"start_date": norm_date(dm.group("start"))} if dm else {"start_date": str(item["date"])})
        if dm and dm.group("end"):
            f["end_date"] = norm_date(dm.group("end"))
    f.update(_dates(item, "start_date", "end_date"))
    for key, target in (("company", "organization"), ("institution", "organization"), ("position", "title"),
                        ("degree", "degree"), ("area", "area"), ("location", "location"), ("name", "name"),
                        ("title", "name"), ("label", "name")):
        if item.get(key):
            f.setdefault(target, _md_inline(item[key]))
    lines = []
    for key in ("bullet", "number", "reversed_number"):
        if item.get(key):
            lines.append(_md_inline(item[key]))
    if item.get("details"):
        lines.append(f"{_md_inline(item['label'])}: {_md_inline(item['details'])}" if item.get("label")
                     else _md_inline(item["details"]))
        f.pop("name", None)
    if item.get("authors"):
        venue = ", ".join(x for x in (str(item.get("journal") or ""), f.get("start_date", "")) if x)
        lines.append(f"Publication: {f.pop('name', '')}" + (f" ({venue})" if venue else "")
                     + f"; authors: {', '.join(_md_inline(a) for a in item['authors'])}")
    if item.get("summary"):
        lines.append(_md_inline(item["summary"]))
    for h in _strs(item.get("highlights")):
        lines.extend(_md_inline(x) for x in re.split(r"\s+-\s+(?=[A-Z0-9])", h) if x.strip())
    for gpa in re.findall(r"GPA:?\s*(\d\.\d+(?:/\d\.\d+)?)", " ".join(lines)):
        f.setdefault("gpa", gpa)
    return RawEntry(f, "", lines)


