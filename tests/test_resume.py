"""Resume ingestion: formats, cleaning, PII, recall against RenderCV ground truth, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_config
from pipeline.errors import ResumeError
from pipeline.resume.ingest import CATEGORIES, Resume, category_for, ingest
from pipeline.resume.pii import find_pii
from pipeline.resume.preview import format_preview

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE_MD = REPO / "data" / "resume" / "maya_okonkwo_lindqvist.md"
SAMPLE_PDF = SAMPLE_MD.with_suffix(".pdf")
RECALL_BAR = 0.9  # per field kind, John Doe PDFs vs their RenderCV YAML
SAMPLE_CONTACTS = ("maya.ok.lindqvist@example.com", "+46 70 123 45 67", "(415) 555-0142", "mayaokonkwo.dev",
                   "maya-okl", "linkedin.com", "@mayabuilds", "1428 Harbor View Lane", "98101")


def _norm(text: str) -> str:
    return re.sub(r"[^\w%+./]+", " ", text.lower()).strip()


def _check_invariants(resume: Resume) -> None:
    assert resume.facts
    ids = [f.id for f in resume.facts]
    assert len(ids) == len(set(ids))
    for fact in resume.facts:
        assert fact.category in CATEGORIES
        assert resume.text[fact.span[0]:fact.span[1]] == fact.text
        assert set(fact.fields) <= {"organization", "title", "start_date", "end_date", "location", "degree",
                                    "area", "gpa", "name", "summary"}
        for key in ("start_date", "end_date"):
            if key in fact.fields:
                assert re.fullmatch(r"(18|19|20)\d\d(-\d\d)?|present", fact.fields[key]), fact.fields
    assert find_pii(resume.text) == []


@pytest.fixture(scope="module")
def sample_md() -> Resume:
    return ingest(SAMPLE_MD)


@pytest.fixture(scope="module")
def sample_pdf() -> Resume:
    return ingest(SAMPLE_PDF)


@pytest.fixture
def cfg_estimate(tmp_path):
    """A config whose base model has no local tokenizer (token count falls back to an estimate)."""
    return load_config(REPO / "config.yaml", profile="cpu",
                       overrides={"model": {"base": str(tmp_path / "no-such-model")},
                                  "validation": {"context_token_warn": 50}})


# ---------------------------------------------------------------- the sample resume
def test_sample_markdown_covers_every_category(sample_md):
    _check_invariants(sample_md)
    assert sample_md.format == "markdown"
    assert sample_md.name == "Maya Okonkwo-Lindqvist"
    assert {f.category for f in sample_md.facts} == set(CATEGORIES)
    assert sample_md.skipped_sections == ()
    job = next(f for f in sample_md.facts if f.fields.get("organization") == "Northwind Robotics")
    assert job.fields["title"] == "Staff Machine Learning Engineer"
    assert (job.fields["start_date"], job.fields["end_date"]) == ("2021-03", "present")
    msc = next(f for f in sample_md.facts if f.category == "education")
    assert msc.fields["degree"] == "Master of Science" and msc.fields["gpa"] == "3.97/4.00"
    rec = next(f for f in sample_md.facts if f.category == "recommendations")
    assert rec.fields["name"] == "Daniel Hoffmann"


def test_sample_contacts_never_stored(sample_md, sample_pdf, cfg_estimate):
    for resume in (sample_md, sample_pdf):
        blobs = [resume.text, format_preview(cfg_estimate, resume)]
        blobs += [f.text + json.dumps(dict(f.fields)) for f in resume.facts]
        for secret in SAMPLE_CONTACTS:
            assert all(secret not in b for b in blobs), secret


def test_sample_numbers_survive(sample_md):
    for token in ("40%", "2M+", "340+", "3.97/4.00", "99.8%", "1,300+", "2021-03"):
        assert token in sample_md.text


def test_sample_pdf_agrees_with_markdown(sample_md, sample_pdf):
    _check_invariants(sample_pdf)
    assert sample_pdf.format == "pdf" and sample_pdf.name == sample_md.name
    md_texts = {_norm(f.text) for f in sample_md.facts}
    pdf_texts = {_norm(f.text) for f in sample_pdf.facts}
    agreement = len(md_texts & pdf_texts) / len(md_texts)
    assert agreement >= 0.95, sorted(md_texts - pdf_texts)
    md_fields = {(f.category, tuple(sorted(f.fields.items()))) for f in sample_md.facts}
    pdf_fields = {(f.category, tuple(sorted(f.fields.items()))) for f in sample_pdf.facts}
    assert len(md_fields & pdf_fields) / len(md_fields) >= 0.95
    assert "Page 1 of 2" not in sample_pdf.text and "Curriculum Vitae" not in sample_pdf.text


def test_sample_pdf_is_in_step_with_markdown(tmp_path):
    make = pytest.importorskip("scripts.make_sample_pdf", reason="reportlab (dev extra) not installed")
    out = make.make_pdf(SAMPLE_MD, tmp_path / "sample.pdf")
    assert out.read_bytes() == SAMPLE_PDF.read_bytes(), "run: python scripts/make_sample_pdf.py"


# ---------------------------------------------------------------- shared third-party resumes
def _truth(shared: Path) -> dict[str, set[str]]:
    """Ground truth read with plain yaml (independent of pipeline.resume.formats)."""
    cv = yaml.safe_load((shared / "resumes" / "john_doe_classic.rendercv.yaml").read_text(encoding="utf-8"))["cv"]
    exp, edu = cv["sections"]["experience"], cv["sections"]["education"]
    return {
        "employer": {e["company"] for e in exp},
        "position": {f"{e['company']}|{e['position']}" for e in exp},
        "institution": {e["institution"] for e in edu},
        "degree": {f"{e['institution']}|{e['degree']}|{e['area']}" for e in edu},
        "date": {f"{e.get('company') or e.get('institution')}|{e['start_date']}|{e['end_date']}"
                 for e in exp + edu},
    }


def _extracted(resume: Resume) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {k: set() for k in ("employer", "position", "institution", "degree", "date")}
    for f in resume.facts:
        org = f.fields.get("organization", "")
        if f.category == "work_experience":
            out["employer"].add(org)
            out["position"].add(f"{org}|{f.fields.get('title', '')}")
        if f.category == "education":
            out["institution"].add(org)
            out["degree"].add(f"{org}|{f.fields.get('degree', '')}|{f.fields.get('area', '')}")
        if f.category in {"work_experience", "education"}:
            out["date"].add(f"{org}|{f.fields.get('start_date', '')}|{f.fields.get('end_date', '')}")
    return out


def _recall(resume: Resume, truth: dict[str, set[str]]) -> dict[str, float]:
    got = _extracted(resume)
    return {kind: len(values & got[kind]) / len(values) for kind, values in truth.items()}


@pytest.mark.parametrize("name", ["john_doe_classic.pdf", "john_doe_engineering.pdf",
                                  "john_doe_classic.rendercv.yaml"])
def test_john_doe_recall(shared_dir, name, record_property):
    resume = ingest(shared_dir / "resumes" / name)
    _check_invariants(resume)
    recall = _recall(resume, _truth(shared_dir))
    for kind, value in recall.items():
        record_property(f"recall_{kind}", value)
    print(f"{name}: recall {recall}")
    assert min(recall.values()) >= RECALL_BAR, recall
    assert resume.skipped_sections == ("Welcome to RenderCV",)
    assert "RenderCV reads" not in resume.text
    assert "john.doe@email.com" not in resume.text


def test_rendercv_reader_matches_plain_yaml(shared_dir):
    resume = ingest(shared_dir / "resumes" / "john_doe_classic.rendercv.yaml")
    assert resume.format == "rendercv" and resume.name == "John Doe"
    assert _recall(resume, _truth(shared_dir)) == dict.fromkeys(_truth(shared_dir), 1.0)
    cats = {f.category for f in resume.facts}
    assert {"work_experience", "education", "projects", "achievements", "technical_skills"} <= cats
    assert "ICML 2022 main conference paper, cited 340+ times within two years" in resume.text


def test_json_resume_ingests_without_pii(shared_dir, cfg_estimate):
    path = shared_dir / "resumes" / "richard_hendriks.resume.json"
    raw = json.loads(path.read_text(encoding="utf-8"))["basics"]
    resume = ingest(path)
    _check_invariants(resume)
    assert resume.format == "json_resume" and resume.name == "Richard Hendriks"
    work = [f for f in resume.facts if f.category == "work_experience"]
    assert work[0].fields["organization"] == "Pied Piper" and work[0].fields["title"] == "CEO/President"
    assert {"education", "leadership", "achievements", "technical_skills", "recommendations",
            "projects", "character"} <= {f.category for f in resume.facts}
    secrets = [raw["email"], raw["phone"], raw["url"], "richardhendricks", raw["location"]["address"],
               "555-4321", "2712", "neutralthoughts", "dandymusicnl"]
    blobs = [resume.text, format_preview(cfg_estimate, resume)]
    blobs += [f.text + json.dumps(dict(f.fields)) for f in resume.facts]
    for secret in secrets:
        assert all(secret not in b for b in blobs), secret


# ---------------------------------------------------------------- cleaning
def test_text_cleaning(tmp_path):
    path = tmp_path / "cv.txt"
    path.write_text(
        "Ada Lovelace\nada@example.com \uf0e0 \uf095 +1 212 555 0100\n\nExperience\n"
        "Analytical Engine Company, Lead Programmer\nLondon, UK · 1842 – 1843\n"
        "• Wrote the ﬁrst published algorithm for the engine, with ﬂoating notes on Bernoulli num-\n"
        "bers and loops\n▪ Translated Menabrea's memoir, adding notes three times its length\n"
        "Page 1 of 1\n\nSkills\n\uf0b7 Mathematics: analysis, calculus\n"
        "Interests\n- Poetical science and music\n", encoding="utf-8")
    resume = ingest(path)
    _check_invariants(resume)
    assert resume.format == "text" and resume.name == "Ada Lovelace"
    assert "first published algorithm" in resume.text and "floating" in resume.text
    assert "Bernoulli numbers and loops" in resume.text
    assert "Page 1 of 1" not in resume.text and "\uf0e0" not in resume.text and "•" not in resume.text
    job = next(f for f in resume.facts if f.category == "work_experience")
    assert job.fields["organization"] == "Analytical Engine Company"
    assert job.fields["title"] == "Lead Programmer" and job.fields["start_date"] == "1842"
    assert {f.category for f in resume.facts} >= {"work_experience", "technical_skills", "character"}


def _pdf(path: Path, pages: list[list[tuple[float, float, str]]]) -> Path:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas", reason="reportlab (dev extra) not installed")
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    for page in pages:
        c.setFont("Helvetica", 10)
        for x, y, text in page:
            c.drawString(x, y, text)
        c.showPage()
    c.save()
    return path


def test_pdf_headers_footers_and_columns(tmp_path):
    def page(n: int, body: list[str], side: list[str]) -> list[tuple[float, float, str]]:
        rows = [(40, 800, "Grace Hopper - Resume")]
        rows += [(40, 760 - 14 * i, t) for i, t in enumerate(body)]  # main column, written first
        rows += [(400, 760 - 14 * i, t) for i, t in enumerate(side)]  # sidebar column
        return rows + [(260, 30, f"Page {n} of 2")]

    path = _pdf(tmp_path / "two_col.pdf", [
        page(1, ["Grace Hopper", "Experience", "US Navy Reserve, Rear Admiral", "1943 – 1986",
                 "• Led the COBOL standardisation effort", "• Popularised the term debugging"],
             ["Skills", "Languages: COBOL, FLOW-MATIC", "Compilers: A-0"]),
        page(2, ["Education", "Yale University, PhD in Mathematics", "1930 – 1934",
                 "• Thesis on irreducibility criteria"],
             ["Awards", "• National Medal of Technology (1991)"]),
    ])
    resume = ingest(path)
    _check_invariants(resume)
    assert "Resume" not in resume.text.replace("Grace Hopper", "") and "Page" not in resume.text
    job = [f for f in resume.facts if f.category == "work_experience"]
    assert job[0].fields["organization"] == "US Navy Reserve" and job[0].fields["title"] == "Rear Admiral"
    assert [f.text for f in job[1:]] == ["Led the COBOL standardisation effort", "Popularised the term debugging"]
    assert [f.text for f in resume.facts if f.category == "technical_skills"] == [
        "Languages: COBOL, FLOW-MATIC", "Compilers: A-0"]
    edu = next(f for f in resume.facts if f.category == "education")
    assert (edu.fields["organization"], edu.fields["degree"], edu.fields["area"]) == \
        ("Yale University", "PhD", "Mathematics")


@pytest.mark.parametrize("title, category", [
    ("Professional Experience", "work_experience"), ("Employment History", "work_experience"),
    ("Technologies", "technical_skills"), ("Volunteer Experience", "leadership"),
    ("Honors & Awards", "achievements"), ("Publications", "achievements"), ("About Me", "character"),
    ("Military Service", "military"), ("Testimonials", "recommendations"), ("Academic Background", "education"),
    ("Side Projects", "projects"), ("Welcome to RenderCV", None),
])
def test_category_for(title, category):
    assert category_for(title) == category


def test_document_sections_are_skipped_by_rule(tmp_path):
    path = tmp_path / "cv.md"
    path.write_text("# Kim Park\n\n## Using this template\nThis CV template renders a PDF; each section "
                    "holds entries.\n\n## Hobbies and Things\nClimbs granite in Yosemite every spring.\n\n"
                    "## Skills\n- Go, Rust\n- SQL\n", encoding="utf-8")
    resume = ingest(path)
    assert resume.skipped_sections == ("Using this template",)
    assert "template" not in resume.text
    assert any(f.text.startswith("Climbs granite") and f.category == "character" for f in resume.facts)


# ---------------------------------------------------------------- preview
def test_preview_estimate_and_warning(sample_md, cfg_estimate):
    out = format_preview(cfg_estimate, sample_md)
    assert "## Experience  [work_experience" in out and "work_experience-001" in out
    assert "estimate: 1.3 per word" in out
    assert re.search(r"^WARNING: .*context_token_warn=50", out, re.MULTILINE)


def test_preview_counts_with_embedded_tokenizer(sample_md):
    cfg = load_config(REPO / "config.yaml", profile="cpu")
    assert cfg.model.base == "embedded"
    out = format_preview(cfg, sample_md)
    m = re.search(r"context: (\d+) tokens \(base tokenizer of embedded\)", out)
    assert m and 500 < int(m.group(1)) < cfg.validation.context_token_warn
    assert "WARNING" not in out


def test_cli_preview(capsys):
    from pipeline.__main__ import main

    assert main(["preview", "--config", str(REPO / "config.yaml"), "--profile", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Maya Okonkwo-Lindqvist" in out and "military-001" in out


# ---------------------------------------------------------------- bad input
def _encrypted_pdf(tmp_path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(SAMPLE_PDF))
    writer.encrypt("secret", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _image_only_pdf(tmp_path: Path) -> Path:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas", reason="reportlab (dev extra) not installed")
    from PIL import Image

    img = tmp_path / "scan.png"
    Image.new("RGB", (200, 100), "white").save(img)
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.drawImage(str(img), 50, 500, 400, 200)
    c.showPage()
    c.save()
    return path


_BAD = {
    "missing": (lambda p: p / "nope.pdf", "not found"),
    "extension": (lambda p: _write(p / "cv.odt", b"PK\x03\x04"), "unsupported resume format"),
    "docx": (lambda p: _write(p / "cv.docx", b"PK\x03\x04"), "not a readable .docx"),
    "empty": (lambda p: _write(p / "cv.md", b"  \n"), "empty"),
    "corrupt_pdf": (lambda p: _write(p / "cv.pdf", SAMPLE_PDF.read_bytes()[:700]), "corrupt"),
    "garbage_pdf": (lambda p: _write(p / "cv.pdf", b"this is not a pdf at all"), "not a PDF (no %PDF- header; it looks like text)"),
    "encrypted_pdf": (_encrypted_pdf, "encrypted"),
    "image_only_pdf": (_image_only_pdf, "no text layer"),
    "latin1_text": (lambda p: _write(p / "cv.txt", "Résumé of José\nExperience\n".encode("latin-1")),
                    "not UTF-8"),
    "malformed_json": (lambda p: _write(p / "cv.json", b'{"basics": {"name": "A"'), "malformed JSON"),
    "not_json_resume": (lambda p: _write(p / "cv.json", b'{"foo": 1}'), "not a JSON Resume"),
    "json_wrong_type": (lambda p: _write(p / "cv.json", b'{"basics": {}, "work": "Hooli"}'), "'work' must be"),
    "malformed_yaml": (lambda p: _write(p / "cv.yaml", b"cv:\n  name: [unclosed\n"), "malformed YAML"),
    "yaml_without_cv": (lambda p: _write(p / "cv.yaml", b"name: A\n"), "not a RenderCV file"),
    "yaml_bad_sections": (lambda p: _write(p / "cv.yaml", b"cv:\n  name: A\n  sections: [1, 2]\n"),
                          "cv.sections"),
    "too_few_facts": (lambda p: _write(p / "cv.md", b"# Jo Bloggs\n\n## Skills\n- Python\n"), "fact(s) found"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_input_one_clear_line(tmp_path, case):
    make, needle = _BAD[case]
    path = make(tmp_path)
    with pytest.raises(ResumeError) as err:
        ingest(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and needle in message
    assert ";" in message  # problem; fix


def test_bad_input_cli_exit_code(tmp_path, capsys):
    from pipeline.__main__ import main

    cfg = tmp_path / "config.yaml"
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["resume_path"] = str(tmp_path / "missing.md")
    cfg.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["preview", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.md" in err[0] and "not found" in err[0]


def test_unknown_section_titles_are_mapped_by_their_content(tmp_path):
    """A title no keyword knows ("Toolbox", "Distinctions") gets its category from its lines;
    prose under an unknown title stays ``character``."""
    from pipeline.resume.ingest import category_by_content, ingest

    sample = Path(__file__).resolve().parents[1] / "data/resume/maya_okonkwo_lindqvist.md"
    extra = ("\n## Toolbox\n\n- Languages: Python, Go, Rust, SQL\n- ML: PyTorch, JAX, ONNX Runtime, Triton\n"
             "\n## Distinctions\n\n- Best Paper Award, Interspeech 2019\n- Wallenberg scholarship for graduate study\n"
             "\n## Odds and ends\n\nShe once rowed across the Kattegat and still talks about it.\n")
    resume = tmp_path / "r.md"
    resume.write_text(sample.read_text(encoding="utf-8") + extra, encoding="utf-8")
    by_section = {}
    for fact in ingest(resume).facts:
        by_section.setdefault(fact.section, set()).add(fact.category)
    assert by_section["Toolbox"] == {"technical_skills"}
    assert by_section["Distinctions"] == {"achievements"}
    assert by_section["Odds and ends"] == {"character"}
    assert category_by_content([]) is None
    assert category_by_content(["Led a team of six engineers.", "Shipped the search service."]) is None


def test_markdown_emphasised_meta_line_gives_dates_not_a_bullet(tmp_path):
    """"*Portland, OR · Apr 2020 – Present*" under "### Org — Title" (a new user's file): the
    emphasis is Markdown, not text, so the line is the entry's location and dates."""
    path = tmp_path / "cv.md"
    path.write_text("# Ilse Marchetti-Obi\n\n## Work History\n\n### Ferncliff Logistics — Senior Data Engineer\n"
                    "*Portland, OR · Apr 2020 – Present*\n\n- Migrated 140 nightly batch jobs.\n- Led a team of 4.\n\n"
                    "### Bramble & Finch Insurance — Data Engineer\n_Hartford, CT · Sep 2017 – Mar 2020_\n\n"
                    "- Built a claims pipeline.\n", encoding="utf-8")
    resume = ingest(path)
    jobs = {f.fields["organization"]: f.fields for f in resume.facts if f.category == "work_experience"}
    assert (jobs["Ferncliff Logistics"]["start_date"], jobs["Ferncliff Logistics"]["end_date"]) == ("2020-04", "present")
    assert jobs["Ferncliff Logistics"]["location"] == "Portland, OR"
    assert (jobs["Bramble & Finch Insurance"]["start_date"], jobs["Bramble & Finch Insurance"]["end_date"]) == \
        ("2017-09", "2020-03")
    bullets = [f.text for f in resume.facts if f.category == "work_experience" and "Portland" in f.text
               and "Ferncliff" not in f.text]
    assert not bullets, bullets


def test_a_text_file_named_pdf_is_named_as_not_a_pdf(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("Maya Lind\nExperience\n", encoding="utf-8")
    with pytest.raises(ResumeError, match=r"notes.pdf: not a PDF \(no %PDF- header; it looks like text\)"):
        ingest(path)


def test_markdown_project_header_keeps_its_description(tmp_path):
    path = tmp_path / "cv.md"
    path.write_text("# Henrik Solberg\n\n## Projects\n\n### Tidewatch · open-source tide forecasting library in Python\n"
                    "*2020 – 2021*\n\n- Predicts harbour water levels.\n", encoding="utf-8")
    facts = [f for f in ingest(path).facts if f.category == "projects"]
    assert {f.fields["name"] for f in facts} == {"Tidewatch"}
    assert "open-source tide forecasting library in Python" in [f.text for f in facts]


def test_plain_text_promotion_two_roles_under_one_employer(tmp_path):
    """"Employer, City" over "Title, dates" twice (a promotion): both roles carry the employer."""
    path = tmp_path / "cv.txt"
    path.write_text("KAVYA RAGHUNATHAN\n\nEXPERIENCE\n\nSahyadri Infrastructure Ltd., Pune\n"
                    "Senior Structural Engineer, Apr 2021 - Present\n* Lead a team of 6 engineers.\n\n"
                    "Structural Engineer, Jul 2018 - Mar 2021\n* Designed foundations for 3 warehouses.\n\n"
                    "Deccan Metro Rail Consultants, Mumbai\nSite Engineer, Jun 2015 - Jun 2018\n"
                    "* Supervised 2.4 km of viaduct.\n", encoding="utf-8")
    jobs = sorted((f.fields.get("organization"), f.fields.get("title"), f.fields.get("start_date"))
                  for f in ingest(path).facts if f.category == "work_experience" and f.text.startswith(("Senior", "Structural", "Site")))
    assert jobs == [("Deccan Metro Rail Consultants", "Site Engineer", "2015-06"),
                    ("Sahyadri Infrastructure Ltd.", "Senior Structural Engineer", "2021-04"),
                    ("Sahyadri Infrastructure Ltd.", "Structural Engineer", "2018-07")], jobs
