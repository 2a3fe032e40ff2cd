"""pytest plugin of the evaluation harness: ``--rc-*`` options, the session object, the report.

Run the gates with ``pytest evals -m smoke`` (or ``-m full -n 4``); ``pytest --help`` lists
the options under "resume-chat evaluation harness". Markers live in pyproject.toml (one
place; ``--strict-markers`` is on). Plain ``pytest tests`` builds nothing: the config is
resolved here, but artifacts are built only by the session fixtures in ``evals/conftest.py``.

Sample size comes from ``-m``: every gate carries both ``smoke`` and ``full``, and the ``-m``
expression must select exactly one of them (without ``-m`` the gates skip and say so).
Under pytest-xdist, workers put their per-variant results, latency rounds and build
records as JSON files into a run folder the controller creates and hands them through
``workerinput``; the controller writes the report in ``pytest_sessionfinish``.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent
EVALS = REPO / "evals"
PLUGIN_NAME = "rc-harness-session"
GATE_TESTS = ("test_gate", "test_fp32_alignment", "test_p95_latency")
_KEY = pytest.StashKey["HarnessSession"]()
_PARAMS = re.compile(r"^(?P<test>\w+)\[(?P<variant>[^\]-]+\.onnx)(?:-(?P<metric>[^\]]+))?\]$")


@dataclass(eq=False)
class HarnessSession:
    """What a ``pytest evals`` run resolved once, in ``pytest_configure``.

    Attributes:
        cfg: the resolved :class:`pipeline.config.Config` (None until evals are in scope).
        variants: ONNX files under test, in :data:`pipeline.config.VARIANTS` order.
        sample: ``smoke``, ``full`` or None (no ``-m`` chose a size).
        report_root: where report folders go.
        compare_to: earlier report folder for deltas, or None.
        rebuild: stage names to rebuild once in this run (``all`` = every stage).
        workers: xdist worker count (0 = serial); ``worker_id``: ``gwN`` on a worker, else None.
        run_dir: folder shared by the controller and its workers for this run.
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
    cfg: Any = None
    gates: list[dict[str, Any]] = field(default_factory=list)
    report_path: Path | None = None
    _arts: dict[str, Any] = field(default_factory=dict)
    _generators: dict[str, Any] = field(default_factory=dict)
    _results: dict[str, Any] = field(default_factory=dict)

    @property
    def report_root(self) -> Path:
        """``--rc-report-dir`` or ``evaluation.report_output`` resolved against the config."""
        return Path(self.report_root_opt) if self.report_root_opt else self.cfg.path(self.cfg.evaluation.report_output)

    def resolve(self) -> None:
        """Load the config and check the eval sets once. Raises pytest.UsageError with the
        ConfigError's or the eval file's (``file:line``) message."""
        if self.cfg is not None:
            return
        from pipeline.config import ConfigError, load_config
        from pipeline.errors import DatasetError
        from pipeline.evaluate import check_eval_sets

        try:
            cfg = load_config(self.config_path, profile=self.profile)
        except ConfigError as exc:
            raise pytest.UsageError(f"--rc-config: {exc}") from exc
        try:
            check_eval_sets(cfg)
        except DatasetError as exc:
            raise pytest.UsageError(f"eval set: {exc}") from exc
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
        """One :class:`pipeline.generate.Generator` (one InferenceSession) per variant per process."""
        if variant not in self._generators:
            from pipeline.evaluate import make_generator

            self._generators[variant] = make_generator(self.cfg, model_dir, variant)
        return self._generators[variant]

    def result(self, model_dir: Path, variant: str, cases):
        """The variant's :class:`pipeline.evaluate.VariantResult`: generated once per run
        (the first worker to ask generates under a file lock, the others load its JSON)."""
        if variant not in self._results:
            from filelock import FileLock

            from pipeline.evaluate import VariantResult, evaluate_variant

            self.run_dir.mkdir(parents=True, exist_ok=True)
            file = self.run_dir / f"{variant}.result.json"
            with FileLock(str(file) + ".lock"):
                if file.is_file():
                    res = VariantResult.from_json(file.read_text(encoding="utf-8"))
                else:
                    res = evaluate_variant(self.cfg, self.generator(model_dir, variant), cases, self.sample)
                    _write_text(file, res.to_json())
            self._results[variant] = res
        return self._results[variant]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect each gate test's outcome and recorded properties (controller/serial only)."""
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


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=2, default=str))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resume-chat", "resume-chat evaluation harness (pytest evals -m smoke|full)")
    group.addoption("--rc-config", default="config.yaml", metavar="PATH",
                    help="config file (default: %(default)s)")
    group.addoption("--rc-profile", default=None, metavar="NAME",
                    help="config profile (default: $RESUME_PROFILE, else the file's default_profile)")
    group.addoption("--rc-variants", default="all", metavar="LIST",
                    help="comma-separated ONNX files to gate, e.g. model.onnx,model_q4.onnx (default: %(default)s)")
    group.addoption("--rc-report-dir", default=None, metavar="DIR",
                    help="where report folders go (default: evaluation.report_output from the config)")
    group.addoption("--rc-compare-to", default=None, metavar="DIR",
                    help="an earlier report folder (holding metrics.json): add per-metric deltas (default: none)")
    group.addoption("--rc-rebuild", default="", metavar="STAGES",
                    help="rebuild these stages once before the gates: 'all' or a comma list of "
                         "dataset,base,adapter,merged,exported,onnx (default: reuse the cache)")


def _satisfiable(expr, others: list[str], fixed: dict[str, bool]) -> bool:
    """Whether some truth assignment of ``others`` makes ``expr`` true given ``fixed``."""
    for values in itertools.product((False, True), repeat=len(others)):
        truth = {**dict(zip(others, values, strict=True)), **fixed}
        if expr.evaluate(lambda name, _t=truth, **_: _t.get(name, False)):
            return True
    return False


def _other_marks(markexpr: str, fixed: set[str]) -> list[str]:
    """The mark names in ``markexpr`` other than ``fixed`` (at most 10, for truth tables)."""
    return sorted(set(re.findall(r"[A-Za-z_][\w.-]*", markexpr)) - {"and", "or", "not", *fixed})[:10]


def _selected_sizes(markexpr: str) -> set[str]:
    """Which of smoke/full the ``-m`` expression selects (gate items carry both marks).

    Empty: no size chosen (no ``-m``, or an expression such as ``not slow`` or ``latency``
    that holds without either mark); both: a conflict (``smoke or full``, ``smoke and full``).
    """
    if not markexpr.strip():
        return set()
    from _pytest.mark.expression import Expression

    expr = Expression.compile(markexpr)
    others = _other_marks(markexpr, {"smoke", "full"})
    def sat(smoke: bool, full: bool) -> bool:
        return _satisfiable(expr, others, {"smoke": smoke, "full": full})

    if sat(False, False):  # e.g. "not slow", "latency": no size chosen
        return set()
    alone = {size for size, ok in (("smoke", sat(True, False)), ("full", sat(False, True))) if ok}
    if len(alone) == 1:
        return alone
    return {"smoke", "full"} if sat(True, True) else set()


def _only_latency(markexpr: str) -> bool:
    """Whether the ``-m`` expression selects latency gates and nothing else."""
    if "latency" not in markexpr:
        return False
    from _pytest.mark.expression import Expression

    expr = Expression.compile(markexpr)
    others = _other_marks(markexpr, {"latency"})
    return not _satisfiable(expr, others, {"latency": False})


def _evals_in_scope(config: pytest.Config) -> bool:
    for arg in config.args or ["."]:
        path = Path(str(arg).split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == EVALS or EVALS in path.parents or path in EVALS.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    from pipeline.config import VARIANTS

    opt = config.option
    sizes = _selected_sizes(config.getoption("markexpr") or "")
    if sizes == {"smoke", "full"}:
        raise pytest.UsageError(f"-m {config.getoption('markexpr')!r} selects both smoke and full gates; choose "
                                "one sample size, e.g. -m smoke, -m full, or -m 'full and latency'")
    names = [v.strip() for v in opt.rc_variants.split(",") if v.strip()]
    if names == ["all"]:
        names = list(VARIANTS)
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise pytest.UsageError(f"--rc-variants: unknown variant(s) {unknown or names}; choose from "
                                f"{','.join(VARIANTS)} or 'all'")
    rebuild = tuple(s.strip() for s in opt.rc_rebuild.split(",") if s.strip())
    from pipeline.chain import STAGES

    bad = [s for s in rebuild if s not in (*STAGES, "all")]
    if bad:
        raise pytest.UsageError(f"--rc-rebuild: unknown stage(s) {bad}; use 'all' or names from {','.join(STAGES)}")
    compare = Path(opt.rc_compare_to).resolve() if opt.rc_compare_to else None
    if compare is not None:
        from pipeline.report import load_previous

        try:
            load_previous(compare)
        except (OSError, ValueError) as exc:
            raise pytest.UsageError(f"--rc-compare-to {opt.rc_compare_to}: not a report folder with a readable "
                                    f"metrics.json ({exc}); pass a folder under the report directory") from exc
    if opt.rc_report_dir and Path(opt.rc_report_dir).is_file():
        raise pytest.UsageError(f"--rc-report-dir {opt.rc_report_dir} is a file; pass a folder")
    workerinput = getattr(config, "workerinput", None)
    run_dir = (Path(workerinput["rc_run_dir"]) if workerinput and "rc_run_dir" in workerinput
               else Path(tempfile.gettempdir()) / f"rc-run-{uuid.uuid4().hex[:12]}")
    numprocesses = getattr(opt, "numprocesses", None) or 0
    if numprocesses and not workerinput and _only_latency(config.getoption("markexpr") or ""):
        raise pytest.UsageError(f"-m {config.getoption('markexpr')!r} selects only latency gates, which cannot be "
                                f"measured under -n {numprocesses} (workers contend for the CPU); drop -n")
    session = HarnessSession(
        config_path=Path(opt.rc_config), profile=opt.rc_profile, variants=tuple(v for v in VARIANTS if v in names),
        sample=next(iter(sizes), None), report_root_opt=opt.rc_report_dir, compare_to=compare, rebuild=rebuild,
        workers=int(workerinput["workercount"]) if workerinput else (numprocesses if isinstance(numprocesses, int) else 0),
        worker_id=workerinput["workerid"] if workerinput else None, run_dir=run_dir,
    )
    if _evals_in_scope(config):
        session.resolve()
    config.stash[_KEY] = session
    config.pluginmanager.register(session, PLUGIN_NAME)


def session_of(config: pytest.Config) -> HarnessSession:
    """The :class:`HarnessSession` of this pytest run (config resolved on first use)."""
    session = config.stash[_KEY]
    session.resolve()
    return session


@pytest.fixture(scope="session")
def rc(pytestconfig: pytest.Config) -> HarnessSession:
    """The harness session object (resolved config, variants, sample size, run folder)."""
    return session_of(pytestconfig)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller → worker: the shared run folder."""
    node.workerinput["rc_run_dir"] = str(node.config.stash[_KEY].run_dir)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash[_KEY]
    if session.sample is not None:
        return
    skip = pytest.mark.skip(reason="choose a sample size: pytest evals -m smoke (or -m full)")
    for item in items:
        if EVALS in Path(str(item.path)).parents:
            item.add_marker(skip)


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
            "n_cases": props.get("n_cases"), "message": message, "duration_s": round(report.duration, 3)}


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or _KEY not in config.stash:
        return
    rc = config.stash[_KEY]
    gates = rc.gates
    try:
        if rc.sample is None or not gates or rc.cfg is None:
            return
        from pipeline.report import results_from_dir, write_report

        results = results_from_dir(rc.run_dir) if rc.run_dir.is_dir() else {}
        latency = {f.name.removesuffix(".latency.json"): json.loads(f.read_text(encoding="utf-8"))
                   for f in sorted(rc.run_dir.glob("*.latency.json"))} if rc.run_dir.is_dir() else {}
        artifacts: dict[str, Any] = {}
        for file in sorted(rc.run_dir.glob("chain-*.json")) if rc.run_dir.is_dir() else []:
            worker = file.stem.removeprefix("chain-")
            for stage, art in json.loads(file.read_text(encoding="utf-8")).items():
                entry = artifacts.setdefault(stage, {"key": art["key"], "path": art["path"], "built_by": []})
                if not art["reused"]:
                    entry["built_by"].append(worker)
        options = {k: getattr(config.option, k) for k in vars(config.option) if k.startswith("rc_")}
        options["markexpr"] = config.getoption("markexpr")
        options["workers"] = rc.workers
        rc.report_path = write_report(rc.report_root, cfg=rc.cfg, sample=rc.sample, results=results, gates=gates,
                                      latency=latency, artifacts=artifacts, latency_method=_latency_method(rc, latency),
                                      options=options, compare_to=rc.compare_to)
    finally:
        shutil.rmtree(rc.run_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rc = config.stash.get(_KEY, None)
    if rc is None or rc.report_path is None:
        return
    verdict = json.loads((rc.report_path / "metrics.json").read_text(encoding="utf-8"))["overall"]
    terminalreporter.write_sep("=", f"gate report: {verdict}")
    terminalreporter.write_line(f"{rc.report_path / 'summary.md'}")
    failed = [g["id"] for g in rc.gates if g["outcome"] in ("failed", "error")]
    if failed:
        terminalreporter.write_line(f"failing gates: {', '.join(failed)}")
    if rc.workers and any(g["metric"] == "p95_latency_ms" for g in rc.gates):
        terminalreporter.write_line(f"latency gates skipped under xdist; run pytest evals -m '{rc.sample} and latency' "
                                    "without -n (tox -e full does)")
