"""Columns and reading order: a page's words → its lines, column by column.

Part of :mod:`pipeline.resume.layout` (imports :mod:`.dates`, :mod:`.words`, :mod:`.parse`,
:mod:`.headings`). :func:`find_columns` looks for a vertical gutter that no word crosses: in
the middle of the page it splits it into two independent columns (read one after the other,
and across consecutive two-column pages); near the left edge, with right-aligned or clearly
separated short fragments on its left, it marks a margin column of dates and labels, whose
blocks go to the body line beside them (:func:`page_lines`), a capitals line with no body line
beside it being a section title (:func:`margin_heading`). A table's narrow date cell is moved
to the margin per line (:func:`split_date_cells`) and page furniture is dropped;
:func:`read_lines` does all of it for one PDF. Tested by
``pytest tests/test_layout_reader.py -k "column or margin or cell"``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ResumeError
from pipeline.resume import formats as rf
from pipeline.resume.layout.dates import _LOCATION, _MON, is_date_range, parse_range
from pipeline.resume.layout.headings import _caps, _heading_shaped
from pipeline.resume.layout.parse import segments
from pipeline.resume.layout.tables import RowLine, TableFinder
from pipeline.resume.layout.words import Line, Word, cluster_lines, join_words, page_words, text_layer_problem
from pipeline.resume.pii import find_pii

log = logging.getLogger(__name__)


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
                return Columns("two" if _sidebar(text, g) else "margin", g)
    return Columns("single")


SIDEBAR_BESIDE_SHARE = 0.6  # a margin column's lines sit beside body lines; a sidebar's mostly do not


def _sidebar(text: list[Word], g: float) -> bool:
    """Whether a narrow left column is a sidebar with a flow of its own (contact, skills,
    education) rather than a margin column of dates and labels: it has six lines or more and
    fewer than :data:`SIDEBAR_BESIDE_SHARE` of them sit beside a body line (vertical centres
    within 0.35 em). Measured on the corpus: moderncv and europass margins 0.71–1.0 of their
    lines beside a body line, a minipage sidebar 0.42."""
    left = cluster_lines([w for w in text if w.x1 <= g])
    body = cluster_lines([w for w in text if w.x0 >= g])
    if len(left) < 6:
        return False
    mids = [sum(w.mid for w in ln) / len(ln) for ln in body]
    beside = sum(any(abs(sum(w.mid for w in ln) / len(ln) - m) <= 0.35 * max(w.size for w in ln) for m in mids)
                 for ln in left)
    return beside < SIDEBAR_BESIDE_SHARE * len(left)


def _margin_blocks(lines: list[list[Word]], body: list[Line]) -> list[list[list[Word]]]:
    """Margin-column lines grouped into blocks (a date over two lines is one block): a line joins
    the block above when the gap is under 0.35 em, unless both are labels without digits that
    each sit beside a body line of their own ("Technical" / "Languages" beside two skills lines)."""

    def beside(ln: list[Word]) -> Line | None:
        mid = sum(w.mid for w in ln) / len(ln)
        return next((b for b in body if abs((b.top + b.bottom) / 2 - mid) <= 0.35 * b.size), None)

    blocks: list[list[list[Word]]] = []
    for ln in lines:
        if blocks:
            prev = blocks[-1][-1]
            size = max(w.size for w in prev)
            if min(w.top for w in ln) - max(w.bottom for w in prev) <= 0.35 * size:
                a, b = beside(prev), beside(ln)
                labels = not any(c.isdigit() for w in prev + ln for c in w.text)
                if not (labels and a is not None and b is not None and a is not b):
                    blocks[-1].append(ln)
                    continue
        blocks.append([ln])
    return blocks


def _margin_title(block: list[list[Word]]) -> bool:
    """A margin block that reads as a section title: one line, heading-shaped, in capitals, no
    digit ("EXPERIENCE", "EDUCATION" in a res.cls-like margin)."""
    text = " ".join(join_words(ln) for ln in block)
    return len(block) == 1 and _caps(text) and _heading_shaped(text) and not re.search(r"\d", text)


def margin_heading(words: list[Word], body: list[Line]) -> bool:
    """Whether a margin-column line is a section title set in the label column (a Europass-style
    CV: "EDUCATION" with a rule beside it): heading-shaped, in capitals or larger than the body
    lines' median size ("Education" in 12 pt over 10 pt text), not a date, and no body line beside it. It is read as a line of its own, not as the label of the next row."""
    text = join_words(words)
    top, bottom = min(w.top for w in words), max(w.bottom for w in words)
    sizes = sorted(ln.size for ln in body)
    larger = bool(sizes) and min(w.size for w in words) >= 1.15 * sizes[len(sizes) // 2]
    if not (_caps(text) or larger) or not _heading_shaped(text) or parse_range(text) or all(w.glyph for w in words):
        return False
    return not any(ln.top < bottom - 1 and ln.bottom > top + 1 for ln in body)


def _beside_other_column(ln: list[Word], rough: list[list[Word]], g: float) -> bool:
    """A line wholly on one side of the gutter with a line wholly on the other side overlapping
    it vertically: the columns have begun (a two-line name "Camille" / "Fontaine" in the left
    cell of a layout table, "EXPERIENCE" at the top of the right one)."""
    left = all(w.x1 <= g for w in ln)
    if not left and not all(w.x0 >= g for w in ln):
        return False
    top, bottom = min(w.top for w in ln), max(w.bottom for w in ln)
    for other in rough:
        if other is ln or not (all(w.x0 >= g for w in other) if left else all(w.x1 <= g for w in other)):
            continue
        if min(w.top for w in other) < bottom and max(w.bottom for w in other) > top:
            return True
    return False


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
        if not any(w.x0 < g < w.x1 and not w.glyph for w in ln) and _beside_other_column(ln, rough, g):
            break  # a large name in one column beside the other column's first heading
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
    blocks = _margin_blocks(margin_lines, body)
    titled = [b for b in blocks if _margin_title(b)]
    titles: list[Line] = []
    for block in blocks:
        text = " ".join(join_words(ln) for ln in block)
        if all(w.glyph for ln in block for w in ln):
            continue
        if len(titled) >= 2 and block in titled:  # res.cls: section titles in the margin, beside their first line
            heading = Line([w for ln in block for w in ln], page, col=body_box)
            body.append(heading)
            titles.append(heading)
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
    order = {id(t) for t in titles}

    def key(ln: Line) -> tuple[float, int]:  # a margin title before the body line on its baseline
        return (round(ln.top) if id(ln) in order else round(ln.top), 0 if id(ln) in order else 1)

    body.sort(key=key)
    return head, sorted(body + tail, key=key), []


def read_lines(path: Path) -> tuple[list[Line], float]:
    """All lines of the PDF in reading order, and the body text size (points).

    Two-column pages are read column by column, and consecutive two-column pages as one flow
    per column (page 1 left, page 2 left, page 1 right, page 2 right), as paracol-style
    templates continue each column on the next page; a one-column page whose text stops where
    the right column would start is the left column running on (:func:`_continues_left`).

    Raises:
        ResumeError: the text layer is garbage (see :func:`text_layer_problem`).
    """
    import pdfplumber

    pages_words: list[list[Word]] = []
    pages_rows: list[list[RowLine]] = []  # header-row tables, read by their columns
    all_words: list[Word] = []
    chars: list[str] = []
    tables = TableFinder()
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            chars += [c.get("text", "") for c in page.chars]
            words = page_words(page)
            all_words += words
            words, rows = tables.page_rows(page, words, len(pages_words))
            pages_words.append(words)
            pages_rows.append(rows)
    problem = text_layer_problem(chars)
    if problem:
        raise ResumeError(f"{path}: the PDF's text layer is garbage ({problem}), so the resume cannot be read; "
                          "run OCR on it (e.g. ocrmypdf --force-ocr), export it again with a real text layer "
                          "(fonts embedded with Unicode maps), or write a JSON Resume and point resume_path at it")
    unnamed = sum(len(w.text) for w in all_words if w.font.lower() in ("unknown", ""))
    if all_words and unnamed >= 0.9 * sum(len(w.text) for w in all_words):
        log.warning("%s: the PDF's fonts carry no names (bitmap Type 3 fonts), so bold and italic cannot be "
                    "told apart and entries may split; check `preview`, or rebuild the PDF with outline fonts "
                    "(LaTeX: \\usepackage{lmodern} or cm-super) or write a JSON Resume", path)
    sizes: Counter = Counter()
    for w in all_words:
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
        start = len(ordered)
        for i, (head, left, _right) in enumerate(run):
            ordered.extend((head if i else []) + left)
        right = [ln for _head, _left, r in run for ln in r]
        k = 0
        while k < len(right) and k < 6 and _contact_line(right[k].text):
            k += 1  # a sidebar's contact block above its first heading belongs to the page head
        ordered[start:start] = right[:k]
        ordered.extend(right[k:])
        run = []

    for i, words in enumerate(pages_words):
        rows = pages_rows[i]
        if not words:
            if rows:
                flush()
                run_gutter = None
                ordered.extend(rows)
            continue
        cols = find_columns(words, run_gutter)
        parts = page_lines(words, i, cols)
        if rows:  # table rows take their place in the page's flow (a one-column page: its head)
            k = 0 if cols.kind == "single" else 1
            parts = tuple(sorted(part + rows, key=lambda ln: ln.top) if j == k else part
                          for j, part in enumerate(parts))
        if cols.kind == "two" and (run_gutter is None or abs(cols.gutter - run_gutter) <= 15):
            run.append(parts)
            run_gutter = cols.gutter
            continue
        if cols.kind == "single" and run and _continues_left(words, run):
            run.append(([], parts[0], []))  # the main column runs on; the sidebar ended on the page before
            continue
        flush()
        run_gutter = None
        if cols.kind == "two":
            run.append(parts)
            run_gutter = cols.gutter
            continue
        ordered.extend(parts[0] + parts[1])
    flush()
    return _drop_furniture(join_date_tails(split_date_cells(ordered))), body_size


_URL = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?$", re.IGNORECASE)


def _contact_line(text: str) -> bool:
    """A contact line of a sidebar: an email, a phone number, a web address or a "City, Country"."""
    text = text.strip()
    return bool(text) and (bool(find_pii(text)) or bool(_URL.match(text)) or _LOCATION.match(text))


def _continues_left(words: list[Word], run: list[tuple[list[Line], list[Line], list[Line]]]) -> bool:
    """A one-column page after two-column pages that is the left column running on (a main
    column whose sidebar ended on the page before): its text stops short of the right column,
    within a quarter of that column's width from where the column starts."""
    right = [ln for _h, _l, r in run for ln in r]
    if not right:
        return False
    start, end = min(ln.col[0] for ln in right), max(ln.col[1] for ln in right)
    return max(w.x1 for w in words) < start + 0.25 * (end - start)


def _open_date(text: str) -> bool:
    """A date cut short by a line break: it ends with a dash or a month name ("Sept 2018 – May")."""
    return bool(re.search(rf"(?:[-–—‐‑‒−]|\b{_MON})\s*$", text.strip(), re.IGNORECASE))


_DASH_START = re.compile(r"^\s*[-–—‐‑‒−]")  # "– Present", the second line of a two-line date cell


def split_date_cells(lines: list[Line]) -> list[Line]:
    """Find a table's narrow date cell beside the text (a Word table: "Sept 2018 – May" /
    "2023" on the left, the header from a common x on the right) and move it to
    :attr:`Line.margin`. Candidates are lines whose second segment starts at one x shared by
    three or more lines; a cell wrapped over two lines is joined when the first part is cut
    short (:func:`_open_date`) or the second opens with a dash ("Mar 2021" / "– Present") and
    the joined text is a date range. Applied when two or more
    such cells are date ranges, to those cells only."""
    cand = {}
    for i, ln in enumerate(lines):
        segs = segments(ln.words)
        if not ln.margin and len(segs) >= 2 and not segs[0][0].glyph and not isinstance(ln, RowLine):
            cand[i] = segs
    xs = Counter(round(segs[1][0].x0) for segs in cand.values())
    for x, n in xs.most_common():
        if n < 3:
            break
        rows = [i for i, segs in cand.items() if abs(segs[1][0].x0 - x) <= 1.5]
        blocks: list[list[int]] = []
        for i in rows:
            if blocks and blocks[-1][-1] == i - 1 and len(blocks[-1]) == 1 \
                    and (_open_date(_cell_text(cand, blocks[-1])) or _DASH_START.match(_cell_text(cand, [i]))) \
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


def join_date_tails(lines: list[Line]) -> list[Line]:
    """Join a date cell's second line printed on a line of its own ("– Present" under a line
    whose margin is "Jan 2023") to that margin: "Jan 2023 – Present" (only when the margin is a
    single date, the tail opens with a dash and the two make a date range); and a right-aligned
    range cut short at the line's end ("... Jan 2016 – Aug" / "2017") to its line."""
    out: list[Line] = []
    for ln in lines:
        prev = out[-1] if out else None
        text = ln.text.strip()
        if prev is not None and ln.page == prev.page and 0 <= ln.top - prev.bottom <= 0.8 * ln.size \
                and _open_range_end(prev) and re.fullmatch(rf"(?:{_MON})?\s*(?:18|19|20)\d{{2}}", text, re.IGNORECASE):
            prev.words = prev.words + ln.words  # "Jan 2016 – Aug" / "2017": a right-aligned date wrapped
            continue
        if prev is not None and prev.margin and not ln.margin and ln.page == prev.page and _DASH_START.match(text) \
                and (r := parse_range(prev.margin)) and not r[1] and is_date_range(f"{prev.margin} {text}") \
                and parse_range(f"{prev.margin} {text}")[1]:
            prev.margin = f"{prev.margin} {text}"
            continue
        out.append(ln)
    return out


def _open_range_end(line: Line) -> bool:
    """The line's last segment is a date range cut short ("Jan 2016 – Aug", "2019 –")."""
    segs = segments(line.words)
    last = join_words(segs[-1]) if segs else ""
    return len(segs) >= 2 and _open_date(last) and bool(parse_range(last))


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
