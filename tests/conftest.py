"""Fixtures shared by the unit tests: the shared material folder, a tiny model, tiny configs."""

from __future__ import annotations

from pathlib import Path

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
