"""The ONNX variants transformers.js loads, beside the exported onnx/model.onnx (stage ``onnx``).

Run: ``python -m pipeline quantize`` (the chain up to this stage; ``--force`` rebuilds).

The artifact is the complete folder transformers.js loads: every file of the export
(hard-linked, or copied where links fail), the variants ``quantization.variants`` names, and
a ``config.json`` whose ``transformers.js_config`` says which files have external data.
File names follow transformers.js's ``dtype`` suffixes (``pipeline.config.DTYPES``):

* ``fp32``  model.onnx: the export itself.
* ``fp16``  model_fp16.onnx: every float weight and op in fp16, inputs and outputs (logits,
  KV cache) kept fp32 so one KV-cache dtype serves every variant.
* ``int8`` / ``uint8``: onnxruntime *dynamic* quantization of ``MatMul`` nodes with a constant
  weight (``quantization.op_types``, ``MatMulConstBOnly``), per channel
  (``quantization.per_channel``), on a prepared copy of the export: the tied lm_head
  (``Transpose(embed_tokens)``, not a constant) untied into its own constant so it is
  quantized too, and SmoothQuant factors folded into every up_proj/down_proj pair
  (``quantization.smooth_alpha``, :mod:`pipeline.onnx.smooth`), so down_proj, whose input
  carries the largest activation outliers, quantizes as well as the rest. The embedding
  ``Gather`` stays fp32; ``quantization.exclude_nodes`` keeps named nodes fp32. Measured
  against the old recipe (down_proj and lm_head fp32): 239 instead of 288 MiB, decode 1.3-1.5x
  faster, fp32 alignment on the dev and validation splits 0.895 against 0.855 at alpha 0.9
  (docs/experiments.md, "SmoothQuant for down_proj").
* ``q8``    model_quantized.onnx, the WASM default: transformers.js's own converter writes
  QInt8 dynamic quantization for graphs without ``Conv``, so it is the int8 recipe (a hard
  link to model_int8.onnx when both are built).
* ``q4``    model_q4.onnx: 4-bit ``MatMulNBits`` blocks (``quantization.block_size``,
  ``accuracy_level``, ``q4_symmetric``) for every attention and MLP projection; the embedding
  as a 4-bit ``GatherBlockQuantized`` (``q4_embedding``); the lm_head untied from the
  embedding (its own constant, so it can be quantized at all) with dynamic int8 weights
  (``q4_int8_nodes``). down_proj, which 4 bits hurt most, gets the SmoothQuant ``Mul`` in
  front (``q4_smooth_alpha`` 0.5: activation-aware scaling, as AWQ does for 4-bit weights),
  so its outlier input channels get larger weights and a finer share of each block's range.
  Measured on the dev and validation splits (137 questions): 111 MiB (0.46 of int8) and fp32
  alignment 0.85, against 146 MiB and 0.83 for the previous recipe (fp16 down_proj, still
  ``q4_fp16_nodes: [down_proj]``) and 0.79 for 4-bit down_proj without smoothing
  (docs/experiments.md, "4-bit down_proj behind SmoothQuant"). Naming down_proj in
  ``q4_int8_nodes`` instead gives 120 MiB, but at ``accuracy_level`` 4 onnxruntime's
  int8-activation MatMulNBits kernel on AVX-512 and onnxruntime-web's disagree enough that the
  tiny parity model's Chromium answers differ (1 of 5 identical; the real model: 8 of 8).
  8-bit ``MatMulNBits`` would be more compact than int8, but onnxruntime-node
  1.21 (transformers.js 3.8.1) refuses it; int8 ``DequantizeLinear`` weights are not folded
  at load and ran 3-6x slower there.
* ``q4f16`` model_q4f16.onnx: the q4 graph with fp16 activations and scales (WebGPU), with
  MatMulNBits ``accuracy_level`` 0: at level 4 onnxruntime-node 1.21's CPU kernel returns
  garbage for fp16 inputs (measured: "idaysidays..." or token 0 on every step).

Files over ~1.8 GB are written with external data named ``<file>_data``, the name
transformers.js fetches (onnxruntime's quantizers would write ``<file>.data``).

Why each default: the measurements are in ``docs/experiments.md`` ("Quantization").
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipeline.cache import MANIFEST, Artifact, build, make_key
from pipeline.config import DTYPES, Config
from pipeline.errors import ModelError
from pipeline.onnx.smooth import SmoothingReport, calibration_sequences, smooth_mlp

log = logging.getLogger(__name__)

SOURCE = "model.onnx"
# Models whose weights exceed this are written with external data (protobuf's 2 GB limit).
_EXTERNAL_DATA_BYTES = 1_800_000_000
_FIX = "rerun `python -m pipeline export --force` then `python -m pipeline quantize --force`"
_EMBED = "model.embed_tokens.weight"
# The name optimum gives a down projection: what exclude_nodes / q4_int8_nodes substrings are matched against.
_DOWN_PROJ = "/model/layers.0/mlp/down_proj/MatMul"


def quantize(cfg: Config, exported: Artifact, dataset: Artifact | None = None, *, force: bool = False) -> Artifact:
    """Write the complete ONNX folder with the variants of ``quantization.variants`` (stage ``onnx``).

    Args:
        cfg: resolved configuration (``quantization`` section used).
        exported: the export from :func:`pipeline.onnx.export.export` (``onnx/model.onnx`` inside).
        dataset: the dataset the model was trained on; its training split is the calibration
            set of ``quantization.smooth_alpha`` (:mod:`pipeline.onnx.smooth`). Without it a few
            generic conversations calibrate (a bare export, e.g. in tests).
        force: rebuild even when a cached folder exists.

    Returns:
        The artifact at ``<onnx_output>/<key>``; ``numbers`` holds ``bytes`` (file name → size
        in bytes of graph plus external data, for every variant built), ``smoothing`` (the
        :class:`~pipeline.onnx.smooth.SmoothingReport` as a dict, when it ran) and ``seconds``.

    Raises:
        ModelError: ``onnx/model.onnx`` is missing or unreadable, quantization failed, or the
            disk filled up; nothing is left marked complete.
    """
    src_dir = Path(exported.path)
    source = src_dir / "onnx" / SOURCE
    if not source.is_file():
        raise ModelError(f"{source} does not exist; run `python -m pipeline export` first")
    root = cfg.path(cfg.onnx_output)
    upstream = {"exported": exported.key, "calibration": dataset.key if dataset is not None else "generic"}
    key = make_key("onnx", {"quantization": cfg.section_hash("quantization"), "recipe": 4}, upstream=upstream)
    calibration = Path(dataset.path) if dataset is not None else None

    def builder(out: Path) -> dict[str, Any]:
        return _build(cfg, src_dir, out, calibration)  # disk full: pipeline.cache.build reports it

    return build("onnx", root, key, builder, force=force,
                 inputs={"exported": str(src_dir), "exported_key": exported.key,
                         "calibration": str(calibration) if calibration else "generic"})


def _build(cfg: Config, src_dir: Path, out: Path, calibration: Path | None) -> dict[str, Any]:
    _link_tree(src_dir, out)
    onnx_dir = out / "onnx"
    source = onnx_dir / SOURCE
    q = cfg.quantization
    wanted = set(q.variants)
    numbers: dict[str, Any] = {}
    calib = {"calibration": calibration, "samples": q.calibration_samples}
    with tempfile.TemporaryDirectory(dir=out, prefix=".prepared-") as scratch:
        if wanted & {"int8", "uint8", "q8"}:
            # From the export with the lm_head untied (its own constant, so it is quantized too)
            # and, when down_proj is quantized, SmoothQuant in front of it.
            smooth = 0.0 if _names_down_proj(q.exclude_nodes) else q.smooth_alpha
            prepared, report = prepare_source(source, Path(scratch) / "dynamic",
                                              untie="lm_head" not in q.exclude_nodes, alpha=smooth, **calib)
            if report is not None:
                numbers["smoothing"] = asdict(report)
        for dtype, signed in (("int8", True), ("uint8", False), ("q8", True)):
            if dtype not in wanted:
                continue
            dest = onnx_dir / _file(dtype)
            if dtype == "q8" and "int8" in wanted:
                _link_variant(onnx_dir / _file("int8"), dest)
                continue
            quantize_dynamic_variant(prepared, dest, signed=signed, per_channel=q.per_channel,
                                     reduce_range=q.reduce_range, op_types=q.op_types, exclude=q.exclude_nodes)
        if "fp16" in wanted:
            convert_fp16(source, onnx_dir / _file("fp16"))
        if wanted & {"q4", "q4f16"}:
            # SmoothQuant in front of down_proj whenever q4 quantizes it (4-bit or int8), not when it stays fp16.
            fp16_down = _names_down_proj(q.q4_fp16_nodes) and not _names_down_proj(q.q4_int8_nodes)
            smooth = 0.0 if fp16_down else q.q4_smooth_alpha
            q4_source, report = prepare_source(source, Path(scratch) / "q4", untie=False, alpha=smooth, **calib)
            if report is not None:
                numbers["q4_smoothing"] = asdict(report)
            q4 = q4_model(q4_source, block_size=q.block_size, accuracy_level=q.accuracy_level,
                          symmetric=q.q4_symmetric, embedding=q.q4_embedding, int8_nodes=q.q4_int8_nodes,
                          fp16_nodes=q.q4_fp16_nodes)
            if "q4" in wanted:
                save_model(q4, onnx_dir / _file("q4"))
            if "q4f16" in wanted:
                save_model(_accuracy_level(_to_fp16(q4, onnx_dir / _file("q4f16")), 0), onnx_dir / _file("q4f16"))
    sizes = {_file(d): variant_bytes(onnx_dir, _file(d)) for d in q.variants}
    write_transformers_js_config(out, onnx_dir)
    for name, size in sizes.items():
        print(f"[onnx] onnx/{name}: {size / 2**20:.1f} MiB")
    return {"bytes": sizes, **numbers}


def _names_down_proj(substrings: tuple[str, ...]) -> bool:
    """True when a node-name substring list (``exclude_nodes``, ``q4_*_nodes``) matches down_proj."""
    return any(s in _DOWN_PROJ for s in substrings)


def prepare_source(source: Path, scratch: Path, *, untie: bool, alpha: float, calibration: Path | None,
                   samples: int) -> tuple[Path, SmoothingReport | None]:
    """The graph the quantized variants are made from, written under ``scratch``.

    ``source`` with the tied lm_head given its own constant (:func:`untie_lm_head`, when
    ``untie``) and SmoothQuant in front of every down_proj (:func:`pipeline.onnx.smooth.smooth_mlp`
    with ``alpha``, calibrated on ``samples`` conversations of ``calibration/train.jsonl``;
    skipped when ``alpha`` is 0). Returns ``source`` itself when there is nothing to do.

    Raises:
        ModelError: the graph or the calibration rows could not be read.
    """
    if not untie and alpha == 0:
        return source, None
    import onnx
    from transformers import AutoTokenizer

    try:
        model = onnx.load(str(source))
    except Exception as exc:
        raise ModelError(f"{source} could not be read ({type(exc).__name__}: {exc}); {_FIX}") from exc
    if untie:
        model = untie_lm_head(model)
    report = None
    if alpha > 0:
        tokenizer = AutoTokenizer.from_pretrained(source.parent.parent)
        sequences = calibration_sequences(tokenizer, calibration, samples)
        report = smooth_mlp(model, sequences, alpha)
        log.info("smoothed %d MLP layers on %d calibration sequences (%d tokens)", report.layers,
                 report.sequences, report.tokens)
    scratch.mkdir(parents=True, exist_ok=True)
    dest = scratch / SOURCE
    onnx.save_model(model, str(dest), save_as_external_data=True, location=f"{SOURCE}_data")
    return dest, report


def _file(dtype: str) -> str:
    return next(f for f, d in DTYPES.items() if d == dtype)


def variant_bytes(onnx_dir: Path, name: str) -> int:
    """Size in bytes of ``onnx_dir/name`` plus its external data (``name_data``, ``name_data_1``, ...)."""
    return sum(f.stat().st_size for f in external_files(onnx_dir, name)) + (onnx_dir / name).stat().st_size


def external_files(onnx_dir: Path, name: str) -> list[Path]:
    """``name``'s external data files in transformers.js's naming: ``name_data``, ``name_data_1``, ..."""
    return sorted(f for f in onnx_dir.iterdir() if f.name == f"{name}_data" or f.name.startswith(f"{name}_data_"))


def write_transformers_js_config(out: Path, onnx_dir: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``transformers.js_config`` into ``out/config.json`` and return it.

    ``use_external_data_format`` maps each ONNX file with external data to its number of data
    files (transformers.js fetches ``<file>_data``, ``<file>_data_1``, ...; src/models.js,
    ``getSession``); ``extra`` (e.g. ``device_config`` from the gate results) is merged in.
    The file is replaced, never edited in place: it may be a hard link into the export.

    Raises:
        ModelError: ``out/config.json`` is missing or not JSON.
    """
    path = out / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is missing or not JSON ({exc}); {_FIX}") from exc
    tjs = dict(config.get("transformers.js_config") or {})
    external = {f.name: len(external_files(onnx_dir, f.name)) for f in sorted(onnx_dir.glob("*.onnx"))}
    external = {name: n for name, n in external.items() if n}
    if external:
        tjs["use_external_data_format"] = external
    else:
        tjs.pop("use_external_data_format", None)
    tjs.update(extra or {})
    config["transformers.js_config"] = tjs
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return tjs


def save_model(model, dest: Path) -> None:
    """Save an ``onnx.ModelProto`` to ``dest``, with external data ``<dest>_data`` when its
    weights pass ~1.8 GB (protobuf cannot hold 2 GB). Writes to a temporary name, then renames."""
    import onnx

    weights = sum(len(t.raw_data) for t in model.graph.initializer)
    tmp = dest.with_name(dest.name + ".tmp")
    if weights > _EXTERNAL_DATA_BYTES:
        onnx.save_model(model, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{dest.name}_data", size_threshold=1024)
    else:
        onnx.save_model(model, str(tmp))
    os.replace(tmp, dest)


def _link_or_copy(src: Path, dest: Path) -> None:
    """Hard-link ``src`` to ``dest``; copy where links fail (another filesystem), but a full disk raises."""
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
        shutil.copy2(src, dest)


def _link_variant(src: Path, dest: Path) -> None:
    """``dest`` (and its external data) as hard links to ``src``'s; copies where links fail."""
    for f in (src, *external_files(src.parent, src.name)):
        _link_or_copy(f, dest.parent / (dest.name + f.name[len(src.name):]))


def quantize_dynamic_variant(source: Path, dest: Path, *, signed: bool, per_channel: bool,
                             reduce_range: bool, op_types: tuple[str, ...],
                             exclude: tuple[str, ...] = ()) -> None:
    """Dynamic int8 (``signed``) or uint8 weight quantization of ``source`` into ``dest``.

    Only MatMuls with a constant weight are touched (``MatMulConstBOnly``), so the tied
    lm_head (a MatMul by ``Transpose(embed_tokens)``) stays fp32. Nodes whose name contains
    one of the ``exclude`` substrings (e.g. ``down_proj``) stay fp32 too. See the module docstring.

    Raises:
        ModelError: onnxruntime could not read or quantize ``source``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        graph = onnx.load(str(source), load_external_data=False).graph
        excluded = [n.name for n in graph.node if any(s in n.name for s in exclude)]
        external = _needs_external(source)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".quant-") as scratch:
            # onnxruntime names external data "<file>.data"; re-saved below as "<file>_data".
            target = Path(scratch) / dest.name if external else dest
            quantize_dynamic(
                source, target, weight_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                per_channel=per_channel, reduce_range=reduce_range, op_types_to_quantize=list(op_types),
                nodes_to_exclude=excluded, use_external_data_format=external,
                extra_options={"MatMulConstBOnly": True},
            )
            if external:
                save_model(onnx.load(str(target)), dest)
    except OSError:
        raise
    except Exception as exc:  # onnx/onnxruntime raise many types for unreadable graphs
        raise ModelError(f"quantizing {source} to {dest.name} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc


def convert_fp16(source: Path, dest: Path) -> None:
    """fp16 weights and compute, fp32 inputs and outputs (``keep_io_types``), into ``dest``.

    Raises:
        ModelError: onnx could not read or convert ``source``.
    """
    import onnx

    try:
        model = onnx.load(str(source))
    except Exception as exc:
        raise ModelError(f"reading {source} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc
    save_model(_to_fp16(model, dest), dest)


def _dynamic_int8_nodes(model) -> list[str]:
    """Names of the dynamic int8 subgraphs' nodes (DynamicQuantizeLinear, MatMulInteger and the
    Cast / Mul nodes that rescale its output): they need fp32 inputs, so fp16 conversion skips them."""
    producers = {out: node.name for node in model.graph.node for out in node.output}
    blocked = {n.name for n in model.graph.node if n.op_type in ("DynamicQuantizeLinear", "MatMulInteger")}
    changed = True
    while changed:
        changed = False
        for node in model.graph.node:
            if node.name in blocked or node.op_type not in ("Cast", "Mul"):
                continue
            sources = [producers.get(i) for i in node.input]
            if any(src in blocked for src in sources) and all(src is None or src in blocked for src in sources):
                blocked.add(node.name)
                changed = True
    return sorted(blocked)


def _to_fp16(model, dest: Path):
    """onnxruntime's ``convert_float_to_float16`` with the graph's inputs and outputs kept fp32
    (and dynamic int8 subgraphs left fp32, behind a Cast)."""
    from onnx import TensorProto, helper
    from onnxruntime.transformers.float16 import convert_float_to_float16

    blocked = _dynamic_int8_nodes(model)
    # The converter puts a Cast between a blocked (fp32) node and the fp16 graph only where
    # value_info says the tensor is float; without shape inference (it cannot type MatMulNBits)
    # down_proj's input and output have none, so both boundaries are typed here: the input of
    # each DynamicQuantizeLinear and each blocked output that a converted node reads.
    typed = {v.name for v in (*model.graph.value_info, *model.graph.input, *model.graph.output)}
    typed |= {t.name for t in model.graph.initializer}
    read_by_converted = {i for n in model.graph.node if n.name not in blocked for i in n.input}
    boundary = [n.input[0] for n in model.graph.node if n.name in blocked and n.op_type == "DynamicQuantizeLinear"]
    boundary += [o for n in model.graph.node if n.name in blocked for o in n.output if o in read_by_converted]
    for name in dict.fromkeys(boundary):
        if name not in typed:
            model.graph.value_info.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    try:
        return convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True,
                                        node_block_list=blocked)
    except Exception as exc:
        raise ModelError(f"fp16 conversion for {dest.name} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc


def _accuracy_level(model, level: int):
    """Set ``accuracy_level`` on every MatMulNBits node (q4f16 uses 0, the execution provider's
    default: onnxruntime-node 1.21's CPU kernel returns garbage for fp16 inputs at level 4)."""
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            for attr in node.attribute:
                if attr.name == "accuracy_level":
                    attr.i = level
    return model


def q4_model(source: Path, *, block_size: int, accuracy_level: int, symmetric: bool = False,
             embedding: bool = True, int8_nodes: tuple[str, ...] = (), fp16_nodes: tuple[str, ...] = ()):
    """The q4 graph of ``source`` as an ``onnx.ModelProto`` (see the module docstring).

    Args:
        block_size: weights per 4-bit block (MatMulNBits and GatherBlockQuantized).
        accuracy_level: MatMulNBits' minimum compute precision (0 unset, 1 fp32, 2 fp16,
            3 bf16, 4 int8 activations), written into every node.
        symmetric: false stores a zero point per block (the ``zero_points`` input).
        embedding: quantize the embedding ``Gather`` to 4-bit blocks too.
        int8_nodes: MatMuls whose name contains one of these substrings get dynamic int8
            weights (``MatMulInteger``, one scale per output column), as in model_int8.onnx.
        fp16_nodes: MatMuls whose name contains one of these get fp16 weights and a ``Cast``
            to fp32, which onnxruntime folds into an fp32 constant when it loads the file.

    Raises:
        ModelError: onnx or onnxruntime could not read or quantize ``source``.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    try:
        model = untie_lm_head(onnx.load(str(source)))
        matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul"]
        int8 = [n for n in matmuls if any(s in n for s in int8_nodes)]
        fp16 = [n for n in matmuls if n not in int8 and any(s in n for s in fp16_nodes)]
        quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=block_size, is_symmetric=symmetric,
                                         accuracy_level=accuracy_level, nodes_to_exclude=int8 + fp16,
                                         op_types_to_quantize=("MatMul", "Gather") if embedding else ("MatMul",),
                                         quant_format=QuantFormat.QOperator)
        quantizer.process()
        model = fp16_weights(quantizer.model.model, fp16)
        return _dynamic_int8(model, int8) if int8 else model
    except OSError:
        raise
    except Exception as exc:
        raise ModelError(f"4-bit quantization of {source} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc


def untie_lm_head(model):
    """Give the lm_head MatMul its own constant weight when it multiplies by
    ``Transpose(embed_tokens)`` (a tied export), so weight-only quantizers can reach it.

    The new initializer ``lm_head.weight`` is ``embed_tokens.T`` ([hidden, vocab]); the
    Transpose node goes. A graph without that pattern is returned unchanged.
    """
    from onnx import numpy_helper

    graph = model.graph
    tr = next((n for n in graph.node if n.op_type == "Transpose" and list(n.input) == [_EMBED]), None)
    emb = next((t for t in graph.initializer if t.name == _EMBED), None)
    if tr is None or emb is None:
        return model
    graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(emb).T.copy(), "lm_head.weight"))
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == tr.output[0]:
                node.input[i] = "lm_head.weight"
    graph.node.remove(tr)
    return model


def fp16_weights(model, nodes: list[str]):
    """Store the constant weight of each named MatMul as fp16 with a ``Cast`` to fp32 in front.

    Half the bytes of fp32 on disk; onnxruntime's constant folding turns the Cast into an fp32
    constant when the session loads, so decoding is as fast as fp32. (An int8
    ``DequantizeLinear`` is smaller but is *not* folded: onnxruntime-node 1.21 dequantized the
    lm_head and down_proj weights on every step, 3-6x slower; docs/experiments.md.)
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    for node in [n for n in graph.node if n.name in nodes and n.input[1] in inits]:
        base = node.input[1]
        weight = numpy_helper.to_array(inits[base]).astype(np.float16)
        graph.initializer.remove(inits[base])
        graph.initializer.append(numpy_helper.from_array(weight, f"{base}_fp16"))
        cast = helper.make_node("Cast", [f"{base}_fp16"], [f"{base}_fp32"], name=f"{node.name}_Cast",
                                to=TensorProto.FLOAT)
        node.input[1] = f"{base}_fp32"
        graph.node.insert(list(graph.node).index(node), cast)
    return model


def _dynamic_int8(model, nodes: list[str]):
    """onnxruntime dynamic int8 (per channel, ``MatMulConstBOnly``) of the named MatMuls only."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="q4-int8-") as scratch:
        src, dest = Path(scratch) / "in.onnx", Path(scratch) / "out.onnx"
        onnx.save_model(model, str(src), save_as_external_data=True, location="in.onnx_data")
        quantize_dynamic(src, dest, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                         nodes_to_quantize=nodes, use_external_data_format=True,
                         # shape inference cannot type the outputs of the MatMulNBits (com.microsoft) nodes
                         extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
        return onnx.load(str(dest))


def _needs_external(source: Path) -> bool:
    return variant_bytes(source.parent, source.name) > _EXTERNAL_DATA_BYTES


def _link_tree(src: Path, dest: Path) -> None:
    """Hard-link every file of ``src`` (but its manifest) into ``dest``; copy where links fail."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.name == MANIFEST and len(rel.parts) == 1:
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(path, target)
