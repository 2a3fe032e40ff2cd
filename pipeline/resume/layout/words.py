"""Word boxes and visual lines: pdfplumber characters → :class:`Word` → :class:`Line`.

Part of :mod:`pipeline.resume.layout` (imports no other layout module): words split at gaps
wider than :data:`WORD_GAP_EM`, spacing accents folded into their letter, the text layer
checked (:func:`text_layer_problem`), words grouped into lines by their vertical centre
(:func:`cluster_lines`). Tested by
``pytest tests/test_layout_reader.py -k "glyph or gap or accents or garbage or left_of"``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from pipeline.resume import formats as rf

WORD_GAP_EM = 0.11  # a gap wider than this (in em of the left character) separates two words
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


# TeX's Cork (T1) and TS1 encodings at the code points a resume uses: a bitmap (Type 3) font made
# by pdflatex without cm-super carries no name and no Unicode map, so pdfminer gives "(cid:N)".
_TEX_T1_CIDS = {21: "–", 22: "—", 27: "ff", 28: "fi", 29: "fl", 30: "ffi", 31: "ffl", 136: "•"}


def _tex_cid(char: dict) -> dict:
    """``char`` with an unmapped "(cid:N)" of a nameless font read by :data:`_TEX_T1_CIDS`."""
    m = re.fullmatch(r"\(cid:(\d+)\)", char.get("text", ""))
    if m and int(m.group(1)) in _TEX_T1_CIDS and str(char.get("fontname", "")).lower() in ("unknown", ""):
        return {**char, "text": _TEX_T1_CIDS[int(m.group(1))]}
    return char


def page_words(page) -> list[Word]:
    """The words of one pdfplumber page (upright text only), accents folded, ligatures expanded."""
    from pdfplumber.utils import extract_words

    chars = fold_accent_chars([_tex_cid(c) for c in page.chars])
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
