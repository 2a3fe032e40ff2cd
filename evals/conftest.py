"""Session fixtures of the gates: artifacts through the cache, eval cases, per-variant results.

``pytest evals -m smoke`` builds (or reuses) dataset → adapter → merged → ONNX variants via
:func:`pipeline.chain.run_chain`; the cache's per-key file lock makes one xdist worker build
while the others wait and reuse. Gates are parametrized here from the session object
(``--rc-variants``) with both ``smoke`` and ``full`` marks, so ``-m`` picks the sample size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.evaluate import GATES, QUANTIZED

SIZES = (pytest.mark.smoke, pytest.mark.full)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    rc = metafunc.config.pluginmanager.get_plugin("rc-harness-session")
    variants = rc.variants if rc is not None else ()
    names = metafunc.fixturenames
    if "gate_metric" in names:
        metafunc.parametrize(("variant", "gate_metric"), [
            pytest.param(v, m, id=f"{v}-{m}", marks=SIZES) for v in variants for m in GATES])
    elif "quantized_variant" in names:
        metafunc.parametrize("quantized_variant", [
            pytest.param(v, id=v, marks=SIZES) for v in variants if v in QUANTIZED])
    elif "latency_variant" in names:
        metafunc.parametrize("latency_variant", [
            pytest.param(v, id=v, marks=(*SIZES, pytest.mark.latency)) for v in variants])


def _build(rc, stage: str):
    try:
        return rc.chain(stage)
    except PipelineError as exc:
        pytest.fail(f"building the {stage} artifact failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def dataset(rc):
    """The dataset artifact (also bootstraps the eval sets when missing)."""
    return _build(rc, "dataset")


@pytest.fixture(scope="session")
def adapter(rc):
    """The LoRA adapter artifact."""
    return _build(rc, "adapter")


@pytest.fixture(scope="session")
def merged(rc):
    """The merged model artifact."""
    return _build(rc, "merged")


@pytest.fixture(scope="session")
def variants(rc) -> dict[str, Path]:
    """Variant file name → the ONNX folder holding it (transformers.js layout)."""
    art = _build(rc, "onnx")
    return {v: art.path for v in rc.variants}


@pytest.fixture(scope="session")
def onnx_dir(rc) -> Path:
    """The complete ONNX folder (every variant, including model.onnx for alignment)."""
    return _build(rc, "onnx").path


@pytest.fixture(scope="session")
def eval_cases(rc, dataset):
    """The sampled cases: golden, adversarial, ood, validation (see pipeline.evaluate)."""
    from pipeline.evaluate import load_cases

    try:
        return load_cases(rc.cfg, dataset.path, rc.sample)
    except PipelineError as exc:
        pytest.fail(str(exc), pytrace=False)


class _Results(Mapping):
    """variant → VariantResult, generated on first access (once per run, shared by workers)."""

    def __init__(self, rc, onnx_dir: Path, cases) -> None:
        self._rc, self._dir, self._cases = rc, onnx_dir, cases

    def __getitem__(self, variant: str):
        try:
            return self._rc.result(self._dir, variant, self._cases)
        except PipelineError as exc:
            pytest.fail(f"generation with {variant} failed: {exc}", pytrace=False)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rc.variants)

    def __len__(self) -> int:
        return len(self._rc.variants)


@pytest.fixture(scope="session")
def results(rc, onnx_dir, eval_cases) -> _Results:
    """``results[variant]``: responses, per-case scores and metrics of that variant."""
    return _Results(rc, onnx_dir, eval_cases)
