"""PII scrubbing for resume text: contact details out, resume facts (dates, GPAs, numbers) in.

Run its tests with ``pytest tests/test_pii.py``. ``pipeline.resume.ingest.ingest`` calls :func:`scrub`
on every piece of text before it is stored, so nothing downstream (dataset, eval sets,
model) ever sees an email, phone number, URL, handle or street address.

Each kind of PII is replaced by a neutral placeholder (``[email]``, ``[phone]``, ``[url]``,
``[handle]``, ``[address]``) so a sentence stays readable ("Call me at [phone]."). The
placeholders match none of the patterns, so :func:`scrub` is idempotent.

What survives on purpose: years and year ranges ("2018 – 2023", "2021-03"), ISO dates,
GPAs ("3.97/4.00"), percentages, counts ("340+", "2M+", "1,300+"), patent and DOI numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PLACEHOLDERS = ("[email]", "[phone]", "[url]", "[handle]", "[address]")

_TLDS = (
    "com|org|net|edu|gov|io|dev|ai|app|co|me|info|biz|xyz|tech|site|online|page|blog|"
    "us|uk|ca|de|se|nl|fr|eu|au|in|ch|no|dk|fi|es|it|jp|example|ly"
)
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_DOMAIN = re.compile(
    rf"(?<![\w@/.-])(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>\"')\]]*)?", re.IGNORECASE
)
_NETWORKS = (
    "linkedin|github|gitlab|twitter|x|instagram|facebook|mastodon|bluesky|soundcloud|"
    "youtube|tiktok|medium|stackoverflow|kaggle|telegram|skype|discord"
)
_LABELED_HANDLE = re.compile(rf"\b(?:{_NETWORKS})\s*[:：]\s*@?[\w.-]+", re.IGNORECASE)
_AT_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,/])\+?\(?\d[\d\s().-]{5,}\d(?![\w%+/]|[.,]\d)")
_STREET_SUFFIX = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|"
    "Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Broadway|Alley|Trail|Row"
)
_STREET = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[A-Z][\w.'-]*\s+){{0,4}}(?:{_STREET_SUFFIX})\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\.?\s*[\w-]+)?"
    r"(?:,\s*(?:[A-Z][\w.'-]*\s+){0,3}?[A-Z][\w.'-]*,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?"
    r"|,\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?"
)
_EU_STREET = re.compile(
    r"\b[A-ZÅÄÖÜ][\wåäöüß-]*(?:gatan|vägen|gränd|straße|strasse|str\.|weg|laan|straat|gade|vej)"
    r"\s+\d{1,5}[A-Za-z]?(?:,\s*\d{3}\s?\d{2}\s+[A-ZÅÄÖ][\wåäö]+)?"
)
_POSTAL = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
_ISO_DATE = re.compile(r"^\d{4}[-./]\d{1,2}(?:[-./]\d{1,2})?$")
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
_MONTH_DATE = re.compile(r"(?:19|20)\d{2}-(?:0[1-9]|1[0-2])\b")


def _is_phone(candidate: str) -> bool:
    """True when ``candidate`` (digits with spaces, dots, dashes, parens) reads as a phone number."""
    text = candidate.strip()
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or _ISO_DATE.match(text):
        return False
    groups = re.findall(r"\d+", text)
    if text.startswith("+") or "(" in text:
        return True
    if all(_YEAR.match(g) for g in groups) or _MONTH_DATE.search(text):  # years, "2014-08 - 2016-06"
        return False
    if len(groups) == 1:
        return len(digits) >= 10
    # North American and common European groupings: 3-3-4, 3-4, 2-2-2-2(-2), 4-3-3, 3-2-2-2 ...
    return len(groups) >= 2 and all(1 <= len(g) <= 5 for g in groups) and len(digits) >= 7


def _phones(text: str, sub: Callable[[str, str], str]) -> str:
    def repl(m: re.Match[str]) -> str:
        raw = m.group(0)
        core = raw.rstrip(" .-(")
        if not _is_phone(core):
            return raw
        return sub(core, "[phone]") + raw[len(core):]

    return _PHONE_CANDIDATE.sub(repl, text)


def _trim_url(match: str) -> tuple[str, str]:
    """Split trailing sentence punctuation off a URL/domain match: ("x.com/a", ".")."""
    core = match.rstrip(".,;:!?")
    return core, match[len(core):]


def _apply(text: str, found: list[str] | None) -> str:
    def record(value: str, placeholder: str) -> str:
        if found is not None:
            found.append(value)
        return placeholder

    def simple(pattern: re.Pattern[str], placeholder: str, trim: bool = False) -> None:
        nonlocal text

        def repl(m: re.Match[str]) -> str:
            if trim:
                core, tail = _trim_url(m.group(0))
                return record(core, placeholder) + tail
            return record(m.group(0), placeholder)

        text = pattern.sub(repl, text)

    simple(_EMAIL, "[email]")
    simple(_URL, "[url]", trim=True)
    simple(_LABELED_HANDLE, "[handle]")
    simple(_DOMAIN, "[url]", trim=True)
    simple(_AT_HANDLE, "[handle]")
    simple(_STREET, "[address]")
    simple(_EU_STREET, "[address]")
    text = _phones(text, record)
    simple(_POSTAL, "[address]")
    return text


def scrub(text: str) -> str:
    """Return ``text`` with emails, phones, URLs/domains, handles and street addresses replaced.

    Placeholders: ``[email]``, ``[phone]``, ``[url]``, ``[handle]``, ``[address]``. Idempotent:
    ``scrub(scrub(t)) == scrub(t)``. Never raises; an empty string stays empty.
    """
    return _apply(text, None)


def find_pii(text: str) -> list[str]:
    """The PII substrings :func:`scrub` would replace, in the order they are replaced.

    Returns an empty list for clean text (and for text that holds only placeholders).
    """
    found: list[str] = []
    _apply(text, found)
    return [f for f in found if f not in _PLACEHOLDERS]
