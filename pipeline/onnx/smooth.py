"""SmoothQuant for the MLP down projections of an exported decoder, before dynamic int8 quantization.

Used by :mod:`pipeline.onnx.quantize` (``python -m pipeline quantize``) when
``quantization.smooth_alpha`` > 0; ``benchmarks/quant_bench.py`` compares it with the old recipe.

onnxruntime's dynamic quantization gives each activation tensor *one* scale. The input of every
``down_proj`` (``SiLU(gate) * up``) has a few channels hundreds to thousands of times larger
than the median (measured on the cpu-profile model: up to 2,687x in layer 11), so one scale
leaves the other channels a handful of int8 levels, which is why down_proj used to stay fp32
(106 MiB of weights read on every decoded token). SmoothQuant (Xiao et al., 2023,
arXiv:2211.10438, eq. 4) moves that range into the weights with a per-channel factor

    s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha)

where ``X_j`` is input channel ``j`` of down_proj over a calibration set and ``W_j`` row ``j`` of
its ``[intermediate, hidden]`` weight. The rows of ``down_proj`` are multiplied by ``s`` and a
``Mul`` by the constant ``1 / s`` goes in front of it, so the fp32 function is unchanged (up to
rounding) and the dynamic quantizer sees the narrowed input. (Folding ``1 / s`` into up_proj's
columns instead, as the paper does with a preceding linear layer, saves that node but shrinks
up_proj's 4-bit block scales by up to 1e4; onnxruntime-node's MatMulNBits kernel at accuracy
level 4 then answered differently from onnxruntime's on the tiny parity model, 1 of 5 answers
identical.) The calibration set is the training split of the dataset the model was fine-tuned on
(never an eval set), each row as the chat template renders it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelError

# Used when no dataset comes with the export (a bare `quantize(cfg, exported)`, e.g. in tests).
GENERIC_CONVERSATIONS = (
    ("Where does she work now?", "She works at a robotics company as a machine learning engineer."),
    ("What did he study?", "He studied computer science and holds a master's degree."),
    ("Which programming languages does she know?", "Python, C++ and SQL."),
    ("What is his phone number?", "I don't know; that is not in the resume."),
)


@dataclass(frozen=True)
class SmoothingReport:
    """What :func:`smooth_mlp` did.

    Attributes:
        alpha: the migration strength used.
        layers: (up_proj, down_proj) pairs smoothed.
        sequences: calibration sequences run; tokens: their total length.
        max_outlier_ratio: largest per-layer ratio of the biggest channel maximum to the median one,
            before smoothing (how badly one activation scale would have fitted).
    """

    alpha: float
    layers: int
    sequences: int
    tokens: int
    max_outlier_ratio: float


def mlp_pairs(model) -> list[tuple[object, object]]:
    """``(up_proj, down_proj)`` MatMul node pairs of each decoder layer whose weights are constants.

    Matched by optimum's node names (``/model/layers.N/mlp/up_proj/MatMul``), in layer order; a
    layer where either node or its weight initializer is missing is skipped.
    """
    inits = {t.name for t in model.graph.initializer}
    found: dict[int, dict[str, object]] = {}
    for node in model.graph.node:
        m = re.search(r"layers\.(\d+)/mlp/(up_proj|down_proj)/MatMul", node.name)
        if node.op_type == "MatMul" and m and node.input[1] in inits:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = node
    return [(f["up_proj"], f["down_proj"]) for _, f in sorted(found.items()) if len(f) == 2]


def calibration_sequences(tokenizer, dataset_dir: Path | None, samples: int) -> list[list[int]]:
    """Token ids of up to ``samples`` calibration conversations (system, user, assistant turns).

    The first ``samples`` rows of ``dataset_dir/train.jsonl`` (the ``messages`` field), or
    :data:`GENERIC_CONVERSATIONS` when ``dataset_dir`` is None.

    Raises:
        ModelError: ``train.jsonl`` is missing or a row is not JSON with ``messages``.
    """
    if dataset_dir is None:
        conversations = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}]
                         for q, a in GENERIC_CONVERSATIONS][:samples]
    else:
        path = Path(dataset_dir) / "train.jsonl"
        try:
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:samples]
            conversations = [json.loads(line)["messages"] for line in lines]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: calibration rows unreadable ({type(exc).__name__}: {exc}); "
                             "rerun `python -m pipeline dataset --force`") from exc
    return [list(tokenizer.apply_chat_template(c)) for c in conversations]


def activation_maxima(model, pairs, sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Per-channel max |input| of each pair's down_proj over ``sequences``: ``[len(pairs), intermediate]``.

    Runs a copy of ``model`` with the down_proj inputs as extra outputs in onnxruntime (one
    sequence at a time, empty KV cache), written to a temporary file with external data so any
    model size loads.
    """
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = [down.input[0] for _, down in pairs]
    for name in names:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory(prefix="smooth-calib-") as scratch:
        path = Path(scratch) / "probe.onnx"
        onnx.save_model(probe, str(path), save_as_external_data=True, location="probe.onnx_data")
        del probe
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        past = [i for i in session.get_inputs() if i.name.startswith("past_key_values.")]
        inputs = {i.name for i in session.get_inputs()}
        maxima: np.ndarray | None = None
        for seq in sequences:
            ids = np.asarray([seq], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                    "position_ids": np.arange(ids.shape[1], dtype=np.int64)[None]}
            for p in past:
                feed[p.name] = np.zeros((1, p.shape[1], 0, p.shape[3]), dtype=np.float32)
            outs = session.run(names, {k: v for k, v in feed.items() if k in inputs})
            seq_max = np.stack([np.abs(o).reshape(-1, o.shape[-1]).max(axis=0) for o in outs])
            maxima = seq_max if maxima is None else np.maximum(maxima, seq_max)
    assert maxima is not None
    return maxima


def smooth_mlp(model, sequences: Sequence[Sequence[int]], alpha: float) -> SmoothingReport:
    """SmoothQuant every down_proj of ``model`` (in place): rows times ``s``, input times ``1 / s``.

    Args:
        model: an ``onnx.ModelProto`` of an optimum decoder export (fp32 weights).
        sequences: calibration token ids (:func:`calibration_sequences`); at least one.
        alpha: migration strength in (0, 1]; the paper's default is 0.5, the project's 0.9
            (``quantization.smooth_alpha``, chosen on the dev and validation splits:
            docs/experiments.md, "SmoothQuant for down_proj").

    Returns:
        A :class:`SmoothingReport` (``layers`` 0 when the graph has no such pairs: unchanged).

    Raises:
        ValueError: ``alpha`` outside (0, 1] or no sequences.
    """
    from onnx import numpy_helper

    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if not sequences:
        raise ValueError("smooth_mlp needs at least one calibration sequence")
    pairs = mlp_pairs(model)
    if not pairs:
        return SmoothingReport(alpha, 0, len(sequences), sum(map(len, sequences)), 0.0)
    from onnx import helper

    maxima = activation_maxima(model, pairs, sequences)
    inits = {t.name: t for t in model.graph.initializer}
    ratio = 0.0
    for (_, down), x_max in zip(pairs, maxima, strict=True):
        w_down = numpy_helper.to_array(inits[down.input[1]]).astype(np.float32)  # [intermediate, hidden]
        median = float(np.median(x_max))
        ratio = max(ratio, float(x_max.max()) / median if median > 0 else 0.0)
        w_max = np.abs(w_down).max(axis=1)
        scale = np.where((x_max > 0) & (w_max > 0),
                         np.maximum(x_max, 1e-8) ** alpha / np.maximum(w_max, 1e-8) ** (1 - alpha), 1.0)
        scale = np.clip(scale, 1e-4, 1e4).astype(np.float32)
        inits[down.input[1]].CopyFrom(numpy_helper.from_array(w_down * scale[:, None], down.input[1]))
        prefix = down.name.rsplit("/", 1)[0]  # /model/layers.N/mlp/down_proj
        inv, narrowed = f"{prefix}/smooth_inv", f"{prefix}/SmoothQuant_output_0"
        model.graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inv))
        mul = helper.make_node("Mul", [down.input[0], inv], [narrowed], name=f"{prefix}/SmoothQuant_Mul")
        nodes = model.graph.node
        nodes.insert(list(nodes).index(down), mul)
        down.input[0] = narrowed
    return SmoothingReport(alpha, len(pairs), len(sequences), sum(map(len, sequences)), round(ratio, 1))
