"""Dataset stage on the sample resume: grounding, split, refusals, knobs, eval sets, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import metrics
from pipeline.config import load_config
from pipeline.dataset import build as dataset
from pipeline.dataset import eval_sets
from pipeline.dataset.filters import grounding_problems, normalize_question, split_by_group
from pipeline.dataset.samples import Sample, enabled_categories
from pipeline.errors import DatasetError, PipelineError

REPO = Path(__file__).resolve().parents[1]
SMALL = {"dataset": {"samples_per_category": 24}}
ALL_CATEGORIES = {"dataset": {"samples_per_category": 24, "include_military": True, "has_recommendations": True}}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def _build(write_config, overrides=None, **kwargs):
    cfg = load_config(write_config(_merge(SMALL, overrides or {})))
    return cfg, dataset.build(cfg, **kwargs)


def _rows(art, split: str) -> list[dict]:
    return [json.loads(line) for line in (art.path / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def _all_rows(art) -> list[dict]:
    return _rows(art, "train") + _rows(art, "validation")


@pytest.fixture(scope="module")
def full_build(tmp_path_factory):
    """One dataset with every category switched on, built once for the read-only checks."""
    import yaml

    tmp = tmp_path_factory.mktemp("ds")
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["resume_path"] = str(REPO / raw["resume_path"])
    raw["dataset_output"] = str(tmp / "dataset")
    raw["evaluation"]["eval_data_dir"] = str(tmp / "eval")
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    cfg = load_config(path, profile="cpu", overrides=ALL_CATEGORIES)
    return cfg, dataset.build(cfg)


def test_grounded_split_and_counts(full_build):
    cfg, art = full_build
    n = art.numbers
    assert n["grounding_rate"] == 1.0 and "grounding" not in n["rejects"]
    train, val = _rows(art, "train"), _rows(art, "validation")
    assert val, "validation must hold unseen phrasings"
    assert not {normalize_question(r["question"]) for r in train} & {normalize_question(r["question"]) for r in val}
    assert {r["group"] for r in val} <= {r["group"] for r in train}
    counts = Counter(r["category"] for r in train + val)
    assert n["counts_per_category"] == dict(counts)
    assert set(counts) == {*enabled_categories(cfg), "refusal"}
    assert all(v <= 24 for c, v in counts.items() if c != "refusal")
    assert n["shortfall"]["work_experience"] == 0 and n["shortfall"]["achievements"] == 24 - counts["achievements"]
    for r in train + val:
        assert grounding_problems(r["answer"], (REPO / cfg.resume_path).read_text(encoding="utf-8"),
                                  [cfg.person_full_name]) == [] or r["behavior"] == "refuse"
        assert r["fact_id"] or r["behavior"] == "refuse"
        assert r["template"] and r["group"]
        assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
        assert r["messages"][0]["content"] == cfg.system_prompt
        assert metrics.length_compliant(r["answer"], cfg.generation_limits.max_answer_sentences,
                                        cfg.generation_limits.max_answer_words)


def test_refusals_and_metadata(full_build):
    cfg, art = full_build
    rows = _all_rows(art)
    refusals = [r for r in rows if r["behavior"] == "refuse"]
    assert abs(art.numbers["refusal_share"] - cfg.dataset.refusal_share) < 0.02
    assert len({r["answer"] for r in refusals}) == 1
    assert metrics.is_refusal(refusals[0]["answer"], cfg.evaluation.refusal_markers)
    kinds = Counter(r["template"].split(".")[1] for r in refusals)
    assert set(kinds) == {"ood", "injection", "pii", "false_premise"}
    meta = json.loads((art.path / "metadata.json").read_text(encoding="utf-8"))
    assert meta["profile"] == "cpu" and meta["grounding_rate"] == 1.0
    assert meta["config"]["dataset"]["samples_per_category"] == 24
    assert meta["resume"]["sha256"] and meta["shortfall"]["refusal"] == 0


def test_dataset_dict_loads(full_build):
    from datasets import load_from_disk

    _, art = full_build
    dd = load_from_disk(str(art.path / "dataset_dict"))
    assert set(dd) == {"train", "validation"}
    assert dd["train"].num_rows == art.numbers["train"] and dd["validation"].num_rows == art.numbers["validation"]
    assert {"messages", "id", "fact_id", "category", "template", "question", "answer", "group", "behavior"} \
        <= set(dd["train"].column_names)


def test_deterministic_for_a_seed(write_config):
    _, first = _build(write_config)
    files = {n: (first.path / n).read_bytes() for n in ("train.jsonl", "validation.jsonl", "metadata.json")}
    _, again = _build(write_config, force=True)
    assert not again.reused
    assert files == {n: (again.path / n).read_bytes() for n in files}
    _, other = _build(write_config, {"dataset": {"seed": 7}})
    assert other.path != first.path
    assert (other.path / "train.jsonl").read_bytes() != files["train.jsonl"]


def test_cache_reuses_the_artifact(write_config):
    _, first = _build(write_config)
    _, second = _build(write_config)
    assert second.reused and second.path == first.path


def test_latest_follows_the_last_run_built_or_reused(write_config):
    _, first = _build(write_config)
    _, other = _build(write_config, {"dataset": {"seed": 7}})
    latest = first.path.parent / "latest"
    assert latest.resolve() == other.path.resolve()
    _, again = _build(write_config)  # back to the first config: a cache hit
    assert again.reused and latest.resolve() == first.path.resolve()


@pytest.mark.parametrize("knob, low, high, measure", [
    ("variations_per_question", 1, 3, lambda a: a.numbers["total"]),
    ("samples_per_category", 8, 24, lambda a: a.numbers["counts_per_category"]["work_experience"]),
    ("train_split", 0.5, 0.95, lambda a: -a.numbers["validation"]),
    ("refusal_share", 0.0, 0.3, lambda a: a.numbers["counts_per_category"].get("refusal", 0)),
    ("noisy_question_share", 0.0, 0.5, lambda a: a.numbers["noisy_questions"]),
])
def test_dataset_knobs_have_effect(write_config, knob, low, high, measure):
    _, a = _build(write_config, {"dataset": {knob: low}})
    _, b = _build(write_config, {"dataset": {knob: high}})
    assert measure(a) < measure(b)
    if knob == "samples_per_category":
        assert max(v for c, v in a.numbers["counts_per_category"].items() if c != "refusal") <= 8
    if knob == "noisy_question_share":
        noisy = [r for r in _rows(b, "train") if r["template"].endswith(dataset.NOISE_SUFFIX)]
        assert a.numbers["noisy_questions"] == 0 and len(noisy) == b.numbers["noisy_questions"]
        assert abs(len(noisy) - 0.5 * b.numbers["train"]) <= 0.05 * b.numbers["train"]
        clean = {r["id"]: r for r in _rows(a, "train")}
        assert all(r["messages"][1]["content"] == r["question"] for r in noisy)
        assert not any(r["template"].endswith(dataset.NOISE_SUFFIX) for r in _rows(b, "validation"))
        assert {(r["answer"], r["group"]) for r in _rows(b, "train")} <= {(r["answer"], r["group"])
                                                                         for r in clean.values()}
    if knob == "refusal_share":
        assert abs(b.numbers["refusal_share"] - 0.3) < 0.02 and a.numbers["refusal_share"] == 0


@pytest.mark.parametrize("knob, category", [("include_military", "military"),
                                            ("has_recommendations", "recommendations")])
def test_optional_categories(write_config, knob, category):
    _, off = _build(write_config, {"dataset": {knob: False}})
    _, on = _build(write_config, {"dataset": {knob: True}})
    assert category not in off.numbers["counts_per_category"]
    assert on.numbers["counts_per_category"][category] > 0


def test_max_answer_sentences_filter(write_config, tmp_path):
    """A two-sentence project description gives a two-sentence answer; a limit of 1 rejects it."""
    text = (REPO / "data/resume/maya_okonkwo_lindqvist.md").read_text(encoding="utf-8").replace(
        "- Open-source tide forecasting library combining harmonic analysis with a small transformer; 1,100+ GitHub stars.",
        "- Open-source tide forecasting library combining harmonic analysis with a small transformer. "
        "It has 1,100+ GitHub stars.")
    resume = tmp_path / "two_sentences.md"
    resume.write_text(text, encoding="utf-8")
    _, loose = _build(write_config, {"resume_path": str(resume)})
    assert not loose.numbers["rejects"].get("answer_max_sentences")
    _, strict = _build(write_config, {"resume_path": str(resume), "generation_limits": {"max_answer_sentences": 1}})
    assert strict.numbers["rejects"]["answer_max_sentences"] > 0
    assert all(metrics.count_sentences(r["answer"]) <= 1 for r in _all_rows(strict))


@pytest.mark.parametrize("limit, value, reject", [
    ("max_answer_words", 14, "answer_max_words"),
    ("max_question_words", 6, "question_max_words"),
    ("min_question_length", 40, "question_min_length"),
    ("min_answer_length", 90, "answer_min_length"),
    ("answer_max_tokens", 20, "answer_max_tokens"),
    ("question_max_tokens", 9, "question_max_tokens"),
])
def test_generation_limits_filter_and_count(write_config, limit, value, reject):
    cfg, art = _build(write_config, {"generation_limits": {limit: value}})
    assert art.numbers["rejects"][reject] > 0
    lim = cfg.generation_limits
    for r in _all_rows(art):
        assert metrics.count_words(r["answer"]) <= lim.max_answer_words
        assert metrics.count_sentences(r["answer"]) <= lim.max_answer_sentences
        assert metrics.count_words(r["question"]) <= lim.max_question_words
        assert len(r["question"]) >= lim.min_question_length and len(r["answer"]) >= lim.min_answer_length


def test_eval_sets_bootstrap_and_keep_edits(write_config):
    cfg, art = _build(write_config)
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    assert set(art.numbers["eval_sets"]) == set(eval_sets.FILES)
    trained = {normalize_question(r["question"]) for r in _all_rows(art)}
    for name in eval_sets.FILES:
        cases = [json.loads(x) for x in (folder / name).read_text(encoding="utf-8").splitlines()]
        assert len(cases) >= 20 and len({c["id"] for c in cases}) == len(cases)
        assert not {normalize_question(c["question"]) for c in cases} & trained
        for c in cases:
            keywords = [t[3:] for t in c["tags"] if t.startswith("kw:")]
            assert metrics.keyword_coverage(c["reference_answer"], keywords) == 1.0
            assert (c["expected_behavior"] == "refuse") == metrics.is_refusal(
                c["reference_answer"], cfg.evaluation.refusal_markers)
    golden = [json.loads(x) for x in (folder / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(c["expected_behavior"] == "answer" and any(t.startswith("kw:") for t in c["tags"]) for c in golden)
    adversarial = (folder / "adversarial.jsonl").read_text(encoding="utf-8")
    assert '"refuse"' in adversarial and '"answer"' in adversarial

    edited = '{"id": "mine-1", "category": "x", "question": "Q?", "reference_answer": "A.", ' \
             '"expected_behavior": "answer", "tags": []}\n'
    (folder / "golden.jsonl").write_text(edited, encoding="utf-8")
    (folder / "ood.jsonl").write_text("", encoding="utf-8")
    _, again = _build(write_config)
    assert (folder / "golden.jsonl").read_text(encoding="utf-8") == edited
    assert again.numbers["eval_sets"]["golden.jsonl"].startswith("kept")
    assert again.numbers["eval_sets"]["ood.jsonl"].startswith("written")
    _, forced = _build(write_config, overwrite_eval_sets=True)
    assert (folder / "golden.jsonl").read_text(encoding="utf-8") != edited
    assert forced.numbers["eval_sets"]["golden.jsonl"].startswith("written")

    (folder / "golden.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="golden.jsonl:1"):
        _build(write_config)


def test_committed_eval_sets_are_valid():
    for name in eval_sets.FILES:
        path = REPO / "data" / "eval" / name
        assert eval_sets.validate(path) >= 20


_THIN = """# Sam Example

## Experience

### Engineer — Acme Widgets
Springfield · 2020-01 – present

- Built widgets for 12 customers.
"""


def _resume_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "resume.md"
    path.write_text(text, encoding="utf-8")
    return path


def _no_dataset_left(cfg) -> bool:
    root = cfg.path(cfg.dataset_output)
    return not root.exists() or not [p for p in root.iterdir() if p.name not in (".locks", ".work")]


def test_too_few_facts_raises_and_leaves_nothing(write_config, tmp_path):
    cfg = load_config(write_config({"resume_path": str(_resume_file(tmp_path, _THIN))}))
    with pytest.raises(DatasetError, match=r"resume\.md.*facts"):
        dataset.build(cfg)
    assert _no_dataset_left(cfg)
    assert not (cfg.path(cfg.evaluation.eval_data_dir) / "golden.jsonl").exists()


def test_missing_category_names_section_and_fix(write_config, tmp_path):
    text = (REPO / "data/resume/maya_okonkwo_lindqvist.md").read_text(encoding="utf-8")
    no_military = text.split("## Military Service")[0] + "## Recommendations" + text.split("## Recommendations")[1]
    cfg = load_config(write_config({"resume_path": str(_resume_file(tmp_path, no_military)),
                                    "dataset": {"include_military": True}}))
    with pytest.raises(DatasetError, match="military.*include_military: false") as exc:
        dataset.build(cfg)
    assert "resume.md" in str(exc.value)
    assert _no_dataset_left(cfg)


def test_unreadable_resume_is_a_clean_error(write_config, tmp_path):
    cfg = load_config(write_config({"resume_path": str(_resume_file(tmp_path, ""))}))
    with pytest.raises(PipelineError):
        dataset.build(cfg)
    assert _no_dataset_left(cfg)


def test_refusal_answer_must_hold_a_marker(write_config):
    cfg = load_config(write_config({"dataset": {"refusal_answer": "Let us talk about {person_name}."}}))
    with pytest.raises(DatasetError, match="refusal_answer"):
        dataset.build(cfg)


def test_backend_dispatch(write_config):
    from pipeline.dataset import llm as dataset_llm
    from pipeline.dataset import template as dataset_template

    cfg = load_config(write_config())
    assert dataset._backend(cfg) is dataset_template.generate
    llm = load_config(write_config({"dataset": {"backend": "llm"}}))
    assert dataset._backend(llm) is dataset_llm.generate


def test_template_backend_on_constructed_facts(write_config, ada_resume):
    """Facts built by hand (no parser): one canonical answer per group, phrasings distinct."""
    from pipeline.dataset import template as dataset_template

    cfg = load_config(write_config({"person_name": "Ada", "person_full_name": "Ada Byron"}))
    resume, text = ada_resume, ada_resume.text
    result = dataset_template.generate(cfg, resume, Path("."))
    by_group: dict[str, set[str]] = {}
    for s in result.samples:
        by_group.setdefault(s.group, set()).add(s.answer)
        assert grounding_problems(s.answer, text, ["Ada Byron"]) == []
    assert all(len(v) == 1 for v in by_group.values())
    assert "Ada worked at Babbage Engines as Analyst from 1842 to 1843." in {s.answer for s in result.samples}
    questions = [normalize_question(s.question) for s in result.samples]
    assert len(questions) == len(set(questions))


def test_grounding_accepts_inflections_but_not_new_words():
    text = "Leads a team of 6; improves ranking models; builds tools in Python."
    assert grounding_problems("Maya improved ranking and was leading the team.", text, ["Maya"]) == []
    assert grounding_problems("Maya improved Java tooling.", text, ["Maya"]) == ["java"]  # tooling ~ tools
    assert grounding_problems("Maya wrote compilers.", text, ["Maya"]) == ["compilers"]
    # same Snowball stem, but a different word: derivation is not inflection
    assert grounding_problems("Maya was a manager.", "Led management of 6 teams.", ["Maya"]) == ["manager"]
    assert grounding_problems("Maya did an experiment.", "9 years of experience.", ["Maya"]) == ["experiment"]
    assert grounding_problems("Maya leads 7 teams.", text, ["Maya"]) == ["7"]  # numbers: no stem leniency


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(codec="ascii", categories=("L", "N", "P", "Zs")),
                          min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=30),
       st.floats(0, 1), st.integers(0, 10_000))
def test_question_noise_property(questions, share, seed):
    samples = [Sample(q, f"answer {i}.", "work_experience", f"f{i}", "t", f"g{i}") for i, q in enumerate(questions)]
    avoid = {normalize_question(q) for q in questions[: len(questions) // 3]}
    out = dataset.add_question_noise(samples, share, seed, avoid=avoid, fits=lambda q: len(q) <= 45)
    assert len(out) == len(samples)
    changed = [o for s, o in zip(samples, out, strict=True) if o is not s]
    assert len(changed) <= round(share * len(samples))
    for s, o in zip(samples, out, strict=True):
        assert (o.answer, o.group, o.fact_id, o.category) == (s.answer, s.group, s.fact_id, s.category)
        if o is not s:
            assert o.template == s.template + dataset.NOISE_SUFFIX and o.question != s.question
            assert normalize_question(o.question) not in avoid and len(o.question) <= 45
    assert dataset.add_question_noise(samples, share, seed, avoid=avoid, fits=lambda q: len(q) <= 45) == out
    assert dataset.add_question_noise(samples, 0.0, seed) == samples


def test_question_noise_names_the_person_otherwise_in_answers_and_refusals_alike():
    samples = [Sample(f"What did Maya do at Org {i}?", "a.", "work_experience", f"f{i}", "t", f"g{i}")
               for i in range(100)]
    samples += [Sample(f"What is Maya's salary {i}?", "I don't know.", "refusal", "", "t", f"r{i}", "refuse")
                for i in range(100)]
    out = dataset.add_question_noise(samples, 1.0, 88, names=("Maya", "Maya Okonkwo-Lindqvist"))
    for behavior in ("answer", "refuse"):
        qs = [o.question for o in out if o.behavior == behavior]
        assert any("Maya Okonkwo-Lindqvist" in q for q in qs) and any("the candidate" in q for q in qs)
    assert {(o.answer, o.group) for o in out} == {(s.answer, s.group) for s in samples}
    assert not any("the candidate" in o.question for o in dataset.add_question_noise(samples, 1.0, 88))


def test_question_noise_keeps_symbols_of_names():
    """Lower-case noise strips punctuation, not the symbols that are part of a name or number."""
    questions = ["Does Maya know C++?", "Has Maya used C#?", "Was Maya's GPA 3.97?", "Who is Dr. Lee?"]
    samples = [Sample(q, "a.", "technical_skills", f"f{i}", "t", f"g{i}") for i, q in enumerate(questions)]
    lowered = set()
    for seed in range(200):
        for s, o in zip(samples, dataset.add_question_noise(samples, 1.0, seed), strict=True):
            if o.question == s.question.lower().replace("?", "").replace("'", "").replace("dr.", "dr"):
                lowered.add(o.question)
    assert lowered == {"does maya know c++", "has maya used c#", "was mayas gpa 3.97", "who is dr lee"}


def test_refusal_pools_keep_train_and_eval_apart():
    """Eval refusals test generalisation: no slot value or phrasing is shared with training."""
    from pipeline.dataset.template import load_phrasings

    pools = load_phrasings()["refusals"]
    for slot, values in pools["slots"]["eval"].items():
        shared = set(values) & set(pools["slots"]["train"].get(slot, ()))
        assert not shared, f"slot {slot}: {shared} in both pools"
    eval_values = {v for values in pools["slots"]["eval"].values() for v in values}
    train_values = {v for values in pools["slots"]["train"].values() for v in values}
    assert not eval_values & train_values
    for kind in pools["train"]:
        train = {p for fam in pools["train"][kind] for p in fam}
        assert not train & {p for fam in pools["eval"][kind] for p in fam}
    assert abs(sum(pools["weights"].values()) - 1) < 1e-9


def test_false_premise_fillers_are_not_in_the_resume(full_build):
    cfg, art = full_build
    resume = f" {metrics.normalize((REPO / cfg.resume_path).read_text(encoding='utf-8'))} "
    premises = [r for r in _all_rows(art) if r["template"].startswith("refusal.false_premise")]
    assert len(premises) >= 10
    from pipeline.dataset.template import load_phrasings

    fake = [v for s in ("fake_org", "fake_school", "fake_skill", "fake_project")
            for v in load_phrasings()["refusals"]["slots"]["train"][s]]
    used = [v for v in fake if any(v in r["question"] for r in premises)]
    assert used and not [v for v in used if f" {metrics.normalize(v)} " in resume]


def test_grounding_flags_invented_facts():
    text = "Worked at Acme Corp 2019–2021 with Tomás Alvarez; GPA 3.97/4.00; 2M+ users."
    assert grounding_problems("Maya worked at Acme Corp from 2019 to 2021.", text, ["Maya"]) == []
    assert grounding_problems("maya worked with TOMAS ALVAREZ at acme corp.", text, ["Maya"]) == []
    assert grounding_problems("Her GPA was 3.97/4.00 and she had 2M+ users.", text) == []
    assert grounding_problems("Maya worked at Google in 2019.", text, ["Maya"]) == ["google"]
    assert grounding_problems("Maya worked at Acme Corp in 2023.", text, ["Maya"]) == ["2023"]
    assert grounding_problems("Her GPA was 3.9.", text) == ["3.9"]


def test_cli_prints_the_summary(write_config, capsys):
    from pipeline.__main__ import main

    path = write_config(SMALL)
    assert main(["dataset", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "grounding rate 1.0" in out and "refusal share" in out and "work_experience=" in out


_questions = st.sampled_from(["Where?", "where", "When did it start?", "Who", "What is X?", "what is x",
                              "How long?", "Why not?", "Which one?"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), _questions), min_size=1, max_size=40),
       st.floats(0.05, 0.95), st.integers(0, 10_000))
def test_split_property(items, train_split, seed):
    samples = [Sample(q, "answer.", "work_experience", f"f{g}", "t", f"g{g}") for g, q in items]
    train, val = split_by_group(samples, train_split, seed)
    assert len(train) + len(val) == len(samples)
    assert not {normalize_question(s.question) for s in train} & {normalize_question(s.question) for s in val}
    assert {s.group for s in val} <= {s.group for s in train}


def test_empty_validation_split_is_a_clean_error(write_config):
    cfg = load_config(write_config({"dataset": {"variations_per_question": 1, "samples_per_category": 3,
                                                          "refusal_share": 0.0}}))
    with pytest.raises(DatasetError, match="empty validation split; raise dataset.samples_per_category"):
        dataset.build(cfg)
    assert _no_dataset_left(cfg)


def _without(text: str, *sections: str) -> str:
    """The resume text with whole ``## Section`` blocks removed."""
    blocks = text.split("\n## ")
    return "\n## ".join(b for b in blocks if not any(b.startswith(s) for s in sections))


def test_missing_core_categories_listed_in_one_message(write_config, tmp_path):
    text = (REPO / "data/resume/maya_okonkwo_lindqvist.md").read_text(encoding="utf-8")
    cfg = load_config(write_config({"resume_path": str(_resume_file(
        tmp_path, _without(text, "Education", "Technical Skills")))}))
    with pytest.raises(DatasetError) as exc:
        dataset.build(cfg)
    assert "'education'" in str(exc.value) and "'technical_skills'" in str(exc.value)
    assert _no_dataset_left(cfg)


def test_missing_optional_category_is_a_recorded_shortfall(write_config, tmp_path):
    text = (REPO / "data/resume/maya_okonkwo_lindqvist.md").read_text(encoding="utf-8")
    cfg = load_config(write_config({"resume_path": str(_resume_file(tmp_path, _without(text, "Leadership"))),
                                    "dataset": {"samples_per_category": 12}}))
    art = dataset.build(cfg)
    assert art.numbers["counts_per_category"].get("leadership", 0) == 0
    assert art.numbers["shortfall"]["leadership"] == 12


def test_eval_sets_of_another_person_are_not_kept(write_config, tmp_path):
    cfg = load_config(write_config())
    dataset.build(cfg)
    other = load_config(write_config({"person_full_name": "Somebody Else"}))
    with pytest.raises(DatasetError, match="built for 'Maya Okonkwo-Lindqvist'.*--overwrite-eval-sets"):
        dataset.build(other)
    art = dataset.build(other, overwrite_eval_sets=True)
    assert all(v.startswith("written") for v in art.numbers["eval_sets"].values())


def test_output_paths_that_are_files_fail_before_any_work(write_config, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for overrides in ({"dataset_output": str(blocker)}, {"evaluation": {"eval_data_dir": str(blocker)}}):
        with pytest.raises(PipelineError, match="a-file is a file, not a folder"):  # at load, before any work
            load_config(write_config(overrides))
        assert blocker.read_text() == "x"


def test_orphaned_temp_folders_are_removed_but_not_a_live_build(write_config):
    from filelock import FileLock

    cfg = load_config(write_config(SMALL))
    root = cfg.path(cfg.dataset_output)
    (root / ".locks").mkdir(parents=True)
    orphan = root / ".tmp-0123456789abcdef-999999999"  # its builder was killed: nobody holds the lock
    live = root / ".tmp-fedcba9876543210-12345"  # its builder holds the key's lock
    for folder in (orphan, live):
        folder.mkdir()
        (folder / "train.jsonl").write_text("half", encoding="utf-8")
    with FileLock(str(root / ".locks" / "fedcba9876543210.lock")):
        dataset.build(cfg)
    assert not orphan.exists() and live.exists()


def test_sigterm_mid_build_leaves_nothing_half_written(write_config):
    """timeout / CI cancellation send SIGTERM: the CLI unwinds like Ctrl-C (exit 143)."""
    path = write_config(SMALL)
    root = load_config(path).path(load_config(path).dataset_output)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "dataset", "--config", str(path)],
                            cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(root.glob(".tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before a temp folder was seen"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted: artifacts already marked complete are kept" in err
    assert not list(root.glob(".tmp-*")) and not [d for d in root.iterdir() if (d / "manifest.json").exists()]


def test_train_phrasings_are_not_near_copies_of_eval_phrasings():
    """The golden set tests unseen wordings: a train phrasing one word away from an eval one leaks it."""
    import re

    from pipeline.dataset.template import load_phrasings

    def words(s: str) -> set[str]:
        return set(re.findall(r"[a-z{}_']+", s.lower()))

    close = []
    for cat, intents in load_phrasings()["intents"].items():
        for intent, v in intents.items():
            for e in v["eval"]:
                for t in v["train"]:
                    a, b = words(e), words(t)
                    if len(a & b) / len(a | b) >= 0.65:
                        close.append(f"{cat}.{intent}: {t!r} ~ {e!r}")
    assert not close, close


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(group=_TEXT, question=_TEXT)
def test_sample_ids_never_read_as_pii(group, question):
    """Sample ids are hashes: the publish PII scan must never see a phone number (or anything) in one."""
    from pipeline.resume.pii import find_pii

    sid = dataset._sample_id(Sample(question=question, answer="a", category="education", fact_id="f",
                                    template="t", group=group, behavior="answer"))
    assert sid.startswith("s") and len(sid) == 13
    assert find_pii(sid) == [] and find_pii(json.dumps({"id": sid, "x": 1})) == []


@settings(max_examples=300, deadline=None)
@given(digest=st.text("0123456789abcdef", min_size=12, max_size=12))
def test_every_hex_digest_id_is_pii_free(digest):
    """Also the rare digests (all digits, digits then letters) the property above seldom draws."""
    from pipeline.resume.pii import find_pii

    sid = dataset.SAMPLE_ID_PREFIX + digest
    assert find_pii(sid) == [] and find_pii(f'{{"id": "{sid}", "question": "Q?"}}') == []


_CASE = {"id": "g1", "category": "education", "question": "Where did Maya study?",
         "reference_answer": "At KTH.", "expected_behavior": "answer", "tags": []}


@pytest.mark.parametrize("bad", [{"id": ""}, {"tags": "kw:KTH"}, {"tags": None}, {"question": 7},
                                 {"reference_answer": None}])
def test_kept_eval_set_is_checked_like_the_harness_checks_it(write_config, bad):
    """A kept eval set the harness would refuse must not be "kept (N cases)" with exit 0."""
    from pipeline.resume.ingest import ingest

    cfg = load_config(write_config())
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    folder.mkdir(parents=True)
    lines = [json.dumps({**_CASE, "id": f"g{i}"}) for i in range(3)] + [json.dumps({**_CASE, "id": "g9", **bad})]
    (folder / "golden.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    field = next(iter(bad))
    with pytest.raises(DatasetError, match=rf"golden.jsonl:4: field {field}: .*--overwrite-eval-sets"):
        eval_sets.bootstrap(cfg, ingest(cfg.path(cfg.resume_path)))
    with pytest.raises(DatasetError, match=rf"golden.jsonl:4: field {field}"):  # before any dataset work
        eval_sets.check_folder(cfg)
    eval_sets.check_folder(cfg, overwrite=True)  # --overwrite-eval-sets rewrites it


@pytest.mark.parametrize("content", [b"\xff\xfe{\x00", b"not json", b"[1, 2]"])
def test_unreadable_source_json_is_a_clean_error(write_config, content):
    cfg = load_config(write_config())
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    folder.mkdir(parents=True)
    (folder / eval_sets.SOURCE).write_bytes(content)
    with pytest.raises(DatasetError, match=r"source\.json: not .*delete it or rerun with --overwrite-eval-sets"):
        eval_sets.check_folder(cfg)
    eval_sets.check_folder(cfg, overwrite=True)


def test_eval_sets_are_written_atomically(write_config, monkeypatch):
    from pipeline.cache import write_atomic
    from pipeline.resume.ingest import ingest

    cfg = load_config(write_config())
    written = []

    def recording(path, text):
        written.append(Path(path).name)
        return write_atomic(path, text)

    monkeypatch.setattr(eval_sets, "write_atomic", recording)
    status = eval_sets.bootstrap(cfg, ingest(cfg.path(cfg.resume_path)))
    assert sorted(written) == sorted([*eval_sets.FILES, eval_sets.SOURCE])
    assert all(v.startswith("written") for v in status.values())
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    assert sorted(p.name for p in folder.iterdir()) == sorted(written)  # no temp files left behind


_IGNORED_BY_TEMPLATE = [
    {"dataset": {"temperatures": {"question": 0.3}}}, {"dataset": {"temperatures": {"answer": 0.6}}},
    {"dataset": {"temperatures": {"variation": 0.2}}}, {"llm_defaults": {"temperature": 0.1}},
    {"llm_defaults": {"max_tokens": 99}}, {"llm_defaults": {"variation_max_tokens": 77}},
    {"llm_defaults": {"long_question_skip_prob": 0.9}}, {"llm_defaults": {"stop_sequences": ["</s>"]}},
    {"server": {"port": 9999}}, {"server": {"host": "http://10.0.0.2"}}, {"server": {"timeout": 5}},
    {"server": {"managed": True}}, {"server": {"managed_model": "other.gguf"}}, {"server": {"slots": 4}},
]


def _merged(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for key, value in part.items():
            out[key] = _merged(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


@pytest.mark.parametrize("backend", ["template", "llm"])
@pytest.mark.parametrize("change", _IGNORED_BY_TEMPLATE, ids=lambda c: json.dumps(c))
def test_knobs_a_backend_ignores_stay_out_of_its_cache_key(write_config, backend, change):
    """Template backend: sampling/server knobs must not rebuild the dataset (and retrain); llm: they must."""
    base = {"dataset": {"backend": backend}}
    key = dataset._key(load_config(write_config(base)), "r" * 64)[0]
    moved = dataset._key(load_config(write_config(_merged(base, change))), "r" * 64)[0]
    assert (moved == key) == (backend == "template")


@pytest.mark.parametrize("backend", ["template", "llm"])
def test_hub_id_and_used_knobs_in_the_key(write_config, backend):
    base = {"dataset": {"backend": backend}}
    key = dataset._key(load_config(write_config(base)), "r" * 64)[0]
    assert dataset._key(load_config(write_config(_merged(base, {"dataset": {"hub_id": "a/b"}}))), "r" * 64)[0] == key
    for used in ({"dataset": {"seed": 1}}, {"generation_limits": {"max_question_words": 9}}):
        assert dataset._key(load_config(write_config(_merged(base, used))), "r" * 64)[0] != key


def _words(n: int) -> str:
    return " ".join(["Where"] + ["did"] * (n - 3) + ["Maya", "work"]) + "?"


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_long_question_skip_prob_is_the_chance_to_skip_a_long_question(write_config, p):
    """docs/knobs.md: a question over half of max_question_words (within it) is skipped with this chance."""
    import random

    from pipeline.dataset import llm

    cfg = load_config(write_config({"dataset": {"backend": "llm", "seed": 7},
                                    "generation_limits": {"max_question_words": 12},
                                    "llm_defaults": {"long_question_skip_prob": p}}))
    gen = llm._Generator(cfg, client=None, resume_text="", grounding=None)
    units = [f"education:{i}" for i in range(600)]
    skipped = []
    for unit in units:
        rejects = Counter()
        kept = gen._question_ok(_words(9), unit, rejects)  # 9 words: over half (6), within the cap (12)
        assert kept != bool(rejects["question_long_skipped"])
        # the draw is seeded by dataset.seed and the unit: the same on every rerun
        assert kept == (random.Random(llm._seed(cfg, unit, "long")).random() >= p)
        skipped.append(not kept)
        for n, reason in ((6, None), (13, "question_max_words")):  # short: never skipped; over the cap: rejected
            rejects = Counter()
            assert gen._question_ok(_words(n), unit, rejects) is (reason is None)
            assert list(rejects) == ([reason] if reason else [])
    rate = sum(skipped) / len(units)
    assert abs(rate - p) <= 0.05, rate
    if p in (0.0, 1.0):
        assert rate == p


def test_holdout_dirs_keep_training_from_near_copying_their_questions(write_config, tmp_path):
    """dataset.holdout_dirs: a dev question that is a training phrasing is dropped from both splits."""
    _, plain = _build(write_config)
    question = next(r["question"] for r in _rows(plain, "train")
                    if r["category"] == "work_experience" and not r["template"].endswith(dataset.NOISE_SUFFIX))
    dev = tmp_path / "dev"
    dev.mkdir()
    case = {"id": "dev-1", "category": "work_experience", "question": question,
            "reference_answer": "Staff Machine Learning Engineer at Northwind Robotics.",
            "expected_behavior": "answer", "tags": ["kw:Northwind Robotics"], "source": "hand"}
    (dev / "golden.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")
    _, held = _build(write_config, {"dataset": {"holdout_dirs": [str(dev)]}})
    assert held.key != plain.key
    mine = set(metrics.tokens(question))
    for row in _all_rows(held):
        theirs = set(metrics.tokens(row["question"]))
        assert len(mine & theirs) / len(mine | theirs) < 0.8, row["question"]
    assert held.numbers["rejects"]["eval_near_copy"] > plain.numbers["rejects"].get("eval_near_copy", 0)


def test_a_malformed_holdout_set_is_one_message_without_a_regenerate_hint(write_config, tmp_path):
    bad = tmp_path / "dev"
    bad.mkdir()
    (bad / "golden.jsonl").write_text('{"id": "x", "question\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"golden.jsonl:1: not valid JSON.*dataset.holdout_dirs") as info:
        _build(write_config, {"dataset": {"holdout_dirs": [str(bad)]}})
    assert "--overwrite-eval-sets" not in str(info.value)
