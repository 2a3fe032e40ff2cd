"""The layout-aware PDF reader (:mod:`pipeline.resume.layout`) on small synthetic inputs.

Run: ``pytest tests/test_layout_reader.py``. Word lists stand in for pdfplumber's word boxes
(points, top-left origin); the PDFs are drawn with reportlab (dev extra) in a temporary folder.
The corpus itself is scored by ``tests/test_layout_corpus.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ResumeError
from pipeline.resume.ingest import category_for, ingest
from pipeline.resume.layout.columns import find_columns, margin_heading, page_lines, split_date_cells
from pipeline.resume.layout.dates import is_date_range, parse_range
from pipeline.resume.layout.entries import (
    _entries,
    _Entry,
    _line_location,
    continues_header,
    decap,
    join_wrapped,
    label_field,
)
from pipeline.resume.layout.headings import caps_styles, heading_styles, stands_as_heading
from pipeline.resume.layout.parse import leading_range, parse_line
from pipeline.resume.layout.publications import _flat_items, publication_items
from pipeline.resume.layout.reader import _name_line
from pipeline.resume.layout.words import (
    Line,
    Word,
    cluster_lines,
    fold_accent_chars,
    join_words,
    text_layer_problem,
)


def W(text: str, x0: float, top: float, size: float = 10.0, font: str = "Body-Regular",  # noqa: N802
      width: float | None = None) -> Word:
    """A word box: ``width`` defaults to half an em per character."""
    x1 = x0 + (width if width is not None else 0.5 * size * len(text))
    return Word(text, x0, x1, top, top + size, size, font)


def words_line(text: str, x0: float, top: float, **kw) -> list[Word]:
    out, x = [], x0
    for t in text.split():
        w = W(t, x, top, **kw)
        out.append(w)
        x = w.x1 + 0.3 * w.size
    return out


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize("text, want", [
    ("Mar. 2021 – Present", ("2021-03", "present")),
    ("Sept 2018 -- May 2023", ("2018-09", "2023-05")),
    ("03/2021 – present", ("2021-03", "present")),
    ("Mar.2021‑Present", ("2021-03", "present")),
    ("2021-03 to 2022-11", ("2021-03", "2022-11")),
    ("2017 – 2020", ("2017", "2020")),
    ("2022", ("2022", "")),
])
def test_date_ranges_in_every_printed_form(text, want):
    assert parse_range(text) == want
    assert is_date_range(text)


def test_text_with_a_date_is_not_a_date_range():
    assert not is_date_range("Led a team of 6 from 2019")
    assert parse_range("Led a team of 6 from 2019") == ("2019", "")
    assert parse_range("right now we ship") is None


# ---------------------------------------------------------------- lines
def test_small_bullet_glyph_joins_its_text_line():
    text = words_line("Led a team of six", 69, 193, size=9)
    bullet = [W("•", 60, 195, size=5)]
    below = words_line("Built the service", 69, 205, size=9)
    lines = cluster_lines(text + bullet + below)
    assert [join_words(ln) for ln in lines] == ["• Led a team of six", "Built the service"]


def test_words_join_by_gap_not_by_box():
    a, b = W("Lead", 10, 0, width=20), W(",", 30.2, 0, width=2)
    c = W("Code", 34, 0, width=20)
    assert join_words([a, b, c]) == "Lead, Code"


def test_spacing_accents_fold_into_their_letter():
    chars = [{"text": "o", "x0": 10.0, "x1": 15.0, "top": 0.0, "bottom": 10.0, "size": 10.0},
             {"text": "¨", "x0": 11.0, "x1": 14.0, "top": -1.0, "bottom": 3.0, "size": 10.0},
             {"text": "g", "x0": 15.0, "x1": 20.0, "top": 0.0, "bottom": 10.0, "size": 10.0}]
    assert [c["text"] for c in fold_accent_chars(chars)] == ["ö", "g"]


# ---------------------------------------------------------------- columns
def _page(rows: list[tuple[str, float, float]], **kw) -> list[Word]:
    return [w for text, x, top in rows for w in words_line(text, x, top, **kw)]


def test_one_column_page_has_no_gutter():
    vocab = "a an the engineer led built shipped systems search ranking of to with for 2M+ users".split()
    rows = [(" ".join(vocab[(i * 7 + j * 3) % len(vocab)] for j in range(14)), 40, 100 + 12 * i)
            for i in range(20)]
    assert find_columns(_page(rows)).kind == "single"


def test_two_columns_are_found_and_read_one_after_the_other():
    left = [(f"left column line {i} about work", 40, 100 + 12 * i) for i in range(20)]
    right = [(f"right column {i} skills", 330, 100 + 12 * i) for i in range(20)]
    words = _page(left + right)
    cols = find_columns(words)
    assert cols.kind == "two" and 200 < cols.gutter < 330
    head, lcol, rcol = page_lines(words, 0, cols)
    assert lcol[0].text.startswith("left column line 0") and rcol[0].text == "right column 0 skills"
    assert all("right" not in ln.text for ln in lcol)


def test_margin_column_of_dates_attaches_to_the_body_line():
    rows, words = [], []
    for i in range(6):
        top = 100 + 40 * i
        rows.append((f"Engineer number {i} at a company somewhere far away", 122, top))
        rows.append((f"did the work of {i} people with care and with tools", 132, top + 12))
        date = words_line(f"{2010 + i} –", 0, top)
        shift = 118 - date[-1].x1  # right-aligned against the gutter, as moderncv does
        words += [Word(w.text, w.x0 + shift, w.x1 + shift, w.top, w.bottom, w.size, w.font) for w in date]
        end = words_line("Present", 0, top + 12)[0]
        words.append(Word(end.text, 118 - (end.x1 - end.x0), 118, end.top, end.bottom, end.size, end.font))
    words += _page(rows)
    cols = find_columns(words)
    assert cols.kind == "margin" and 115 < cols.gutter < 122
    _head, body, _ = page_lines(words, 0, cols)
    first = next(ln for ln in body if ln.text.startswith("Engineer number 0"))
    assert first.margin == "2010 – Present"
    assert parse_line(first).dates == ("2010", "present")


# ---------------------------------------------------------------- headings and header parts
def test_heading_style_is_learned_from_known_titles():
    lines = [Line(words_line(t, 40, top, size=s, font=f)) for t, top, s, f in [
        ("Experience", 100, 14, "Sans-Bold"), ("Volunteer Coding Instructor", 120, 12, "Sans-Regular"),
        ("body text that is long enough to count as body", 140, 10, "Sans-Regular"),
        ("Education", 160, 14, "Sans-Bold"), ("Selected Honors", 180, 14, "Sans-Bold")]]
    styles = heading_styles(lines, 10.0, category_for)
    assert styles == {("Sans-Bold", 14.0)}


def test_small_caps_header_parts_read_in_title_case():
    assert decap("MASTER OF SCiENCE iN COMPUTER SCiENCE") == "Master of Science in Computer Science"
    assert decap("CO-FOUNDER & CTO") == "Co-Founder & CTO"
    assert decap("Northwind Robotics") == "Northwind Robotics"


def test_meta_line_with_inline_separator():
    p = parse_line(Line(words_line("Gothenburg, Sweden · 2021-03 – present", 40, 0)))
    assert p.meta_only and p.dates == ("2021-03", "present") and p.location == "Gothenburg, Sweden"


def test_job_header_is_not_taken_for_a_location():
    p = parse_line(Line(words_line("Google DeepMind, Research Intern", 40, 0), col=(40, 560)))
    assert not p.meta_only and p.location == "" and p.text == "Google DeepMind, Research Intern"


# ---------------------------------------------------------------- text layer
def test_garbage_text_layer_is_detected():
    assert text_layer_problem(["(cid:12)"] * 300 + list("abc")) is not None
    assert text_layer_problem(list("Machine learning engineer with nine years of experience")) is None
    assert text_layer_problem(["\ue000"] * 200 + list("Name")) is not None


def _canvas():
    return pytest.importorskip("reportlab.pdfgen.canvas", reason="reportlab (dev extra) not installed")


def test_garbage_pdf_raises_one_clear_error(tmp_path: Path):
    path = tmp_path / "garbage.pdf"
    c = _canvas().Canvas(str(path), pagesize=(595, 842))
    c.setFont("Helvetica", 10)
    for i in range(40):
        c.drawString(40, 800 - 14 * i, "#$%& *@!^ ~+=<> {}[] |\\/ ?;: " * 2)
    c.showPage()
    c.save()
    with pytest.raises(ResumeError) as err:
        ingest(path)
    msg = str(err.value)
    assert str(path) in msg and "OCR" in msg and "text layer" in msg and "JSON Resume" in msg


def test_two_line_headers_with_right_aligned_dates(tmp_path: Path):
    """Jake's-resume shape: bold title + right date, italic organisation + right location."""
    path = tmp_path / "jake.pdf"
    c = _canvas().Canvas(str(path), pagesize=(612, 792))
    y = 740
    c.setFont("Helvetica-Bold", 20)
    c.drawString(40, y, "Ada Example")
    y -= 40
    c.setFont("Helvetica-Bold", 13)
    c.drawString(40, y, "Experience")
    jobs = [("Senior Data Engineer", "Harbor Freight Systems", "Jan 2020 – Present", "Austin, TX", 3),
            ("Software Developer", "Blue Lantern Studio", "June 2016 – Dec 2019", "Denver, CO", 2)]
    for title, org, dates, place, n in jobs:
        y -= 22
        c.setFont("Helvetica-Bold", 10)
        c.drawString(50, y, title)
        c.setFont("Helvetica", 10)
        c.drawRightString(560, y, dates)
        y -= 12
        c.setFont("Helvetica-Oblique", 10)
        c.drawString(50, y, org)
        c.drawRightString(560, y, place)
        for i in range(n):
            y -= 12
            c.setFont("Helvetica", 10)
            c.drawString(60, y, "•")
            c.drawString(70, y, f"Shipped thing number {i} that made the pipeline {i + 2}x faster.")
    y -= 30
    c.setFont("Helvetica-Bold", 13)
    c.drawString(40, y, "Skills")
    c.setFont("Helvetica", 10)
    c.drawString(50, y - 16, "Languages: Python, Go, SQL")
    c.drawString(50, y - 28, "Tools: Docker, Airflow")
    c.showPage()
    c.save()
    resume = ingest(path)
    work = [f for f in resume.facts if f.category == "work_experience"]
    heads = [f for f in work if resume.text[f.span[0] - 2:f.span[0]] != "- "]
    got = [(f.fields["title"], f.fields["organization"], f.fields["start_date"], f.fields.get("end_date"),
            f.fields.get("location")) for f in heads]
    assert got == [("Senior Data Engineer", "Harbor Freight Systems", "2020-01", "present", "Austin, TX"),
                   ("Software Developer", "Blue Lantern Studio", "2016-06", "2019-12", "Denver, CO")]
    assert len(work) - len(heads) == 5  # the bullets
    assert resume.name == "Ada Example"
    assert len([f for f in resume.facts if f.category == "technical_skills"]) == 2


# ---------------------------------------------------------------- held-out layout rules
def test_a_word_left_of_the_previous_one_starts_a_new_line():
    assert join_words(words_line("UNIVERSITY OF", 54, 0) + words_line("WASHINGTON", 54, 12)) == \
        "UNIVERSITY OF WASHINGTON"


def test_wrapped_header_lines_of_a_narrow_column_are_joined():
    col = (54.0, 190.0)
    bold = dict(size=11, font="Sans-Bold")
    lines = [Line(words_line("MASTER OF SCIENCE IN", 54, 100, **bold), col=col),
             Line(words_line("COMPUTER SCIENCE", 54, 113, **bold), col=col),
             Line(words_line("GPA: 3.9, Top of class", 54, 126), col=col),
             Line(words_line("Fulbright Scholarship", 54, 138), col=col)]
    joined = join_wrapped(lines, ("Body-Regular", 10.0))
    assert [ln.text for ln in joined] == ["MASTER OF SCIENCE IN COMPUTER SCIENCE", "GPA: 3.9, Top of class",
                                          "Fulbright Scholarship"]  # body-style lines keep their own rule


def test_bold_body_sized_entry_header_is_not_a_heading():
    bold = dict(font="Serif-Bold")
    known = Line(words_line("EXPERIENCE", 270, 100, **bold), col=(54, 558))
    org = Line(words_line("Princeton University", 54, 120, **bold) + words_line("Princeton, NJ", 490, 120, **bold),
                   col=(54, 558))
    plain = Line(words_line("Northwind Robotics", 54, 140, **bold), col=(54, 558))
    other = Line(words_line("SELECTED TALKS", 270, 160, **bold), col=(54, 558))
    caps = caps_styles([known, org, plain, other], {known.style}, category_for)
    assert caps == {known.style}
    assert not stands_as_heading(org, 10.0, caps)  # a right-aligned part beside it
    assert not stands_as_heading(plain, 10.0, caps)  # not in capitals like the headings
    assert stands_as_heading(other, 10.0, caps)


def test_date_range_opening_a_header_is_split_off():
    p = parse_line(Line(words_line("March 2021 – present Staff Engineer, Northwind", 57, 0), col=(57, 540)))
    assert p.dates == ("2021-03", "present") and p.text == "Staff Engineer, Northwind"
    r, rest = leading_range(words_line("2021 NeuralPrune", 57, 0))
    assert r is None and join_words(rest) == "2021 NeuralPrune"  # a lone year stays in the text


def test_header_wrapped_into_a_body_font_line_is_continued():
    col = (57.0, 300.0)
    head = parse_line(Line(words_line("MSc, Royal Institute, Stock-", 57, 0, font="Serif-Bold")
                                   + [W("x", 296, 0, width=4)], col=col))
    head.words = head.words[:-1]
    head.words[-1] = Word("Stock-", head.words[-1].x0, 296, 0, 10, 10, "Serif-Bold")
    rest = parse_line(Line(words_line("holm, Sweden", 57, 12), col=col))
    assert continues_header(head, rest)
    short = parse_line(Line(words_line("MSc, Royal Institute,", 57, 0, font="Serif-Bold"), col=col))
    assert not continues_header(short, rest)  # it does not reach the right edge


def test_wrapped_date_cell_of_a_table_goes_to_the_margin():
    col = (51.0, 555.0)
    rows = [("Mar 2021 –", "Northwind Robotics, Gothenburg, Sweden", 100), ("Present", "Staff Engineer", 113),
            ("Jan 2018 – Feb", "Tidewater Analytics, Seattle, WA", 140), ("2021", "Senior Engineer", 153),
            ("Languages", "Python, Go", 180)]
    lines = [Line(words_line(a, 51, top) + words_line(b, 147.5, top), col=col) for a, b, top in rows]
    out = split_date_cells(lines)
    assert [(ln.margin, ln.text) for ln in out[:4]] == [
        ("Mar 2021 – Present", "Northwind Robotics, Gothenburg, Sweden"), ("", "Staff Engineer"),
        ("Jan 2018 – Feb 2021", "Tidewater Analytics, Seattle, WA"), ("", "Senior Engineer")]
    assert out[4].margin == "" and out[4].text == "Languages Python, Go"  # not a date: left alone
    assert parse_line(out[0]).dates == ("2021-03", "present")


def test_trailing_city_region_of_a_header_line_is_its_location():
    e = _Entry()
    assert _line_location(e, ["Northwind Robotics", "Gothenburg", "Sweden"]) == ["Northwind Robotics"]
    assert e.location == "Gothenburg, Sweden"
    e = _Entry()
    assert _line_location(e, ["NVIDIA Research", "Santa Clara, CA"]) == ["NVIDIA Research"]
    assert _line_location(_Entry(), ["Research Intern"]) == ["Research Intern"]


# ---------------------------------------------------------------- publications, label rows (second held-out set)
def _texts(rows, col=(54.0, 560.0)):
    return [Line(words_line(t, x, top, **kw), col=col, margin=m) for t, x, top, kw, m in rows]


def test_publication_items_open_at_the_first_lines_style():
    bold, ital = dict(font="Sans-Bold"), dict(font="Sans-Italic", size=9)
    lines = _texts([("Sparse Routing for Trillion-Parameter", 54, 100, bold, ""),
                    ("Models", 54, 112, bold, ""),  # wrapped title: same style right below, no sentence end
                    ("Ada Lovelace, Alan Turing", 54, 124, {}, ""),
                    ("ICML 2022, July 2022", 54, 136, ital, ""),
                    ("Neural Pruning at Scale", 54, 152, bold, ""),
                    ("Alan Turing, Ada Lovelace", 54, 164, {}, ""),
                    ("NeurIPS 2021", 54, 176, ital, "")])
    assert publication_items(lines) == [
        "Sparse Routing for Trillion-Parameter Models Ada Lovelace, Alan Turing ICML 2022, July 2022",
        "Neural Pruning at Scale Alan Turing, Ada Lovelace NeurIPS 2021"]


def test_numbered_publications_run_to_the_next_number():
    lines = _texts([("1. Ada Lovelace, Alan Turing. Sparse Routing for Trillion-", 54, 100, {}, ""),
                    ("Parameter Models. ICML 2022.", 68, 112, {}, ""),
                    ("2. Alan Turing. Neural Pruning. NeurIPS 2021.", 54, 124, {}, "")])
    assert publication_items(lines) == [
        "Ada Lovelace, Alan Turing. Sparse Routing for Trillion-Parameter Models. ICML 2022.",
        "Alan Turing. Neural Pruning. NeurIPS 2021."]


def test_publications_with_a_margin_date_open_at_each_date():
    lines = _texts([("Sparse Routing", 150, 100, dict(font="Sans-Bold"), "2023"),
                    ("Ada Lovelace, Alan Turing. ICML 2023", 150, 112, {}, ""),
                    ("Neural Pruning", 150, 124, dict(font="Sans-Bold"), "2022"),
                    ("Alan Turing. NeurIPS 2022", 150, 136, {}, "")])
    assert len(publication_items(lines)) == 2


def test_pdf_publication_items_lose_the_author_list_wherever_it_sits():
    from pipeline.resume.ingest import publication_lines
    items = ["Sparse Routing. Ada Lovelace, Alan Turing, Grace Hopper. ICML 2022, July 2022.",
             "2021 Alan Turing, ADA LOVELACE. Neural Pruning. NeurIPS 2021.",
             "Quantized Models A. Lovelace, G. Hopper 10.1234/iclr.2020.1 (ICLR 2020)",
             "Title | Grace Hopper, Ada Lovelace | ICLR 2019"]
    assert publication_lines(items, "Ada Lovelace", anywhere=True) == [
        "Sparse Routing. ICML 2022, July 2022.", "2021 Neural Pruning. NeurIPS 2021.",
        "Quantized Models (ICLR 2020)", "Title ICLR 2019"]
    # the line-based rule (Markdown, text, DOCX) is unchanged: only a trailing author list goes
    assert publication_lines(items[:1], "Ada Lovelace") == items[:1]


def test_date_line_above_a_header_with_a_small_bold_part_opens_the_entry():
    small = dict(size=8)
    col = (66.0, 540.0)
    bold = words_line("Research Intern,", 66, 112, font="Serif-Bold")
    head = bold + words_line("Northwind Robotics Laboratories", bold[-1].x1 + 3, 112)
    lines = [Line(words_line("May 2022 – Aug 2022 · Gothenburg, Sweden", 66, 100, **small), col=col),
             Line(head, col=col),
             Line([W("•", 71, 124)] + words_line("Built a perception stack", 80, 124), col=col),
             Line(words_line("May 2021 – Aug 2021 · Stockholm, Sweden", 66, 150, **small), col=col),
             Line(words_line("Engineer, Lumen", 66, 162, font="Serif-Bold"), col=col),
             Line([W("•", 71, 174)] + words_line("Wrote a tile cache", 80, 174), col=col)]
    got = _entries(lines, "work_experience", ("Body-Regular", 10.0))
    assert [(e.fields.get("title"), e.fields.get("organization"), e.fields.get("start_date"), len(e.lines))
            for e in got] == [("Research Intern", "Northwind Robotics Laboratories", "2022-05", 1),
                              ("Engineer", "Lumen", "2021-05", 1)]


def test_section_title_in_the_label_column_is_its_own_line():
    body = [Line(words_line("09/2018 – 05/2023", 168, 147), col=(168, 547))]
    assert margin_heading(words_line("EDUCATION", 100, 132), body)  # nothing beside it
    assert not margin_heading(words_line("DATES", 130, 147), body)  # a label beside a value
    assert not margin_heading(words_line("Dates", 130, 170), body)  # not capitals
    assert not margin_heading(words_line("2019", 130, 170), body)


@pytest.mark.parametrize("label, want", [("Dates", "dates"), ("Position", "title"), ("Role", "title"),
                                         ("Employer", "organization"), ("Organisation", "organization"),
                                         ("Institution", "organization"), ("Qualification", "degree"),
                                         ("City", "location"), ("Activities", None), ("Details", None)])
def test_row_labels_name_entry_fields(label, want):
    assert label_field(label) == want


def test_label_value_rows_are_the_fields_of_one_entry():
    col = (168.0, 547.0)

    def row(label, text, top, **kw):
        return Line(words_line(text, 168, top, **kw), col=col, margin=label)

    lines = [row("Dates", "06/2023 – present", 100), row("Position", "Staff Engineer", 112, font="Sans-Bold"),
             row("Employer", "Northwind Robotics, Gothenburg, Sweden", 124),
             Line([W("•", 171, 136)] + words_line("Led a team", 180, 136), col=col, margin="Activities"),
             row("Dates", "2019 – 2021", 150), row("Position", "Engineer", 162, font="Sans-Bold"),
             row("Employer", "Kestrel Health", 174)]
    got = _entries(lines, "work_experience", ("Body-Regular", 10.0))
    assert [e.fields for e in got] == [
        {"start_date": "2023-06", "end_date": "present", "location": "Gothenburg, Sweden",
         "title": "Staff Engineer", "organization": "Northwind Robotics"},
        {"start_date": "2019", "end_date": "2021", "title": "Engineer", "organization": "Kestrel Health"}]
    assert got[0].lines == ["Led a team"]
    edu = [row("Dates", "09/2014 – 06/2018", 100), row("Qualification", "BS in Computer Engineering", 112),
           row("Institution", "Boğaziçi University, Istanbul, Türkiye", 124)]
    f = _entries(edu, "education", ("Body-Regular", 10.0))[0].fields
    assert (f.get("degree"), f.get("area"), f.get("organization")) == ("BS", "Computer Engineering",
                                                                      "Boğaziçi University")


def test_a_heading_styled_line_holding_the_larger_name_is_the_name_line():
    line = Line(words_line("CURRICULUM VITAE", 66, 46) + words_line("Ada Lovelace", 168, 41, size=16))
    heading = Line(words_line("EDUCATION", 100, 132))
    assert _name_line([line, heading], {heading.style}, 10.0) is line


# ---------------------------------------------------------------- third held-out layouts (session 10)
@pytest.mark.parametrize("text, dates, rest", [
    ("Staff Engineer (March 2021 – Present)", ("2021-03", "present"), "Staff Engineer"),
    ("Research Intern (May 2022 – Aug 2022).", ("2022-05", "2022-08"), "Research Intern"),
    ("FlashInfer (2023)", ("2023", ""), "FlashInfer"),
    ("Best Paper (NeurIPS 2023)", None, "Best Paper (NeurIPS 2023)"),  # not only a date inside
])
def test_trailing_parenthesised_dates_are_split_off(text, dates, rest):
    p = parse_line(Line(words_line(text, 57, 0), col=(57, 540)))
    if dates is None:
        assert p.text == rest and p.dates is None, (p.dates, p.text)
    else:
        assert p.dates == dates and p.text == rest


def test_dash_attribution_under_a_quote_continues_the_bullet():
    col = (57, 540)
    glyph, text_x = 64.7, 74.0
    lines = [Line([W("•", glyph, 100)] + words_line("“She fixes what is on fire.”", text_x, 100), col=col),
             Line(words_line("— Daniel Hoffmann, VP Engineering", text_x, 112), col=col),
             Line([W("•", glyph, 125)] + words_line("“A patient teacher.”", text_x, 125), col=col),
             Line(words_line("— Tom Berg, Code Harbour", text_x, 137), col=col)]
    assert _flat_items(lines) == ["“She fixes what is on fire.” — Daniel Hoffmann, VP Engineering",
                                  "“A patient teacher.” — Tom Berg, Code Harbour"]


def test_a_new_quotation_opens_a_new_item_after_a_full_line():
    first = words_line("“Maya is the one I call.” — Daniel Hoffmann, VP of Engineering, Northwind", 57, 100)
    first = [w for w in first if w.x1 <= 300] or first
    lines = [Line(first, col=(57, first[-1].x1)),  # reaches the column's right edge
             Line(words_line("“Her ranking work paid twice.” — Priya", 57, 112), col=(57, first[-1].x1))]
    assert len(_flat_items(lines)) == 2


def test_caps_headings_outvote_an_org_line_that_names_a_section():
    bold = dict(font="Sans-Bold")
    col = (54, 558)
    lines = [Line(words_line(t, 54, 100 + 14 * i, **bold), col=col)
             for i, t in enumerate(["SUMMARY", "TECHNICAL SKILLS", "ACHIEVEMENTS", "KTH Royal Institute of Technology"])]
    caps = caps_styles(lines, {lines[0].style}, category_for)
    assert caps == {lines[0].style}  # 3 of the 4 known headings in capitals
    assert not stands_as_heading(lines[3], 10.0, caps)
    assert stands_as_heading(Line(words_line("MILITARY SERVICE", 54, 200, **bold), col=col), 10.0, caps)


@pytest.mark.parametrize("label, want", [("Period", "dates"), ("Employer", "organization"), ("Rank / role", "title"),
                                         ("Highlights", "details"), ("Northwind Robotics", None), ("Year", "dates"),
                                         ("Led the team of six", None)])
def test_table_header_labels(label, want):
    from pipeline.resume.layout.tables import label_field as table_label

    assert table_label(label) == want


def test_header_row_table_row_becomes_fields_and_bullets():
    from pipeline.resume.layout.tables import RowLine, row_fields, row_text

    row = RowLine([W("x", 40, 100)], cells={"dates": ["Mar 2021 –", "Present"],
                                            "organization": ["Northwind Robotics,", "Gothenburg, Sweden"],
                                            "title": ["Staff Machine Learning", "Engineer"],
                                            "details": ["Led a team of 6", "Mentored 9 engineers"]})
    fields, lines = row_fields(row, "work_experience")
    assert fields == {"start_date": "2021-03", "end_date": "present", "organization": "Northwind Robotics",
                      "location": "Gothenburg, Sweden", "title": "Staff Machine Learning Engineer"}
    assert lines == ["Led a team of 6", "Mentored 9 engineers"]
    paper = RowLine([W("x", 40, 100)], cells={"dates": ["2023"], "name": ["Sparse Experts"],
                                              "authors": ["Ann Lee, John Doe"], "venue": ["NeurIPS 2023"]})
    assert row_text(paper, publications=True) == "Sparse Experts. NeurIPS 2023 (2023)"  # no co-authors
    project = RowLine([W("x", 40, 100)], cells={"dates": ["2022"], "title": ["Harbor Tide Predictor"]})
    assert row_fields(project, "projects")[0] == {"start_date": "2022", "name": "Harbor Tide Predictor"}


# ---------------------------------------------------------------- a new user's own files (session 10)
def test_a_left_sidebar_is_two_columns_not_a_margin_column():
    from pipeline.resume.layout.columns import _sidebar

    body = [w for i in range(20) for w in words_line(f"Bullet line number {i} of the main column text", 210, 100 + 12 * i)]
    margin = [w for i in range(0, 20, 4) for w in words_line("2019 – 2021", 43, 100 + 12 * i)]  # beside body lines
    sidebar = [w for i in range(12) for w in words_line(f"Skill {i}", 43, 97 + 15.5 * i)]  # its own spacing
    assert not _sidebar(body + margin, 200)
    assert _sidebar(body + sidebar, 200)


def test_a_section_title_run_on_at_a_line_end_is_split_off():
    from pipeline.resume.layout.reader import split_trailing_heading

    line = Line(words_line("Portland, OR 97214", 43, 100) + words_line("SKILLS", 140, 100, font="Sans-Bold"))
    head, tail = split_trailing_heading(line, category_for)
    assert (head.text, tail.text) == ("Portland, OR 97214", "SKILLS")
    smallcaps = Line(words_line("2009 – 2013", 43, 100) + words_line("Projects", 120, 100, font="LMRomanCaps10-Regular"))
    assert [ln.text for ln in split_trailing_heading(smallcaps, category_for)] == ["2009 – 2013", "Projects"]
    plain = Line(words_line("Led the SKILLS team", 43, 100))  # one font: nothing to split
    assert split_trailing_heading(plain, category_for) == [plain]


def test_tex_bitmap_font_cids_are_read_in_the_t1_encoding():
    from pipeline.resume.layout.words import _tex_cid

    assert _tex_cid({"text": "(cid:27)", "fontname": "unknown"})["text"] == "ff"
    assert _tex_cid({"text": "(cid:21)", "fontname": "unknown"})["text"] == "–"
    assert _tex_cid({"text": "(cid:27)", "fontname": "ABCDEF+SomeSans"})["text"] == "(cid:27)"  # a named font: unknown map


def test_a_bullet_wrapped_back_to_the_glyph_continues_it():
    col = (90, 440)  # the lines fill 80-90% of the column (a Word export wraps short of its edge)
    lines = [Line(words_line("• Migrated 140 nightly batch jobs from cron to Apache Airflow, cutting", 90, 100), col=col),
             Line(words_line("failed runs by 60%.", 90, 114), col=col),
             Line(words_line("• Reduced Snowflake spend by 28% by partitioning and clustering the", 90, 128), col=col),
             Line(words_line("Largest tables.", 90, 142), col=col)]
    items = _flat_items(lines)
    assert items == ["Migrated 140 nightly batch jobs from cron to Apache Airflow, cutting failed runs by 60%.",
                     "Reduced Snowflake spend by 28% by partitioning and clustering the Largest tables."], items


def test_a_right_aligned_range_wrapped_onto_the_next_line_is_joined():
    from pipeline.resume.layout.columns import join_date_tails

    head = Line(words_line("Database Analyst — Oakridge Public Library", 90, 100) + words_line("Jan 2016 – Aug", 470, 100),
                col=(90, 558))
    tail = Line(words_line("2017", 90, 113), col=(90, 558))
    joined = join_date_tails([head, tail])
    assert len(joined) == 1 and parse_line(joined[0]).dates == ("2016-01", "2017-08")


def test_title_then_org_and_city_in_one_run_is_not_a_location():
    """"**Data Engineer**, *Nordlys Energi, Bergen*": the italic run is organization and city."""
    bold, italic = dict(font="Serif-Bold"), dict(font="Serif-Italic")
    col = (145, 560)
    header = Line(words_line("Data Engineer,", 145, 100, **bold) + words_line("Nordlys Energi, Bergen", 230, 100, **italic),
                  margin="08/2019 – 02/2022", col=col)
    bullet = Line(words_line("• Built dbt models for 120 sensor tables.", 145, 114), col=col)
    (entry,) = _entries([header, bullet], "work_experience", ("Serif-Regular", 10.0))
    assert (entry.fields["title"], entry.fields["organization"], entry.fields["location"]) == \
        ("Data Engineer", "Nordlys Energi", "Bergen")


def test_margin_labels_beside_their_own_lines_stay_apart():
    col = (145, 560)
    body = [Line(words_line("Python, SQL, Apache Spark", 145, 100), col=col),
            Line(words_line("Norwegian (native), English (fluent)", 145, 112), col=col)]
    from pipeline.resume.layout.columns import _margin_blocks

    blocks = _margin_blocks([words_line("Technical", 51, 100), words_line("Languages", 51, 112)], body)
    assert [[join_words(ln) for ln in b] for b in blocks] == [["Technical"], ["Languages"]]
    dates = _margin_blocks([words_line("Sept 2018 –", 51, 100), words_line("May 2023", 51, 112)], body)
    assert len(dates) == 1  # a date over two lines stays one block


def test_a_lone_year_before_a_separator_opens_the_header():
    p = parse_line(Line(words_line("2016 | Research Intern at Laboratoire Lumière", 57, 0), col=(57, 540)))
    assert p.dates == ("2016", "") and p.text == "Research Intern at Laboratoire Lumière"
    keep = parse_line(Line(words_line("2021 NeuralPrune toolkit", 57, 0), col=(57, 540)))
    assert keep.text == "2021 NeuralPrune toolkit"  # no separator: the year may be part of a name


def test_a_range_in_another_type_closing_the_line_is_split_off():
    words = words_line("Data Engineer", 212, 0, font="Sans-Italic") + words_line("September 2018 – February 2021", 290, 0,
                                                                                 size=9.0)
    p = parse_line(Line(words, col=(212, 543)))
    assert p.dates == ("2018-09", "2021-02") and p.text == "Data Engineer"
    same = parse_line(Line(words_line("Led the 2018 – 2021 migration", 57, 0), col=(57, 540)))
    assert same.dates is None  # one type throughout: prose


@pytest.mark.parametrize("texts, want", [
    (["Software Developer", "Quadrille Logiciels", "Paris"], True),
    (["Research Intern", "Mountain View", "CA"], False),  # City, Region
    (["Princeton University", "Princeton", "NJ"], False),
])
def test_title_org_city(texts, want):
    from pipeline.resume.layout.entries import _title_org_city

    assert _title_org_city(texts) is want
