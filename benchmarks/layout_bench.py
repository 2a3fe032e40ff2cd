"""Resume structure from PDF layouts: extracted entries against the layout corpus's truth.

Run: ``python benchmarks/layout_bench.py [--only jake] [--details]``

Ingests every PDF of ``data/layouts/pdf/`` (moderncv classic and banking, a Jake's-resume-like
one-column page, AltaCV-like two columns, Awesome-CV-like, a Word export; each for John Doe
and for Maya; the Word layouts' ``.docx`` sources too, as ``<stem>.docx``) plus the two RenderCV PDFs in ``../shared/resumes`` (skipped, with a note, when
that folder is absent), groups the facts into entries with :func:`pipeline.resume.preview.entries`
and matches them with ``data/layouts/truth/*.json`` (written by ``data/layouts/make_sources.py``).

Prints JSON: per layout, ``found`` / ``expected`` entries (and ``extra``: extracted structured
entries that match nothing), the accuracy of ``organization``, ``title`` (the title, "degree in
area" or project name, as ``preview`` shows it), ``start``, ``end`` and ``bullets`` (the bullet
count), ``all_right`` (share of expected entries with every field right), plus the flat
sections (category and item count right), publications (title, venue and year in one fact, no
co-author) and skipped sections. ``--details`` adds every wrong field. ``tests/test_layout_corpus.py``
asserts ``all_right >= 0.95`` on every layout from :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.resume.ingest import Resume, ingest  # noqa: E402
from pipeline.resume.preview import entries  # noqa: E402

LAYOUTS = REPO / "data" / "layouts"
SHARED = REPO.parent / "shared"
FIELDS = ("organization", "title", "start", "end", "bullets")
_STRUCTURED = ("work_experience", "education", "projects", "leadership", "military")


def norm(text: str) -> str:
    """Case, accents kept; dashes, quotes, spaces and end punctuation made uniform."""
    text = unicodedata.normalize("NFC", str(text)).casefold()
    text = re.sub(r"[‐‑‒–—−]", "-", text).replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split()).strip(" .,;:")


def extracted_entries(resume: Resume) -> list[dict]:
    """The structured entries of ``resume`` with the benchmark's field names."""
    out = []
    for e in entries(resume):
        if e.category not in _STRUCTURED:
            continue
        f = e.fields
        title = f.get("title") or " in ".join(x for x in (f.get("degree"), f.get("area")) if x) or f.get("name", "")
        out.append({"category": e.category, "organization": f.get("organization", ""), "title": title,
                    "start": f.get("start_date", ""), "end": f.get("end_date", ""), "bullets": len(e.bullets),
                    "header": e.header.text if e.header is not None else (e.bullets[0].text if e.bullets else "")})
    return out


def _right(field: str, want, got) -> bool:
    return want == got if field == "bullets" else norm(want) == norm(got)


def _score(want: dict, got: dict) -> float:
    """How well an extracted entry matches a truth entry (0: not the same entry)."""
    if want["category"] != got["category"]:
        return 0.0
    words = set(norm(f"{want['organization']} {want['title']}").split())
    have = set(norm(f"{got['organization']} {got['title']} {got['header']}").split())
    overlap = len(words & have) / max(1, len(words))
    if overlap < 0.5:
        return 0.0
    return overlap + sum(_right(k, want[k], got[k]) for k in FIELDS)


def match(truth: list[dict], got: list[dict]) -> list[tuple[dict, dict | None]]:
    """Pair every truth entry with its best extracted entry (greedy, best scores first)."""
    pairs = sorted(((_score(w, g), i, j) for i, w in enumerate(truth) for j, g in enumerate(got)), reverse=True)
    by_truth: dict[int, int] = {}
    used: set[int] = set()
    for score, i, j in pairs:
        if score > 0 and i not in by_truth and j not in used:
            by_truth[i] = j
            used.add(j)
    return [(w, got[by_truth[i]] if i in by_truth else None) for i, w in enumerate(truth)]


def _sections(resume: Resume, truth: dict) -> dict:
    right, wrong = 0, []
    for sec in truth["sections"]:
        facts = [f for f in resume.facts if norm(f.section) == norm(sec["title"])]
        cats = {f.category for f in facts}
        ok = cats == {sec["category"]} and (len(facts) == sec["items"] or sec["category"] == "character")
        right += ok
        if not ok:
            wrong.append(f"{sec['title']}: {len(facts)} facts {sorted(cats)}, want {sec['items']} "
                         f"[{sec['category']}]")
    return {"right": right, "expected": len(truth["sections"]), "wrong": wrong}


def _publications(resume: Resume, truth: dict) -> dict:
    facts = [f for f in resume.facts if re.search(r"publication", f.section, re.IGNORECASE)]
    right, wrong = 0, []
    for pub in truth["publications"]:
        hit = next((f for f in facts if norm(pub["title"]) in norm(f.text)), None)
        ok = (hit is not None and norm(pub["venue"]) in norm(hit.text) and pub["year"] in hit.text
              and not any(norm(a) in norm(hit.text) for a in pub["coauthors"]))
        right += ok
        if not ok:
            wrong.append(f"{pub['title'][:40]}: {hit.text if hit else 'no fact'}")
    extra = len(facts) - len(truth["publications"])
    return {"right": right, "expected": len(truth["publications"]), "extra_facts": max(0, extra), "wrong": wrong}


def evaluate(pdf: Path, truth: dict, details: bool = False) -> dict:
    """Ingest ``pdf`` (a PDF or a .docx) and score it against ``truth`` (one layout's row of the report)."""
    start = time.perf_counter()
    resume = ingest(pdf)
    seconds = time.perf_counter() - start
    got = extracted_entries(resume)
    pairs = match(truth["entries"], got)
    n = len(truth["entries"])
    row: dict = {"found": sum(g is not None for _, g in pairs), "expected": n,
                 "extra": len(got) - sum(g is not None for _, g in pairs)}
    problems = []
    for k in FIELDS:
        row[k] = round(sum(g is not None and _right(k, w[k], g[k]) for w, g in pairs) / n, 3)
    row["all_right"] = round(sum(g is not None and all(_right(k, w[k], g[k]) for k in FIELDS)
                                 for w, g in pairs) / n, 3)
    for w, g in pairs:
        if g is None:
            problems.append(f"missing: {w['category']} {w['organization']} / {w['title']}")
        else:
            bad = [f"{k}={g[k]!r} (want {w[k]!r})" for k in FIELDS if not _right(k, w[k], g[k])]
            if bad:
                problems.append(f"{w['organization'] or w['title']}: " + ", ".join(bad))
    matched = {id(g) for _, g in pairs if g is not None}
    problems += [f"extra: {g['category']} {g['header']!r}" for g in got if id(g) not in matched]
    sections, pubs = _sections(resume, truth), _publications(resume, truth)
    row["sections"] = round(sections["right"] / max(1, sections["expected"]), 3)
    row["publications"] = round(pubs["right"] / pubs["expected"], 3) if pubs["expected"] else None
    row["skipped_right"] = sorted(map(norm, resume.skipped_sections)) == sorted(map(norm, truth["skipped"]))
    row["name_right"] = resume.name == truth["name"]
    row["seconds"] = round(seconds, 2)
    if details:
        row["problems"] = problems + sections["wrong"] + pubs["wrong"]
        if not row["skipped_right"]:
            row["problems"].append(f"skipped {list(resume.skipped_sections)}, want {truth['skipped']}")
        if not row["name_right"]:
            row["problems"].append(f"name {resume.name!r}, want {truth['name']!r}")
    return row


def corpus(only: str | None = None) -> tuple[list[tuple[str, Path, dict]], list[str]]:
    """(name, file, truth) for every truth file (its PDF, and for a Word layout its .docx source
    too, named ``<stem>.docx``), and notes on what was skipped."""
    items, notes = [], []
    for path in sorted((LAYOUTS / "truth").glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        if only and only not in path.stem:
            continue
        if truth.get("root") == "shared":
            pdf = SHARED / truth["pdf"]
            if not SHARED.is_dir():
                notes.append(f"{path.stem}: skipped, {SHARED} is absent")
                continue
        else:
            pdf = LAYOUTS / truth["pdf"]
        items.append((path.stem, pdf, truth))
        if truth["source"].endswith(".docx"):  # a Word layout: its .docx is read too (python-docx)
            items.append((f"{path.stem}.docx", LAYOUTS / truth["source"], truth))
    return items, notes


def run(only: str | None = None, details: bool = False) -> dict:
    """The whole report as a dict (see the module docstring)."""
    items, notes = corpus(only)
    layouts = {name: evaluate(pdf, truth, details) for name, pdf, truth in items}
    rows = list(layouts.values())
    summary = {"layouts": len(rows),
               "min_all_right": min((r["all_right"] for r in rows), default=None),
               "mean_all_right": round(sum(r["all_right"] for r in rows) / len(rows), 3) if rows else None}
    return {"layouts": layouts, "summary": summary, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only truth files whose name contains this")
    parser.add_argument("--details", action="store_true", help="list every wrong field")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.only, args.details), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
