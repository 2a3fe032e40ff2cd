"""Fixtures shared by the unit tests: the shared material folder, a tiny model, tiny configs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (shared third-party resumes and cases live there)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Llama with the embedded tokenizer (see pipeline.train.tiny), built once."""
    from pipeline.train.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model_dir, tmp_path_factory) -> tuple[Path, object]:
    """(folder with onnx/model*.onnx, config) for the tiny model: export + quantize stage functions.

    The weights are scaled up so greedy output varies from token to token and from question to
    question (the plain random init repeats one token)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.cache import Artifact
    from pipeline.config import load_config
    from pipeline.onnx.export import export
    from pipeline.onnx.quantize import quantize

    root = tmp_path_factory.mktemp("parity")
    sharp = root / "sharp-model"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(4.0)
    model.save_pretrained(sharp)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(sharp)
    cfg_file = root / "config.yaml"
    cfg_file.write_text(
        "person_name: Maya\nperson_full_name: Maya Okonkwo-Lindqvist\nresume_path: r.md\n"
        f"cache_dir: {root / 'cache'}\nonnx_output: {root / 'onnx'}\n"
        f"evaluation:\n  eval_data_dir: {REPO / 'data' / 'eval'}\n"
        "inference:\n  max_new_tokens: 16\n  repetition_penalty: 1.2\n"
        # Larger logits than a real model: the fp32 export's absolute logit error grows with them.
        "export:\n  logit_tolerance: 1.0\n", encoding="utf-8")
    cfg = load_config(cfg_file)
    exported = export(cfg, Artifact("merged", "s" * 64, sharp))
    return quantize(cfg, exported).path, cfg


@pytest.fixture
def write_config(tmp_path):
    """Factory: write a config.yaml under tmp_path from the repo's file plus overrides.

    ``write_config({"sft": {"epochs": 1}}, profile="cpu")`` returns the file's path. Relative
    paths in it (resume, outputs, eval sets) are rewritten to absolute paths so the file
    works from tmp_path; outputs go under tmp_path.
    """

    def _write(overrides: dict | None = None, profile: str = "cpu") -> Path:
        raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
        raw["default_profile"] = profile
        raw["resume_path"] = str(REPO / raw["resume_path"])
        for key in ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir"):
            raw[key] = str(tmp_path / raw[key])
        raw["evaluation"]["eval_data_dir"] = str(tmp_path / "eval")
        raw["evaluation"]["report_output"] = str(tmp_path / "reports")
        profile_block = raw.setdefault("profiles", {}).setdefault(profile, {}) or {}
        raw["profiles"][profile] = _merge(profile_block, overrides or {})
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    return _write


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


@pytest.fixture(scope="session")
def load_benchmark():
    """Import a script of ``benchmarks/`` by name (``load_benchmark("decode_bench")``).

    ``benchmarks/`` is not a package, so each script is loaded from its path, once per session.
    """
    loaded: dict[str, ModuleType] = {}

    def load(name: str) -> ModuleType:
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture
def ada_resume():
    """A four-fact resume built by hand (no parser): one job with a bullet, a skills line, a degree."""
    from pipeline.resume.ingest import Fact, Resume

    text = ("Analyst, Babbage Engines (London; 1842 – 1843)\nWrote the first published program.\n"
            "Languages: Note G, Python\nBachelor of Arts, Home Tutoring (1830 – 1835)")
    fields_job = {"title": "Analyst", "organization": "Babbage Engines", "start_date": "1842", "end_date": "1843"}
    facts = (
        Fact("work_experience-001", "work_experience", "Experience", text.splitlines()[0], fields_job, (0, 10)),
        Fact("work_experience-002", "work_experience", "Experience", "Wrote the first published program.",
             fields_job, (11, 20)),
        Fact("technical_skills-001", "technical_skills", "Skills", "Languages: Note G, Python",
             {"name": "Languages"}, (21, 30)),
        Fact("education-001", "education", "Education", text.splitlines()[3],
             {"degree": "Bachelor of Arts", "organization": "Home Tutoring", "start_date": "1830",
              "end_date": "1835"}, (31, 40)),
    )
    return Resume(Path("ada.md"), "markdown", "Ada Byron", text, facts, ())
