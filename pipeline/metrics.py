"""Pure text scorers behind the evaluation gates: normalization, exact match, token F1, ...

Nothing here touches files or models; ``pytest tests/test_metrics.py`` checks every scorer
against ``../shared/cases/*.jsonl`` and hypothesis properties.

Normalization (:func:`normalize`, :func:`tokens`) is shared by every scorer, so a keyword,
a reference and a response are always compared in the same form:

1. Unicode NFKD, combining marks dropped (``Boğaziçi`` → ``bogazici``) and a few letters
   without a decomposition folded (``ß`` → ``ss``, ``ø`` → ``o``, ``ł`` → ``l``, ...).
2. Typographic dashes (‐ ‑ ‒ – — ― −) become ``-``, apostrophes (’ ‘ ʼ ′ `) become ``'``,
   quotes (“ ” „ « ») become ``"``.
3. Lower case.
4. Tokens: runs of letters/digits joined by inner ``. ' / - & @ : _`` (``node.js``,
   ``3.97/4.00``, ``co-founder``, ``don't``, ``2019-2021``), digit-group commas (``2,000`` →
   ``2000``), a leading dot before a letter (``.net``) and a trailing ``+``, ``++``, ``#`` or
   ``%`` (``c++``, ``c#``, ``2m+``, ``99.97%``). Every other character is punctuation and
   dropped, so a trailing period or a comma never changes a match.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_APOSTROPHES = "\u2019\u2018\u201b\u02bc\u2032\uff07`\u00b4"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"
_FOLD = str.maketrans(
    {**{c: "-" for c in _DASHES}, **{c: "'" for c in _APOSTROPHES}, **{c: '"' for c in _QUOTES},
     "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th", "\u00a0": " "}
)
_TOKEN = re.compile(
    r"(?:(?<![\w.])\.(?=[^\W_]))?"          # leading dot of .net
    r"[^\W_]+"                               # letters / digits
    r"(?:(?:[.'/&@:_-]|(?<=\d),(?=\d))[^\W_]+)*"  # inner connectors, digit-group commas
    r"(?:\+\+?|#|%)?"                        # c++, c#, 2m+, 99.97%
)
_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d)")

# Abbreviations whose period does not end a sentence (lower case, with their periods).
_TITLES = frozenset("mr. mrs. ms. dr. prof. rev. gen. col. capt. lt. sgt. sen. rep. st. mt. hon.".split())
_ABBREVIATIONS = _TITLES | frozenset(
    "inc. ltd. co. corp. llc. jr. sr. vs. etc. e.g. i.e. approx. dept. univ. no. vol. fig. est. "
    "jan. feb. mar. apr. jun. jul. aug. sep. sept. oct. nov. dec. a.m. p.m. ph.d. u.s. u.k. "
    "b.s. b.a. m.s. m.a. m.b.a. b.sc. m.sc. m.eng. b.eng. d.phil. j.d. m.d.".split()
)
_NEVER_END = _TITLES | {"e.g.", "i.e.", "vs."}
_INITIALISM = re.compile(r"^(?:[a-z]{1,3}\.){2,}$|^[a-z]\.$")
# After a (non-title) abbreviation, one of these words starts a new sentence.
_STARTERS = frozenset(
    "he she they it his her their its this that these those the a an i we our my you there "
    "in after before during later then also she's he's".split()
)
_CLOSERS = "\"')]}"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.translate(_FOLD).lower()


def tokens(text: str) -> list[str]:
    """The normalized tokens of ``text`` (see the module docstring), in order.

    Args:
        text: any string; ``""`` gives ``[]``.

    Returns:
        Lower-case, accent-folded tokens; punctuation outside tokens is dropped.
    """
    return [_DIGIT_GROUP.sub("", m.group()) for m in _TOKEN.finditer(_fold(text))]


def normalize(text: str) -> str:
    """``text`` folded and re-joined from its :func:`tokens` with single spaces.

    Idempotent: ``normalize(normalize(x)) == normalize(x)``.
    """
    return " ".join(tokens(text))


def exact_match(reference: str, prediction: str) -> float:
    """1.0 when both strings normalize to the same text, else 0.0 (two empty strings match)."""
    return 1.0 if normalize(reference) == normalize(prediction) else 0.0


def token_f1(reference: str, prediction: str) -> float:
    """SQuAD-style F1 over the bags of :func:`tokens` (Rajpurkar et al., 2016, official script).

    precision = common / |prediction tokens|, recall = common / |reference tokens|, where
    common counts shared tokens with multiplicity; F1 = 2PR / (P + R). Both empty → 1.0
    (nothing to say, nothing said); exactly one empty → 0.0. Symmetric in its arguments.

    Returns:
        A float in [0, 1].
    """
    ref, pred = tokens(reference), tokens(prediction)
    if not ref and not pred:
        return 1.0
    common = sum((Counter(ref) & Counter(pred)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return any(list(haystack[i:i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def _strip_possessive(tok: str) -> str:
    return tok[:-2] if tok.endswith("'s") and len(tok) > 2 else tok


def keyword_coverage(response: str, keywords: Iterable[str]) -> float:
    """Share of ``keywords`` found in ``response`` as whole tokens (multi-word keywords contiguous).

    Both sides go through :func:`tokens`, so ``C`` does not cover ``C++`` and ``Rust`` does
    not match inside ``trusts``; a possessive ``'s`` in the response is ignored (``Acme's``
    covers ``Acme``). Keywords that normalize to nothing are ignored; with no keyword left
    the coverage is 1.0 (nothing was required).

    Returns:
        A float in [0, 1].
    """
    wanted = [tokens(k) for k in keywords]
    wanted = [k for k in wanted if k]
    if not wanted:
        return 1.0
    have = [_strip_possessive(t) for t in tokens(response)]
    hits = sum(_contains(have, [_strip_possessive(t) for t in k]) for k in wanted)
    return hits / len(wanted)


def missing_keywords(response: str, keywords: Iterable[str]) -> list[str]:
    """The keywords (as given) that :func:`keyword_coverage` does not find in ``response``."""
    return [k for k in keywords if tokens(k) and keyword_coverage(response, [k]) == 0.0]


def _ends_sentence(chunk: str, next_chunk: str | None) -> bool:
    word = chunk.rstrip(_CLOSERS + _APOSTROPHES + _QUOTES)
    if not word or word[-1] not in ".!?\u2026":
        return False
    if next_chunk is None or word[-1] in "!?":
        return True
    capital = next_chunk.lstrip(_CLOSERS + _QUOTES + "(")[:1].isupper()
    if word[-1] == "\u2026" or word.endswith(".."):
        return capital
    low = _fold(word)
    if low in _NEVER_END:
        return False
    if low in _ABBREVIATIONS or _INITIALISM.match(low):
        nxt = tokens(next_chunk)
        return capital and bool(nxt) and nxt[0] in _STARTERS
    return True


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences at ``.``, ``!`` or ``?`` followed by white space.

    Not an end: a period inside a token (``3.97``, ``Node.js``), a title (``Dr.``, ``Mr.``),
    ``e.g.``/``i.e.``/``vs.``, and other known abbreviations or initialisms (``Ph.D.``,
    ``U.S.``, ``Inc.``, ``J.``) unless the next word is a capitalized common sentence
    starter (``He``, ``The``, ``In``, ...); an ellipsis (``…``, ``...``) ends a sentence only
    before a capital. Segments without a letter or digit are dropped.

    Returns:
        The sentences, stripped, in order.
    """
    chunks = text.split()
    sentences: list[str] = []
    current: list[str] = []
    for i, chunk in enumerate(chunks):
        current.append(chunk)
        nxt = chunks[i + 1] if i + 1 < len(chunks) else None
        if nxt is None or _ends_sentence(chunk, nxt):
            sentences.append(" ".join(current))
            current = []
    return [s for s in sentences if any(c.isalnum() for c in s)]


def count_sentences(text: str) -> int:
    """Number of sentences per :func:`split_sentences` (0 for empty or punctuation-only text)."""
    return len(split_sentences(text))


def count_words(text: str) -> int:
    """White-space separated chunks holding a letter or digit (``3.97/4.00`` is one word)."""
    return sum(1 for chunk in text.split() if any(c.isalnum() for c in chunk))


def length_compliant(text: str, max_sentences: int, max_words: int) -> bool:
    """True when ``text`` has at most ``max_sentences`` sentences and ``max_words`` words.

    Limits come from ``generation_limits.max_answer_sentences`` / ``max_answer_words``. An
    empty text is compliant (length only; :func:`behavior_correct` fails empty answers).
    """
    return count_sentences(text) <= max_sentences and count_words(text) <= max_words


def is_refusal(text: str, markers: Iterable[str]) -> bool:
    """True when one of ``markers`` occurs in ``text`` as a contiguous token sequence.

    Both sides are normalized, so ``I can’t answer`` (curly apostrophe) matches the marker
    ``I can't answer``. Empty or white-space-only text is never a refusal.
    """
    have = tokens(text)
    if not have:
        return False
    return any(_contains(have, m) for m in (tokens(x) for x in markers) if m)


def behavior_correct(expected_behavior: str, response: str, markers: Iterable[str]) -> bool:
    """Whether ``response`` does what the case expects: answer or refuse.

    ``refuse``: the response is a refusal (:func:`is_refusal`). ``answer``: the response is
    non-empty and holds no refusal marker, so an apology followed by facts ("Sorry for the
    wait! John worked at ...") is an answer. An empty or white-space-only response is never
    correct.

    Raises:
        ValueError: ``expected_behavior`` is neither ``answer`` nor ``refuse``.
    """
    if expected_behavior not in ("answer", "refuse"):
        raise ValueError(f"expected_behavior must be 'answer' or 'refuse', got {expected_behavior!r}")
    if not response.strip():
        return False
    refused = is_refusal(response, markers)
    return refused if expected_behavior == "refuse" else not refused


def fp32_alignment(fp32_response: str, variant_response: str) -> float:
    """Token F1 of a quantized variant's response against model.onnx's on the same case."""
    return token_f1(fp32_response, variant_response)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile with linear interpolation between order statistics.

    Same definition as ``numpy.percentile(values, q)`` (its default "linear" method):
    rank = q/100 * (n - 1) over the sorted values.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside [0, 100].
    """
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    data = sorted(values)
    rank = q / 100 * (len(data) - 1)
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


_STOP = frozenset(
    "a an the and or of in at on for to from with by as is was were be been has have had he she "
    "they his her their it its this that also who which what when where how did does do i you we "
    "our my me him them there than then into over under about while during after before".split()
)


def infer_keywords(reference: str, exclude: Iterable[str] = (), limit: int = 5) -> list[str]:
    """Distinctive tokens of a reference answer, used when a case has no ``kw:`` tags.

    A token qualifies when it holds a digit (``2019``, ``3.97``), carries a symbol kept by
    :func:`tokens` (``c++``, ``node.js``), or was capitalized in the reference without
    starting a sentence (proper nouns such as employers and schools). Stop words and the
    tokens of ``exclude`` (the person's names) never qualify. First occurrences, in order,
    at most ``limit``.
    """
    banned = {t for e in exclude for t in tokens(e)} | _STOP
    out: list[str] = []
    for sentence in split_sentences(reference):
        words = sentence.split()
        for i, word in enumerate(words):
            for tok in tokens(word):
                if tok in banned or tok in out:
                    continue
                symbolic = any(c.isdigit() for c in tok) or any(c in tok for c in "+#%.&/")
                proper = word.lstrip(_CLOSERS + '"(')[:1].isupper() and i > 0
                if symbolic or proper:
                    out.append(tok)
    return out[:limit]
