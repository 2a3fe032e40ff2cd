"""Word resumes (.docx) read by their structure: python-docx paragraphs, runs and tables → ``(name, sections)``.

Run: ``python -m pipeline preview`` with ``resume_path`` set to a ``.docx`` (ingest calls
:func:`read_docx_structure` for that extension); measure with
``python benchmarks/layout_bench.py --only .docx --details`` (the Word layouts of
``data/layouts/``) and test with ``pytest tests/test_docx.py``.

Like the PDF reader (:func:`pipeline.resume.layout.read_pdf`) it returns the person's name and
a list of :class:`~pipeline.resume.formats.RawSection`; in structured sections (experience,
education, projects, leadership, military) every :class:`~pipeline.resume.formats.RawEntry`
carries its ``fields`` (organization, title, degree, area, name, start_date, end_date,
location) as the document's structure gives them, and its lines (summary and bullets); other
sections hold one line per item. What it reads:

* paragraphs: the style (``Title``, ``Heading N`` or an outline level, ``List …``), Word
  numbering, a typed bullet glyph ("•\\t", "◦ ", "- "), the runs' bold / italic / size /
  capitals / colour, a paragraph border, tab-separated parts, manual line breaks;
* tables: a header row of label words ("Period | Employer | Role | Highlights") maps each
  column to a field; a two-column row with a date cell is one dated entry (or one dated item);
  a "label | value" row is a "Label: value" item; merged cells are read once; tables above the
  first section heading are the page header (name, headline, contact lines).

Section headings are heading-styled paragraphs at the level whose texts name known sections,
or short paragraphs that stand out (bold throughout, capitals, larger, a border) and whose text
names a known section (``is_heading``); their look is learned, so other short paragraphs in the
same striking look are headings too. Job title vs organisation is decided by title / organisation
words (:func:`pipeline.resume.formats._role_score`) summed per header slot (paragraph, part,
bold / italic) over the whole document.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ResumeError
from pipeline.resume import formats as rf
from pipeline.resume.layout.dates import (
    _DATE_WORD,
    _PLACE,
    RANGE,
    is_region,
    norm_date,
    org_then_city,
    span_fields,
)
from pipeline.resume.layout.tables import label_field
from pipeline.resume.pii import find_pii

_STRUCTURED = {"work_experience", "education", "projects", "leadership", "military"}
_WORKLIKE = {"work_experience", "leadership", "military"}

# ---------------------------------------------------------------- dates and places
# The dates regexes and norm_date are the PDF reader's (pipeline.resume.layout.dates); a Word
# cell may hold "City, Region, Country", so places here may have a third part.
_PLACE3 = rf"{_PLACE}(?:,\s*{_PLACE})?"
_LOCATION_RE = re.compile(rf"^(?:{_PLACE},\s*{_PLACE3}|Remote|REMOTE)$")
_SEP_STRIP = " ,;·|–—-•\t()"


def _range_match(text: str) -> re.Match[str] | None:
    """The first date range in ``text`` (a lone "now" / "current" in prose is no date)."""
    for m in RANGE.finditer(text):
        if m.group("end") or norm_date(m.group("start")) != "present":
            return m
    return None


def _dates(m: re.Match[str]) -> tuple[str, str]:
    return norm_date(m.group("start")), norm_date(m.group("end")) if m.group("end") else ""


def date_range(text: str) -> tuple[str, str] | None:
    """``(start, end)`` when ``text`` is nothing but a date or a date range, else None."""
    m = _range_match(text)
    if m is None or text[: m.start()].strip(_SEP_STRIP) or text[m.end():].strip(_SEP_STRIP + "."):
        return None
    return _dates(m)


def is_location(text: str) -> bool:
    """"City, Region" (capitalised words, a comma) or "Remote", holding no job-title or organisation word."""
    text = text.strip()
    parts = [x.strip() for x in text.split(",")]
    return bool(_LOCATION_RE.match(text)) and rf._role_score(text) == (0, 0) and len(text) <= 60 \
        and not _DATE_WORD.search(text) and (len(parts) < 3 or is_region(parts[1]))  # "Org, Toronto, Canada" is no place


def meta_line(text: str) -> tuple[tuple[str, str], str] | None:
    """A dates line ("Sept 2018 – May 2023 | Princeton, NJ", "Gothenburg, Sweden · 2021-03 – present",
    "2022") → ``((start, end), location)``; None when the line holds anything else."""
    m = _range_match(text)
    if m is None:
        return None
    rest = f"{text[: m.start()]} | {text[m.end():]}".strip(_SEP_STRIP + ".")
    rest = re.sub(r"\s*\|\s*\|?\s*", " | ", rest).strip(_SEP_STRIP)
    if rest and not is_location(rest):
        return None
    return _dates(m), rest


# ---------------------------------------------------------------- paragraphs
_GLYPH = re.compile(r"^\s*(?:[•◦▪▫▸►‣⁃●○■□➢➤✓✔∙·\uf0b7\uf0a7]\s*|[-–*+]\s+|[-–*+]\t)")
_SECOND_LEVEL = set("◦○▫□‣⁃")


@dataclass
class Run:
    """A run of text with its resolved formatting."""

    text: str
    bold: bool
    italic: bool
    size: float
    caps: bool = False
    color: str = ""


@dataclass
class Para:
    """A paragraph: text (tabs and manual line breaks kept), runs and what its style says."""

    runs: list[Run]
    style: str = ""
    heading: int | None = None  # outline level 1-9 (Heading N style or w:outlineLvl)
    title: bool = False  # the Title style (the name)
    bullet: bool = False  # a list paragraph: List style, Word numbering or a typed glyph
    level: int = 0
    border: bool = False
    in_table: bool = False

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def clean(self) -> str:
        """The text on one line, a typed bullet glyph dropped."""
        text = " ".join(self.text.split())
        return _GLYPH.sub("", text, count=1).strip() if self.bullet else text

    def _inked(self) -> list[Run]:
        return [r for r in self.runs if r.text.strip()]

    @property
    def bold(self) -> bool:
        runs = self._inked()
        return bool(runs) and all(r.bold for r in runs)

    @property
    def italic(self) -> bool:
        runs = self._inked()
        return bool(runs) and all(r.italic for r in runs)

    @property
    def size(self) -> float:
        return max((r.size for r in self._inked()), default=0.0)

    @property
    def caps(self) -> bool:
        letters = [c for r in self._inked() for c in (r.text.upper() if r.caps else r.text) if c.isalpha()]
        return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)

    @property
    def sig(self) -> tuple:
        """The paragraph's look: what a learned heading style is made of."""
        runs = self._inked()
        return (self.style, self.bold, self.italic, self.caps, round(self.size * 2) / 2, self.border,
                runs[0].color if runs else "")

    def starts_bold(self) -> bool:
        runs = self._inked()
        return bool(runs) and runs[0].bold

    def starts_italic(self) -> bool:
        runs = self._inked()
        return bool(runs) and runs[0].italic


@dataclass
class Table:
    """A table: rows of cells (each cell a list of paragraphs); ``tcs`` the cell elements, for merges."""

    rows: list[list[list[Para]]]
    tcs: list[list[object]]


def _style_chain(style):
    while style is not None:
        yield style
        style = style.base_style


def _first(values, default=None):
    return next((v for v in values if v is not None), default)


class _Reader:
    """Turns python-docx objects into :class:`Para` / :class:`Table` blocks with resolved formatting."""

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn

        self.qn = qn
        self.default_size = 10.0
        defaults = document.styles.element.find(qn("w:docDefaults"))
        sz = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:sz')}") if defaults is not None else None
        if sz is not None and sz.get(qn("w:val"), "").isdigit():
            self.default_size = int(sz.get(qn("w:val"))) / 2

    def blocks(self, container, in_table: bool = False) -> list[Para | Table]:
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph

        out: list[Para | Table] = []
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                out.append(self.para(block, in_table))
            elif isinstance(block, DocxTable):
                out.append(self.table(block))
        return out

    def table(self, table) -> Table:
        rows, tcs = [], []
        for row in table.rows:
            cells, elems = [], []
            for cell in row.cells:  # one per grid column: a merged cell repeats (same element)
                paras: list[Para] = []
                for b in self.blocks(cell, in_table=True):  # a nested table's paragraphs, in order
                    paras += [b] if isinstance(b, Para) else [p for r in b.rows for c in r for p in c]
                cells.append(paras)
                elems.append(cell._tc)
            rows.append(cells)
            tcs.append(elems)
        return Table(rows, tcs)

    def para(self, par, in_table: bool) -> Para:
        from docx.text.hyperlink import Hyperlink

        qn = self.qn
        styles = list(_style_chain(par.style))
        runs = []
        for item in par.iter_inner_content():
            for run in (item.runs if isinstance(item, Hyperlink) else [item]):
                if run.text:
                    runs.append(self.run(run, styles))
        ppr = par._p.pPr
        heading = None
        style_name = styles[0].name if styles else ""
        m = re.fullmatch(r"Heading (\d)", style_name or "")
        outline = _first([ppr.find(qn("w:outlineLvl")) if ppr is not None else None]
                         + [s.element.pPr.find(qn("w:outlineLvl")) if s.element.pPr is not None else None
                            for s in styles])
        if m:  # a Heading N style
            heading = int(m.group(1))
        elif outline is not None and str(outline.get(qn("w:val"), "9")).isdigit() and int(outline.get(qn("w:val"))) < 9:
            heading = int(outline.get(qn("w:val"))) + 1  # a custom style with an outline level
        num = _first([ppr.numPr if ppr is not None else None]
                     + [s.element.pPr.numPr if s.element.pPr is not None else None for s in styles])
        numbered = num is not None and num.numId is not None and num.numId.val != 0
        text = "".join(r.text for r in runs)
        glyph = _GLYPH.match(text)
        bullet = numbered or "List" in (style_name or "") or bool(glyph)  # Word list, List style, typed glyph
        level = 0
        if num is not None and num.ilvl is not None:
            level = int(num.ilvl.val)
        elif re.search(r"List \w+ ([2-9])$", style_name or ""):
            level = int(style_name[-1]) - 1
        elif glyph and glyph.group(0).strip()[:1] in _SECOND_LEVEL:
            level = 1
        border = ppr is not None and ppr.find(qn("w:pBdr")) is not None or any(
            s.element.pPr is not None and s.element.pPr.find(qn("w:pBdr")) is not None for s in styles)
        return Para(runs, style_name or "", heading, style_name == "Title", bullet, level, border, in_table)

    def run(self, run, par_styles) -> Run:
        chain = list(_style_chain(run.style)) if run.style is not None and run.style.name != "Default Paragraph Font" else []
        fonts = [run.font] + [s.font for s in chain] + [s.font for s in par_styles]
        bold = bool(_first(f.bold for f in fonts))
        italic = bool(_first(f.italic for f in fonts))
        caps = bool(_first(f.all_caps for f in fonts))
        size = _first(f.size for f in fonts)
        color = ""
        for f in fonts:
            try:
                if f.color is not None and f.color.type is not None and f.color.rgb is not None:
                    color = str(f.color.rgb)
                    break
            except (AttributeError, ValueError):
                continue
        return Run(run.text, bold, italic, size.pt if size is not None else self.default_size, caps, color)


def open_document(path: Path):
    """The python-docx Document of ``path``.

    Raises:
        ResumeError: not a readable .docx (corrupt, encrypted, or another format renamed).
    """
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # a declared dependency; only a broken install lacks it
        raise ResumeError(f"{path}: reading .docx needs python-docx (pip install python-docx)") from exc
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ResumeError(f"{path}: not a readable .docx ({type(exc).__name__}: {exc}); save it again from "
                          "Word as .docx (not encrypted), or export it as PDF or Markdown") from exc


# ---------------------------------------------------------------- tables
def header_row(table: Table) -> list[str | None] | None:
    """The field of each column when the table's first row is a row of labels (every cell a short
    label word, at least two columns, at least one row below); None otherwise."""
    if len(table.rows) < 2:
        return None
    keys: list[str | None] = []
    seen = []
    for paras, tc in zip(table.rows[0], table.tcs[0], strict=True):
        if any(tc is s for s in seen):  # a merged cell spans columns: its label counts once
            keys.append(None)
            continue
        seen.append(tc)
        text = " ".join(p.clean for p in paras).strip()
        key = label_field(text) if text else None
        if key is None:
            return None
        keys.append(key)
    return keys if len([k for k in keys if k]) >= 2 else None


def _unique_cells(table: Table) -> list[list[list[Para]]]:
    """Rows of distinct cells: a cell merged across columns, or down from the row above, once."""
    out, seen = [], []
    for cells, tcs in zip(table.rows, table.tcs, strict=True):
        row = []
        for paras, tc in zip(cells, tcs, strict=True):
            if any(tc is s for s in seen):
                continue
            seen.append(tc)
            row.append(paras)
        out.append(row)
    return out


def _cell_text(paras: list[Para]) -> str:
    return _join_sentences([p.clean for p in paras if p.clean])


def _join_sentences(parts: list[str]) -> str:
    """Paragraphs of one item joined into one line, a full stop between them where none is."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out:
            out = (out if re.search(r"[.!?:;]$", out) else out + ".") + " " + part
        else:
            out = part
    return out


# ---------------------------------------------------------------- entries
@dataclass
class _Entry:
    header: list[Para] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    bullets: bool = False
    dates: tuple[str, str] | None = None
    location: str = ""
    explicit: dict[str, str] = field(default_factory=dict)  # fields read from a header-row table's columns
    category: str = ""


def _is_label_line(p: Para) -> bool:
    """A "**Label:** value" line (a detail, not an entry header)."""
    bold = "".join(r.text for r in p.runs[: next((i for i, r in enumerate(p.runs) if not r.bold and r.text.strip()),
                                                    len(p.runs))])
    return bold.strip().endswith(":") or bool(re.match(r"^[^:]{1,40}:\s", p.clean)) and not p.bold


def _tabbed_dates(p: Para) -> bool:
    """A line whose last tab-separated part is a date range ("Org — Title<TAB>03/2021 – present")."""
    parts = [x for x in p.text.split("\t") if x.strip()]
    return len(parts) >= 2 and date_range(parts[-1]) is not None


class _Builder:
    """Cuts one structured section's blocks into entries."""

    def __init__(self, category: str, body_size: float) -> None:
        self.category = category
        self.body_size = body_size
        self.entries: list[_Entry] = []
        self.cur: _Entry | None = None
        self.scope: Para | None = None  # the last entry heading (Heading 2 "Company — City")

    def new(self) -> _Entry:
        self.cur = _Entry(category=self.category)
        self.entries.append(self.cur)
        return self.cur

    def headerish(self, p: Para) -> bool:
        """Where an entry header stands out: a sub-heading style, a bold opening run (not a
        "Label:"), a right-tabbed date, or text larger than the body."""
        if len(p.clean) > 150:
            return False
        return (p.heading is not None or (p.starts_bold() and not _is_label_line(p)) or _tabbed_dates(p)
                or p.size >= 1.08 * self.body_size)

    def paragraphs(self, paras: list[Para], fresh: bool = False) -> None:
        """Feed paragraphs in order; ``fresh``: the first header line belongs to the current
        entry (opened by a table row's date cell)."""
        paras = [p for p in paras if p.clean]
        for i, p in enumerate(paras):
            cur = self.cur
            text = p.clean
            if p.bullet:  # a list paragraph: a bullet of the current entry
                (cur or self.new()).lines.append(text)
                self.cur.bullets = True
                continue
            meta = meta_line(text)
            if meta is not None:  # a dates line ("Sept 2018 – May 2023 | City"): the entry's dates
                if cur is None or cur.dates is not None or cur.bullets:
                    scope = self.scope
                    cur = self.new()  # dates printed above the header open the entry
                    nxt = paras[i + 1] if i + 1 < len(paras) else None
                    if scope is not None and nxt is not None and nxt.heading is None and not self.headerish(nxt):
                        cur.header.append(scope)  # a second role under the same employer heading
                cur.dates, cur.location = meta[0], cur.location or meta[1]
                continue
            if cur is not None and cur.header and not cur.lines and not cur.location and is_location(text):
                cur.location = text  # a "City, Region" line under the header
                continue
            nxt = paras[i + 1] if i + 1 < len(paras) else None
            above_dates = (nxt is not None and not nxt.bullet and meta_line(nxt.clean) is not None
                           and (cur is None or cur.lines or cur.dates is not None))
            if self.headerish(p) or above_dates:  # an entry header (or a plain line right above a dates line)
                if not (fresh and cur is not None and not cur.header) and (
                        cur is None or cur.lines or len(cur.header) >= 3
                        or (cur.header and (cur.dates is not None or any(h.sig == p.sig for h in cur.header)))):
                    cur = self.new()
                fresh = False
                cur.header.append(p)
                if p.heading is not None:
                    self.scope = p  # an employer heading: roles below it until the next heading
                tab_parts = [x for x in p.text.split("\t") if x.strip()]
                if len(tab_parts) >= 2 and (d := date_range(tab_parts[-1])) and cur.dates is None:
                    cur.dates = d
                continue
            if cur is not None and cur.header and not cur.lines and len(text) <= 100 \
                    and not re.search(r"[.!?]$", text) and (p.italic or p.starts_italic() and _ends_in_range(text)
                                                          or cur.dates is not None and len(text.split()) <= 8
                                                          and not re.search(r"[;:]$", text)):
                cur.header.append(p)  # an italic line under the header, or a short line under its dates: the title
                continue
            if cur is None or (fresh and cur.header == [] and cur.dates is None):
                cur = cur or self.new()
            cur.lines.append(text)

    def table(self, table: Table) -> None:
        keys = header_row(table)
        if keys is not None:  # a header row: one entry per row, each column a field
            for cells, tcs in zip(table.rows[1:], table.tcs[1:], strict=True):
                self.header_row_entry(keys, cells, tcs)
            self.cur = None
            return
        for row in _unique_cells(table):
            row = [c for c in row if any(p.clean for p in c)]
            if not row:
                continue
            first, last = date_range(_cell_text(row[0])), date_range(_cell_text(row[-1]))
            if len(row) >= 2 and (first or last):  # a date cell beside the entry's cell: one dated entry
                entry = self.new()
                entry.dates = first or last
                for cell in (row[1:] if first else row[:-1]):
                    self.paragraphs(cell, fresh=True)
                self.cur = None
                continue
            for cell in row:  # any other table: its cells' paragraphs in reading order
                self.paragraphs(cell)

    def header_row_entry(self, keys: list[str | None], cells: list[list[Para]], tcs: list[object]) -> None:
        entry = _Entry(category=self.category)
        prev = None
        for key, paras, tc in zip(keys, cells, tcs, strict=True):
            if tc is prev or key is None:
                continue  # the rest of a cell merged across columns
            prev = tc
            paras = [p for p in paras if p.clean]
            if not paras:
                continue
            text = " ".join(p.clean for p in paras)
            if key == "dates":
                entry.dates = date_range(text) or (meta_line(text) or ((None, None), ""))[0] or None
                if entry.dates == (None, None):
                    entry.dates = None
            elif key in ("details", "authors", "venue"):
                entry.lines += [p.clean for p in paras]
                entry.bullets = entry.bullets or any(p.bullet for p in paras) or len(paras) > 1
            elif key == "location":
                entry.location = text
            else:
                entry.explicit[key] = text
        if not entry.explicit and entry.dates is None and self.entries:
            self.entries[-1].lines += entry.lines  # a row of details only: the entry above goes on
            return
        self.entries.append(entry)


_SPLIT_ONE = re.compile(r"\s+[—–|·•]\s+|\s+-\s+|,\s+|\s+at\s+")
_SPLIT_RUNS = re.compile(r"\s+[—–|·•]\s+|\s+-\s+")


def _groups(p: Para) -> list[tuple[str, str]]:
    """(text, format) of a header paragraph's parts: runs of one format, a tab or a line break
    ending a part; spaces and separators take the format of their neighbours."""
    out: list[list] = []
    brk = True
    for r in p.runs:
        for i, piece in enumerate(re.split(r"[\t\n]", r.text)):
            if i > 0:
                brk = True
            if not piece:
                continue
            fmt = ("b" if r.bold else "") + ("i" if r.italic else "")
            inked = bool(re.search(r"\w", piece))
            if out and not brk and (not inked or out[-1][1] == fmt or out[-1][1] is None):
                out[-1][0] += piece
                if inked and out[-1][1] is None:
                    out[-1][1] = fmt
            else:
                out.append([piece, fmt if inked else None])
            brk = False
    return [(t, f or "") for t, f in out if t.strip(_SEP_STRIP)]


def _strip_seps(text: str) -> str:
    """``text`` without separators around it; a parenthesis only when it is unmatched
    ("Norwegian University of Science and Technology (NTNU)" keeps its own)."""
    text = text.strip(_SEP_STRIP.replace("()", ""))
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip()
    while text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].lstrip()
    return text.strip(_SEP_STRIP.replace("()", ""))


def _ends_in_range(text: str) -> bool:
    """``text`` ends with a full date range ("*Senior Data Engineer*   March 2021 – Present")."""
    m = _range_match(text)
    return m is not None and bool(m.group("end")) and not text[m.end():].strip(_SEP_STRIP + ".")


def _location_split(texts: list[str]) -> tuple[list[str], str]:
    """A part list without its trailing "City, Region" (a last part "San Francisco, CA", or two
    last parts that are places)."""
    if len(texts) >= 2 and "," in texts[-1] and is_location(texts[-1]):
        return texts[:-1], texts[-1]
    if len(texts) >= 3 and is_location(f"{texts[-2]}, {texts[-1]}") and "," not in texts[-2] + texts[-1]:
        return texts[:-2], f"{texts[-2]}, {texts[-1]}"
    return texts, ""


def _parts(e: _Entry) -> list[tuple[tuple, str]]:
    """(slot, text) of an entry header's name parts; dates and a trailing location go to the entry."""
    out: list[tuple[tuple, str]] = []
    for li, p in enumerate(e.header):
        groups = []
        for text, fmt in _groups(p):  # a whole range first: "Apr 2020 – Present" is not split at its dash
            m = _range_match(text)
            if m and m.group("end"):
                e.dates = e.dates or _dates(m)
                text = f"{text[: m.start()]} {text[m.end():]}"
            if text.strip(_SEP_STRIP):
                groups.append((text, fmt))
        if not groups:
            continue
        if len(groups) == 1:  # one run: split at strong separators, at commas only when there is none
            strong = [t for t in _SPLIT_RUNS.split(groups[0][0]) if t.strip(_SEP_STRIP)]
            pieces = strong if len(strong) >= 2 else _SPLIT_ONE.split(groups[0][0])
            texts = [(groups[0][1], _strip_seps(t)) for t in pieces]
            if len(texts) == 2 and org_then_city(texts[0][1], texts[1][1]) \
                    and (len(e.header) >= 2 or rf._role_score(texts[0][1])[1] < 0):  # title elsewhere, or an org word
                e.location = e.location or texts[1][1]  # "**Alpinova Énergie, Grenoble**"
                texts = texts[:1]
        else:
            texts = [(fmt, _strip_seps(s)) for t, fmt in groups for s in _SPLIT_RUNS.split(t)]
        texts = [(f, t) for f, t in texts if t]
        kept = []
        for fmt, t in texts:
            d = date_range(t)
            if d:
                e.dates = e.dates or d
                continue
            m = _range_match(t)
            if m and m.start() > 0 and not t[m.end():].strip(_SEP_STRIP + "."):
                e.dates = e.dates or _dates(m)
                t = t[: m.start()].strip(_SEP_STRIP)
            if t:
                kept.append((fmt, t))
        names, loc = _location_split([t for _, t in kept])
        if loc:
            e.location = e.location or loc
        out += [((li, pi, fmt), t) for pi, (fmt, t) in enumerate(kept[: len(names)])]
    return out


def _title_score(text: str) -> int:
    t, o = rf._role_score(text)
    return t + o


def _org_location(text: str) -> tuple[str, str]:
    """An organisation cell "Nexus AI, San Francisco, CA" → ("Nexus AI", "San Francisco, CA")."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    names, loc = _location_split(parts)
    return (", ".join(names), loc) if loc and names else (text.strip(), "")


def _fields(e: _Entry, slots: dict) -> dict[str, str]:
    parts = _parts(e)
    f: dict[str, str] = {}
    if e.explicit:  # a header-row table said which cell is what
        org, loc = _org_location(e.explicit.get("organization", ""))
        e.location = e.location or loc
        if e.category == "education":
            degree = e.explicit.get("degree") or e.explicit.get("title") or e.explicit.get("name", "")
            parsed = rf.parse_header(degree, "education") if degree else {}
            f["degree"] = parsed.get("degree") or degree
            area = parsed.get("area") if parsed.get("degree") else ""
            if e.explicit.get("area") or area:
                f["area"] = e.explicit.get("area") or area
            if org:
                f["organization"] = org
        elif e.category == "projects":
            name = e.explicit.get("name") or e.explicit.get("title") or org
            if name:
                f["name"] = name
        else:
            title = e.explicit.get("title") or e.explicit.get("degree") or e.explicit.get("name", "")
            f.update({k: v for k, v in (("title", title), ("organization", org)) if v})
        parts = []
    texts = [t for _, t in parts]
    f.update(span_fields(e.dates, e.location))
    if not texts:
        return f
    if e.category == "education":  # "Degree in Area" and the institution, as parse_header splits them
        parsed = rf.parse_header(", ".join(texts), "education")
        f.update({k: parsed[k] for k in ("degree", "area", "organization") if parsed.get(k)})
    elif e.category == "projects":  # "Tidewatch" / "Open-source tide forecasting library": the rest describes it
        f["name"] = texts[0]
        rest = ", ".join(texts[1:])
        if rest and rest not in e.lines:
            e.lines.insert(0, rest)
    elif len(parts) >= 2:  # title vs organisation: the slot voted over the document, else the words
        (s0, t0), (s1, t1) = parts[0], parts[1]
        a, b = slots.get(s0, 0), slots.get(s1, 0)
        if a == b:
            a, b = _title_score(t0), _title_score(t1)
        f["title"], f["organization"] = (t0, t1) if a >= b else (t1, t0)
    else:
        f["title" if rf._role_score(texts[0])[0] > 0 else "organization"] = texts[0]
    return f


def _vote(entries: list[_Entry]) -> dict:
    """Score per header slot (paragraph, part, bold / italic): title words minus organisation
    words, summed over the document's job-like entries with two name parts."""
    score: dict = defaultdict(int)
    for e in entries:
        if e.category not in _WORKLIKE or e.explicit:
            continue
        parts = _parts(_Entry(header=e.header))[:2]
        if len(parts) == 2:
            for slot, text in parts:
                score[slot] += _title_score(text)
    return score


# ---------------------------------------------------------------- flat sections
def _flat_items(blocks: list[Para | Table], publications: bool) -> list[str]:
    """One text per item of a flat section: a paragraph (each line of one with manual breaks), a
    table row ("Label: value", "item (date)", or the cells of a header-row table without authors)."""
    items: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            for line in b.text.split("\n"):
                text = " ".join(line.split())
                if b.bullet:
                    text = _GLYPH.sub("", text, count=1).strip()
                if text:
                    items.append(text)
            continue
        keys = header_row(b)
        if keys is not None:  # header row: each row one item, the authors column dropped
            for row, tcs in zip(b.rows[1:], b.tcs[1:], strict=True):
                vals: dict[str, list[str]] = defaultdict(list)
                prev = None
                for key, paras, tc in zip(keys, row, tcs, strict=True):
                    if tc is prev or key is None:
                        continue
                    prev = tc
                    if _cell_text(paras):
                        vals[key].append(_cell_text(paras))
                main = [v for k in ("name", "title", "organization", "degree") for v in vals.get(k, [])]
                rest = [v for k, vs in vals.items() if k not in ("name", "title", "organization", "degree", "dates",
                                                                  "authors") for v in vs]
                if not publications:
                    rest += vals.get("authors", [])
                text = _join_sentences(main + rest)
                if vals.get("dates"):
                    text = f"{text} ({vals['dates'][0]})" if text else vals["dates"][0]
                if text:
                    items.append(text)
            continue
        for row in _unique_cells(b):
            cells = [c for c in row if _cell_text(c)]
            if not cells:
                continue
            texts = [_cell_text(c) for c in cells]
            if len(cells) >= 2 and date_range(texts[0]):  # "2023 | the item": the item, its date after it
                rest = cells[1:]
                if all(p.bullet for c in rest for p in c if p.clean):
                    items += [f"{p.clean} ({texts[0]})" for c in rest for p in c if p.clean]
                else:
                    items.append(f"{_join_sentences(texts[1:])} ({texts[0]})")
            elif len(cells) == 2 and len(texts[0].split()) <= 4 and not re.search(r"[.!?:]$", texts[0]):
                items.append(f"{texts[0]}: {texts[1]}")  # a label cell beside its value
            elif len(cells) == 2 and texts[0].endswith(":"):
                items.append(f"{texts[0]} {texts[1]}")
            else:
                items.append(" · ".join(texts))
    return items


# ---------------------------------------------------------------- document
def _shaped(text: str) -> bool:
    """Short enough to be a section title: 1-6 words, no sentence end, no long number."""
    words = text.split()
    return (1 <= len(words) <= 6 and len(text) <= 50 and not re.search(r"[@.,;!?]$|\d{3,}|\t", text)
            and text[:1].isupper())


def _body_size(paras: list[Para]) -> float:
    c: Counter = Counter()
    for p in paras:
        for r in p.runs:
            c[round(r.size * 2) / 2] += len(r.text.strip())
    return c.most_common(1)[0][0] if c else 10.0


def _unwrap_layout_tables(blocks: list[Para | Table], is_heading: Callable[[str], bool]) -> list[Para | Table]:
    """A table used to lay out the page (a Google Docs / Word template: a narrow column of
    contact, skills and languages beside the main column) replaced by its cells' paragraphs,
    cell by cell, row by row. A table is a layout table when one of its cells holds a paragraph
    that names a known section ("EXPERIENCE", "Skills") with two paragraphs or more after it in
    that cell: a header row ("Highlights") or a label cell ("Languages") stands alone in its cell."""
    out: list[Para | Table] = []
    for b in blocks:
        cells = _unique_cells(b) if isinstance(b, Table) else []
        if any(is_heading(p.clean.rstrip(":")) and not p.bullet and sum(bool(q.clean) for q in cell[k + 1:]) >= 2
               for row in cells for cell in row for k, p in enumerate(cell)):
            out += [p for row in cells for cell in row for p in cell]
        else:
            out.append(b)
    return out


def _name_of(p: Para) -> str:
    return re.split(r"\s+[|·•—–,]\s+|\s*\|\s*", " ".join(p.text.split()))[0].strip()


def read_docx_structure(path: Path, is_heading: Callable[[str], bool],
                        category_of: Callable[[str], str | None]) -> tuple[str | None, list[rf.RawSection]]:
    """Read a Word resume by its structure → ``(name, sections)`` (see the module docstring).

    ``is_heading(text)`` says a short text names a section; ``category_of(title)`` maps a section
    title to a category (None when unknown).

    Raises:
        ResumeError: not a readable .docx (corrupt, encrypted, or another format renamed), or
            no text at all (only images or text boxes); the message says what to do.
    """
    document = open_document(path)
    reader = _Reader(document)
    blocks: list[Para | Table] = []
    for sec in document.sections[:1]:  # a page header of its own holds the name / contact lines
        if not sec.header.is_linked_to_previous:
            blocks += reader.blocks(sec.header)
    blocks += reader.blocks(document)
    blocks = _unwrap_layout_tables(blocks, is_heading)
    all_paras = [p for b in blocks for p in ([b] if isinstance(b, Para) else
                                             [p for r in b.rows for c in r for p in c])]
    if not any(p.clean for p in all_paras):
        raise ResumeError(f"{path}: the .docx has no text (only images or text boxes?); type the resume as "
                          "text in Word, or export a PDF with a text layer, or write a JSON Resume")
    body = _body_size([p for p in all_paras if p.heading is None and not p.title])
    top = [b for b in blocks if isinstance(b, Para) and b.clean]

    # section headings: heading styles at the level whose texts name known sections
    levels = [p.heading for p in top if p.heading is not None and not p.bullet]
    known_levels = [p.heading for p in top if p.heading is not None and is_heading(p.clean)]
    sec_level = min(known_levels or levels) if levels else None
    # ... or a learned look: short paragraphs that stand out and name a known section
    counts: Counter = Counter()
    for p in top:
        if p.heading is None and not p.title and not p.bullet and is_heading(p.clean) and \
                (p.bold or p.caps or p.border or p.size >= 1.08 * body):
            counts[p.sig] += 1
    best = max(counts.values(), default=0)
    looks = {s for s, n in counts.items() if n >= max(2 if best >= 2 else 1, 0.5 * best)}

    def striking(sig: tuple) -> bool:  # a look no body line has: capitals, larger text or a border
        return sig[3] or sig[4] >= 1.08 * body or sig[5]

    def is_section(p: Para) -> bool:
        if p.bullet or p.title or not p.clean:
            return False
        if p.heading is not None:
            return p.heading == sec_level
        if p.sig in looks:
            return is_heading(p.clean) or (striking(p.sig) and _shaped(p.clean.rstrip(":")))
        return not looks and sec_level is None and is_heading(p.clean)  # plain text: the title rule only

    name: str | None = None
    preamble = rf.RawSection("Profile")
    sections: list[rf.RawSection] = []
    spans: list[tuple[rf.RawSection, list[Para | Table]]] = []
    head: list[Para] = []
    for b in blocks:
        if isinstance(b, Para) and is_section(b):
            sec = rf.RawSection(b.clean.rstrip(":").strip())
            sections.append(sec)
            spans.append((sec, []))
        elif spans:
            spans[-1][1].append(b)
        else:  # above the first heading: the page header (a table there is read cell by cell)
            head += [b] if isinstance(b, Para) else [p for r in _unique_cells(b) for c in r for p in c]

    # the name: the Title style, else the largest text at the top, else a name-shaped line
    head = [p for p in head if p.clean]
    name_par = next((p for p in head if p.title), None)
    if name_par is None:
        big = [p for p in head[:8] if p.size >= 1.3 * body]
        name_par = max(big, key=lambda p: p.size, default=None)
    if name_par is None:
        name_par = next((p for p in head if rf._looks_like_name(p.clean)), None)
    if name_par is not None:
        name = _name_of(name_par) or None
    for p in head:
        if p is name_par:
            continue
        for line in p.text.split("\n"):
            text = " ".join(line.split())
            if text and not find_pii(text):  # contact rows (email, phone, URL) are not kept
                rf._append_flat(preamble, text)

    builders: list[tuple[rf.RawSection, _Builder]] = []
    for sec, content in spans:
        category = category_of(sec.title)
        if category in _STRUCTURED:
            builder = _Builder(category, body)
            run: list[Para] = []
            for b in [*content, None]:  # consecutive paragraphs together (a line looks at the next)
                if isinstance(b, Para):
                    run.append(b)
                    continue
                builder.paragraphs(run)
                run = []
                if b is not None:
                    builder.table(b)
            builders.append((sec, builder))
        else:
            pubs = bool(re.search(r"\b(publications?|papers|articles)\b", sec.title, re.IGNORECASE))
            items = _flat_items(content, pubs)
            for item in items:
                rf._append_flat(sec, item)
    slots = _vote([e for _, bld in builders for e in bld.entries])
    for sec, bld in builders:
        sec.entries = [rf.RawEntry(fields=_fields(e, slots), lines=e.lines, bullets=e.bullets)
                       for e in bld.entries]
        sec.entries = [e for e in sec.entries if e.fields or e.lines]
    sections = [s for s in sections if s.entries or category_of(s.title) is not None]
    if preamble.entries:
        sections.insert(0, preamble)
    return name, sections

