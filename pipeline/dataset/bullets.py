"""What one resume bullet says, as slots for question phrasings: its verb, object, counts and changes.

Used by the template backend (:mod:`pipeline.dataset.template`, ``python -m pipeline dataset``)
to give every bullet of every entry its own questions ("What did Maya design at Northwind
Robotics?", "How many engineers did Maya lead at Northwind Robotics?", "By how much did Maya
cut mis-picks?"). Verb forms come from lemminflect (MIT), so "Led" reads as *lead* / *led* and
"Organises" as *organise*. Tested by ``pytest tests/test_bullets.py``.

Everything here only reads the bullet: the slots go into questions, never into answers, so
the answers stay made of the resume's own words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import lemminflect

# Uninflected verbs a bullet may open with (their base form is also their past form).
_BARE_VERBS = frozenset("cut set put run lead build ship own".split())
# Verbs a bullet uses in the passive ("Awarded the commendation"): the person is not the doer.
_PASSIVE = frozenset("award select name elect promote invite nominate grant".split())
# Where a verb's object ends: a preposition, a relative pronoun, a participle or punctuation.
_OBJECT_END = frozenset(
    "that which who with for on in to by using via across from into at as while and so where when "
    "within over under per such like including".split()
)
_ARTICLES = ("a ", "an ", "the ")
# -ing words resumes use as nouns ("model training cost", "self-supervised learning framework").
_GERUND_NOUNS = frozenset(
    "training learning processing engineering computing programming modeling modelling planning marketing "
    "testing funding hiring onboarding caching ranking scheduling pricing tracking monitoring serving "
    "consulting accounting banking manufacturing networking recruiting building housing".split()
)
# Words that end in "s" but are no counted noun ("from 3 to 28 across").
_NOT_NOUNS = frozenset("across has was is this its plus towards as thus always perhaps whereas us yes".split())
_NUMBER = r"\d[\d,.]*(?:[kKmMbB]\b)?\+?"
_COUNT = re.compile(rf"(?<![\w.])(?P<num>{_NUMBER})\s+(?P<noun>(?:[A-Za-z][\w-]*\s){{0,2}}?[a-z][\w-]*s)\b")
_AMOUNT = re.compile(r"\bby\s+(?P<amount>\d[\d.,]*\s?%)")
_UNITS = frozenset("ms s hours hrs years months days weeks minutes seconds".split())


@dataclass(frozen=True)
class Verb:
    """A verb as a question needs it.

    Attributes:
        base: the base form ("lead"), for "What did Maya lead ...?".
        past: the simple past ("led"), for "... the team Maya led".
        participle: the past participle ("led"), for "Has Maya ever led ...?".
    """

    base: str
    past: str
    participle: str


@dataclass(frozen=True)
class Count:
    """A counted noun inside a bullet: ``"6 engineers"`` → number ``"6"``, noun ``"engineers"``.

    Attributes:
        number: the number as written (``"800+"``, ``"1.2M"``).
        noun: the counted noun phrase (1–3 words, plural).
        verb: the nearest verb before it in its clause ("commanded a squad of 8 soldiers"),
            or None.
        in_object: whether it sits inside that verb's object (no preposition but "of" in
            between), so that "How many soldiers did Maya command?" reads right.
        clause: the ``;``-separated part of the bullet that holds it.
    """

    number: str
    noun: str
    verb: Verb | None
    in_object: bool
    clause: str


@dataclass(frozen=True)
class Amount:
    """A change "by N%": ``"cutting mis-picks by 40%"`` → verb *cut*, what ``"mis-picks"``."""

    verb: Verb
    what: str
    amount: str


@dataclass(frozen=True)
class Bullet:
    """The question slots of one bullet line.

    Attributes:
        text: the bullet, stripped of its marker.
        verb: its opening verb, or None when it opens with a noun ("GPA: 3.97", "Minor in ...")
            or a passive participle ("Awarded the commendation").
        passive: that participle's forms, when the bullet opens with one; else None.
        topic: the verb's object without its article ("team of 6 engineers"); "" without a verb.
        topic_a: the object as written ("a team of 6 engineers").
        key: for a ``Key: value`` line of at most three words before the colon, the key
            lower-cased ("thesis"); else "".
        counts: every counted noun, in text order.
        amounts: every "by N%" change with a verb in the five words before it.
    """

    text: str
    verb: Verb | None
    passive: Verb | None
    topic: str
    topic_a: str
    key: str
    counts: tuple[Count, ...]
    amounts: tuple[Amount, ...]


@functools.lru_cache(maxsize=4096)
def verb_forms(word: str) -> Verb | None:
    """The forms of ``word`` when it is an inflected verb ("Led", "Designed", "Organises").

    A word counts as a verb when lemminflect knows it as a verb form that differs from its
    lemma, or when it is one of a few uninflected past forms ("Cut", "Set"); nouns that are
    also verbs ("Minor", "Patent") are therefore not verbs.

    Returns:
        :class:`Verb`, or None.
    """
    low = word.lower().strip(",;:.")
    if low in _GERUND_NOUNS:
        return None
    lemmas = lemminflect.getAllLemmas(low, upos="VERB").get("VERB")
    if not lemmas or (lemmas[0] == low and low not in _BARE_VERBS):
        return None
    base = lemmas[0]
    forms = lemminflect.getAllInflections(base, upos="VERB")
    past = (forms.get("VBD") or (low,))[0]
    participle = (forms.get("VBN") or (past,))[0]
    return Verb(base, past, participle)


def _ends_object(word: str, taken: int) -> bool:
    """Whether ``word`` ends a verb's object after ``taken`` words: a preposition or relative
    pronoun; a past participle ("assistant used by"; not a hyphenated "self-supervised"); or,
    after three words, another verb form ("infrastructure serving", "Series A led")."""
    low = word.lower()
    if low in _OBJECT_END:
        return True
    if "-" not in low and low.endswith("ed") and len(low) >= 4:
        return True
    if taken < 3:
        return False
    if low.endswith("ing"):  # a gerund noun ("serving") also starts a participle clause here
        return bool(lemminflect.getAllLemmas(low, upos="VERB"))
    verb = verb_forms(low)
    return verb is not None and low in (verb.past, verb.participle)


def _object(words: list[str]) -> str:
    """The verb's object: words up to the first preposition, participle or punctuation."""
    out: list[str] = []
    for w in words:
        bare = w.strip(",;:.()")
        if out and _ends_object(bare, len(out)):
            break
        out.append(bare)
        if w != bare and w[-1:] in ",;:.":
            break
    return " ".join(out)


def _strip_article(text: str) -> str:
    low = text.lower()
    return next((text[len(a):] for a in _ARTICLES if low.startswith(a)), text)


def _amounts(text: str) -> tuple[Amount, ...]:
    """Each "by N%" with the nearest verb among the six words before it, in its own clause."""
    out = []
    for m in _AMOUNT.finditer(text):
        before = re.split(r"[,;]", text[:m.start()])[-1].split()[-6:]
        for i in range(len(before) - 1, -1, -1):
            verb = verb_forms(before[i])
            if verb and verb.base not in _PASSIVE:
                what = " ".join(before[i + 1:])
                if what:
                    out.append(Amount(verb, what, m.group("amount").replace(" ", "")))
                break
    return tuple(out)


def _count_verb(before: str) -> tuple[Verb | None, bool]:
    """The nearest active verb among the eight words before a count, in the count's clause,
    and whether the count is that verb's object (only "of" may stand between them).

    Mid-sentence, a past form is taken only after "and" or as the clause's first word of the
    bullet ("..., cited 340+ times" is passive: the person did not cite); -ing and present
    forms are taken anywhere ("handling 15,000 queries").
    """
    clause = re.split(r"[,;]", before)
    words = clause[-1].split()[-8:]
    opening = len(clause) == 1
    for i in range(len(words) - 1, -1, -1):
        verb = verb_forms(words[i])
        low = words[i].lower()
        past = low in (verb.past, verb.participle) if verb else False
        if verb and past and not low.endswith("ing") and not (
                (opening and i == 0 and len(clause[-1].split()) <= 8) or (i > 0 and words[i - 1].lower() == "and")):
            return None, False
        if verb and verb.base not in _PASSIVE:
            between = {w.lower() for w in words[i + 1:]}
            return verb, not (between & (_OBJECT_END - {"of"}))
    return None, False


def parse(line: str) -> Bullet:
    """The question slots of one bullet line (see :class:`Bullet`); never raises."""
    text = re.sub(r"\s+", " ", line.strip().lstrip("-*•· ")).strip()
    words = text.split()
    head, sep, value = text.partition(":")
    key = head.strip().lower() if sep and value.strip() and 0 < len(head.split()) <= 3 else ""
    verb = verb_forms(words[0]) if words and not key else None
    passive = None
    if verb and (verb.base in _PASSIVE or (len(words) > 1 and words[1].lower() in _OBJECT_END)):
        verb, passive = None, verb  # "Awarded the commendation", "Adopted by 3 labs", "Featured in ...": passive
    topic_a = _object(words[1:]) if (verb or passive) and not (len(words) > 1 and words[1].lower() in _OBJECT_END) \
        else ""
    counts = []
    clauses = [c.strip() for c in re.split(r";", text) if c.strip()]
    for m in _COUNT.finditer(text):
        noun = m.group("noun")
        if noun.split()[-1] in _UNITS or noun.split()[-1] in _NOT_NOUNS or noun.split()[0] in _NOT_NOUNS:
            continue
        clause = next((c for c in clauses if m.group(0) in c), text)
        counts.append(Count(m.group("num"), noun, *_count_verb(text[:m.start()]), clause))
    return Bullet(text, verb, passive, _strip_article(topic_a), topic_a, key, tuple(counts), _amounts(text))
