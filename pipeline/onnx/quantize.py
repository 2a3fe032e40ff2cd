"""Quantized variants of the exported model: onnx/model_int8.onnx, model_uint8.onnx, model_q4.onnx.

Run: ``python -m pipeline quantize`` (the chain up to this stage; ``--force`` rebuilds).

The artifact is the complete folder transformers.js loads: every file of the export
(hard-linked, or copied where links fail) plus the three variants beside onnx/model.onnx.

* int8 / uint8: onnxruntime *dynamic* quantization of ``MatMul`` nodes with a constant weight
  (``quantization.op_types``, ``MatMulConstBOnly``), per channel (``quantization.per_channel``).
  The tied lm_head (``Transpose(embed_tokens)``, not a constant) and the embedding
  ``Gather`` stay fp32; ``quantization.exclude_nodes`` (default ``[down_proj]``) keeps the
  MLP down projection fp32 in all three variants.
* q4: ``MatMulNBits`` (onnxruntime ``MatMulNBitsQuantizer``) with ``quantization.block_size``,
  ``quantization.accuracy_level`` and ``quantization.q4_symmetric`` written into every node.

Why each default: the measurements are in ``docs/experiments.md`` ("Quantization").
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
        exported: the export from :func:`pipeline.onnx.export.export` (``onnx/model.onnx`` inside).
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
