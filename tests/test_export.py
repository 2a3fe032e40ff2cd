"""ONNX export and quantization on the tiny model: layout, validation, knobs, bad input."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import onnx
import pytest

from pipeline.cache import MANIFEST, Artifact
from pipeline.config import load_config
from pipeline.errors import ModelError, PipelineError
from pipeline.onnx import export as export_mod
from pipeline.onnx import quantize as quantize_mod

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::UserWarning",
                                        "ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[1]


def _cfg(tmp: Path, **sections):
    overrides = {"cache_dir": str(tmp / "cache"), "onnx_output": str(tmp / "onnx"), **sections}
    return load_config(REPO / "config.yaml", profile="cpu", overrides=overrides)


def _merged(path: Path) -> Artifact:
    return Artifact(stage="merged", key="tiny-merged-" + path.name, path=path)


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory) -> Artifact:
    tmp = tmp_path_factory.mktemp("export")
    return export_mod.export(_cfg(tmp), _merged(tiny_model_dir))


@pytest.fixture(scope="module")
def quantized(exported, tmp_path_factory) -> Artifact:
    tmp = tmp_path_factory.mktemp("quantize")
    return quantize_mod.quantize(_cfg(tmp), exported)


def _ops(path: Path) -> list[onnx.NodeProto]:
    return list(onnx.load(str(path)).graph.node)


def test_export_writes_transformers_js_layout(exported):
    root = exported.path
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "onnx/model.onnx", MANIFEST):
        assert (root / name).is_file(), name
    assert "im_start" in json.loads((root / "tokenizer_config.json").read_text())["chat_template"]
    inputs = {i.name for i in onnx.load(str(root / "onnx/model.onnx"), load_external_data=False).graph.input}
    assert {"input_ids", "attention_mask", "position_ids", "past_key_values.0.key"} <= inputs


def test_export_records_logit_diff_within_tolerance(exported):
    diff = exported.numbers["max_logit_diff"]
    assert 0 <= diff <= exported.numbers["logit_tolerance"] == 1e-2
    assert exported.numbers["model_onnx_bytes"] == (exported.path / "onnx/model.onnx").stat().st_size


def test_export_rerun_is_cache_hit(exported, tiny_model_dir):
    cfg = load_config(REPO / "config.yaml", profile="cpu",
                      overrides={"cache_dir": str(exported.path.parent.parent)})
    again = export_mod.export(cfg, _merged(tiny_model_dir))
    assert again.reused and again.path == exported.path


def test_export_fails_when_logits_differ(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "_max_logit_diff", lambda *a: 0.5)
    with pytest.raises(ModelError, match=r"onnx/model.onnx: max \|logit diff\| 0.5 .*logit_tolerance=0.01.*--force"):
        export_mod.export(_cfg(tmp_path), _merged(tiny_model_dir))
    assert not list((tmp_path / "cache" / "exported").glob(f"*/{MANIFEST}"))


def test_export_missing_merged_folder(tmp_path):
    with pytest.raises(ModelError, match=r"merged model folder .*nope does not exist.*pipeline merge"):
        export_mod.export(_cfg(tmp_path), _merged(tmp_path / "nope"))


def test_export_folder_without_config(tmp_path):
    (tmp_path / "merged").mkdir()
    with pytest.raises(ModelError, match=r"merged/config.json is missing.*merge --force"):
        export_mod.export(_cfg(tmp_path), _merged(tmp_path / "merged"))


def test_export_disk_full_leaves_nothing(tiny_model_dir, tmp_path, monkeypatch):
    def full(src, out, **kwargs):
        Path(out).mkdir(parents=True)
        (Path(out) / "model.onnx").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("optimum.exporters.onnx.main_export", full)
    with pytest.raises(PipelineError, match=r"exported: disk full while writing.*--force"):
        export_mod.export(_cfg(tmp_path), _merged(tiny_model_dir))
    root = tmp_path / "cache" / "exported"
    assert [p.name for p in root.iterdir() if p.name != ".locks"] == []


def test_quantize_writes_all_variants_with_sizes(quantized, exported):
    onnx_dir = quantized.path / "onnx"
    sizes = quantized.numbers["bytes"]
    assert set(sizes) == {"model.onnx", "model_int8.onnx", "model_uint8.onnx", "model_q4.onnx"}
    for name, size in sizes.items():
        assert (onnx_dir / name).stat().st_size == size > 0
    assert sizes["model_int8.onnx"] < sizes["model.onnx"] and sizes["model_q4.onnx"] < sizes["model.onnx"]
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (quantized.path / name).read_bytes() == (exported.path / name).read_bytes()


def test_dynamic_variants_quantize_weights_but_keep_lm_head_float(quantized):
    for name, dtype in (("model_int8.onnx", onnx.TensorProto.INT8), ("model_uint8.onnx", onnx.TensorProto.UINT8)):
        model = onnx.load(str(quantized.path / "onnx" / name))
        nodes = model.graph.node
        # 7 projections x 2 layers, minus down_proj (quantization.exclude_nodes default)
        assert sum(n.op_type == "MatMulInteger" for n in nodes) == 12
        assert all(n.op_type == "MatMul" for n in nodes if "down_proj" in n.name)
        lm_head = [n for n in nodes if n.output[0] == "logits" or "lm_head" in n.name]
        assert lm_head and all(n.op_type == "MatMul" for n in lm_head)
        quantized_weights = [i for i in model.graph.initializer if i.name.endswith("_quantized")]
        assert quantized_weights and all(i.data_type == dtype for i in quantized_weights)
        scales = [i for i in model.graph.initializer if i.name.endswith("_scale")]
        assert any(len(i.dims) == 1 and i.dims[0] > 1 for i in scales)  # per_channel: true


@pytest.mark.parametrize(("block_size", "accuracy_level", "symmetric", "exclude", "n_quantized"),
                         [(16, 1, True, [], 14), (64, 4, False, ["down_proj"], 12)])
def test_q4_knobs_reach_matmulnbits(exported, tmp_path, block_size, accuracy_level, symmetric, exclude, n_quantized):
    cfg = _cfg(tmp_path, quantization={"block_size": block_size, "accuracy_level": accuracy_level,
                                       "q4_symmetric": symmetric, "exclude_nodes": exclude})
    art = quantize_mod.quantize(cfg, exported)
    ops = _ops(art.path / "onnx/model_q4.onnx")
    nodes = [n for n in ops if n.op_type == "MatMulNBits"]
    assert len(nodes) == n_quantized  # 7 projections x 2 layers, minus the excluded ones
    assert all(n.op_type == "MatMul" for n in ops if any(s in n.name for s in exclude) and "MatMul" in n.name)
    for node in nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert (attrs["block_size"], attrs["accuracy_level"], attrs["bits"]) == (block_size, accuracy_level, 4)
        # asymmetric blocks carry a zero_points input (the 4th); symmetric ones do not
        assert (len(node.input) >= 4 and node.input[3] != "") == (not symmetric)


def test_dynamic_knobs_reach_quantizer(exported, tmp_path):
    cfg = _cfg(tmp_path, quantization={"per_channel": False, "reduce_range": True, "op_types": ["MatMul", "Gather"],
                                       "exclude_nodes": ["down_proj"]})
    art = quantize_mod.quantize(cfg, exported)
    model = onnx.load(str(art.path / "onnx/model_int8.onnx"))
    scales = [i for i in model.graph.initializer if i.name.endswith("_scale")]
    assert scales and all(len(i.dims) == 0 for i in scales)  # per_channel: false -> one scale per tensor
    weights = [onnx.numpy_helper.to_array(i) for i in model.graph.initializer
               if i.name.endswith("_quantized") and i.data_type == onnx.TensorProto.INT8]
    assert weights and max(int(abs(w).max()) for w in weights) <= 64  # reduce_range: 7-bit signed
    assert any("embed_tokens" in i.name and i.name.endswith("_quantized") for i in model.graph.initializer)
    kinds = {n.name: n.op_type for n in model.graph.node if "_proj/" in n.name and "MatMul" in n.op_type}
    assert sorted(k for k, v in kinds.items() if v == "MatMul") == [
        "/model/layers.0/mlp/down_proj/MatMul", "/model/layers.1/mlp/down_proj/MatMul"]
    assert sum(v == "MatMulInteger" for v in kinds.values()) == 12


def test_quantize_missing_export(tmp_path):
    with pytest.raises(ModelError, match=r"onnx/model.onnx does not exist.*pipeline export"):
        quantize_mod.quantize(_cfg(tmp_path), Artifact("exported", "k", tmp_path / "nothing"))


def test_quantize_corrupt_export(tmp_path):
    (tmp_path / "exp/onnx").mkdir(parents=True)
    (tmp_path / "exp/onnx/model.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match=r"model.onnx.*export --force"):
        quantize_mod.quantize(_cfg(tmp_path), Artifact("exported", "k", tmp_path / "exp"))
    assert not list((tmp_path / "onnx").glob(f"*/{MANIFEST}"))


def test_quantize_disk_full_leaves_nothing(exported, tmp_path, monkeypatch):
    def full(source, dest, **kwargs):
        dest.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(quantize_mod, "quantize_q4", full)
    with pytest.raises(PipelineError, match=r"onnx: disk full while writing.*--force"):
        quantize_mod.quantize(_cfg(tmp_path), exported)
    assert [p.name for p in (tmp_path / "onnx").iterdir() if p.name != ".locks"] == []
    assert (exported.path / "onnx/model.onnx").is_file()  # the hard-linked source is untouched
