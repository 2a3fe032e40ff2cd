"""ONNX export of the merged model into the folder layout transformers.js loads.

Run: ``python -m pipeline export`` (the chain up to this stage; ``--force`` rebuilds).

The export uses optimum-onnx (``optimum.exporters.onnx.main_export``, task
``text-generation-with-past``: one graph taking ``input_ids``, ``attention_mask``,
``position_ids`` and ``past_key_values.N.key/value``, returning ``logits`` and
``present.N.key/value``). The artifact folder holds, as transformers.js expects::

    config.json  generation_config.json  tokenizer.json  tokenizer_config.json (with chat_template)
    special_tokens_map.json  onnx/model.onnx  [onnx/model.onnx_data when over 2 GB]

The export is validated against the merged PyTorch model: the largest absolute logit
difference over a few chat prompts (full prompt pass plus one cached decoding step) is
recorded as ``max_logit_diff`` and must stay within ``export.logit_tolerance``.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cache import Artifact, build, make_key
from pipeline.config import Config
from pipeline.errors import ModelError

log = logging.getLogger(__name__)

TASK = "text-generation-with-past"
ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
# Files copied from the merged model folder when the exporter did not write them itself.
_ROOT_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "chat_template.jinja")
_CHECK_PROMPTS = (
    "What did you work on most recently?",
    "Which programming languages do you know?",
    "Tell me about your education.",
)
_FIX = "rerun `python -m pipeline export --force`"


def export(cfg: Config, merged: Artifact, *, force: bool = False) -> Artifact:
    """Export ``merged`` to ONNX (stage ``exported``, root ``<cache_dir>/exported``).

    Args:
        cfg: resolved configuration (``export`` section and ``model.trust_remote_code`` used).
        merged: the merged fp32 model folder (config.json, safetensors, tokenizer files).
        force: rebuild even when a cached export exists.

    Returns:
        The artifact; ``numbers`` holds ``max_logit_diff`` (absolute, logit units),
        ``logit_tolerance``, ``model_onnx_bytes`` (graph plus external data) and ``seconds``.

    Raises:
        ModelError: the merged folder or its config.json is missing, the exporter failed, the
            disk filled up, or the logit difference exceeds ``export.logit_tolerance``.
            Nothing is left marked complete (see :func:`pipeline.cache.build`).
    """
    src = Path(merged.path)
    if not src.is_dir():
        raise ModelError(f"merged model folder {src} does not exist; run `python -m pipeline merge` first")
    if not (src / "config.json").is_file():
        raise ModelError(f"{src / 'config.json'} is missing, so {src} is not a saved model; "
                         "rerun `python -m pipeline merge --force`")
    root = cfg.path(cfg.cache_dir) / "exported"
    key = make_key("exported", {"export": cfg.section_hash("export"),
                                "trust_remote_code": cfg.model.trust_remote_code},
                   upstream={"merged": merged.key})

    def builder(out: Path) -> dict[str, Any]:
        return _build(cfg, src, out, root / key[:16])  # disk full: pipeline.cache.build reports it

    return build("exported", root, key, builder, force=force,
                 inputs={"merged": str(src), "merged_key": merged.key})


def _build(cfg: Config, src: Path, out: Path, final: Path) -> dict[str, Any]:
    from optimum.exporters.onnx import main_export

    raw = out / "_optimum"
    try:
        main_export(str(src), raw, task=TASK, local_files_only=True, do_validation=False,
                    trust_remote_code=cfg.model.trust_remote_code)
    except OSError:
        raise  # disk full and friends: pipeline.cache.build reports them
    except Exception as exc:  # optimum raises ValueError/RuntimeError/KeyError for unsupported models
        raise ModelError(f"optimum could not export {src} to ONNX ({type(exc).__name__}: {exc}); "
                         "check that it is a causal LM optimum supports") from exc
    (out / ONNX_DIR).mkdir()
    for f in raw.iterdir():
        # model.onnx and its external data file (model.onnx_data) move together so the
        # relative location stored in the graph stays valid.
        dest = out / ONNX_DIR if f.name.startswith(MODEL_FILE) else out
        shutil.move(str(f), dest / f.name)
    raw.rmdir()
    for name in _ROOT_FILES:
        if not (out / name).exists() and (src / name).is_file():
            shutil.copy2(src / name, out / name)
    _inline_chat_template(out)
    diff = _max_logit_diff(src, out / ONNX_DIR / MODEL_FILE, cfg.model.trust_remote_code)
    tol = cfg.export.logit_tolerance
    size = sum(f.stat().st_size for f in (out / ONNX_DIR).iterdir())
    print(f"[exported] {ONNX_DIR}/{MODEL_FILE}: {size / 2**20:.1f} MiB, max |logit diff| vs PyTorch {diff:.2e}")
    if not diff <= tol:  # also catches NaN
        raise ModelError(f"{final / ONNX_DIR / MODEL_FILE}: max |logit diff| {diff:.3g} against "
                         f"the merged PyTorch model {src} exceeds export.logit_tolerance={tol}; "
                         f"check the merged model, then {_FIX}")
    return {"max_logit_diff": float(diff), "logit_tolerance": tol, "model_onnx_bytes": size}


def _inline_chat_template(folder: Path) -> None:
    """Put the chat template into tokenizer_config.json, where transformers.js reads it.

    transformers 4.57 saves it as chat_template.jinja beside the tokenizer files instead.
    """
    cfg_file = folder / "tokenizer_config.json"
    tpl_file = folder / "chat_template.jinja"
    if not cfg_file.is_file():
        raise ModelError(f"{cfg_file} is missing after export; the merged model must include its "
                         "tokenizer (rerun `python -m pipeline merge --force`)")
    data = json.loads(cfg_file.read_text(encoding="utf-8"))
    if not data.get("chat_template"):
        if not tpl_file.is_file():
            raise ModelError(f"{folder}: no chat template in tokenizer_config.json or chat_template.jinja; "
                             "the merged model's tokenizer must carry one (rerun the merge)")
        data["chat_template"] = tpl_file.read_text(encoding="utf-8")
        cfg_file.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def _max_logit_diff(src: Path, onnx_file: Path, trust_remote_code: bool) -> float:
    """Largest |logit| difference between PyTorch and ONNX on the check prompts.

    For each prompt: all positions of the prompt pass (empty past), then one decoding step
    through the returned ``present`` cache compared with PyTorch on the extended sequence.
    """
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32,
                                                 trust_remote_code=trust_remote_code).eval()
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    past_inputs = [i for i in session.get_inputs() if i.name.startswith("past_key_values.")]
    worst = 0.0
    for prompt in _CHECK_PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
        ids = np.asarray([ids], dtype=np.int64)
        n = ids.shape[1]
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "position_ids": np.arange(n, dtype=np.int64)[None]}
        for i in past_inputs:
            feed[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]), dtype=np.float32)
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, feed), strict=True))
        logits = out["logits"]
        nxt = np.array([[int(logits[0, -1].argmax())]], dtype=np.int64)
        step = {"input_ids": nxt, "attention_mask": np.ones((1, n + 1), dtype=np.int64),
                "position_ids": np.array([[n]], dtype=np.int64)}
        step.update({i.name: out[i.name.replace("past_key_values.", "present.")] for i in past_inputs})
        step_logits = session.run(["logits"], step)[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(np.concatenate([ids, nxt], axis=1))).logits.numpy()
        worst = max(worst, float(np.abs(ref[:, :n] - logits).max()),
                    float(np.abs(ref[:, n:] - step_logits).max()))
    return worst
