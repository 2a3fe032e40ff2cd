"""Write the layout corpus sources and their ground truth from ``content/*.yaml``.

Run: ``python data/layouts/make_sources.py`` (``data/layouts/build.sh`` runs it, then compiles
the PDFs). It writes, for every person in ``content/`` and every layout in :data:`LAYOUTS`:

* ``src/<layout>-<person>.tex`` (or ``.docx`` for the Word layout), typeset the way a public
  template does it: moderncv (classic and banking styles), a Jake's-resume / sb2nov-like one-column
  article, an AltaCV-like two-column page (paracol), an Awesome-CV-like page (XeLaTeX, fontspec)
  and a Word document made with python-docx; plus five layouts held out from the reader's
  development (session 8): Deedy-like (narrow left column), res.cls / "Ivy", "dates first",
  a Word document with a two-column table per entry, and a sans-serif "Org | Title" style;
  and a second held-out set (session 8, measured before any reader change): a "timeline"
  (grey dates above each header, a thin vertical rule), a Europass-like label / value table,
  a Word document with a header table and typed "•" bullets, and a centred style;
* ``truth/<layout>-<person>.json``: the entries a perfect reader extracts (category,
  organization, title or "degree in area", start, end normalised like
  :func:`pipeline.resume.formats.norm_date`, bullet count), the flat sections with their item
  counts, and the publications (title, venue, year, co-authors), read by
  ``benchmarks/layout_bench.py`` and ``tests/test_layout_corpus.py``.

Every layout prints dates its own way ("Mar 2021", "March 2021", "Mar. 2021", "03/2021",
"2021-03"), so the truth is written from the content, never from a parser's output.
Needs pyyaml and python-docx (both project dependencies). Nothing here is imported by the
package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
STRUCTURED = {"work": "work_experience", "education": "education", "projects": "projects",
              "leadership": "leadership", "military": "military"}
FLAT = {"list": "achievements", "skills": "technical_skills", "text": "character", "publications": "achievements"}


# ---------------------------------------------------------------- content helpers
def load(person: str) -> dict:
    """The content of ``content/<person>.yaml`` (dates kept as text)."""
    return yaml.safe_load((HERE / "content" / f"{person}.yaml").read_text(encoding="utf-8"))


def date_text(value: str | None, style: str) -> str:
    """A content date ("2021-03", "2021", "present") as a layout prints it; "" for None."""
    if not value:
        return ""
    value = str(value)
    if value == "present":
        return {"lower": "present", "mmyyyy": "present", "iso": "present"}.get(style, "Present")
    year, _, month = value.partition("-")
    if not month:
        return year
    m = int(month)
    if style == "mon":
        return f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'June', 'July', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec'][m - 1]} {year}"
    if style in ("month", "lower"):
        return f"{MONTHS[m - 1]} {year}"
    if style == "mon.":
        short = MONTHS[m - 1] if len(MONTHS[m - 1]) <= 4 else MONTHS[m - 1][:3] + "."
        return f"{short} {year}"
    if style == "mmyyyy":
        return f"{m:02d}/{year}"
    return value  # iso


def date_range(entry: dict, style: str, dash: str = " -- ") -> str:
    start, end = date_text(entry.get("start"), style), date_text(entry.get("end"), style)
    return f"{start}{dash}{end}" if end else start


def bullets_of(entry: dict) -> list[tuple[int, str]]:
    """(depth, text) of an entry's summary line and bullets, nested bullets at depth 1."""
    out = []
    for b in entry.get("bullets", []):
        if isinstance(b, dict):
            out.append((0, b["text"]))
            out += [(1, s) for s in b.get("sub", [])]
        else:
            out.append((0, b))
    return out


def what(section: dict, entry: dict) -> str:
    """The title / degree column of an entry, as preview's entries table shows it."""
    if section["kind"] == "education":
        return f"{entry['degree']} in {entry['area']}" if entry.get("area") else entry["degree"]
    if section["kind"] == "projects":
        return entry["name"]
    return entry["title"]


def truth(person: dict, layout: str, source: str, pdf: str, sections: list[dict], skipped: list[str]) -> dict:
    """The ground truth of one typeset source (see the module docstring)."""
    entries, flat, pubs = [], [], []
    for sec in sections:
        kind = sec["kind"]
        if kind in STRUCTURED:
            for e in sec["entries"]:
                n = len(bullets_of(e)) + (1 if e.get("summary") else 0)
                entries.append({"category": STRUCTURED[kind], "organization": e.get("organization", ""),
                                "title": what(sec, e), "start": str(e.get("start", "")),
                                "end": str(e.get("end", "")), "bullets": n})
        else:
            items = 1 if kind == "text" else len(sec["items"])
            category = FLAT[kind]
            if re.fullmatch(r"recommendations?|references?|testimonials?", sec["title"], re.IGNORECASE):
                category = "recommendations"  # quotes about the person, not achievements of theirs
            flat.append({"title": sec["title"], "category": category, "items": items})
            if kind == "publications":
                for p in sec["items"]:
                    pubs.append({"title": p["title"], "venue": p["venue"], "year": str(p["date"])[:4],
                                 "coauthors": [a for a in p["authors"] if a != person["name"]]})
    return {"layout": layout, "source": source, "pdf": pdf, "name": person["name"], "entries": entries,
            "sections": flat, "publications": pubs, "skipped": skipped}


def pub_parts(p: dict, style: str) -> tuple[str, str, str, str]:
    """(authors, title, venue, date) of a publication as text, the date in ``style``."""
    return ", ".join(p["authors"]), p["title"], p["venue"], date_text(str(p["date"]), style)


# ---------------------------------------------------------------- LaTeX helpers
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def esc(text: str) -> str:
    """Plain text → LaTeX (special characters escaped, straight double quotes as `` '')."""
    out = "".join(_TEX.get(ch, ch) for ch in str(text))
    return re.sub(r'"([^"]*)"', r"``\1''", out)


def itemize(items: list[tuple[int, str]], cmd: str = r"\item", env: str = "itemize", opts: str = "") -> str:
    """Nested itemize from (depth, text) pairs."""
    lines, depth = [rf"\begin{{{env}}}{opts}"], 0
    for d, text in items:
        while d > depth:
            lines.append(rf"\begin{{{env}}}{opts}")
            depth += 1
        while d < depth:
            lines.append(rf"\end{{{env}}}")
            depth -= 1
        lines.append(f"{cmd}{{{esc(text)}}}" if cmd != r"\item" else rf"\item {esc(text)}")
    lines += [rf"\end{{{env}}}"] * (depth + 1)
    return "\n".join(lines)


def first_last(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last


# ---------------------------------------------------------------- moderncv (classic / banking)
def moderncv(person: dict, style: str) -> tuple[str, list[dict]]:
    """moderncv with ``style`` (classic: dates in a left column; banking: org and dates right)."""
    first, last = first_last(person["name"])
    dstyle = "mon" if style == "classic" else "month"
    color = "blue" if style == "classic" else "burgundy"
    out = [r"\documentclass[10pt,a4paper,sans]{moderncv}", rf"\moderncvstyle{{{style}}}",
           rf"\moderncvcolor{{{color}}}", r"\usepackage[utf8]{inputenc}", r"\usepackage[T1]{fontenc}",
           r"\usepackage{lmodern}", r"\usepackage[scale=0.82]{geometry}", rf"\name{{{esc(first)}}}{{{esc(last)}}}",
           rf"\title{{{esc(person['headline'])}}}", rf"\address{{{esc(person['location'])}}}{{}}{{}}",
           rf"\phone[mobile]{{{esc(person['phone'])}}}", rf"\email{{{esc(person['email'])}}}",
           rf"\homepage{{{esc(person['website'])}}}", rf"\social[github]{{{esc(person['github'])}}}",
           r"\begin{document}", r"\makecvtitle"]
    for sec in person["sections"]:
        out.append(rf"\section{{{esc(sec['title'])}}}")
        kind = sec["kind"]
        if kind in ("work", "leadership", "military", "education"):
            for e in sec["entries"]:
                title = what(sec, e)
                org = e["organization"]
                out.append(rf"\cventry{{{esc(date_range(e, dstyle))}}}{{{esc(title)}}}{{{esc(org)}}}"
                           rf"{{{esc(e.get('location', ''))}}}{{}}{{{itemize(bullets_of(e))}}}")
        elif kind == "projects":
            for e in sec["entries"]:
                desc = (esc(e["summary"]) + "\n") if e.get("summary") else ""
                out.append(rf"\cventry{{{esc(date_range(e, dstyle))}}}{{{esc(e['name'])}}}{{}}{{}}{{}}"
                           rf"{{{desc}{itemize(bullets_of(e))}}}")
        elif kind == "skills":
            out += [rf"\cvitem{{{esc(label)}}}{{{esc(details)}}}" for label, details in sec["items"]]
        elif kind == "list":
            out += [rf"\cvlistitem{{{esc(item)}}}" for item in sec["items"]]
        elif kind == "text":
            out.append(rf"\cvitem{{}}{{{esc(sec['text'])}}}")
        elif kind == "publications":
            for p in sec["items"]:
                authors, title, venue, date = pub_parts(p, dstyle)
                out.append(rf"\cvitem{{{esc(date)}}}{{{esc(authors)}. \emph{{{esc(title)}}}. {esc(venue)}.}}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


# ---------------------------------------------------------------- Jake's resume (sb2nov-like)
_JAKE_PREAMBLE = r"""\documentclass[letterpaper,10pt]{article}
\usepackage[utf8]{inputenc}
\input{glyphtounicode}
\pdfgentounicode=1
\usepackage{latexsym}
\usepackage[empty]{fullpage}
\usepackage{titlesec}
\usepackage[usenames,dvipsnames]{color}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\usepackage{tabularx}
\pagestyle{empty}
\addtolength{\oddsidemargin}{-0.5in}
\addtolength{\evensidemargin}{-0.5in}
\addtolength{\textwidth}{1in}
\addtolength{\topmargin}{-.5in}
\addtolength{\textheight}{1.0in}
\urlstyle{same}
\raggedbottom
\raggedright
\setlength{\tabcolsep}{0in}
\titleformat{\section}{\vspace{-4pt}\scshape\raggedright\large}{}{0em}{}[\color{black}\titlerule \vspace{-5pt}]
\newcommand{\resumeItem}[1]{\item\small{#1 \vspace{-2pt}}}
\newcommand{\resumeSubheading}[4]{\vspace{-2pt}\item
  \begin{tabular*}{0.97\textwidth}[t]{l@{\extracolsep{\fill}}r}
    \textbf{#1} & #2 \\
    \textit{\small#3} & \textit{\small #4} \\
  \end{tabular*}\vspace{-7pt}}
\newcommand{\resumeProjectHeading}[2]{\item
  \begin{tabular*}{0.97\textwidth}{l@{\extracolsep{\fill}}r}
    \small#1 & #2 \\
  \end{tabular*}\vspace{-7pt}}
\renewcommand\labelitemii{$\vcenter{\hbox{\tiny$\bullet$}}$}
\newcommand{\resumeSubHeadingListStart}{\begin{itemize}[leftmargin=0.15in, label={}]}
\newcommand{\resumeSubHeadingListEnd}{\end{itemize}}
\newcommand{\resumeItemListStart}{\begin{itemize}}
\newcommand{\resumeItemListEnd}{\end{itemize}\vspace{-5pt}}
"""


def jake(person: dict, welcome: bool = False) -> tuple[str, list[dict]]:
    """Jake's resume: bold title / dates on line one, italic company / location on line two."""
    out = [_JAKE_PREAMBLE, r"\begin{document}", r"\begin{center}",
           rf"\textbf{{\Huge \scshape {esc(person['name'])}}} \\ \vspace{{1pt}}",
           rf"\small {esc(person['phone'])} $|$ \href{{mailto:{person['email']}}}{{{esc(person['email'])}}} $|$ "
           rf"{esc(person['website'])} $|$ github.com/{esc(person['github'])}", r"\end{center}"]
    sections = list(person["sections"])
    skipped = []
    if welcome:  # a section about the document (RenderCV's sample has one): readers must skip it
        out += [r"\section{Welcome to RenderCV}", r"\resumeSubHeadingListStart",
                r"\item\small{RenderCV reads a CV written in a YAML file, and generates a PDF with professional "
                r"typography.}", r"\item\small{Each section title is arbitrary; each entry type is a template.}",
                r"\resumeSubHeadingListEnd"]
        skipped.append("Welcome to RenderCV")
    for sec in sections:
        kind = sec["kind"]
        out.append(rf"\section{{{esc(sec['title'])}}}")
        if kind in ("work", "leadership", "military", "education"):
            out.append(r"\resumeSubHeadingListStart")
            for e in sec["entries"]:
                dates = esc(date_range(e, "mon."))
                if kind == "education":
                    out.append(rf"\resumeSubheading{{{esc(e['organization'])}}}{{{esc(e.get('location', ''))}}}"
                               rf"{{{esc(what(sec, e))}}}{{{dates}}}")
                else:
                    out.append(rf"\resumeSubheading{{{esc(e['title'])}}}{{{dates}}}{{{esc(e['organization'])}}}"
                               rf"{{{esc(e.get('location', ''))}}}")
                out.append(itemize(bullets_of(e), r"\resumeItem"))
            out.append(r"\resumeSubHeadingListEnd")
        elif kind == "projects":
            out.append(r"\resumeSubHeadingListStart")
            for e in sec["entries"]:
                out.append(rf"\resumeProjectHeading{{\textbf{{{esc(e['name'])}}}}}{{{esc(date_range(e, 'mon.'))}}}")
                items = ([(0, e["summary"])] if e.get("summary") else []) + bullets_of(e)
                out.append(itemize(items, r"\resumeItem"))
            out.append(r"\resumeSubHeadingListEnd")
        elif kind == "skills":
            rows = r" \\ ".join(rf"\textbf{{{esc(label)}}}{{: {esc(details)}}}" for label, details in sec["items"])
            out.append(r"\begin{itemize}[leftmargin=0.15in, label={}]" + "\n" + rf"\small{{\item{{{rows}}}}}"
                       + "\n" + r"\end{itemize}")
        elif kind == "list":
            out.append(itemize([(0, x) for x in sec["items"]], r"\resumeItem"))
        elif kind == "text":
            out.append(rf"\small{{{esc(sec['text'])}}}")
        elif kind == "publications":
            items = []
            for p in sec["items"]:
                authors, title, venue, date = pub_parts(p, "mon.")
                items.append(rf"\item\small{{\textbf{{{esc(title)}}}. {esc(authors)}. \textit{{{esc(venue)}}}, "
                             rf"{esc(date)}.}}")
            out.append(r"\begin{itemize}" + "\n" + "\n".join(items) + "\n" + r"\end{itemize}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", sections, skipped


# ---------------------------------------------------------------- AltaCV-like two columns
_ALTA_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[default]{lato}
\usepackage[margin=1.25cm]{geometry}
\usepackage{paracol}
\usepackage{xcolor}
\usepackage{fontawesome5}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{SlateGrey}{HTML}{2E2E2E}
\definecolor{LightGrey}{HTML}{666666}
\definecolor{DarkPastelRed}{HTML}{450808}
\definecolor{PastelRed}{HTML}{8F0D0D}
\colorlet{name}{black}
\colorlet{heading}{DarkPastelRed}
\colorlet{accent}{PastelRed}
\colorlet{emphasis}{SlateGrey}
\colorlet{body}{LightGrey}
\setlist{leftmargin=*,labelsep=0.5em,nosep,itemsep=0.25\baselineskip,after=\vspace{0.25\baselineskip}}
\setlist[itemize]{label=\small\textbullet}
\newcommand{\cvsection}[1]{\vspace{8pt}{\color{heading}\Large\bfseries\MakeUppercase{#1}}\par
  {\color{heading}\rule{\linewidth}{1.5pt}}\par\medskip}
\newcommand{\cvevent}[4]{{\large\color{emphasis}#1\par}\smallskip
  \ifx&#2&\else{\bfseries\color{accent}#2\par}\smallskip\fi
  {\small\color{body}\ifx&#3&\else\makebox[0.5\linewidth][l]{\faCalendar*\hspace{0.5em}#3}\fi
  \ifx&#4&\else\makebox[0.5\linewidth][l]{\faMapMarker*\hspace{0.5em}#4}\fi\par}\medskip\normalsize}
\columnratio{0.6}
\setlength{\columnsep}{1.5em}
"""


def altacv(person: dict) -> tuple[str, list[dict]]:
    """AltaCV-like: a full-width header, then a wide left and a narrow right column (paracol)."""
    left_kinds = {"work", "projects", "military", "publications"}
    out = [_ALTA_PREAMBLE, r"\begin{document}",
           rf"{{\Huge\bfseries\color{{name}}{esc(person['name'])}\par}}\medskip",
           rf"{{\large\bfseries\color{{accent}}{esc(person['headline'])}\par}}\medskip",
           rf"{{\footnotesize\faEnvelope\ {esc(person['email'])}\quad\faPhone*\ {esc(person['phone'])}\quad"
           rf"\faMapMarker*\ {esc(person['location'])}\quad\faGithub\ {esc(person['github'])}\par}}\bigskip",
           r"\begin{paracol}{2}"]
    left = [s for s in person["sections"] if s["kind"] in left_kinds]
    right = [s for s in person["sections"] if s["kind"] not in left_kinds]
    for column, secs in (("", left), (r"\switchcolumn", right)):
        if column:
            out.append(column)
        for sec in secs:
            kind = sec["kind"]
            out.append(rf"\cvsection{{{esc(sec['title'])}}}")
            if kind in STRUCTURED:
                for e in sec["entries"]:
                    head = what(sec, e)
                    org = "" if kind == "projects" else e["organization"]
                    out.append(rf"\cvevent{{{esc(head)}}}{{{esc(org)}}}{{{esc(date_range(e, 'mon'))}}}"
                               rf"{{{esc(e.get('location', ''))}}}")
                    if e.get("summary"):
                        out.append(esc(e["summary"]) + r"\par\smallskip")
                    out.append(itemize(bullets_of(e)) + r"\medskip")
            elif kind == "skills":
                out += [rf"\textbf{{{esc(label)}:}} {esc(details)}\par\smallskip" for label, details in sec["items"]]
            elif kind == "list":
                out.append(itemize([(0, x) for x in sec["items"]]))
            elif kind == "text":
                out.append(rf"{{\small {esc(sec['text'])}\par}}")
            elif kind == "publications":
                for p in sec["items"]:
                    authors, title, venue, date = pub_parts(p, "mon")
                    out.append(rf"{{\bfseries\color{{emphasis}}{esc(title)}\par}}{{\small {esc(authors)}\par}}"
                               rf"{{\small\itshape {esc(venue)}, {esc(date)}\par}}\medskip")
    out += [r"\end{paracol}", r"\end{document}"]
    return "\n".join(out) + "\n", left + right


# ---------------------------------------------------------------- Awesome-CV-like (XeLaTeX)
_AWESOME_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[left=1.4cm,top=1.2cm,right=1.4cm,bottom=1.4cm]{geometry}
\usepackage{fontspec}
\setmainfont{SourceSansPro}[Extension=.otf,UprightFont=*-Regular,BoldFont=*-Bold,ItalicFont=*-RegularIt,
  BoldItalicFont=*-BoldIt]
\newfontfamily\headerfont{Roboto}[Extension=.otf,UprightFont=*-Regular,BoldFont=*-Bold,ItalicFont=*-Italic]
\newfontfamily\headerfontlight{Roboto}[Extension=.otf,UprightFont=*-Thin]
\usepackage{xcolor}
\usepackage{fontawesome5}
\usepackage{enumitem}
\usepackage{tabularx}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{darktext}{HTML}{414141}
\definecolor{text}{HTML}{333333}
\definecolor{graytext}{HTML}{5D5D5D}
\definecolor{lighttext}{HTML}{999999}
\definecolor{awesome}{HTML}{DC3522}
\newcommand{\cvsection}[1]{\vspace{6pt}{\headerfont\Large\bfseries\color{text}\colorsplit#1\relax}
  \color{lighttext}\hrulefill\par\vspace{2pt}}
\def\colorsplit#1#2#3#4\relax{{\color{awesome}#1#2#3}#4}
\newcommand{\entrytitlestyle}[1]{{\fontsize{10pt}{12pt}\selectfont\bfseries\color{darktext}#1}}
\newcommand{\entrypositionstyle}[1]{{\fontsize{8pt}{10pt}\selectfont\scshape\color{graytext}#1}}
\newcommand{\entrydatestyle}[1]{{\fontsize{8pt}{10pt}\selectfont\itshape\color{graytext}#1}}
\newcommand{\entrylocationstyle}[1]{{\fontsize{9pt}{11pt}\selectfont\itshape\color{awesome}#1}}
\newcommand{\cventry}[5]{\par\vspace{2pt}\setlength{\tabcolsep}{0pt}%
  \begin{tabular*}{\linewidth}{@{\extracolsep{\fill}}l r}
  \entrytitlestyle{#2} & \entrylocationstyle{#3} \\
  \entrypositionstyle{#1} & \entrydatestyle{#4} \\
  \end{tabular*}\par #5}
\newcommand{\cvskill}[2]{\begin{tabularx}{\linewidth}{@{}r X@{}}
  \makebox[3.2cm][r]{\fontsize{10pt}{1em}\bfseries\color{darktext}#1} &
  {\fontsize{9pt}{1em}\color{graytext} #2} \\ \end{tabularx}\par}
\setlist[itemize]{leftmargin=2ex,nosep,topsep=2pt,label={\color{graytext}\textbullet}}
\newcommand{\cvitems}[1]{{\fontsize{9pt}{1.2em}\color{graytext}#1}}
"""


def awesome(person: dict) -> tuple[str, list[dict]]:
    """Awesome-CV-like: org bold / location right, then small-caps title / italic dates right."""
    first, last = first_last(person["name"])
    out = [_AWESOME_PREAMBLE, r"\begin{document}", r"\begin{center}",
           rf"{{\fontsize{{32pt}}{{1em}}\headerfontlight\color{{graytext}}{esc(first)} "
           rf"\headerfont\bfseries\color{{text}}{esc(last)}\par}}\vspace{{4pt}}",
           rf"{{\fontsize{{8pt}}{{1em}}\scshape\color{{awesome}}{esc(person['headline'])}\par}}\vspace{{3pt}}",
           rf"{{\fontsize{{8pt}}{{1em}}\color{{text}}\faMobile*\ {esc(person['phone'])}\ \textbar\ "
           rf"\faEnvelope\ {esc(person['email'])}\ \textbar\ \faGithub\ {esc(person['github'])}\par}}",
           r"\end{center}"]
    for sec in person["sections"]:
        kind = sec["kind"]
        out.append(rf"\cvsection{{{esc(sec['title'])}}}")
        if kind in STRUCTURED:
            for e in sec["entries"]:
                items = ([(0, e["summary"])] if e.get("summary") else []) + bullets_of(e)
                body = rf"\cvitems{{{itemize(items)}}}"
                if kind == "projects":
                    out.append(rf"\cventry{{}}{{{esc(e['name'])}}}{{}}{{{esc(date_range(e, 'mon.', ' - '))}}}{{{body}}}")
                else:
                    out.append(rf"\cventry{{{esc(what(sec, e))}}}{{{esc(e['organization'])}}}"
                               rf"{{{esc(e.get('location', ''))}}}{{{esc(date_range(e, 'mon.', ' - '))}}}{{{body}}}")
        elif kind == "skills":
            out += [rf"\cvskill{{{esc(label)}}}{{{esc(details)}}}" for label, details in sec["items"]]
        elif kind == "list":
            out.append(rf"\cvitems{{{itemize([(0, x) for x in sec['items']])}}}")
        elif kind == "text":
            out.append(rf"{{\fontsize{{9pt}}{{1.3em}}\color{{graytext}}{esc(sec['text'])}\par}}")
        elif kind == "publications":
            for p in sec["items"]:
                authors, title, venue, date = pub_parts(p, "mon.")
                out.append(rf"\cventry{{{esc(authors)}}}{{{esc(title)}}}{{{esc(venue)}}}{{{esc(date)}}}{{}}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


# ---------------------------------------------------------------- Word (python-docx)
def word(person: dict, path: Path) -> list[dict]:
    """A Word resume: Title, Heading 1 sections, "Org — Title<tab>dates" entry lines (right tab
    stop), italic location lines, List Bullet bullets, "03/2021 – present" dates."""
    import docx
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.shared import Cm, Pt

    document = docx.Document()
    core = document.core_properties
    core.author, core.title = person["name"], f"{person['name']} - Resume"
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin = section.bottom_margin = Cm(1.6)
    width = section.page_width - section.left_margin - section.right_margin
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Carlito", Pt(10.5)
    for style in ("Title", "Heading 1"):
        document.styles[style].font.name = "Carlito"
    document.styles["Title"].font.size = Pt(24)
    document.styles["Heading 1"].font.size = Pt(13)
    document.add_paragraph(person["name"], style="Title")
    document.add_paragraph(f"{person['headline']} · {person['location']}")
    document.add_paragraph(f"{person['email']} · {person['phone']} · {person['website']}")

    def tabbed(left_runs: list[tuple[str, str]], right: str):
        par = document.add_paragraph()
        par.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
        par.paragraph_format.space_before = Pt(6)
        par.paragraph_format.space_after = Pt(0)
        for text, style in left_runs:
            run = par.add_run(text)
            run.bold, run.italic = "b" in style, "i" in style
        if right:
            par.add_run("\t" + right)
        return par

    def bullet_list(items: list[tuple[int, str]]):
        for depth, text in items:
            par = document.add_paragraph(text, style="List Bullet 2" if depth else "List Bullet")
            par.paragraph_format.space_after = Pt(0)

    for sec in person["sections"]:
        kind = sec["kind"]
        document.add_heading(sec["title"].upper(), level=1)
        if kind in STRUCTURED:
            for e in sec["entries"]:
                dates = date_range(e, "mmyyyy", " – ")
                if kind == "projects":
                    tabbed([(e["name"], "b")], dates)
                elif kind == "education":
                    tabbed([(what(sec, e), "b"), (", ", ""), (e["organization"], "")], dates)
                else:
                    tabbed([(e["organization"], "b"), (" — ", ""), (e["title"], "")], dates)
                if e.get("location"):
                    loc = document.add_paragraph()
                    loc.add_run(e["location"]).italic = True
                    loc.paragraph_format.space_after = Pt(0)
                if e.get("summary"):
                    document.add_paragraph(e["summary"]).paragraph_format.space_after = Pt(0)
                bullet_list(bullets_of(e))
        elif kind == "skills":
            for label, details in sec["items"]:
                par = document.add_paragraph()
                par.add_run(f"{label}: ").bold = True
                par.add_run(details)
                par.paragraph_format.space_after = Pt(0)
        elif kind == "list":
            bullet_list([(0, x) for x in sec["items"]])
        elif kind == "text":
            document.add_paragraph(sec["text"])
        elif kind == "publications":
            for p in sec["items"]:
                authors, title, venue, _ = pub_parts(p, "mmyyyy")
                par = document.add_paragraph(style="List Number")
                par.add_run(f"{authors} ({str(p['date'])[:4]}). ")
                par.add_run(title).italic = True
                par.add_run(f". {venue}.")
    document.save(str(path))
    return person["sections"]


# ---------------------------------------------------------------- held-out layouts (session 8)
# Five more styles common in the wild, written after layout.py was, to measure it on layouts it
# was not developed on: a Deedy-resume-like page (narrow LEFT column), a res.cls / "Ivy" article,
# a "dates first" one-line style, a Word document with a two-column table per entry, and a
# sans-serif "Org | Title" style with colored small-caps headings.
def flat_lines(sec: dict, skill, publications, list_env: str = "itemize") -> list[str]:
    """LaTeX lines of a non-structured section, alike in every style but for two parts:
    ``skill(label, details)`` gives the lines of one skills row and ``publications(items)`` those
    of the publications section; a list section is an ``itemize`` (``list_env``), a text section
    one paragraph."""
    kind = sec["kind"]
    if kind == "skills":
        return [line for label, details in sec["items"] for line in skill(label, details)]
    if kind == "list":
        return [itemize([(0, x) for x in sec["items"]], env=list_env)]
    if kind == "text":
        return [rf"{esc(sec['text'])}\par"]
    return publications(sec["items"])


def latex_sections(person: dict, sections: list[dict], entry, flat) -> list[str]:
    """Body lines of ``sections``: ``entry(sec, e)`` for every structured entry, ``flat(sec)`` for
    the other sections; each returns a list of LaTeX lines (the heading is the caller's)."""
    out: list[str] = []
    for sec in sections:
        out.append(rf"\section{{{esc(sec['title'])}}}")
        if sec["kind"] in STRUCTURED:
            for e in sec["entries"]:
                out += entry(sec, e)
        else:
            out += flat(sec)
    return out


_DEEDY_PREAMBLE = r"""\documentclass[10pt,letterpaper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[default]{lato}
\AtBeginDocument{\fontseries{l}\selectfont}
\usepackage{raleway}
\usepackage[left=0.75in,top=0.6in,right=0.75in,bottom=0.6in]{geometry}
\usepackage{paracol}
\usepackage{xcolor}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{date}{HTML}{666666}
\definecolor{primary}{HTML}{2b2b2b}
\definecolor{headings}{HTML}{6A6A6A}
\definecolor{subheadings}{HTML}{333333}
\titleformat{\section}{\color{headings}\scshape\fontfamily{Raleway-TLF}\selectfont\Large\raggedright}{}{0em}{}
\titlespacing{\section}{0pt}{6pt}{2pt}
\newcommand{\runsubsection}[1]{{\color{subheadings}\fontseries{b}\selectfont\fontsize{11pt}{13pt}\selectfont
  \MakeUppercase{#1}}}
\newcommand{\entryhead}[1]{\par\vspace{3pt}\runsubsection{#1}\par}
\newcommand{\descript}[1]{{\color{subheadings}\raggedright\scshape\fontfamily{Raleway-TLF}\fontseries{m}\selectfont
  \fontsize{10.5pt}{12pt}\selectfont#1}}
\newcommand{\location}[1]{{\color{headings}\raggedright\fontfamily{Raleway-TLF}\fontseries{m}\selectfont
  \fontsize{9pt}{11pt}\selectfont#1\par}}
\newenvironment{tightemize}{\begin{itemize}[leftmargin=1.2em,nosep,topsep=1pt]}{\end{itemize}}
\newcommand{\sectionsep}{\vspace{6pt}}
\columnratio{0.32}
\setlength{\columnsep}{1.6em}
"""


def deedy(person: dict) -> tuple[str, list[dict]]:
    """Deedy-resume-like: a centred name, then a NARROW left column (education, skills, lists)
    and a wide right column (summary, experience, projects, publications) with paracol.
    Entries: organization in bold capitals, "| Title" in Raleway small caps beside it,
    "Dates | Location" below; education details are plain lines (no bullet), as in Deedy."""
    first, last = first_last(person["name"])
    left_kinds = {"education", "skills", "list"}
    left = [s for s in person["sections"] if s["kind"] in left_kinds]
    right = [s for s in person["sections"] if s["kind"] not in left_kinds]

    def entry(sec: dict, e: dict) -> list[str]:
        dates = date_range(e, "mon", " -- ")
        meta = " | ".join(x for x in (dates, e.get("location", "")) if x)
        if sec["kind"] == "education":
            lines = [rf"\entryhead{{{esc(e['organization'])}}}", rf"\descript{{{esc(what(sec, e))}}}\par",
                     rf"\location{{{esc(meta)}}}"]
            lines += [rf"{esc(t)}\par" for _, t in bullets_of(e)]
            return lines + [r"\sectionsep"]
        if sec["kind"] == "projects":
            lines = [rf"\par\vspace{{3pt}}\runsubsection{{{esc(e['name'])}}}\par", rf"\location{{{esc(meta)}}}"]
        else:
            lines = [rf"\par\vspace{{3pt}}\runsubsection{{{esc(e['organization'])}}}"
                     rf"\descript{{\ | {esc(e['title'])}}}\par", rf"\location{{{esc(meta)}}}"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e), env="tightemize")]

    def flat(sec: dict) -> list[str]:
        kind = sec["kind"]
        if kind == "skills":
            out = []
            for label, details in sec["items"]:
                out += [rf"\par\vspace{{2pt}}\runsubsection{{{esc(label)}}}\par",
                        " \\textbullet{} ".join(esc(x.strip()) for x in details.split(",")) + r"\par"]
            return out
        if kind == "list":
            return [itemize([(0, x) for x in sec["items"]], env="tightemize")]
        if kind == "text":
            return [rf"{esc(sec['text'])}\par"]
        out = []
        for p in sec["items"]:
            authors, title, venue, date = pub_parts(p, "mon")
            out.append(rf"\par\vspace{{2pt}}{{\fontseries{{b}}\selectfont {esc(title)}}}\par" "\n"
                       rf"{esc(authors)}. \textit{{{esc(venue)}}}, {esc(date)}.\par")
        return out

    out = [_DEEDY_PREAMBLE, r"\begin{document}", r"\begin{center}",
           rf"{{\fontsize{{36pt}}{{40pt}}\selectfont\color{{primary}}{{\fontseries{{l}}\selectfont {esc(first)}}} "
           rf"{{\fontseries{{b}}\selectfont {esc(last)}}}\par}}\vspace{{4pt}}",
           rf"{{\color{{headings}}\fontfamily{{Raleway-TLF}}\selectfont\fontsize{{10pt}}{{12pt}}\selectfont "
           rf"{esc(person['website'])} | {esc(person['email'])} | {esc(person['phone'])}\par}}", r"\end{center}",
           r"\begin{paracol}{2}", r"\raggedright"]  # ragged narrow column: no overfull lines into the gutter
    out += latex_sections(person, left, entry, flat)
    out += [r"\switchcolumn", r"\rightskip=0pt\parfillskip=0pt plus 1fil"]  # the wide column justified
    out += latex_sections(person, right, entry, flat)
    out += [r"\end{paracol}", r"\end{document}"]
    return "\n".join(out) + "\n", left + right


_IVY_PREAMBLE = r"""\documentclass[11pt,letterpaper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[bitstream-charter]{mathdesign}
\usepackage[margin=0.75in]{geometry}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\setlength{\tabcolsep}{0pt}
\setlist[itemize]{leftmargin=1.5em,nosep,topsep=1pt}
\renewcommand{\section}[1]{\par\vspace{8pt}{\centering\bfseries\MakeUppercase{#1}\par}\vspace{1pt}
  \hrule height 0.6pt\vspace{4pt}}
\newcommand{\ivyentry}[4]{\par\vspace{4pt}\begin{tabular*}{\textwidth}{@{}l@{\extracolsep{\fill}}r@{}}
  \textbf{#1} & #2 \\ \textit{#3} & #4 \\ \end{tabular*}\par}
\newcommand{\ivyline}[2]{\par\vspace{4pt}\begin{tabular*}{\textwidth}{@{}l@{\extracolsep{\fill}}r@{}}
  \textbf{#1} & #2 \\ \end{tabular*}\par}
"""


def ivy(person: dict) -> tuple[str, list[dict]]:
    """res.cls / "Ivy" look: plain article in Charter, centred capitals headings over a rule,
    entries as ``tabular*`` rows "**Organization** <hfill> City" / "*Title* <hfill> Dates";
    projects "**Name** <hfill> dates" with a plain description line."""
    def entry(sec: dict, e: dict) -> list[str]:
        dates = esc(date_range(e, "month", " -- "))
        if sec["kind"] == "projects":
            lines = [rf"\ivyline{{{esc(e['name'])}}}{{{dates}}}"]
        else:
            lines = [rf"\ivyentry{{{esc(e['organization'])}}}{{{esc(e.get('location', ''))}}}"
                     rf"{{{esc(what(sec, e))}}}{{{dates}}}"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e))]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\textbf{{{esc(label)}:}} {esc(details)}\par"]

        def publications(items: list[dict]) -> list[str]:
            lines = []
            for p in items:
                authors, title, venue, _ = pub_parts(p, "month")
                lines.append(rf"\item {esc(authors)}. ``{esc(title)}.'' \textit{{{esc(venue)}}}, {str(p['date'])[:4]}.")
            return [r"\begin{enumerate}[leftmargin=1.5em,nosep]", *lines, r"\end{enumerate}"]

        return flat_lines(sec, skill, publications)

    out = [_IVY_PREAMBLE, r"\begin{document}", r"\begin{center}",
           rf"{{\LARGE\bfseries {esc(person['name'])}\par}}\vspace{{3pt}}",
           rf"{esc(person['location'])} $\cdot$ {esc(person['phone'])} $\cdot$ {esc(person['email'])} $\cdot$ "
           rf"{esc(person['website'])}", r"\end{center}"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


_DATES_FIRST_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{mathpazo}
\usepackage[margin=2cm]{geometry}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\titleformat{\section}{\large\bfseries}{}{0em}{}
\titlespacing{\section}{0pt}{10pt}{4pt}
\setlist[itemize]{leftmargin=1.4em,nosep,topsep=1pt}
\newcommand{\dated}[2]{\par\vspace{4pt}#1\quad #2\par}
"""


def dates_first(person: dict) -> tuple[str, list[dict]]:
    """"Dates first": one line "March 2021 -- present  **Title**, *Organization*, City" with the
    dates as plain text at the left of the same line (no column), bullets below (Palatino)."""
    def entry(sec: dict, e: dict) -> list[str]:
        dates = esc(date_range(e, "lower", " -- "))
        if sec["kind"] == "projects":
            head = rf"\textbf{{{esc(e['name'])}}}"
        else:
            head = rf"\textbf{{{esc(what(sec, e))}}}, \textit{{{esc(e['organization'])}}}"
            if e.get("location"):
                head += f", {esc(e['location'])}"
        lines = [rf"\dated{{{dates}}}{{{head}}}"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e))]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\textbf{{{esc(label)}}}\quad {esc(details)}\par"]

        def publications(items: list[dict]) -> list[str]:
            return [rf"\dated{{{str(p['date'])[:4]}}}{{{esc(', '.join(p['authors']))}. \textit{{{esc(p['title'])}}}. "
                    rf"{esc(p['venue'])}.}}" for p in items]

        return flat_lines(sec, skill, publications)

    out = [_DATES_FIRST_PREAMBLE, r"\begin{document}", rf"{{\huge {esc(person['name'])}\par}}\vspace{{2pt}}",
           rf"{{\itshape {esc(person['headline'])}\par}}\vspace{{2pt}}",
           rf"{esc(person['location'])} -- {esc(person['email'])} -- {esc(person['phone'])} -- "
           rf"{esc(person['website'])}\par"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


_MODERN_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[sfdefault,light]{FiraSans}
\usepackage[margin=1.8cm]{geometry}
\usepackage{xcolor}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{accent}{HTML}{1F6F8B}
\definecolor{muted}{HTML}{707070}
\titleformat{\section}{\color{accent}\Large\scshape}{}{0em}{}[{\color{accent}\titlerule[0.8pt]}]
\titlespacing{\section}{0pt}{10pt}{5pt}
\setlist[itemize]{label=\textendash,leftmargin=1.2em,nosep,topsep=2pt}
\newcommand{\modernentry}[3]{\par\vspace{5pt}{#1}\hfill{\color{muted}#2}\par
  \ifx&#3&\else{\small\color{muted}#3\par}\fi}
"""


def modern(person: dict) -> tuple[str, list[dict]]:
    """Sans-serif "modern" style (Fira Sans Light): colored small-caps headings over a rule,
    "**Organization** | Title" on one line with ISO dates ("2021-03 – present") on the right, the
    location in grey below, en-dash bullets."""
    def entry(sec: dict, e: dict) -> list[str]:
        dates = esc(date_range(e, "iso", " – "))
        if sec["kind"] == "projects":
            head = rf"\textbf{{{esc(e['name'])}}}"
        else:
            head = rf"\textbf{{{esc(e['organization'])}}} | {esc(what(sec, e))}"
        lines = [rf"\modernentry{{{head}}}{{{dates}}}{{{esc(e.get('location', ''))}}}"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e))]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\textbf{{{esc(label)}}} | {esc(details)}\par"]

        def publications(items: list[dict]) -> list[str]:
            return [rf"\par\vspace{{2pt}}\textbf{{{esc(p['title'])}}}\hfill{{\color{{muted}}{str(p['date'])[:7]}}}\par"
                    rf"{{\small {esc(', '.join(p['authors']))} | \textit{{{esc(p['venue'])}}}\par}}"
                    for p in items]

        return flat_lines(sec, skill, publications)

    out = [_MODERN_PREAMBLE, r"\begin{document}",
           rf"{{\fontsize{{28pt}}{{32pt}}\selectfont\bfseries {esc(person['name'])}\par}}\vspace{{2pt}}",
           rf"{{\large\color{{accent}}{esc(person['headline'])}\par}}\vspace{{4pt}}",
           rf"{{\small\color{{muted}}{esc(person['email'])} | {esc(person['phone'])} | {esc(person['website'])} | "
           rf"{esc(person['location'])}\par}}"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


def word_table(person: dict, path: Path) -> list[dict]:
    """A Word resume with a borderless two-column TABLE per entry (and per skill / publication):
    dates in the narrow left cell ("Mar 2021 – Present"), on the right a bold organization with
    its city, the italic title, and List Bullet paragraphs inside the cell. Liberation Sans,
    section headings as bold blue capitals; exported with LibreOffice."""
    import docx
    from docx.shared import Cm, Pt, RGBColor

    document = docx.Document()
    core = document.core_properties
    core.author, core.title = person["name"], f"{person['name']} - CV"
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin = section.bottom_margin = Cm(1.5)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Liberation Sans", Pt(10)
    normal.paragraph_format.space_after = Pt(0)
    for style in ("List Bullet", "List Bullet 2", "Title"):
        document.styles[style].font.name = "Liberation Sans"
    left_w, right_w = Cm(3.4), section.page_width - section.left_margin - section.right_margin - Cm(3.4)

    def para(text: str, size: float | None = None, bold: bool = False):
        par = document.add_paragraph()
        run = par.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        return par

    def heading(text: str) -> None:
        par = document.add_paragraph()
        par.paragraph_format.space_before, par.paragraph_format.space_after = Pt(10), Pt(3)
        run = par.add_run(text.upper())
        run.bold, run.font.size, run.font.color.rgb = True, Pt(12), RGBColor(0x1F, 0x4E, 0x79)

    def row(left: str):
        table = document.add_table(rows=1, cols=2)
        table.autofit = False
        table.columns[0].width, table.columns[1].width = left_w, right_w  # the grid LibreOffice reads
        cells = table.rows[0].cells
        cells[0].width, cells[1].width = left_w, right_w
        cells[0].paragraphs[0].add_run(left)
        return cells[1]

    def cell_line(cell, runs: list[tuple[str, str]], first: bool = False):
        par = cell.paragraphs[0] if first else cell.add_paragraph()
        for text, style in runs:
            run = par.add_run(text)
            run.bold, run.italic = "b" in style, "i" in style
        return par

    def cell_bullets(cell, items: list[tuple[int, str]]) -> None:
        for depth, text in items:
            cell.add_paragraph(text, style="List Bullet 2" if depth else "List Bullet")

    para(person["name"], 22, bold=True)
    para(person["headline"], 12)
    para(f"{person['location']} | {person['phone']} | {person['email']} | {person['website']}")
    for sec in person["sections"]:
        kind = sec["kind"]
        heading(sec["title"])
        if kind in STRUCTURED:
            for e in sec["entries"]:
                cell = row(date_range(e, "mon", " – "))
                if kind == "projects":
                    cell_line(cell, [(e["name"], "b")], first=True)
                else:
                    loc = f", {e['location']}" if e.get("location") else ""
                    cell_line(cell, [(e["organization"], "b"), (loc, "")], first=True)
                    cell_line(cell, [(what(sec, e), "i")])
                if e.get("summary"):
                    cell_line(cell, [(e["summary"], "")])
                cell_bullets(cell, bullets_of(e))
                document.add_paragraph().paragraph_format.space_after = Pt(0)
        elif kind == "skills":
            for label, details in sec["items"]:
                row(label).paragraphs[0].add_run(details)
        elif kind == "list":
            for x in sec["items"]:
                document.add_paragraph(x, style="List Bullet")
        elif kind == "text":
            document.add_paragraph(sec["text"])
        elif kind == "publications":
            for p in sec["items"]:
                cell = row(str(p["date"])[:4])
                cell_line(cell, [(p["title"], "b")], first=True)
                cell_line(cell, [(", ".join(p["authors"]) + ". ", ""), (p["venue"], "i")])
    document.save(str(path))
    return person["sections"]


# ---------------------------------------------------------------- second held-out set (session 8)
# Four more styles, written after the reader had been generalised on the five above, to measure
# it again on layouts it was never developed on: a "timeline" (thin vertical rule, grey dates
# ABOVE each header), a Europass-like label / value table, a Word document with a 2-column
# header table and bullets typed as "•" characters, and a centred style.
_TIMELINE_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[default]{sourceserifpro}
\usepackage[margin=2cm]{geometry}
\usepackage[table]{xcolor}
\usepackage{array}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{line}{HTML}{B4B4B4}
\definecolor{when}{HTML}{7A7A7A}
\definecolor{accent}{HTML}{2E5C8A}
\arrayrulecolor{line}
\setlength{\arrayrulewidth}{0.6pt}
\titleformat{\section}{\color{accent}\large\bfseries}{}{0em}{}
\titlespacing{\section}{0pt}{12pt}{4pt}
\setlist[itemize]{leftmargin=1.3em,nosep,topsep=1pt}
\newcommand{\tlentry}[2]{\par\vspace{4pt}\begin{tabular}{@{}|@{\hspace{9pt}}p{\dimexpr\linewidth-10pt\relax}@{}}
  {\footnotesize\color{when}#1}\par\vspace{1pt}#2
  \end{tabular}\par}
"""


def timeline(person: dict) -> tuple[str, list[dict]]:
    """"Timeline": every entry sits right of a thin grey vertical rule (a one-column tabular),
    its dates and city in small grey text ABOVE the header ("Sept 2018 – May 2023 · Princeton,
    NJ"), then "**Title**, Organization" (education "**Degree in Area**, Institution"), then the
    bullets; Source Serif Pro, colored bold headings without a rule."""
    def entry(sec: dict, e: dict) -> list[str]:
        when = date_range(e, "mon", " – ")
        if e.get("location"):
            when += f" · {e['location']}"
        if sec["kind"] == "projects":
            head = rf"\textbf{{{esc(e['name'])}}}"
        else:
            head = rf"\textbf{{{esc(what(sec, e))}}}, {esc(e['organization'])}"
        body = [head + r"\par"]
        if e.get("summary"):
            body.append(rf"{esc(e['summary'])}\par")
        body.append(itemize(bullets_of(e)))
        return [rf"\tlentry{{{esc(when)}}}{{" + "\n".join(body) + "}"]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\textbf{{{esc(label)}}}: {esc(details)}\par"]

        def publications(items: list[dict]) -> list[str]:
            return [rf"\tlentry{{{str(p['date'])[:4]}}}{{\textbf{{{esc(p['title'])}}}\par "
                    rf"{esc(', '.join(p['authors']))}. \textit{{{esc(p['venue'])}}}.\par}}" for p in items]

        return flat_lines(sec, skill, publications)

    out = [_TIMELINE_PREAMBLE, r"\begin{document}", rf"{{\fontsize{{24pt}}{{28pt}}\selectfont\bfseries "
           rf"{esc(person['name'])}\par}}\vspace{{3pt}}", rf"{{\large {esc(person['headline'])}\par}}\vspace{{3pt}}",
           rf"{{\small\color{{when}}{esc(person['location'])} · {esc(person['email'])} · {esc(person['phone'])} · "
           rf"{esc(person['website'])}\par}}"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


_EUROPASS_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[scaled=0.92]{helvet}
\renewcommand{\familydefault}{\sfdefault}
\usepackage[left=1.5cm,right=1.5cm,top=1.5cm,bottom=1.5cm]{geometry}
\usepackage{xcolor}
\usepackage{array}
\usepackage{longtable}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{eublue}{HTML}{0E4194}
\definecolor{label}{HTML}{3F3F6F}
\setlength{\tabcolsep}{6pt}
\setlength{\LTpre}{0pt}
\setlength{\LTpost}{0pt}
\setlist[itemize]{leftmargin=1.2em,nosep,topsep=0pt,partopsep=0pt}
\newcolumntype{L}{>{\raggedleft\arraybackslash\small\color{label}}p{3.8cm}}
\newcolumntype{R}{>{\raggedright\arraybackslash}p{\dimexpr\textwidth-3.8cm-4\tabcolsep\relax}}
\newcommand{\eusection}[1]{\noalign{\vspace{8pt}}{\normalsize\color{eublue}\MakeUppercase{#1}} &
  {\color{eublue}\rule[0.4ex]{\linewidth}{0.6pt}} \\ \noalign{\vspace{2pt}}}
\newcommand{\eugap}{\noalign{\vspace{5pt}}}
"""


def europass(person: dict) -> tuple[str, list[dict]]:
    """Europass-like: one long two-column table (Helvetica), a right-aligned LABEL column
    ("Dates", "Position", "Employer"; education "Qualification", "Institution") with one row per
    field and the value on the right; "Employer" is "Organization, City"; dates "09/2018 –
    05/2023"; section titles in blue capitals in the label column, a rule beside them."""
    labels = {"work": ("Position", "Employer"), "leadership": ("Role", "Organisation"),
              "military": ("Position", "Employer"), "education": ("Qualification", "Institution")}

    def rows(sec: dict) -> list[str]:
        kind = sec["kind"]
        out = [rf"\eusection{{{esc(sec['title'])}}}"]
        if kind in STRUCTURED:
            for i, e in enumerate(sec["entries"]):
                if i:
                    out.append(r"\eugap")
                out.append(rf"Dates & {esc(date_range(e, 'mmyyyy', ' – '))} \\")
                if kind == "projects":
                    out.append(rf"Project & \textbf{{{esc(e['name'])}}} \\")
                else:
                    what_label, org_label = labels[kind]
                    org = e["organization"] + (f", {e['location']}" if e.get("location") else "")
                    out += [rf"{what_label} & \textbf{{{esc(what(sec, e))}}} \\", rf"{org_label} & {esc(org)} \\"]
                if e.get("summary"):
                    out.append(rf"Description & {esc(e['summary'])} \\")
                label = "Details" if kind == "education" else "Activities"
                out.append(rf"{label} & \begin{{minipage}}[t]{{\linewidth}}{itemize(bullets_of(e))}"
                           r"\end{minipage} \\")
        elif kind == "skills":
            out += [rf"{esc(label)} & {esc(details)} \\" for label, details in sec["items"]]
        elif kind == "list":
            out += [rf" & {esc(x)} \\" for x in sec["items"]]
        elif kind == "text":
            out.append(rf" & {esc(sec['text'])} \\")
        else:
            out += [rf"{str(p['date'])[:4]} & {esc(', '.join(p['authors']))}. \textit{{{esc(p['title'])}}}. "
                    rf"{esc(p['venue'])}. \\" for p in sec["items"]]
        return out

    out = [_EUROPASS_PREAMBLE, r"\begin{document}", r"\begin{longtable}{@{}LR@{}}",
           rf"{{\normalsize\color{{eublue}}CURRICULUM VITAE}} & {{\LARGE {esc(person['name'])}}} \\",
           r"\noalign{\vspace{6pt}}", rf"Address & {esc(person['location'])} \\",
           rf"Telephone & {esc(person['phone'])} \\", rf"E-mail & {esc(person['email'])} \\",
           rf"Website & {esc(person['website'])} \\", rf"Position sought & {esc(person['headline'])} \\"]
    for sec in person["sections"]:
        out += rows(sec)
    out += [r"\end{longtable}", r"\end{document}"]
    return "\n".join(out) + "\n", person["sections"]


def word_bullets(person: dict, path: Path) -> list[dict]:
    """A Word resume (Liberation Serif) whose header is a borderless 2-column TABLE (name and
    headline left, contact lines right-aligned right); section headings in bold capitals over a
    paragraph border; entries "**Title — Organization**" (one bold paragraph), then an italic
    "September 2018 – May 2023 | City" line; bullets typed as "•" / "◦" characters with a tab and
    a hanging indent (no list style). Exported with LibreOffice."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    document = docx.Document()
    core = document.core_properties
    core.author, core.title = person["name"], f"{person['name']} - Resume"
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(1.8)
    width = section.page_width - section.left_margin - section.right_margin
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Liberation Serif", Pt(11)
    normal.paragraph_format.space_after = Pt(0)

    header = document.add_table(rows=1, cols=2)
    header.autofit = False
    left, right = header.rows[0].cells
    header.columns[0].width = header.columns[1].width = left.width = right.width = width // 2
    run = left.paragraphs[0].add_run(person["name"])
    run.bold, run.font.size = True, Pt(20)
    left.add_paragraph(person["headline"]).runs[0].font.size = Pt(12)
    for i, text in enumerate((person["email"], person["phone"], person["location"], person["website"])):
        par = right.paragraphs[0] if i == 0 else right.add_paragraph()
        par.add_run(text).font.size = Pt(10)
        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    def heading(text: str) -> None:
        par = document.add_paragraph()
        par.paragraph_format.space_before, par.paragraph_format.space_after = Pt(12), Pt(4)
        run = par.add_run(text.upper())
        run.bold, run.font.size, run.font.color.rgb = True, Pt(12), RGBColor(0x33, 0x33, 0x33)
        border, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
        for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "808080")):
            bottom.set(qn(key), value)
        border.append(bottom)
        par._p.get_or_add_pPr().append(border)

    def line(text: str, bold: bool = False, italic: bool = False, before: float = 0):
        par = document.add_paragraph()
        par.paragraph_format.space_before = Pt(before)
        run = par.add_run(text)
        run.bold, run.italic = bold, italic
        return par

    def typed_bullets(items: list[tuple[int, str]]) -> None:
        for depth, text in items:
            par = document.add_paragraph(("◦" if depth else "•") + "\t" + text)
            fmt = par.paragraph_format
            fmt.left_indent, fmt.first_line_indent = Cm(0.7 + 0.7 * depth), Cm(-0.45)
            fmt.tab_stops.add_tab_stop(Cm(0.7 + 0.7 * depth))

    for sec in person["sections"]:
        kind = sec["kind"]
        heading(sec["title"])
        if kind in STRUCTURED:
            for e in sec["entries"]:
                head = e["name"] if kind == "projects" else f"{what(sec, e)} — {e['organization']}"
                line(head, bold=True, before=6)
                meta = date_range(e, "month", " – ") + (f" | {e['location']}" if e.get("location") else "")
                line(meta, italic=True)
                if e.get("summary"):
                    line(e["summary"])
                typed_bullets(bullets_of(e))
        elif kind == "skills":
            for label, details in sec["items"]:
                par = document.add_paragraph()
                par.add_run(f"{label}: ").bold = True
                par.add_run(details)
        elif kind == "list":
            typed_bullets([(0, x) for x in sec["items"]])
        elif kind == "text":
            line(sec["text"])
        elif kind == "publications":
            typed_bullets([(0, f"{', '.join(p['authors'])}. {p['title']}. {p['venue']}, {str(p['date'])[:4]}.")
                           for p in sec["items"]])
    document.save(str(path))
    return person["sections"]


_CENTERED_PREAMBLE = r"""\documentclass[11pt,letterpaper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{mathptmx}
\usepackage[margin=0.9in]{geometry}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\setlist[itemize]{leftmargin=1.6em,nosep,topsep=2pt}
\renewcommand{\section}[1]{\par\vspace{10pt}{\centering\Large #1\par}\vspace{1pt}
  {\centering\rule{0.25\linewidth}{0.4pt}\par}\vspace{3pt}}
\newcommand{\centry}[2]{\par\vspace{6pt}{\centering #1\par}{\centering\itshape #2\par}\vspace{1pt}}
"""


def centered(person: dict) -> tuple[str, list[dict]]:
    """Centred style (Times): the name, contact and every section title centred; every
    entry header centred on two lines, "**Title** at Organization" (education "**Degree in
    Area**, Institution"; projects "**Name**") over an italic "City · Sept 2018 – May 2023";
    the bullets below are left-aligned."""
    def entry(sec: dict, e: dict) -> list[str]:
        kind = sec["kind"]
        if kind == "projects":
            head = rf"\textbf{{{esc(e['name'])}}}"
        elif kind == "education":
            head = rf"\textbf{{{esc(what(sec, e))}}}, {esc(e['organization'])}"
        else:
            head = rf"\textbf{{{esc(e['title'])}}} at {esc(e['organization'])}"
        meta = " · ".join(x for x in (e.get("location", ""), date_range(e, "mon", " – ")) if x)
        lines = [rf"\centry{{{head}}}{{{esc(meta)}}}"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e))]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"{{\centering\textbf{{{esc(label)}}}: {esc(details)}\par}}"]

        def publications(items: list[dict]) -> list[str]:
            return [itemize([(0, f"{', '.join(p['authors'])}. \"{p['title']}\". {p['venue']}, {str(p['date'])[:4]}.")
                             for p in items])]

        return flat_lines(sec, skill, publications)

    out = [_CENTERED_PREAMBLE, r"\begin{document}", r"\begin{center}",
           rf"{{\fontsize{{26pt}}{{30pt}}\selectfont {esc(person['name'])}\par}}\vspace{{4pt}}",
           rf"{{\itshape {esc(person['headline'])}\par}}\vspace{{2pt}}",
           rf"{esc(person['location'])} · {esc(person['phone'])} · {esc(person['email'])} · {esc(person['website'])}",
           r"\end{center}"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


# ---------------------------------------------------------------- third held-out set (session 9)
# Four styles made from the faults a new user's own layouts showed (docs/experiments.md, "A new
# user's own layouts"), written and measured before any reader change: dates over two lines in a
# left cell, "Title (dates)" over an italic "Company, City", a right-hand sidebar with a Contact
# block and plain (unbulleted) education details, and a Word document with one table per section
# whose first row is a header (Period | Employer | Role | Highlights).
_TWOLINE_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{charter}
\usepackage[margin=2cm]{geometry}
\usepackage{array}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\titleformat{\section}{\large\scshape}{}{0em}{}[\titlerule]
\titlespacing{\section}{0pt}{10pt}{5pt}
\setlist[itemize]{leftmargin=1.2em,nosep,topsep=1pt}
\newlength{\datecol}
\setlength{\datecol}{2.4cm}
\newcommand{\twoline}[3]{\par\vspace{5pt}\noindent\begin{tabular}{@{}>{\raggedright\small}p{\datecol}@{\hspace{10pt}}
  p{\dimexpr\linewidth-\datecol-10pt\relax}@{}}#1&#2\\[-2pt]\end{tabular}\par#3}
"""


def twoline_dates(person: dict) -> tuple[str, list[dict]]:
    """Dates over TWO lines in a narrow left cell ("Apr 2019" / "– Present"), beside them
    "**Title**" over "Company, City" (education "**Degree in Area**" over the institution),
    bullets full width below; Charter, small-caps headings over a rule."""
    def when(e: dict) -> str:
        start, end = date_text(e.get("start"), "mon"), date_text(e.get("end"), "mon")
        return esc(start) + (rf"\newline -- {esc(end)}" if end else "")

    def entry(sec: dict, e: dict) -> list[str]:
        if sec["kind"] == "projects":
            right = rf"\textbf{{{esc(e['name'])}}}"
        else:
            place = e["organization"] + (f", {e['location']}" if e.get("location") else "")
            right = rf"\textbf{{{esc(what(sec, e))}}}\newline {esc(place)}"
        body = (rf"{esc(e['summary'])}\par" if e.get("summary") else "") + itemize(bullets_of(e))
        return [rf"\twoline{{{when(e)}}}{{{right}}}{{{body}}}"]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\twoline{{\textbf{{{esc(label)}}}}}{{{esc(details)}}}{{}}"]

        def publications(items: list[dict]) -> list[str]:
            return [rf"\twoline{{{date_text(str(p['date']), 'mon')}}}{{\textbf{{{esc(p['title'])}}}\newline "
                    rf"{esc(', '.join(p['authors']))}\newline \textit{{{esc(p['venue'])}}}}}{{}}" for p in items]

        return flat_lines(sec, skill, publications)

    out = [_TWOLINE_PREAMBLE, r"\begin{document}", rf"{{\LARGE\bfseries {esc(person['name'])}\par}}\vspace{{2pt}}",
           rf"{esc(person['headline'])}\par\vspace{{2pt}}",
           rf"{{\small {esc(person['email'])} | {esc(person['phone'])} | {esc(person['location'])} | "
           rf"{esc(person['website'])}\par}}"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


_TITLE_PAREN_PREAMBLE = r"""\documentclass[11pt,letterpaper]{article}
\usepackage[T1]{fontenc}
\usepackage{libertine}
\usepackage[margin=0.8in]{geometry}
\usepackage{titlesec}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\titleformat{\section}{\bfseries\MakeUppercase}{}{0em}{}[\vspace{-4pt}\rule{\linewidth}{0.6pt}]
\titlespacing{\section}{0pt}{9pt}{4pt}
\setlist[itemize]{leftmargin=1.5em,nosep,topsep=1pt}
"""


def title_paren(person: dict) -> tuple[str, list[dict]]:
    """"**Title** (April 2019 – Present)" on one line, the dates in parentheses right after the
    title, then "*Company, City*" in italics on the next line (education "**Degree in Area**
    (dates)" over "*Institution, City*"; projects "**Name** (2022)"); Linux Libertine, bold
    capital headings over a rule."""
    def entry(sec: dict, e: dict) -> list[str]:
        dates = esc(date_range(e, "month", " – "))
        if sec["kind"] == "projects":
            lines = [rf"\par\vspace{{4pt}}\textbf{{{esc(e['name'])}}} ({dates})\par"]
        else:
            place = e["organization"] + (f", {e['location']}" if e.get("location") else "")
            lines = [rf"\par\vspace{{4pt}}\textbf{{{esc(what(sec, e))}}} ({dates})\par", rf"\textit{{{esc(place)}}}\par"]
        if e.get("summary"):
            lines.append(rf"{esc(e['summary'])}\par")
        return lines + [itemize(bullets_of(e))]

    def flat(sec: dict) -> list[str]:
        def skill(label: str, details: str) -> list[str]:
            return [rf"\textbf{{{esc(label)}:}} {esc(details)}\par"]

        def publications(items: list[dict]) -> list[str]:
            return [itemize([(0, f"{', '.join(p['authors'])}. {p['title']}. {p['venue']} ({str(p['date'])[:4]}).")
                             for p in items])]

        return flat_lines(sec, skill, publications)

    out = [_TITLE_PAREN_PREAMBLE, r"\begin{document}", rf"{{\Large\bfseries {esc(person['name'])}\par}}",
           rf"{esc(person['location'])} | {esc(person['phone'])} | {esc(person['email'])} | {esc(person['website'])}\par"]
    out += latex_sections(person, person["sections"], entry, flat)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n", person["sections"]


_SIDEBAR_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[default]{sourcesanspro}
\usepackage[margin=1.4cm]{geometry}
\usepackage{paracol}
\usepackage{xcolor}
\usepackage{enumitem}
\usepackage[hidelinks]{hyperref}
\pagestyle{empty}
\setlength{\parindent}{0pt}
\definecolor{side}{HTML}{3B5B7A}
\definecolor{grey}{HTML}{6A6A6A}
\setlist[itemize]{leftmargin=1.1em,nosep,topsep=1pt}
\newcommand{\mainsection}[1]{\par\vspace{8pt}{\color{side}\large\bfseries #1\par}\vspace{3pt}}
\newcommand{\sidesection}[1]{\par\vspace{8pt}{\color{side}\bfseries\MakeUppercase{#1}\par}\vspace{2pt}}
\columnratio{0.66}
\setlength{\columnsep}{1.6em}
"""


def right_sidebar(person: dict) -> tuple[str, list[dict]]:
    """A wide main column on the left (name, headline, then the structured sections) and a
    narrow right sidebar (paracol) holding a CONTACT block (one item per line, no heading
    category), the summary, skills, lists and publications. Entries: a bold organization,
    then "Title" with the dates right-aligned, then bullets; education details are PLAIN
    lines (no bullet glyph): "GPA: 3.97/4.00". Source Sans Pro."""
    main_kinds = {"work", "education", "projects", "leadership", "military"}
    out = [_SIDEBAR_PREAMBLE, r"\begin{document}", r"\begin{paracol}{2}",
           rf"{{\fontsize{{24pt}}{{28pt}}\selectfont\bfseries {esc(person['name'])}\par}}\vspace{{2pt}}",
           rf"{{\large\color{{grey}}{esc(person['headline'])}\par}}"]
    main = [s for s in person["sections"] if s["kind"] in main_kinds]
    side = [s for s in person["sections"] if s["kind"] not in main_kinds]
    for sec in main:
        out.append(rf"\mainsection{{{esc(sec['title'])}}}")
        for e in sec["entries"]:
            dates = esc(date_range(e, "mon", " – "))
            if sec["kind"] == "projects":
                out.append(rf"\par\vspace{{4pt}}\textbf{{{esc(e['name'])}}}\hfill{{\color{{grey}}{dates}}}\par")
            else:
                out.append(rf"\par\vspace{{4pt}}\textbf{{{esc(e['organization'])}}}\par")
                out.append(rf"{esc(what(sec, e))}\hfill{{\color{{grey}}{dates}}}\par")
            if e.get("summary"):
                out.append(rf"{esc(e['summary'])}\par")
            if sec["kind"] == "education":
                out += [rf"{{\small {esc(text)}\par}}" for _, text in bullets_of(e)]
            else:
                out.append(itemize(bullets_of(e)))
    out += [r"\switchcolumn", r"\sidesection{Contact}",
            *(rf"{{\small {esc(person[k])}\par}}" for k in ("email", "phone", "location", "website"))]
    for sec in side:
        out.append(rf"\sidesection{{{esc(sec['title'])}}}")
        kind = sec["kind"]
        if kind == "skills":
            out += [rf"{{\small\textbf{{{esc(label)}}}\par {esc(details)}\par}}\vspace{{2pt}}"
                    for label, details in sec["items"]]
        elif kind == "list":
            out.append(r"{\small " + itemize([(0, x) for x in sec["items"]]) + "}")
        elif kind == "text":
            out.append(rf"{{\small {esc(sec['text'])}\par}}")
        else:
            out += [rf"{{\small\textbf{{{esc(p['title'])}}}\par {esc(', '.join(p['authors']))}\par "
                    rf"\textit{{{esc(p['venue'])}}}, {str(p['date'])[:4]}\par}}\vspace{{3pt}}" for p in sec["items"]]
    out += [r"\end{paracol}", r"\end{document}"]
    return "\n".join(out) + "\n", main + side


def word_header_table(person: dict, path: Path) -> list[dict]:
    """A Word resume with ONE bordered table per section whose first row is a bold header:
    work and leadership "Period | Employer | Role | Highlights", education "Period | Institution
    | Degree | Details", military "Period | Unit | Rank / role | Highlights", projects "Year |
    Project | Highlights", publications "Year | Title | Authors | Venue"; the highlights are
    List Bullet paragraphs inside the cell; skills, lists and the summary are paragraphs
    (Carlito, the Calibri metric clone). Exported with LibreOffice."""
    import docx
    from docx.shared import Cm, Pt

    document = docx.Document()
    core = document.core_properties
    core.author, core.title = person["name"], f"{person['name']} - CV"
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(1.6)
    section.top_margin = section.bottom_margin = Cm(1.5)
    width = section.page_width - section.left_margin - section.right_margin
    for style in ("Normal", "List Bullet", "Title", "Heading 1"):
        document.styles[style].font.name = "Carlito"
    document.styles["Normal"].font.size = Pt(10)
    document.styles["Normal"].paragraph_format.space_after = Pt(0)

    heads = {"work": ("Period", "Employer", "Role", "Highlights"),
             "leadership": ("Period", "Organisation", "Role", "Highlights"),
             "military": ("Period", "Unit", "Rank / role", "Highlights"),
             "education": ("Period", "Institution", "Degree", "Details"),
             "projects": ("Year", "Project", "Highlights"),
             "publications": ("Year", "Title", "Authors", "Venue")}
    shares = {4: (0.16, 0.22, 0.22, 0.40), 3: (0.12, 0.25, 0.63)}

    def table(kind: str, rows: list[list]):
        cols = heads[kind]
        t = document.add_table(rows=1 + len(rows), cols=len(cols))
        t.style, t.autofit = "Table Grid", False
        for i, share in enumerate(shares[len(cols)]):
            t.columns[i].width = int(width * share)
            for cell in t.columns[i].cells:
                cell.width = int(width * share)
        for cell, text in zip(t.rows[0].cells, cols, strict=True):
            cell.paragraphs[0].add_run(text).bold = True
        for r, values in enumerate(rows, start=1):
            for cell, value in zip(t.rows[r].cells, values, strict=True):
                if isinstance(value, list):  # bullets
                    for i, (_depth, text) in enumerate(value):
                        par = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
                        par.style = document.styles["List Bullet"]
                        par.add_run(text)
                else:
                    cell.paragraphs[0].add_run(value)
        document.add_paragraph()

    title = document.add_paragraph()
    run = title.add_run(person["name"])
    run.bold, run.font.size = True, Pt(20)
    document.add_paragraph(person["headline"])
    document.add_paragraph(f"{person['email']} · {person['phone']} · {person['location']} · {person['website']}")
    for sec in person["sections"]:
        kind = sec["kind"]
        document.add_heading(sec["title"], level=1)
        if kind in STRUCTURED:
            rows = []
            for e in sec["entries"]:
                items = ([(0, e["summary"])] if e.get("summary") else []) + bullets_of(e)
                when = date_range(e, "mon", " – ")
                if kind == "projects":
                    rows.append([when, e["name"], items])
                else:
                    place = e["organization"] + (f", {e['location']}" if e.get("location") else "")
                    rows.append([when, place, what(sec, e), items])
            table(kind, rows)
        elif kind == "skills":
            for label, details in sec["items"]:
                par = document.add_paragraph()
                par.add_run(f"{label}: ").bold = True
                par.add_run(details)
        elif kind == "list":
            for x in sec["items"]:
                document.add_paragraph(x, style="List Bullet")
        elif kind == "text":
            document.add_paragraph(sec["text"])
        elif kind == "publications":
            table(kind, [[str(p["date"])[:4], p["title"], ", ".join(p["authors"]), p["venue"]]
                         for p in sec["items"]])
    document.save(str(path))
    return person["sections"]


HELD_OUT_TEX = {"deedy_like": deedy, "ivy_like": ivy, "dates_first": dates_first, "modern_sans": modern,
                "timeline": timeline, "europass_like": europass, "centered": centered,
                "twoline_dates": twoline_dates, "title_paren": title_paren, "right_sidebar": right_sidebar}


# ---------------------------------------------------------------- driver
LAYOUTS = ("moderncv_classic", "moderncv_banking", "jake", "altacv_like", "awesome_like", "word",
           "deedy_like", "ivy_like", "dates_first", "word_table", "modern_sans",  # held out, then developed on
           "timeline", "europass_like", "word_bullets", "centered",  # second held-out set (session 8)
           "twoline_dates", "title_paren", "right_sidebar", "word_header_table")  # third held-out set (session 9)
WORD_LAYOUTS = {"word": word, "word_table": word_table, "word_bullets": word_bullets,
                "word_header_table": word_header_table}
PEOPLE = ("john_doe", "maya")


def main() -> None:
    """Write every source and truth file (see the module docstring)."""
    (HERE / "src").mkdir(exist_ok=True)
    (HERE / "truth").mkdir(exist_ok=True)
    for person_key in PEOPLE:
        person = load(person_key)
        for layout in LAYOUTS:
            stem = f"{layout}-{person_key}"
            skipped: list[str] = []
            if layout in WORD_LAYOUTS:
                source = f"src/{stem}.docx"
                sections = WORD_LAYOUTS[layout](person, HERE / source)
            else:
                if layout.startswith("moderncv"):
                    tex, sections = moderncv(person, layout.split("_")[1])
                elif layout == "jake":
                    tex, sections, skipped = jake(person, welcome=person_key == "john_doe")
                elif layout == "altacv_like":
                    tex, sections = altacv(person)
                elif layout in HELD_OUT_TEX:
                    tex, sections = HELD_OUT_TEX[layout](person)
                else:
                    tex, sections = awesome(person)
                source = f"src/{stem}.tex"
                (HERE / source).write_text(tex, encoding="utf-8")
            doc = truth(person, layout, source, f"pdf/{stem}.pdf", sections, skipped)
            (HERE / "truth" / f"{stem}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")
            print(f"wrote {source} and truth/{stem}.json")
    write_shared_truth()


def write_shared_truth() -> None:
    """Truth for the two RenderCV PDFs of John Doe in ``../shared/resumes`` (third-party files,
    never copied here): the same content, as RenderCV prints it: its "Welcome to RenderCV"
    section is about the document (skipped), and the year-only date of NeuralPrune is printed
    as "Jan 2021"."""
    person = load("john_doe")
    sections = yaml.safe_load(yaml.safe_dump(person["sections"]))
    for sec in sections:
        for e in sec.get("entries", []):
            if e.get("name") == "NeuralPrune":
                e["start"] = "2021-01"
    for theme in ("classic", "engineering"):
        stem = f"shared-john_doe_{theme}"
        doc = truth(person, f"rendercv_{theme}", "rendercv (third party)", f"resumes/john_doe_{theme}.pdf",
                    sections, ["Welcome to RenderCV"])
        doc["root"] = "shared"  # the pdf path is relative to ../shared, not to data/layouts
        (HERE / "truth" / f"{stem}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
        print(f"wrote truth/{stem}.json")


if __name__ == "__main__":
    main()
