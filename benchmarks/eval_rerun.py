"""The quality gates' second run with nothing changed: the response cache's saving, as JSON.

Run: ``python benchmarks/eval_rerun.py [--profile cpu] [--repeat 2]``

Times ``pytest evals -m "smoke and not latency"`` three ways in one script: a run with
``--rc-no-response-cache`` (the baseline: every response generated), then two runs with the
cache (the first fills it, the second reuses it). Artifacts come from the cache (built first
by ``python -m pipeline train``; that time is not counted). Prints JSON with each wall time
in seconds and ``ratio`` = cached rerun / baseline; the target is a cached rerun of at most
60 s on 2 cores. ``--repeat N`` repeats the measurement and reports the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(extra: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "evals", "-m", "smoke and not latency", "-q",
                           "-p", "no:cacheprovider", *extra], cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1 = a gate failed: still a measured run
        sys.exit(f"pytest exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("PYTEST_ADDOPTS", None)
    runs = []
    with tempfile.TemporaryDirectory() as reports:
        common = [f"--rc-config={args.config}", f"--rc-profile={args.profile}", f"--rc-report-dir={reports}"]
        _run([*common, "--collect-only"], env)  # imports warm, artifacts checked
        for _ in range(args.repeat):
            baseline = _run([*common, "--rc-no-response-cache"], env)
            _run(common, env)  # fills the cache (or finds it filled by the previous repeat)
            cached = _run(common, env)
            runs.append({"baseline_s": round(baseline, 1), "cached_rerun_s": round(cached, 1),
                         "ratio": round(cached / baseline, 3)})
    ratios = [r["ratio"] for r in runs]
    print(json.dumps({"benchmark": "eval_rerun", "profile": args.profile, "runs": runs,
                      "ratio_spread": [min(ratios), max(ratios)],
                      "cached_rerun_max_s": max(r["cached_rerun_s"] for r in runs), "target_s": 60}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
