"""pytest plugin of the evaluation harness: the ``--rc-*`` options and the hooks, nothing else.

Loaded by the repository's root ``conftest.py`` (``pytest_plugins``). Run the gates with
``pytest evals -m smoke`` (or ``-m full -n 4``); ``pytest --help`` lists the options under
"resume-chat evaluation harness". Markers live in pyproject.toml (``--strict-markers`` is on).
Plain ``pytest tests`` builds nothing: artifacts are built only by the session fixtures in
``evals/conftest.py``. The state of a run lives on :class:`~pipeline.harness.session.HarnessSession`
(one per process, reached through :func:`harness_session` or the ``harness`` fixture); the
controller writes the report in ``pytest_sessionfinish``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from pipeline.chain import STAGES
from pipeline.config import VARIANTS
from pipeline.harness.gates import GATE_ON
from pipeline.harness.report import load_previous
from pipeline.harness.session import HarnessSession

_KEY = pytest.StashKey[HarnessSession]()


# -- options: each type= function converts and checks one value ---------------------------------
def _variants(text: str) -> tuple[str, ...]:
    """``all`` (returned as ``()``: every variant ``quantization.variants`` builds) or a comma
    list of :data:`pipeline.config.VARIANTS`, returned in that order."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    if names == ["all"]:
        return ()
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown variant(s) {unknown or names}; choose from "
                                         f"{','.join(VARIANTS)} or 'all'")
    return tuple(v for v in VARIANTS if v in names)


def _stages(text: str) -> tuple[str, ...]:
    """``all`` or a comma list of :data:`pipeline.chain.STAGES` (empty: rebuild nothing)."""
    stages = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in stages if s not in (*STAGES, "all")]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown stage(s) {bad}; use 'all' or names from {','.join(STAGES)}")
    return stages


def _report_folder(text: str) -> Path:
    """An earlier report folder with a readable ``metrics.json``."""
    folder = Path(text).resolve()
    try:
        load_previous(folder)
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text} is not a report folder with a readable metrics.json ({exc}); "
                                         "pass a folder under the report directory") from exc
    return folder


def _folder(text: str) -> str:
    """A folder (existing or to be made), not a file."""
    if Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text} is a file; pass a folder")
    return text


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resume-chat", "resume-chat evaluation harness (pytest evals -m smoke|full)")
    group.addoption("--rc-config", default="config.yaml", metavar="PATH",
                    help="config file (default: %(default)s)")
    group.addoption("--rc-profile", default=None, metavar="NAME",
                    help="config profile (default: $RESUME_PROFILE, else the file's default_profile)")
    group.addoption("--rc-variants", default=(), type=_variants, metavar="LIST",
                    help="comma-separated ONNX files to gate, e.g. model.onnx,model_q4.onnx; 'all' = every "
                         "file quantization.variants builds (default: all)")
    group.addoption("--rc-report-dir", default=None, type=_folder, metavar="DIR",
                    help="where report folders go (default: evaluation.report_output from the config)")
    group.addoption("--rc-compare-to", default=None, type=_report_folder, metavar="DIR",
                    help="an earlier report folder (holding metrics.json): add per-metric deltas (default: none)")
    group.addoption("--rc-gate-on", default="point", choices=GATE_ON,
                    help="what must clear a quality gate's threshold: the point estimate (the knob guide's "
                         "definition) or the 95%% interval's lower bound (default: %(default)s)")
    group.addoption("--rc-fail-on-regression", action="store_true", default=False,
                    help="with --rc-compare-to: also fail a gate whose metric fell by more than its paired "
                         "95%% interval allows")
    group.addoption("--rc-no-response-cache", action="store_true", default=False,
                    help="generate every response again instead of reusing cached ones (--rc-rebuild does too)")
    group.addoption("--rc-rebuild", default=(), type=_stages, metavar="STAGES",
                    help="rebuild these stages once before the gates: 'all' or a comma list of "
                         "dataset,base,adapter,merged,exported,onnx (default: reuse the cache)")


# -- hooks --------------------------------------------------------------------------------------
def _evals_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath) / "evals"


def _evals_in_scope(config: pytest.Config) -> bool:
    evals = _evals_dir(config)
    for arg in config.args or ["."]:
        path = Path(str(arg).split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == evals or evals in path.parents or path in evals.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    session = HarnessSession.from_config(config)
    if _evals_in_scope(config):
        session.resolve()
    config.stash[_KEY] = session
    config.pluginmanager.register(_GateRecorder(session), "rc-gate-recorder")


class _GateRecorder:
    """The ``pytest_runtest_logreport`` hook, bound to this run's session (which keeps the records)."""

    def __init__(self, session: HarnessSession) -> None:
        self.session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.session.record(report)


def harness_session(config: pytest.Config) -> HarnessSession:
    """The :class:`HarnessSession` of this pytest run (config resolved on first use)."""
    session = config.stash[_KEY]
    session.resolve()
    return session


@pytest.fixture(scope="session")
def harness(pytestconfig: pytest.Config) -> HarnessSession:
    """The harness session object (resolved config, variants, sample size, run folder)."""
    return harness_session(pytestconfig)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller → worker: the shared run folder."""
    node.workerinput["rc_run_dir"] = str(node.config.stash[_KEY].run_dir)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[_KEY].sample is not None:
        return
    evals = _evals_dir(config)
    skip = pytest.mark.skip(reason="choose a sample size: pytest evals -m smoke (or -m full)")
    for item in items:
        if evals in Path(str(item.path)).parents:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or _KEY not in config.stash:
        return
    harness = config.stash[_KEY]
    try:
        options = {k: getattr(config.option, k) for k in vars(config.option) if k.startswith("rc_")}
        options["markexpr"] = config.getoption("markexpr")
        options["workers"] = harness.workers
        harness.write_report(options)
    finally:
        shutil.rmtree(harness.run_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    import json

    harness = config.stash.get(_KEY, None)
    if harness is None or harness.report_path is None:
        return
    verdict = json.loads((harness.report_path / "metrics.json").read_text(encoding="utf-8"))["overall"]
    terminalreporter.write_sep("=", f"gate report: {verdict}")
    terminalreporter.write_line(f"{harness.report_path / 'summary.md'}")
    failed = [g["id"] for g in harness.gates if g["outcome"] in ("failed", "error")]
    if failed:
        terminalreporter.write_line(f"failing gates: {', '.join(failed)}")
    if harness.workers and any(g["metric"] == "p95_latency_ms" for g in harness.gates):
        terminalreporter.write_line(f"latency gates skipped under xdist; run pytest evals -m '{harness.sample} and "
                                    "latency' without -n (tox -e full does)")
