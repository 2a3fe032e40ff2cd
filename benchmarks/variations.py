"""How many base-model question rephrasings the ``hybrid`` dataset backend keeps, and what they cost.

Run: ``python benchmarks/variations.py [--config config.yaml] [--profile cpu] [--temperature 0.7]
[--show 40]``

Reads the config's resume, builds the template backend's question groups and runs
:func:`pipeline.dataset.paraphrase.intent_variations` with the in-process base model (no
training). Prints JSON: ``seconds`` (wall time of the rephrasing pass, model load included),
``requested``, ``kept``, ``rejects`` per check, and ``examples`` (up to ``--show`` kept
templates, seeded sample). Nothing is written.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402
from pipeline.dataset import paraphrase, template  # noqa: E402
from pipeline.embedded import token_counter  # noqa: E402
from pipeline.resume.ingest import ingest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--temperature", type=float, default=None,
                        help="dataset.temperatures.variation (default: the profile's)")
    parser.add_argument("--show", type=int, default=40, help="kept templates to print")
    args = parser.parse_args(argv)
    overrides: dict = {"dataset": {"backend": "hybrid"}}
    if args.temperature is not None:
        overrides["dataset"]["temperatures"] = {"variation": args.temperature}
    cfg = load_config(args.config, profile=args.profile, overrides=overrides)
    groups = template.question_groups(cfg, ingest(cfg.path(cfg.resume_path)))
    _, count_tokens = token_counter(cfg)
    start = time.perf_counter()
    kept, rejects = paraphrase.intent_variations(cfg, groups, paraphrase.TransformersRephraser(cfg), count_tokens)
    seconds = time.perf_counter() - start
    items = [f"{cat}.{intent}: {t}" for (cat, intent), ts in kept.items() for t in ts]
    random.Random(cfg.dataset.seed).shuffle(items)
    n_kept = len(items)
    print(json.dumps({"resume": str(cfg.path(cfg.resume_path)), "temperature": cfg.dataset.temperatures.variation,
                      "seconds": round(seconds, 1), "requested": n_kept + sum(rejects.values()), "kept": n_kept,
                      "rejects": dict(sorted(rejects.items())), "examples": items[:args.show]},
                     indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
