"""Config loading: profiles, every problem reported at once, random YAML never crashes."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import VARIANTS, load_config
from pipeline.errors import ConfigError


def test_repo_config_loads_both_profiles(write_config):
    cpu = load_config(write_config(profile="cpu"))
    full = load_config(write_config(profile="full"), profile="full")
    assert cpu.profile == "cpu" and full.profile == "full"
    assert cpu.model.base == "embedded"
    assert full.model.base == "Qwen/Qwen2.5-0.5B-Instruct"
    # the full profile carries the reference values of the issue
    assert full.dataset.samples_per_category == 1200 and full.dataset.variations_per_question == 3
    assert (full.lora.r, full.lora.alpha, full.lora.dropout) == (64, 128, 0.05)
    assert (full.sft.epochs, full.sft.batch_size, full.sft.gradient_accumulation) == (8, 16, 4)
    assert full.sft.learning_rate == 2e-5 and full.sft.max_length == 384
    assert set(full.evaluation.thresholds.p95_latency_ms_max) == set(VARIANTS)
    assert cpu.snapshot()["profile"] == "cpu"


def test_env_var_selects_profile(write_config, monkeypatch):
    path = write_config(profile="cpu")
    monkeypatch.setenv("RESUME_PROFILE", "full")
    assert load_config(path).profile == "full"
    assert load_config(path, profile="cpu").profile == "cpu"


def test_every_problem_listed_with_dotted_path(write_config):
    path = write_config({"sft": {"epochs": -1, "lernrate": 3}, "lora": {"r": "big"},
                         "evaluation": {"thresholds": {"token_f1_min": 2}}})
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    for key in ("sft.epochs", "sft.lernrate", "lora.r", "evaluation.thresholds.token_f1_min"):
        assert key in msg, msg
    assert "unknown key" in msg and "4 problem(s)" in msg


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"), ("- a\n- b\n", "mapping"), ("a: [unclosed\n", "not valid YAML"),
])
def test_unreadable_files(tmp_path, text, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
_yaml_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(["sft", "lora", "dataset", "person_name", "profiles",
                                             "evaluation", "x", "default_profile"]), _yaml_values, max_size=4))
def test_random_yaml_reports_instead_of_crashing(tmp_path, data):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


@pytest.mark.parametrize("overrides, key", [
    ({"dataset": {"system_prompt": "About {person_ful_name}"}}, "dataset.system_prompt"),
    ({"dataset": {"refusal_answer": "I don't know {name}."}}, "dataset.refusal_answer"),
    ({"person_name": ""}, "person_name"),
    ({"evaluation": {"refusal_markers": []}}, "evaluation.refusal_markers"),
])
def test_values_that_would_break_later_stages_are_rejected_now(write_config, overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(write_config(overrides))


def test_duplicate_keys_are_an_error(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("person_name: A\nperson_name: B\n")
    with pytest.raises(ConfigError, match="line 2.*duplicate key 'person_name'"):
        load_config(path)


def test_inactive_profiles_are_validated_too(write_config):
    path = write_config(profile="cpu")
    raw = yaml.safe_load(path.read_text())
    raw["profiles"]["full"] = {"sft": {"lernrate": 1}}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"profiles\.full → sft\.lernrate"):
        load_config(path, profile="cpu")


def test_a_bad_top_level_value_is_reported_once_on_one_line(write_config):
    path = write_config({"dataset": {"noisy_question_shar": 0.2}}, profile="cpu")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert msg.count("noisy_question_shar") == 1 and "\n" not in msg, msg
    assert "unknown key" in msg and "profiles.full" not in msg


def test_the_same_problem_in_two_inactive_profiles_names_both(write_config):
    path = write_config(profile="cpu")
    raw = yaml.safe_load(path.read_text())
    raw["profiles"]["b"] = {"quantization": {"op_types": ["Foo"]}}
    raw["profiles"]["full"] = {"quantization": {"op_types": ["Foo"]}}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as exc:
        load_config(path, profile="cpu")
    msg = str(exc.value)
    assert "profiles.b → quantization.op_types" in msg and "profiles.full → quantization.op_types" in msg, msg


# --- output folders are checked when the config is loaded -------------------------------------

_FOLDER_KEYS = ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir",
                "evaluation.eval_data_dir", "evaluation.report_output")


def _nested(key: str, value) -> dict:
    section, _, name = key.rpartition(".")
    return {section: {name: value}} if section else {name: value}


@pytest.mark.parametrize("key", _FOLDER_KEYS)
@pytest.mark.parametrize("where, fragment", [
    ("/proc/resume-chat-out", "under /proc, a virtual filesystem"),
    ("/sys/resume-chat-out", "under /sys, a virtual filesystem"),
    ("/dev/resume-chat-out", "under /dev, a virtual filesystem"),
    ("{file}/below", "below the regular file"),
    ("{file}", "is a file, not a folder"),
])
def test_unusable_output_folders_are_rejected_at_load(write_config, tmp_path, key, where, fragment):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    path = write_config(_nested(key, where.format(file=blocker)))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert f"{key}: " in msg and fragment in msg and f"point {key} at a folder" in msg, msg
    assert blocker.read_text() == "x"


def test_every_unusable_folder_is_listed_and_nothing_is_created(write_config, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    path = write_config({"dataset_output": "/proc/x/ds", "cache_dir": str(blocker / "cache"),
                         "evaluation": {"eval_data_dir": str(blocker / "eval")}, "sft": {"epochs": -1}})
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert "4 problem(s)" in msg and "sft.epochs" in msg, msg
    for key in ("dataset_output", "cache_dir", "evaluation.eval_data_dir"):
        assert f"  {key}: " in msg, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "config.yaml"]


def test_valid_missing_output_folders_are_not_created_by_loading(write_config, tmp_path):
    cfg = load_config(write_config({"dataset_output": str(tmp_path / "deep" / "er" / "ds")}))
    assert cfg.dataset_output.endswith("ds") and not (tmp_path / "deep").exists()


def test_a_folder_without_write_permission_is_rejected(write_config, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr("pipeline.config.os.access",
                        lambda p, mode: False if os.fspath(p) == str(locked) else real_access(p, mode))
    with pytest.raises(ConfigError, match=r"dataset_output: the folder's nearest existing parent .*locked "
                                          r"is not writable; fix its permissions"):
        load_config(write_config({"dataset_output": str(locked / "ds")}))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write into any folder")
def test_a_read_only_folder_is_rejected(write_config, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match=r"evaluation\.report_output: .* not writable"):
            load_config(write_config({"evaluation": {"report_output": str(locked / "reports")}}))
    finally:
        locked.chmod(0o755)


def test_inactive_profiles_may_name_folders_that_do_not_exist_here(write_config, tmp_path):
    path = write_config(profile="cpu")
    raw = yaml.safe_load(path.read_text())
    raw["profiles"]["full"] = {"dataset_output": "/proc/only-on-the-cluster", "cache_dir": "/sys/x"}
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path, profile="cpu").profile == "cpu"
    with pytest.raises(ConfigError, match=r"dataset_output: .*under /proc"):
        load_config(path, profile="full")


# --- messages ------------------------------------------------------------------------------------

def test_latin1_config_says_resave_as_utf8(write_config):
    path = write_config()
    path.write_bytes(path.read_bytes().replace(b"person_name: Maya", "person_name: Mayé".encode("latin-1")))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert str(path) in msg and "UTF-8" in msg and "re-save" in msg and "0xe9" in msg, msg
    assert "not valid YAML" not in msg and "fix the syntax" not in msg


def test_placeholder_hint_shows_two_braces(write_config):
    with pytest.raises(ConfigError) as exc:
        load_config(write_config({"dataset": {"system_prompt": "About {nobody}"}}))
    msg = str(exc.value)
    assert "{{ }}" in msg and "{{{" not in msg, msg


@pytest.mark.parametrize("key", ["person_name", "person_full_name", "resume_path", "dataset_output",
                                 "evaluation.eval_data_dir"])
@pytest.mark.parametrize("value", ["   ", "\t", " \n "])
def test_blank_values_are_rejected(write_config, key, value):
    with pytest.raises(ConfigError, match=re.escape(key) + ": .*must not be blank"):
        load_config(write_config(_nested(key, value)))
