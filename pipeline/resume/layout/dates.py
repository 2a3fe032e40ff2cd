"""Dates and places as a resume prints them: "Mar. 2021 – Present", "03/2021", "Gothenburg, Sweden".

Part of :mod:`pipeline.resume.layout`, its lowest layer (it imports no other layout module).
Tested by ``pytest tests/test_layout_reader.py -k date_range``.
"""

from __future__ import annotations

import re

from pipeline.resume import formats as rf

_MON = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
        r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_YEAR = r"(?:18|19|20)\d{2}"
_DATE = (rf"(?:{_MON}\s*{_YEAR}|(?:0?[1-9]|1[0-2])\s*/\s*{_YEAR}|{_YEAR}\s*[-/.]\s*(?:0[1-9]|1[0-2])(?![\d])|"
         rf"{_YEAR}|[Pp]resent|PRESENT|[Cc]urrent|CURRENT|[Nn]ow|[Oo]ngoing|[Tt]oday)")
_DASH = r"\s*(?:[-–—‐‑‒−~]+|\bto\b|\buntil\b)\s*"
RANGE = re.compile(rf"(?<![\w/])(?P<start>{_DATE})(?:{_DASH}(?P<end>{_DATE}))?(?![\w/])", re.IGNORECASE)
_RANGE_ONLY = re.compile(rf"^\W*(?:{RANGE.pattern})\W*$", re.IGNORECASE)
_DURATION = re.compile(r"^\W*(?:\d+\s*(?:years?|yrs?|months?|mos?)\W*)+$", re.IGNORECASE)
_PLACE = r"[A-ZÀ-Þ][\w.'’-]*(?:[ -](?:[A-ZÀ-Þ][\w.'’-]*|de|del|am|upon|on|sur))*"
_LOCATION_RE = re.compile(rf"^(?:{_PLACE},\s*{_PLACE}|Remote|REMOTE)$")


_DATE_WORD = re.compile(r"\b(?:present|current|now|ongoing|today)\b", re.IGNORECASE)  # never a place


class _Location:
    """"City, Region" (capitalised words, a comma) that holds no job-title or organisation word
    and no date word ("Portland Code Collective, Present" is the rest of a date range)."""

    @staticmethod
    def match(text: str) -> bool:
        return (bool(_LOCATION_RE.match(text.strip())) and rf._role_score(text) == (0, 0) and len(text) <= 60
                and not _DATE_WORD.search(text)
                and all(len(re.findall(r"\b[A-ZÀ-Þ]", part)) <= 3 for part in text.split(",")))  # no 4-word town


_LOCATION = _Location()
_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12}


def norm_date(text: str) -> str:
    """One printed date → "YYYY-MM", "YYYY" or "present" ("Sept 2018", "03/2021", "2021-03",
    "Mar.2021", "Present"); the input stripped when it is none of these."""
    t = text.strip().rstrip(".").strip()
    if re.fullmatch(r"present|current|now|ongoing|today", t, re.IGNORECASE):
        return "present"
    m = re.fullmatch(rf"({_YEAR})\s*[-/.]\s*(\d{{2}})", t)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(rf"(\d{{1,2}})\s*/\s*({_YEAR})", t)
    if m:
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    m = re.fullmatch(rf"([A-Za-z]+)\.?\s*({_YEAR})", t)
    if m and m.group(1)[:3].lower() in _MONTHS:
        return f"{m.group(2)}-{_MONTHS[m.group(1)[:3].lower()]:02d}"
    return t


def parse_range(text: str) -> tuple[str, str] | None:
    """``(start, end)`` of the first date range in ``text`` ("Mar 2021 – Present" →
    ("2021-03", "present"); "2022" → ("2022", "")), or None when it holds no date."""
    for m in RANGE.finditer(text):
        start = norm_date(m.group("start"))
        if start == "present" and not m.group("end"):
            continue  # a lone "now" / "current" in prose is not a date
        return start, norm_date(m.group("end")) if m.group("end") else ""
    return None


def is_date_range(text: str) -> bool:
    """True when ``text`` is nothing but a date or a date range (punctuation around allowed)."""
    return bool(_RANGE_ONLY.match(text.strip())) and parse_range(text) is not None



# The second half of a "City, Region" that names a region, not a city: a state or country code
# ("CA", "NJ", "UK") or a country, state or province a resume commonly names.
_REGION_NAMES = frozenset(x.strip() for x in """
usa, united states, canada, mexico, brazil, argentina, chile, colombia, peru, uk, united kingdom, england,
scotland, wales, ireland, france, germany, spain, portugal, italy, netherlands, the netherlands, belgium,
luxembourg, switzerland, austria, denmark, sweden, norway, finland, iceland, poland, czechia, czech republic,
slovakia, hungary, romania, bulgaria, greece, turkey, türkiye, ukraine, estonia, latvia, lithuania, slovenia,
croatia, serbia, israel, egypt, nigeria, kenya, ghana, south africa, morocco, india, pakistan, bangladesh,
sri lanka, nepal, china, japan, korea, south korea, taiwan, hong kong, singapore, malaysia, indonesia,
thailand, vietnam, philippines, australia, new zealand, uae, united arab emirates, saudi arabia, qatar,
california, texas, new york, washington, massachusetts, illinois, florida, oregon, colorado, georgia,
ontario, quebec, british columbia, bavaria, catalonia, scania
""".replace("\n", " ").split(",") if x.strip())


def is_region(text: str) -> bool:
    """A region or country ("CA", "UK", "Sweden", "New Zealand"), as the last part of "City, Region"."""
    t = text.strip().rstrip(".")
    return bool(re.fullmatch(r"[A-Z]{2,3}", t)) or t.casefold() in _REGION_NAMES


def org_then_city(first: str, second: str) -> bool:
    """"Org, City" in one run: ``first`` holds no job-title word, ``second`` is one to three
    capitalised words with no title or organisation word and no digit ("Grenoble", "Mountain
    View"). Shared by the PDF and Word readers, which apply it only when the entry's title is on
    another header line: "US Navy Reserve, Rear Admiral" alone is organization and title (not
    every title is in the title-word list)."""
    return (rf._role_score(first)[0] == 0 and rf._role_score(second) == (0, 0) and not re.search(r"\d", second)
            and bool(re.fullmatch(r"[A-ZÀ-Þ][\w.'’-]*(?:[ -][A-ZÀ-Þ][\w.'’-]*){0,2}", second)))


def span_fields(dates: tuple[str, str] | None, location: str = "") -> dict[str, str]:
    """An entry's ``start_date`` / ``end_date`` / ``location`` fields from its date range and
    place (empty values left out). Shared by the PDF and Word readers."""
    f: dict[str, str] = {}
    if dates:
        f["start_date"] = dates[0]
        if dates[1]:
            f["end_date"] = dates[1]
    if location:
        f["location"] = location
    return f
