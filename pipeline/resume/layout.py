"""Layout-aware PDF reader for :mod:`pipeline.resume.ingest`: word boxes → lines → sections → entries.

Run through ``python -m pipeline preview`` on a ``.pdf`` resume; measured by
``python benchmarks/layout_bench.py``; tested by ``pytest tests/test_layout_reader.py``.

pypdf's plain text loses what a resume's layout says: which words share a line, which column
a date sits in, which part of a header is bold. This reader takes pdfplumber's word boxes
(position, font name, size) and rebuilds that structure with general rules, nothing per
template:

* **words and lines** (:func:`page_words`, :func:`cluster_lines`): characters are split into
  words at gaps wider than 0.11 em (TeX PDFs carry no space characters), spacing accents are
  folded into their letter ("o¨" → "ö"), and words are grouped into lines by their vertical
  centre, so a small bullet glyph joins the text it marks.
* **columns** (:func:`find_columns`): a vertical gutter that no word crosses either splits the
  page into two independent columns (AltaCV-like: each column is read on its own, across
  pages) or, when it is near the left edge with right-aligned or clearly separated short
  fragments on its left, marks a *margin column* (moderncv's dates and labels), whose blocks
  are attached to the body line they sit beside; a capitals line there with no body line beside
  it is a section title of its own (:func:`margin_heading`). A table's narrow date cell (a Word table:
  "Sept 2018 – May" / "2023" left of the header) is found per line instead
  (:func:`split_date_cells`: first segments left of a second segment starting at one shared x,
  wrapped fragments joined) and moved to the line's margin too.
* **sections** (:func:`heading_styles`): a section heading is a short line in the heading
  style, learned from the lines whose text names a known section ("Experience", "EDUCATION")
  and that stand out (larger, bold, capitals or small capitals); any other short line in that
  style is a heading too ("Welcome to RenderCV"). When that style is the body size (bold body
  text, which entry headers use too), a line also needs one segment and, when the known headings
  are capitals, capitals (:func:`stands_as_heading`).
* **entries**: a structured section (experience, education, projects, leadership, military)
  is cut into entries at header lines: a line with a date range anywhere (left margin,
  right-aligned, inline, opening the line, after an icon) or a location on the right, or in a
  font other than the body text's. Header and meta lines wrapped in a narrow column are joined
  first (:func:`join_wrapped`), and a header broken mid-phrase continues into the next line
  whatever its font (:func:`continues_header`). One to three header lines form an entry's header; bullets are lines that
  start with a bullet glyph (or an icon-font / private-use / ``(cid:N)`` glyph), continued by
  lines aligned with their text. Title and organisation come from font runs and separators
  ("Title, Org", "Org — Title", two lines), a trailing "City, Region" being the location; which slot holds the title is decided once per
  document by a vote over every entry (job-title words against organisation words), so one
  layout reads the same way for every entry. A date / location-only line opens an entry and the
  next line completes its header while the entry has no title. Label / value rows of a label
  column ("Dates", "Position", "Employer", "Qualification", "Institution") are the fields of one
  entry (:func:`label_field`).
* **publications** (:func:`publication_items`): a paper's title, authors and venue lines are
  joined into one item (to the next bullet, number or margin date, or to the next line in the
  first line's style); the owner's author list is dropped in :mod:`pipeline.resume.ingest`.

:func:`read_pdf` returns ``(name, sections)`` like every reader in :mod:`pipeline.resume.formats`,
with each entry's fields (organization, title, degree, area, start_date, end_date, location,
name) set directly. A PDF whose text layer is mostly not letters (private-use or ``(cid:N)``
glyphs from a font without a Unicode map) raises :class:`pipeline.errors.ResumeError`.
Units: PDF points (1/72 inch), origin at the page's top left, ``top`` growing downwards.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ResumeError
from pipeline.resume import formats as rf
from pipeline.resume.pii import find_pii

WORD_GAP_EM = 0.11  # a gap wider than this (in em of the left character) separates two words
SEGMENT_GAP_EM = 1.2  # a gap wider than this splits a line into segments (a right-aligned date)
_STRUCTURED = {"work_experience", "education", "projects", "leadership", "military"}
_WORKLIKE = {"work_experience", "leadership", "military"}

# ---------------------------------------------------------------- dates
_MON = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
        r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_YEAR = r"(?:18|19|20)\d{2}"
_DATE = (rf"(?:{_MON}\s*{_YEAR}|(?:0?[1-9]|1[0-2])\s*/\s*{_YEAR}|{_YEAR}\s*[-/.]\s*(?:0[1-9]|1[0-2])(?![\d])|"
         rf"{_YEAR}|[Pp]resent|PRESENT|[Cc]urrent|CURRENT|[Nn]ow|[Oo]ngoing|[Tt]oday)")
_DASH = r"\s*(?:[-–—‐‑‒−~]+|\bto\b|\buntil\b)\s*"
RANGE = re.compile(rf"(?<![\w/])(?P<start>{_DATE})(?:{_DASH}(?P<end>{_DATE}))?(?![\w/])", re.IGNORECASE)
_RANGE_ONLY = re.compile(rf"^\W*(?:{RANGE.pattern})\W*$", re.IGNORECASE)
_DURATION = re.compile(r"^\W*(?:\d+\s*(?:years?|yrs?|months?|mos?)\W*)+$", re.IGNORECASE)
_PLACE = r"[A-ZÀ-Þ][\w.'’-]*(?:[ -](?:[A-ZÀ-Þ][\w.'’-]*|de|del|am|upon|on|sur))*"
_LOCATION_RE = re.compile(rf"^(?:{_PLACE},\s*{_PLACE}|Remote|REMOTE)$")


class _Location:
    """"City, Region" (capitalised words, a comma) that holds no job-title or organisation word."""

    @staticmethod
    def match(text: str) -> bool:
        return bool(_LOCATION_RE.match(text.strip())) and rf._role_score(text) == (0, 0) and len(text) <= 60


_LOCATION = _Location()
_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12}


def norm_date(text: str) -> str:
    """One printed date → "YYYY-MM", "YYYY" or "present" ("Sept 2018", "03/2021", "2021-03",
    "Mar.2021", "Present"); the input stripped when it is none of these."""
    t = text.strip().rstrip(".").strip()
    if re.fullmatch(r"present|current|now|ongoing|today", t, re.IGNORECASE):
        return "present"
    m = re.fullmatch(rf"({_YEAR})\s*[-/.]\s*(\d{{2}})", t)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(rf"(\d{{1,2}})\s*/\s*({_YEAR})", t)
    if m:
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    m = re.fullmatch(rf"([A-Za-z]+)\.?\s*({_YEAR})", t)
    if m and m.group(1)[:3].lower() in _MONTHS:
        return f"{m.group(2)}-{_MONTHS[m.group(1)[:3].lower()]:02d}"
    return t


def parse_range(text: str) -> tuple[str, str] | None:
    """``(start, end)`` of the first date range in ``text`` ("Mar 2021 – Present" →
    ("2021-03", "present"); "2022" → ("2022", "")), or None when it holds no date."""
    for m in RANGE.finditer(text):
        start = norm_date(m.group("start"))
        if start == "present" and not m.group("end"):
            continue  # a lone "now" / "current" in prose is not a date
        return start, norm_date(m.group("end")) if m.group("end") else ""
    return None


def is_date_range(text: str) -> bool:
    """True when ``text`` is nothing but a date or a date range (punctuation around allowed)."""
    return bool(_RANGE_ONLY.match(text.strip())) and parse_range(text) is not None


# ---------------------------------------------------------------- words
_BULLET_CHARS = set("•◦▪▫▸►‣⁃●○■□➢➤✓✔∙→▹◆◇❖★☆")
_DASH_BULLETS = set("-–—*+·")  # bullets only when they open a line
_ACCENTS = {"¨": "\u0308", "´": "\u0301", "`": "\u0300", "ˆ": "\u0302", "^": "\u0302", "˜": "\u0303",
            "~": "\u0303", "¸": "\u0327", "ˇ": "\u030c", "˘": "\u0306", "˙": "\u0307", "˚": "\u030a",
            "˝": "\u030b", "¯": "\u0304", "˛": "\u0328"}
_ACCENT_AFTER = re.compile(r"([A-Za-zıȷ])([¨´ˆ˜¸ˇ˘˙˚˝¯˛])")
_ACCENT_BEFORE = re.compile(r"(?<![A-Za-z])([¨´ˆ˜ˇ˘˙˚˝¯])([A-Za-z])")
_ICON_FONT = re.compile(r"awesome|icon|symbol|dingbat|wingding|fontello|academicons|marvosym|zapf", re.I)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|cmbx|-bx|bol\b|-bol", re.I)
_ITALIC_FONT = re.compile(r"italic|oblique|obl\b|-obl|-it\b|-it$|cmti|ital", re.I)


@dataclass
class Word:
    """One word box: ``text``, ``x0``/``x1``/``top``/``bottom`` in points, font ``size`` and
    ``font`` (the font name without its subset prefix)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    font: str = ""

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def glyph(self) -> bool:
        """A bullet or icon glyph rather than text (a bullet character, a private-use or
        ``(cid:N)`` character, or anything set in an icon font)."""
        t = self.text
        if re.fullmatch(r"\(cid:\d+\)", t):
            return True
        if _ICON_FONT.search(self.font) and len(t) <= 2:
            return True
        return len(t) == 1 and (t in _BULLET_CHARS or unicodedata.category(t) in ("Co", "So"))

    @property
    def style(self) -> tuple[str, float]:
        return self.font, round(self.size * 2) / 2


def _fold_accents(text: str) -> str:
    text = _ACCENT_AFTER.sub(lambda m: m.group(1).replace("ı", "i") + _ACCENTS[m.group(2)], text)
    text = _ACCENT_BEFORE.sub(lambda m: m.group(2) + _ACCENTS[m.group(1)], text)
    return unicodedata.normalize("NFC", text)


def fold_accent_chars(chars: list[dict]) -> list[dict]:
    """Fold spacing accents (TeX sets "ö" as "o" plus a separate "¨") into the letter under or
    over them: the letter on the same line whose box holds the accent's centre. ``chars`` are
    pdfplumber char dicts (``text``, ``x0``, ``x1``, ``top``, ``bottom``, ``size``); returns a new list."""
    accents = [c for c in chars if c.get("text") in _ACCENTS and c.get("text") not in "^~`"]
    if not accents:
        return chars
    out = [dict(c) for c in chars if c.get("text") not in _ACCENTS or c.get("text") in "^~`"]
    for a in accents:
        cx, cy = (a["x0"] + a["x1"]) / 2, (a["top"] + a["bottom"]) / 2
        near = [c for c in out if c["x0"] - 0.5 <= cx <= c["x1"] + 0.5 and str(c["text"]).isalpha()
                and abs((c["top"] + c["bottom"]) / 2 - cy) <= c["size"] and len(c["text"]) == 1]
        if not near:
            out.append(dict(a))
            continue
        base = min(near, key=lambda c: abs((c["x0"] + c["x1"]) / 2 - cx))
        letter = {"ı": "i", "ȷ": "j"}.get(base["text"], base["text"])
        base["text"] = unicodedata.normalize("NFC", letter + _ACCENTS[a["text"]])
    return out


def page_words(page) -> list[Word]:
    """The words of one pdfplumber page (upright text only), accents folded, ligatures expanded."""
    from pdfplumber.utils import extract_words

    chars = fold_accent_chars(list(page.chars))
    raw = extract_words(chars, x_tolerance_ratio=WORD_GAP_EM, y_tolerance=2, keep_blank_chars=False,
                        use_text_flow=False, extra_attrs=["fontname", "size"])
    out = []
    for w in raw:
        if not w.get("upright", True):
            continue
        text = _fold_accents(w["text"])
        for lig, rep in rf._LIGATURES.items():
            text = text.replace(lig, rep)
        if text.strip():
            out.append(Word(text, float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"]),
                            float(w["size"]), str(w["fontname"]).split("+")[-1]))
    return out


def text_layer_problem(texts: list[str]) -> str | None:
    """Why a text layer is unreadable, or None when it reads as text. ``texts`` are the
    characters (pdfplumber ``char["text"]`` values, "(cid:12)" for unmapped glyphs); it is
    garbage when under half of the non-space characters are letters or digits, or when the
    Latin letters hold almost no vowels (a font whose glyphs map to the wrong letters)."""
    good = bad = vowels = latin = 0
    for t in texts:
        if t.startswith("(cid:") or t == "\ufffd":
            bad += 1
            continue
        for ch in t:
            if ch.isspace():
                continue
            cat = unicodedata.category(ch)
            if cat[0] in "LN":
                good += 1
                if ch.isascii() and ch.isalpha():
                    latin += 1
                    vowels += ch.lower() in "aeiouy"
            elif cat in ("Co", "Cc", "Cn", "Cs"):
                bad += 1
            elif cat[0] not in "PZ":
                bad += 0.5  # symbols: icons are normal in small numbers
    total = good + bad
    if total < 20:
        return None
    if good / total < 0.5:
        return f"only {good / total:.0%} of its {int(total)} characters are letters or digits"
    if latin >= 200 and vowels / latin < 0.15:
        return f"its letters hold {vowels / latin:.0%} vowels (the font maps glyphs to the wrong letters)"
    return None


# ---------------------------------------------------------------- lines
@dataclass
class Line:
    """Words on one visual line of one column: ``words`` left to right, ``page`` (0-based),
    ``margin`` (text of the margin-column block beside it), ``col`` (x0, x1 of its column)."""

    words: list[Word]
    page: int = 0
    margin: str = ""
    col: tuple[float, float] = (0.0, 0.0)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def size(self) -> float:
        sizes = [w.size for w in self.words if not w.glyph] or [w.size for w in self.words]
        return Counter(round(s, 1) for s in sizes).most_common(1)[0][0]

    @property
    def text(self) -> str:
        return join_words(self.words)

    @property
    def style(self) -> tuple[str, float]:
        """The font and size most of its text characters use."""
        c: Counter = Counter()
        for w in self.words:
            if not w.glyph:
                c[w.style] += len(w.text)
        return c.most_common(1)[0][0] if c else self.words[0].style


def join_words(words: list[Word]) -> str:
    """Words of one line as text: a space where the gap is wider than :data:`WORD_GAP_EM`, and
    before a word that starts left of the previous one (a wrapped line joined to the one above)."""
    out = ""
    prev: Word | None = None
    for w in words:
        back = prev is not None and w.x0 < prev.x0
        if prev is not None and (w.x0 - prev.x1 > WORD_GAP_EM * min(prev.size, w.size) or prev.glyph or w.glyph
                                 or back):
            out += " "
        out += w.text
        prev = w
    return " ".join(out.split())


def cluster_lines(words: list[Word]) -> list[list[Word]]:
    """Group words into visual lines by vertical centre (top to bottom, words left to right);
    a word joins a line when its centre is within 0.4 em (of the smaller font) of the line's."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.mid, w.x0)):
        if lines:
            cur = lines[-1]
            mid = sorted(x.mid for x in cur)[len(cur) // 2]
            size = sorted(x.size for x in cur)[len(cur) // 2]
            if abs(w.mid - mid) <= 0.4 * min(size, w.size) + 0.5:
                cur.append(w)
                continue
        lines.append([w])
    return [sorted(ln, key=lambda w: w.x0) for ln in lines]


@dataclass
class Columns:
    """How a page is split: ``kind`` "single", "two" (independent columns) or "margin" (a
    left margin column of dates / labels), and ``gutter`` the x (points) between them."""

    kind: str
    gutter: float = 0.0


def find_columns(words: list[Word], prior: float | None = None) -> Columns:
    """Find a vertical gutter no word crosses (see the module docstring); ``Columns("single")``
    when there is none. ``prior``: the gutter of the previous page when it had two columns
    (a continued column needs less evidence)."""
    text = [w for w in words if not w.glyph]
    if len(text) < 12:
        return Columns("single")
    lo, hi = int(min(w.x0 for w in text)), int(max(w.x1 for w in text)) + 1
    width = hi - lo
    cover = [0] * (width + 1)
    for w in text:
        for x in range(max(lo, int(w.x0) + 1), min(hi, int(w.x1))):
            cover[x - lo] += 1
    tol = len(text) // 100  # a few words may cross a gutter (a contact row above the columns)
    runs, start = [], None
    for i, c in enumerate(cover + [tol + 1]):
        if c <= tol and start is None:
            start = i
        elif c > tol and start is not None:
            runs.append((lo + start, lo + i - 1))
            start = None
    rough = cluster_lines(text)
    for a, b in sorted(runs, key=lambda r: r[0] - r[1]):  # widest first
        g = (a + b) / 2
        left = [w for w in text if w.x1 <= g]
        right = [w for w in text if w.x0 >= g]
        if not left or not right:
            continue
        if prior is not None and a - 3 <= prior <= b + 3 and b - a >= 5:
            lines_right = sum(any(w.x0 >= g for w in ln) for ln in rough)
            if min(len(left), len(right)) >= 0.1 * len(text) and lines_right >= 3:
                return Columns("two", g)
        if lo + 0.3 * width <= g <= lo + 0.7 * width and b - a >= 5:
            if min(len(left), len(right)) < 0.15 * len(text):
                continue
            frags = [max(w.x1 for w in ln if w.x1 <= g) for ln in rough if any(w.x1 <= g for w in ln)]
            near = sum(x >= a - 40 for x in frags)
            lines_right = sum(any(w.x0 >= g for w in ln) for ln in rough)
            if near >= 0.25 * len(frags) and lines_right >= 8 and len(frags) >= 8:
                return Columns("two", g)
            # or: a left-aligned right column of text, not a column of dates and places
            rfrags = [[w for w in ln if w.x0 >= g] for ln in rough]
            rfrags = [f for f in rfrags if f]
            starts = [f[0].x0 for f in rfrags]
            meta = sum(is_date_range(join_words(f)) or _LOCATION.match(join_words(f)) for f in rfrags)
            aligned = sum(x - min(starts) <= 3 for x in starts)
            if len(rfrags) >= 2 and meta <= 0.5 * len(rfrags) and aligned >= 0.6 * len(rfrags):
                return Columns("two", g)
        elif lo + 25 <= g <= lo + 0.35 * width:
            frags = []
            for ln in rough:
                lw = [w for w in ln if w.x1 <= g]
                if lw and any(w.x0 >= g for w in ln) or lw and len(lw) == len(ln):
                    frags.append(max(w.x1 for w in lw))
            starts = sum(1 for ln in rough if any(abs(w.x0 - b) <= 3 for w in ln))
            if len(frags) < 3 or starts < 5:
                continue
            top = max(frags)
            aligned = sum(top - x <= 2 for x in frags) >= 0.6 * len(frags)
            if aligned or b - a >= 8:
                return Columns("margin", g)
    return Columns("single")


def _margin_blocks(lines: list[list[Word]]) -> list[list[list[Word]]]:
    blocks: list[list[list[Word]]] = []
    for ln in lines:
        if blocks:
            prev = blocks[-1][-1]
            size = max(w.size for w in prev)
            if min(w.top for w in ln) - max(w.bottom for w in prev) <= 0.35 * size:
                blocks[-1].append(ln)
                continue
        blocks.append([ln])
    return blocks


def margin_heading(words: list[Word], body: list[Line]) -> bool:
    """Whether a margin-column line is a section title set in the label column (a Europass-style
    CV: "EDUCATION" with a rule beside it): heading-shaped capitals, not a date, and no body
    line beside it. It is read as a line of its own, not as the label of the next row."""
    text = join_words(words)
    top, bottom = min(w.top for w in words), max(w.bottom for w in words)
    if not _caps(text) or not _heading_shaped(text) or parse_range(text) or all(w.glyph for w in words):
        return False
    return not any(ln.top < bottom - 1 and ln.bottom > top + 1 for ln in body)


def page_lines(words: list[Word], page: int, cols: Columns) -> tuple[list[Line], list[Line], list[Line]]:
    """(head, left, right) lines of one page: ``head`` the full-width lines above the columns
    (all lines when the page has one column), ``left`` and ``right`` the two columns' lines
    (``right`` is empty unless ``cols.kind == "two"``). Margin-column blocks are attached to
    the body line beside them as :attr:`Line.margin`."""
    if cols.kind == "single":
        box = (min(w.x0 for w in words), max(w.x1 for w in words)) if words else (0.0, 0.0)
        return [Line(ln, page, col=box) for ln in cluster_lines(words)], [], []
    g = cols.gutter
    rough = sorted(cluster_lines(words), key=lambda ln: min(w.top for w in ln))
    spanning = []  # full-width lines above the columns (name, contact row)
    median = sorted(w.size for w in words)[len(words) // 2] if words else 0.0
    for ln in rough:
        crossing = any(w.x0 < g < w.x1 and not w.glyph or w.size >= 1.6 * median for w in ln)
        if not crossing and any(w.x1 <= g for w in ln) and any(w.x0 >= g for w in ln):
            break  # the first line with both columns side by side
        spanning.append(ln)
    span_ids = {id(w) for ln in spanning for w in ln}
    rest = [w for w in words if id(w) not in span_ids]
    left_w = [w for w in rest if (w.x0 + w.x1) / 2 < g]
    right_w = [w for w in rest if (w.x0 + w.x1) / 2 >= g]
    full_box = (min(w.x0 for w in words), max(w.x1 for w in words))
    head = [Line(ln, page, col=full_box) for ln in spanning]
    body_rough = rough[len(spanning):]
    crossing = [any(w.x0 < g < w.x1 and not w.glyph for w in ln) for ln in body_rough]
    last_right = max((i for i, ln in enumerate(body_rough) if not crossing[i] and any(w.x0 >= g for w in ln)),
                     default=-1)
    first_cross = next((i for i in range(last_right + 1, len(body_rough)) if crossing[i]), None)
    tail_rough: list[list[Word]] = []
    if first_cross is not None:  # a full-width band below the columns, with the heading above it
        start = first_cross
        while start - 1 > last_right and max(w.size for w in body_rough[start - 1]) >= 1.2 * median:
            start -= 1
        tail_rough = body_rough[start:]
    tail_ids = {id(w) for ln in tail_rough for w in ln}  # a full-width band below the columns
    tail = [Line(ln, page, col=full_box) for ln in tail_rough]
    left_w = [w for w in left_w if id(w) not in tail_ids]
    right_w = [w for w in right_w if id(w) not in tail_ids]
    if cols.kind == "two":
        lbox = (min((w.x0 for w in left_w), default=0.0), max((w.x1 for w in left_w), default=g))
        rbox = (min((w.x0 for w in right_w), default=g), max((w.x1 for w in right_w), default=g))
        left = [Line(ln, page, col=lbox) for ln in cluster_lines(left_w)]
        right = [Line(ln, page, col=rbox) for ln in cluster_lines(right_w)]
        return head, left, right + tail
    body_box = (min((w.x0 for w in right_w), default=g), max((w.x1 for w in right_w), default=g))
    body = [Line(ln, page, col=body_box) for ln in cluster_lines(right_w)]
    margin_lines = []
    for ln in cluster_lines(left_w):
        if margin_heading(ln, body):
            body.append(Line(ln, page, col=body_box))  # a section title in the label column
        else:
            margin_lines.append(ln)
    for block in _margin_blocks(margin_lines):
        text = " ".join(join_words(ln) for ln in block)
        if all(w.glyph for ln in block for w in ln):
            continue
        first_mid = block[0][0].mid
        below = [ln for ln in body if ln.bottom >= first_mid - 2]
        target = min(below or body, key=lambda ln: abs((ln.top + ln.bottom) / 2 - first_mid), default=None)
        if target is None:
            body.append(Line([w for ln in block for w in ln], page, col=body_box))
            continue
        if abs((target.top + target.bottom) / 2 - first_mid) > 2 * target.size and below:
            target = below[0]
        target.margin = f"{target.margin} {text}".strip()
    body.sort(key=lambda ln: ln.top)
    return head, sorted(body + tail, key=lambda ln: ln.top), []


def read_lines(path: Path) -> tuple[list[Line], float]:
    """All lines of the PDF in reading order, and the body text size (points).

    Two-column pages are read column by column, and consecutive two-column pages as one flow
    per column (page 1 left, page 2 left, page 1 right, page 2 right), as paracol-style
    templates continue each column on the next page.

    Raises:
        ResumeError: the text layer is garbage (see :func:`text_layer_problem`).
    """
    import pdfplumber

    pages_words: list[list[Word]] = []
    chars: list[str] = []
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            chars += [c.get("text", "") for c in page.chars]
            pages_words.append(page_words(page))
    problem = text_layer_problem(chars)
    if problem:
        raise ResumeError(f"{path}: the PDF's text layer is garbage ({problem}), so the resume cannot be read; "
                          "run OCR on it (e.g. ocrmypdf --force-ocr), export it again with a real text layer "
                          "(fonts embedded with Unicode maps), or write a JSON Resume and point resume_path at it")
    sizes: Counter = Counter()
    for ws in pages_words:
        for w in ws:
            if not w.glyph:
                sizes[round(w.size, 1)] += len(w.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 10.0
    ordered: list[Line] = []
    run: list[tuple[list[Line], list[Line], list[Line]]] = []
    run_gutter = None

    def flush() -> None:
        nonlocal run
        if run:
            ordered.extend(run[0][0])
        for i, (head, left, _right) in enumerate(run):
            ordered.extend((head if i else []) + left)
        for _head, _left, right in run:
            ordered.extend(right)
        run = []

    for i, words in enumerate(pages_words):
        if not words:
            continue
        cols = find_columns(words, run_gutter)
        parts = page_lines(words, i, cols)
        if cols.kind == "two" and (run_gutter is None or abs(cols.gutter - run_gutter) <= 15):
            run.append(parts)
            run_gutter = cols.gutter
            continue
        flush()
        run_gutter = None
        if cols.kind == "two":
            run.append(parts)
            run_gutter = cols.gutter
            continue
        ordered.extend(parts[0] + parts[1])
    flush()
    return _drop_furniture(split_date_cells(ordered)), body_size


def _open_date(text: str) -> bool:
    """A date cut short by a line break: it ends with a dash or a month name ("Sept 2018 – May")."""
    return bool(re.search(rf"(?:[-–—‐‑‒−]|\b{_MON})\s*$", text.strip(), re.IGNORECASE))


def split_date_cells(lines: list[Line]) -> list[Line]:
    """Find a table's narrow date cell beside the text (a Word table: "Sept 2018 – May" /
    "2023" on the left, the header from a common x on the right) and move it to
    :attr:`Line.margin`. Candidates are lines whose second segment starts at one x shared by
    three or more lines; a cell wrapped over two lines is joined when the first part is cut
    short (:func:`_open_date`) and the joined text is a date range. Applied when two or more
    such cells are date ranges, to those cells only."""
    cand = {}
    for i, ln in enumerate(lines):
        segs = segments(ln.words)
        if not ln.margin and len(segs) >= 2 and not segs[0][0].glyph:
            cand[i] = segs
    xs = Counter(round(segs[1][0].x0) for segs in cand.values())
    for x, n in xs.most_common():
        if n < 3:
            break
        rows = [i for i, segs in cand.items() if abs(segs[1][0].x0 - x) <= 1.5]
        blocks: list[list[int]] = []
        for i in rows:
            if blocks and blocks[-1][-1] == i - 1 and _open_date(_cell_text(cand, blocks[-1])) \
                    and is_date_range(_cell_text(cand, blocks[-1] + [i])):
                blocks[-1].append(i)
            else:
                blocks.append([i])
        dated = [b for b in blocks if is_date_range(_cell_text(cand, b)) and parse_range(_cell_text(cand, b))]
        if len(dated) < 2:
            continue
        out = list(lines)
        for b in dated:
            for k, i in enumerate(b):
                rest = [w for seg in cand[i][1:] for w in seg]
                out[i] = Line(rest, lines[i].page, _cell_text(cand, b) if k == 0 else "", lines[i].col)
        return out
    return lines


def _cell_text(cand: dict, block: list[int]) -> str:
    return " ".join(join_words(cand[i][0]) for i in block)


def _drop_furniture(lines: list[Line]) -> list[Line]:
    """Drop "Page N of M", "Last updated ..." and lines repeated at page edges."""
    def key(ln: Line) -> str:
        return re.sub(r"\d+", "#", ln.text.lower())

    by_page: dict[int, list[Line]] = defaultdict(list)
    for ln in lines:
        by_page[ln.page].append(ln)
    edges: Counter = Counter()
    for page_lines_ in by_page.values():
        srt = sorted(page_lines_, key=lambda ln: ln.top)
        edges.update({key(ln) for ln in srt[:2] + srt[-2:]})
    repeated = {k for k, n in edges.items() if n >= 2} if len(by_page) > 1 else set()
    out = []
    for ln in lines:
        srt = sorted(by_page[ln.page], key=lambda x: x.top)
        at_edge = ln in srt[:2] or ln in srt[-2:]
        text = ln.text
        repeated_edge = at_edge and key(ln) in repeated and not is_date_range(text)
        if rf._PAGE_LINE.match(text) or rf._META_LINE.match(text) or repeated_edge:
            continue
        out.append(ln)
    return out


# ---------------------------------------------------------------- line analysis
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
            is_date_range(t) or _DURATION.match(t) or _LOCATION.match(t) for t in pieces):
        for t in pieces:  # a meta line: "Gothenburg, Sweden · 2021-03 – present"
            if is_date_range(t):
                p.dates = p.dates or parse_range(t)
            elif not _DURATION.match(t):
                p.location = p.location or t
        segs = []
    for i, seg in enumerate(segs):
        if i == 0 and not lead_glyph:
            lead, seg = leading_range(seg)
            if lead:
                p.dates = p.dates or lead
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


def leading_range(seg: list[Word]) -> tuple[tuple[str, str] | None, list[Word]]:
    """A full date range (start and end) that opens a segment with more words after it, split
    off: "March 2021 – present Staff Engineer, Org" → (("2021-03", "present"), [Staff, ...]);
    ``(None, seg)`` when the segment does not open with one. A lone year is left in place
    ("2021 NeuralPrune"), as it may be part of a name or a publication line."""
    for k in range(len(seg) - 1, 0, -1):
        text = join_words(seg[:k])
        r = parse_range(text) if is_date_range(text) else None
        if r and r[1] and not re.search(r"[-–—‐‑‒−~]$", text.strip()):
            return r, seg[k:]
    return None, seg


def _split_at(words: list[Word], seps: set[str]) -> list[list[Word]]:
    out: list[list[Word]] = [[]]
    for w in words:
        if w.text in seps:
            out.append([])
        else:
            out[-1].append(w)
    return [x for x in out if x]


def _looks_like_place(text: str) -> bool:
    return bool(re.fullmatch(r"[A-ZÀ-Þ][\w.'’-]+(?: [A-ZÀ-Þ][\w.'’-]+){0,2}", text)) and len(text) < 30


# ---------------------------------------------------------------- document
def heading_styles(lines: list[Line], body_size: float, category_of: Callable[[str], str | None]) -> set:
    """The (font, size) styles of section headings: those of lines that name a known section
    and stand out (larger than the body text, bold, all capitals or small capitals), kept
    when used by at least two such lines or half as many as the most used one."""
    counts: Counter = Counter()
    for ln in lines:
        text = ln.text.strip().rstrip(":")
        if not _heading_shaped(text) or category_of(text) is None:
            continue
        caps = sum(c.isupper() for c in text) >= 0.8 * sum(c.isalpha() for c in text)
        font = ln.style[0]
        if ln.size >= 1.08 * body_size or caps or _BOLD_FONT.search(font) or re.search(r"csc|caps|sc\d", font, re.I):
            counts[ln.style] += 1
    if not counts:
        return set()
    best = counts.most_common(1)[0][1]
    return {s for s, n in counts.items() if n >= max(2 if best >= 2 else 1, 0.5 * best)}


def _caps(text: str) -> bool:
    """Mostly capitals (or small capitals set as capitals): 80% of the letters."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def caps_styles(lines: list[Line], styles: set, category_of: Callable[[str], str | None]) -> set:
    """The heading styles whose known headings (lines naming a known section) are all in capitals."""
    known: dict = defaultdict(list)
    for ln in lines:
        text = ln.text.strip().rstrip(":")
        if ln.style in styles and _heading_shaped(text) and category_of(text) is not None \
                and len(segments(ln.words)) == 1:
            known[ln.style].append(_caps(text))
    return {s for s, caps in known.items() if caps and all(caps)}


def stands_as_heading(line: Line, body_size: float, caps: set, category_of: Callable[[str], str | None]) -> bool:
    """Whether a short line in a heading style is a heading. A style larger than the body text
    is enough; a body-sized style (bold body text, which entry headers use too: "**Princeton
    University** ⟷ Princeton, NJ") also needs one segment (nothing right-aligned beside it) and
    either a known section name or capitals when the known headings are in capitals."""
    text = line.text.strip().rstrip(":")
    if line.style[1] >= 1.08 * body_size:
        return True
    if len(segments(line.words)) > 1:
        return False
    return category_of(text) is not None or _caps(text) or line.style not in caps


def _heading_shaped(text: str) -> bool:
    words = text.split()
    return (1 <= len(words) <= 6 and len(text) <= 50 and not re.search(r"[@.,;!?]$|\d{3,}", text)
            and text[:1].isupper())


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
        if cat in _STRUCTURED:
            current.entries = _entries(buf, cat, body_style)
        else:
            pubs = _PUBLICATION_TITLE.search(current.title)
            for text in (publication_items(buf) if pubs else _flat_items(buf)):
                rf._append_flat(current, text)

    name_line = _name_line(lines, styles, body_size)
    for ln in lines:
        text = ln.text.strip()
        heading = (ln.style in styles and _heading_shaped(text.rstrip(":")) and not ln.margin
                   and stands_as_heading(ln, body_size, caps, category_of)) if styles else is_heading(text)
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


# ---------------------------------------------------------------- flat sections
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


def _close_below(prev: Parsed, p: Parsed) -> bool:
    return p.line.page == prev.line.page and 0 <= p.line.top - prev.line.bottom <= 0.8 * p.line.size \
        or p.line.page != prev.line.page


def _join(a: str, b: str) -> str:
    if re.search(r"[A-Za-z][-‑]$", a) and b[:1].islower():
        return a[:-1] + b
    if a.endswith(("-", "‑", "/")):
        return a + b
    return f"{a} {b}"


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
        if pending_label is not None:
            lab = pending_label
            pending_label = None
            if p.x0 > lab.x1 and 0 <= ln.top - lab.line.bottom <= 0.8 * ln.size and not p.bullet:
                items[-1][0] = f"{items[-1][0].rstrip(':')}: {text}"
                items[-1][1], items[-1][2] = p, p.x0
                continue
        if items and not p.bullet and not _NUMBERED.match(text):
            prev = items[-1][1]
            aligned = abs(p.x0 - items[-1][2]) <= 2.5 or (not items[-1][3] and abs(p.x0 - prev.x0) <= 2.5)
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
    for p, text, mark in rows:
        if not items:
            items.append([text, p, p.x0])
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
    return [it[0] for it in items]


# ---------------------------------------------------------------- structured sections
_FIELD_LABELS = (  # a label column's row names → the entry field they hold
    ("dates", re.compile(r"dates?|period|from\s*[-–]\s*to", re.IGNORECASE)),
    ("title", re.compile(r"position|(?:job\s+)?title|role|occupation|function", re.IGNORECASE)),
    ("degree", re.compile(r"degree|qualification|diploma", re.IGNORECASE)),
    ("organization", re.compile(r"employer|organi[sz]ation|company|institution|school|university",
                                re.IGNORECASE)),
    ("location", re.compile(r"location|city|place", re.IGNORECASE)),
    ("name", re.compile(r"project(?:\s+name)?|name", re.IGNORECASE)),
)


def label_field(label: str) -> str | None:
    """The entry field a row label names ("Dates" → "dates", "Employer" → "organization",
    "Position" → "title"); None for other labels ("Activities", "Details")."""
    text = label.strip().rstrip(":").strip()
    return next((k for k, rx in _FIELD_LABELS if rx.fullmatch(text)), None)


@dataclass
class _Entry:
    header: list[Parsed] = field(default_factory=list)
    items: list[list] = field(default_factory=list)  # [text, last Parsed, text x, bullet]
    dates: tuple[str, str] | None = None
    location: str = ""
    labeled: dict[str, str] = field(default_factory=dict)  # fields read from label / value rows

    def absorb(self, p: Parsed) -> None:
        if p.dates and self.dates is None:
            self.dates = p.dates
        if p.location and not self.location:
            self.location = p.location


def _sig(p: Parsed) -> tuple:
    return tuple(dict.fromkeys(w.style for w in p.words if re.search(r"\w", w.text)))


def _wraps_into(a: Line, b: Line) -> bool:
    """True when ``b`` is the wrapped rest of ``a``: same page, style and left edge, right below
    it, and ``b``'s first word would not have fitted at the end of ``a`` in their column."""
    if a.page != b.page or a.style != b.style or abs(a.x0 - b.x0) > 2.5 or a.margin or b.margin:
        return False
    if not 0 <= b.top - a.bottom <= 0.8 * b.size:
        return False
    first = b.words[0]
    return a.x1 + 0.3 * a.size + (first.x1 - first.x0) > a.col[1] - 1


def _plain(line: Line) -> bool:
    """A line of one segment that does not open with a bullet glyph."""
    return not parse_line(line).bullet and len(segments(line.words)) == 1 and not line.words[0].glyph


def join_wrapped(lines: list[Line], body_style: tuple[str, float]) -> list[Line]:
    """Join the lines of a structured section that wrap into the next one (a header or a meta
    line broken over two lines of a narrow column: "MASTER OF SCIENCE IN" / "COMPUTER SCIENCE",
    "Sept 2014 – June 2018 | Istanbul," / "Türkiye"); plain one-segment lines in a style other
    than the body text's only (body lines and bullets keep their own continuation rule). A word hyphenated at the break is joined ("Engi-" /
    "neering" → "Engineering")."""
    out: list[Line] = []
    last: Line | None = None  # the last visual line of out[-1]
    for ln in lines:
        if last is not None and ln.style != body_style and _plain(last) and _plain(ln) and _wraps_into(last, ln):
            words = out[-1].words
            if re.search(r"[A-Za-z][-‑]$", words[-1].text) and ln.words[0].text[:1].islower():
                words = words[:-1] + [_merge_hyphen(words[-1], ln.words[0])] + ln.words[1:]
            else:
                words = words + ln.words
            out[-1] = Line(words, out[-1].page, out[-1].margin, out[-1].col)
        else:
            out.append(ln)
        last = ln
    return out


def _entries(lines: list[Line], category: str, body_style: tuple[str, float]) -> list[rf.RawEntry]:
    parsed = [parse_line(ln) for ln in join_wrapped(lines, body_style)]
    entries: list[_Entry] = []
    cur: _Entry | None = None

    def distinct(p: Parsed) -> bool:
        return any(w.style != body_style and re.search(r"\w", w.text) for w in p.words) and \
            sum(len(w.text) for w in p.words if w.style != body_style) >= 0.5 * sum(len(w.text) for w in p.words)

    def headerish(i: int) -> bool:
        p = parsed[i]
        return bool(p.dates or p.location or p.meta_only) or distinct(p)

    for i, p in enumerate(parsed):
        if not p.words and not p.meta_only:
            continue
        key = label_field(p.label) if p.label and not p.bullet else None
        if key:  # a label / value row ("Dates | 06/2023 – present", "Employer | Nexus AI, City")
            if cur is None or key in cur.labeled or (cur.items or cur.header) and not cur.labeled:
                cur = _Entry()
                entries.append(cur)
            _label_value(cur, key, p)
            continue
        if p.bullet:
            if cur is None:
                cur = _Entry()
                entries.append(cur)
            cur.items.append([p.text, p, p.x0, True])
            cur.absorb(p)
            continue
        if cur is not None and cur.items and not p.meta_only:
            last = cur.items[-1]
            prev = last[1]
            cont = abs(p.x0 - last[2]) <= 2.5 and _close_below(prev, p) and not distinct(p) and \
                (last[3] or _full(prev) or p.text[:1].islower())
            if cont:
                last[0] = _join(last[0], p.text)
                last[1] = p
                if cur.dates is None or not p.dates:
                    cur.absorb(p)
                continue
        if cur is not None and cur.labeled and not cur.header:
            cur.items.append([p.text, p, p.x0, False])  # an unnamed row of a labelled entry
            continue
        is_head = headerish(i)
        if cur is not None and cur.header and not cur.items and continues_header(cur.header[-1], p):
            prev = cur.header[-1]
            prev.words = prev.words + p.words if not prev.text.endswith(("-", "‑")) else \
                prev.words[:-1] + [_merge_hyphen(prev.words[-1], p.words[0])] + p.words[1:]
            cur.absorb(p)
            continue
        if not is_head and cur is not None and cur.header and not cur.items and not p.bullet \
                and all(not h.words for h in cur.header):
            is_head = True  # a date / location line above the header opened the entry; this line names it
        if not is_head and cur is not None and cur.items and i + 1 < len(parsed):
            nxt = parsed[i + 1]
            if not nxt.bullet and (nxt.dates or nxt.meta_only) and not (cur.dates is None and not cur.header):
                is_head = True  # a plain line right above a date line starts the next entry
        if not is_head and (cur is None or (not cur.items and not cur.header)):
            is_head = True
        if is_head:
            new = (cur is None or bool(cur.items) or len(cur.header) >= 3
                   or (p.dates is not None and cur.dates is not None)
                   or (p.words and any(_sig(h) == _sig(p) for h in cur.header if h.words)))
            if new:
                cur = _Entry()
                entries.append(cur)
            cur.header.append(p)
            cur.absorb(p)
        else:
            cur.items.append([p.text, p, p.x0, False])
            cur.absorb(p)
    title_slots = _vote(entries) if category in _WORKLIKE else {}
    out = []
    for e in entries:
        fields = _fields(e, category, title_slots)
        if e.labeled:
            fields.update(_labeled_fields(e, category))
        lines_out = [rf.clean_chars(t)[0].strip() for t, *_ in e.items]
        out.append(rf.RawEntry(fields=fields, header="", lines=[x for x in lines_out if x],
                               bullets=any(b for *_, b in e.items)))
    return [e for e in out if e.fields or e.lines]


def _label_value(e: _Entry, key: str, p: Parsed) -> None:
    """Store one label / value row's value in ``e`` (an organisation's trailing "City, Region"
    going to the location)."""
    text = rf.clean_chars(p.text)[0].strip()
    if key == "dates":
        e.dates = e.dates or p.dates or parse_range(text)
        e.labeled[key] = text or "dates"
        return
    if key == "organization":
        parts = _line_location(e, [t.strip() for t in text.split(",") if t.strip()])
        text = ", ".join(parts)
    e.absorb(p)
    if text:
        e.labeled[key] = text


def _labeled_fields(e: _Entry, category: str) -> dict[str, str]:
    """The fields of an entry read from label / value rows, in the section's category's terms."""
    f = e.labeled
    out: dict[str, str] = {}
    if e.location or f.get("location"):
        out["location"] = e.location or f["location"]
    if category == "education":
        head = ", ".join(x for x in (f.get("degree") or f.get("title"), f.get("organization")) if x)
        parsed = rf.parse_header(head, "education") if head else {}
        out.update({k: parsed[k] for k in ("degree", "area", "organization") if parsed.get(k)})
        return out
    if category == "projects":
        name = f.get("name") or f.get("title")
        if name:
            out["name"] = name
        return out
    for k in ("title", "organization"):
        if f.get(k) or (k == "title" and f.get("degree")):
            out[k] = f.get(k) or f["degree"]
    return out


def continues_header(h: Parsed, p: Parsed) -> bool:
    """Whether line ``p`` is the wrapped rest of header line ``h``: no date of its own, no bullet,
    and either in the same fonts as ``h`` (which reaches the right edge, ends with a hyphen, or
    is followed by a lower-case word) or, in any font, right below ``h`` at its left edge when
    ``h`` reaches the right edge and breaks mid-phrase (after a hyphen or a comma, or before a
    lower-case word: "..., Stock-" / "holm, Sweden")."""
    if not h.words or not p.words or p.dates or p.bullet:
        return False
    broken = h.text.endswith(("-", "‑")) or p.text[:1].islower()
    if _sig(p) == _sig(h):
        return _full(h) or broken
    return _full(h) and (broken or h.text.endswith(",")) and abs(p.x0 - h.line.x0) <= 2.5 and _close_below(h, p)


def _merge_hyphen(a: Word, b: Word) -> Word:
    return Word(a.text.rstrip("-‑") + b.text, a.x0, b.x1, min(a.top, b.top), max(a.bottom, b.bottom), a.size, a.font)


_SEP = re.compile(r"^(?:[,|·•—–\-@/]+|at)$")


def _parts(e: _Entry) -> list[tuple[tuple, str]]:
    """(slot, text) of the header's name parts: font runs, split at separators."""
    out: list[tuple[tuple, str]] = []
    for li, h in enumerate(e.header):
        runs: list[list[Word]] = []
        for w in h.words:
            if _SEP.match(w.text):
                runs.append([])
                continue
            if runs and runs[-1] and runs[-1][-1].style == w.style:
                runs[-1].append(w)
            else:
                runs.append([w])
        texts = [join_words(r).strip(" ,|·") for r in runs if r]
        texts = [t for t in texts if t]
        if len(texts) == 1:
            texts = [t.strip() for t in re.split(r"\s+[—–|·]\s+|\s+-\s+|,\s+|\s+at\s+", texts[0]) if t.strip()]
        else:
            texts = [s.strip() for t in texts for s in re.split(r"\s+[—–|·]\s+|\s+-\s+", t) if s.strip()]
        texts = _line_location(e, texts)
        for pi, t in enumerate(texts):
            out.append(((li, pi, h.words[0].style if h.words else None), decap(t)))
    # trailing location ("..., Gothenburg, Sweden") and inline dates
    clean: list[tuple[tuple, str]] = []
    for slot, t in out:
        r = parse_range(t)
        if is_date_range(t):
            e.dates = e.dates or r
            continue
        m = re.search(rf"[\s(,]*\(?{RANGE.pattern}\)?\s*$", t, re.IGNORECASE)
        if m and m.start() > 0 and parse_range(m.group(0)):
            e.dates = e.dates or parse_range(m.group(0))
            t = t[:m.start()].strip(" ,(|·–—-")
        if not t:
            continue
        clean.append((slot, t))
    if len(clean) >= 3:
        joined = f"{clean[-2][1]}, {clean[-1][1]}"
        if _LOCATION.match(joined) and _looks_like_place(clean[-2][1]) and _looks_like_place(clean[-1][1]):
            e.location = e.location or joined
            clean = clean[:-2]
    if len(clean) >= 2 and _LOCATION.match(clean[-1][1]) and clean[-1][0][:1] != clean[0][0][:1] and \
            len([c for c in clean if c[0][0] == clean[-1][0][0]]) == 1 and len(clean) > 2:
        e.location = e.location or clean[-1][1]
        clean = clean[:-1]
    return clean


def _line_location(e: _Entry, texts: list[str]) -> list[str]:
    """A header line's parts without its trailing "City, Region" ("Northwind Robotics, Gothenburg,
    Sweden" split at commas, or a last font run "San Francisco, CA"), which goes to ``e.location``;
    a line of one part is left alone."""
    if len(texts) >= 2 and "," in texts[-1] and _LOCATION.match(texts[-1]):
        e.location = e.location or texts[-1]
        return texts[:-1]
    if len(texts) >= 3 and _looks_like_place(texts[-2]) and _looks_like_place(texts[-1]) \
            and _LOCATION.match(f"{texts[-2]}, {texts[-1]}"):
        e.location = e.location or f"{texts[-2]}, {texts[-1]}"
        return texts[:-2]
    return texts


_SMALL_WORDS = {"in", "of", "and", "the", "at", "for", "on", "to", "a", "an", "de", "du", "von", "van"}


def decap(text: str) -> str:
    """An all-capitals (or small-capitals) header part in title case: "MASTER OF SCiENCE iN
    COMPUTER SCiENCE" → "Master of Science in Computer Science"; words of up to three letters
    stay as they are ("BS", "CTO"). Text with lower-case letters (other than a small-caps
    font's stray "i") is returned unchanged."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 4 or any(c.islower() and c != "i" for c in letters) or not any(c.isupper() for c in letters):
        return text

    def word(w: str) -> str:
        up = w.upper()
        if up.lower() in _SMALL_WORDS:
            return up.lower()
        if len(re.sub(r"\W", "", w)) <= 3:
            return up
        return "-".join(x[:1] + x[1:].lower() for x in up.split("-"))

    words = [word(w) for w in text.split()]
    if words and words[0] in _SMALL_WORDS:
        words[0] = words[0].capitalize()
    return " ".join(words)


def _title_score(text: str) -> int:
    t, o = rf._role_score(text)
    return t + o


def _vote(entries: list[_Entry]) -> dict:
    """Score per header slot: job-title words minus organisation words, over all entries."""
    score: dict = defaultdict(int)
    for e in entries:
        parts = _parts(e)[:2]
        if len(parts) == 2:
            for slot, text in parts:
                score[slot] += _title_score(text)
    return score


def _fields(e: _Entry, category: str, slots: dict) -> dict[str, str]:
    parts = _parts(e)
    fields: dict[str, str] = {}
    if e.dates:
        fields["start_date"] = e.dates[0]
        if e.dates[1]:
            fields["end_date"] = e.dates[1]
    if e.location:
        fields["location"] = e.location
    texts = [t for _, t in parts]
    if not texts:
        return fields
    if category == "education":
        f = rf.parse_header(", ".join(texts), "education")
        for k in ("degree", "area", "organization"):
            if f.get(k):
                fields[k] = f[k]
        if not fields.get("degree") and not fields.get("area") and len(texts) >= 2:
            fields["area"] = texts[1]
        return fields
    if category == "projects":
        fields["name"] = texts[0]
        return fields
    if len(parts) >= 2:
        (s0, t0), (s1, t1) = parts[0], parts[1]
        a, b = slots.get(s0, 0), slots.get(s1, 0)
        if a == b:
            a, b = _title_score(t0), _title_score(t1)
        title_first = a >= b
        fields["title"], fields["organization"] = (t0, t1) if title_first else (t1, t0)
    else:
        fields["title" if rf._role_score(texts[0])[0] > 0 else "organization"] = texts[0]
    return fields
