"""ONNX export and quantization on the tiny model: layout, validation, knobs, bad input."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import onnx
import pytest

from pipeline.cache import MANIFEST, Artifact
from pipeline.config import VARIANTS, load_config
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
    assert tuple(sizes) == VARIANTS  # quantization.variants default: all seven transformers.js files
    for name, size in sizes.items():
        assert (onnx_dir / name).stat().st_size == size > 0
    assert max(sizes[n] for n in ("model_fp16.onnx", "model_q4.onnx", "model_q4f16.onnx")) < sizes["model.onnx"]
    # int8 keeps the fp32 embedding and adds the untied lm_head in int8 (one byte per weight):
    # larger than fp32 on this embedding-heavy tiny model, 239 against 514 MiB on SmolLM2-135M
    emb = next(i for i in onnx.load(str(onnx_dir / "model.onnx")).graph.initializer if "embed_tokens" in i.name)
    head_bytes = emb.dims[0] * emb.dims[1] + 5 * emb.dims[0]  # weights, then a scale and zero point per column
    assert sizes["model_int8.onnx"] < sizes["model.onnx"] + head_bytes
    assert sizes["model_fp16.onnx"] < 0.6 * sizes["model.onnx"]
    assert sizes["model_q4.onnx"] < sizes["model_int8.onnx"] and sizes["model_q4f16.onnx"] < sizes["model_q4.onnx"]
    # q8 is the int8 recipe (transformers.js's converter writes QInt8 for graphs without Conv)
    assert (onnx_dir / "model_quantized.onnx").read_bytes() == (onnx_dir / "model_int8.onnx").read_bytes()
    for name in ("generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (quantized.path / name).read_bytes() == (exported.path / name).read_bytes()
    config = json.loads((quantized.path / "config.json").read_text())
    original = json.loads((exported.path / "config.json").read_text())
    assert config.pop("transformers.js_config") == {}  # no external data on the tiny model
    assert config == original  # and the export's own config.json (a hard link) is unchanged
    assert "transformers.js_config" not in original


def test_every_variant_runs_in_onnxruntime(quantized):
    import numpy as np
    import onnxruntime as ort

    feeds = None
    logits = {}
    for name in VARIANTS:
        session = ort.InferenceSession(str(quantized.path / "onnx" / name), providers=["CPUExecutionProvider"])
        if feeds is None:
            feeds = {"input_ids": np.array([[1, 2, 3, 4]], dtype=np.int64),
                     "attention_mask": np.ones((1, 4), dtype=np.int64),
                     "position_ids": np.arange(4, dtype=np.int64)[None]}
            for i in session.get_inputs():
                if i.name.startswith("past_key_values."):
                    feeds[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]), dtype=np.float32)
        types = {i.name: i.type for i in session.get_inputs()}
        assert all(t == "tensor(float)" for n, t in types.items() if n.startswith("past_key_values.")), name
        logits[name] = session.run(["logits"], feeds)[0]
        assert logits[name].dtype == np.float32 and np.isfinite(logits[name]).all(), name
    ref = logits["model.onnx"]
    for name, value in logits.items():  # every variant still computes the same function, roughly
        corr = np.corrcoef(ref.ravel(), value.ravel())[0, 1]
        assert corr > 0.9, (name, corr)


def test_q4_recipe(quantized):
    """4-bit blocks for every projection, down_proj included, behind a SmoothQuant ``Mul``
    (quantization.q4_smooth_alpha); a 4-bit embedding and an untied dynamic-int8 lm_head
    (q4_embedding, q4_int8_nodes, q4_fp16_nodes defaults); no fp16 weight left."""
    model = onnx.load(str(quantized.path / "onnx" / "model_q4.onnx"))
    nodes = list(model.graph.node)
    ops = {n.name: n.op_type for n in nodes}
    assert sum(op == "MatMulNBits" for op in ops.values()) == 14  # 7 projections x 2 layers
    assert [op for name, op in ops.items() if "embed_tokens" in name] == ["GatherBlockQuantized"]
    assert [name for name, op in ops.items() if op == "MatMulInteger"] == ["/lm_head/MatMul_quant"]
    smooth = [n for n in nodes if n.name.endswith("/down_proj/SmoothQuant_Mul")]
    assert len(smooth) == 2 and quantized.numbers["q4_smoothing"]["alpha"] == 0.5
    assert {n.name.rsplit("/", 1)[0] for n in nodes if n.op_type == "MatMulNBits" and "down_proj" in n.name} == {
        "/model/layers.0/mlp/down_proj", "/model/layers.1/mlp/down_proj"}
    inits = {i.name: i for i in model.graph.initializer}
    assert not [n for n in nodes if n.op_type == "Cast" and n.input[0] in inits]  # no fp16 weights
    assert not any(n.op_type in ("DequantizeLinear", "Transpose") and "embed_tokens" in "".join(n.input)
                   for n in nodes)
    assert all(i.data_type != onnx.TensorProto.FLOAT or len(i.dims) < 2 or i.dims[0] * i.dims[1] < 4096
               for i in model.graph.initializer if not i.name.endswith("_scales"))  # no large fp32 weight is left
    q4f16 = onnx.load(str(quantized.path / "onnx" / "model_q4f16.onnx"))
    levels = {onnx.helper.get_attribute_value(a) for n in q4f16.graph.node if n.op_type == "MatMulNBits"
              for a in n.attribute if a.name == "accuracy_level"}
    assert levels == {0}
    dql = next(n for n in q4f16.graph.node if n.op_type == "DynamicQuantizeLinear")
    producer = next(n for n in q4f16.graph.node if dql.input[0] in n.output)
    assert producer.op_type == "Cast"  # the int8 lm_head gets fp32 activations in the fp16 graph


@pytest.mark.parametrize(("embedding", "int8_nodes", "fp16_nodes", "alpha", "n_nbits", "n_integer", "n_cast",
                          "gather"), [
    (False, [], [], 0.5, 15, 0, 0, "Gather"),
    (True, ["lm_head", "down_proj"], [], 0.5, 12, 3, 0, "GatherBlockQuantized"),
    (True, ["lm_head"], ["down_proj"], 0.5, 12, 1, 2, "GatherBlockQuantized"),
    (True, ["lm_head"], [], 0.0, 14, 1, 0, "GatherBlockQuantized")])
def test_q4_embedding_int8_fp16_knobs(exported, tmp_path, embedding, int8_nodes, fp16_nodes, alpha, n_nbits,
                                      n_integer, n_cast, gather):
    cfg = _cfg(tmp_path, quantization={"q4_embedding": embedding, "q4_int8_nodes": int8_nodes,
                                       "q4_fp16_nodes": fp16_nodes, "q4_smooth_alpha": alpha,
                                       "variants": ["fp32", "q4"]})
    art = quantize_mod.quantize(cfg, exported)
    # SmoothQuant reaches q4 exactly when its down_proj is quantized (4-bit or int8) and alpha > 0
    smoothed = alpha > 0 and "down_proj" not in fp16_nodes
    assert ("q4_smoothing" in art.numbers) == smoothed
    assert sorted(p.name for p in (art.path / "onnx").iterdir()) == ["model.onnx", "model_q4.onnx"]
    ops = _ops(art.path / "onnx/model_q4.onnx")
    assert sum(n.op_type == "MatMulNBits" for n in ops) == n_nbits  # of 14 projections + the untied lm_head
    assert sum(n.op_type == "MatMulInteger" for n in ops) == n_integer
    assert sum(n.op_type == "Cast" and n.name.endswith("MatMul_Cast") for n in ops) == n_cast  # fp16 down_proj
    assert sum(n.name.endswith("SmoothQuant_Mul") for n in ops) == (2 if smoothed else 0)
    assert [n.op_type for n in ops if "embed_tokens" in n.name] == [gather]


def test_variants_knob_needs_fp32(tmp_path):
    with pytest.raises(PipelineError, match=r"quantization.variants.*fp32"):
        _cfg(tmp_path, quantization={"variants": ["q4"]})


def test_external_data_uses_transformers_js_names(exported, tmp_path, monkeypatch):
    """Forced external data: every file's weights go to ``<file>_data`` and config.json says so."""
    monkeypatch.setattr(quantize_mod, "_EXTERNAL_DATA_BYTES", 1000)
    art = quantize_mod.quantize(_cfg(tmp_path, quantization={"variants": ["fp32", "fp16", "int8", "q4"]}),
                                exported)
    onnx_dir = art.path / "onnx"
    names = sorted(p.name for p in onnx_dir.iterdir())
    assert names == sorted(["model.onnx", "model_fp16.onnx", "model_fp16.onnx_data", "model_int8.onnx",
                            "model_int8.onnx_data", "model_q4.onnx", "model_q4.onnx_data"])
    for name in ("model_fp16.onnx", "model_int8.onnx", "model_q4.onnx"):
        assert (onnx_dir / name).stat().st_size < 0.2 * quantize_mod.variant_bytes(onnx_dir, name)  # weights external
        model = onnx.load(str(onnx_dir / name), load_external_data=False)
        locations = {e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"}
        assert locations == {f"{name}_data"}
        assert art.numbers["bytes"][name] == quantize_mod.variant_bytes(onnx_dir, name) > (onnx_dir / name).stat().st_size
    tjs = json.loads((art.path / "config.json").read_text())["transformers.js_config"]
    assert tjs["use_external_data_format"] == {"model_fp16.onnx": 1, "model_int8.onnx": 1, "model_q4.onnx": 1}


def test_dynamic_variants_quantize_every_projection_and_the_untied_lm_head(quantized):
    for name, dtype in (("model_int8.onnx", onnx.TensorProto.INT8), ("model_uint8.onnx", onnx.TensorProto.UINT8)):
        model = onnx.load(str(quantized.path / "onnx" / name))
        nodes = model.graph.node
        # 7 projections x 2 layers and the lm_head (quantization.exclude_nodes default: none)
        assert sum(n.op_type == "MatMulInteger" for n in nodes) == 15
        assert [n.name for n in nodes if n.op_type == "MatMul" and ("_proj/" in n.name or "lm_head" in n.name)] == []
        assert not any(n.op_type == "Transpose" and "embed_tokens" in "".join(n.input) for n in nodes)
        assert [n.op_type for n in nodes if "embed_tokens" in n.name] == ["Gather"]  # op_types: [MatMul]
        smooth = [n for n in nodes if n.name.endswith("/down_proj/SmoothQuant_Mul")]  # smooth_alpha: 0.5
        assert len(smooth) == 2 and all(n.input[1].endswith("/down_proj/smooth_inv") for n in smooth)
        quantized_weights = [i for i in model.graph.initializer if i.name.endswith("_quantized")]
        assert quantized_weights and all(i.data_type == dtype for i in quantized_weights)
        scales = [i for i in model.graph.initializer if i.name.endswith("_scale")]
        assert any(len(i.dims) == 1 and i.dims[0] > 1 for i in scales)  # per_channel: true


@pytest.mark.parametrize(("block_size", "accuracy_level", "symmetric", "int8_nodes", "n_quantized"),
                         [(16, 1, True, [], 15), (64, 4, False, ["down_proj"], 13)])
def test_q4_knobs_reach_matmulnbits(exported, tmp_path, block_size, accuracy_level, symmetric, int8_nodes, n_quantized):
    cfg = _cfg(tmp_path, quantization={"block_size": block_size, "accuracy_level": accuracy_level,
                                       "q4_symmetric": symmetric, "q4_int8_nodes": int8_nodes,
                                       "q4_fp16_nodes": []})
    art = quantize_mod.quantize(cfg, exported)
    ops = _ops(art.path / "onnx/model_q4.onnx")
    nodes = [n for n in ops if n.op_type == "MatMulNBits"]
    assert len(nodes) == n_quantized  # 7 projections x 2 layers and the lm_head, minus the int8 ones
    assert all(n.op_type != "MatMulNBits" for n in ops if any(s in n.name for s in int8_nodes))
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

    monkeypatch.setattr(quantize_mod, "save_model", lambda model, dest: full(None, dest))
    with pytest.raises(PipelineError, match=r"onnx: disk full while writing.*--force"):
        quantize_mod.quantize(_cfg(tmp_path), exported)
    assert [p.name for p in (tmp_path / "onnx").iterdir() if p.name != ".locks"] == []
    assert (exported.path / "onnx/model.onnx").is_file()  # the hard-linked source is untouched


def _logits(model, ids):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
            "position_ids": np.arange(len(ids), dtype=np.int64)[None]}
    for i in session.get_inputs():
        if i.name.startswith("past_key_values."):
            feed[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]), dtype=np.float32)
    return session.run(["logits"], feed)[0]


def test_smoothing_keeps_the_fp32_function_and_narrows_the_down_proj_input(exported):
    """SmoothQuant divides up_proj's columns and multiplies down_proj's rows by the same factors:
    the logits stay those of the export (float rounding only), while every down_proj input's
    largest channel comes closer to its median one (what one dynamic int8 scale needs)."""
    import numpy as np
    from transformers import AutoTokenizer

    from pipeline.onnx import smooth

    model = onnx.load(str(exported.path / "onnx" / "model.onnx"))
    sequences = smooth.calibration_sequences(AutoTokenizer.from_pretrained(exported.path), None, 64)
    assert len(sequences) == len(smooth.GENERIC_CONVERSATIONS)
    pairs = smooth.mlp_pairs(model)
    assert [(u.name, d.name) for u, d in pairs] == [
        (f"/model/layers.{i}/mlp/up_proj/MatMul", f"/model/layers.{i}/mlp/down_proj/MatMul") for i in (0, 1)]
    before = smooth.activation_maxima(model, pairs, sequences)
    ref = _logits(model, sequences[0])
    report = smooth.smooth_mlp(model, sequences, 0.5)
    assert (report.layers, report.sequences, report.tokens) == (2, len(sequences), sum(map(len, sequences)))
    assert report.max_outlier_ratio == pytest.approx(max(float(b.max() / np.median(b)) for b in before), rel=0.01)
    np.testing.assert_allclose(_logits(model, sequences[0]), ref, rtol=1e-3, atol=1e-3 * float(np.abs(ref).max()))
    after = smooth.activation_maxima(model, smooth.mlp_pairs(model), sequences)
    for b, a in zip(before, after, strict=True):
        assert a.max() / np.median(a) < b.max() / np.median(b)


@pytest.mark.parametrize("alpha", [-0.1, 0.0, 1.5])
def test_smooth_mlp_rejects_alpha_outside_0_1(exported, alpha):
    from pipeline.onnx import smooth

    with pytest.raises(ValueError, match="alpha"):
        smooth.smooth_mlp(onnx.load(str(exported.path / "onnx" / "model.onnx")), [[1, 2, 3]], alpha)


def test_calibration_rows_come_from_the_training_split(exported, tmp_path):
    from transformers import AutoTokenizer

    from pipeline.onnx import smooth

    tok = AutoTokenizer.from_pretrained(exported.path)
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": "Yes."}]}
            for i in range(3)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    seqs = smooth.calibration_sequences(tok, tmp_path, 2)
    assert seqs == [list(tok.apply_chat_template(r["messages"])) for r in rows[:2]]
    (tmp_path / "train.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"train\.jsonl.*dataset --force"):
        smooth.calibration_sequences(tok, tmp_path, 2)


def test_quantize_calibrates_on_the_dataset_and_records_it(exported, tmp_path):
    rows = [{"messages": [{"role": "user", "content": "Where?"}, {"role": "assistant", "content": "Oslo."}]}] * 5
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = _cfg(tmp_path, quantization={"variants": ["fp32", "int8"], "calibration_samples": 3})
    art = quantize_mod.quantize(cfg, exported, Artifact("dataset", "d" * 64, data))
    assert art.numbers["smoothing"]["layers"] == 2 and art.numbers["smoothing"]["sequences"] == 3
    assert not list(art.path.rglob(".prepared-*"))  # the prepared graph is scratch only
    generic = quantize_mod.quantize(cfg, exported)
    assert generic.key != art.key and generic.numbers["smoothing"]["sequences"] == 3  # generic ones, capped too


def test_old_recipe_back_with_smoothing_off_and_exclusions(exported, tmp_path):
    """smooth_alpha 0 and exclude_nodes [lm_head, down_proj]: the pre-smoothing int8 recipe
    (tied fp32 lm_head, fp32 down_proj), with no smoothing report."""
    cfg = _cfg(tmp_path, quantization={"variants": ["fp32", "int8"], "smooth_alpha": 0,
                                       "exclude_nodes": ["lm_head", "down_proj"]})
    art = quantize_mod.quantize(cfg, exported)
    assert "smoothing" not in art.numbers
    nodes = _ops(art.path / "onnx/model_int8.onnx")
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 12
    assert any(n.op_type == "Transpose" and "embed_tokens" in "".join(n.input) for n in nodes)
