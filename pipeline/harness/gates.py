"""Gate checks: one metric of one variant against its threshold, with every offending case.

Used by the gate tests in ``evals/`` (``pytest evals -m smoke``): ``test_gate``,
``test_fp32_alignment`` and ``test_p95_latency`` each assert one :class:`GateCheck`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline import metrics
from pipeline.config import Config
from pipeline.harness.scoring import CaseResult, VariantResult, alignment, metric_cases


@dataclass(frozen=True)
class GateCheck:
    """A threshold check: ``actual`` against ``threshold`` (``kind`` min: actual >= threshold;
    max: actual <= threshold). ``offenders``: (case, value, reasons) worst first."""

    variant: str
    metric: str
    threshold: float
    actual: float | None
    n: int
    kind: str = "min"
    offenders: tuple[tuple[CaseResult, float, tuple[str, ...]], ...] = ()
    unit: str = ""

    @property
    def passed(self) -> bool | None:
        """True/False, or None when no case feeds the metric."""
        if self.actual is None:
            return None
        return self.actual >= self.threshold if self.kind == "min" else self.actual <= self.threshold

    def message(self) -> str:
        """One block: metric, threshold, actual, then every offending case."""
        op = ">=" if self.kind == "min" else "<="
        head = (f"{self.metric} on {self.variant}: actual {self.actual:.4g}{self.unit}, "
                f"required {op} {self.threshold:.4g}{self.unit} ({self.n} cases)")
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


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def gate_check(cfg: Config, result: VariantResult, metric: str) -> GateCheck:
    """The gate ``metric`` (one of :data:`GATES`) for one variant; threshold ``<metric>_min``."""
    th = cfg.evaluation.thresholds
    threshold = getattr(th, f"{metric}_min")
    pairs = metric_cases(result.cases, metric)
    case_min = {"token_f1": th.case_token_f1_min, "keyword_coverage": th.case_keyword_coverage_min}.get(metric, 1.0)
    offenders = sorted(((r, v, tuple(r.reasons)) for r, v in pairs if v < case_min), key=lambda x: x[1])
    actual = result.summary["metrics"][metric]
    return GateCheck(result.variant, metric, threshold, actual, len(pairs), "min", tuple(offenders))


def alignment_check(cfg: Config, reference: VariantResult, result: VariantResult) -> GateCheck:
    """The fp32_alignment gate: mean per-case alignment >= ``fp32_alignment_min``; offenders
    are the cases under that minimum, each with model.onnx's response as a reason."""
    threshold = cfg.evaluation.thresholds.fp32_alignment_min
    pairs = alignment(reference, result)
    ref = reference.texts()
    offenders = sorted(((r, v, (f"model.onnx said: {_clip(ref[(r.case.set, r.case.id)])}",))
                        for r, v in pairs if v < threshold), key=lambda x: x[1])
    actual = sum(v for _, v in pairs) / len(pairs) if pairs else None
    return GateCheck(result.variant, "fp32_alignment", threshold, actual, len(pairs), "min", tuple(offenders))


def latency_check(cfg: Config, variant: str, rounds_ms: Sequence[float]) -> GateCheck:
    """The p95 latency gate: p95 of the benchmark rounds (ms) <= ``p95_latency_ms_max[variant]``."""
    budget = cfg.evaluation.thresholds.p95_latency_ms_max[variant]
    actual = metrics.percentile(rounds_ms, 95) if rounds_ms else None
    return GateCheck(variant, "p95_latency_ms", budget, actual, len(rounds_ms), "max", unit=" ms")
