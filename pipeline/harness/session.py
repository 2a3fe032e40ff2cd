"""The harness session: what one ``pytest evals`` run resolved once, and the state it keeps.

:class:`HarnessSession` is made by :func:`HarnessSession.from_config` in
``pytest_configure`` (:mod:`pipeline.harness.plugin`), holds the resolved config, the
variants under test, the sample size and the run folder that an xdist controller shares
with its workers, and builds artifacts and per-variant results once per run. Workers put
their per-variant results, latency rounds and build records as JSON files into the run
folder; :meth:`HarnessSession.collect` reads them back for the report.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.cache import write_atomic
from pipeline.config import DTYPES, Config, load_config
from pipeline.errors import ConfigError, DatasetError
from pipeline.harness.cases import check_eval_sets
from pipeline.harness.marks import only_latency, selected_sizes
from pipeline.harness.report import results_from_dir
from pipeline.harness.report import write_report as write_report_folder

GATE_TESTS = ("test_gate", "test_fp32_alignment", "test_p95_latency")
_PARAMS = re.compile(r"^(?P<test>\w+)\[(?P<variant>[^\]-]+\.onnx)(?:-(?P<metric>[^\]]+))?\]$")


@dataclass(eq=False)
class HarnessSession:
    """What a ``pytest evals`` run resolved once, in ``pytest_configure``.

    Attributes:
        cfg: the resolved :class:`pipeline.config.Config` (None until evals are in scope).
        variants: ONNX files under test, in :data:`pipeline.config.VARIANTS` order: ``--rc-variants``,
            else every file ``quantization.variants`` builds (set by :meth:`resolve`).
        sample: ``smoke``, ``full`` or None (no ``-m`` chose a size).
        report_root: where report folders go.
        compare_to: earlier report folder for deltas, or None.
        rebuild: stage names to rebuild once in this run (``all`` = every stage).
        workers: xdist worker count (0 = serial); ``worker_id``: ``gwN`` on a worker, else None.
        run_dir: folder shared by the controller and its workers for this run.
        gate_on: ``point`` or ``lower-bound`` (``--rc-gate-on``).
        fail_on_regression: ``--rc-fail-on-regression`` (needs ``compare_to``).
        response_cache: reuse cached responses (off with ``--rc-no-response-cache`` or ``--rc-rebuild``).
    """

    config_path: Path
    profile: str | None
    variants: tuple[str, ...]
    sample: str | None
    report_root_opt: str | None
    compare_to: Path | None
    rebuild: tuple[str, ...]
    workers: int
    worker_id: str | None
    run_dir: Path
    gate_on: str = "point"
    fail_on_regression: bool = False
    response_cache: bool = True
    cfg: Config | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)
    report_path: Path | None = None
    _arts: dict[str, Any] = field(default_factory=dict)
    _generators: dict[str, Any] = field(default_factory=dict)
    _results: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: pytest.Config) -> HarnessSession:
        """The session of one pytest run, from its parsed options (``--rc-*`` already checked
        and converted by the plugin's ``type=`` functions) and its ``-m`` expression.

        Raises:
            pytest.UsageError: ``-m`` selects both sample sizes, or only latency gates under
                ``-n`` (workers contend for the CPU, so nothing would be measured).
        """
        opt = config.option
        markexpr = config.getoption("markexpr") or ""
        sizes = selected_sizes(markexpr)
        if sizes == {"smoke", "full"}:
            raise pytest.UsageError(f"-m {markexpr!r} selects both smoke and full gates; choose one sample size, "
                                    "e.g. -m smoke, -m full, or -m 'full and latency'")
        workerinput = getattr(config, "workerinput", None)
        numprocesses = getattr(opt, "numprocesses", None) or 0
        if opt.rc_fail_on_regression and opt.rc_compare_to is None:
            raise pytest.UsageError("--rc-fail-on-regression needs --rc-compare-to DIR (the run to compare against)")
        if numprocesses and not workerinput and only_latency(markexpr):
            raise pytest.UsageError(f"-m {markexpr!r} selects only latency gates, which cannot be measured under "
                                    f"-n {numprocesses} (workers contend for the CPU); drop -n")
        run_dir = (Path(workerinput["rc_run_dir"]) if workerinput and "rc_run_dir" in workerinput
                   else Path(tempfile.gettempdir()) / f"rc-run-{uuid.uuid4().hex[:12]}")
        return cls(
            config_path=Path(opt.rc_config), profile=opt.rc_profile, variants=opt.rc_variants,
            sample=next(iter(sizes), None), report_root_opt=opt.rc_report_dir, compare_to=opt.rc_compare_to,
            rebuild=opt.rc_rebuild,
            workers=int(workerinput["workercount"]) if workerinput else (numprocesses if isinstance(numprocesses, int) else 0),
            worker_id=workerinput["workerid"] if workerinput else None, run_dir=run_dir,
            gate_on=opt.rc_gate_on, fail_on_regression=opt.rc_fail_on_regression,
            response_cache=not (opt.rc_no_response_cache or opt.rc_rebuild),
        )

    @property
    def report_root(self) -> Path:
        """``--rc-report-dir`` or ``evaluation.report_output`` resolved against the config."""
        return Path(self.report_root_opt) if self.report_root_opt else self.cfg.path(self.cfg.evaluation.report_output)

    def resolve(self) -> None:
        """Load the config and check the eval sets once. Raises pytest.UsageError with the
        ConfigError's or the eval file's (``file:line``) message."""
        if self.cfg is not None:
            return

        try:
            cfg = load_config(self.config_path, profile=self.profile)
        except ConfigError as exc:
            raise pytest.UsageError(f"--rc-config: {exc}") from exc
        try:
            check_eval_sets(cfg)
        except DatasetError as exc:
            raise pytest.UsageError(f"eval set: {exc}") from exc
        unbuilt = [v for v in self.variants if v not in cfg.variants]
        if unbuilt:
            raise pytest.UsageError(
                f"--rc-variants {','.join(unbuilt)}: not built, because quantization.variants is "
                f"{list(cfg.quantization.variants)}; add {[DTYPES[v] for v in unbuilt]} there or drop them")
        self.variants = self.variants or cfg.variants
        self.cfg = cfg

    # -- artifacts -------------------------------------------------------------------
    def chain(self, until: str):
        """The artifact of stage ``until`` through :func:`pipeline.chain.run_chain` and the
        cache. With ``--rc-rebuild`` the first caller in the run (any worker) rebuilds the
        whole chain under a run-wide lock; every later caller waits, then reuses."""
        if until not in self._arts:
            from filelock import FileLock

            from pipeline.chain import run_chain

            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.rebuild:
                with FileLock(str(self.run_dir / "rebuild.lock")):
                    marker = self.run_dir / "rebuild.done"
                    arts = run_chain(self.cfg, until="onnx", force=() if marker.exists() else self.rebuild)
                    marker.touch()
            else:
                arts = run_chain(self.cfg, until=until)
            self._arts.update(arts)
            _write_json(self.run_dir / f"chain-{self.worker_id or 'main'}.json",
                        {s: {"key": a.key, "path": str(a.path), "reused": a.reused} for s, a in self._arts.items()})
        return self._arts[until]

    def generator(self, model_dir: Path, variant: str):
        """One :class:`pipeline.onnx.runtime.Generator` (one InferenceSession) per variant per process."""
        if variant not in self._generators:
            from pipeline.harness.scoring import make_generator

            self._generators[variant] = make_generator(self.cfg, model_dir, variant)
        return self._generators[variant]

    def result(self, model_dir: Path, variant: str, cases):
        """The variant's :class:`pipeline.harness.scoring.VariantResult`: generated once per run
        (the first worker to ask generates under a file lock, the others load its JSON)."""
        if variant not in self._results:
            from filelock import FileLock

            from pipeline.harness.scoring import (
                VariantResult,
                evaluate_variant,
                make_generator,
                quality_sessions,
            )

            self.run_dir.mkdir(parents=True, exist_ok=True)
            file = self.run_dir / f"{variant}.result.json"
            with FileLock(str(file) + ".lock"):
                if file.is_file():
                    res = VariantResult.from_json(file.read_text(encoding="utf-8"))
                else:
                    sessions = quality_sessions(self.cfg, self.workers)
                    generator = (make_generator(self.cfg, model_dir, variant, sessions) if sessions > 1
                                 else self.generator(model_dir, variant))
                    res = evaluate_variant(self.cfg, generator, cases, self.sample,
                                           cache=self._response_cache(variant))
                    del generator  # a pool's extra sessions are not kept for the latency gates
                    write_atomic(file, res.to_json())
            self._results[variant] = res
        return self._results[variant]

    def _response_cache(self, variant: str):
        """The variant's :class:`~pipeline.harness.scoring.ResponseCache` (None when turned off
        or the ONNX artifact was not built through this session's chain)."""
        from pipeline.harness.scoring import ResponseCache, decode_settings

        onnx = self._arts.get("onnx")
        if not self.response_cache or onnx is None:
            return None
        return ResponseCache(self.cfg.path(self.cfg.cache_dir) / "responses", onnx.key, variant,
                             decode_settings(self.cfg))

    def previous_cases(self, variant: str) -> dict[tuple[str, str], dict[str, Any]]:
        """(set, id) → scores of ``variant``'s cases in the ``--rc-compare-to`` run ({} without one)."""
        if self.compare_to is None:
            return {}
        from pipeline.harness.report import load_previous_cases

        return {k: row["scores"] for k, row in load_previous_cases(self.compare_to).get(variant, {}).items()}

    def record(self, report: pytest.TestReport) -> None:
        """Keep one gate test's outcome and recorded properties (controller or serial run only;
        called from the plugin's ``pytest_runtest_logreport``)."""
        if self.worker_id is not None:
            return
        name = report.nodeid.rsplit("::", 1)[-1]
        match = _PARAMS.match(name)
        if not match or match["test"] not in GATE_TESTS or not report.nodeid.startswith("evals/"):
            return
        if report.when == "call" or report.failed or report.skipped:
            self.gates.append(_gate_record(report, name, match))

    def save_latency(self, variant: str, data: dict[str, Any]) -> None:
        """Hand one latency gate's rounds to the report (file in the run folder)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.run_dir / f"{variant}.latency.json", data)


    def save_browser(self, variant: str, data: dict[str, Any]) -> None:
        """Hand one variant's browser speed (load, first token, tokens/s) to the report."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.run_dir / f"{variant}.browser.json", data)

    def browser(self) -> dict[str, Any]:
        """variant → what :meth:`save_browser` stored in this run ({} when nothing ran)."""
        if not self.run_dir.is_dir():
            return {}
        return {f.name.removesuffix(".browser.json"): json.loads(f.read_text(encoding="utf-8"))
                for f in sorted(self.run_dir.glob("*.browser.json"))}

    # -- the report --------------------------------------------------------------------
    def collect(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """What the workers left in the run folder: (variant → VariantResult, variant →
        latency rounds, stage → {key, path, built_by})."""
        if not self.run_dir.is_dir():
            return {}, {}, {}
        results = results_from_dir(self.run_dir)
        latency = {f.name.removesuffix(".latency.json"): json.loads(f.read_text(encoding="utf-8"))
                   for f in sorted(self.run_dir.glob("*.latency.json"))}
        artifacts: dict[str, Any] = {}
        for file in sorted(self.run_dir.glob("chain-*.json")):
            worker = file.stem.removeprefix("chain-")
            for stage, art in json.loads(file.read_text(encoding="utf-8")).items():
                entry = artifacts.setdefault(stage, {"key": art["key"], "path": art["path"], "built_by": []})
                if not art["reused"]:
                    entry["built_by"].append(worker)
        return results, latency, artifacts

    def write_report(self, options: dict[str, Any]) -> Path | None:
        """Write the report folder (controller or serial run) and remember its path; None when
        no sample size was chosen or no gate ran. ``options``: the run's command-line options."""
        if self.sample is None or not self.gates or self.cfg is None:
            return None
        results, latency, artifacts = self.collect()
        self.report_path = write_report_folder(self.report_root, cfg=self.cfg, sample=self.sample, results=results,
                                        gates=self.gates, latency=latency, artifacts=artifacts,
                                        latency_method=_latency_method(self, latency), options=options,
                                        compare_to=self.compare_to, browser=self.browser())
        return self.report_path


def _gate_record(report: pytest.TestReport, name: str, match: re.Match) -> dict[str, Any]:
    props = dict(report.user_properties)
    outcome = report.outcome if report.when == "call" or report.skipped else "error"
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    else:
        message = report.longreprtext if report.failed else ""
    metric = match["metric"] or {"test_fp32_alignment": "fp32_alignment", "test_p95_latency": "p95_latency_ms"}[match["test"]]
    return {"id": name, "nodeid": report.nodeid, "variant": match["variant"], "metric": metric,
            "outcome": outcome, "actual": props.get("actual"), "threshold": props.get("threshold"),
            "n_cases": props.get("n_cases"), "ci": [props["ci_low"], props["ci_high"]]
            if props.get("ci_low") is not None else None, "within_noise": props.get("within_noise"), "message": message, "duration_s": round(report.duration, 3)}


def _latency_method(session: HarnessSession, latency: dict[str, Any]) -> str:
    cfg = session.cfg
    if latency:
        return (f"p95 gates: pytest-benchmark pedantic, serial, one request at a time, "
                f"{cfg.evaluation.latency_rounds} rounds per variant after 1 warmup round, each round one greedy "
                f"generation of up to {cfg.evaluation.max_new_tokens} new tokens over the sampled questions in "
                "order; p95 = linear interpolation over the round times")
    if session.workers:
        return (f"not gated: latency gates skip under xdist (-n {session.workers}; pytest-benchmark disables itself "
                f"and workers contend for the CPU); run them serially: pytest evals -m '{session.sample} and latency'. "
                "Quality-pass latencies below are contended and informational only")
    return "not gated in this run (latency gates deselected); quality-pass latencies are informational only"


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=str))
