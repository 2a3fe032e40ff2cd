"""PII scrubbing for resume text: contact details out, resume facts (dates, GPAs, numbers) in.

Run its tests with ``pytest tests/test_pii.py``; ``python benchmarks/pii_bench.py`` shows the
time per KB stays flat as a line grows. ``pipeline.resume.ingest.ingest`` calls :func:`scrub`
on every piece of text before it is stored, so nothing downstream (dataset, eval sets,
model) ever sees an email, phone number, URL, handle, street address or identity number.

Each kind of PII is replaced by a neutral placeholder (``[email]``, ``[phone]``, ``[url]``,
``[handle]``, ``[address]``, ``[id]``) so a sentence stays readable ("Call me at [phone]."). The
placeholders match none of the patterns, so :func:`scrub` is idempotent; :func:`find_pii`
reports exactly the values :func:`scrub` replaces (one code path records them).

Covered: emails, also written out ("jane [at] example [dot] com", "jane(at)example(dot)com",
"name dot surname at company dot se"); URLs and bare domains; handles (``@name``, "GitHub: name",
"Slack handle name", "Skype live:name", Discord "name#1234"); phone numbers (international
"+CC ..." and national US/UK/SE/DE/FR formats, the latter checked with ``phonenumbers``); street
addresses (US "4000 15th Ave NE", French "12 Rue de Rivoli, 75001 Paris", Swedish/German
"Storgatan 12"), full UK postcodes ("SW1A 2AA"), US "WA 98101"; identity numbers (Swedish
personnummer "850312-1234", labelled passport / national id / SSN numbers).

What survives on purpose: years and year ranges ("2018 – 2023", "2021-03"), ISO and day-first
dates, GPAs ("3.97/4.00"), percentages, money ("$18M", "$1 200 000"), counts ("340+", "2M+",
"1,300+"), patent and DOI numbers.

Every pattern runs in linear time: a match can only start at a token boundary (lookbehinds),
repetitions are bounded, and phone candidates are maximal runs checked once (no backtracking
over a long run), so an 80 KB base64 photo line costs what any 80 KB line costs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

_PLACEHOLDERS = ("[email]", "[phone]", "[url]", "[handle]", "[address]", "[id]")

_TLDS = (
    "com|org|net|edu|gov|io|dev|ai|app|co|me|info|biz|xyz|tech|site|online|page|blog|"
    "us|uk|ca|de|se|nl|fr|eu|au|in|ch|no|dk|fi|es|it|jp|example|ly"
)
_LOCAL_CHARS = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~.-"
# The local part starts only where the previous character cannot be part of it: without the
# lookbehind a long token holding no "@" was re-scanned from every offset (quadratic).
_EMAIL = re.compile(rf"(?<![{_LOCAL_CHARS}])[{_LOCAL_CHARS}]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SEP_AT = r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}(?i:at)[ \t]{0,2}[\])}>][ \t]{0,3}|[ \t]{1,3}(?i:at)[ \t]{1,3})"
_SEP_DOT = r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}(?i:dot)[ \t]{0,2}[\])}>][ \t]{0,3}|[ \t]{1,3}(?i:dot)[ \t]{1,3}|\.)"
_SEG = r"[A-Za-z0-9_%+-]{1,64}"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.%+-]){_SEG}(?:{_SEP_DOT}{_SEG}){{0,5}}{_SEP_AT}{_SEG}(?:{_SEP_DOT}{_SEG}){{0,5}}"
    rf"{_SEP_DOT}(?i:{_TLDS})\b"
)
_WRITTEN_OUT = re.compile(r"[\[({<][ \t]*(?:at|dot)[ \t]*[\])}>]|\sdot\s", re.IGNORECASE)
_BRACKETED_AT = re.compile(r"[\[({<][ \t]*at[ \t]*[\])}>]", re.IGNORECASE)
_PLAIN_AT = re.compile(r"^(?P<local>\S+?)[ \t]+at[ \t]+", re.IGNORECASE)
# "worked at acme dot com" is a sentence; "maya at acme dot com" and "maya dot lind at ..." are addresses.
_NOT_A_LOCAL_PART = frozenset(
    "work works worked working job jobs intern interned engineer developer lead led based live lives lived "
    "study studied studying teach taught me us him her them is was be been are were here there now "
    "employed staff role available reach contact".split())
_URL = re.compile(r"\b(?:https?://|ftp://|file:///?|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_DOMAIN = re.compile(
    rf"(?<![\w@/.-])(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>\"')\]]*)?", re.IGNORECASE
)
# Degree and title abbreviations that look like domains ("M.Tech.", "B.Com", "M.Sc", "Ph.D"):
# a one- or two-letter label, a dot and a short word, no path.
_ABBREVIATION = re.compile(r"(?:[A-Z][a-z]?\.){1,2}[A-Za-z]{1,5}\.?", re.ASCII)


def _not_an_abbreviation(text: str) -> bool:
    """False for a dotted abbreviation ("M.Tech", "B.Com", "Ph.D"), which ``_DOMAIN`` would take for a domain."""
    return not _ABBREVIATION.fullmatch(text.strip())


_NETWORKS = (
    "linkedin|github|gitlab|twitter|x|instagram|facebook|mastodon|bluesky|soundcloud|"
    "youtube|tiktok|medium|stackoverflow|kaggle|telegram|skype|discord|slack|signal|whatsapp|"
    "wechat|reddit|twitch|keybase|matrix|xing|threads|behance|dribbble"
)
_HANDLE_VALUE = r"(?:live:\.?[\w.:-]*\w|@?[\w.-]+(?:#\d{4})?)"
_LABELED_HANDLE = re.compile(
    rf"\b(?:{_NETWORKS})(?:\s+(?:handle|id|username|user\s?name|nick(?:name)?)\s*[:：]?|"
    rf"\s+(?:name|user|account)\s*[:：]|\s*[:：])\s*{_HANDLE_VALUE}",
    re.IGNORECASE,
)
_SKYPE_LIVE = re.compile(r"(?<![\w:])live:\.?[\w.-]*\w")  # Skype ids: "live:jane.doe_1", "live:.cid.9f2a"
_DISCORD_TAG = re.compile(r"(?<![\w#@.])(?=[\w.]{0,32}[a-z])[A-Za-z][\w.]{1,31}#\d{4}\b")
# "@name", and a fediverse "@name@server" whole (else "@server" would stay behind).
_AT_HANDLE = re.compile(r"(?<![\w@.\]])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"
                        r"(?:@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)?")
_PHONE_RUN = re.compile(r"(?<![\w.,/+=])(?<!\w-)\+?\(?\d[\d\s().-]*")  # not inside a token ("ab-123...")
_PHONE_SPLIT = re.compile(r"\s+(?=\()|\s{2,}")  # "+46 70 123 45 67 (415) 555-0142": two numbers
_PHONE_MAX_LEN = 40  # "+44 (0) 20 7946 0958" is 20; a longer run is a table or a list of numbers
_STREET_SUFFIX = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|"
    "Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Broadway|Alley|Trail|Row"
)
_STREET_WORD = r"(?:[A-Z][\w.'-]*|\d{1,3}(?:st|nd|rd|th)|(?:de|la|le|del|van|von|der|den|of|the|du|des|di|da))"
_STREET = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:{_STREET_WORD}\s+){{0,4}}(?:{_STREET_SUFFIX})\b\.?"
    r"(?:\s+(?:NE|NW|SE|SW|N|S|E|W)\b\.?)?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\.?\s*[\w-]+)?"
    r"(?:,\s*(?:[A-Z][\w.'-]*\s+){0,3}?[A-Z][\w.'-]*,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?"
    r"|,\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?"
)
# Number first, then the street type, as in French, Italian, Spanish and Portuguese addresses.
_ROMANCE_STREET = re.compile(
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|allée|allee|chemin|impasse|"
    r"quai|cours|route|via|viale|corso|piazza|calle|carrer|plaza|rua)\s+"
    r"(?=[A-ZÀ-Ý]|[dl]'|(?:de|du|des|la|le|les|del|della|dei|di|da|do|dos|das|dels)\s)[^\n,;]{1,40}?"
    r"(?:,\s*\d{4,5}\s+[A-ZÀ-Ý][\w'-]*(?:[ -][A-ZÀ-Ý][\w'-]*){0,2}(?:\s+(?i:cedex)(?:\s+\d{1,2})?)?"
    r"|(?=[,;\n]|$))"
)
# A street name ending in its type, as Nordic, German and Dutch addresses write it ("Storgatan 12",
# "Storgata 14B, 0184 Oslo", "Hauptstraße 5", "Nørregade 7, 1165 København"), then an optional
# Swedish ("114 55 Stockholm") or 4-5 digit postcode and town.
_EU_STREET = re.compile(
    r"\b[A-ZÅÄÖÜØÆ][\wåäöüßøæ-]{0,40}(?:gatan|gata|gaten|gate|vägen|veien|vegen|vei|veg|gränd|torget|plass|plads|"
    r"stræde|straße|strasse|str\.|gasse|platz|weg|laan|straat|gade|vej|katu|tie)"
    r"\s+\d{1,5}[A-Za-z]?(?![\w.])(?:,\s*(?:\d{3}\s?\d{2}|\d{4,5})\s+[A-ZÅÄÖØÆÜ][\wåäöøæü-]+)?"
)
# A continental street without a street-type suffix, known by its shape: capitalised street
# words, at least two (with "den", "de la", ...), a house number, then a 4-5 digit postcode and a capitalised
# town ("Unter den Linden 77, 10117 Berlin", "Plaza Mayor 3, 28012 Madrid"). A year is never
# taken for the postcode.
_EU_STREET_POSTCODE = re.compile(
    r"\b(?:[A-ZÀ-ÝÄÖÜ][\w'.-]*\s+(?:(?:den|der|dem|am|an|im|zum|zur|von|de|del|la|le|des|di|da|do)\s+)*){1,4}"
    r"[A-ZÀ-ÝÄÖÜ][\w'.-]*\s+\d{1,4}[a-zA-Z]?,\s*(?!(?:19|20)\d{2}\b)\d{4,5}\s+[A-ZÀ-ÝÄÖÜ][\w'-]+"
)
# A line holding only a postcode and its town ("69002 Lyon, France", "D-10117 Berlin"): the second
# line of an address whose street line is above it. A year is never taken for the postcode.
_POSTCODE_TOWN_LINE = re.compile(
    r"(?m)^[ \t]*(?:[A-Z]{1,2}-)?(?!(?:19|20)\d{2}\b)\d{4,5}[ \t]+"
    r"(?!(?i:users|customers|members|downloads|stars|followers|students|employees|engineers|people|hours)\b)"
    r"[A-ZÀ-ÝÄÖÜ][\w'-]+(?:[ -][A-ZÀ-ÝÄÖÜ][\w'-]+)?"
    r"(?:,[ \t]*[A-ZÀ-Ý][\w'-]+(?:[ -][A-ZÀ-Ý][\w'-]+)?)?[ \t]*$"
)
# Outward code (letters as the Royal Mail allocates them) and inward code, e.g. "SW1A 2AA", "M1 1AE".
_UK_POSTCODE = re.compile(
    r"(?<![\w/+=.-])[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?(?!\d[GPT]B\b)\d[ABD-HJLNP-UW-Z]{2}(?![\w/+=-])"
)
# Canada Post's forward sortation area and local delivery unit ("M6H 2W5"), with its letter set.
_CA_POSTCODE = re.compile(r"(?<![\w/+=.-])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d(?![\w/+=-])")
_POSTAL = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
# Swedish personnummer / samordningsnummer: (YY)YYMMDD-NNNN (day + 60 for a samordningsnummer);
# without the separator only the 12-digit form (a 10-digit run reads as a phone number).
_SE_PERSONAL_NUMBER = re.compile(
    r"(?<![\w.,/+-])(?:(?:19|20)?\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])[-+]\d{4}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])\d{4})(?![\w-])"
)
_LABELED_ID = re.compile(
    r"(?<![\w/+=])(?i:(?:passport|passeport|reisepass)(?:\s*(?:no\.?|number|nr\.?|num\.?|#|id))?"
    r"|personnummer|ssn|social\s+security(?:\s+(?:number|no\.?))?"
    r"|national\s+id(?:entity)?(?:\s+card)?(?:\s+(?:number|no\.?))?|id(?:entity)?\s+(?:card\s+)?(?:number|no\.?))"
    r"\s*[:#.]?\s*(?P<value>(?=[A-Z0-9-]{0,15}\d)[A-Z0-9][A-Z0-9-]{4,14}[A-Z0-9])\b"
)
_ISO_DATE = re.compile(r"^\d{4}[-./]\d{1,2}(?:[-./]\d{1,2})?$")
_DATE_PART = r"(?:\d{1,2}[./-]){0,2}(?:19|20)\d{2}(?:[./-]\d{1,2}){0,2}"
_DATES = re.compile(rf"^{_DATE_PART}(?:\s*[-–]\s*{_DATE_PART})*$")  # "12.03.2021", "03.2021 - 06.2023"
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
_MONTH_DATE = re.compile(r"(?:19|20)\d{2}-(?:0[1-9]|1[0-2])\b")
_MONEY_BEFORE = re.compile(r"(?:[$€£¥₹]|\b(?:USD|EUR|SEK|GBP|NOK|DKK|CHF|kr))\s*$")
_MONEY_AFTER = re.compile(r"^\s*(?:kr\b|SEK\b|EUR\b|USD\b|GBP\b|€|\$|kronor\b|dollars\b|euros?\b)")
_PHONE_REGIONS = ("US", "GB", "SE", "DE", "FR")
# German-style "area code/number" ("030/90182-0", "0221/987 654"): the slash is kept out of
# _PHONE_RUN because grades ("3.82/4.00") and fractions use it, so this form is matched on its
# own: a trunk "0" and a 2-5 digit area code, and accepted only when phonenumbers reads the
# number (slash as a space) as valid.
_SLASH_PHONE = re.compile(r"(?<![\w./+-])0\d{2,5}/\d[\d -]{2,12}\d(?![\w/.,%]\d|[\w/%])")


@functools.lru_cache(maxsize=4096)
def _valid_national_number(candidate: str) -> bool:
    """True when ``phonenumbers`` reads all of ``candidate`` as a valid number of one of
    :data:`_PHONE_REGIONS` ("07700 900123", "030 12345678"); False when it is not installed."""
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - a declared dependency; the regex rules still apply
        return False
    for region in _PHONE_REGIONS:
        for m in phonenumbers.PhoneNumberMatcher(candidate, region, leniency=phonenumbers.Leniency.VALID):
            if m.start == 0 and m.end == len(candidate):
                return True
    return False


def _is_phone(candidate: str, before: str = "", after: str = "") -> bool:
    """True when ``candidate`` (digits with spaces, dots, dashes, parens) reads as a phone number.

    ``before`` / ``after`` are the text around it: a currency sign or code next to it makes it money.
    """
    text = candidate.strip()
    if len(text) > _PHONE_MAX_LEN:
        return False
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or _ISO_DATE.match(text) or _DATES.match(text):
        return False
    if _MONEY_BEFORE.search(before[-6:]) or _MONEY_AFTER.match(after[:10]):
        return False
    if re.fullmatch(r"\d{1,3}[.,]\d+", text):  # a decimal number ("0.79520857"), not a phone
        return False
    groups = re.findall(r"\d+", text)
    if text.startswith("+"):
        return True
    # years, "2014-08 - 2016-06", "NeurIPS 2023 (2023)": before the parenthesis rule below
    if all(_YEAR.match(g) for g in groups) or _MONTH_DATE.search(text):
        return False
    if "(" in text:
        return True
    if len(groups) == 1 and len(digits) >= 10:
        return True
    # North American and common European groupings: 3-3-4, 3-4, 2-2-2-2(-2), 4-3-3, 3-2-2-2 ...
    if len(groups) >= 2 and all(1 <= len(g) <= 5 for g in groups):
        return True
    # National numbers with a trunk prefix in other groupings: "07700 900123", "030 12345678".
    return text.startswith("0") and _valid_national_number(text)


def _phone_end(text: str, run: re.Match[str]) -> int:
    """End of the longest phone candidate in ``run`` (a maximal ``_PHONE_RUN`` match), or -1.

    The candidate ends at a digit that is not followed by a word character, ``%``, ``+``, ``/``,
    ``=`` or a decimal part (``.5``, ``,5``), and holds at least 7 characters from its first digit.
    One backwards scan of the run: linear, where a regex backtracking over the run was not.
    """
    first = run.start() + len(run.group(0)) - len(run.group(0).lstrip("+("))
    k = run.end() - 1
    n = len(text)
    while k >= first + 6:
        if text[k].isdecimal():
            nxt = text[k + 1] if k + 1 < n else ""
            bad = bool(nxt) and (nxt.isalnum() or nxt in "_%+/="
                                 or (nxt in ".," and k + 2 < n and text[k + 2].isdecimal()))
            if not bad:
                return k + 1
        k -= 1
    return -1


def _phones(text: str, sub: Callable[[str, str], str]) -> str:
    out: list[str] = []
    pos = last = 0
    while True:
        run = _PHONE_RUN.search(text, pos)
        if run is None:
            break
        end = _phone_end(text, run)
        if end < 0:
            pos = run.end()
            continue
        start = run.start()
        pieces = [(start, end)]
        if not _is_phone(text[start:end], text[max(0, start - 6):start], text[end:end + 10]) \
                and end - start <= 2 * _PHONE_MAX_LEN:
            cuts = [start, *(m.start() + start for m in _PHONE_SPLIT.finditer(text[start:end])), end]
            pieces = [(i, j) for i, j in zip(cuts, cuts[1:], strict=False) if i < j]
        for i, j in pieces:
            i += len(text[i:j]) - len(text[i:j].lstrip())
            if _is_phone(text[i:j], text[max(0, i - 6):i], text[j:j + 10]):
                out += [text[last:i], sub(text[i:j], "[phone]")]
                last = j
        pos = end
    out.append(text[last:])
    return "".join(out)


def _written_out_email(match: str) -> bool:
    """An ``_OBFUSCATED_EMAIL`` match is an address when "at"/"dot" is spelled out somewhere and,
    for a plain " at ", the part before it is not a word of a sentence ("worked at ...")."""
    if not _WRITTEN_OUT.search(match):
        return False
    if _BRACKETED_AT.search(match):
        return True
    local = _PLAIN_AT.match(match)
    if local is None:
        return True
    word = local.group("local")
    return bool(re.search(r"[._]|\sdot\s", word, re.IGNORECASE)) or (
        word.islower() and word not in _NOT_A_LOCAL_PART)


def _trim_url(match: str) -> tuple[str, str]:
    """Split trailing sentence punctuation off a URL/domain match: ("x.com/a", ".")."""
    core = match.rstrip(".,;:!?")
    return core, match[len(core):]


def _apply(text: str, found: list[str] | None) -> str:
    def record(value: str, placeholder: str) -> str:
        if found is not None:
            found.append(value)
        return placeholder

    def simple(pattern: re.Pattern[str], placeholder: str, trim: bool = False,
               accept: Callable[[str], bool] | None = None) -> None:
        nonlocal text

        def repl(m: re.Match[str]) -> str:
            if accept is not None and not accept(m.group(0)):
                return m.group(0)
            if "value" in pattern.groupindex:  # a label stays ("Passport No. [id]")
                whole, start = m.group(0), m.start("value") - m.start()
                return whole[:start] + record(m.group("value"), placeholder) + whole[m.end("value") - m.start():]
            if trim:
                core, tail = _trim_url(m.group(0))
                return record(core, placeholder) + tail
            return record(m.group(0), placeholder)

        text = pattern.sub(repl, text)

    simple(_EMAIL, "[email]")
    simple(_OBFUSCATED_EMAIL, "[email]", accept=_written_out_email)
    simple(_URL, "[url]", trim=True)
    simple(_LABELED_HANDLE, "[handle]")
    simple(_SKYPE_LIVE, "[handle]")
    simple(_DOMAIN, "[url]", trim=True, accept=_not_an_abbreviation)
    simple(_AT_HANDLE, "[handle]")
    simple(_DISCORD_TAG, "[handle]")
    simple(_LABELED_ID, "[id]")
    simple(_SE_PERSONAL_NUMBER, "[id]")
    simple(_UK_POSTCODE, "[address]")
    simple(_STREET, "[address]")
    simple(_ROMANCE_STREET, "[address]")
    simple(_EU_STREET, "[address]")
    simple(_EU_STREET_POSTCODE, "[address]")
    simple(_POSTCODE_TOWN_LINE, "[address]")
    simple(_CA_POSTCODE, "[address]")
    simple(_SLASH_PHONE, "[phone]", accept=lambda m: _valid_national_number(m.replace("/", " ")))
    text = _phones(text, record)
    simple(_POSTAL, "[address]")
    return text


def scrub(text: str) -> str:
    """Return ``text`` with emails, phones, URLs/domains, handles, street addresses and identity
    numbers replaced.

    Placeholders: ``[email]``, ``[phone]``, ``[url]``, ``[handle]``, ``[address]``, ``[id]``.
    Idempotent: ``scrub(scrub(t)) == scrub(t)``. Never raises; an empty string stays empty.
    Linear in ``len(text)``.
    """
    return _apply(text, None)


def find_pii(text: str) -> list[str]:
    """The PII substrings :func:`scrub` would replace, in the order they are replaced.

    Returns an empty list for clean text (and for text that holds only placeholders).
    """
    found: list[str] = []
    _apply(text, found)
    return [f for f in found if f not in _PLACEHOLDERS]
