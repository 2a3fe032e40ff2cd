"""Quantized variants of the exported model: onnx/model_int8.onnx, model_uint8.onnx, model_q4.onnx.

Run: ``python -m pipeline quantize`` (the chain up to this stage; ``--force`` rebuilds).

The artifact is the complete folder transformers.js loads: every file of the export
(hard-linked, or copied where links fail) plus the three variants beside onnx/model.onnx.

Settings, and why. Measured by ``benchmarks/quant_bench.py`` on SmolLM2-135M-Instruct (the
embedded GGUF, not fine-tuned), 20 open questions, greedy, 40 new tokens, repetition penalty
1.2; fp32_alignment = mean token F1 against model.onnx's answer; latency = mean per answer,
one request at a time, on a loaded 2-core CPU (fp32: 7.5 s)::

    setting                                   size MiB  fp32_alignment  latency / fp32
    int8  onnxruntime defaults                  130.3        0.346           0.56
    uint8 onnxruntime defaults                  130.3        0.360           0.97
    int8  MatMul, const weights, per-channel    212.0        0.389           0.57
    uint8 MatMul, const weights                 211.3        0.396           0.69
    uint8 MatMul, const weights, per-channel    212.1        0.381           0.78
    int8  ... + down_proj kept fp32             287.8        0.503           0.62
    uint8 ... + down_proj kept fp32             287.9        0.497           0.64
    int8  ... + down_proj, o_proj kept fp32     316.2        0.526           0.53
    q4    symmetric, block 32, accuracy level 4 172.6        0.351           0.61

* int8 / uint8 are onnxruntime *dynamic* quantization (weights quantized offline,
  activations per call, per tensor). Only ``MatMul`` is quantized (``quantization.op_types``)
  and only MatMuls whose weight is a constant (``MatMulConstBOnly``). The tied lm_head of
  the export multiplies by ``Transpose(embed_tokens)``, not by a constant, so it stays fp32,
  as does the embedding ``Gather``; the defaults instead quantize both (the lm_head with its
  weight treated as an *activation*: one scale for the whole 49152x576 matrix).
* ``quantization.exclude_nodes`` (default ``[down_proj]``, all three variants): the MLP down
  projection's input (SiLU(gate) * up) carries the largest activation outliers, which one
  per-tensor dynamic activation scale handles worst; keeping it fp32 was the largest single
  gain measured for int8/uint8 (+0.11 alignment for +76 MiB). For q4 it grows the file from
  174 to 259 MiB and, on the fine-tuned cpu-profile model, lifts smoke refusal accuracy from
  0.864 to 0.909 (the gate is 0.90).
* ``quantization.per_channel`` (default true): one scale per output column; measured within
  noise of per-tensor here, kept because it cannot hurt weight resolution.
* ``quantization.reduce_range`` (default false): 7-bit weights only matter for the u8s8
  saturation on pre-VNNI x86 CPUs.
* On this base model and these open-ended prompts no setting reaches the 0.70 alignment
  gate: one early flipped token changes the rest of a long free-form answer. The gate is
  meant for the fine-tuned model, whose short answers are far more stable.
* q4 is ``MatMulNBits`` (onnxruntime ``MatMulNBitsQuantizer``) with
  ``quantization.block_size`` and ``quantization.accuracy_level`` written into every
  MatMulNBits node (tested); the lm_head stays fp32 for the same reason as above, and
  ``exclude_nodes`` applies too. Measured on a fine-tuned cpu-profile model (an earlier training run; smoke
  cases, fp32_alignment against model.onnx, whose exact match was 0.42)::

    q4 setting                                 fp32_alignment  exact match
    symmetric, block 32, accuracy level 4           0.611          0.173
    symmetric, block 32, accuracy level 1 (fp32)    0.621          0.173
    asymmetric, block 32, accuracy level 4          0.744          0.192
    asymmetric, block 16, accuracy level 4          0.755          0.250
    asymmetric, block 32, level 4, down_proj fp32   0.763          0.231

  A zero point per block (``quantization.q4_symmetric: false``) is the largest gain:
  fine-tuned weights are not centred on 0 within a block. The fp32 compute of accuracy
  level 1 buys nothing measurable and is slower.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from pipeline.cache import MANIFEST, Artifact, build, make_key
from pipeline.config import Config
from pipeline.errors import ModelError

log = logging.getLogger(__name__)

SOURCE = "model.onnx"
OUTPUTS = ("model_int8.onnx", "model_uint8.onnx", "model_q4.onnx")
# Models whose graph plus weights exceed this are written with external data (protobuf's
# 2 GB limit; transformers.js loads model.onnx_data-style files beside the graph).
_EXTERNAL_DATA_BYTES = 1_800_000_000
_FIX = "rerun `python -m pipeline export --force` then `python -m pipeline quantize --force`"


def quantize(cfg: Config, exported: Artifact, *, force: bool = False) -> Artifact:
    """Write the complete ONNX folder with the three quantized variants (stage ``onnx``).

    Args:
        cfg: resolved configuration (``quantization`` section used).
        exported: the export from :func:`pipeline.export.export` (``onnx/model.onnx`` inside).
        force: rebuild even when a cached folder exists.

    Returns:
        The artifact at ``<onnx_output>/<key>``; ``numbers`` holds ``bytes`` (file name → size
        in bytes of graph plus external data, for all four variants) and ``seconds``.

    Raises:
        ModelError: ``onnx/model.onnx`` is missing or unreadable, quantization failed, or the
            disk filled up; nothing is left marked complete.
    """
    src_dir = Path(exported.path)
    source = src_dir / "onnx" / SOURCE
    if not source.is_file():
        raise ModelError(f"{source} does not exist; run `python -m pipeline export` first")
    root = cfg.path(cfg.onnx_output)
    key = make_key("onnx", {"quantization": cfg.section_hash("quantization")},
                   upstream={"exported": exported.key})

    def builder(out: Path) -> dict[str, Any]:
        return _build(cfg, src_dir, out)  # disk full: pipeline.cache.build reports it

    return build("onnx", root, key, builder, force=force,
                 inputs={"exported": str(src_dir), "exported_key": exported.key})


def _build(cfg: Config, src_dir: Path, out: Path) -> dict[str, Any]:
    _link_tree(src_dir, out)
    onnx_dir = out / "onnx"
    source = onnx_dir / SOURCE
    q = cfg.quantization
    for name, signed in (("model_int8.onnx", True), ("model_uint8.onnx", False)):
        quantize_dynamic_variant(source, onnx_dir / name, signed=signed, per_channel=q.per_channel,
                                 reduce_range=q.reduce_range, op_types=q.op_types, exclude=q.exclude_nodes)
    quantize_q4(source, onnx_dir / "model_q4.onnx", block_size=q.block_size, accuracy_level=q.accuracy_level,
                symmetric=q.q4_symmetric, exclude=q.exclude_nodes)
    sizes = {name: variant_bytes(onnx_dir, name) for name in (SOURCE, *OUTPUTS)}
    for name, size in sizes.items():
        print(f"[onnx] onnx/{name}: {size / 2**20:.1f} MiB")
    return {"bytes": sizes}


def variant_bytes(onnx_dir: Path, name: str) -> int:
    """Size in bytes of ``onnx_dir/name`` plus its external data files (``name`` + ``_data``...)."""
    return sum(f.stat().st_size for f in onnx_dir.iterdir() if f.name == name or f.name.startswith(name + "_"))


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
        quantize_dynamic(
            source, dest, weight_type=QuantType.QInt8 if signed else QuantType.QUInt8,
            per_channel=per_channel, reduce_range=reduce_range, op_types_to_quantize=list(op_types),
            nodes_to_exclude=excluded,
            use_external_data_format=_needs_external(source),
            extra_options={"MatMulConstBOnly": True},
        )
    except OSError:
        raise
    except Exception as exc:  # onnx/onnxruntime raise many types for unreadable graphs
        raise ModelError(f"quantizing {source} to {dest.name} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc


def quantize_q4(source: Path, dest: Path, *, block_size: int, accuracy_level: int, symmetric: bool = False,
                exclude: tuple[str, ...] = ()) -> None:
    """4-bit ``MatMulNBits`` weight-only quantization in blocks of ``block_size`` weights.

    ``accuracy_level`` is MatMulNBits' minimum compute precision (0 unset, 1 fp32, 2 fp16,
    3 bf16, 4 int8 activations), written into every node. ``symmetric`` false stores a zero
    point per block (asymmetric, the ``zero_points`` input). Nodes whose name contains one
    of the ``exclude`` substrings stay fp32 ``MatMul``.

    Raises:
        ModelError: onnxruntime could not read or quantize ``source``.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    try:
        model = onnx.load(str(source))
        excluded = [n.name for n in model.graph.node if any(s in n.name for s in exclude)]
        quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=block_size, is_symmetric=symmetric,
                                         accuracy_level=accuracy_level, nodes_to_exclude=excluded)
        quantizer.process()
        external = _needs_external(source)
        quantizer.model.save_model_to_file(str(dest), use_external_data_format=external)
    except OSError:
        raise
    except Exception as exc:
        raise ModelError(f"4-bit quantization of {source} failed ({type(exc).__name__}: {exc}); {_FIX}") from exc


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
        try:
            os.link(path, target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise
            shutil.copy2(path, target)
