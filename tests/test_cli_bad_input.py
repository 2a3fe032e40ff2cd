"""The CLI's exit status and one-line messages on bad input (README, "Commands").

2 for something to fix in the input or the setup (config, output folders, a full disk, a file
that is not UTF-8, a missing model folder, an uncached base model while offline), 1 for a
failed stage, 130 for Ctrl-C, 143 for SIGTERM. Every case goes through ``main([...])``.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from pipeline import __main__ as cli
from pipeline.__main__ import main
from pipeline.cache import MANIFEST, Artifact, build, make_key
from pipeline.errors import ModelError, Terminated


def _run(capsys, *argv: str) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# --- output folders ------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, key", [
    ({"dataset_output": "/proc/resume-chat/ds"}, "dataset_output"),
    ({"dataset_output": "/sys/resume-chat/ds"}, "dataset_output"),
    ({"evaluation": {"eval_data_dir": "{file}/eval"}}, "evaluation.eval_data_dir"),
    ({"evaluation": {"eval_data_dir": "/proc/resume-chat/eval"}}, "evaluation.eval_data_dir"),
    ({"cache_dir": "{file}"}, "cache_dir"),
])
def test_unusable_output_folder_exits_2_before_any_work(write_config, tmp_path, capsys, overrides, key):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    section = next(iter(overrides))
    value = overrides[section]
    if isinstance(value, dict):
        value = {k: v.format(file=blocker) for k, v in value.items()}
    else:
        value = value.format(file=blocker)
    path = write_config({section: value})
    rc, err = _run(capsys, "dataset", "--config", path)
    line = _one_error_line(err)
    assert rc == 2 and f"{key}: " in line, err
    assert not (tmp_path / "artifacts").exists(), "a stage ran before the folders were checked"
    assert blocker.read_text() == "x"


# --- disk full -----------------------------------------------------------------------------------

def _no_dataset_work(monkeypatch, tmp_path):
    """Skip the dataset build itself (cache hit stand-in); everything around it runs for real."""
    done = tmp_path / "ds-done"
    done.mkdir(exist_ok=True)
    monkeypatch.setattr("pipeline.dataset.build.cache_build",
                        lambda stage, root, key, builder, **kw: Artifact(stage, key, done, {}, reused=True))


@pytest.mark.parametrize("code, reason", [(errno.ENOSPC, "disk full"), (errno.EDQUOT, "disk quota exceeded")])
def test_disk_full_writing_eval_sets_exits_2_naming_the_file(write_config, tmp_path, capsys, monkeypatch,
                                                             code, reason):
    path = write_config()
    eval_dir = tmp_path / "eval"
    _no_dataset_work(monkeypatch, tmp_path)
    real_write_text = Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.parent == eval_dir:
            raise OSError(code, "No space left on device")  # a failed write names no file
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    rc, err = _run(capsys, "dataset", "--config", path)
    line = _one_error_line(err)
    assert rc == 2 and reason in line and str(eval_dir) in line and "free space" in line, err
    assert not [p for p in eval_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("wrap", ["bare", "runtime", "model_error"])
def test_disk_full_anywhere_exits_2_without_a_traceback(write_config, tmp_path, capsys, monkeypatch, wrap):
    target = tmp_path / "out" / "weights.bin"

    def command(cfg, args):
        target.parent.mkdir()
        try:
            with open(target, "wb") as fh:
                fh.write(b"x")
                raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            if wrap == "runtime":
                raise RuntimeError("saving failed") from exc
            if wrap == "model_error":
                raise ModelError("merge failed (OSError: No space left on device)") from exc
            raise

    monkeypatch.setitem(cli.COMMANDS, "config", command)
    rc, err = _run(capsys, "config", "--config", write_config())
    line = _one_error_line(err)
    assert rc == 2 and "disk full" in line and str(target) in line, err


def test_disk_full_in_a_stage_build_still_names_the_stage(write_config, tmp_path, capsys, monkeypatch):
    def builder(out):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setitem(cli.COMMANDS, "config",
                        lambda cfg, args: build("merged", tmp_path / "merged", make_key("merged", {}), builder))
    rc, err = _run(capsys, "config", "--config", write_config())
    line = _one_error_line(err)
    assert rc == 2 and "merged: disk quota exceeded while writing" in line and "--force" in line, err


# --- files that are not UTF-8 ---------------------------------------------------------------------

def test_latin1_eval_source_file_exits_2_naming_it(write_config, tmp_path, capsys):
    path = write_config()
    source = tmp_path / "eval" / "source.json"
    source.parent.mkdir()
    source.write_bytes('{"person_full_name": "Ren\xe9"}'.encode("latin-1"))
    rc, err = _run(capsys, "dataset", "--config", path)
    line = _one_error_line(err)
    assert rc == 2 and str(source) in line and "UTF-8" in line, err


@pytest.mark.parametrize("how", ["read_text", "open_read", "json_load", "yaml_load"])
def test_any_project_file_that_is_not_utf8_exits_2_naming_it(write_config, tmp_path, capsys, monkeypatch,
                                                             how):
    import yaml

    bad = tmp_path / "notes" / "questions.yaml"
    bad.parent.mkdir()
    bad.write_bytes("q: Caf\xe9 or th\xe9?\n".encode("latin-1"))

    def command(cfg, args):
        if how == "read_text":
            return bad.read_text(encoding="utf-8")
        with open(bad, encoding="utf-8") as fh:
            if how == "open_read":
                return fh.read()
            return json.load(fh) if how == "json_load" else yaml.safe_load(fh)

    monkeypatch.setitem(cli.COMMANDS, "config", command)
    rc, err = _run(capsys, "config", "--config", write_config())
    line = _one_error_line(err)
    assert rc == 2 and str(bad) in line and "re-save the file as UTF-8" in line and "0xe9" in line, err


def test_latin1_config_exits_2_with_the_utf8_fix(write_config, capsys):
    path = write_config()
    path.write_bytes(path.read_bytes().replace(b"person_name: Maya", "person_name: Mayé".encode("latin-1")))
    rc, err = _run(capsys, "config", "--config", path)
    line = _one_error_line(err)
    assert rc == 2 and str(path) in line and "UTF-8" in line and "fix the syntax" not in line, err


def test_a_decode_error_that_is_no_file_keeps_its_traceback(write_config, monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "config", lambda cfg, args: b"\xff".decode("utf-8"))
    with pytest.raises(UnicodeDecodeError):
        main(["config", "--config", str(write_config())])


# --- interrupts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("signal_exc, code", [(KeyboardInterrupt, 130), (Terminated, 143)])
def test_interrupt_after_a_manifest_does_not_deny_it(write_config, tmp_path, capsys, monkeypatch,
                                                     signal_exc, code):
    root = tmp_path / "stage"

    def command(cfg, args):
        art = build("dataset", root, make_key("dataset", {}), lambda out: {"rows": 1})
        assert (art.path / MANIFEST).is_file()
        raise signal_exc()  # Ctrl-C / SIGTERM right after the manifest was written

    monkeypatch.setitem(cli.COMMANDS, "config", command)
    rc, err = _run(capsys, "config", "--config", write_config())
    assert rc == code
    assert "no artifact was marked complete" not in err, err
    assert "already marked complete are kept" in err and "will restart" in err, err
    assert [json.loads((d / MANIFEST).read_text())["stage"] for d in root.iterdir() if (d / MANIFEST).is_file()]


# --- exit 2 for model inputs ---------------------------------------------------------------------

def test_chat_with_a_missing_model_dir_exits_2(write_config, tmp_path, capsys):
    rc, err = _run(capsys, "chat", "--config", write_config(), "--model-dir", tmp_path / "nonexistent", "q")
    line = _one_error_line(err)
    assert rc == 2 and "--model-dir" in line and "does not exist" in line, err


def test_chat_with_a_model_dir_without_the_variant_exits_2(write_config, tmp_path, capsys):
    model = tmp_path / "model"
    (model / "onnx").mkdir(parents=True)
    (model / "onnx" / "model.onnx").write_bytes(b"")
    rc, err = _run(capsys, "chat", "--config", write_config(), "--model-dir", model,
                   "--variant", "model_q4.onnx", "q")
    line = _one_error_line(err)
    assert rc == 2 and "model_q4.onnx" in line and "present: model.onnx" in line and "--variant" in line, err


@pytest.mark.parametrize("base", ["nobody/uncached-model-3f9c", "/no/such/model.gguf", "./not-a-folder"])
def test_base_model_that_is_not_there_exits_2(write_config, tmp_path, capsys, monkeypatch, base):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    _no_dataset_work(monkeypatch, tmp_path)
    monkeypatch.setattr("pipeline.dataset.eval_sets.bootstrap", lambda cfg, resume, overwrite=False: {})
    rc, err = _run(capsys, "sft", "--config", write_config({"model": {"base": base}}))
    line = _one_error_line(err)
    assert rc == 2 and "model.base" in line, err
    if base.startswith("nobody/"):
        assert "HF_HUB_OFFLINE=1" in line and "huggingface-cli download" in line, err
