"""Section headings: the heading style learned from lines that name a known section.

Part of :mod:`pipeline.resume.layout` (imports :mod:`.words`, :mod:`.parse`):
:func:`heading_styles`, :func:`caps_styles`, :func:`stands_as_heading`. Tested by
``pytest tests/test_layout_reader.py -k heading``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable

from pipeline.resume.layout.parse import segments
from pipeline.resume.layout.words import _BOLD_FONT, Line


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
    """The heading styles whose known headings (lines naming a known section, with no margin
    label beside them) are in capitals: at least two and 60% of them. The rest are then entry
    lines in the same bold body style whose name holds a section word ("KTH Royal Institute of
    Technology", "Swedish Armed Forces"), not mixed-case headings."""
    known: dict = defaultdict(list)
    for ln in lines:
        text = ln.text.strip().rstrip(":")
        if ln.style in styles and _heading_shaped(text) and category_of(text) is not None \
                and len(segments(ln.words)) == 1 and not ln.margin:
            known[ln.style].append(_caps(text))
    return {s for s, caps in known.items() if sum(caps) >= 2 and sum(caps) >= 0.6 * len(caps)}


def stands_as_heading(line: Line, body_size: float, caps: set) -> bool:
    """Whether a short line in a heading style is a heading. A style larger than the body text
    is enough; a body-sized style (bold body text, which entry headers use too: "**Princeton
    University** ⟷ Princeton, NJ") also needs one segment (nothing right-aligned beside it) and
    capitals when the known headings of its style are in capitals (:func:`caps_styles`)."""
    text = line.text.strip().rstrip(":")
    if line.style in caps and not _caps(text):
        return False  # "Alpinova Énergie, Grenoble" in the style of "EXPERIENCE"
    if line.style[1] >= 1.08 * body_size:
        return True
    return len(segments(line.words)) == 1


def _heading_shaped(text: str) -> bool:
    words = text.split()
    return (1 <= len(words) <= 6 and len(text) <= 50 and not re.search(r"[@.,;!?]$|\d{3,}", text)
            and text[:1].isupper())
