"""Flat sections: one text per item (a bullet, a paragraph, a label with its value); publications.

Part of :mod:`pipeline.resume.layout` (imports :mod:`.dates`, :mod:`.words`, :mod:`.parse`):
:func:`_flat_items`, :func:`publication_items`. Tested by
``pytest tests/test_layout_reader.py -k publication``.
"""

from __future__ import annotations

import re

from pipeline.resume import formats as rf
from pipeline.resume.layout.dates import _DATE, parse_range
from pipeline.resume.layout.parse import (
    Parsed,
    _close_below,
    _full,
    _join,
    _wraps_to_margin,
    parse_line,
    segments,
)
from pipeline.resume.layout.words import _DASH_BULLETS, Line, join_words
from pipeline.resume.pii import find_pii

_NUMBERED = re.compile(r"^\(?\d{1,2}[.)]\s")  # "1. ...", "(2) ..." list items
_LABEL = re.compile(r"^[A-Z][^:.;]{0,40}:\s")


def _flat_items(lines: list[Line]) -> list[str]:
    """One text per item of a flat section: a bullet with its continuation lines, a paragraph
    re-joined from its wrapped lines, a label with its value ("Languages: Python, Go")."""
    items: list[list] = []  # [text, last Parsed, text x of the item, bullet]
    pending_label: Parsed | None = None
    for ln in lines:
        p = parse_line(ln)
        text = rf.clean_chars(join_words([w for w in ln.words if not (w.glyph and w is ln.words[0])]))[0].strip()
        if not text:
            continue
        if p.label:
            text = f"{p.label}: {text}" if not p.label.endswith(":") else f"{p.label} {text}"
        elif ln.margin and p.dates:  # a date in the margin column beside the item ("2021 | AWS Certified ...")
            text = f"{text} ({ln.margin.strip()})"
        if pending_label is not None:
            lab = pending_label
            pending_label = None
            if p.x0 > lab.x1 and 0 <= ln.top - lab.line.bottom <= 0.8 * ln.size and not p.bullet:
                items[-1][0] = f"{items[-1][0].rstrip(':')}: {text}"
                items[-1][1], items[-1][2] = p, p.x0
                continue
        if items and p.bullet and _dash_continues(ln, p, items[-1]):
            items[-1][0] = _join(items[-1][0], text)  # "— Daniel Hoffmann, VP" under a quote
            items[-1][1] = p
            continue
        if items and not p.bullet and not _NUMBERED.match(text) and not _new_quote(text, items[-1][0]):
            prev = items[-1][1]
            aligned = abs(p.x0 - items[-1][2]) <= 2.5 or (not items[-1][3] and abs(p.x0 - prev.x0) <= 2.5) \
                or items[-1][3] and _wraps_to_margin(prev, p)
            wrapped = items[-1][3] or _full(prev) or text[:1].islower() or items[-1][0].endswith(("-", "‑"))
            labelled = _LABEL.match(text) and _LABEL.match(items[-1][0])  # "Label: ..." items in a row
            if aligned and wrapped and not labelled and _close_below(prev, p) and p.line.style[1] == prev.line.style[1] \
                    and not find_pii(text):
                items[-1][0] = _join(items[-1][0], text)
                items[-1][1] = p
                continue
        items.append([text, p, p.x0, p.bullet])
        if not p.bullet and len(text.split()) <= 4 and not _full(p) and not re.search(r"[.!?]$", text):
            pending_label = p
    return [it[0] for it in items]


def _dash_continues(ln: Line, p: Parsed, item: list) -> bool:
    """A line opening with a dash (taken for a bullet glyph) that continues the bullet item
    above: the dash stands where that item's text starts (not where its glyph is), just below
    it, as an attribution under a quote ("• “Maya is …”" / "— Daniel Hoffmann, VP Engineering")."""
    first = ln.words[0]
    return (item[3] and not first.glyph and first.text in _DASH_BULLETS and abs(first.x0 - item[2]) <= 2.5
            and _close_below(item[1], p))


def _new_quote(text: str, item: str) -> bool:
    """``text`` opens a quotation and the item above already holds a whole one: a new
    recommendation, not the wrapped rest of the last ("… Northwind" / "“Her ranking work …")."""
    return text.startswith(("“", '"')) and "“" in item and item.count("”") >= item.count("“")


_PUBLICATION_TITLE = re.compile(r"\b(publications?|papers|articles)\b", re.IGNORECASE)
_TERMINAL = re.compile(r"[.!?][\"”’)]?$")


def publication_items(lines: list[Line]) -> list[str]:
    """One text per publication of a publications section, its 2-3 lines (title, authors,
    venue and year) joined. Where items are marked (a bullet glyph, a list number "1." or a
    margin label / date beside the first line), an item runs to the next mark; otherwise a
    line at the item's left edge opens the next item when it is in the style of the section's
    first line (the items' opening line: a bold title, a small year line) or opens with a date
    as that line does, unless it is the wrapped rest of the line above (same style, the line
    above reaching the right edge without ending a sentence). A list number is dropped with
    its bullet glyph; co-authors are dropped later, by :func:`pipeline.resume.ingest.publication_lines`."""
    rows = []
    for ln in lines:
        p = parse_line(ln)
        text = rf.clean_chars(join_words([w for w in ln.words if not (w.glyph and w is ln.words[0])]))[0].strip()
        if not text:
            continue
        numbered = bool(_NUMBERED.match(text))
        if numbered:
            text = _NUMBERED.sub("", text, count=1).strip()
        rows.append((p, text, p.bullet or numbered))
    if not rows:
        return []
    marked = any(m for _, _, m in rows)
    by_margin = not marked and bool(rows[0][0].line.margin)
    opener = rows[0][0].line.style
    mixed = any(p.line.style != opener for p, _, _ in rows)
    dated_open = parse_range(rows[0][1].split()[0]) is not None if rows[0][1].split() else False
    items: list[list] = []  # [text, last Parsed, x0 of the item's first line]
    whens: dict[int, str] = {}  # item index -> the date in the margin column beside it (moderncv)
    for p, text, mark in rows:
        when = p.line.margin.strip() if p.line.margin and p.dates else ""
        if not items:
            items.append([text, p, p.x0])
            if when:
                whens[0] = when
            continue
        prev = items[-1][1]
        if marked:
            new = mark
        elif by_margin:
            new = bool(p.line.margin)
        elif p.x0 > items[-1][2] + 2.5 or p.line.margin:
            new = bool(p.line.margin)
        else:
            same = p.line.style == prev.line.style and len(segments(prev.line.words)) == 1 and \
                not _TERMINAL.search(items[-1][0]) and _close_below(prev, p)
            # wrapped: the line above reaches the right edge, or, where items mix styles, it
            # is in the opening style too and ends neither a sentence nor with a date
            wrapped = same and (_full(prev) or mixed and p.line.style == opener
                                and not re.search(rf"{_DATE}\W*$", items[-1][0], re.IGNORECASE))
            opens = p.line.style == opener or dated_open and parse_range(text.split()[0]) is not None
            new = opens and not wrapped
        if new:
            items.append([text, p, p.x0])
        else:
            items[-1][0] = _join(items[-1][0], text)
            items[-1][1] = p
        if when:
            whens.setdefault(len(items) - 1, when)
    out = [it[0] for it in items]
    for k, when in whens.items():
        year = parse_range(when)[0][:4] if parse_range(when) else ""
        if year and not re.search(rf"\b{year}\b", out[k]):
            out[k] = f"{out[k]} ({when})"
    return out
