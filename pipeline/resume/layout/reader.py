""":func:`read_pdf`: a PDF resume → ``(name, sections)``, the layout package's stages in order.

Lines in reading order (:mod:`.columns`), headings (:mod:`.headings`), the name line and the
preamble above the first heading, then each section's entries (:mod:`.entries`) or items
(:mod:`.publications`). Run through ``python -m pipeline preview`` on a ``.pdf`` resume;
measured by ``python benchmarks/layout_bench.py``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pipeline.resume import formats as rf
from pipeline.resume.layout.columns import read_lines
from pipeline.resume.layout.entries import _entries
from pipeline.resume.layout.headings import (
    _caps,
    _heading_shaped,
    caps_styles,
    heading_styles,
    stands_as_heading,
)
from pipeline.resume.layout.parse import SEGMENT_GAP_EM, parse_line
from pipeline.resume.layout.publications import _PUBLICATION_TITLE, _flat_items, publication_items
from pipeline.resume.layout.tables import RowLine, row_fields, row_text
from pipeline.resume.layout.words import _ICON_FONT, Line, Word, join_words
from pipeline.resume.pii import find_pii

_STRUCTURED = {"work_experience", "education", "projects", "leadership", "military"}


def read_pdf(path: Path, is_heading: Callable[[str], bool],
             category_of: Callable[[str], str | None]) -> tuple[str | None, list[rf.RawSection]]:
    """Read a PDF resume by its layout → ``(name, sections)`` (see the module docstring).

    ``is_heading(text)`` is the text-only heading rule used when no heading style can be
    learned; ``category_of(title)`` maps a section title to a category (None when unknown).
    Structured sections' entries carry their fields; other sections hold one line per item.

    Raises:
        ResumeError: the text layer is garbage (the message names the file and the fix).
    """
    lines, body_size = read_lines(path)
    lines = [part for ln in lines for part in split_trailing_heading(ln, category_of)]
    styles = heading_styles(lines, body_size, category_of)
    caps = caps_styles(lines, styles, category_of)
    body_style = _body_style(lines)
    name: str | None = None
    sections: list[rf.RawSection] = []
    preamble = rf.RawSection("Profile")
    current: rf.RawSection | None = None
    buf: list[Line] = []

    def close() -> None:
        if current is None:
            return
        cat = category_of(current.title)
        rows = [ln for ln in buf if isinstance(ln, RowLine)]  # rows of a header-row table
        rest = [ln for ln in buf if not isinstance(ln, RowLine)]
        pubs = _PUBLICATION_TITLE.search(current.title)
        if cat in _STRUCTURED:
            current.entries = [rf.RawEntry(fields=f, lines=lines, bullets=bool(lines))
                               for f, lines in (row_fields(r, cat) for r in rows)]
            current.entries += _entries(rest, cat, body_style) if rest else []
        else:
            for text in [row_text(r, bool(pubs)) for r in rows] + (publication_items(rest) if pubs else _flat_items(rest)):
                rf._append_flat(current, text)

    name_line = _name_line(lines, styles, body_size)
    prev_is_name = True  # the line after the name line may hold the rest of the name
    for ln in lines:
        text = ln.text.strip()
        heading = (ln.style in styles and _heading_shaped(text.rstrip(":")) and not ln.margin
                   and stands_as_heading(ln, body_size, caps)) if styles else is_heading(text)
        if heading and not parse_line(ln).bullet:
            close()
            current = rf.RawSection(text.rstrip(":").strip())
            sections.append(current)
            buf = []
            continue
        if current is None:
            if ln is name_line:
                name = _name_of(ln)
                continue
            if name and prev_is_name and _name_continues(name_line, ln):
                name = f"{name} {_name_of(ln)}"  # a name set over two lines ("Camille" / "Fontaine")
                prev_is_name = False
                continue
            if ln is not name_line and (name_line is None or ln.top > name_line.top or ln.page > 0):
                for part in _preamble_texts(ln):
                    rf._append_flat(preamble, part)
            continue
        buf.append(ln)
    close()
    for sec in [s for s in sections if not s.entries and category_of(s.title) is None]:
        sections.remove(sec)
    if preamble.entries:
        sections.insert(0, preamble)
    return name, sections


def split_trailing_heading(line: Line, category_of: Callable[[str], str | None]) -> list[Line]:
    """A section title run on at the end of a line ("Portland, OR 97214 **SKILLS**", a heading
    set without a paragraph break) split off as a line of its own: the trailing words are in
    one font other than the words before, in capitals (or a small-capitals font), and name a
    known section."""
    words = line.words
    if len(words) < 2 or isinstance(line, RowLine):
        return [line]
    k = len(words)
    while k > 1 and words[k - 1].font == words[-1].font:
        k -= 1
    head, tail = words[:k], words[k:]
    text = join_words(tail).rstrip(":")
    small_caps = bool(re.search(r"csc|caps|sc\d", tail[0].font, re.IGNORECASE)) if tail else False
    if not tail or not head or head[-1].font == tail[0].font or not (_caps(text) or small_caps) \
            or not _heading_shaped(text) or category_of(text) is None:
        return [line]
    return [Line(head, line.page, line.margin, line.col), Line(tail, line.page, "", line.col)]


def _body_style(lines: list[Line]) -> tuple[str, float]:
    c: Counter = Counter()
    for ln in lines:
        for w in ln.words:
            if not w.glyph:
                c[w.style] += len(w.text)
    return c.most_common(1)[0][0] if c else ("", 0.0)


def _name_line(lines: list[Line], styles: set, body_size: float) -> Line | None:
    """The line holding the largest text above the first heading on page 1 (the name). A line
    in a heading style that also holds much larger words ("CURRICULUM VITAE" beside the name
    in capitals of the body size) is not that heading."""
    head = []
    for ln in lines:
        if ln.style in styles and max(w.size for w in ln.words) < 1.3 * ln.style[1]:
            break
        head.append(ln)
    cands = [ln for ln in head[:8] if ln.page == 0 and max(w.size for w in ln.words) >= 1.3 * body_size]
    return max(cands, key=lambda ln: max(w.size for w in ln.words), default=None)


def _name_continues(name_line: Line | None, ln: Line) -> bool:
    """``ln`` is the second line of a name set over two lines: the same style and left edge as
    the name line, right below it, one or two capitalised words."""
    if name_line is None or ln.style != name_line.style or ln.page != name_line.page:
        return False
    words = ln.text.split()
    return (abs(ln.x0 - name_line.x0) <= 2 and 0 <= ln.top - name_line.bottom <= 0.8 * ln.size
            and 1 <= len(words) <= 2 and all(re.fullmatch(r"[A-ZÀ-Þ][\w'’.-]*", w) for w in words))


def _name_of(line: Line) -> str | None:
    """The name from its line: the largest words only, up to a separator ("John Doe | CTO")."""
    top = max(w.size for w in line.words)
    text = rf.clean_chars(join_words([w for w in line.words if w.size >= 0.9 * top]))[0]
    part = re.split(r"\s+[|·•—–,]\s+|\s*\|\s*", text)[0].strip()
    return " ".join(part.split()) or None


def _preamble_texts(line: Line) -> list[str]:
    """The parts of a line above the first heading worth keeping (a headline, a location):
    segments that hold no PII and follow no icon (icon-decorated contact items are dropped)."""
    out = []
    prev_icon = False
    part: list[Word] = []

    def flush() -> None:
        text = rf.clean_chars(join_words(part))[0].strip(" |·•,")
        if text and not prev_icon and not find_pii(text):
            out.append(" ".join(text.split()))

    for i, w in enumerate(line.words):
        gap = i > 0 and w.x0 - line.words[i - 1].x1 > SEGMENT_GAP_EM * w.size
        if w.glyph or gap:
            if part:
                flush()
            part = []
            prev_icon = w.glyph and bool(_ICON_FONT.search(w.font) or unicodedata.category(w.text[:1]) == "Co"
                                         or w.text.startswith("(cid:"))
            if not w.glyph:
                part = [w]
            continue
        part.append(w)
    if part:
        flush()
    return out
