"""Ruled tables with a header row ("Period | Employer | Role | Highlights"): one :class:`RowLine` per row.

Part of :mod:`pipeline.resume.layout` (imports :mod:`.dates`, :mod:`.words`, :mod:`.parse`): a Word resume
laid out as tables and exported to PDF keeps its grid lines, which pdfplumber's
``Page.find_tables`` finds. A table whose first row is a row of label words (:func:`label_field`,
shared with the Word reader :mod:`pipeline.resume.docx_reader`) says which column holds which
field, so each data row is read as one entry by its columns instead of by the layout rules; a
table that continues on the next page without its header row inherits the header of the table
before it when its column edges are the same (and a first row holding only the details column
is the rest of the row the page break cut). Tables without a header row are left to the
layout rules (a two-cell date | text row is handled there). Tested by
``pytest tests/test_layout_reader.py -k table`` and measured by
``python benchmarks/layout_bench.py --only word_header_table``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.resume.layout.dates import _LOCATION, parse_range
from pipeline.resume.layout.parse import _join
from pipeline.resume.layout.words import Line, Word, cluster_lines, join_words

_LABELS = (  # a header-row cell's label word → the field its column holds
    ("dates", r"period|dates?|years?|when|duration|from|to|time"),
    ("organization", r"employer|company|organi[sz]ation|institution|school|university|college|unit|"
                     r"organi[sz]er|client|place of work"),
    ("title", r"role|position|title|job|rank|function|occupation"),
    ("degree", r"degree|qualification|diploma|programme|program"),
    ("name", r"project|name|award|patent|talk|paper"),
    ("details", r"highlights?|details?|description|responsibilities|achievements|notes|summary|activities|"
                r"tasks|duties|outcomes?|results?|topics?"),
    ("location", r"location|city|place|country"),
    ("authors", r"authors?|co-?authors?|with"),
    ("venue", r"venue|journal|conference|publisher|published in|event|where"),
    ("area", r"field|area|major|subject|discipline|speciali[sz]ation"),
)
COLUMN_EDGE_TOLERANCE = 3.0  # points: a continued table's column edges match its header table's


def label_field(text: str) -> str | None:
    """The field a header-row label names ("Period" → dates, "Rank / role" → title); None otherwise.

    At most three words; every part (split at "/", "&", "and", "or") must be a label word of
    :data:`_LABELS`, so a data cell ("Northwind Robotics") is never taken for a label.
    """
    words = [w for w in re.split(r"\s*(?:/|&|\band\b|\bor\b)\s*", text.strip().rstrip(":").lower()) if w]
    if not words or len(text.split()) > 3:
        return None
    keys = [next((k for k, rx in _LABELS if re.fullmatch(rx, w)), None) for w in words]
    return keys[0] if all(keys) else None


@dataclass
class RowLine(Line):
    """A data row of a header-row table, as one line of the page flow: ``words`` are all the
    row's words (for its position), ``cells`` the field of each column → its text lines
    (a ``details`` cell: one line per bullet, wrapped lines joined)."""

    cells: dict[str, list[str]] = field(default_factory=dict)


class TableFinder:
    """Finds header-row tables page by page, remembering the last header for continued tables."""

    def __init__(self) -> None:
        self.last: tuple[list[str | None], list[float]] | None = None  # (keys, column x edges)
        self.last_row: RowLine | None = None  # a row that a page break may cut in two

    def page_rows(self, page, words: list[Word], page_no: int) -> tuple[list[Word], list[RowLine]]:
        """``(words outside the tables, one RowLine per data row)`` for one pdfplumber page.

        ``words`` are the page's words (:func:`~pipeline.resume.layout.words.page_words`);
        the words of a header-row table (its header row included) are taken out of the flow.
        """
        rows_out: list[RowLine] = []
        taken: set[int] = set()
        for table in page.find_tables():
            grid = [row.cells for row in table.rows]
            if not grid or len(grid[0]) < 2:
                continue
            edges = sorted({round(c[0], 1) for row in grid for c in row if c} | {round(table.bbox[2], 1)})
            header = [self._cell(words, c) for c in grid[0]]
            keys = [label_field(" ".join(h)) if h else None for h in header]
            body = grid[1:]
            if not (sum(k is not None for k in keys) >= 2 and all(k or not h for k, h in zip(keys, header, strict=True))):
                if self.last is None or not _same_edges(self.last[1], edges):
                    continue
                keys, body = self.last[0], grid  # a table running on from the page before
            self.last = (keys, edges)
            x0, top, x1, bottom = table.bbox
            taken |= {id(w) for w in words if x0 - 1 <= (w.x0 + w.x1) / 2 <= x1 + 1 and top - 1 <= w.mid <= bottom + 1}
            for row in body:
                cells: dict[str, list[str]] = {}
                row_words: list[Word] = []
                for key, box in zip(keys, row, strict=False):
                    if key is None or box is None:
                        continue
                    inside = [w for w in words if _inside(w, box)]
                    row_words += inside
                    lines = self._cell(words, box)
                    if lines:
                        cells.setdefault(key, []).extend(lines)
                if not (row_words and cells):
                    continue
                if body is grid and row is grid[0] and self.last_row is not None and set(cells) <= {"details"}:
                    box = row[keys.index("details")]  # the rest of the row a page break cut
                    rest = _cell_items(words, box)
                    done = self.last_row.cells.setdefault("details", [])
                    if rest and not rest[0][1] and done:  # the cut bullet runs on
                        done[-1] = _join(done[-1], rest.pop(0)[0])
                    done.extend(text for text, _ in rest)
                    continue
                self.last_row = RowLine(sorted(row_words, key=lambda w: (w.mid, w.x0)), page_no, col=(x0, x1),
                                        cells=cells)
                rows_out.append(self.last_row)
        return [w for w in words if id(w) not in taken], rows_out

    @staticmethod
    def _cell(words: list[Word], box) -> list[str]:
        """A cell's text: one entry per bullet (a line opening with a glyph starts one), other
        lines joined to the one before (a word hyphenated at the break is joined)."""
        return [text for text, _bullet in _cell_items(words, box)]


def _cell_items(words: list[Word], box) -> list[tuple[str, bool]]:
    """(text, opens with a bullet glyph) per item of a cell; see :meth:`TableFinder._cell`."""
    if box is None:
        return []
    items: list[tuple[str, bool]] = []
    for ln in cluster_lines([w for w in words if _inside(w, box)]):
        bullet = ln[0].glyph
        text = join_words([w for w in ln if not (w.glyph and w is ln[0])]).strip()
        if not text:
            continue
        if items and not bullet:
            items[-1] = (_join(items[-1][0], text), items[-1][1])
        else:
            items.append((text, bullet))
    return items


def _inside(w: Word, box) -> bool:
    x0, top, x1, bottom = box
    return x0 <= (w.x0 + w.x1) / 2 <= x1 and top <= w.mid <= bottom


def _same_edges(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= COLUMN_EDGE_TOLERANCE for x, y in zip(a, b, strict=True))


def row_fields(row: RowLine, category: str) -> tuple[dict[str, str], list[str]]:
    """``(fields, lines)`` of a structured entry from a header-row table row: ``dates`` →
    ``start_date`` / ``end_date``; an organization cell ending in "City, Region" ("Northwind
    Robotics, Gothenburg, Sweden") → ``organization`` and ``location``; ``title``, ``degree``, ``name``,
    ``area``, ``location`` as written; ``details`` → the entry's lines (one per bullet)."""
    cells = {k: " ".join(v) for k, v in row.cells.items() if k != "details"}
    f: dict[str, str] = {}
    r = parse_range(cells.get("dates", ""))
    if r:
        f["start_date"] = r[0]
        if r[1]:
            f["end_date"] = r[1]
    org = cells.get("organization", "")
    parts = [p.strip() for p in org.split(",")]
    if len(parts) > 2 and _LOCATION.match(", ".join(parts[-2:])):  # "Org, City, Region"
        org, f["location"] = ", ".join(parts[:-2]), ", ".join(parts[-2:])
    if org:
        f["organization"] = org
    for key in ("title", "degree", "name", "area", "location"):
        if cells.get(key):
            f[key] = cells[key]
    if category == "projects" and "name" not in f and f.get("title"):
        f["name"] = f.pop("title")
    return f, list(row.cells.get("details", []))


def row_text(row: RowLine, publications: bool) -> str:
    """A flat section's item from a header-row table row: a publication as "Title. Venue (Year)"
    (the authors column dropped: co-authors are not facts about the person), any other row as
    its cells joined with " — "."""
    cells = {k: " ".join(v) for k, v in row.cells.items()}
    if publications and (cells.get("name") or cells.get("title")):
        title = (cells.get("name") or cells.get("title", "")).rstrip(".")
        venue = cells.get("venue", "").rstrip(".")
        year = cells.get("dates", "")
        return f"{title}. {venue}" + (f" ({year})" if year else "") if venue else title + (f" ({year})" if year else "")
    return " — ".join(v for k, v in cells.items() if v)
