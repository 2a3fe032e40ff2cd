"""Publishing: the dry-run tree, the cards' front matter against the report, refusals, the PII
block, the token never leaking, and the chat command on a tiny exported model.

The chain is replaced by small fake artifact folders (monkeypatched ``run_chain``) so these
tests check the publishing logic in seconds; the report folders follow pipeline/harness/report.py's
``metrics.json`` / ``config_snapshot.json`` format.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.__main__ import main
from pipeline.cache import Artifact, file_sha256
from pipeline.config import VARIANTS
from pipeline.publish.cards import (
    EMBEDDED_BASE_ID,
    render_dataset_card,
    render_model_card,
    split_front_matter,
)
from pipeline.publish.publish import contact_values, scan_tree

FAKE_TOKEN = "hf_fakeTOKENvalue0123456789abcdefABCDEF"
_METRICS = ("exact_match_rate", "token_f1", "keyword_coverage", "refusal_accuracy",
            "response_length_compliance", "behavior_accuracy")


def _fake_artifacts(root: Path, extra_onnx_file: tuple[str, str] | None = None) -> dict[str, Artifact]:
    from safetensors.numpy import save_file

    dataset = root / "dataset"
    (dataset / "dataset_dict" / "train").mkdir(parents=True)
    (dataset / "dataset_dict" / "dataset_dict.json").write_text('{"splits": ["train", "validation"]}')
    (dataset / "dataset_dict" / "train" / "data-00000-of-00001.arrow").write_bytes(b"\0ARROW\0" * 8)
    row = {"messages": [{"role": "user", "content": "Where does Maya work?"}], "category": "work_experience"}
    (dataset / "train.jsonl").write_text(json.dumps(row) + "\n")
    (dataset / "validation.jsonl").write_text(json.dumps(row) + "\n")
    (dataset / "metadata.json").write_text(json.dumps({
        "profile": "cpu", "backend": "template", "total": 3, "train": 2, "validation": 1, "grounding_rate": 0.97,
        "refusal_share": 0.33, "counts_per_split": {"train": {"refusal": 1, "work_experience": 1},
                                                    "validation": {"work_experience": 1}},
        "rejects": {"grounding": 2}, "resume": {"path": "/home/someone/private/resume.md", "sha256": "ab"},
        "system_prompt": "You answer questions about Maya's resume."}))
    (dataset / "manifest.json").write_text("{}")
    merged = root / "merged"
    merged.mkdir()
    save_file({"w": np.zeros((4, 8), dtype=np.float32)}, str(merged / "model.safetensors"))
    (merged / "config.json").write_text('{"model_type": "llama"}')
    (merged / "manifest.json").write_text("{}")
    onnx = root / "onnx"
    (onnx / "onnx").mkdir(parents=True)
    for name in ("config.json", "generation_config.json", "tokenizer.json", "special_tokens_map.json"):
        (onnx / name).write_text('{"fake": true}\n')
    (onnx / "tokenizer_config.json").write_text('{"chat_template": "{{ messages }}"}\n')
    (onnx / "chat_template.jinja").write_text("{{ messages }}\n")
    for i, variant in enumerate(VARIANTS):
        (onnx / "onnx" / variant).write_bytes(bytes([i]) * (100 + i))
    (onnx / "manifest.json").write_text("{}")
    if extra_onnx_file:
        (onnx / extra_onnx_file[0]).write_text(extra_onnx_file[1])
    return {"dataset": Artifact("dataset", "d" * 64, dataset), "merged": Artifact("merged", "m" * 64, merged),
            "onnx": Artifact("onnx", "o" * 64, onnx)}


def _write_report(root: Path, *, overall: str = "PASS", onnx_key: str = "o" * 64, created: str = "20261130T120000Z"
                  ) -> Path:
    """A report folder in pipeline/harness/report.py's format (metrics.json + config_snapshot.json)."""
    folder = root / created
    folder.mkdir(parents=True)
    variants, thresholds, gates = {}, {}, []
    for i, v in enumerate(VARIANTS):
        row = {m: round(0.6 + 0.01 * i + 0.02 * j, 4) for j, m in enumerate(_METRICS)}
        if v != "model.onnx":
            row["fp32_alignment"] = 0.9 - 0.01 * i
        row.update({"p95_latency_ms": 500.0 + i, "quality_pass_tokens_per_s": 40.0 - i,
                    "quality_pass_latency_mean_ms": 300.5, "quality_pass_latency_p95_ms": None})
        variants[v] = row
        thresholds[v] = {m: ["min", 0.5] for m in _METRICS} | {"p95_latency_ms": ["max", 1000.0 + i]}
        failed = overall == "FAIL" and v == "model_q4.onnx"
        gates.append({"id": f"test_gate[{v}-token_f1]", "variant": v, "metric": "token_f1",
                      "outcome": "failed" if failed else "passed", "actual": row["token_f1"], "threshold": 0.5})
    (folder / "metrics.json").write_text(json.dumps({
        "created": created, "profile": "cpu", "sample": "smoke", "overall": overall, "n_cases": 12,
        "latency_method": "serial, one request at a time", "variants": variants, "thresholds": thresholds,
        "gates": gates, "variant_verdicts": {}, "per_category": {}, "failing_cases": 0}))
    (folder / "config_snapshot.json").write_text(json.dumps(
        {"artifacts": {"onnx": {"key": onnx_key, "path": "x", "built_by": []},
                       "dataset": {"key": "d" * 64, "path": "y", "built_by": []}}}))
    (folder / "summary.md").write_text(f"# Evaluation report: {overall}\n")
    return folder


@pytest.fixture
def env(tmp_path, write_config, monkeypatch):
    """A config in tmp_path, fake artifacts behind run_chain, and a clean Hub environment."""
    arts = _fake_artifacts(tmp_path / "arts")
    monkeypatch.setattr("pipeline.publish.publish.run_chain", lambda cfg, until="onnx", **kw: arts)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    cfg = write_config({"model": {"hub_id": "me/model-x"}, "dataset": {"hub_id": "me/data-x"},
                        "evaluation": {"hub": {"model_id": "me/eval-model", "dataset_id": "me/eval-sets"}}})
    return {"cfg": str(cfg), "arts": arts, "reports": tmp_path / "reports", "tmp": tmp_path}


def _publish(env, *args: str) -> int:
    return main(["publish", *args, "--config", env["cfg"]])


def test_model_dry_run_lists_exact_tree(env, capsys):
    report = _write_report(env["reports"])
    stage = env["tmp"] / "staged"
    assert _publish(env, "model", "--dry-run", "--stage-dir", str(stage)) == 0
    out = capsys.readouterr().out
    files = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()}
    assert files == {"README.md", "model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
                     "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                     *(f"onnx/{v}" for v in VARIANTS)}
    for rel in files:  # every file listed with its size and sha256
        f = stage / rel
        assert re.search(rf"{f.stat().st_size:,d}\s+{file_sha256(f)}\s+{re.escape(rel)}$", out, re.M), rel
    assert "dry run: nothing uploaded" in out and report.name in out


def test_model_card_front_matter_matches_report(env):
    report = _write_report(env["reports"])
    stage = env["tmp"] / "staged"
    assert _publish(env, "model", "--dry-run", "--stage-dir", str(stage)) == 0
    meta, body = split_front_matter((stage / "README.md").read_text(encoding="utf-8"))
    for key in ("base_model", "datasets", "library_name", "pipeline_tag", "license", "tags", "model-index"):
        assert key in meta, key
    assert meta["base_model"] == EMBEDDED_BASE_ID
    assert meta["library_name"] == "transformers.js" and meta["pipeline_tag"] == "text-generation"
    assert {"transformers.js", "onnx"} <= set(meta["tags"])
    expected = json.loads((report / "metrics.json").read_text())["variants"]
    assert meta["datasets"] == ["me/data-x"]  # dataset.hub_id
    assert meta["model-index"][0]["name"] == "me/eval-model"  # evaluation.hub.model_id
    results = meta["model-index"][0]["results"]
    assert {r["dataset"]["type"] for r in results} == {"me/eval-sets"}  # evaluation.hub.dataset_id
    assert len(results) == len(VARIANTS)
    for res in results:
        variant = res["dataset"]["name"].split("(")[1].rstrip(")")
        got = {m["type"]: m["value"] for m in res["metrics"]}
        assert got == {k: round(v, 4) if isinstance(v, float) else v  # four decimals on the card
                       for k, v in expected[variant].items() if v is not None}
    assert "20261130T120000Z" in body and "all gates passed" in body
    assert "## Limitations" in body and "refus" in body
    assert "lora.r" in body and "sft.learning_rate" in body
    assert "@huggingface/transformers" in body and "AutoModelForCausalLM" in body


def test_dataset_dry_run_and_card(env):
    _write_report(env["reports"])
    stage = env["tmp"] / "staged"
    assert _publish(env, "dataset", "--dry-run", "--stage-dir", str(stage)) == 0
    files = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()}
    assert files == {"README.md", "train.jsonl", "validation.jsonl", "metadata.json",
                     "dataset_dict/dataset_dict.json", "dataset_dict/train/data-00000-of-00001.arrow"}
    meta, body = split_front_matter((stage / "README.md").read_text(encoding="utf-8"))
    assert meta["configs"][0]["data_files"][0] == {"split": "train", "path": "train.jsonl"}
    assert {"license", "task_categories", "size_categories", "pretty_name"} <= set(meta)
    assert "3 samples, 2 train / 1 validation" in body and "0.97" in body
    assert json.loads((stage / "metadata.json").read_text())["resume"]["path"] == "resume.md"



@pytest.mark.parametrize("allow_failing", [True, False])
def test_cards_render_without_a_report(write_config, allow_failing):
    """No eval report (``publish --allow-failing`` without one): both cards render and say so."""
    from pipeline.config import load_config

    cfg = load_config(write_config())
    metadata = {"profile": "cpu", "backend": "template", "total": 3, "train": 2, "validation": 1,
                "grounding_rate": 1.0, "refusal_share": 0.33,
                "counts_per_split": {"train": {"education": 2}, "validation": {"education": 1}}}
    cards = [render_dataset_card(cfg, metadata, None, repo_id="me/data-x", model_id="me/model-x",
                                 allow_failing=allow_failing),
             render_model_card(cfg, None, repo_id="me/model-x", dataset_id="me/data-x",
                               onnx_files=list(VARIANTS), allow_failing=allow_failing)]
    for card in cards:
        meta, body = split_front_matter(card)
        assert "no evaluation report" in body.lower()
        assert "model-index" not in meta and "None" not in body
        assert ("Warning" in body) == allow_failing


def test_dataset_dry_run_without_report_allow_failing(env, capsys):
    stage = env["tmp"] / "staged"
    assert _publish(env, "dataset", "--dry-run", "--allow-failing", "--stage-dir", str(stage)) == 0
    assert "no evaluation report" in (stage / "README.md").read_text(encoding="utf-8").lower()
    stage = env["tmp"] / "staged-model"
    assert _publish(env, "model", "--dry-run", "--allow-failing", "--stage-dir", str(stage)) == 0
    assert "no evaluation report" in (stage / "README.md").read_text(encoding="utf-8").lower()
    assert "(no eval report)" in capsys.readouterr().out

def test_refuses_without_report(env, capsys):
    assert _publish(env, "model", "--dry-run") == 1
    assert "no eval report" in capsys.readouterr().err


def test_refuses_failing_gates_unless_allowed(env, capsys):
    _write_report(env["reports"], overall="FAIL")
    assert _publish(env, "model", "--dry-run") == 1
    assert "test_gate[model_q4.onnx-token_f1]" in capsys.readouterr().err
    stage = env["tmp"] / "staged"
    assert _publish(env, "model", "--dry-run", "--allow-failing", "--stage-dir", str(stage)) == 0
    card = (stage / "README.md").read_text(encoding="utf-8")
    assert "failing evaluation gates" in card and "test_gate[model_q4.onnx-token_f1]" in card


def test_refuses_report_of_another_model(env, capsys):
    _write_report(env["reports"], onnx_key="f" * 64)
    assert _publish(env, "model", "--dry-run") == 1
    assert "measured on onnx artifact" in capsys.readouterr().err


def test_explicit_report_dir_wins(env, capsys):
    older = _write_report(env["reports"], created="20260101T000000Z")
    _write_report(env["reports"], overall="FAIL", created="20261231T000000Z")
    assert _publish(env, "model", "--dry-run") == 1  # the newest (failing) one by default
    assert _publish(env, "model", "--dry-run", "--report", str(older)) == 0
    assert "20260101T000000Z" in capsys.readouterr().out


def test_token_never_printed_or_staged(env, capsys, monkeypatch):
    _write_report(env["reports"])
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, folder_path, repo_id, **kw):
            staged = [p for p in Path(folder_path).rglob("*") if p.is_file()]
            calls.append(("upload_folder", repo_id, sorted(p.name for p in staged)))
            assert not any(FAKE_TOKEN.encode() in p.read_bytes() for p in staged)
            return type("Info", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/1"})()

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    stage = env["tmp"] / "staged"
    assert _publish(env, "model", "--dry-run", "--stage-dir", str(stage)) == 0
    assert _publish(env, "model", "--repo-id", "someone/resume-chat") == 0
    captured = capsys.readouterr()
    assert FAKE_TOKEN not in captured.out + captured.err
    assert not any(FAKE_TOKEN.encode() in p.read_bytes() for p in stage.rglob("*") if p.is_file())
    assert [c[0] for c in calls] == ["create_repo", "upload_folder"] and calls[0][1] == "someone/resume-chat"
    assert "README.md" in calls[1][2]


def test_real_push_refuses_placeholder_repo_and_offline(env, capsys, monkeypatch):
    _write_report(env["reports"])
    assert _publish(env, "model", "--repo-id", "your-name/resume-chat") == 1
    assert "placeholder" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _publish(env, "model", "--repo-id", "someone/resume-chat") == 1
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_pii_scan_blocks_resume_email(tmp_path, write_config, monkeypatch, capsys, shared_dir):
    resume = shared_dir / "resumes" / "richard_hendriks.resume.json"
    email = json.loads(resume.read_text())["basics"]["email"]
    arts = _fake_artifacts(tmp_path / "arts", extra_onnx_file=("notes.txt", f"line one\nline two\nmail {email}\n"))
    monkeypatch.setattr("pipeline.publish.publish.run_chain", lambda cfg, until="onnx", **kw: arts)
    _write_report(tmp_path / "reports")
    cfg = write_config({"resume_path": str(resume)})
    assert main(["publish", "model", "--dry-run", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "blocked" in out and "notes.txt:3" in out and "nothing was uploaded" in out


def test_scan_matches_contact_values_in_any_format(tmp_path, shared_dir):
    contacts = contact_values(shared_dir / "resumes" / "richard_hendriks.resume.json")
    assert "richard.hendriks@mail.com" in contacts and "(912) 555-4321" in contacts
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.json").write_text('{"x": "call 912.555.4321"}\n{"y": "RICHARDHENDRICKS.example.com/about"}\n')
    (tree / "clean.md").write_text("Uses `@huggingface/transformers` and model.onnx; 3.97 GPA in 2014.\n")
    (tree / "blob.bin").write_bytes(b"\0\0richard.hendriks@mail.com")
    found = scan_tree(tree, contacts)
    assert {(f.path, f.line) for f in found} == {("a.json", 1), ("a.json", 2)}



def _all_digit_sample():
    """A sample whose sha1 hash prefix is all digits (the old id would read as a phone number)."""
    import hashlib

    from pipeline.dataset.samples import Sample

    for i in range(100_000):
        s = Sample(question=f"Where did Maya work in {i}?", answer="a", category="work_experience",
                   fact_id="f", template="t", group=f"g{i}", behavior="answer")
        if hashlib.sha1(f"{s.group}\n{s.question}".encode()).hexdigest()[:12].isdigit():
            return s
    raise AssertionError("no all-digit hash found")


def test_sample_ids_are_not_pii_and_the_id_column_is_skipped(tmp_path):
    from pipeline.dataset.build import _sample_id
    from pipeline.resume.pii import find_pii

    sample = _all_digit_sample()
    new_id = _sample_id(sample)
    assert not find_pii(new_id) and not find_pii(json.dumps({"id": new_id}))
    tree = tmp_path / "tree"
    tree.mkdir()
    old_id = new_id[1:]  # the GENERATOR_VERSION 2 form: 12 bare digits here
    assert find_pii(json.dumps({"id": old_id}))
    row = {"id": old_id, "question": "Where did Maya work?", "answer": "At Acme."}
    (tree / "train.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({"id": new_id}) + "\n")
    assert scan_tree(tree, []) == []
    # other columns, other files and ids of another form are still scanned
    (tree / "validation.jsonl").write_text(json.dumps({"id": "call +46 70 123 45 67", "q": "x"}) + "\n"
                                           + json.dumps({"id": new_id, "answer": "mail maya@example.com"}) + "\n")
    (tree / "notes.jsonl").write_text(json.dumps({"id": old_id}) + "\n")
    found = {(f.path, f.line) for f in scan_tree(tree, [])}
    assert found == {("validation.jsonl", 1), ("validation.jsonl", 2), ("notes.jsonl", 1)}

# -- chat ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_exported(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model exported to ONNX through pipeline.onnx.export (transformers.js layout)."""
    from pipeline.config import load_config
    from pipeline.onnx.export import export

    root = tmp_path_factory.mktemp("chat-export")
    cfg_file = root / "config.yaml"
    cfg_file.write_text(f"person_name: Maya\nperson_full_name: Maya Example\nresume_path: r.md\n"
                        f"cache_dir: {root / 'cache'}\n", encoding="utf-8")
    cfg = load_config(cfg_file)
    return export(cfg, Artifact("merged", "t" * 64, tiny_model_dir)).path


@pytest.mark.parametrize("question", ["", "   "])
def test_chat_empty_question_is_bad_input(question, capsys):
    from pipeline.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["chat", question])
    assert exc.value.code == 2 and "chat: the question is empty" in capsys.readouterr().err


def test_chat_one_question_prints_latency(tiny_exported, write_config, capsys):
    cfg = write_config({"inference": {"max_new_tokens": 6}})
    assert main(["chat", "--config", str(cfg), "--variant", "model.onnx", "--model-dir", str(tiny_exported),
                 "Where does Maya work?"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"\[first token \d+ ms, latency \d+ ms, [1-6] tokens, [\d.]+ tokens/s\]", lines[-1])


def test_chat_interactive_reads_until_exit(tiny_exported, write_config, capsys, monkeypatch):
    cfg = write_config({"inference": {"max_new_tokens": 4}})
    monkeypatch.setattr(sys, "stdin", io.StringIO("first question?\n\nsecond one?\nexit\nnever asked\n"))
    assert main(["chat", "--config", str(cfg), "--variant", "model.onnx", "--model-dir", str(tiny_exported)]) == 0
    assert len(re.findall(r"^\[first token \d+ ms, latency \d+ ms", capsys.readouterr().out, re.M)) == 2
