"""The offline ``template`` dataset backend: question groups with one canonical answer each.

Runs inside ``python -m pipeline dataset`` when ``dataset.backend: template`` (the default).

For every fact of an enabled category the backend builds *question groups* (one fact + one
intent, e.g. "role at Northwind Robotics" or "GPA at KTH"). Each group has ONE canonical,
short, third-person answer made only of the fact's words and numbers plus connecting
words (:data:`pipeline.dataset.filters.FRAME_WORDS`), reused by all its phrasings, so a small model
sees one consistent target per fact; the answer always names its entry ("At Northwind
Robotics, Maya led ...") so that facts of different entries do not fuse. Intents cover the
forms people ask in: open, yes/no (answers open with "Yes," or "No,"), counts, spans,
current / first / most recent, lists, degree levels ("master's"), and one group per *bullet*
of every entry (its verb, object, counted nouns and "by N%" changes, read by
:mod:`pipeline.dataset.bullets`). A computed value (an entry count) is built only from the
resume's own entries and carried as ``computed`` for the grounding check. Phrasings come from
``pipeline/dataset/questions.yaml``: ``variations_per_question`` of the intent's ``train``
phrasings (seeded shuffle); its ``eval`` phrasings are kept for bootstrapped eval sets.
Dates are rendered as years (always present in the resume text, so answers stay grounded).
"""

from __future__ import annotations

import functools
import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset import bullets
from pipeline.dataset.filters import FRAME_WORDS, STOPWORDS
from pipeline.dataset.samples import BackendResult, Sample, enabled_categories
from pipeline.resume.ingest import Resume

_VERBS = frozenset(
    "led built wrote ran taught won grew drove made set began cut spoke gave took kept brought organises "
    "organizes leads manages mentors teaches runs builds maintains coordinates hosts oversees".split()
)
_PASSIVE = frozenset("awarded selected named elected promoted invited nominated granted".split())
_PRONOUN = re.compile(r"\b(she|he|they)\b", re.IGNORECASE)
_CHARACTER = (  # intent → keywords (first match wins; each intent used once)
    ("hobbies", ("outside work", "hobb", "free time", "spare time", "weekend", "enjoys")),
    ("experience", ("years of experience", "experience")),
    ("personality", ("known for", "personality", "reputation")),
    ("style", ("curious", "patient", "calm", "direct", "collaborat", "mentor", "approach")),
    ("general", ("",)),
)


@dataclass(frozen=True)
class QuestionGroup:
    """One fact + one intent: the unit that shares a canonical answer.

    Attributes:
        category: the fact's category.
        intent: key under ``intents.<category>`` in the phrasings file.
        fact_id: source fact id (``+``-joined for answers over several facts).
        answer: the canonical answer.
        slots: values for the phrasing placeholders (besides ``{name}``).
        keywords: words a correct answer must contain (eval ``kw:`` tags).
        computed: words of the answer computed from the resume's structure (a count), which
            the grounding check allows (:attr:`pipeline.dataset.samples.Sample.computed`).
    """

    category: str
    intent: str
    fact_id: str
    answer: str
    slots: Mapping[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    computed: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The group id used by the split (a count group adds its noun: one bullet may count two things)."""
        noun = self.slots.get("noun") if self.intent == "bullet_count" else None
        return f"{self.fact_id}:{self.intent}" + (f":{noun}" if noun else "")


@functools.lru_cache(maxsize=1)
def load_phrasings() -> dict:
    """The parsed ``pipeline/dataset/questions.yaml`` (intents and refusal pools)."""
    text = resources.files("pipeline.dataset").joinpath("questions.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


# -- text helpers -------------------------------------------------------------------------------
def _year(value: str | None) -> str | None:
    return value[:4] if value and value[:4].isdigit() else None


def _span(fields: Mapping[str, str]) -> str:
    start, end = _year(fields.get("start_date")), _year(fields.get("end_date"))
    if start and fields.get("end_date") == "present":
        return f" since {start}"
    if start and end and end != start:
        return f" from {start} to {end}"
    return f" in {start or end}" if (start or end) else ""


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the text opens with a name ("Raspberry Pi", "ONNX")."""
    words = text.split()
    if len(words) > 1 and words[0][:1].isupper() and not any(c.isupper() for c in words[0][1:]) \
            and words[1][:1].islower():
        return text[0].lower() + text[1:]
    return text


def _lower_words(text: str) -> str:
    return " ".join(w.lower() if w.istitle() else w for w in text.split())


def _sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if text[-1:] in '.!?"' else text + "."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOU" else "a"


@dataclass
class _Entry:
    """One resume entry: the header fact (title/org/dates) and its bullet facts."""

    head: object
    body: list[tuple[str, str]]  # (fact id, text)

    @property
    def fields(self) -> Mapping[str, str]:
        return self.head.fields


def _entries(facts: list) -> list[_Entry]:
    """Group facts that share an entry's fields; the fact naming the entry is its head."""
    groups: dict[tuple, list] = {}
    for f in facts:
        key = tuple(f.fields.get(k, "") for k in ("organization", "title", "name", "degree", "start_date"))
        groups.setdefault(key if any(key[:4]) else ("solo", f.id), []).append(f)
    out = []
    for items in groups.values():
        names = [v for k, v in items[0].fields.items() if k in ("organization", "title", "name", "degree") and v]
        head = next((f for f in items if any(v in f.text for v in names)), items[0])
        body = [(f.id, f.text.strip().lstrip("-*•· ").strip()) for f in items if f is not head]
        if not body and head.fields.get("summary"):
            body = [(head.id, s) for s in metrics.split_sentences(head.fields["summary"])]
        out.append(_Entry(head, [(i, t) for i, t in body if t]))
    return out


def _action(name: str, line: str, lead: str) -> str:
    """A body line as a third-person sentence: "Led X" → "<lead>, Maya led X."."""
    words = line.split()
    first = words[0].lower().rstrip(",:;")
    verb = bullets.verb_forms(first)
    if len(words) > 1 and words[1].lower() in ("by", "in", "into", "across", "on") and first.endswith("ed"):
        return _sentence(f"{lead.rstrip(', ')}: {line}" if lead else f"{name}: {line}")  # "Adopted by 3 labs"
    # An active past or present form ("Led", "Organises"); a base form ("Build") or gerund
    # ("Using") would not read as "<name> build ...", so those lines are quoted as they are.
    active = verb is not None and first != verb.base and not first.endswith("ing")
    if active and first not in _PASSIVE or first in _VERBS:
        return _sentence(f"{lead}{name} {line[0].lower()}{line[1:]}")
    if first in _PASSIVE:
        return _sentence(f"{lead}{name} was {line[0].lower()}{line[1:]}")
    key, sep, value = line.partition(":")
    if sep and len(key.split()) <= 3 and value.strip():
        where = f" {lead[0].lower()}{lead[1:].rstrip(', ')}" if lead else ""
        return _sentence(f"{name}'s {key.strip().lower()}{where}: {value.strip()}")
    return _sentence(f"{lead.rstrip(', ')}: {line}" if lead else f"{name}: {line}")


_LEADS = ("At ", "For ", "As ", "During ", "The ", "In ")


def _yes(answer: str) -> str:
    """ "Maya worked at X." → "Yes, Maya worked at X."; "At X, ..." → "Yes, at X, ..."."""
    return f"Yes, {answer[0].lower()}{answer[1:]}" if answer.startswith(_LEADS) else f"Yes, {answer}"


_DEGREE_LEVELS = (  # degree text (lower-cased, word-bounded) → how people name the level
    (r"\b(ph\.?d|doctor|doctorate|dphil)\b", "doctoral"),
    (r"\b(master|m\.?sc|m\.?s|mba|m\.?eng|m\.?a)\b", "master's"),
    (r"\b(bachelor|b\.?sc|b\.?s|b\.?a|b\.?eng)\b", "bachelor's"),
    (r"\bassociate\b", "associate"),
)


def degree_level(degree: str) -> str:
    """ "Master of Science" → "master's"; "" when the degree names no known level."""
    low = degree.lower()
    return next((level for pattern, level in _DEGREE_LEVELS if re.search(pattern, low)), "")


# -- groups per category ------------------------------------------------------------------------
def _g(cat: str, intent: str, fact_id: str, answer: str, kw: tuple = (), computed: tuple = (),
       **slots: str) -> QuestionGroup:
    return QuestionGroup(cat, intent, fact_id, answer, slots, tuple(k for k in kw if k), computed)


def _bullet_groups(cfg: Config, cat: str, fid: str, line: str, lead: str, at_org: str,
                   anchor: str, used: set[str], count_of: str = "") -> list[QuestionGroup]:
    """The shared ``bullet_*`` groups of one bullet line (see ``shared:`` in questions.yaml).

    Every group answers with the whole bullet as a sentence led by its entry (``lead``,
    "At Northwind Robotics, "), so a fact never loses the entry it belongs to; a count
    question answers with the bullet's clause that holds the count. ``used`` collects the
    question slots already taken in this entry (two bullets opening with "Built" would ask the
    same "What did Maya build at X?" with two answers), and a slot seen twice is skipped.
    ``anchor`` is a keyword every answer holds (the organization). ``count_of``: the answer
    for counts in a bullet without a verb ("1,100+ GitHub stars" of a project), "" for none.
    """
    n, b = cfg.person_name, bullets.parse(line)
    if not b.text:
        return []
    full = _action(n, b.text, lead)
    out: list[QuestionGroup] = []

    def fresh(slot: str) -> bool:
        if slot in used:
            return False
        used.add(slot)
        return True

    if b.verb and b.topic and fresh(f"verb:{b.verb.base}"):
        slots = dict(verb=b.verb.base, past=b.verb.past, past_participle=b.verb.participle,
                     topic=b.topic, topic_a=b.topic_a, at_org=at_org)
        out.append(_g(cat, "bullet_verb", fid, full, (anchor,), **slots))
        out.append(_g(cat, "bullet_yes", fid, _yes(full), (anchor,), **slots))
        if fresh(f"topic:{b.topic.lower()}"):
            out.append(_g(cat, "bullet_topic", fid, full, (anchor,), **slots))
    if b.key and b.key not in ("gpa", "grade", "grades") and fresh(f"key:{b.key}"):
        out.append(_g(cat, "bullet_keyed", fid, full, (anchor,), key=b.key, at_org=at_org))
    for c in b.counts:
        if not fresh(f"count:{c.noun.lower()}"):
            continue
        if c.verb and c.in_object:
            clause = bullets.parse(c.clause)
            answer = _action(n, c.clause, lead) if clause.verb and c.clause != b.text else full
            out.append(_g(cat, "bullet_count", fid, answer, (c.number.rstrip("+"), anchor), noun=c.noun,
                          verb=c.verb.base, at_org=at_org))
        elif b.verb and b.topic:
            out.append(_g(cat, "bullet_count_about", fid, full, (c.number.rstrip("+"), anchor), noun=c.noun,
                          past=b.verb.past, topic_a=b.topic_a, at_org=at_org))
        elif count_of:
            out.append(_g(cat, "bullet_count_of", fid, count_of, (c.number.rstrip("+"), anchor), noun=c.noun,
                          anchor=anchor))
    for a in b.amounts:
        if fresh(f"amount:{a.what.lower()}"):
            out.append(_g(cat, "bullet_amount", fid, full, (a.amount, anchor), lemma=a.verb.base, what=a.what,
                          at_org=at_org))
    if b.passive and b.topic and fresh(f"topic:{b.topic.lower()}"):
        out.append(_g(cat, "bullet_passive", fid, full, (anchor,), topic=b.topic, topic_a=b.topic_a,
                      participle=b.passive.participle,
                      at_org=at_org))
    if not out and not count_of and fresh("detail"):  # a bullet no other intent reads still gets a question
        out.append(_g(cat, "bullet_detail", fid, full, (anchor,), at_org=at_org))
    return out


def _jobs(cfg: Config, facts: list, cat: str) -> list[QuestionGroup]:
    n, out, answers = cfg.person_name, [], {}
    entries = sorted((e for e in _entries(facts) if e.fields.get("organization")),
                     key=lambda e: e.fields.get("start_date") or "", reverse=True)
    current = [e for e in entries if e.fields.get("end_date") == "present"]
    cities = [(e.fields.get("location") or "").split(",")[0].strip() for e in entries]
    for e in entries:
        f, hid = e.fields, e.head.id
        org, title = f["organization"], f.get("title", "")
        verb = "served" if cat == "military" else ("has worked" if f.get("end_date") == "present" else "worked")
        where = f"in the {org}" if cat == "military" else f"at {org}"
        answers[hid] = a = _sentence(f"{n} {verb} {where}{f' as {title}' if title else ''}{_span(f)}")
        kw = (org, title, _year(f.get("start_date")))
        out.append(_g(cat, "role", hid, a, kw, organization=org, title=title))
        lead = "During military service, " if cat == "military" else f"At {org}, "
        used: set[str] = set()
        for fid, line in e.body:
            out.extend(_bullet_groups(cfg, cat, fid, line, lead, where, org, used))
        if cat == "military":
            out.append(_g(cat, "served_yes", hid, _yes(a), (org,)))
            if e.body and title:
                fid, line = e.body[0]
                out.append(_g(cat, "highlight", fid, _action(n, line, lead), (), organization=org, title=title))
            continue
        out.append(_g(cat, "worked_yes", hid, _yes(a), (org,), organization=org))
        if current and e not in current and len(current) == 1:
            now = current[0].fields["organization"]
            out.append(_g(cat, "still", hid, _sentence(f"No, {a.rstrip('.')}; {n} now works at {now}"), (now,),
                          organization=org))
        elif e in current:
            out.append(_g(cat, "still", hid, _yes(a), (org,), organization=org))
        if f.get("start_date"):
            out.append(_g(cat, "dates", hid, a, kw, organization=org))
        if title:
            out.append(_g(cat, "employer", hid, a, kw, title=title))
            if re.search(r"\bintern(ship)?\b", title, re.IGNORECASE):
                out.append(_g(cat, "internship", hid, a, (org,)))
        if f.get("location"):
            loc = f["location"]
            city = loc.split(",")[0].strip()
            out.append(_g(cat, "location", hid, _sentence(f"{n} worked for {org} in {loc}"), (org, city),
                          organization=org))
            if city and cities.count(city) == 1:
                out.append(_g(cat, "city_job", hid, a, (org,), city=city))
        for intent, (fid, line) in zip(("highlight", "more"), e.body, strict=False):
            out.append(_g(cat, intent, fid, _action(n, line, lead), (org,), organization=org))
    if cat == "military" or not entries:
        return out
    for newer, older in zip(entries, entries[1:], strict=False):
        out.append(_g(cat, "before", older.head.id, answers[older.head.id], (older.fields["organization"],),
                      next_org=newer.fields["organization"]))
        out.append(_g(cat, "after", newer.head.id, answers[newer.head.id], (newer.fields["organization"],),
                      prev_org=older.fields["organization"]))
    if len(current) == 1:
        out.append(_g(cat, "current", current[0].head.id, answers[current[0].head.id],
                      (current[0].fields["organization"],)))
    first = entries[-1]
    out.append(_g(cat, "first", first.head.id, answers[first.head.id], (first.fields["organization"],)))
    orgs = list(dict.fromkeys(e.fields["organization"] for e in entries))
    out.append(_g(cat, "all", "+".join(e.head.id for e in entries), _sentence(f"{n} has worked at {_join(orgs)}"),
                  tuple(orgs[:3])))
    if len(orgs) > 1:
        out.append(_g(cat, "count", "+".join(e.head.id for e in entries),
                      _sentence(f"{n} has worked at {len(orgs)} companies: {_join(orgs)}"), (str(len(orgs)),),
                      computed=(str(len(orgs)), "companies")))
    return out


def _education(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, cat, degrees = cfg.person_name, [], "education", []
    entries = sorted((e for e in _entries(facts) if e.fields.get("organization")),
                     key=lambda e: e.fields.get("end_date") or e.fields.get("start_date") or "", reverse=True)
    levels = [degree_level(e.fields.get("degree", "")) for e in entries]
    for e, level in zip(entries, levels, strict=True):
        f, hid = e.fields, e.head.id
        org, deg, area = (f.get(k, "") for k in ("organization", "degree", "area"))
        what = f"{deg} in {area}" if deg and area else deg or area
        end = _year(f.get("end_date")) or _year(f.get("start_date"))
        studied = _sentence(f"{n} studied at {org}{_span(f)}")
        a = _sentence(f"{n} earned {_article(what)} {what} from {org}" + (f" in {end}" if end else "")) \
            if what else studied
        degrees.append((e, what, a))
        kw = (deg or area, org)
        out.append(_g(cat, "degree", hid, a, kw, organization=org))
        out.append(_g(cat, "studied_yes", hid, _yes(a), (org,), organization=org))
        unique_level = level and levels.count(level) == 1
        if unique_level:
            out.append(_g(cat, "level", hid, a, kw, level=level))
        if deg:
            out.append(_g(cat, "school", hid, a, kw, degree=deg, area=area or deg))
        if f.get("start_date"):
            out.append(_g(cat, "dates", hid, studied, (org, end), organization=org))
            if unique_level:
                out.append(_g(cat, "level_dates", hid, _sentence(f"{a.rstrip('.')}; {studied[0].lower()}{studied[1:]}")
                              if end and end not in studied else a, (org, end), level=level))
        gpa_line = next(((i, t) for i, t in e.body if t.lower().startswith("gpa")), None)
        gpa = f.get("gpa") or (gpa_line[1].split(":", 1)[-1].strip() if gpa_line else "")
        if gpa:
            gpa_answer = _sentence(f"{n} graduated from {org} with a GPA of {gpa}")
            out.append(_g(cat, "gpa", gpa_line[0] if gpa_line else hid, gpa_answer, (gpa,), organization=org))
            if unique_level:
                out.append(_g(cat, "level_gpa", gpa_line[0] if gpa_line else hid, gpa_answer, (gpa,), level=level))
        rest = [(i, t) for i, t in e.body if not t.lower().startswith("gpa")]
        if rest:
            out.append(_g(cat, "highlight", rest[0][0], _action(n, rest[0][1], f"At {org}, "), (),
                          organization=org))
        used: set[str] = set()
        for fid, line in rest:
            out.extend(_bullet_groups(cfg, cat, fid, line, f"At {org}, ", f"at {org}", org, used))
    if degrees:
        listed = [f"{_article(w)} {w} from {e.fields['organization']}" for e, w, _ in degrees[:3] if w]
        if listed:
            out.append(_g(cat, "all", "+".join(e.head.id for e, _, _ in degrees), _sentence(f"{n} holds {_join(listed)}"),
                          tuple(e.fields["organization"] for e, _, _ in degrees[:2])))
        top = degrees[0]
        out.append(_g(cat, "highest", top[0].head.id, top[2], (top[0].fields.get("degree") or top[1],)))
    return out


def _skills(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, cat, firsts = cfg.person_name, [], "technical_skills", []
    for f in facts:
        label, sep, rest = f.text.partition(":")
        if not sep:
            label, rest = f.fields.get("name") or f.section, f.text
        items = [i.strip().rstrip(".") for i in re.split(r",|;", rest) if i.strip()]
        if not items:
            continue
        label = label.strip().lstrip("-*• ")
        low = _lower_words(label)
        plain = "programming languages" if low == "languages" else low
        tools = plain if re.search(r"(languages|tools|frameworks)$", plain) else f"{plain} tools"
        a = _sentence(f"For {low}, {n} uses {_join(items)}")
        out.append(_g(cat, "group", f.id, a, tuple(items[:3]), label=plain, tools=tools))
        for item in items:
            out.append(_g(cat, "item", f"{f.id}/{item}", _yes(a), (item,), item=item))
        firsts.extend(items[:2])
    if firsts:
        out.append(_g(cat, "all", "+".join(f.id for f in facts), _sentence(f"{n}'s skills include {_join(firsts)}"),
                      tuple(firsts[:3])))
    return out


def _projects(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, cat, names = cfg.person_name, [], "projects", []
    for e in _entries(facts):
        name = e.fields.get("name") or e.fields.get("title") or ""
        if not name or not e.body:
            continue
        names.append(name)
        fid, desc = e.body[0]
        desc = re.sub(r"^(?:A|An|The)\s+(?=[a-z])", "", desc)  # "A mapping engine" → "Richard's mapping engine"
        first = desc.split()[0].lower()
        a = _action(n, desc, f"For {name}, ") if first.endswith("ed") or first in _VERBS \
            else _sentence(f"{name} is {n}'s {_lower_first(desc)}")
        out.append(_g(cat, "what", fid, a, (name,), project=name))
        year = _year(e.fields.get("start_date")) or _year(e.fields.get("end_date"))
        if year:
            out.append(_g(cat, "when", e.head.id, _sentence(f"{n} built {name} in {year}"), (name, year), project=name))
        used: set[str] = set()
        for bid, line in e.body:
            out.extend(_bullet_groups(cfg, cat, bid, line, f"For {name}, ", f"for {name}", name, used,
                                      count_of=a if bid == fid else ""))
    if names:
        out.append(_g(cat, "all", "+".join(f.id for f in facts), _sentence(f"{n}'s projects include {_join(names)}"),
                      tuple(names[:3])))
    return out


def _leadership(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, cat, roles = cfg.person_name, [], "leadership", []
    for e in _entries(facts):
        org, title = e.fields.get("organization", ""), e.fields.get("title", "")
        if not (org and title):
            continue
        verb = "has been" if e.fields.get("end_date") == "present" else "was"
        roles.append((title, org))
        out.append(_g(cat, "role", e.head.id, _sentence(f"{n} {verb} {title} at {org}{_span(e.fields)}"),
                      (title, org), organization=org))
        if e.body:
            fid, line = e.body[0]
            out.append(_g(cat, "highlight", fid, _action(n, line, f"As {title}, "), (title,), title=title))
        used: set[str] = set()
        for fid, line in e.body:
            out.extend(_bullet_groups(cfg, cat, fid, line, f"As {title} at {org}, ", f"at {org}", org, used))
    if roles:
        out.append(_g(cat, "all", "+".join(f.id for f in facts),
                      _sentence(f"{n} has been {_join([f'{t} at {o}' for t, o in roles])}"),
                      tuple(o for _, o in roles[:2])))
    return out


def _achievements(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, cat, leads = cfg.person_name, [], "achievements", []
    years = defaultdict(list)
    for f in facts:
        for y in re.findall(r"\b(?:19|20)\d{2}\b", f.text):
            years[y].append(f.id)
    kinds: dict[str, list[tuple[str, str]]] = defaultdict(list)  # "publications" → (fact id, lead)
    for f in facts:
        text = f.text.strip().lstrip("-*• ").strip()
        kind = _section_kind(f.section)
        a = _sentence(f"{n}'s {kind} include {text}")
        lead = re.split(r"[,:(]|\s[—–]\s", text)[0].strip()
        kinds[kind].append((f.id, lead))
        if len(lead.split()) >= 2:
            leads.append(lead)
        key = bullets.parse(text).key
        if key and len(key.split()) <= 2:
            out.append(_g(cat, "keyed", f.id, a, (key,), key=key))
        own = [y for y, ids in years.items() if ids == [f.id]]
        if own:
            out.append(_g(cat, "year", f.id, a, (lead, own[-1]), year=own[-1]))
        if len(lead.split()) >= 2:
            out.append(_g(cat, "item", f.id, a, (lead,), lead=lead))
    if leads:
        out.append(_g(cat, "all", "+".join(f.id for f in facts), _sentence(f"{n}'s achievements include {_join(leads[:3])}"),
                      tuple(leads[:2])))
    if len(kinds) > 1:  # "Publications", "Patents", "Invited Talks": one list question each
        for kind, items in kinds.items():
            out.append(_g(cat, "section_all", "+".join(i for i, _ in items),
                          _sentence(f"{n}'s {kind} include {_join([lead for _, lead in items[:4]])}"),
                          tuple(lead for _, lead in items[:2]), kind=kind))
    return out


def _section_kind(section: str) -> str:
    """What a section lists, as its title's last word ("Selected Honors" → "honors"); "achievements"
    for a title that is not a plural noun. The word is in the resume, so answers stay grounded."""
    words = re.findall(r"[A-Za-z]+", section)
    last = words[-1].lower() if words else ""
    mixed = "and" in (w.lower() for w in words) or "&" in section  # "Awards and Publications"
    return last if len(last) > 3 and last.endswith("s") and not mixed else "achievements"


def _character(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, used = cfg.person_name, [], set()
    for f in facts:
        for sent in metrics.split_sentences(" ".join(ln.strip().lstrip("-*• ") for ln in f.text.splitlines())):
            low = sent.lower()
            intent = next((i for i, keys in _CHARACTER if i not in used and any(k in low for k in keys)), None)
            if intent is None:
                continue
            used.add(intent)
            parts = [p.strip() for p in sent.rstrip(".").split(" · ")]
            if len(parts) == 2:
                a = f"{n} is {_article(parts[0])} {parts[0]} in {parts[1]}"
            elif low.startswith("known for"):
                a = f"{n} is {_lower_first(sent)}"
            elif ":" in sent[:40] and not _PRONOUN.search(sent.split(":")[0]):
                head, tail = sent.split(":", 1)
                a = f"{n} is {_lower_first(head)}:{tail}"
            elif _PRONOUN.search(sent):
                a = _PRONOUN.sub(n, sent, count=1)
            elif " with " in " ".join(sent.split()[:6]):
                a = f"{n} is {_article(sent)} {_lower_first(sent)}"
            else:
                a = f"{n}: {sent}"
            names = set(metrics.tokens(f"{cfg.person_name} {cfg.person_full_name}"))
            words = [t for t in dict.fromkeys(metrics.tokens(sent))
                     if t not in STOPWORDS and t not in FRAME_WORDS and t not in names and len(t) > 3]
            kw = [t for t in metrics.tokens(sent) if t.isdigit()][:1] + sorted(words, key=len, reverse=True)[:2]
            out.append(_g("character", intent, f.id, _sentence(a), tuple(kw)))
    return out


def _recommendations(cfg: Config, facts: list) -> list[QuestionGroup]:
    n, out, who_all = cfg.person_name, [], []
    for f in facts:
        m = re.match(r'\s*[-*•]?\s*["“](?P<quote>.+?)["”]\s*[—–-]+\s*(?P<who>[^,]+)(?:,\s*(?P<role>.+))?', f.text)
        who = f.fields.get("name") or (m.group("who").strip() if m else "")
        quote = f.fields.get("summary") or (m.group("quote").strip() if m else "")
        role = (m.group("role") or "").strip().rstrip(".") if m else ""
        if not (quote and who):
            continue
        who_all.append(who)
        named = f"{who}, {role}," if role else who
        out.append(_g("recommendations", "quote", f.id, f'{named} said: "{quote}"', (who,), recommender=who))
        if role:
            out.append(_g("recommendations", "recommender", f.id, _sentence(f"{who} is {role}"), (who,),
                          recommender=who))
    if who_all:
        out.append(_g("recommendations", "all", "+".join(f.id for f in facts),
                      _sentence(f"{n} is recommended by {_join(who_all)}"), tuple(who_all[:3])))
    return out


_BUILDERS = {
    "work_experience": lambda cfg, facts: _jobs(cfg, facts, "work_experience"),
    "military": lambda cfg, facts: _jobs(cfg, facts, "military"),
    "education": _education, "technical_skills": _skills, "projects": _projects,
    "leadership": _leadership, "achievements": _achievements, "character": _character,
    "recommendations": _recommendations,
}


def question_groups(cfg: Config, resume: Resume) -> list[QuestionGroup]:
    """Every question group of the enabled categories, ordered by category then intent priority.

    Groups whose intent has no phrasings, or whose answer would be empty, are left out. The
    ``shared`` (per-bullet) intents come after the category's own.
    """
    out: list[QuestionGroup] = []
    for cat in enabled_categories(cfg):
        facts = [f for f in resume.facts if f.category == cat]
        priority = list(_intents(cat))
        groups = [g for g in _BUILDERS[cat](cfg, facts) if g.answer and g.intent in priority]
        out.extend(sorted(groups, key=lambda g: priority.index(g.intent)))
    return out


def _intents(category: str) -> dict:
    """Intent → phrasing pools for ``category``: its own, then the ``shared`` bullet intents."""
    data = load_phrasings()
    return {**data["intents"].get(category, {}), **data.get("shared", {})}


def phrasings(cfg: Config, group: QuestionGroup, pool: str = "train") -> list[tuple[str, str]]:
    """``(template id, question)`` for each phrasing of ``group`` in ``pool`` (``train``/``eval``), in file order."""
    templates = _intents(group.category)[group.intent][pool]
    return [(f"{group.category}.{group.intent}.{pool}{i}", t.format(name=cfg.person_name, **group.slots))
            for i, t in enumerate(templates)]


def generate(cfg: Config, resume: Resume, work_dir: Path) -> BackendResult:
    """Template backend entry point (see the module docstring).

    ``work_dir`` is unused (nothing to resume offline). The samples are :func:`assemble` of
    every question group with its ``train`` phrasings.

    Returns:
        :class:`~pipeline.dataset.samples.BackendResult`; ``rejects`` is empty (filters run in
        :mod:`pipeline.dataset.build`).
    """
    return BackendResult(samples=assemble(cfg, question_groups(cfg, resume), lambda g: phrasings(cfg, g)), rejects={})


def assemble(cfg: Config, groups: list[QuestionGroup],
             options_for: Callable[[QuestionGroup], list[tuple[str, str]]]) -> list[Sample]:
    """The samples of ``groups``, each phrased from ``options_for(group)`` (``(template id, question)`` pairs).

    Per category, groups contribute phrasings round-robin (every group's first phrasing,
    then every group's second, ...) until ``samples_per_category`` samples; each group
    offers at most ``variations_per_question`` phrasings, picked by a shuffle seeded with
    ``dataset.seed`` and the group id. The ``hybrid`` backend (:mod:`pipeline.dataset.paraphrase`)
    passes a larger pool per group.
    """
    by_cat: dict[str, list[list[Sample]]] = defaultdict(list)
    for g in groups:
        options = options_for(g)
        random.Random(f"{cfg.dataset.seed}:{g.group}").shuffle(options)
        by_cat[g.category].append([
            Sample(question=q, answer=g.answer, category=g.category, fact_id=g.fact_id, template=tid,
                   group=g.group, computed=g.computed) for tid, q in options[:cfg.dataset.variations_per_question]])
    samples: list[Sample] = []
    for cat_groups in by_cat.values():
        taken = 0
        for rank in range(cfg.dataset.variations_per_question):
            for items in cat_groups:
                if rank < len(items) and taken < cfg.dataset.samples_per_category:
                    samples.append(items[rank])
                    taken += 1
    return samples
