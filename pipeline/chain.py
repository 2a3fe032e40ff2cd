"""The training chain: dataset → base model → adapter → merged model → model.onnx → variants.

``python -m pipeline train`` and the pytest session fixtures both call :func:`run_chain`;
neither holds pipeline logic of its own. Each stage goes through the artifact cache
(:mod:`pipeline.cache`), so a second call with nothing changed does no work.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from pipeline.cache import Artifact
from pipeline.config import Config

STAGES = ("dataset", "base", "adapter", "merged", "exported", "onnx")


def run_chain(cfg: Config, until: str = "onnx", force: Collection[str] = (),
              on_stage: Callable[[Artifact], None] | None = None) -> dict[str, Artifact]:
    """Build (or reuse) every stage up to and including ``until``.

    Args:
        cfg: the resolved configuration.
        until: last stage to build, one of :data:`STAGES`.
        force: stage names to rebuild even when cached (``"all"`` inside means every stage).
        on_stage: called with each finished artifact (the CLI prints where it is).

    Returns:
        Stage name → :class:`~pipeline.cache.Artifact`, in chain order.

    Raises:
        ValueError: ``until`` or a ``force`` entry is not a stage name.
        PipelineError: from the stage that failed.
    """
    if until not in STAGES:
        raise ValueError(f"until must be one of {STAGES}, got {until!r}")
    unknown = set(force) - set(STAGES) - {"all"}
    if unknown:
        raise ValueError(f"force entries must be stage names {STAGES} or 'all', got {sorted(unknown)}")

    def forced(stage: str) -> bool:
        return "all" in force or stage in force

    # Imported here: torch and transformers load only when a stage that needs them runs.
    from pipeline.dataset.build import build as build_dataset
    from pipeline.onnx.export import export
    from pipeline.onnx.quantize import quantize
    from pipeline.train.base import resolve_base
    from pipeline.train.merge import merge
    from pipeline.train.sft import train

    out: dict[str, Artifact] = {}
    steps: list[tuple[str, Callable[[], Artifact]]] = [
        ("dataset", lambda: build_dataset(cfg, force=forced("dataset"))),
        ("base", lambda: resolve_base(cfg, force=forced("base"))),
        ("adapter", lambda: train(cfg, out["dataset"], out["base"], force=forced("adapter"))),
        ("merged", lambda: merge(cfg, out["adapter"], out["base"], force=forced("merged"))),
        ("exported", lambda: export(cfg, out["merged"], force=forced("exported"))),
        ("onnx", lambda: quantize(cfg, out["exported"], out["dataset"], force=forced("onnx"))),
    ]
    for name, step in steps:
        out[name] = step()
        if on_stage is not None:
            on_stage(out[name])
        if name == until:
            break
    return out
