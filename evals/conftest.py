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
from pipeline.harness.plugin import harness_session
from pipeline.harness.scoring import GATES, QUANTIZED

SIZES = (pytest.mark.smoke, pytest.mark.full)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser speed runs last: Chromium must not share the CPU with a p95 latency gate."""
    items.sort(key=lambda item: item.name.startswith("test_browser_speed["))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    variants = harness_session(metafunc.config).variants
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


def _build(harness, stage: str):
    try:
        return harness.chain(stage)
    except PipelineError as exc:
        pytest.fail(f"building the {stage} artifact failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def dataset(harness):
    """The dataset artifact (also bootstraps the eval sets when missing)."""
    return _build(harness, "dataset")


@pytest.fixture(scope="session")
def adapter(harness):
    """The LoRA adapter artifact."""
    return _build(harness, "adapter")


@pytest.fixture(scope="session")
def merged(harness):
    """The merged model artifact."""
    return _build(harness, "merged")


@pytest.fixture(scope="session")
def variants(harness) -> dict[str, Path]:
    """Variant file name → the ONNX folder holding it (transformers.js layout)."""
    art = _build(harness, "onnx")
    return {v: art.path for v in harness.variants}


@pytest.fixture(scope="session")
def onnx_dir(harness) -> Path:
    """The complete ONNX folder (every variant, including model.onnx for alignment)."""
    return _build(harness, "onnx").path


@pytest.fixture(scope="session")
def eval_cases(harness, dataset):
    """The sampled cases: golden, adversarial, ood, validation (see pipeline.harness.cases)."""
    from pipeline.harness.cases import load_cases

    try:
        return load_cases(harness.cfg, dataset.path, harness.sample)
    except PipelineError as exc:
        pytest.fail(str(exc), pytrace=False)


class _Results(Mapping):
    """variant → VariantResult, generated on first access (once per run, shared by workers)."""

    def __init__(self, harness, onnx_dir: Path, cases) -> None:
        self._harness, self._dir, self._cases = harness, onnx_dir, cases

    def __getitem__(self, variant: str):
        try:
            return self._harness.result(self._dir, variant, self._cases)
        except PipelineError as exc:
            pytest.fail(f"generation with {variant} failed: {exc}", pytrace=False)

    def __iter__(self) -> Iterator[str]:
        return iter(self._harness.variants)

    def __len__(self) -> int:
        return len(self._harness.variants)


@pytest.fixture(scope="session")
def results(harness, onnx_dir, eval_cases) -> _Results:
    """``results[variant]``: responses, per-case scores and metrics of that variant."""
    return _Results(harness, onnx_dir, eval_cases)
