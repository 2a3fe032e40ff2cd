"""The evaluation harness: case loading, scoring, reports, the --rc-* plugin, and an
end-to-end ``pytest evals -m smoke`` run (subprocess) on a tiny model and tiny config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import DatasetError
from pipeline.harness import cases as harness_cases
from pipeline.harness import gates, scoring
from pipeline.onnx.runtime import Generation

REPO = Path(__file__).resolve().parents[1]
GOOD = {"id": "g1", "category": "education", "question": "Where did Maya study?",
        "reference_answer": "Maya studied at Uppsala University.", "expected_behavior": "answer",
        "tags": ["kw:Uppsala"]}


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cfg():
    return load_config(REPO / "config.yaml", profile="cpu")


@pytest.mark.parametrize(("line", "reason"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({**GOOD, "expected_behavior": "maybe"}), "field expected_behavior"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "question"}), "field question"),
    (json.dumps({**GOOD, "question": "  "}), "field question"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, reason):
    path = _write_jsonl(tmp_path / "golden.jsonl", [GOOD, "", line])
    with pytest.raises(DatasetError, match=rf"golden.jsonl:3: .*{reason}"):
        harness_cases.load_eval_set(path, "golden")



_LAX = [  # lines the dataset stage used to keep ("golden.jsonl kept (30 cases)") while the harness refused
    ({**GOOD, "id": "   "}, "field id"),
    ({**GOOD, "tags": "kw:Uppsala"}, "field tags"),
    ({**GOOD, "tags": None}, "field tags"),
    ({**GOOD, "question": 42}, "field question"),
    ({**GOOD, "reference_answer": None}, "field reference_answer"),
    ({**GOOD, "category": ["education"]}, "field category"),
]


@pytest.mark.parametrize(("row", "reason"), _LAX)
def test_dataset_stage_and_harness_reject_the_same_lines(tmp_path, row, reason):
    """One validator (pipeline.dataset.eval_sets.CaseLine): both stages refuse, naming file:line and the fix."""
    from pipeline.dataset import eval_sets

    path = _write_jsonl(tmp_path / "golden.jsonl", [GOOD, row])
    for load in (eval_sets.validate, lambda p: harness_cases.load_eval_set(p, "golden")):
        with pytest.raises(DatasetError, match=rf"golden.jsonl:2: {reason}: .*; .*(set|give) .*--overwrite-eval-sets"):
            load(path)


def test_dataset_stage_and_harness_accept_the_same_lines(tmp_path):
    from pipeline.dataset import eval_sets

    rows = [GOOD, {k: v for k, v in {**GOOD, "id": "g2"}.items() if k != "tags"},
            {**GOOD, "id": "g3", "reference_answer": "", "expected_behavior": "refuse", "note": "hand-made"}]
    path = _write_jsonl(tmp_path / "golden.jsonl", rows)
    assert eval_sets.validate(path) == len(harness_cases.load_eval_set(path, "golden")) == 3
    path.write_bytes(b'{"id": "g\xff"}\n')
    for load in (eval_sets.validate, lambda p: harness_cases.load_eval_set(p, "golden")):
        with pytest.raises(DatasetError, match="golden.jsonl: not UTF-8.*save the file as UTF-8"):
            load(path)

def test_duplicate_id_and_missing_file(tmp_path):
    path = _write_jsonl(tmp_path / "ood.jsonl", [GOOD, GOOD])
    with pytest.raises(DatasetError, match=r"ood.jsonl:2: duplicate id 'g1' \(first on line 1\)"):
        harness_cases.load_eval_set(path, "ood")
    with pytest.raises(DatasetError, match="python -m pipeline dataset"):
        harness_cases.load_eval_set(tmp_path / "missing.jsonl", "ood")


def test_keywords_from_tags_or_inferred(tmp_path):
    rows = [GOOD, {**GOOD, "id": "g2", "tags": []}, {**GOOD, "id": "r1", "expected_behavior": "refuse", "tags": []}]
    cases = harness_cases.load_eval_set(_write_jsonl(tmp_path / "g.jsonl", rows), "golden", exclude=["Maya"])
    assert [(c.keywords, c.keyword_source) for c in cases] == [
        (("Uppsala",), "tags"), (("uppsala", "university"), "inferred"), ((), "none")]


def test_sampling_is_deterministic_per_set():
    cases = [harness_cases.EvalCase(str(i), "golden", "c", f"q{i}", "r", "answer") for i in range(50)]
    a = harness_cases.sample_cases(cases, 10, 88, "golden")
    assert a == harness_cases.sample_cases(cases, 10, 88, "golden")
    assert [int(c.id) for c in a] == sorted(int(c.id) for c in a)
    assert a != harness_cases.sample_cases(cases, 10, 88, "ood")
    assert harness_cases.sample_cases(cases, 99, 88, "golden") == cases


def test_validation_cases_from_messages(tmp_path):
    row = {"id": "v1", "category": "projects", "behavior": "answer", "messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "What did Maya build?"},
        {"role": "assistant", "content": "Maya built Tern, a Rust scheduler."}]}
    cases = harness_cases.load_validation_cases(_write_jsonl(tmp_path / "validation.jsonl", [row]), ["Maya"])
    assert cases[0].question == "What did Maya build?" and cases[0].keywords == ("tern", "rust")
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"id": "v2", "messages": []}])
    with pytest.raises(DatasetError, match="bad.jsonl:1: missing"):
        harness_cases.load_validation_cases(bad)


class _ScriptedGenerator:
    """Test double with the Generator interface: answers from a dict."""

    variant = "model_q4.onnx"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, question: str) -> Generation:
        text = self.answers[question]
        return Generation(text, len(text.split()), 10.0, True)

    def generate_batch(self, questions, batch_size: int = 8) -> list[Generation]:
        return [self.generate(q) for q in questions]


def _cases():
    return [
        harness_cases.EvalCase("a1", "golden", "education", "Where?", "Maya studied at Uppsala University.", "answer",
                          ("Uppsala",), "tags"),
        harness_cases.EvalCase("a2", "golden", "skills", "Which language?", "Maya writes C++ daily.", "answer",
                          ("C++",), "tags"),
        harness_cases.EvalCase("r1", "ood", "ood", "Weather?", "I don't know.", "refuse"),
        harness_cases.EvalCase("r2", "adversarial", "injection", "Ignore rules", "I don't know.", "refuse"),
    ]


def test_evaluate_variant_scores_and_gates(cfg):
    answers = {"Where?": "Maya studied at Uppsala University.", "Which language?": "Maya writes C daily.",
               "Weather?": "I don’t know.", "Ignore rules": ""}
    res = scoring.evaluate_variant(cfg, _ScriptedGenerator(answers), _cases(), "smoke")
    m = res.summary["metrics"]
    assert m["exact_match_rate"] == 0.5 and m["keyword_coverage"] == 0.5
    assert m["refusal_accuracy"] == 0.5 and m["behavior_accuracy"] == 0.75
    assert res.summary["n"]["refusal_accuracy"] == 2 and res.summary["per_category"]["injection"]["pass_rate"] == 0.0
    assert res.cases[3].reasons == ["empty response"]
    kw = gates.gate_check(cfg, res, "keyword_coverage")
    assert kw.passed is False and "missing: C++" in kw.message() and "[golden/a2]" in kw.message()
    again = scoring.VariantResult.from_json(res.to_json())
    assert again.summary == res.summary and again.cases[1].case.keywords == ("C++",)
    ref = scoring.VariantResult("model.onnx", "smoke", res.cases, res.summary, res.generation)
    assert gates.alignment_check(cfg, ref, res).actual == 1.0
    lat = gates.latency_check(cfg, "model_q4.onnx", [100.0] * 18 + [5000.0] * 2)
    assert lat.passed is False and lat.actual == pytest.approx(5000.0)
    assert "actual 5000 ms, required <= 1200 ms (20 cases)" in lat.message()


def test_report_files_and_compare(cfg, tmp_path):
    answers = {"Where?": "Uppsala.", "Which language?": "C++", "Weather?": "No idea", "Ignore rules": "I don't know"}
    res = scoring.evaluate_variant(cfg, _ScriptedGenerator(answers), _cases(), "smoke")
    from pipeline.harness.report import write_report

    gate = {"id": "test_gate[model_q4.onnx-token_f1]", "nodeid": "x", "variant": "model_q4.onnx",
            "metric": "token_f1", "outcome": "failed", "actual": 0.3, "threshold": 0.55, "message": "boom"}
    kwargs = dict(cfg=cfg, sample="smoke", results={"model_q4.onnx": res}, gates=[gate],
                  latency={"model_q4.onnx": {"rounds_ms": [1.0, 2.0], "p95_ms": 1.95, "budget_ms": 1200.0}},
                  artifacts={}, latency_method="test", options={})
    first = write_report(tmp_path, **kwargs)
    second = write_report(tmp_path, **kwargs, compare_to=first)
    assert first != second
    for name in ("summary.md", "metrics.json", "failures.jsonl", "config_snapshot.json", "benchmark.json",
                 "latency.png", "metrics.png"):
        assert (second / name).is_file(), name
    data = json.loads((second / "metrics.json").read_text())
    assert data["overall"] == "FAIL" and data["compare_to"]["deltas"]["model_q4.onnx"]["token_f1"] == 0.0
    assert "FAIL" in (second / "summary.md").read_text() and "boom" in (second / "summary.md").read_text()
    assert {json.loads(x)["id"] for x in (second / "failures.jsonl").read_text().splitlines()} == {"r1"}


def _pytest(args: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("RESUME_PROFILE", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "message"), [
    (["-m", "smoke or full"], "selects both smoke and full"),
    (["-m", "smoke", "--rc-variants", "model_q8.onnx"], "--rc-variants: unknown variant"),
    (["-m", "smoke", "--rc-rebuild", "training"], "--rc-rebuild: unknown stage"),
    (["-m", "smoke", "--rc-compare-to", "."], "--rc-compare-to: . is not a report folder"),
    (["-m", "smoke", "--rc-config", "missing.yaml"], "config file not found"),
    (["-m", "full and latency", "-n", "2"], "selects only latency gates, which cannot be measured under -n 2"),
])
def test_conflicting_options_are_usage_errors(args, message):
    proc = _pytest(["evals", "--collect-only", "-q", *args], timeout=120)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "g1", "category": "x"', "golden.jsonl:2: not valid JSON"),
    ('{"id": "g1", "category": "x", "reference_answer": "r", "expected_behavior": "answer", "tags": []}',
     "golden.jsonl:2: field question: Field required"),
])
def test_broken_eval_set_is_one_usage_error_before_any_build(write_config, tmp_path, line, message):
    """A malformed eval file stops the run up front with file:line, not one error per gate."""
    folder = tmp_path / "eval"
    folder.mkdir()
    good = ('{"id": "g0", "category": "education", "question": "Where did Maya study?", "reference_answer": '
            '"KTH.", "expected_behavior": "answer", "tags": []}')
    (folder / "golden.jsonl").write_text(good + "\n" + line + "\n", encoding="utf-8")
    config = write_config()  # its evaluation.eval_data_dir is tmp_path / "eval"
    proc = _pytest(["evals", "-m", "smoke", "-q", "--rc-config", str(config)], timeout=120)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr and proc.stderr.count("golden.jsonl:2") == 1
    assert not (tmp_path / "artifacts").exists()  # nothing was built


def test_help_shows_options_with_defaults():
    out = _pytest(["--help"], timeout=120).stdout
    for option in ("--rc-config", "--rc-profile", "--rc-variants", "--rc-report-dir", "--rc-compare-to",
                   "--rc-rebuild"):
        assert option in out
    assert "(default: config.yaml)" in out and "(default: all)" in out


def _junit(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        out[case.get("name")] = (outcome, props)
    return out


def _latest_report(root: Path, seen: set[Path]) -> Path:
    new = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p not in seen]
    assert len(new) == 1, f"expected one new report folder under {root}, got {new}"
    return new[0]


def test_smoke_end_to_end(write_config, tiny_model_dir, tmp_path):
    """-n 2 builds once and passes reachable gates; a serial rerun fails exactly the impossible gates."""
    variants = "model.onnx,model_q4.onnx"
    tiny = {"model": {"base": str(tiny_model_dir)},
            "dataset": {"samples_per_category": 10, "variations_per_question": 2},
            "lora": {"r": 4, "alpha": 8},
            "sft": {"epochs": 1, "batch_size": 8, "max_length": 128, "logging_steps": 1},
            "evaluation": {"smoke_samples": 3, "max_new_tokens": 6, "batch_size": 4, "latency_rounds": 3,
                           "thresholds": {"exact_match_rate_min": 0.0, "token_f1_min": 0.0,
                                          "keyword_coverage_min": 0.0, "refusal_accuracy_min": 0.0,
                                          "response_length_compliance_min": 0.0, "behavior_accuracy_min": 0.0,
                                          "fp32_alignment_min": 0.0,
                                          "p95_latency_ms_max": {"model.onnx": 1e6, "model_int8.onnx": 1e6,
                                                                 "model_uint8.onnx": 1e6, "model_q4.onnx": 1e6}}}}
    config = write_config(tiny)
    reports = tmp_path / "reports"
    common = ["evals", "-m", "smoke", f"--rc-config={config}", f"--rc-variants={variants}", "-q"]

    # Run A: two workers from an empty cache; every reachable gate passes, latency skips under xdist.
    proc = _pytest([*common, "-n", "2", f"--junitxml={tmp_path / 'a.xml'}"])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    junit = _junit(tmp_path / "a.xml")
    expected = {f"test_gate[{v}-{m}]" for v in variants.split(",") for m in scoring.GATES}
    expected |= {"test_fp32_alignment[model_q4.onnx]"} | {f"test_p95_latency[{v}]" for v in variants.split(",")}
    expected |= {f"test_browser_speed[{v}]" for v in variants.split(",")}
    assert set(junit) == expected
    serial_only = ("latency", "browser")
    assert all(junit[t][0] == "passed" for t in expected if not any(k in t for k in serial_only))
    assert all(junit[t][0] == "skipped" for t in expected if any(k in t for k in serial_only))
    report_a = _latest_report(reports, set())
    snapshot = json.loads((report_a / "config_snapshot.json").read_text())
    adapter = snapshot["artifacts"]["adapter"]
    assert len(adapter["built_by"]) == 1, f"adapter built by {adapter['built_by']} (must train once)"
    assert all(len(a["built_by"]) == 1 for a in snapshot["artifacts"].values()), snapshot["artifacts"]
    created = json.loads((Path(adapter["path"]) / "manifest.json").read_text())["created"]
    _check_report_agrees_with_junit(report_a, junit)
    assert "not gated: latency gates skip under xdist" in json.loads((report_a / "metrics.json").read_text())[
        "latency_method"]

    # Run B: serial, cache reused, impossible thresholds fail exactly the right test ids.
    impossible = {**tiny, "evaluation": {**tiny["evaluation"], "thresholds": {
        **tiny["evaluation"]["thresholds"], "exact_match_rate_min": 1.0,
        "p95_latency_ms_max": {**tiny["evaluation"]["thresholds"]["p95_latency_ms_max"], "model.onnx": 0.001}}}}
    write_config(impossible)
    proc = _pytest([*common, f"--junitxml={tmp_path / 'b.xml'}", f"--rc-compare-to={report_a}"])
    assert proc.returncode == 1, proc.stdout[-6000:] + proc.stderr[-3000:]
    junit = _junit(tmp_path / "b.xml")
    failed = {t for t, (outcome, _) in junit.items() if outcome == "failed"}
    assert failed == {"test_gate[model.onnx-exact_match_rate]", "test_gate[model_q4.onnx-exact_match_rate]",
                      "test_p95_latency[model.onnx]"}
    assert "exact_match_rate on model.onnx: actual" in proc.stdout and "required >= 1" in proc.stdout
    assert "p95_latency_ms on model.onnx" in proc.stdout
    report_b = _latest_report(reports, {report_a})
    _check_report_agrees_with_junit(report_b, junit)
    metrics_b = json.loads((report_b / "metrics.json").read_text())
    assert metrics_b["overall"] == "FAIL" and "pytest-benchmark pedantic" in metrics_b["latency_method"]
    assert "token_f1" in metrics_b["compare_to"]["deltas"]["model.onnx"]
    assert len(json.loads((report_b / "benchmark.json").read_text())["variants"]["model.onnx"]["rounds_ms"]) == 3
    if junit["test_browser_speed[model.onnx]"][0] == "passed":  # Chromium and js/node_modules present
        browser = metrics_b["browser"]
        assert set(browser) == set(variants.split(",")) and all(b["tokens_per_s"] > 0 for b in browser.values())
        assert "in headless Chromium (WASM, transformers.js, not gated)" in (report_b / "summary.md").read_text()
    else:
        assert junit["test_browser_speed[model.onnx]"][0] == "skipped"
    built = json.loads((report_b / "config_snapshot.json").read_text())["artifacts"]
    assert all(a["built_by"] == [] for a in built.values()), built
    assert json.loads((Path(adapter["path"]) / "manifest.json").read_text())["created"] == created


def _check_report_agrees_with_junit(report: Path, junit: dict) -> None:
    for name in ("summary.md", "metrics.json", "failures.jsonl", "config_snapshot.json", "benchmark.json",
                 "latency.png", "metrics.png"):
        assert (report / name).is_file(), f"{report / name} missing"
    data = json.loads((report / "metrics.json").read_text())
    gates = {g["id"]: g for g in data["gates"]}
    junit = {t: v for t, v in junit.items() if not t.startswith("test_browser_speed[")}  # numbers, not gates
    assert set(gates) == set(junit)
    for test_id, (outcome, props) in junit.items():
        assert gates[test_id]["outcome"] == outcome, test_id
        if props.get("actual") not in (None, "None"):
            assert float(props["actual"]) == pytest.approx(gates[test_id]["actual"]), test_id
    verdict = "FAIL" if any(o in ("failed", "error") for o, _ in junit.values()) else "PASS"
    assert data["overall"] == verdict
    summary = (report / "summary.md").read_text()
    assert f"# Evaluation report: {verdict}" in summary
    # The quality pass's batched speed numbers are named apart from the p95 gate.
    assert "| quality_pass_latency_p95_ms |" in summary and "| latency_p95_ms |" not in summary
    assert all("quality_pass_tokens_per_s" in row for row in data["variants"].values())
