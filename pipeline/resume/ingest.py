"""Resume ingestion: one file in, cleaned PII-free text plus structured facts out.

Run: ``python -m pipeline preview`` (prints the facts per section for ``resume_path``).

Formats (by extension): ``.pdf`` (layout-aware, :mod:`pipeline.resume.layout`; pypdf for its checks), ``.md``/``.markdown``/``.txt``, ``.json`` (JSON Resume,
jsonresume.org schema v1) and ``.yaml``/``.yml`` (RenderCV: ``cv:`` with ``sections``); the
readers live in :mod:`pipeline.resume.formats` and :mod:`pipeline.resume.structured`. Cleaning: ligatures, bullet glyphs, icon-font
and private-use glyphs, end-of-line hyphenation, wrapped lines, repeated page headers and
footers, "Page N of M"; PDF text is taken in content-stream order, which keeps each column
of a multi-column layout together.

Every header, line and field value passes :func:`pipeline.resume.pii.scrub` before it is stored, and
lines left with nothing but placeholders are dropped, so no email, phone, URL, handle, identity number or
street address reaches ``Resume.text``, a fact, or anything built from them.

Section titles map to :data:`CATEGORIES` by keyword (:func:`category_for`). The rule for
sections that are not about the person: a section whose title maps to no category is
skipped, and its title listed in ``Resume.skipped_sections``, when its text talks about a
document or the tool that made it (two or more distinct terms of :data:`_DOCUMENT_TERMS`
such as CV, YAML, PDF, Markdown, template, section, entry, typography), e.g. RenderCV's
"Welcome to RenderCV". Any other unknown section is about the person and counts as
``character``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pipeline.errors import ResumeError
from pipeline.resume import formats as rf
from pipeline.resume import layout
from pipeline.resume import structured as rs
from pipeline.resume.docx_reader import read_docx_structure
from pipeline.resume.pii import scrub

log = logging.getLogger(__name__)

CATEGORIES = ("work_experience", "technical_skills", "education", "projects", "leadership",
              "achievements", "character", "military", "recommendations")
MIN_FACTS_TO_INGEST = 3  # fewer facts than this cannot fill a dataset: ingest raises ResumeError

# (category, title keywords) checked in order: "Volunteer experience" is leadership, not work.
_TITLE_KEYWORDS = (
    ("military", r"military|armed forces|army|navy|air force|marines|national service|conscript|veteran"),
    ("recommendations", r"recommendations?|references?|testimonials?|endorsements?"),
    ("leadership", r"leadership|volunteer\w*|community|activities|extracurricular|service"),
    ("work_experience", r"experience|work|employment|career|professional|positions?|jobs?|history"),
    ("technical_skills", r"skills?|technolog\w*|tools|tech stack|competenc\w*|expertise|programming"),
    ("education", r"education|academic\w*|degrees?|qualifications?|studies|coursework|school"),
    ("projects", r"projects?|portfolio|open source"),
    ("achievements", r"awards?|hono(?:u)?rs?|achievements?|publications?|patents?|talks?|"
                     r"presentations?|certific\w*|accomplishments?|recognition|scholarships?|grants?"),
    ("character", r"summary|about|profile|objective|interests?|hobbies|personal|overview|"
                  r"introduction|bio|languages|traits|character"),
)
_DOCUMENT_TERMS = frozenset("cv résumé resume yaml pdf markdown template templates section sections entry "
                            "entries typography theme latex typst html".split())
_STRUCTURED = {"work_experience", "education", "projects", "leadership", "military"}
_FIELD_KEYS = ("organization", "title", "start_date", "end_date", "location", "degree", "area", "gpa",
               "name", "summary")
_PLACEHOLDER_ONLY = re.compile(r"^[\s·|,;:/()•\-–—]*(?:\[(?:email|phone|url|handle|address|id)\][\s·|,;:/()•\-–—]*)+$")


@dataclass(frozen=True)
class Fact:
    """One statement from the resume.

    Attributes:
        id: stable id "<category>-<nnn>" (running number per category, in document order).
        category: one of :data:`CATEGORIES`.
        section: the section title as written in the resume.
        text: the statement (PII scrubbed), exactly ``Resume.text[span[0]:span[1]]``.
        fields: structured values, keys from organization, title, start_date, end_date,
            location, degree, area, gpa, name, summary; dates look like "2023-06", "2018"
            or "present".
        span: (start, end) character offsets into ``Resume.text``.
    """

    id: str
    category: str
    section: str
    text: str
    fields: Mapping[str, str]
    span: tuple[int, int]


@dataclass(frozen=True)
class Resume:
    """An ingested resume: ``text`` (cleaned, PII scrubbed, "## Section" blocks) and its facts."""

    source: Path
    format: str
    name: str | None
    text: str
    facts: tuple[Fact, ...]
    skipped_sections: tuple[str, ...]


def category_for(title: str) -> str | None:
    """Map a section title to a category by keyword (see :data:`_TITLE_KEYWORDS`); None if unknown."""
    low = title.lower()
    for category, pattern in _TITLE_KEYWORDS:
        if re.search(rf"\b(?:{pattern})\b", low):
            return category
    return None


def _is_heading(line: str) -> bool:
    """A PDF/text line is a section title when it is short, title-like and names a category."""
    text = line.strip().rstrip(":")
    words = text.split()
    return (1 <= len(words) <= 4 and not re.search(r"[\d,.;@()]", text) and text[:1].isupper()
            and all(w[:1].isupper() or w.lower() in {"and", "of", "&", "the", "in"} for w in words)
            and category_for(text) is not None)


_LIST_SPLIT = re.compile(r"\s*[,;|·•]\s*")
_ACHIEVEMENT_WORDS = re.compile(
    r"\b(?:award(?:ed)?|prize|winner|won|finalist|medal|scholarship|fellowship|grant(?:ed)?|honou?r(?:ed)?|"
    r"patent(?:ed)?|certified|certificat\w*|recogni[sz]ed|best paper|dean's list|cum laude)\b", re.IGNORECASE)


def category_by_content(lines: list[str]) -> str | None:
    """A category for a section whose title names none (:func:`category_for` gave None), from its lines.

    ``technical_skills`` when at least 60% of the lines (optionally after a "Label:") are lists
    of three or more short items (at most four words each) separated by commas, semicolons,
    pipes or dots; ``achievements`` when at least half of the lines name an award, prize,
    scholarship, patent or certification. None otherwise (the caller keeps such a section as
    ``character``, as before). Structured sections (jobs, degrees) are not guessed here: their
    entries are cut by the reader, which only knows the title.
    """
    lines = [x.strip() for x in lines if x and x.strip()]
    if not lines:
        return None

    def is_list(line: str) -> bool:
        body = line.split(":", 1)[1] if ":" in line[:40] else line
        items = [i for i in _LIST_SPLIT.split(body.strip(" .")) if i]
        return len(items) >= 3 and all(len(i.split()) <= 4 for i in items)

    if sum(map(is_list, lines)) >= 0.6 * len(lines):
        return "technical_skills"
    if sum(bool(_ACHIEVEMENT_WORDS.search(x)) for x in lines) >= 0.5 * len(lines):
        return "achievements"
    return None


def _about_document(section: rf.RawSection) -> bool:
    words = " ".join([section.title] + [x for e in section.entries for x in [e.header, *e.lines]]).lower()
    return len(set(re.findall(r"[\wé]+", words)) & _DOCUMENT_TERMS) >= 2


def _clean_value(value: str) -> str:
    text = " ".join(scrub(rf.md_inline(value)).split())
    return "" if _PLACEHOLDER_ONLY.match(text) else text


def _header_text(category: str, fields: dict[str, str], raw: str) -> str:
    dates = " – ".join(x for x in (fields.get("start_date"), fields.get("end_date")) if x)
    if category == "education" and fields.get("organization"):
        degree = " in ".join(x for x in (fields.get("degree"), fields.get("area")) if x)
        parts = [degree, fields["organization"]]
    elif category == "projects" and fields.get("name"):
        parts = [fields["name"], " at ".join(x for x in (fields.get("title"), fields.get("organization")) if x)]
    elif fields.get("title") or fields.get("organization"):
        parts = [fields.get("title", ""), fields.get("organization", "")]
    else:
        parts = [fields.get("name") or raw]
    head = ", ".join(p for p in parts if p)
    tail = "; ".join(x for x in (fields.get("location"), dates, f"GPA {fields['gpa']}" if fields.get("gpa")
                                 else "") if x)
    return f"{head} ({tail})" if head and tail else head or tail


def _line_fields(category: str, line: str, base: dict[str, str]) -> dict[str, str]:
    fields = dict(base)
    if category == "technical_skills" and ":" in line:
        label, _, details = line.partition(":")
        fields.update(name=label.strip(), summary=details.strip())
    elif category == "recommendations":
        m = re.match(r"^[\"“](.+?)[\"”]\s*[—–-]+\s*(.+)$", line)
        if m:
            who = [p.strip() for p in m.group(2).split(",")]
            fields.update(summary=m.group(1), name=who[0])
            if len(who) > 1:
                fields["title"] = who[1]
            if len(who) > 2:
                fields["organization"] = ", ".join(who[2:])
    return fields


_PUBLICATIONS = re.compile(r"\b(publications?|papers|articles)\b", re.IGNORECASE)
_DOI_LINE = re.compile(r"^\s*(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/\S+\s*", re.IGNORECASE)
_PERSON = r"[A-Z][\w'’-]+(?:\s+[A-Z]\.)?\s+[A-Z][\w'’-]+"  # "Maria Garcia", "Sarah J. Williams"
_NAME_BEFORE = re.compile(rf"(?:^|(?<=\s))(?:and\s+)?({_PERSON})\s*,\s*$")
_NAME_AFTER = re.compile(rf"\s*,?\s*(?:and\s+)?{_PERSON}")


def _author_span(line: str, person: str) -> tuple[int, int] | None:
    """Where the comma-separated author list holding ``person`` sits in ``line``, or None."""
    i = line.find(person)
    if i < 0:
        return None
    start, end = i, i + len(person)
    while m := _NAME_BEFORE.search(line[:start]):
        start = m.start(1)
    while m := _NAME_AFTER.match(line, end):
        end = m.end()
    return start, end


_DOI_ANY = re.compile(r"(?:\bdoi:?\s*|https?://(?:dx\.)?doi\.org/)?\b10\.\d{4,9}/\S+", re.IGNORECASE)
_CO_AUTHOR = r"(?:[A-Z][\w'’-]+|[A-Z]\.)(?:\s+[A-Z]\.)*\s+[A-Z][\w'’-]+"  # "Maria Garcia", "S. J. Williams"
_CO_BEFORE = re.compile(rf"(?:^|(?<=\s))(?:and\s+)?({_CO_AUTHOR})\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)$")
_CO_AFTER = re.compile(rf"(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_CO_AUTHOR}")


def _owner_pattern(person: str) -> re.Pattern:
    """The resume owner as an author: the full name or the first initial and last name
    ("John Doe", "JOHN DOE", "J. Doe"), any case."""
    words = person.split()
    forms = [r"\s+".join(map(re.escape, words))]
    if len(words) >= 2:
        forms.append(rf"{re.escape(words[0][0])}\.(?:\s*[A-Z]\.)*\s*{re.escape(words[-1])}")
    return re.compile(rf"(?<![\w])(?:{'|'.join(forms)})(?![\w])", re.IGNORECASE)


def _drop_author_list(line: str, owner: re.Pattern) -> str:
    """``line`` without the comma-separated author list that names the owner, wherever it
    sits ("Title. John Doe, Kevin Wu. ICLR 2021" → "Title. ICLR 2021"); the punctuation after
    the list goes with it."""
    m = owner.search(line)
    if not m:
        return line
    start, end = m.start(), m.end()
    while b := _CO_BEFORE.search(line[:start]):
        start = b.start(1)
    while a := _CO_AFTER.match(line, end):
        end = a.end()
    head, tail = line[:start].rstrip(" ,;:|·–—-"), line[end:].lstrip(" .,;:|·–—-")
    return f"{head} {tail}".strip() if head and tail else (head or tail).strip()


_LEADING_YEAR = re.compile(r"^\((\d{4}[a-z]?)\)[.,:]?\s+(.+)$")


def publication_lines(lines: list[str], person: str | None, anywhere: bool = False) -> list[str]:
    """One line per publication: title plus venue and date, without co-authors or the DOI.

    A PDF's publications section reads as separate lines: the title (sometimes with the author
    list run on), the authors ("Maria Garcia, John Doe, Tom Anderson") and a DOI line with the
    venue and date ("10.1234/icml.2022.9012 (ICML 2022) (July 2022)"). Co-authors are not facts
    about the person and a DOI is not something anyone asks, so an author list that names
    ``person`` is dropped (also when it trails the title) and a DOI line's remainder is joined
    to the title before it. Lines of other shapes pass unchanged.

    ``anywhere`` (the PDF and Word readers, whose items hold a publication's 2-3 lines joined):
    the author list naming ``person`` (full name or initial and last name, any case) is dropped
    wherever it sits in the item, and so is a DOI; a year left in front ("(2023). Title.
    Venue.", from "Authors (2023). Title. Venue.") moves behind the paper ("Title. Venue (2023)").
    """
    if not person:
        return lines
    if anywhere:
        owner = _owner_pattern(person)
        cleaned = [" ".join(_drop_author_list(_DOI_ANY.sub(" ", x), owner).split()) for x in lines]
        # "Authors (2023). Title. Venue." leaves "(2023). Title. Venue.": the year goes after the paper
        cleaned = [f"{m.group(2).rstrip('.')} ({m.group(1)})" if (m := _LEADING_YEAR.match(x)) else x
                   for x in cleaned]
        return [x for x in cleaned if x]
    out: list[str] = []
    for line in lines:
        doi = _DOI_LINE.match(line)
        if doi:
            rest = line[doi.end():].strip()
            if out and rest:
                out[-1] = f"{out[-1].rstrip('.')} {rest}"
            continue
        span = _author_span(line, person)
        if span and not line[span[1]:].strip(" .;"):
            line = line[:span[0]].strip()
            if not line:
                continue
        out.append(line)
    return out


def _split_sentences(category: str, line: str) -> list[str]:
    if category != "character":
        return [line]
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", line) if s.strip()]


def _assemble(source: Path, fmt: str, name: str | None, sections: list[rf.RawSection]) -> Resume:
    parts: list[str] = []
    pos = 0
    facts: list[Fact] = []
    counts = dict.fromkeys(CATEGORIES, 0)
    skipped: list[str] = []

    def emit(line: str, prefix: str = "") -> tuple[int, int]:
        nonlocal pos
        parts.append(prefix + line + "\n")
        start = pos + len(prefix)
        pos += len(prefix) + len(line) + 1
        return start, start + len(line)

    def add_fact(category: str, title: str, text: str, fields: dict[str, str], prefix: str) -> None:
        span = emit(text, prefix)
        counts[category] += 1
        clean = {k: v for k, v in fields.items() if k in _FIELD_KEYS and v}
        facts.append(Fact(f"{category}-{counts[category]:03d}", category, title, text,
                          MappingProxyType(clean), span))

    if name:
        emit(_clean_value(name))
    for section in sections:
        category = section.category or category_for(section.title)
        if category is None and _about_document(section):
            skipped.append(section.title)
            log.info("skipped section %r: it describes the document, not the person", section.title)
            continue
        if category is None:
            category = category_by_content([x for e in section.entries for x in (e.header, *e.lines) if x])
            if category is not None:
                log.info("section %r: unknown title, mapped to %s by its content", section.title, category)
        category = category or "character"
        title = _clean_value(section.title) or section.title
        emit("")
        emit(f"## {title}")
        for entry in _roles_under_one_employer(section.entries, category):
            raw_fields = {k: _clean_value(v) for k, v in entry.fields.items()}
            header = _clean_value(entry.header)
            fields = {**rf.parse_header(header, category), **{k: v for k, v in raw_fields.items() if v}} \
                if header and category in _STRUCTURED else {**raw_fields}
            lines = [c for x in entry.lines if (c := _clean_value(x))]
            described = fields.pop("description", "")
            if described and described not in lines:
                lines.insert(0, described)
            if fmt in ("pdf", "docx", "markdown", "text") and _PUBLICATIONS.search(section.title):
                lines = publication_lines(lines, _clean_value(name) if name else None, anywhere=fmt in ("pdf", "docx"))
            if category == "education":
                gpa = re.search(r"GPA:?\s*(\d\.\d+(?:\s*/\s*\d\.\d+)?)", " ".join(lines))
                if gpa:
                    fields.setdefault("gpa", gpa.group(1).replace(" ", ""))
            if category in _STRUCTURED and (header or fields):
                head = _header_text(category, fields, header)
                if head:
                    add_fact(category, title, head, fields, "")
            elif header:
                lines.insert(0, header)
            for line in lines:
                for sentence in _split_sentences(category, line):
                    add_fact(category, title, sentence, _line_fields(category, sentence, fields), "- ")
    text = "".join(parts)
    return Resume(source, fmt, _clean_value(name) if name else None, text, tuple(facts), tuple(skipped))


def _roles_under_one_employer(entries: list[rf.RawEntry], category: str) -> list[rf.RawEntry]:
    """Several roles under one employer (a promotion): an entry that names only an organization
    (no title, no lines), followed by entries with a title but no organization, gives them its
    organization (and its location where they have none) and is dropped. Any reader's entries:
    "**Sahyadri Infrastructure Ltd., Pune**" over "*Senior Structural Engineer* Apr 2021 –
    Present" and "*Structural Engineer* Jul 2018 – Mar 2021"."""
    if category not in ("work_experience", "leadership", "military"):
        return entries
    out: list[rf.RawEntry] = []
    employer: rf.RawEntry | None = None
    used = False
    for e in entries:
        header = _clean_value(e.header)
        f = {**(rf.parse_header(header, category) if header else {}), **{k: v for k, v in e.fields.items() if v}}
        if f.get("organization") and not f.get("title") and not e.lines:
            employer, used = e, False
            employer_fields = f
            out.append(e)
            continue
        if employer is not None and f.get("title") and not f.get("organization"):
            extra = {"organization": employer_fields["organization"]}
            if employer_fields.get("location") and not f.get("location"):
                extra["location"] = employer_fields["location"]
            out.append(rf.RawEntry({**e.fields, **extra}, e.header, e.lines, e.closed, e.bullets))
            if not used:
                out.remove(employer)
                used = True
            continue
        employer = None
        out.append(e)
    return out


def _read_pdf(path: Path) -> tuple[str | None, list[rf.RawSection]]:
    """A PDF by its layout (:func:`pipeline.resume.layout.read_pdf`). pypdf reads it first: its
    checks give the encrypted / corrupt / image-only errors, and its plain text is the fallback
    when pdfplumber cannot parse a file pypdf can."""
    pages = rf.read_pdf_pages(path)
    try:
        return layout.read_pdf(path, _is_heading, category_for)
    except ResumeError:
        raise
    except Exception as exc:  # pdfminer raises its own (undocumented) types on odd files
        log.warning("%s: layout reader failed (%s: %s); reading the plain text instead",
                    path, type(exc).__name__, exc)
        return rf.parse_text(pages, False, _is_heading, category_for)


_FORMATS = {".pdf": "pdf", ".docx": "docx", ".md": "markdown", ".markdown": "markdown", ".txt": "text",
            ".json": "json_resume", ".yaml": "rendercv", ".yml": "rendercv"}


def ingest(path: Path) -> Resume:
    """Read a resume file into a :class:`Resume` (PII scrubbed, facts with spans into its text).

    Raises:
        ResumeError: missing file, unsupported extension, empty file, corrupt / encrypted /
            image-only PDF, non-UTF-8 text, malformed JSON Resume or RenderCV YAML, or fewer
            than :data:`MIN_FACTS_TO_INGEST` facts. The message names the file, the problem and the fix.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if path.is_dir():
        raise ResumeError(f"{path}: is a folder, not a resume file; set resume_path in the config file to the "
                          "resume itself (.pdf, .docx, .md, .txt, .json or .yaml)")
    if not path.is_file():
        raise ResumeError(f"{path}: resume file not found; set resume_path in the config file to an existing file")
    if fmt is None:
        raise ResumeError(f"{path}: unsupported resume format '{path.suffix}'; use one of "
                          f"{', '.join(sorted(_FORMATS))}")
    data = path.read_bytes()
    if not data.strip():
        raise ResumeError(f"{path}: the file is empty; put the resume's content in it")
    if fmt == "pdf":
        name, sections = _read_pdf(path)
    elif fmt == "docx":
        name, sections = read_docx_structure(path, _is_heading, category_for)
    else:
        text = rf.decode_text(path, data)
        if fmt == "json_resume":
            name, sections = rs.read_json_resume(path, text)
        elif fmt == "rendercv":
            name, sections = rs.read_rendercv(path, text)
        else:
            name, sections = rf.parse_text([text], fmt == "markdown", _is_heading, category_for)
    resume = _assemble(path, fmt, name, sections)
    if len(resume.facts) < MIN_FACTS_TO_INGEST:
        raise ResumeError(f"{path}: only {len(resume.facts)} fact(s) found (need at least {MIN_FACTS_TO_INGEST}); "
                          "add sections such as Experience, Education and Skills with one item per line")
    return resume
