"""Structured sections: lines → entries (header, bullets) → fields (title, organisation, dates, ...).

Part of :mod:`pipeline.resume.layout` (imports :mod:`.dates`, :mod:`.words`, :mod:`.parse`):
wrapped header lines joined (:func:`join_wrapped`), entries cut at header lines
(:func:`_entries`, :func:`continues_header`), label / value rows read (:func:`label_field`),
and the header's parts given their fields, which slot holds the title being voted once per
document (:func:`_vote`, :func:`_fields`). Tested by
``pytest tests/test_layout_reader.py -k "header or entry or label"``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.resume import formats as rf
from pipeline.resume.layout.dates import (
    _LOCATION,
    RANGE,
    is_date_range,
    is_region,
    org_then_city,
    parse_range,
    span_fields,
)
from pipeline.resume.layout.parse import (
    Parsed,
    _close_below,
    _full,
    _join,
    _looks_like_place,
    _wraps_to_margin,
    parse_line,
    segments,
)
from pipeline.resume.layout.words import Line, Word, join_words

_WORKLIKE = {"work_experience", "leadership", "military"}


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
    described: list[str] = field(default_factory=list)  # header text after a project's name
    places: list[str] = field(default_factory=list)  # every location its lines gave, in order

    def absorb(self, p: Parsed) -> None:
        if p.dates and self.dates is None:
            self.dates = p.dates
        if p.location and not self.location:
            self.location = p.location
        if p.location and p.location not in self.places:
            self.places.append(p.location)


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


_LABEL_START = re.compile(r"^[A-Z][\w .'’/&-]{0,30}:\s")  # "Thesis: ...", "Advisor: ..."


def join_wrapped(lines: list[Line], body_style: tuple[str, float]) -> list[Line]:
    """Join the lines of a structured section that wrap into the next one (a header or a meta
    line broken over two lines of a narrow column: "MASTER OF SCIENCE IN" / "COMPUTER SCIENCE",
    "Sept 2014 – June 2018 | Istanbul," / "Türkiye"); plain one-segment lines in a style other
    than the body text's only (body lines and bullets keep their own continuation rule), and
    not a "Label: ..." line under another ("Thesis: ..." / "Advisor: ..."). A word hyphenated
    at the break is joined ("Engi-" / "neering" → "Engineering")."""
    out: list[Line] = []
    last: Line | None = None  # the last visual line of out[-1]
    for ln in lines:
        if last is not None and ln.style != body_style and _plain(last) and _plain(ln) and _wraps_into(last, ln) \
                and not (_LABEL_START.match(ln.text) and _LABEL_START.match(out[-1].text)):
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

    def other(w: Word) -> bool:  # a header's type: not the body's, and not the body's in a smaller size
        return w.style != body_style and not (w.style[0] == body_style[0] and w.size < body_style[1] - 0.25)

    def distinct(p: Parsed) -> bool:
        """Mostly in a type other than the body's, or a bold lead with a right-aligned part
        ("**B.Sc. in Mathematics** ⟷ Université Claude Bernard Lyon 1")."""
        inked = [w for w in p.words if re.search(r"\w", w.text)]
        if not any(other(w) for w in inked):
            return False
        if sum(len(w.text) for w in p.words if other(w)) >= 0.5 * sum(len(w.text) for w in p.words):
            return True
        segs = segments(p.words)
        return len(segs) >= 2 and all(other(w) for w in segs[0] if re.search(r"\w", w.text))

    def headerish(i: int) -> bool:
        p = parsed[i]
        return bool(p.dates or p.location or p.meta_only) or distinct(p) or (not p.bullet and _LOCATION.match(p.text))

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
            cont = (abs(p.x0 - last[2]) <= 2.5 or last[3] and _wraps_to_margin(prev, p)) \
                and _close_below(prev, p) and not distinct(p) and \
                (last[3] or _full(prev) or p.text[:1].islower()) and \
                not (not last[3] and _LABEL_START.match(p.text) and _LABEL_START.match(last[0]))
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
        if not is_head and cur is not None and cur.header and not cur.items and category != "projects" \
                and (_org_and_place(p.text) or _under_header(cur.header[-1], p)):
            is_head = True  # "Northwind Robotics, Gothenburg, Sweden" in body type under the title
        if not is_head and cur is not None and cur.items and i + 1 < len(parsed):
            nxt = parsed[i + 1]
            if not nxt.bullet and (nxt.dates or nxt.meta_only) and not (cur.dates is None and not cur.header):
                is_head = True  # a plain line right above a date line starts the next entry
        if not is_head and (cur is None or (not cur.items and not cur.header)):
            is_head = True
        if is_head:
            new = (cur is None or bool(cur.items) or len(cur.header) >= 3
                   or (p.dates is not None and cur.dates is not None)
                   or (p.words and _sig(p) != (body_style,) and any(_sig(h) == _sig(p) for h in cur.header if h.words))
                   or _after_complete_header(cur, p))
            if new:
                cur = _Entry()
                entries.append(cur)
            cur.header.append(p)
            cur.absorb(p)
        else:
            cur.items.append([p.text, p, p.x0, False])
            cur.absorb(p)
    if category in _WORKLIKE:
        _roles_under_employer(entries)
    title_slots = _vote(entries) if category in _WORKLIKE else {}
    out = []
    for e in entries:
        fields = _fields(e, category, title_slots)
        if e.labeled:
            fields.update(_labeled_fields(e, category))
        lines_out = e.described + [rf.clean_chars(t)[0].strip() for t, *_ in e.items]
        out.append(rf.RawEntry(fields=fields, header="", lines=[x for x in lines_out if x],
                               bullets=any(b for *_, b in e.items)))
    return [e for e in out if e.fields or e.lines]


def _roles_under_employer(entries: list[_Entry]) -> None:
    """A promotion: an entry whose header is one line in the type of the previous entry's second
    header line (its title line, "*Structural Engineer*  Jul 2018 – Mar 2021"), not of its first
    (the employer, "**Sahyadri Infrastructure Ltd.**  Pune"), is a second role there: the
    employer line is put in front of its header."""
    for prev, e in zip(entries, entries[1:], strict=False):
        named = [h for h in e.header if h.words]
        lines = [h for h in prev.header if h.words]
        if len(named) == 1 and len(lines) >= 2 and _sig(named[0]) == _sig(lines[1]) != _sig(lines[0]):
            e.header.insert(0, lines[0])


def _after_complete_header(cur: _Entry, p: Parsed) -> bool:
    """``p`` opens the next entry: the current header ended with its dates line ("2014 – 2016 ·
    Grenoble" under "**M.Sc. …** ⟷ Université …") and ``p`` starts in the font its first line
    started in ("**B.Sc. …** ⟷ …")."""
    first = next((h for h in cur.header if h.words), None)
    return (first is not None and bool(p.words) and cur.dates is not None and cur.header[-1].meta_only
            and p.dates is None and p.words[0].style == first.words[0].style)


def _org_and_place(text: str) -> bool:
    """A short header line that ends with a place: "Northwind Robotics, Gothenburg, Sweden",
    "Princeton University, Princeton, NJ" (a name, then "City, Region"); not a sentence."""
    parts = [x.strip() for x in text.split(",")]
    if len(parts) < 3 or len(text) > 90 or text.rstrip().endswith((".", ";", ":")):
        return False
    return bool(parts[0]) and len(parts[0].split()) <= 6 and _LOCATION.match(", ".join(parts[-2:]))


def _under_header(h: Parsed, p: Parsed) -> bool:
    """A short plain line right under the header line, starting where it starts: the second
    header line ("Chapter Lead" / "Women in Machine Learning Gothenburg"), not a sentence."""
    return (bool(h.words) and abs(p.x0 - h.x0) <= 2.5 and _close_below(h, p) and len(p.text.split()) <= 8
            and ":" not in p.text and not p.text.rstrip().endswith((".", ";")) and p.line.size >= h.line.size - 0.25)


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
        if len(texts) == 1:  # one run: split at strong separators, at commas only when there is none
            strong = [t.strip() for t in re.split(r"\s+[—–|·]\s+|\s+-\s+|\s+at\s+", texts[0]) if t.strip()]
            texts = strong if len(strong) >= 2 and not _place_tail(strong) else \
                [t.strip() for t in re.split(r"\s+[—–|·]\s+|\s+-\s+|,\s+|\s+at\s+", texts[0]) if t.strip()]
            run_of = [0] * len(texts)
        else:
            pieces = [(s.strip(), k) for k, t in enumerate(texts) for s in re.split(r"\s+[—–|·]\s+|\s+-\s+", t)
                      if s.strip()]
            texts, run_of = [t for t, _ in pieces], [k for _, k in pieces]
        texts = _line_location(e, texts, run_of)
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
    if len(clean) >= 3 and not _title_org_city([t for _, t in clean]):
        joined = f"{clean[-2][1]}, {clean[-1][1]}"
        if _LOCATION.match(joined) and _looks_like_place(clean[-2][1]) and _looks_like_place(clean[-1][1]):
            e.location = e.location or joined
            clean = clean[:-2]
    if len(clean) >= 2 and _LOCATION.match(clean[-1][1]) and clean[-1][0][:1] != clean[0][0][:1] and \
            len([c for c in clean if c[0][0] == clean[-1][0][0]]) == 1 and len(clean) > 2:
        e.location = e.location or clean[-1][1]
        clean = clean[:-1]
    return clean


def _place_tail(parts: list[str]) -> bool:
    """The last strong-separated part is a place ("Staff Engineer, Northwind — Gothenburg, Sweden"):
    then the commas before it separate title and organisation, and the line is split at them too."""
    return bool(_LOCATION.match(parts[-1])) or _looks_like_place(parts[-1])


def _title_org_city(texts: list[str]) -> bool:
    """"Title, Org, City": three parts, a job title first and a last part that is a city, not a
    region ("Software Developer, Quadrille Logiciels, Paris"; not "Research Intern, Mountain
    View, CA", whose last two parts are one place)."""
    return (len(texts) == 3 and rf._role_score(texts[0])[0] > 0 and rf._role_score(texts[1])[0] == 0
            and _looks_like_place(texts[2]) and not is_region(texts[2]) and not is_date_range(texts[2]))


def _line_location(e: _Entry, texts: list[str], run_of: list[int] | None = None) -> list[str]:
    """A header line's parts without its trailing "City, Region" ("Northwind Robotics, Gothenburg,
    Sweden" split at commas, or a last font run "San Francisco, CA"), which goes to ``e.location``;
    a line of one part is left alone. "**Title**, *Org, City*" (a title part, then one part
    holding one comma) is read as organization and city, not as a "City, Region" location; two
    last parts are one "City, Region" only when they are in one font run (``run_of``: the run
    index of each part), so "**Title**, *Alpinova Énergie*, Grenoble" keeps its organization.
    A last part that is a place ("Grenoble") after an organization part is the location."""
    if len(texts) == 2 and texts[1].count(",") == 1 and rf._role_score(texts[0])[0] > 0:
        org, place = (x.strip() for x in texts[1].split(","))
        if org and _looks_like_place(place) and rf._role_score(place) == (0, 0):
            e.location = e.location or place
            return [texts[0], org]
    if len(texts) >= 2 and "," in texts[-1] and _LOCATION.match(texts[-1]):
        e.location = e.location or texts[-1]
        return texts[:-1]
    if _title_org_city(texts):
        e.location = e.location or texts[-1]
        return texts[:-1]
    if len(texts) == 2 and (run_of is None or run_of[0] == run_of[1]) and org_then_city(texts[0], texts[1]) \
            and sum(1 for h in e.header if h.words) >= 2:  # the title is on another line
        e.location = e.location or texts[1]  # "**Alpinova Énergie, Grenoble**"
        return texts[:1]
    same_run = run_of is None or len(run_of) < 2 or run_of[-2] == run_of[-1]  # "*Org*, City": two things
    if len(texts) >= 3 and same_run and _looks_like_place(texts[-2]) and _looks_like_place(texts[-1]) \
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
    fields = span_fields(e.dates, e.location)
    texts = [t for _, t in parts]
    if not texts:
        return fields
    if category == "education":
        f = rf.parse_header(", ".join(texts), "education")
        for k in ("degree", "area", "organization"):
            if f.get(k):
                fields[k] = f[k]
        if "organization" not in fields and len(e.places) == 2 and "," not in e.places[0]:
            fields["organization"], fields["location"] = e.places  # "**Degree** ⟷ Université X" / "2014 – 2016 · City"
        if not fields.get("degree") and not fields.get("area") and len(texts) >= 2:
            fields["area"] = texts[1]
        return fields
    if category == "projects":  # "Tidewatch, open-source tide forecasting library": the rest describes it
        fields["name"] = texts[0]
        if len(texts) > 1:
            e.described = [", ".join(texts[1:])]
        return fields
    if len(parts) == 1 and len(e.places) == 2 and "," not in e.places[0] and rf._role_score(texts[0])[0] > 0:
        # "**Title** ⟷ Alpinova Énergie" over "Mar 2021 – Present · Grenoble": the first "place"
        # (a right-aligned name without a comma) is the organization, the second the city
        fields["title"], fields["organization"], fields["location"] = texts[0], e.places[0], e.places[1]
        return fields
    if len(parts) == 2 and rf._role_score(parts[0][1])[1] < 0 and org_then_city(parts[0][1], parts[1][1]):
        fields["organization"] = parts[0][1]  # "Sahyadri Infrastructure Ltd., Pune": an employer and its city
        fields.setdefault("location", parts[1][1])
        return fields
    if len(parts) >= 2:
        (s0, t0), (s1, t1) = parts[0], parts[1]
        a, b = slots.get(s0, 0), slots.get(s1, 0)
        if a == b:
            a, b = _title_score(t0), _title_score(t1)
        title_first = a >= b
        fields["title"], fields["organization"] = (t0, t1) if title_first else (t1, t0)
        title_line = (s0 if title_first else s1)[0]
        rest = [t for slot, t in parts[2:] if slot[0] == title_line and slot[0] != (s1 if title_first else s0)[0]]
        if rest:  # "*Charge Nurse, Acute Medical Unit*" under the employer: the title's own comma
            fields["title"] = ", ".join([fields["title"], *rest])
    else:
        fields["title" if rf._role_score(texts[0])[0] > 0 else "organization"] = texts[0]
    return fields
