"""Model and dataset cards (README.md of the Hub repos) from templates and the latest eval report.

Used by ``python -m pipeline publish model|dataset [--dry-run]``; the templates are
``pipeline/publish/templates/model_card.md`` and ``dataset_card.md`` (Jinja2). The YAML front matter
is built as data and dumped with ``yaml.safe_dump``, so it always parses; its keys follow the
Hub's model-card and dataset-card metadata specs (``base_model``, ``library_name``,
``pipeline_tag``, ``model-index``; ``configs`` with ``data_files``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import DTYPES, VARIANTS, Config
from pipeline.errors import PipelineError

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The embedded default is SmolLM2-135M-Instruct (pipeline.train.base); its Hub id for base_model.
EMBEDDED_BASE_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_VARIANT_NOTES = {
    "model.onnx": "fp32 (transformers.js `dtype: \"fp32\"`, the WebGPU default)",
    "model_fp16.onnx": "fp16 weights and compute (`dtype: \"fp16\"`, WebGPU with shader-f16)",
    "model_quantized.onnx": "dynamic int8 weights (`dtype: \"q8\"`, the WASM default; same recipe as int8)",
    "model_int8.onnx": "dynamic int8 weights (`dtype: \"int8\"`)",
    "model_uint8.onnx": "dynamic uint8 weights (`dtype: \"uint8\"`)",
    "model_q4.onnx": "4-bit MatMulNBits weights, 4-bit embedding (`dtype: \"q4\"`), the smallest fp32-compute file",
    "model_q4f16.onnx": "the q4 weights with fp16 compute (`dtype: \"q4f16\"`, WebGPU)",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ReportError(PipelineError):
    """No usable evaluation report: missing, unreadable, or not in the expected format."""


@dataclass(frozen=True)
class EvalReport:
    """One evaluation report folder ``<evaluation.report_output>/<UTC timestamp>/`` (pipeline.harness.report).

    Attributes:
        path: the folder.
        timestamp: ``created`` from ``metrics.json`` (UTC, e.g. ``20261130T140102Z``).
        metrics: variant → metric → value: the numeric entries of ``metrics.json["variants"]``.
        passed: ``overall == "PASS"`` (a report where no gate ran does not count as passing).
        failed_gates: ids of the gate tests that failed or errored, e.g. ``test_gate[model_q4.onnx-token_f1]``.
        thresholds: variant → metric → (``min``|``max``, limit), as the report recorded them.
        sample: ``smoke`` or ``full``; n_cases: cases per variant; latency_method: one sentence.
        artifacts: stage → {key, path, built_by} the report was measured on.
    """

    path: Path
    timestamp: str
    metrics: Mapping[str, Mapping[str, float]]
    passed: bool
    failed_gates: tuple[str, ...] = ()
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sample: str | None = None
    n_cases: int | None = None
    latency_method: str = ""
    artifacts: Mapping[str, Any] = field(default_factory=dict)


def load_report(folder: Path) -> EvalReport:
    """Read ``folder/metrics.json`` (and ``config_snapshot.json`` when present) written by
    :func:`pipeline.harness.report.write_report`.

    Raises:
        ReportError: ``metrics.json`` is missing, not JSON, or has no ``variants``/``overall``.
    """
    folder = Path(folder)
    file = folder / "metrics.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"{file} does not exist; run `pytest evals -m smoke` to write a report") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{file} is not valid JSON ({exc}); rerun `pytest evals -m smoke`") from exc
    if not isinstance(data, dict) or not isinstance(data.get("variants"), dict) or "overall" not in data:
        raise ReportError(f"{file}: not a harness report (needs 'variants' and 'overall'); "
                          "rerun `pytest evals -m smoke`")
    metrics = {v: {k: float(x) for k, x in row.items() if _is_number(x)}
               for v, row in data["variants"].items() if isinstance(row, dict)}
    failed = tuple(str(g.get("id")) for g in data.get("gates") or []
                   if g.get("outcome") in ("failed", "error"))
    artifacts: Mapping[str, Any] = {}
    snapshot = folder / "config_snapshot.json"
    if snapshot.is_file():
        try:
            artifacts = json.loads(snapshot.read_text(encoding="utf-8")).get("artifacts") or {}
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            artifacts = {}
    return EvalReport(folder, str(data.get("created") or folder.name), metrics, data["overall"] == "PASS",
                      failed, data.get("thresholds") or {}, data.get("sample"), data.get("n_cases"),
                      str(data.get("latency_method") or ""), artifacts)


def latest_report(cfg: Config, explicit: Path | None = None) -> EvalReport:
    """The report in ``explicit``, else the newest folder under ``evaluation.report_output``.

    Report folders are named by UTC timestamp, so the newest sorts last; folders without
    ``metrics.json`` (a run still writing, or killed) are ignored.

    Raises:
        ReportError: no report folder exists (names the command that writes one).
    """
    if explicit is not None:
        return load_report(explicit)
    root = cfg.path(cfg.evaluation.report_output)
    folders = sorted(p for p in root.glob("*") if p.is_dir() and (p / "metrics.json").is_file()) \
        if root.is_dir() else []
    if not folders:
        raise ReportError(f"no eval report under {root}; run `pytest evals -m smoke` first "
                          "(or pass --report DIR)")
    return load_report(folders[-1])


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def base_model_id(cfg: Config) -> str | None:
    """The base model's Hub id for ``base_model`` (None when it is a local folder or file)."""
    if cfg.model.base == "embedded":
        return EMBEDDED_BASE_ID
    if _HUB_ID.match(cfg.model.base) and not cfg.path(cfg.model.base).exists():
        return cfg.model.base
    return None


def model_front_matter(cfg: Config, report: EvalReport | None, repo_id: str, dataset_id: str | None) -> dict:
    """The model card's YAML metadata as data (``model-index`` holds one result per variant)."""
    meta: dict[str, Any] = {}
    base = base_model_id(cfg)
    if base:
        meta["base_model"] = base
    if dataset_id:
        meta["datasets"] = [dataset_id]
    meta.update({
        "library_name": "transformers.js", "pipeline_tag": "text-generation",
        "license": cfg.evaluation.hub.license, "language": ["en"],
        "tags": ["transformers.js", "onnx", "text-generation", "lora", "resume", "conversational"],
    })
    if report is not None:
        results = []
        for variant, values in report.metrics.items():
            results.append({
                "task": {"type": "text-generation", "name": "Resume question answering"},
                # evaluation.hub.dataset_id names the evaluation sets the metrics were measured on
                "dataset": {"type": cfg.evaluation.hub.dataset_id, "name": f"resume eval sets ({variant})",
                            "split": "eval"},
                "metrics": [{"type": name, "name": f"{name} ({variant})",
                             "value": round(value, 4) if isinstance(value, float) else value}
                            for name, value in values.items()],
                "source": {"name": f"eval report {report.timestamp}"},
            })
        # evaluation.hub.model_id names the evaluated model in the model-index
        meta["model-index"] = [{"name": cfg.evaluation.hub.model_id, "results": results}]
    return meta


def refusal_answer(cfg: Config) -> str:
    """The refusal sentence the model was trained on (``dataset.refusal_answer``, name filled in)."""
    return cfg.dataset.refusal_answer.format(person_name=cfg.person_name, person_full_name=cfg.person_full_name)


def render_model_card(cfg: Config, report: EvalReport | None, *, repo_id: str, dataset_id: str | None,
                      onnx_files: list[str], allow_failing: bool = False, params: int | None = None,
                      device_dtypes: Mapping[str, str] | None = None) -> str:
    """The model card (README.md) text.

    Args:
        cfg: resolved config (training knobs, inference knobs, system prompt, licence).
        report: the eval report whose metrics fill ``model-index`` and the eval table.
        repo_id: Hub repo the card is for (usage snippets).
        dataset_id: Hub id of the training dataset, or None.
        onnx_files: file names under ``onnx/`` in the upload tree.
        allow_failing: the report's gates failed and the user published anyway: a warning is shown.
        params: parameter count of the merged model, for the size note.
        device_dtypes: transformers.js device → dtype written into config.json (empty:
            transformers.js's own defaults, q8 on WASM and fp32 elsewhere).
    """
    variants = _variant_order(report.metrics) if report else []
    knobs = [(f"lora.{k}", _fmt(v)) for k, v in cfg.lora.model_dump(mode="json").items()]
    knobs += [(f"sft.{k}", _fmt(v)) for k, v in cfg.sft.model_dump(mode="json").items()]
    front = yaml.safe_dump(model_front_matter(cfg, report, repo_id, dataset_id), sort_keys=False,
                           allow_unicode=True)
    return _render("model_card.md", {
        "front_matter": front, "title": repo_id.split("/")[-1], "person": cfg.person_full_name,
        "first_name": cfg.person_name, "base_model_display": base_model_id(cfg) or Path(cfg.model.base).name,
        "dataset_id": dataset_id, "repo_id": repo_id, "allow_failing": allow_failing, "report": report,
        "onnx_files": [(f, _VARIANT_NOTES.get(f, "ONNX graph data"))
                       for f in sorted(onnx_files, key=lambda f: (VARIANTS.index(f) if f in VARIANTS else 9, f))],
        "device_defaults": (", ".join(f"{d} on {dev}" for dev, d in device_dtypes.items()) + ", from the gate results"
                            if device_dtypes else "transformers.js's defaults (q8 on WASM, fp32 on WebGPU)"),
        "dtypes": " | ".join(f'"{DTYPES[f]}"' for f in VARIANTS if f in onnx_files),
        "system_prompt_js": json.dumps(cfg.system_prompt, ensure_ascii=False),
        "system_prompt_py": json.dumps(cfg.system_prompt, ensure_ascii=False),
        "max_new_tokens": cfg.inference.max_new_tokens, "repetition_penalty": cfg.inference.repetition_penalty,
        "profile": cfg.profile, "training_knobs": knobs,
        "dataset_summary": f"{cfg.dataset.backend} backend, {cfg.dataset.samples_per_category} samples per "
                           f"category requested, refusal share {cfg.dataset.refusal_share}.",
        "variants": variants, "eval_rows": eval_rows(report) if report else [],
        "refusal_example": refusal_answer(cfg),
        "size_note": (f"{params / 1e6:.0f}M parameters" if params >= 1e6 else f"{params:,} parameters")
                     if params else "this size",
    })


def dataset_front_matter(cfg: Config, metadata: Mapping[str, Any]) -> dict:
    """The dataset card's YAML metadata (``configs`` points ``load_dataset`` at the JSONL splits)."""
    total = int(metadata.get("total", 0))
    size = "n<1K" if total < 1000 else "1K<n<10K" if total < 10_000 else "10K<n<100K"
    meta: dict[str, Any] = {
        "license": cfg.evaluation.hub.license, "language": ["en"],
        "task_categories": ["question-answering", "text-generation"],
        "tags": ["synthetic", "resume", "grounded", "sft"], "size_categories": [size],
        "pretty_name": f"Resume Q/A: {cfg.person_full_name}",
        "configs": [{"config_name": "default", "data_files": [
            {"split": "train", "path": "train.jsonl"}, {"split": "validation", "path": "validation.jsonl"}]}],
    }
    return meta


def render_dataset_card(cfg: Config, metadata: Mapping[str, Any], report: EvalReport | None, *, repo_id: str,
                        model_id: str | None, allow_failing: bool = False) -> str:
    """The dataset card (README.md) text from the dataset's ``metadata.json`` contents.

    Args:
        metadata: parsed ``metadata.json`` of the dataset artifact (counts per split and
            category, ``grounding_rate``, ``refusal_share``, ``rejects``, ``backend``).
        report: the eval report of the model trained on it (summary line), or None.
    """
    per_split = metadata.get("counts_per_split") or {}
    cats = sorted(set(per_split.get("train", {})) | set(per_split.get("validation", {})))
    rows = [(c, per_split.get("train", {}).get(c, 0), per_split.get("validation", {}).get(c, 0)) for c in cats]
    front = yaml.safe_dump(dataset_front_matter(cfg, metadata), sort_keys=False, allow_unicode=True)
    return _render("dataset_card.md", {
        "front_matter": front, "title": repo_id.split("/")[-1], "person": cfg.person_full_name,
        "repo_id": repo_id, "model_id": model_id, "report": report, "allow_failing": allow_failing,
        "grounding_rate": _fmt(metadata.get("grounding_rate")),
        "refusal_pct": f"{100 * float(metadata.get('refusal_share', 0)):.0f}%",
        "backend": metadata.get("backend", cfg.dataset.backend), "profile": metadata.get("profile", cfg.profile),
        "total": metadata.get("total"), "train": metadata.get("train"), "validation": metadata.get("validation"),
        "category_rows": rows, "rejects": sorted((metadata.get("rejects") or {}).items()),
        "system_prompt": metadata.get("system_prompt", cfg.system_prompt),
    })


def split_front_matter(text: str) -> tuple[dict, str]:
    """Parse a card into (front matter mapping, body).

    Raises:
        ValueError: the text does not start with a ``---`` YAML block that parses to a mapping.
    """
    if not text.startswith("---\n"):
        raise ValueError("card does not start with a '---' front matter block")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError("front matter block is not closed by '---'")
    meta = yaml.safe_load(text[4:end + 1])
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, text[end + 5:]


def eval_rows(report: EvalReport) -> list[tuple[str, list[str], str]]:
    """The card's eval table: (metric, value per variant in :data:`VARIANTS` order, gate).

    Gate reads ``>= 0.55`` or ``<= 1200``; per-variant limits (latency budgets) are joined
    with `` / `` in the same variant order; empty for metrics without a gate.
    """
    variants = _variant_order(report.metrics)
    names = list(dict.fromkeys(m for v in variants for m in report.metrics[v]))
    rows = []
    for m in names:
        limits = [report.thresholds.get(v, {}).get(m) for v in variants]
        shown = [f"{'>=' if lim[0] == 'min' else '<='} {_fmt(float(lim[1]))}" if lim else "n/a" for lim in limits]
        gated = {s for s, lim in zip(shown, limits, strict=True) if lim}
        gate = "" if not gated else gated.pop() if len(gated) == 1 else " / ".join(shown)
        rows.append((m, [_fmt(report.metrics[v].get(m)) for v in variants], gate))
    return rows


def _variant_order(metrics: Mapping[str, Any]) -> list[str]:
    return [v for v in VARIANTS if v in metrics] + sorted(v for v in metrics if v not in VARIANTS)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _render(name: str, context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             autoescape=False)
    text = env.get_template(name).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text)
