"""Layout-aware PDF reader for :mod:`pipeline.resume.ingest`: word boxes → lines → sections → entries.

Run through ``python -m pipeline preview`` on a ``.pdf`` resume; measured by
``python benchmarks/layout_bench.py``; tested by ``pytest tests/test_layout_reader.py``.

pypdf's plain text loses what a resume's layout says: which words share a line, which column
a date sits in, which part of a header is bold. This reader takes pdfplumber's word boxes
(position, font name, size) and rebuilds that structure with general rules, nothing per
template:

* **words and lines** (:mod:`.words`: :func:`page_words`, :func:`cluster_lines`; dates and
  places are read by :mod:`.dates`, a line is taken apart by :mod:`.parse`): characters are
  split into words at gaps wider than 0.11 em (TeX PDFs carry no space characters), spacing accents are
  folded into their letter ("o¨" → "ö"), and words are grouped into lines by their vertical
  centre, so a small bullet glyph joins the text it marks.
* **columns** (:mod:`.columns`: :func:`find_columns`): a vertical gutter that no word crosses
  either splits the page into two independent columns (AltaCV-like: each column is read on its own, across
  pages) or, when it is near the left edge with right-aligned or clearly separated short
  fragments on its left, marks a *margin column* (moderncv's dates and labels), whose blocks
  are attached to the body line they sit beside; a capitals line there with no body line beside
  it is a section title of its own (:func:`margin_heading`). A table's narrow date cell (a Word table:
  "Sept 2018 – May" / "2023" left of the header) is found per line instead
  (:func:`split_date_cells`: first segments left of a second segment starting at one shared x,
  wrapped fragments joined) and moved to the line's margin too.
* **sections** (:mod:`.headings`: :func:`heading_styles`): a section heading is a short line
  in the heading style, learned from the lines whose text names a known section ("Experience", "EDUCATION")
  and that stand out (larger, bold, capitals or small capitals); any other short line in that
  style is a heading too ("Welcome to RenderCV"). When that style is the body size (bold body
  text, which entry headers use too), a line also needs one segment and, when the known headings
  are capitals, capitals (:func:`stands_as_heading`).
* **tables** (:mod:`.tables`): a ruled table whose first row is a row of labels ("Period |
  Employer | Role | Highlights", found by pdfplumber's ``find_tables``) is read by its columns,
  one :class:`~pipeline.resume.layout.tables.RowLine` per row in the page flow; a table
  continued on the next page inherits the header, a row cut by the page break is joined.
* **entries** (:mod:`.entries`): a structured section (experience, education, projects,
  leadership, military) is cut into entries at header lines: a line with a date range anywhere (left margin,
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
* **publications** (:mod:`.publications`: :func:`publication_items`; the other flat sections'
  items too): a paper's title, authors and venue lines are joined into one item (to the next bullet, number or margin date, or to the next line in the
  first line's style); the owner's author list is dropped in :mod:`pipeline.resume.ingest`.

:func:`read_pdf` (:mod:`.reader`) returns ``(name, sections)`` like every reader in
:mod:`pipeline.resume.formats`, with each entry's fields (organization, title, degree, area, start_date, end_date, location,
name) set directly. A PDF whose text layer is mostly not letters (private-use or ``(cid:N)``
glyphs from a font without a Unicode map) raises :class:`pipeline.errors.ResumeError`.
Units: PDF points (1/72 inch), origin at the page's top left, ``top`` growing downwards.

Modules, each importing only those before it: ``dates``, ``words``, ``parse``, ``tables``, ``headings``,
``columns``, ``publications``, ``entries``, ``reader`` (checked by ``pytest tests/test_layout.py``).
"""

from __future__ import annotations

from pipeline.resume.layout.columns import read_lines
from pipeline.resume.layout.dates import is_date_range, norm_date, parse_range
from pipeline.resume.layout.reader import read_pdf
from pipeline.resume.layout.words import Line, Word, text_layer_problem

__all__ = ["Line", "Word", "is_date_range", "norm_date", "parse_range", "read_lines", "read_pdf",
           "text_layer_problem"]
