"""Gate checks: one metric of one variant against its threshold, with every offending case.

Used by the gate tests in ``evals/`` (``pytest evals -m smoke``): ``test_gate``,
``test_fp32_alignment`` and ``test_p95_latency`` each assert one :class:`GateCheck`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import metrics
from pipeline.config import Config
from pipeline.harness.scoring import FALSE_REFUSAL, METRIC, CaseResult, VariantResult, alignment, metric_cases
from pipeline.harness.uncertainty import bootstrap_ci, paired_diff_ci

GATE_ON = ("point", "lower-bound")  # --rc-gate-on: what must clear the threshold


@dataclass(frozen=True)
class GateCheck:
    """A threshold check: ``actual`` against ``threshold`` (``kind`` min: actual >= threshold;
    max: actual <= threshold). ``offenders``: (case, value, reasons) worst first.

    Attributes:
        ci: the 95% bootstrap interval of ``actual`` (None for latency or no cases).
        gate_on: ``point`` (the knob guide's definition: the point estimate decides) or
            ``lower-bound`` (``--rc-gate-on lower-bound``: for a min gate the interval's lower
            bound must clear the threshold).
    """

    variant: str
    metric: str
    threshold: float
    actual: float | None
    n: int
    kind: str = "min"
    offenders: tuple[tuple[CaseResult, float, tuple[str, ...]], ...] = ()
    unit: str = ""
    ci: tuple[float, float] | None = None
    gate_on: str = "point"

    @property
    def passed(self) -> bool | None:
        """True/False, or None when no case feeds the metric."""
        if self.actual is None:
            return None
        if self.kind == "min":
            value = self.ci[0] if self.gate_on == "lower-bound" and self.ci else self.actual
            return value >= self.threshold
        value = self.ci[1] if self.gate_on == "lower-bound" and self.ci else self.actual
        return value <= self.threshold

    @property
    def within_noise(self) -> bool:
        """The interval contains the threshold: another sample of cases could flip the verdict."""
        return self.ci is not None and self.ci[0] <= self.threshold <= self.ci[1]

    def message(self) -> str:
        """One block: metric, threshold, actual with its interval, then every offending case."""
        op = ">=" if self.kind == "min" else "<="
        ci = f" (95% CI {self.ci[0]:.4g}–{self.ci[1]:.4g}{', within noise' if self.within_noise else ''})" \
            if self.ci else ""
        rule = ", lower bound must clear it" if self.gate_on == "lower-bound" and self.ci else ""
        head = (f"{self.metric} on {self.variant}: actual {self.actual:.4g}{self.unit}{ci}, "
                f"required {op} {self.threshold:.4g}{self.unit}{rule} ({self.n} cases)")
        if not self.offenders:
            return head
        lines = [head, f"{len(self.offenders)} offending case(s), worst first:"]
        for r, value, reasons in self.offenders:
            lines.append(f"  [{r.case.set}/{r.case.id}] value={value:.3g} Q: {_clip(r.case.question)}")
            lines.append(f"      response: {_clip(r.response) or '(empty)'}")
            if r.case.reference:
                lines.append(f"      reference: {_clip(r.case.reference)}")
            if reasons:
                lines.append(f"      reasons: {'; '.join(reasons)}")
        return "\n".join(lines)


def junit_properties(check: GateCheck) -> list[tuple[str, Any]]:
    """The gate's numbers as JUnit testcase properties: variant, metric, threshold, actual,
    n_cases, ci_low / ci_high (95% interval; None for latency), within_noise, gate_on."""
    return [("variant", check.variant), ("metric", check.metric), ("threshold", check.threshold),
            ("actual", check.actual), ("n_cases", check.n), ("ci_low", check.ci[0] if check.ci else None),
            ("ci_high", check.ci[1] if check.ci else None), ("within_noise", check.within_noise),
            ("gate_on", check.gate_on)]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _ci(summary: dict, metric: str) -> tuple[float, float] | None:
    ci = (summary.get("ci") or {}).get(metric)
    return tuple(ci) if ci else None


def gate_check(cfg: Config, result: VariantResult, metric: str, gate_on: str = "point") -> GateCheck:
    """The gate ``metric`` (a :data:`pipeline.harness.scoring.METRICS` name) for one variant."""
    spec = METRIC[metric]
    pairs = spec.values(result.cases)
    case_min = spec.case_min(cfg)
    offenders = sorted(((r, v, tuple(r.reasons)) for r, v in pairs if v < case_min), key=lambda x: x[1])
    actual = result.summary["metrics"][metric]
    return GateCheck(result.variant, metric, spec.threshold(cfg), actual, len(pairs), "min", tuple(offenders),
                     ci=_ci(result.summary, metric), gate_on=gate_on)


def alignment_check(cfg: Config, reference: VariantResult, result: VariantResult, gate_on: str = "point"
                    ) -> GateCheck:
    """The fp32_alignment gate on answer cases: mean per-case alignment >= ``fp32_alignment_min``
    (refuse cases are left out: one fixed refusal sentence would match itself for free);
    offenders are the cases under that minimum, each with model.onnx's response as a reason."""
    ev = cfg.evaluation
    threshold = ev.thresholds.fp32_alignment_min
    pairs = alignment(reference, result, "answer")
    ref = reference.texts()
    offenders = sorted(((r, v, (f"model.onnx said: {_clip(ref[(r.case.set, r.case.id)])}",))
                        for r, v in pairs if v < threshold), key=lambda x: x[1])
    values = [v for _, v in pairs]
    actual = sum(values) / len(values) if values else None
    ci = bootstrap_ci(values, resamples=ev.bootstrap_resamples, seed=ev.seed)
    return GateCheck(result.variant, "fp32_alignment", threshold, actual, len(pairs), "min", tuple(offenders),
                     ci=ci, gate_on=gate_on)


def paired_change(cfg: Config, current: Sequence[CaseResult], baseline: Mapping[tuple[str, str], Mapping[str, Any]],
                  metric: str) -> dict[str, Any]:
    """How ``metric`` changed against a baseline on the cases both scored for it.

    Args:
        current: this run's case results of one variant.
        baseline: (set, id) → that case's ``scores`` in the other run (model.onnx of the same
            run, or the same variant in the ``--rc-compare-to`` run's ``cases.jsonl``).
        metric: a gate metric or ``false_refusal_rate``.

    Returns:
        ``{"delta": mean per-case difference (current − baseline), "ci": [low, high], "n": cases}``
        (delta and ci None when no case is shared); the interval is the paired bootstrap one.
    """
    ev = cfg.evaluation
    key = (FALSE_REFUSAL if metric == FALSE_REFUSAL.name else METRIC[metric]).score_key
    mine, theirs = [], []
    for r, value in metric_cases(current, metric):
        other = baseline.get((r.case.set, r.case.id))
        if other is not None and other.get(key) is not None:
            mine.append(value)
            theirs.append(float(other[key]))
    res = paired_diff_ci(mine, theirs, resamples=ev.bootstrap_resamples, seed=ev.seed)
    return {"delta": res[0], "ci": list(res[1]), "n": len(mine)} if res else {"delta": None, "ci": None, "n": 0}


def regression_check(cfg: Config, result: VariantResult, metric: str,
                     baseline: Mapping[tuple[str, str], Mapping[str, Any]]) -> str | None:
    """``--rc-fail-on-regression``: a message when ``metric`` fell by more than its paired 95%
    interval allows (the whole interval of the change is below 0), else None."""
    change = paired_change(cfg, result.cases, baseline, metric)
    if change["ci"] is None or change["ci"][1] >= 0:
        return None
    return (f"{metric} on {result.variant} regressed against the compared run: change {change['delta']:+.4g} "
            f"(paired 95% CI {change['ci'][0]:+.4g} to {change['ci'][1]:+.4g}, {change['n']} shared cases)")


def latency_check(cfg: Config, variant: str, rounds_ms: Sequence[float]) -> GateCheck:
    """The p95 latency gate: p95 of the benchmark rounds (ms) <= ``p95_latency_ms_max[variant]``."""
    budget = cfg.evaluation.thresholds.p95_latency_ms_max[variant]
    actual = metrics.percentile(rounds_ms, 95) if rounds_ms else None
    return GateCheck(variant, "p95_latency_ms", budget, actual, len(rounds_ms), "max", unit=" ms")
