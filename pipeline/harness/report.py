"""The gate report written at the end of every ``pytest evals`` session, also when gates fail.

Called by the root ``conftest.py`` (``pytest_sessionfinish``, on the xdist controller only).
Layout of ``<evaluation.report_output>/<UTC timestamp>/``:

- ``summary.md``: PASS/FAIL, metric table per variant with threshold checks, gate tests
  with their pytest outcome, latency method, deltas against ``--rc-compare-to``.
- ``metrics.json``: the same numbers, machine-readable (``gates`` mirrors the JUnit XML).
- ``failures.jsonl``: one line per failing case per variant: question, response, reasons.
- ``config_snapshot.json``: resolved config, profile, artifact keys and who built them.
- ``benchmark.json``: raw latency rounds (ms) and pytest-benchmark stats per variant.
- ``latency.png``, ``metrics.png``: latency distribution per variant; metric bars with
  threshold markers (matplotlib, Agg backend).

The folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.config import VARIANTS, Config
from pipeline.harness.cases import sample_notes
from pipeline.harness.gates import paired_change
from pipeline.harness.html import render_html
from pipeline.harness.scoring import (
    FALSE_REFUSAL,
    GATES,
    CaseResult,
    VariantResult,
    alignment,
)
from pipeline.harness.uncertainty import bootstrap_ci

METRICS_JSON = "metrics.json"
CASES_JSONL = "cases.jsonl"
_LOWER_IS_BETTER = {"p95_latency_ms", "quality_pass_latency_mean_ms", "quality_pass_latency_p95_ms"}
# The quality pass's speed numbers, named apart from the p95 gate: it may batch prompts
# (evaluation.batch_size), so a case's latency there is its batch's wall time.
_QUALITY_PASS_KEYS = {"tokens_per_s": "quality_pass_tokens_per_s",
                      "latency_mean_ms": "quality_pass_latency_mean_ms",
                      "latency_p95_ms": "quality_pass_latency_p95_ms"}


def variant_table(cfg: Config, results: Mapping[str, VariantResult], latency: Mapping[str, Mapping[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
    """Per variant: every gate metric, fp32_alignment (quantized variants, when model.onnx
    ran), p95_latency_ms (benchmark, when measured) and the quality pass's speed numbers
    (``quality_pass_*``: not gated; batched when ``evaluation.batch_size`` > 1)."""
    table: dict[str, dict[str, Any]] = {}
    ref = results.get("model.onnx")
    for variant, res in results.items():
        row: dict[str, Any] = dict(res.summary["metrics"])
        if variant != "model.onnx" and ref is not None:
            for name, behavior in (("fp32_alignment", "answer"), ("fp32_alignment_refuse", "refuse")):
                pairs = alignment(ref, res, behavior)
                row[name] = sum(v for _, v in pairs) / len(pairs) if pairs else None
        if variant in latency:
            row["p95_latency_ms"] = latency[variant]["p95_ms"]
        for key, name in _QUALITY_PASS_KEYS.items():
            row[name] = res.summary[key]
        table[variant] = row
    for variant, lat in latency.items():
        table.setdefault(variant, {})["p95_latency_ms"] = lat["p95_ms"]
    return table


def intervals(cfg: Config, results: Mapping[str, VariantResult]) -> dict[str, dict[str, Any]]:
    """variant → metric → {"ci": [low, high] or None, "n": cases}: the 95% bootstrap interval of
    every metric in the table (gate metrics and false_refusal_rate from the quality pass;
    fp32 alignment on answer and refuse cases, computed here)."""
    ev = cfg.evaluation
    out: dict[str, dict[str, Any]] = {}
    ref = results.get("model.onnx")
    for variant, res in results.items():
        row = {m: {"ci": res.summary.get("ci", {}).get(m), "n": res.summary["n"].get(m)} for m in res.summary["n"]}
        if variant != "model.onnx" and ref is not None:
            for name, behavior in (("fp32_alignment", "answer"), ("fp32_alignment_refuse", "refuse")):
                values = [v for _, v in alignment(ref, res, behavior)]
                ci = bootstrap_ci(values, resamples=ev.bootstrap_resamples, seed=ev.seed)
                row[name] = {"ci": list(ci) if ci else None, "n": len(values)}
        out[variant] = row
    return out


def _paired(cfg: Config, current: Sequence[CaseResult], baseline: Mapping[tuple[str, str], Mapping[str, Any]]
            ) -> dict[str, dict[str, Any]]:
    """metric → :func:`pipeline.harness.gates.paired_change` for every gate metric and
    false_refusal_rate."""
    return {m: paired_change(cfg, current, baseline, m) for m in (*GATES, FALSE_REFUSAL.name)}


def paired_vs_fp32(cfg: Config, results: Mapping[str, VariantResult]) -> dict[str, dict[str, Any]]:
    """Quantized variant → metric → paired difference from model.onnx on the same cases."""
    ref = results.get("model.onnx")
    if ref is None:
        return {}
    baseline = {(r.case.set, r.case.id): r.scores for r in ref.cases}
    return {v: _paired(cfg, res.cases, baseline) for v, res in results.items() if v != "model.onnx"}


def thresholds_for(cfg: Config, variant: str) -> dict[str, tuple[str, float]]:
    """metric → (``min``|``max``, threshold) for the gates of ``variant``."""
    th = cfg.evaluation.thresholds
    out = {m: ("min", getattr(th, f"{m}_min")) for m in GATES}
    if variant != "model.onnx":
        out["fp32_alignment"] = ("min", th.fp32_alignment_min)
    out["p95_latency_ms"] = ("max", th.p95_latency_ms_max[variant])
    return out


def load_previous(folder: Path) -> dict[str, Any]:
    """The ``metrics.json`` of an earlier report folder.

    Raises:
        FileNotFoundError / ValueError: no metrics.json, or it is not a report's JSON.
    """
    data = json.loads((Path(folder) / METRICS_JSON).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "variants" not in data:
        raise ValueError(f"{folder / METRICS_JSON} is not a harness report (no 'variants')")
    return data


def deltas(current: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """current − previous for every (variant, metric) that is a number in both."""
    out: dict[str, dict[str, float]] = {}
    for variant, row in current.items():
        before = previous.get("variants", {}).get(variant, {})
        for metric, value in row.items():
            old = before.get(metric)
            if isinstance(value, (int, float)) and isinstance(old, (int, float)):
                out.setdefault(variant, {})[metric] = value - old
    return out


def directions(delta_table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, str]]:
    """``better`` / ``worse`` / ``same`` for each delta (latency metrics are better when lower)."""
    def word(metric: str, d: float) -> str:
        if abs(d) < 1e-12:
            return "same"
        lower = metric in _LOWER_IS_BETTER or metric == FALSE_REFUSAL.name
        return "better" if (d < 0) == lower else "worse"

    return {v: {m: word(m, d) for m, d in row.items()} for v, row in delta_table.items()}


def load_previous_cases(folder: Path) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """variant → (set, id) → the case's line of an earlier report's ``cases.jsonl`` ({} when the
    folder has none: reports written before cases.jsonl existed)."""
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    path = Path(folder) / CASES_JSONL
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.setdefault(row["variant"], {})[(row["set"], row["id"])] = row
    return out


def compare(cfg: Config, results: Mapping[str, VariantResult], table: Mapping[str, Mapping[str, Any]],
            folder: Path) -> dict[str, Any]:
    """Everything ``--rc-compare-to`` adds: signed deltas, better/worse, per-case flips
    (passed → failed and back, by triage reasons), and paired intervals of each metric's change
    on the cases both runs scored (``regressions``: the metrics whose whole interval is below 0)."""
    previous = load_previous(folder)
    delta_table = deltas(table, previous)
    before = load_previous_cases(folder)
    flips: dict[str, dict[str, list[str]]] = {}
    paired: dict[str, dict[str, Any]] = {}
    regressions: dict[str, list[str]] = {}
    for variant, res in results.items():
        old = before.get(variant, {})
        if not old:
            continue
        to_failed = [f"{r.case.set}/{r.case.id}" for r in res.cases
                     if (r.case.set, r.case.id) in old and r.reasons and not old[(r.case.set, r.case.id)]["reasons"]]
        to_passed = [f"{r.case.set}/{r.case.id}" for r in res.cases
                     if (r.case.set, r.case.id) in old and not r.reasons and old[(r.case.set, r.case.id)]["reasons"]]
        flips[variant] = {"passed_to_failed": to_failed, "failed_to_passed": to_passed}
        paired[variant] = _paired(cfg, res.cases, {k: row["scores"] for k, row in old.items()})
        regressions[variant] = [m for m, d in paired[variant].items()
                                if m in GATES and d["ci"] is not None and d["ci"][1] < 0]
    return {"path": str(folder), "deltas": delta_table, "directions": directions(delta_table),
            "flips": flips, "paired": paired, "regressions": regressions}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci_text(ci: Sequence[float] | None) -> str:
    return f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _summary_md(payload: dict[str, Any]) -> str:
    lines = [f"# Evaluation report: {payload['overall']}", "",
             f"- created: {payload['created']}", f"- profile: `{payload['profile']}`, sample: `{payload['sample']}` "
             f"({payload['n_cases']} cases)", f"- latency: {payload['latency_method']}",
             "- every metric: mean over the cases that feed it (n), with its 95% bootstrap interval; a gate "
             "whose interval contains its threshold is *within noise* (another sample of cases could flip it)"]
    for note in payload.get("notes", []):
        lines.append(f"- {note}")
    batches = sorted({str(g.get("batch_size")) for g in (payload.get("generation") or {}).values()})
    if batches:
        lines.append(f"- `quality_pass_*` rows: speed of the quality pass (batch size {', '.join(batches)}; a case's "
                     "latency is its batch's wall time), not gated; the latency gate is `p95_latency_ms`")
    compare_ = payload.get("compare_to") or {}
    if compare_:
        lines.append(f"- compared to: `{compare_['path']}` (Δ = this run − that run)")
    lines.append("")
    deltas_ = compare_.get("deltas", {})
    words = compare_.get("directions", {})
    for variant, row in payload["variants"].items():
        verdict = payload["variant_verdicts"].get(variant, "n/a")
        sizes = payload.get("sets", {}).get(variant, {})
        paired = payload.get("paired_vs_fp32", {}).get(variant, {})
        lines += [f"## {variant}: {verdict}", ""]
        if sizes:
            lines += ["cases per set: " + ", ".join(f"{k} {n}" for k, n in sizes.items()), ""]
        download = payload.get("download_bytes", {}).get(variant)
        if download:
            lines += [f"download size (graph and external data): {download / 2**20:.1f} MiB", ""]
        browser = payload.get("browser", {}).get(variant)
        if browser:
            lines += [f"in headless Chromium ({browser['device'].upper()}, transformers.js, not gated): loaded in "
                      f"{browser['load_s']:.1f} s, first token {browser['first_token_ms']:.0f} ms (median of "
                      f"{browser['questions']}), {browser['tokens_per_s']:.1f} tokens/s", ""]
        head = "| metric | value | n | 95% CI | threshold | check |" + (" Δ vs model.onnx (95% CI) |" if paired else "")
        head += " Δ vs compared run |" if deltas_ else ""
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        checks = payload["thresholds"][variant]
        ints = payload.get("intervals", {}).get(variant, {})
        for metric, value in row.items():
            info = ints.get(metric, {})
            if metric in checks:
                kind, limit = checks[metric]
                ok = None if value is None else (value >= limit if kind == "min" else value <= limit)
                check = "n/a" if ok is None else ("PASS" if ok else "FAIL")
                ci = info.get("ci")
                if ci and ok is not None and ci[0] <= limit <= ci[1]:
                    check += " (within noise)"
                limit_s = f"{'≥' if kind == 'min' else '≤'} {_fmt(limit)}"
            else:
                check, limit_s = "", ""
            cells = [metric, _fmt(value), _fmt(info.get("n", "")), _ci_text(info.get("ci")), limit_s, check]
            if paired:
                d = paired.get(metric)
                cells.append(f"{_signed(d['delta'])} ({_ci_text(d['ci'])})" if d and d["delta"] is not None else "")
            if deltas_:
                delta = deltas_.get(variant, {}).get(metric)
                cells.append(f"{_signed(delta)} {words.get(variant, {}).get(metric, '')}" if delta is not None else "")
            lines.append("| " + " | ".join(cells) + " |")
        flips = compare_.get("flips", {}).get(variant)
        if flips:
            lines += ["", f"per-case flips against the compared run: {len(flips['passed_to_failed'])} passed → failed"
                      + (f" ({', '.join(flips['passed_to_failed'][:20])})" if flips['passed_to_failed'] else "")
                      + f", {len(flips['failed_to_passed'])} failed → passed"
                      + (f" ({', '.join(flips['failed_to_passed'][:20])})" if flips['failed_to_passed'] else "")]
        regressions = compare_.get("regressions", {}).get(variant)
        if regressions:
            lines += ["", f"regressions beyond the paired 95% interval: {', '.join(regressions)}"]
        cats = payload["per_category"].get(variant, {})
        if cats:
            lines += ["", "| category | cases | pass rate |", "|---|---|---|"]
            lines += [f"| {c} | {v['n']} | {v['pass_rate']:.2f} |" for c, v in cats.items()]
        lines.append("")
    lines += ["## Gate tests", "", "| test | outcome | actual | threshold |", "|---|---|---|---|"]
    for gate in payload["gates"]:
        lines.append(f"| `{gate['id']}` | {gate['outcome'].upper()} | {_fmt(gate.get('actual'))} "
                     f"| {_fmt(gate.get('threshold'))} |")
    failed = [g for g in payload["gates"] if g["outcome"] == "failed"]
    if failed:
        lines += ["", "## Failing gates", ""]
        for gate in failed:
            lines += [f"### `{gate['id']}`", "", "```", (gate.get("message") or "").strip(), "```", ""]
    skipped = [g for g in payload["gates"] if g["outcome"] == "skipped"]
    if skipped:
        lines += ["", "## Skipped gates", ""] + [f"- `{g['id']}`: {g.get('message', '')}" for g in skipped]
    lines += ["", f"Cases under a per-case triage threshold (case_token_f1_min, case_keyword_coverage_min, "
              f"wrong behavior, too long): {payload['failing_cases']}, listed in failures.jsonl; every case with "
              "its response and scores is in cases.jsonl, and report.html shows them filterable", ""]
    return "\n".join(lines)


def _plots(folder: Path, table: Mapping[str, Mapping[str, Any]], thresholds: Mapping[str, Any],
           latency: Mapping[str, Mapping[str, Any]], results: Mapping[str, VariantResult]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    variants = list(table)
    fig, ax = plt.subplots(figsize=(8, 4))
    data, labels = [], []
    for v in variants:
        if v in latency:
            data.append(latency[v]["rounds_ms"])
            labels.append(f"{v}\n(benchmark)")
        elif v in results:
            data.append([r.latency_ms for r in results[v].cases])
            labels.append(f"{v}\n(quality pass)")
    if data:
        ax.boxplot(data)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        for i, v in enumerate([v for v in variants if v in latency or v in results], start=1):
            if v in latency:
                ax.hlines(latency[v]["budget_ms"], i - 0.4, i + 0.4, colors="red", linestyles="dashed")
    ax.set_ylabel("latency per request (ms)")
    ax.set_title("Latency per variant (red: p95 budget)")
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=100)
    plt.close(fig)
    written.append("latency.png")

    metrics_ = [*GATES, "fp32_alignment"]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(1, len(variants))
    for i, v in enumerate(variants):
        xs = [j + i * width for j in range(len(metrics_))]
        ax.bar(xs, [table[v].get(m) or 0.0 for m in metrics_], width, label=v)
    for j, m in enumerate(metrics_):
        limit = next((thresholds[v][m][1] for v in variants if m in thresholds[v]), None)
        if limit is not None:
            ax.hlines(limit, j - 0.1, j + 0.8, colors="black", linestyles="dashed")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics_))], metrics_, rotation=20, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title("Metrics per variant (dashed: threshold)")
    if variants:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "metrics.png", dpi=100)
    plt.close(fig)
    written.append("metrics.png")
    return written


def write_report(report_root: Path, *, cfg: Config, sample: str | None, results: Mapping[str, VariantResult],
                 gates: Sequence[Mapping[str, Any]], latency: Mapping[str, Mapping[str, Any]],
                 artifacts: Mapping[str, Any], latency_method: str, options: Mapping[str, Any],
                 compare_to: Path | None = None, browser: Mapping[str, Any] | None = None) -> Path:
    """Write one report folder and return its path.

    Args:
        report_root: ``evaluation.report_output`` (or ``--rc-report-dir``).
        cfg: the resolved :class:`~pipeline.config.Config`.
        sample: ``smoke`` or ``full``.
        results: variant → :class:`~pipeline.harness.scoring.VariantResult` of the quality pass.
        gates: one dict per gate test: id, nodeid, variant, metric, outcome, actual,
            threshold, message (what the JUnit XML holds).
        latency: variant → {rounds_ms, p95_ms, mean_ms, budget_ms, stats} from the benchmark.
        artifacts: stage → {key, path, built_by}.
        latency_method: one sentence on how latency was measured.
        options: the ``--rc-*`` options of the run.
        compare_to: an earlier report folder; adds per-metric deltas.
        browser: variant → {device, load_s, first_token_ms, tokens_per_s, ...} from
            ``evals/test_browser.py`` (numbers beside the gates, not gates).

    Returns:
        ``<report_root>/<UTC timestamp>`` (a ``-N`` suffix when that name exists).
    """
    created = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    report_root = Path(report_root)
    report_root.mkdir(parents=True, exist_ok=True)
    final = report_root / created
    n = 1
    while final.exists():
        n += 1
        final = report_root / f"{created}-{n}"
    tmp = report_root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        table = variant_table(cfg, results, latency)
        thresholds = {v: thresholds_for(cfg, v) for v in table}
        verdicts: dict[str, str] = {}
        for gate in gates:
            if gate["outcome"] in ("failed", "error"):
                verdicts[gate["variant"]] = "FAIL"
            elif gate["outcome"] == "passed":
                verdicts.setdefault(gate["variant"], "PASS")
        overall = "FAIL" if any(g["outcome"] in ("failed", "error") for g in gates) else (
            "PASS" if any(g["outcome"] == "passed" for g in gates) else "NO GATES RAN")
        payload: dict[str, Any] = {
            "created": created, "profile": cfg.profile, "sample": sample, "overall": overall,
            "n_cases": max((len(r.cases) for r in results.values()), default=0),
            "latency_method": latency_method, "variants": table, "variant_verdicts": verdicts,
            "thresholds": thresholds, "gates": list(gates),
            "per_category": {v: r.summary["per_category"] for v, r in results.items()},
            "n": {v: r.summary["n"] for v, r in results.items()},
            "generation": {v: r.generation for v, r in results.items()},
            "failing_cases": sum(r.summary["failing_cases"] for r in results.values()),
        }
        first = next(iter(results.values()), None)
        payload["notes"] = sample_notes(cfg, [r.case for r in first.cases], sample) if first and sample else []
        payload["intervals"] = intervals(cfg, results)
        payload["paired_vs_fp32"] = paired_vs_fp32(cfg, results)
        payload["sets"] = {v: _set_sizes(r) for v, r in results.items()}
        payload["download_bytes"] = _download_bytes(artifacts, [*results, *latency, *(browser or {})])
        payload["browser"] = dict(browser or {})
        if compare_to is not None:
            payload["compare_to"] = compare(cfg, results, table, compare_to)
        (tmp / METRICS_JSON).write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        with open(tmp / CASES_JSONL, "w", encoding="utf-8") as fh:
            for variant, res in results.items():
                for r in res.cases:
                    fh.write(json.dumps(_case_line(variant, r), ensure_ascii=False) + "\n")
        with open(tmp / "failures.jsonl", "w", encoding="utf-8") as fh:
            for variant, res in results.items():
                for r in res.cases:
                    if r.reasons:
                        fh.write(json.dumps({"variant": variant, "set": r.case.set, "id": r.case.id,
                                             "category": r.case.category, "question": r.case.question,
                                             "reference": r.case.reference,
                                             "expected_behavior": r.case.expected_behavior,
                                             "response": r.response, "reasons": r.reasons,
                                             "scores": r.scores}, ensure_ascii=False) + "\n")
        snapshot = {"profile": cfg.profile, "sample": sample, "options": dict(options),
                    "config": cfg.snapshot(), "artifacts": dict(artifacts)}
        (tmp / "config_snapshot.json").write_text(json.dumps(snapshot, indent=2, default=str), encoding="utf-8")
        bench = {"method": latency_method, "variants": dict(latency),
                 "quality_pass": {v: {"latency_ms": [r.latency_ms for r in res.cases],
                                      "tokens_per_s": res.summary["tokens_per_s"],
                                      "batch_size": res.generation["batch_size"]} for v, res in results.items()}}
        (tmp / "benchmark.json").write_text(json.dumps(bench, indent=2, default=str), encoding="utf-8")
        _plots(tmp, table, thresholds, latency, results)
        (tmp / "summary.md").write_text(_summary_md(payload), encoding="utf-8")
        (tmp / "report.html").write_text(render_html(payload, [_case_line(v, r) for v, res in results.items()
                                                               for r in res.cases]), encoding="utf-8")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _case_line(variant: str, r: CaseResult) -> dict[str, Any]:
    return {"variant": variant, "set": r.case.set, "id": r.case.id, "category": r.case.category,
            "question": r.case.question, "reference": r.case.reference,
            "expected_behavior": r.case.expected_behavior, "response": r.response, "scores": r.scores,
            "reasons": r.reasons, "passed": not r.reasons}


def _download_bytes(artifacts: Mapping[str, Any], variants: Sequence[str]) -> dict[str, int]:
    """variant → bytes a browser downloads for it (graph plus ``_data`` files), from the ONNX
    artifact the report was measured on ({} when that folder is not recorded or gone)."""
    from pipeline.onnx.quantize import variant_bytes

    folder = (artifacts.get("onnx") or {}).get("path")
    onnx_dir = Path(folder) / "onnx" if folder else None
    if onnx_dir is None or not onnx_dir.is_dir():
        return {}
    return {v: variant_bytes(onnx_dir, v) for v in dict.fromkeys(variants) if (onnx_dir / v).is_file()}


def _set_sizes(res: VariantResult) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for r in res.cases:
        sizes[r.case.set] = sizes.get(r.case.set, 0) + 1
    return sizes


def results_from_dir(folder: Path) -> dict[str, VariantResult]:
    """Every ``*.result.json`` written by the workers into the run's shared folder."""
    out = {}
    for file in sorted(Path(folder).glob("*.result.json")):
        res = VariantResult.from_json(file.read_text(encoding="utf-8"))
        out[res.variant] = res
    order = {v: i for i, v in enumerate(VARIANTS)}  # the gate tests. order (VARIANTS)
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))

