"""One line taken apart (:class:`Parsed`): bullet glyph, text, dates, location, margin label.

Part of :mod:`pipeline.resume.layout` (imports :mod:`.dates`, :mod:`.words`): a line is cut
into segments at wide gaps and icons (:func:`segments`), its meta segments (dates, location,
durations) are read (:func:`parse_line`), and two parsed lines are compared for continuation
(:func:`_full`, :func:`_close_below`, :func:`_join`). Tested by
``pytest tests/test_layout_reader.py -k "meta_line or location or split_off"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.resume import formats as rf
from pipeline.resume.layout.dates import _DURATION, _LOCATION, RANGE, is_date_range, parse_range
from pipeline.resume.layout.words import _DASH_BULLETS, Line, Word, join_words

SEGMENT_GAP_EM = 1.2  # a gap wider than this splits a line into segments (a right-aligned date)


@dataclass
class Parsed:
    """A line taken apart: ``bullet`` (starts with a bullet glyph), ``words`` (its text words,
    without the glyph and the meta segments), ``dates`` / ``location`` (from its meta segments
    and margin), ``label`` (a margin text that is not a date), ``meta_only`` (nothing else)."""

    line: Line
    bullet: bool = False
    words: list[Word] = field(default_factory=list)
    dates: tuple[str, str] | None = None
    location: str = ""
    label: str = ""
    meta_only: bool = False

    @property
    def text(self) -> str:
        return join_words(self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0 if self.words else self.line.x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words) if self.words else self.line.x1


def segments(words: list[Word]) -> list[list[Word]]:
    """Split a line's words at gaps wider than :data:`SEGMENT_GAP_EM` em and at icon glyphs
    (the icons are dropped)."""
    segs: list[list[Word]] = [[]]
    prev: Word | None = None
    for w in words:
        if w.glyph and prev is not None:
            segs.append([])
            prev = None
            continue
        if prev is not None and w.x0 - prev.x1 > SEGMENT_GAP_EM * max(prev.size, w.size):
            segs.append([])
        segs[-1].append(w)
        prev = w
    return [s for s in segs if s]


def parse_line(line: Line) -> Parsed:
    """Take a line apart into bullet glyph, text words and meta segments (dates, location,
    durations); see :class:`Parsed`."""
    p = Parsed(line)
    words = list(line.words)
    lead_glyph = bool(words) and (words[0].glyph or words[0].text in _DASH_BULLETS and len(words) > 1
                                  and words[1].x0 - words[0].x1 > 0.15 * words[0].size)
    if lead_glyph:
        words = words[1:]
    elif words and len(words[0].text) > 1 and words[0].text[0] in "•◦▪●○■➢➤✓✔∙":
        w = words[0]
        words = [Word(w.text[1:], w.x0 + w.size * 0.5, w.x1, w.top, w.bottom, w.size, w.font)] + words[1:]
        lead_glyph = True
    if line.margin:
        r = parse_range(line.margin) if is_date_range(line.margin) else None
        if r:
            p.dates = r
        else:
            p.label = line.margin
    kept: list[Word] = []
    seg_date = False
    segs = segments(words)
    pieces = [join_words(x) for seg in segs for x in _split_at(seg, _INLINE_SEP)]
    if any(is_date_range(t) for t in pieces) and all(
            is_date_range(t) or _DURATION.match(t) or _LOCATION.match(t) or _lone_place(t, pieces, words)
            for t in pieces):
        for t in pieces:  # a meta line: "Gothenburg, Sweden · 2021-03 – present", "Mar 2021 – Present · Grenoble"
            if is_date_range(t):
                p.dates = p.dates or parse_range(t)
            elif not _DURATION.match(t):
                p.location = p.location or t
        segs = []
    for i, seg in enumerate(segs):
        dated, seg = _separated_range(seg)
        if dated:
            p.dates = p.dates or dated
            seg_date = True
        if i == 0 and not lead_glyph:
            lead, seg = leading_range(seg)
            if lead:
                p.dates = p.dates or lead
                seg_date = True
        trail, seg = trailing_paren_range(seg)
        if not trail:
            trail, seg = trailing_range_after_font_change(seg)
        if trail:
            p.dates = p.dates or trail
            seg_date = True
        text = join_words(seg)
        right = seg[0].x0 > (line.col[0] + line.col[1]) / 2  # a location is printed on the right
        if is_date_range(text):
            p.dates = p.dates or parse_range(text)
            seg_date = True
        elif _DURATION.match(text):
            pass
        elif (i > 0 and right or seg_date and not kept) and _LOCATION.match(text.strip(" ,·|")):
            p.location = p.location or text.strip(" ,·|")
        elif i > 0 and right and kept and _looks_like_place(text):
            p.location = p.location or text
        else:
            kept.extend(seg)
    p.words = [w for w in kept if not w.glyph]
    p.meta_only = not p.words and (p.dates is not None or bool(p.location))
    p.bullet = lead_glyph and not p.meta_only and bool(p.words)
    return p


_INLINE_SEP = {"·", "|", "•", "◦", "∙"}
_LEAD_SEPS = {"|", "·", "—", "–", "-", "•"}  # after a date that opens a header line (not ":", "July 2023: Authors")


def leading_range(seg: list[Word]) -> tuple[tuple[str, str] | None, list[Word]]:
    """A full date range (start and end) that opens a segment with more words after it, split
    off: "March 2021 – present Staff Engineer, Org" → (("2021-03", "present"), [Staff, ...]);
    ``(None, seg)`` when the segment does not open with one. A lone year is left in place
    ("2021 NeuralPrune"), as it may be part of a name or a publication line, unless a separator
    follows it ("2016 | Research Intern at Lab" → (("2016", ""), [Research, ...]))."""
    for k in range(len(seg) - 1, 0, -1):
        text = join_words(seg[:k])
        r = parse_range(text) if is_date_range(text) else None
        if r and r[1] and not re.search(r"[-–—‐‑‒−~]$", text.strip()):
            return r, seg[k:]
        if r and k + 1 < len(seg) and seg[k].text in _LEAD_SEPS:  # "2016 | Research Intern at ..."
            return r, seg[k + 1:]
    return None, seg


_PAREN_RANGE = re.compile(rf"^\(\s*(?:{RANGE.pattern})\s*\)[.,;:]?$", re.IGNORECASE)


def trailing_paren_range(seg: list[Word]) -> tuple[tuple[str, str] | None, list[Word]]:
    """A date range in parentheses that closes a segment with words before it, split off:
    "Staff Engineer (March 2021 – Present)" → (("2021-03", "present"), [Staff, Engineer]);
    ``(None, seg)`` when the segment does not end with one. Only the whole parenthesis counts,
    so "Best Paper (NeurIPS 2023)" keeps its words."""
    for k in range(1, len(seg)):
        if not seg[k].text.startswith("("):
            continue
        text = join_words(seg[k:])
        if _PAREN_RANGE.match(text):
            r = parse_range(text)
            if r:
                return r, seg[:k]
    return None, seg


def _separated_range(seg: list[Word]) -> tuple[tuple[str, str] | None, list[Word]]:
    """A full date range between "·"/"|" separators and the segment's end, split off with its
    separator: "Lakeshore Coffee Roasters · Mississauga · Jun 2018 – Feb 2021" → (("2018-06",
    "2021-02"), [Lakeshore, Coffee, Roasters, ·, Mississauga])."""
    cuts = [k for k, w in enumerate(seg) if w.text in _INLINE_SEP]
    if not cuts:
        return None, seg
    k = cuts[-1]
    text = join_words(seg[k + 1:])
    r = parse_range(text) if text and is_date_range(text) else None
    if r and r[1] and k > 0:
        return r, seg[:k]
    return None, seg


def trailing_range_after_font_change(seg: list[Word]) -> tuple[tuple[str, str] | None, list[Word]]:
    """A full date range closing a segment in another type than the words before it, split off:
    "*Data Engineer* September 2018 – February 2021" (italic title, small grey dates, a few
    spaces apart) → (("2018-09", "2021-02"), [Data, Engineer]); ``(None, seg)`` otherwise."""
    for k in range(1, len(seg)):
        if seg[k].style == seg[k - 1].style:
            continue
        text = join_words(seg[k:])
        r = parse_range(text) if is_date_range(text) else None
        if r and r[1]:
            return r, seg[:k]
    return None, seg


def _split_at(words: list[Word], seps: set[str]) -> list[list[Word]]:
    out: list[list[Word]] = [[]]
    for w in words:
        if w.text in seps:
            out.append([])
        else:
            out[-1].append(w)
    return [x for x in out if x]


def _lone_place(text: str, pieces: list[str], words: list[Word]) -> bool:
    """A city without its region after a date in a "·"/"|" meta line ("Mar 2021 – Present ·
    Grenoble"): one or two capitalised words with no title or organisation word, in a line that
    uses such a separator."""
    if not (len(pieces) > 1 and any(w.text in _INLINE_SEP for w in words) and len(text.split()) <= 2
            and _looks_like_place(text) and rf._role_score(text) == (0, 0)):
        return False
    k = pieces.index(text)  # next to the date: "Company · City · dates" keeps its company
    return any(is_date_range(pieces[j]) for j in (k - 1, k + 1) if 0 <= j < len(pieces))


def _looks_like_place(text: str) -> bool:
    return bool(re.fullmatch(r"[A-ZÀ-Þ][\w.'’-]+(?: [A-ZÀ-Þ][\w.'’-]+){0,2}", text)) and len(text) < 30


def _last_row(words: list[Word]) -> list[Word]:
    """The words of the last visual line of ``words`` (lines joined by :func:`join_wrapped`
    start again left of the word before)."""
    start = max((i for i in range(1, len(words)) if words[i].x0 < words[i - 1].x0), default=0)
    return words[start:]


def _full(p: Parsed) -> bool:
    """The line (its last visual line) reaches near its column's right edge, so the next may
    continue it: within 3 em or 8% of the column width, but never more than 15% of a narrow column."""
    left, right = p.line.col
    x1 = max(w.x1 for w in _last_row(p.words)) if p.words else p.x1
    return x1 >= right - min(max(3 * p.line.size, 0.08 * (right - left)), 0.15 * (right - left))


def _wraps_to_margin(prev: Parsed, p: Parsed) -> bool:
    """``p`` is the wrapped rest of bullet line ``prev`` set without a hanging indent (a typed
    "•<tab>" bullet in a Word export): it starts where ``prev``'s line starts (the glyph), in
    the same style, and it continues a sentence (``prev`` ends without a full stop and ``p``
    starts in lower case or ``prev`` fills three quarters of the column) or its first word would
    not have fitted at the end of ``prev``."""
    if not p.words or abs(p.line.x0 - prev.line.x0) > 2.5 or p.line.style != prev.line.style:
        return False
    first = p.words[0]
    left, right = prev.line.col
    if not re.search(r"[.!?]$", prev.text) and (first.text[:1].islower()
                                               or prev.line.x1 - left >= 0.75 * (right - left)):
        return True  # a sentence running on (the paragraph may wrap short of the column's edge)
    return prev.line.x1 + 0.3 * prev.line.size + (first.x1 - first.x0) > prev.line.col[1] - 1


def _close_below(prev: Parsed, p: Parsed) -> bool:
    return p.line.page == prev.line.page and 0 <= p.line.top - prev.line.bottom <= 0.8 * p.line.size \
        or p.line.page != prev.line.page


def _join(a: str, b: str) -> str:
    if re.search(r"[A-Za-z][-‑]$", a) and b[:1].islower():
        return a[:-1] + b
    if a.endswith(("-", "‑", "/")):
        return a + b
    return f"{a} {b}"
