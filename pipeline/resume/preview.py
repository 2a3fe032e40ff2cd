"""``python -m pipeline preview``: what ingestion extracted, as entries a user can check and as a
JSON Resume they can correct.

Run: ``python -m pipeline preview`` (the entries table and its warnings) and
``python -m pipeline preview --json resume.json`` (write the JSON Resume; correct it, then set
``resume_path: resume.json``).

:func:`entries` groups a :class:`~pipeline.resume.ingest.Resume`'s facts back into entries: a
structured section's header fact (organization, title or degree, dates) with the bullet facts
under it; every other fact is a one-line entry. :func:`to_json_resume` writes them in the
jsonresume.org schema (v1): work, volunteer (leadership), education, projects, awards
(achievements), skills, references (recommendations), basics.summary (character), plus two
keys the schema leaves open and :func:`pipeline.resume.structured.read_json_resume` reads:
``military`` (entries like ``work``), and ``highlights`` and ``location`` on education entries. Ingesting the file
gives the same entries and the same fact texts (tests/test_preview.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.embedded import token_counter
from pipeline.errors import ResumeError
from pipeline.resume.ingest import CATEGORIES, Fact, Resume

_STRUCTURED = ("work_experience", "education", "projects", "leadership", "military")
_QUOTE = re.compile(r"^[\"“](?P<quote>.+?)[\"”]\s*[—–-]+\s*(?P<who>.+)$")


@dataclass
class Entry:
    """One entry: its header fact (None for a plain line) and the bullet facts under it."""

    category: str
    section: str
    header: Fact | None
    bullets: list[Fact] = field(default_factory=list)

    @property
    def fields(self) -> dict[str, str]:
        """The header's fields (organization, title, degree, start_date, ...); {} for a plain line."""
        return dict(self.header.fields) if self.header is not None else {}

    def problems(self) -> list[str]:
        """What a user should check: a structured entry without an organization or without dates."""
        if self.category not in _STRUCTURED:
            return []
        f = self.fields
        out = []
        if not f.get("organization") and not (self.category == "projects" and f.get("name")):
            out.append("no organization")
        if not f.get("start_date") and not f.get("end_date"):
            out.append("no dates")
        return out


def _is_bullet(resume: Resume, fact: Fact) -> bool:
    return resume.text[max(0, fact.span[0] - 2):fact.span[0]] == "- "


def entries(resume: Resume) -> list[Entry]:
    """The facts of ``resume`` grouped into entries, in document order (see the module docstring)."""
    out: list[Entry] = []
    for fact in resume.facts:
        if fact.category in _STRUCTURED:
            if not _is_bullet(resume, fact):
                out.append(Entry(fact.category, fact.section, fact))
                continue
            last = out[-1] if out else None
            if last is not None and last.header is not None and last.section == fact.section:
                last.bullets.append(fact)
                continue
        out.append(Entry(fact.category, fact.section, None, [fact]))
    return out


def entries_table(resume: Resume) -> str:
    """A plain-text table of the structured entries (category, organization, title/degree,
    dates, bullets) with a warning line per entry missing an organization or dates."""
    rows = [("category", "organization", "title / degree", "dates", "bullets")]
    warnings = []
    for e in entries(resume):
        if e.category not in _STRUCTURED:
            continue
        f = e.fields
        dates = " – ".join(x for x in (f.get("start_date"), f.get("end_date")) if x) or "-"
        what = f.get("title") or " in ".join(x for x in (f.get("degree"), f.get("area")) if x) or f.get("name") or "-"
        org = f.get("organization") or "-"
        rows.append((e.category, org, what, dates, str(len(e.bullets))))
        if e.problems():
            head = e.header.text if e.header is not None else e.bullets[0].text
            warnings.append(f"WARNING: {e.category} entry {head!r}: {' and '.join(e.problems())}; check the "
                            "extraction, or write it with `preview --json FILE`, correct it and set resume_path")
    widths = [min(40, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    def cell(text: str, width: int) -> str:
        return (text if len(text) <= 40 else text[:39] + "…").ljust(width)

    lines = ["  ".join(cell(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + warnings)


def _dates(f: dict[str, str]) -> dict[str, str]:
    return {k: f[src] for k, src in (("startDate", "start_date"), ("endDate", "end_date")) if f.get(src)}


def to_json_resume(resume: Resume) -> dict[str, Any]:
    """The extracted entries as a JSON Resume document (a dict ready for ``json.dump``)."""
    doc: dict[str, Any] = {"basics": {"name": resume.name or ""}}
    summary: list[str] = []
    lists: dict[str, list] = {}
    for e in entries(resume):
        f = e.fields
        highlights = [b.text for b in e.bullets]
        if e.category in ("work_experience", "military", "leadership") and e.header is not None:
            org_key, role_key = ("organization", "position") if e.category == "leadership" else ("name", "position")
            item = {org_key: f.get("organization", ""), role_key: f.get("title", ""), **_dates(f)}
            if f.get("location"):
                item["location"] = f["location"]
            item["highlights"] = highlights
            key = {"work_experience": "work", "military": "military", "leadership": "volunteer"}[e.category]
            lists.setdefault(key, []).append(item)
        elif e.category == "education" and e.header is not None:
            item = {"institution": f.get("organization", ""), "studyType": f.get("degree", ""),
                    "area": f.get("area", ""), **_dates(f)}
            if f.get("gpa"):
                item["score"] = f["gpa"]
            if f.get("location"):
                item["location"] = f["location"]
            item["highlights"] = highlights
            lists.setdefault("education", []).append(item)
        elif e.category == "projects" and e.header is not None:
            item = {"name": f.get("name", ""), **_dates(f), "highlights": highlights}
            if f.get("organization"):
                item["entity"] = f["organization"]
            if f.get("title"):
                item["roles"] = [f["title"]]
            lists.setdefault("projects", []).append(item)
        else:
            for fact in ([e.header] if e.header is not None else []) + e.bullets:
                if fact.category == "technical_skills":
                    lists.setdefault("skills", []).append({"name": fact.text})
                elif fact.category == "achievements":
                    lists.setdefault("awards", []).append({"title": fact.text})
                elif fact.category == "recommendations":
                    m = _QUOTE.match(fact.text)
                    lists.setdefault("references", []).append(
                        {"name": m["who"], "reference": m["quote"]} if m else {"reference": fact.text})
                else:
                    summary.append(fact.text)
    if summary:
        doc["basics"]["summary"] = "\n".join(summary)
    for key in ("work", "military", "volunteer", "education", "projects", "awards", "skills", "references"):
        if key in lists:
            doc[key] = lists[key]
    return doc


def check_json_target(path: Path) -> None:
    """Refuse, before any work, a ``--json`` target that is a folder or whose folder cannot be
    made or written (the same checks :func:`write_json_resume` makes when it writes).

    Raises:
        ResumeError: the message names the path and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise ResumeError(f"{path} is a folder; pass a file name for the JSON Resume, e.g. {path / 'resume.json'}")
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ResumeError(f"cannot write {path} ({parent} is not a writable folder); pass a writable path to --json")


def write_json_resume(resume: Resume, path: Path) -> Path:
    """Write :func:`to_json_resume` to ``path`` (a temporary file, then a rename).

    Raises:
        ResumeError: ``path`` is a folder or cannot be written (the message names it).
    """
    path = Path(path)
    if path.is_dir():
        raise ResumeError(f"{path} is a folder; pass a file name for the JSON Resume, e.g. {path / 'resume.json'}")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(to_json_resume(resume), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ResumeError(f"cannot write {path} ({exc.strerror or exc}); pass a writable path to --json") from exc
    return path


def _count_tokens(cfg: Config, text: str) -> tuple[int, str]:
    """(token count, how it was counted) with :func:`pipeline.embedded.token_counter`, the
    counter the dataset's length limits use, so preview and the filters never disagree."""
    name, count = token_counter(cfg)
    how = (f"base tokenizer of {cfg.model.base}" if name.startswith("tokenizer:")
           else f"estimate: 1.3 per word plus punctuation (no local tokenizer for {cfg.model.base})")
    return count(text), how


def format_preview(cfg: Config, resume: Resume) -> str:
    """Facts grouped per section, a token count of ``resume.text``, and a warning line when it
    exceeds ``cfg.validation.context_token_warn``. Returns the text to print."""
    out = [f"resume: {resume.source} ({resume.format})", f"name: {resume.name or '(not found)'}",
           f"facts: {len(resume.facts)}"]
    if resume.skipped_sections:
        out.append("skipped (not about the person): " + ", ".join(resume.skipped_sections))
    out += ["", "entries:", entries_table(resume)]
    groups: dict[tuple[str, str], list[Fact]] = {}
    for fact in resume.facts:
        groups.setdefault((fact.section, fact.category), []).append(fact)
    for (section, category), facts in groups.items():
        out.append(f"\n## {section}  [{category}, {len(facts)} facts]")
        for f in facts:
            extra = ", ".join(f"{k}={v}" for k, v in f.fields.items() if k != "summary")
            out.append(f"  {f.id}: {f.text}" + (f"\n      {{{extra}}}" if extra else ""))
    missing = [c for c in CATEGORIES if not any(f.category == c for f in resume.facts)]
    if missing:
        out.append(f"\ncategories without facts: {', '.join(missing)}")
    tokens, how = _count_tokens(cfg, resume.text)
    limit = cfg.validation.context_token_warn
    out.append(f"\ncontext: {tokens} tokens ({how}); warn above {limit}")
    if tokens > limit:
        out.append(f"WARNING: the resume text is {tokens} tokens, over validation.context_token_warn={limit}; "
                   "shorten the resume or raise the knob")
    return "\n".join(out)
