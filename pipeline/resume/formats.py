"""Text readers for :mod:`pipeline.resume.ingest`: PDF / Markdown / plain text, cleaning, header parsing.

Run through ``python -m pipeline preview``; tested by ``pytest tests/test_resume.py``.
JSON Resume and RenderCV live in :mod:`pipeline.resume.structured`. Every reader returns ``(name, sections)``: the person's name (or None) and a list of
:class:`RawSection` holding :class:`RawEntry` items (fields + header + lines), not yet
scrubbed; :mod:`pipeline.resume.ingest` scrubs, categorises and assembles them into facts.
Problems with the file raise :class:`pipeline.errors.ResumeError`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ResumeError
from pipeline.resume.pii import find_pii


@dataclass
class RawEntry:
    """One entry of a section: ``fields`` (organization, title, dates...), a header line, lines."""

    fields: dict[str, str] = field(default_factory=dict)
    header: str = ""
    lines: list[str] = field(default_factory=list)
    closed: bool = False  # a trailing date line ended it (date column printed after the body)
    bullets: bool = False  # it has bullet lines (a later non-bullet line starts a new entry)


@dataclass
class RawSection:
    """A titled section; ``category`` may be preset by structured formats (JSON Resume)."""

    title: str
    entries: list[RawEntry] = field(default_factory=list)
    category: str | None = None
    employer: str = ""  # text readers: the employer line above a "Title, dates" line (roles below it)


# ---------------------------------------------------------------- dates and headers
_MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for m in names}
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|" \
            r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DATE_RE = rf"(?:(?:{_MONTH_RE}\s+)?(?:18|19|20)\d{{2}}(?:-(?:0[1-9]|1[0-2])(?:-\d{{2}})?)?|[Pp]resent|[Cc]urrent|[Nn]ow)"
_RANGE_RE = rf"(?P<start>{_DATE_RE})(?:\s*(?:–|—|-|to)\s*(?P<end>{_DATE_RE}))?"
DATE_ONLY = re.compile(rf"^\s*\(?{_RANGE_RE}\)?\s*$")
TRAILING_RANGE = re.compile(rf"(?:^|\s|,|·|\|)\s*\(?{_RANGE_RE}\)?\s*$")
_DURATION = re.compile(r"^\s*(?:\d+\s+(?:years?|yrs?|months?|mos?)\s*)+$", re.IGNORECASE)
_LOCATION = re.compile(r"^[A-ZÅÄÖÜ][\w.' -]{1,30},\s*[A-ZÅÄÖÜ][\w.' -]{1,25}$")
_SEPARATORS = re.compile(r"\s+[—–|·]\s+")
_DEGREE = re.compile(
    r"\b(Ph\.?\s?D\.?|Doctor(?:ate)?(?: of [A-Z]\w+(?: [A-Z]\w+)*)?|M\.?B\.?A\.?|M\.?Eng\.?|B\.?Eng\.?|"
    r"[MB]\.?Tech\.?|[MB]\.E\.|[MB]\.?Com\.?|[MB]\.?Arch\.?|[MB]\.?Ed\.?|[MB]\.?Des\.?|MCA|BCA|LL\.?[BM]\.?|MBBS|"
    r"Master(?:'s)?(?: of [A-Z]\w+(?: [A-Z]\w+)*)?|Bachelor(?:'s)?(?: of [A-Z]\w+(?: [A-Z]\w+)*)?|"
    r"M\.?Sc?\.?|B\.?Sc?\.?|M\.A\.|B\.A\.|BA|MA|Associate(?:'s)?(?: of [A-Z]\w+)?|Diploma|Certificate)"
    r"(?=[\s,]|$)(?:\s+in\s+(?P<area>[^,—–|·]+))?"
)
_TITLE_WORDS = set(
    "engineer developer intern founder co-founder cto ceo cfo coo vp president director manager lead head "
    "scientist researcher analyst consultant officer architect designer teacher instructor professor "
    "assistant associate specialist administrator coordinator chair member fellow volunteer mentor "
    "organizer organiser captain sergeant lieutenant soldier programmer technician editor writer owner "
    "partner principal staff senior junior student tutor "
    # titles outside software, so that "Charge Nurse" or "Rear Admiral" reads as a title
    "nurse midwife physician doctor surgeon pharmacist therapist accountant auditor bookkeeper clerk "
    "paralegal lawyer attorney solicitor barrister chef cook pilot mechanic electrician technologist "
    "advisor adviser planner buyer recruiter supervisor executive trainee apprentice inspector "
    "investigator operator representative admiral colonel commander".split())
_ORG_WORDS = set(
    "university college institute school academy inc inc. llc ltd pvt plc gmbh ab corp corporation company labs lab "
    "research ai technologies technology systems group foundation bank hospital health analytics robotics "
    "forces army navy force regiment corps maps studio studios partners agency council society club "
    "harbour harbor network consultants consulting consultancy services solutions infrastructure industries "
    "enterprises holdings ventures insurance logistics energy motors pharma pharmaceuticals clinic trust "
    "board ministry department authority railways rail airlines media publishing press "
    # the same words in the languages of universities a resume names often
    "universidad universidade universität universitat université universita università universiteit "
    "universitet uniwersytet hochschule fachhochschule politecnico politécnica polytechnique école ecole "
    "instituto institut istituto escuela colegio".split())


def norm_date(value: Any) -> str:
    """"Sept 2018" → "2018-09", "2013-12-01" → "2013-12", 2021 → "2021", "Present" → "present"."""
    text = str(value).strip().rstrip(".")
    if not text:
        return ""
    if text.lower() in {"present", "current", "now", "today"}:
        return "present"
    m = re.match(r"^((?:18|19|20)\d{2})(?:-(\d{2}))?", text)
    if m:
        return f"{m.group(1)}-{m.group(2)}" if m.group(2) else m.group(1)
    m = re.match(r"^([A-Za-z]+)\.?\s+((?:18|19|20)\d{2})$", text)
    if m and m.group(1).lower() in _MONTHS:
        return f"{m.group(2)}-{_MONTHS[m.group(1).lower()]:02d}"
    return text


def _set_dates(fields: dict[str, str], m: re.Match[str]) -> None:
    fields["start_date"] = norm_date(m.group("start"))
    if m.group("end"):
        fields["end_date"] = norm_date(m.group("end"))


def _role_score(part: str) -> tuple[int, int]:
    """(title words, -organisation words): the part with the highest score is the job title."""
    found = re.findall(r"[\w&.-]+", part.lower())
    words = set(found) | {w.strip(".") for w in found}  # "Ltd." counts as "ltd"
    return len(words & _TITLE_WORDS), -len(words & _ORG_WORDS)


def parse_header(header: str, category: str | None) -> dict[str, str]:
    """Split an entry header ("Title, Org – City, ST Jan 2020 – present") into fact fields; a
    project's header gives ``name`` and, for the text after it, ``description`` (which
    :func:`pipeline.resume.ingest.ingest` turns into the entry's first line, not a field)."""
    fields: dict[str, str] = {}
    text = header.strip()
    m = TRAILING_RANGE.search(text)
    if m:
        _set_dates(fields, m)
        text = text[: m.start()].strip(" ,·|–—-")
    segments = [s.strip() for s in _SEPARATORS.split(text) if s.strip()]
    if len(segments) > 1 and _LOCATION.match(segments[-1]) and _role_score(segments[-1]) == (0, 0):
        fields["location"] = segments.pop()  # "City, Region", not "Charge Nurse, Acute Medical Unit"
    if category == "education":
        joined = ", ".join(segments)
        d = _DEGREE.search(joined)
        if d:
            fields["degree"] = d.group(1).strip()
            end = d.end()
            hons = re.match(r"\s*\((?:Hons|Honours|Hon)\.?\)", joined[end:], re.IGNORECASE) if not d.group("area") else None
            if hons:  # "BSc (Hons) Adult Nursing": the honours mark belongs to the degree
                fields["degree"] += " (Hons)"
                end += hons.end()
            if d.group("area"):
                fields["area"] = d.group("area").strip()
            joined = (joined[: d.start()] + joined[end:]).strip(" ,")
        parts = [p.strip() for p in re.split(r",\s*|\s+[—–|·]\s+", joined) if p.strip()]
        inst = [p for p in parts if set(p.lower().split()) & _ORG_WORDS] or parts[:1]
        if inst:
            fields["organization"] = inst[0]
            rest = [p for p in parts if p != inst[0]]
            if rest and "area" not in fields:
                fields["area"] = rest[0]
        return fields
    if category in {"work_experience", "leadership", "military"}:
        parts = segments if len(segments) > 1 else [p.strip() for p in " ".join(segments).split(",", 1)]
        parts = [p for p in parts if p]
        if len(parts) >= 2:
            title_i = max(range(len(parts)), key=lambda i: (*_role_score(parts[i]), -i))
            fields["title"] = parts[title_i]
            org = next(p for i, p in enumerate(parts) if i != title_i)
            head, _, city = org.rpartition(", ")
            if head and _role_score(head)[1] < 0 and _role_score(city) == (0, 0) and "location" not in fields \
                    and re.fullmatch(r"[A-ZÀ-Þ][\w.'’-]*(?:[ -][A-ZÀ-Þ][\w.'’-]*){0,2}", city):
                org, fields["location"] = head, city  # "Sahyadri Infrastructure Ltd., Pune"
            fields["organization"] = org
        elif parts:
            key = "title" if _role_score(parts[0])[0] > 0 else "organization"
            fields[key] = parts[0]
        return fields
    if text:
        fields["name"] = segments[0] if segments else text
        if len(segments) > 1:  # "Tidewatch · open-source tide forecasting library": it describes the project
            fields["description"] = ", ".join(segments[1:])
    return fields


def parse_meta(line: str) -> dict[str, str] | None:
    """A "City, Country · 2021-03 – present" line → fields; None when it is not a meta line."""
    m = TRAILING_RANGE.search(line)
    if not m:
        return None
    rest = line[: m.start()].strip(" ,·|–—-")
    if rest and not _LOCATION.match(rest):
        return None
    fields: dict[str, str] = {}
    _set_dates(fields, m)
    if rest:
        fields["location"] = rest
    return fields


# ---------------------------------------------------------------- cleaning
_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
_BULLET = re.compile(r"^\s*(?:[•◦▪▫▸►‣⁃●○■□➢➤✓✔∙·\u007f\uf0b7\uf0a7*+-]|\d{1,2}[.)])\s+")
_BULLET_ONLY = re.compile(r"^\s*[•◦▪▫▸►‣⁃●○■□➢➤✓✔∙·\u007f\uf0b7\uf0a7*-]\s*$")
_PAGE_LINE = re.compile(r"^\s*(?:page\s+\d+(?:\s*(?:of|/)\s*\d+)?|\d+\s*(?:of|/)\s*\d+|-\s*\d+\s*-)\s*$",
                        re.IGNORECASE)
_META_LINE = re.compile(r"^\s*(?:last updated|updated on|generated (?:by|with|on))\b", re.IGNORECASE)


def _is_icon(ch: str) -> bool:
    cp = ord(ch)
    return (unicodedata.category(ch) == "Co" or 0x2600 <= cp <= 0x27BF or 0x1F300 <= cp <= 0x1FAFF
            or 0xF0000 <= cp)


def clean_chars(text: str) -> tuple[str, int]:
    """Replace ligatures, drop icon-font/private-use glyphs and control chars; return (text, icons)."""
    for lig, rep in _LIGATURES.items():
        text = text.replace(lig, rep)
    icons = sum(1 for ch in text if _is_icon(ch))
    out = "".join(" " if _is_icon(ch) else ch for ch in text
                  if ch in "\n\t\u007f" or unicodedata.category(ch) != "Cc")
    return out, icons


def strip_repeated(pages: list[list[str]]) -> list[list[str]]:
    """Drop page furniture: lines on ≥2 pages within 3 lines of a page edge, "Page N of M"."""
    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({key(x) for x in lines[:3] + lines[-3:] if x.strip()})
    repeated = {k for k, n in edges.items() if n >= 2} if len(pages) > 1 else set()
    out = []
    for lines in pages:
        near = {i for i in range(len(lines)) if i < 3 or i >= len(lines) - 3}
        out.append([x for i, x in enumerate(lines)
                    if not _PAGE_LINE.match(x) and not _META_LINE.match(x)
                    and not (i in near and key(x) in repeated)])
    return out


def join_wrapped(lines: list[str], is_heading, wrap: bool = True) -> list[str]:
    """Re-join wrapped lines (when ``wrap``), end-of-line hyphenation and lone bullet glyphs;
    bullets → "- ". A line holding PII (a contact row) is never joined to its neighbour."""
    lengths = sorted(len(x) for x in lines if x.strip())
    full = lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0
    out: list[str] = []
    pending_bullet = False
    prev_raw = ""
    for raw in lines:
        if not raw.strip():
            out.append("")
            prev_raw = ""
            continue
        if _BULLET_ONLY.match(raw):
            pending_bullet = True
            continue
        line = " ".join(raw.split())
        bullet = pending_bullet or bool(_BULLET.match(raw))
        pending_bullet = False
        if bullet:
            out.append("- " + _BULLET.sub("", line, count=1).strip())
            prev_raw = raw
            continue
        prev = out[-1] if out else ""
        wrapped = wrap and prev and not prev.endswith((".", "!", "?", ":")) and not find_pii(line) and not find_pii(prev) and (
            line[:1].islower() or prev.endswith("-") or len(prev_raw.rstrip()) >= 0.85 * full
            or prev_raw.endswith(" ") and prev.startswith("- "))
        if (wrapped and not is_heading(line) and not DATE_ONLY.match(line) and not _DURATION.match(line)
                and not TRAILING_RANGE.search(line) and not _LOCATION.match(line)):
            if re.search(r"[a-z]-$", prev) and line[:1].islower():
                out[-1] = prev[:-1] + line
            elif prev.endswith("-"):
                out[-1] = prev + line
            else:
                out[-1] = prev + " " + line
        else:
            out.append(line)
        prev_raw = raw
    return out


# ---------------------------------------------------------------- plain text / Markdown / PDF
def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # only a character cut at the end of the sample
    return True


def read_pdf_pages(path: Path) -> list[str]:
    """Text of each page (pypdf, content-stream order so each column stays together).

    Raises:
        ResumeError: not a PDF (no ``%PDF-`` header in the first kilobyte), encrypted, corrupt,
            or without a text layer; each message names the file and what to do.
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:  # PDF readers accept the header anywhere in the first kilobyte
        kind = ("a Word/zip file" if head.startswith(b"PK") else "text" if head and _is_text(head)
                else "something else")
        raise ResumeError(f"{path}: not a PDF (no %PDF- header; it looks like {kind}); rename it to its real "
                          "extension (.md, .txt, .docx) or export the resume as PDF again")
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # its repair warnings ("EOF marker not found") would precede our message
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ResumeError(f"{path}: the PDF is encrypted (password protected); "
                              "export an unprotected copy and point resume_path at it")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ResumeError:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise ResumeError(f"{path}: the PDF is encrypted and cannot be opened ({exc}); "
                          "export an unprotected copy and point resume_path at it") from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResumeError(f"{path}: corrupt or truncated PDF ({type(exc).__name__}: {exc}); "
                          "re-export the PDF or use the Markdown/text version") from exc
    finally:
        pypdf_log.setLevel(level)
    if not any(p.strip() for p in pages):
        raise ResumeError(f"{path}: the PDF has no text layer (image-only or scanned); "
                          "run OCR on it (e.g. ocrmypdf) or use a Markdown/text version")
    return pages


def parse_text(pages: list[str], markdown: bool, is_heading, category_of) -> tuple[str | None, list[RawSection]]:
    """Cleaned lines → (name, sections). ``is_heading(line)`` says a line is a section title;
    ``category_of(title)`` maps a title to a category (None when unknown)."""
    page_lines = []
    icons_per_line: dict[str, int] = {}
    for page in pages:
        lines = []
        for raw in page.splitlines():
            text, icons = clean_chars(raw)
            icons_per_line[" ".join(text.split())] = icons
            lines.append(text)
        page_lines.append(lines)
    lines = [x for page in strip_repeated(page_lines) for x in page]
    lines = join_wrapped(lines, lambda x: bool(re.match(r"^#{1,6}\s", x)) or is_heading(x), wrap=not markdown)
    name: str | None = None
    sections: list[RawSection] = []
    preamble = RawSection("Profile")
    current: RawSection | None = None
    entry: RawEntry | None = None
    for line in lines:
        if not line.strip() or re.fullmatch(r"[-*_=]{3,}", line.strip()):
            continue
        bold_lead = markdown and bool(re.match(r"^(\*\*|__)(?=\S)", line))  # "**Company** — Title (2019–2021)"
        if markdown and not re.match(r"^\*\s", line):  # "*Portland, OR · Apr 2020 – Present*" is a meta line
            line = md_inline(line)
        if bold_lead and current is not None and category_of(current.title) in _ENTRY_CATEGORIES \
                and len(line) <= 150 and not parse_meta(line.strip()):
            line = f"### {line.strip()}"  # an entry header written in bold instead of a ### heading
        hm = re.match(r"^(#{1,6})\s+(.*)$", line) if markdown else None
        if hm and len(hm.group(1)) == 1 and name is None and current is None:
            name = hm.group(2).strip()
            continue
        if (hm and len(hm.group(1)) <= 2) or (not markdown and not line.startswith("- ") and is_heading(line)):
            title = hm.group(2).strip() if hm else line.strip().rstrip(":")
            current, entry = RawSection(title), None
            sections.append(current)
            continue
        if current is None:  # before the first section: name, headline, contact rows, odd sections
            if name is None and _looks_like_name(line):
                name = line.strip()
            elif icons_per_line.get(line, 0) >= 2 or find_pii(line):
                continue  # a contact row (icon-decorated or holding an email/phone/URL)
            elif _is_title_like(line):
                current, entry = RawSection(line.strip()), None
                sections.append(current)
            else:
                _append_flat(preamble, line)
            continue
        category = category_of(current.title)
        if category in {"work_experience", "education", "projects", "leadership", "military"}:
            entry = _structured_line(current, entry, line, markdown, hm)
        else:
            _append_flat(current, line)
    for sec in [s for s in sections if not s.entries and category_of(s.title) is None]:
        sections.remove(sec)  # a lone title-like line (a headline), not a section
        _append_flat(preamble, sec.title)
    if preamble.entries:
        sections.insert(0, preamble)
    return name, sections


_ENTRY_CATEGORIES = {"work_experience", "education", "projects", "leadership", "military"}


def _looks_like_name(line: str) -> bool:
    words = line.strip().split()
    return 2 <= len(words) <= 5 and all(re.fullmatch(r"[A-ZÀ-Þ][\w'’.-]*", w) for w in words)


def _is_title_like(line: str) -> bool:
    words = line.strip().split()
    return (1 <= len(words) <= 6 and not re.search(r"[\d,.:;!?@]", line) and words[0][:1].isupper()
            and not line.startswith("- "))


def _append_flat(section: RawSection, line: str) -> None:
    text = line[2:].strip() if line.startswith("- ") else line.strip()
    if section.entries and DATE_ONLY.match(text) and section.entries[-1].lines:
        section.entries[-1].lines[-1] += f" ({text})"
        return
    if not section.entries:
        section.entries.append(RawEntry())
    section.entries[-1].lines.append(text)


def _structured_line(section: RawSection, entry: RawEntry | None, line: str, markdown: bool,
                     hm: re.Match[str] | None) -> RawEntry | None:
    """Place one line of an entry-structured section (experience, education...)."""
    if hm:  # "### Entry" in Markdown
        entry = RawEntry(header=hm.group(2).strip())
        section.entries.append(entry)
        return entry
    if line.startswith("- "):
        if entry is None:
            entry = RawEntry()
            section.entries.append(entry)
        entry.lines.append(line[2:].strip())
        entry.bullets = True
        return entry
    if _DURATION.match(line):
        return entry
    stripped = line.strip()
    role_line = not markdown and bool(TRAILING_RANGE.search(stripped)) and not _SEPARATORS.search(stripped) \
        and (_role_score(stripped)[0] > 0 or bool(_DEGREE.search(stripped))) and _role_score(stripped)[1] == 0
    # "Senior Structural Engineer, Apr 2021 - Present" / "M.Tech. in Structural Engineering, 2012 - 2014"
    # under the employer or school line
    if role_line and entry is not None and entry.header and not entry.lines and not entry.bullets \
            and not TRAILING_RANGE.search(entry.header) and not entry.fields:
        section.employer = entry.header  # the line above named the employer
        entry.header = f"{entry.header} | {stripped}"
        return entry
    meta = None if role_line else parse_meta(line)
    if meta is not None and entry is not None and not entry.closed:
        if "start_date" not in entry.fields:
            entry.fields.update({k: v for k, v in meta.items() if k not in entry.fields})
            entry.closed = bool(entry.lines)  # the date column printed after the body ends the entry
        return entry
    if markdown:  # plain text under a Markdown entry: a summary line
        if entry is None:
            entry = RawEntry()
            section.entries.append(entry)
        entry.lines.append(line.strip())
        return entry
    if (entry is not None and entry.header and entry.lines and not entry.closed and not role_line
            and "location" not in entry.fields and _LOCATION.match(line.strip()) and _role_score(line) == (0, 0)):
        entry.fields["location"] = line.strip()  # the location printed above the date column
        return entry
    text = line.strip()
    next_org = (entry is not None and bool(entry.header) and bool(TRAILING_RANGE.search(entry.header))
                and _role_score(text)[1] < 0 and _role_score(text)[0] == 0 and len(text) <= 80
                and not TRAILING_RANGE.search(text))  # "Savitribai Phule Pune University, Pune" after a dated entry
    if entry is None or entry.bullets or entry.closed or next_org:
        if next_org:
            section.employer = ""
        if role_line and section.employer:  # a second role under the same employer (a promotion)
            text = f"{section.employer} | {text}"
        entry = RawEntry(header=text)
        section.entries.append(entry)
    elif not entry.header:
        entry.header = text
    else:
        entry.lines.append(text)
    return entry


def md_inline(text: str) -> str:
    """Strip inline Markdown: [text](url) → text, **b** / *i* / __b__ / _i_ → plain (an
    underscore inside a word, "snake_case", stays)."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", str(text))
    return re.sub(r"\*\*(.+?)\*\*|\*(.+?)\*|__(.+?)__|(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)",
                  lambda m: next(g for g in m.groups() if g), text)


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (BOM allowed) → str; raises ResumeError naming the bad byte otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResumeError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "re-save the file as UTF-8") from exc
