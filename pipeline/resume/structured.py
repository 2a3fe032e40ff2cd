"""Structured resume readers: JSON Resume (``.json``) and RenderCV YAML (``.yaml``/``.yml``).

Used by :func:`pipeline.resume.ingest.ingest` (``python -m pipeline preview``); tested by
``pytest tests/test_resume.py`` and ``tests/test_resume_bad_input.py``. Both return ``(name, sections)``
like the text readers in :mod:`pipeline.resume.formats`; malformed files raise
:class:`pipeline.errors.ResumeError`.

Budgets (a resume is a few hundred nodes; these stop hostile or broken files fast, before any
value is expanded or stringified): at most :data:`MAX_DEPTH` levels of nesting,
:data:`MAX_NODES` values and :data:`MAX_CHARS` characters of text after YAML aliases are
expanded, and at most :data:`MAX_ALIASES` YAML aliases (``*name``); a recursive alias is refused.

Types: every field read must be what the schema says: text (a JSON string / YAML scalar that is
not a number, boolean or null), a list of text (``highlights``, ``courses``, ``keywords``,
``roles``, ``authors``: a single string is not a list) or a list of objects (``work``,
``education``, ...). A null or absent field is skipped. Dates (JSON Resume ``startDate``,
``endDate``, ``date``, ``releaseDate``; RenderCV ``start_date``, ``end_date``) are ISO 8601:
``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (also a year written as a number, ``2021``, or a YAML
date, ``2013-12-01``), an end date may also be ``present``, and it may not be before the start
date. RenderCV's ``date`` is free text ("Fall 2021"), as RenderCV allows. Every wrong field of a
file is collected into one :class:`ResumeError`: one line ``<file>: <key>: <problem>; <fix>``
for one field, e.g. ``work[0].highlights[1]: expected text, got null``, or a first line
``<file>: N fields to fix (...)`` and one indented line per field.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ResumeError
from pipeline.resume.formats import DATE_ONLY, RawEntry, RawSection, norm_date
from pipeline.resume.formats import md_inline as _md_inline

MAX_DEPTH = 50  # nesting levels (JSON Resume needs 4, RenderCV 5)
MAX_NODES = 20_000  # values after alias expansion
MAX_CHARS = 2_000_000  # characters of scalar text after alias expansion
MAX_ALIASES = 50  # YAML ``*alias`` uses

_JSON_FIX = "fix it per https://jsonresume.org/schema"
_YAML_FIX = "fix the YAML per https://docs.rendercv.com (quote text that YAML would read as something else)"
_JSON_END_FIX = ('write it as YYYY-MM-DD, YYYY-MM or YYYY (e.g. "2021-03"), or leave it out (or write '
                 '"present") while it lasts')
_YAML_END_FIX = 'write it as YYYY-MM-DD, YYYY-MM or YYYY (e.g. 2021-03), or present while it lasts'


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, _dt.date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, str):
        return f"text ({_show(value)})"
    return type(value).__name__


def _show(value: Any) -> str:
    """``value`` as JSON, cut to 40 characters (for a message)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


MAX_PROBLEM_LINES = 20  # fields listed in one error; the rest are counted
_LIST_EXAMPLES = {"highlights": "Led the team", "courses": "CS101 Algorithms", "keywords": "Python",
                  "roles": "Team lead", "authors": "Jane Doe"}
_DATE_FORM = 'write it as YYYY-MM-DD, YYYY-MM or YYYY (e.g. "2021-03")'
_ISO_DATE = re.compile(r"((?:18|19|20)\d{2})(?:-(\d{2})(?:-(\d{2}))?)?")


def _iso_date(text: str) -> tuple[int, ...] | None:
    """(year, month, day) as written for an ISO 8601 date "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    that exists (no month 13, no February 30); None for anything else."""
    m = _ISO_DATE.fullmatch(text)
    if not m:
        return None
    parts = tuple(int(g) for g in m.groups() if g is not None)
    try:
        _dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return None
    return parts


class _Doc:
    """The file being read: names it and the fix in every error about a field.

    A field of the wrong type or a bad date is noted (:meth:`bad`) and reading goes on, so that
    :meth:`check` reports every such field of the file in one :class:`ResumeError`; problems
    that stop reading (budgets, not a resume at all) raise at once (:meth:`fail`).
    """

    def __init__(self, path: Path, fix: str, end_fix: str) -> None:
        self.path, self.fix, self.end_fix = path, fix, end_fix
        self.problems: list[tuple[str, str, str]] = []  # (key, problem, fix or "")

    def fail(self, where: str, problem: str) -> ResumeError:
        return ResumeError(f"{self.path}: {where}: {problem}; {self.fix}")

    def bad(self, where: str, problem: str, fix: str = "") -> None:
        """Note a wrong field (``where`` is its key path); :meth:`check` raises for all of them."""
        self.problems.append((where, problem, fix))

    def check(self) -> None:
        """Raise one :class:`ResumeError` naming every field noted by :meth:`bad`, if any."""
        if not self.problems:
            return
        if len(self.problems) == 1:
            where, problem, fix = self.problems[0]
            raise ResumeError(f"{self.path}: {where}: {problem}; {fix or self.fix}")
        lines = [f"  {where}: {problem}" + (f"; {fix}" if fix else "")
                 for where, problem, fix in self.problems[:MAX_PROBLEM_LINES]]
        if len(self.problems) > MAX_PROBLEM_LINES:
            lines.append(f"  ... and {len(self.problems) - MAX_PROBLEM_LINES} more")
        raise ResumeError(f"{self.path}: {len(self.problems)} fields to fix ({self.fix}):\n" + "\n".join(lines))

    def text(self, obj: dict, key: str, where: str) -> str:
        """``obj[key]`` as text ("" when absent, null or wrong)."""
        value = obj.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.bad(f"{where}.{key}", f"expected text, got {_kind(value)}")
            return ""
        return value

    def lines(self, obj: dict, key: str, where: str) -> list[str]:
        """``obj[key]`` (text) as a list of one line, or [] when absent or blank."""
        value = self.text(obj, key, where)
        return [value] if value.strip() else []

    def texts(self, obj: dict, key: str, where: str) -> list[str]:
        """``obj[key]`` as a list of non-empty text items; it must be a list of text."""
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            example = json.dumps([value if isinstance(value, str) and value.strip()
                                  else _LIST_EXAMPLES.get(key, "...")], ensure_ascii=False)
            if len(example) > 60:
                example = json.dumps([_LIST_EXAMPLES.get(key, "...")])
            self.bad(f"{where}.{key}", f"expected a list of text, got {_kind(value)}",
                     f"write a list of strings, e.g. {example}")
            return []
        out = []
        for i, v in enumerate(value):
            if not isinstance(v, str):
                self.bad(f"{where}.{key}[{i}]", f"expected text, got {_kind(v)}")
            elif v.strip():
                out.append(v)
        return out

    def raw_date(self, obj: dict, key: str, where: str) -> str:
        """``obj[key]`` as written ("2020-05 – 2021-03", "Fall 2021"); "" when absent, null or wrong.

        Text, a whole-number year (``2021``) or a date (YAML ``2013-12-01``) is accepted.
        """
        value = obj.get(key)
        if value is None:
            return ""
        if isinstance(value, _dt.date):
            return value.isoformat()[:10]
        if isinstance(value, int) and not isinstance(value, bool) and 1800 <= value <= 2199:
            return str(value)
        if not isinstance(value, str):
            self.bad(f"{where}.{key}", f"expected a date as text (e.g. \"2021-03\"), got {_kind(value)}")
            return ""
        return value.strip()

    def date(self, obj: dict, key: str, where: str, end: bool = False) -> str:
        """``obj[key]``, an ISO 8601 date (or "present" when ``end``), normalised ("2021-03",
        "2021", "present"); "" when absent, null or wrong (noted with the form to use)."""
        value = obj.get(key)
        if value is None:
            return ""
        if isinstance(value, _dt.date):
            return norm_date(value.isoformat()[:10])
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                return ""
        else:
            self.bad(f"{where}.{key}", f"expected a date as text (e.g. \"2021-03\"), got {_kind(value)}",
                     self.end_fix if end else _DATE_FORM)
            return ""
        if end and text.lower() == "present":
            return "present"
        if _iso_date(text) is None:
            self.bad(f"{where}.{key}", f"{_show(value)} is not a date", self.end_fix if end else _DATE_FORM)
            return ""
        return norm_date(text)

    def dates(self, item: dict, where: str, start_key: str, end_key: str) -> dict[str, str]:
        """``start_date``/``end_date`` from ``item[start_key]``/``item[end_key]`` (see :meth:`date`);
        an end before the start is noted."""
        start, end = self.date(item, start_key, where), self.date(item, end_key, where, end=True)
        if start and end and end != "present":
            a, b = _iso_date(start), _iso_date(end)
            n = min(len(a), len(b))
            if b[:n] < a[:n]:
                self.bad(f"{where}.{end_key}", f"{_show(item[end_key])} is before {start_key} "
                                               f"{_show(item[start_key])}", "swap the two dates or correct them")
        return {k: v for k, v in (("start_date", start), ("end_date", end)) if v}

    def items(self, data: dict, key: str, what: str = "objects") -> list[tuple[int, dict]]:
        """``data[key]`` as (index, object) pairs; a value that is not a list, or an item that is
        not an object, is noted and skipped."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(key, f"'{key}' must be a list of {what}, got {_kind(value)}",
                     "write it as [{...}, {...}] with one object per entry")
            return []
        out = []
        for i, v in enumerate(value):
            if isinstance(v, dict):
                out.append((i, v))
            else:
                self.bad(f"{key}[{i}]", f"'{key}' must be a list of {what}, got {_kind(v)}")
        return out


# ---------------------------------------------------------------- budgets
def _fmt_path(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    if len(out) > 120:
        out = out[:60] + " ... " + out[-50:]
    return out or "(top level)"


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _json_depth_check(doc: _Doc, text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before json.loads recurses into it (linear scan)."""
    stack: list[list[Any]] = []  # per open container: [is_array, index or key]
    last_string: str | None = None
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0] == '"':
            last_string = tok
        elif tok in "[{":
            stack.append([tok == "[", 0 if tok == "[" else None])
            if len(stack) > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                where = _fmt_path([s[1] for s in stack[:-1] if s[1] is not None])
                raise doc.fail(where, f"nested more than {MAX_DEPTH} levels deep (line {line}); a JSON Resume "
                                      "needs 4 levels at most, remove the extra nesting")
        elif tok in "]}":
            if stack:
                stack.pop()
        elif tok == ":" and stack and not stack[-1][0] and last_string is not None:
            try:
                stack[-1][1] = json.loads(last_string)
            except ValueError:
                stack[-1][1] = last_string.strip('"')
        elif tok == "," and stack and stack[-1][0]:
            stack[-1][1] += 1


def _tree_budget(doc: _Doc, data: Any) -> None:
    """Refuse more than MAX_NODES values / MAX_CHARS characters in a loaded JSON tree."""
    nodes = chars = 0
    todo: list[tuple[Any, list[Any]]] = [(data, [])]
    while todo:
        value, where = todo.pop()
        nodes += 1
        if isinstance(value, str):
            chars += len(value)
        elif isinstance(value, dict):
            todo.extend((v, [*where, k]) for k, v in value.items())
            chars += sum(len(k) for k in value)
        elif isinstance(value, list):
            todo.extend((v, [*where, i]) for i, v in enumerate(value))
        if nodes > MAX_NODES or chars > MAX_CHARS:
            raise doc.fail(_fmt_path(where), f"the file holds more than {MAX_NODES} values or {MAX_CHARS} "
                                             "characters, far beyond any resume; trim it")


class _BudgetError(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, problem


class _BudgetLoader(yaml.SafeLoader):
    """SafeLoader that counts while composing: depth, aliases, expanded nodes and characters.

    Each composed node's expanded size (nodes, chars, height) is memoised by identity, so an
    alias costs O(1) to account for however much it expands to; the budget is checked the
    moment a node is built, before anything is constructed or stringified.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[Any] = []
        self._aliases = 0
        self._sizes: dict[int, tuple[int, int, int]] = {}

    def compose_node(self, parent, index):
        label = index.value if isinstance(index, yaml.ScalarNode) else index
        self._path.append(label)
        try:
            if len(self._path) > MAX_DEPTH:
                raise _BudgetError(_fmt_path([p for p in self._path[:-1] if p is not None]),
                                   f"nested more than {MAX_DEPTH} levels deep; a RenderCV file needs 5 levels "
                                   "at most, remove the extra nesting")
            alias = self.check_event(yaml.AliasEvent)
            node = super().compose_node(parent, index)
            where = [p for p in self._path if p is not None]
            if alias:
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise _BudgetError(_fmt_path(where), f"more than {MAX_ALIASES} YAML aliases (*name); "
                                                         "write the values out instead of aliasing them")
                size = self._sizes.get(id(node))
                if size is None:
                    raise _BudgetError(_fmt_path(where), "a recursive YAML alias (it refers to a value "
                                                         "that contains it); write the value out")
                if len(self._path) - 1 + size[2] > MAX_DEPTH:
                    raise _BudgetError(_fmt_path(where), f"the alias expands to more than {MAX_DEPTH} levels "
                                                         "of nesting; write the value out")
            else:
                size = self._size_of(node)
                self._sizes[id(node)] = size
            if size[0] > MAX_NODES or size[1] > MAX_CHARS:
                raise _BudgetError(_fmt_path(where), f"expands to more than {MAX_NODES} values or {MAX_CHARS} "
                                                     "characters (YAML aliases repeating aliases, a 'billion "
                                                     "laughs'); write the values out without aliases")
            return node
        finally:
            self._path.pop()

    def _size_of(self, node: yaml.Node) -> tuple[int, int, int]:
        if isinstance(node, yaml.ScalarNode):
            return 1, len(node.value), 1
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
        sizes = [self._sizes[id(c)] for c in children]
        return (1 + sum(s[0] for s in sizes), sum(s[1] for s in sizes),
                1 + max((s[2] for s in sizes), default=0))


def _load_yaml(doc: _Doc, text: str) -> Any:
    loader = _BudgetLoader(text)
    try:
        return loader.get_single_data()
    except _BudgetError as exc:
        raise doc.fail(exc.where, exc.problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ResumeError(f"{doc.path}: malformed YAML{where} ({problem}); "
                          "fix the syntax (RenderCV files start with 'cv:')") from exc
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. an int of 5000 digits
        raise ResumeError(f"{doc.path}: unreadable YAML value ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:200]}); fix or quote that value") from exc
    finally:
        loader.dispose()


# ---------------------------------------------------------------- JSON Resume
def read_json_resume(path: Path, text: str) -> tuple[str | None, list[RawSection]]:
    """JSON Resume (jsonresume.org schema v1) → sections with preset categories."""
    doc = _Doc(path, _JSON_FIX, _JSON_END_FIX)
    _json_depth_check(doc, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResumeError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
                          "fix the syntax (e.g. python -m json.tool FILE)") from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5000 digits
        raise ResumeError(f"{path}: unreadable JSON value ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:200]}); fix that value") from exc
    known = {"basics", "work", "volunteer", "military", "education", "awards", "certificates", "publications",
             "skills", "languages", "interests", "references", "projects"}
    if not isinstance(data, dict) or not known & set(data):
        raise ResumeError(f"{path}: not a JSON Resume (no basics/work/education... keys at the top level); "
                          "follow https://jsonresume.org/schema")
    _tree_budget(doc, data)
    basics = data.get("basics")
    if basics is None:
        basics = {}
    if not isinstance(basics, dict):
        doc.bad("basics", f"'basics' must be an object in a JSON Resume, got {_kind(basics)}",
                'write it as {"name": "...", "summary": "..."}')
        basics = {}
    secs: list[RawSection] = []

    def add(title: str, category: str, entries: list[RawEntry]) -> None:
        if entries:
            secs.append(RawSection(title, entries, category))

    name = doc.text(basics, "name", "basics")
    # one line per line of basics.summary (pipeline.resume.export writes one fact per line)
    summary = [line for s in (doc.text(basics, "label", "basics"), doc.text(basics, "summary", "basics"))
               for line in s.splitlines() if line.strip()]
    add("Summary", "character", [RawEntry(lines=summary)] if summary else [])
    # "military" is not in schema v1 (which leaves extra keys open); pipeline.resume.export writes it
    for key, title, category, org, role in (("work", "Work", "work_experience", "name", "position"),
                                            ("volunteer", "Volunteer", "leadership", "organization",
                                             "position"),
                                            ("military", "Military Service", "military", "name", "position")):
        entries = []
        for i, w in doc.items(data, key):
            at = f"{key}[{i}]"
            organization, company = doc.text(w, org, at), doc.text(w, "company", at)
            f = {"organization": organization or company,
                 "title": doc.text(w, role, at), **doc.dates(w, at, "startDate", "endDate"),
                 "location": doc.text(w, "location", at)}
            lines = (doc.lines(w, "description", at) + doc.lines(w, "summary", at)
                     + doc.texts(w, "highlights", at))
            entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
        add(title, category, entries)
    entries = []
    for i, e in doc.items(data, "education"):
        at = f"education[{i}]"
        f = {"organization": doc.text(e, "institution", at), "degree": doc.text(e, "studyType", at),
             "area": doc.text(e, "area", at), "gpa": doc.text(e, "score", at),
             "location": doc.text(e, "location", at),  # not in schema v1; pipeline.resume.preview writes it
             **doc.dates(e, at, "startDate", "endDate")}
        courses = doc.texts(e, "courses", at)
        lines = ([f"Courses: {', '.join(courses)}"] if courses else []) + doc.texts(e, "highlights", at)
        entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
    add("Education", "education", entries)
    flat = []
    for i, a in doc.items(data, "awards"):
        at = f"awards[{i}]"
        title = doc.text(a, "title", at)
        by, when, summ = doc.text(a, "awarder", at), doc.date(a, "date", at), doc.text(a, "summary", at)
        flat.append(title + (f" from {by}" if by else "") + (f" ({when})" if when else "")
                    + (f": {summ}" if summ else ""))
    for i, c in doc.items(data, "certificates"):
        at = f"certificates[{i}]"
        title = doc.text(c, "name", at)
        issuer, when = doc.text(c, "issuer", at), doc.date(c, "date", at)
        flat.append(f"Certificate: {title}" + (f" from {issuer}" if issuer else "")
                    + (f" ({when})" if when else ""))
    for i, p in doc.items(data, "publications"):
        at = f"publications[{i}]"
        title = doc.text(p, "name", at)
        pub, when, summ = doc.text(p, "publisher", at), doc.date(p, "releaseDate", at), doc.text(p, "summary", at)
        flat.append(f"Publication: {title}" + (f", {pub}" if pub else "")
                    + (f" ({when})" if when else "") + (f". {summ}" if summ else ""))
    add("Awards and Publications", "achievements", [RawEntry(lines=flat)] if flat else [])
    skills = []
    for i, s in doc.items(data, "skills"):
        at = f"skills[{i}]"
        name_, level, keywords = doc.text(s, "name", at), doc.text(s, "level", at), doc.texts(s, "keywords", at)
        skills.append(name_ + (f" ({level})" if level else "")
                      + (f": {', '.join(keywords)}" if keywords else ""))
    add("Skills", "technical_skills", [RawEntry(lines=skills)] if skills else [])
    personal = []
    for i, lang in doc.items(data, "languages"):
        at = f"languages[{i}]"
        language, fluency = doc.text(lang, "language", at), doc.text(lang, "fluency", at)
        personal.append(f"Speaks {language}" + (f" ({fluency})" if fluency else ""))
    for i, it in doc.items(data, "interests"):
        at = f"interests[{i}]"
        name_, keywords = doc.text(it, "name", at), doc.texts(it, "keywords", at)
        personal.append(f"Interests: {name_}" + (f" ({', '.join(keywords)})" if keywords else ""))
    add("Languages and Interests", "character", [RawEntry(lines=personal)] if personal else [])
    refs = []
    for i, r in doc.items(data, "references"):
        at = f"references[{i}]"
        quote = doc.text(r, "reference", at)
        if quote:
            refs.append(RawEntry({}, "", [f'"{quote}" — {doc.text(r, "name", at) or "a reference"}']))
    add("References", "recommendations", refs)
    entries = []
    for i, p in doc.items(data, "projects"):
        at = f"projects[{i}]"
        f = {"name": doc.text(p, "name", at), "organization": doc.text(p, "entity", at),
             "title": ", ".join(doc.texts(p, "roles", at)), **doc.dates(p, at, "startDate", "endDate")}
        lines = doc.lines(p, "description", at) + doc.texts(p, "highlights", at)
        keywords = doc.texts(p, "keywords", at)
        if keywords:
            lines.append(f"Technologies: {', '.join(keywords)}")
        entries.append(RawEntry({k: v for k, v in f.items() if v}, "", lines))
    add("Projects", "projects", entries)
    doc.check()
    return (name or None), secs


# ---------------------------------------------------------------- RenderCV
def read_rendercv(path: Path, text: str) -> tuple[str | None, list[RawSection]]:
    """RenderCV YAML (``cv:`` with ``sections``; entry types education, experience, normal,
    one-line, bullet, numbered, publication, text) → sections."""
    doc = _Doc(path, _YAML_FIX, _YAML_END_FIX)
    data = _load_yaml(doc, text)
    if not isinstance(data, dict) or not isinstance(data.get("cv"), dict):
        raise ResumeError(f"{path}: not a RenderCV file (no top-level 'cv:' mapping); "
                          "use RenderCV's format (cv: name, sections) or a .json/.md/.pdf resume")
    cv = data["cv"]
    sections = cv.get("sections")
    if sections is None:
        sections = {}
    if not isinstance(sections, dict):
        doc.bad("cv.sections", f"must map section titles to lists of entries, got {_kind(sections)}",
                "write it as 'sections:' with lines like 'experience:' followed by '- company: ...' entries")
        sections = {}
    name = doc.text(cv, "name", "cv")
    out = []
    for title, items in sections.items():
        if not isinstance(items, list):
            doc.bad(f"cv.sections.{title}", f"must be a list of entries, got {_kind(items)}",
                    "put each entry on a line starting with '- ' under the section title")
            continue
        sec = RawSection(str(title).replace("_", " ").strip().title() if "_" in str(title)
                         or str(title).islower() else str(title))
        for i, item in enumerate(items):
            entry = _rendercv_entry(doc, f"cv.sections.{title}[{i}]", item)
            if entry is not None:
                sec.entries.append(entry)
        out.append(sec)
    doc.check()
    return (name or None), out


_RENDERCV_TEXT_KEYS = ("company", "institution", "position", "degree", "area", "location", "name", "title",
                       "label", "bullet", "number", "reversed_number", "details", "summary", "journal")


def _rendercv_entry(doc: _Doc, where: str, item: Any) -> RawEntry | None:
    """One RenderCV entry; None (noted on ``doc``) when it is neither text nor a mapping."""
    if isinstance(item, str):
        return RawEntry(lines=[_md_inline(item)])
    if not isinstance(item, dict):
        doc.bad(where, f"an entry must be text or a mapping, got {_kind(item)}",
                "write it as text or as keys such as 'company:', 'position:', 'highlights:'")
        return None
    values = {key: doc.text(item, key, where) for key in _RENDERCV_TEXT_KEYS}

    def text(key: str) -> str:
        return _md_inline(values[key]) if values[key] else ""

    f: dict[str, str] = {}
    se = doc.dates(item, where, "start_date", "end_date")
    date = doc.raw_date(item, "date", where)  # free text in RenderCV: "2021", "2020-05 – 2021-03", "Fall 2021"
    if date and item.get("start_date") is None:
        dm = DATE_ONLY.match(date)
        f.update({"start_date": norm_date(dm.group("start"))} if dm else {"start_date": date})
        if dm and dm.group("end"):
            f["end_date"] = norm_date(dm.group("end"))
    f.update(se)
    for key, target in (("company", "organization"), ("institution", "organization"), ("position", "title"),
                        ("degree", "degree"), ("area", "area"), ("location", "location"), ("name", "name"),
                        ("title", "name"), ("label", "name")):
        value = text(key)
        if value:
            f.setdefault(target, value)
    lines = [v for v in (text(k) for k in ("bullet", "number", "reversed_number")) if v]
    details = text("details")
    if details:
        label = text("label")
        lines.append(f"{label}: {details}" if label else details)
        f.pop("name", None)
    authors = [_md_inline(a) for a in doc.texts(item, "authors", where)]
    if authors:
        venue = ", ".join(x for x in (values["journal"], f.get("start_date", "")) if x)
        lines.append(f"Publication: {f.pop('name', '')}" + (f" ({venue})" if venue else "")
                     + f"; authors: {', '.join(authors)}")
    summary = text("summary")
    if summary:
        lines.append(summary)
    for h in doc.texts(item, "highlights", where):
        lines.extend(_md_inline(x) for x in re.split(r"\s+-\s+(?=[A-Z0-9])", h) if x.strip())
    for gpa in re.findall(r"GPA:?\s*(\d\.\d+(?:/\d\.\d+)?)", " ".join(lines)):
        f.setdefault("gpa", gpa)
    return RawEntry(f, "", lines)
