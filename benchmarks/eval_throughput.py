"""Eval throughput of the harness path against a plain one-case-at-a-time loop.

Run: ``python benchmarks/eval_throughput.py [--config config.yaml] [--profile cpu]
[--sample smoke] [--variants model.onnx,model_q4.onnx] [--pytest]``

Artifacts come from the cache (built first when missing; that time is not counted). For
each variant both paths load their own onnxruntime session and score the same sampled
cases: the harness path is :func:`pipeline.harness.scoring.evaluate_variant` (``generate_batch``
with ``evaluation.batch_size`` over ``evaluation.sessions`` parallel sessions), the baseline
calls ``Generator.generate`` per case (one session, onnxruntime's default threads). Prints
JSON: cases/s of each, ``ratio`` = harness / baseline, and whether the responses are
identical, and ``peak_rss_mib`` of this process (both paths, every variant loaded in turn).
``--pytest`` also times ``pytest evals -m <sample>`` end to end (serial, all gates) and
reports that run's peak resident memory (``pytest_evals.peak_rss_mib``, the largest child).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.chain import run_chain  # noqa: E402
from pipeline.config import VARIANTS, load_config  # noqa: E402
from pipeline.harness import cases as harness_cases  # noqa: E402
from pipeline.harness import scoring  # noqa: E402


def _baseline(cfg, model_dir: Path, variant: str, cases) -> tuple[float, list[str]]:
    started = time.perf_counter()
    gen = scoring.make_generator(cfg, model_dir, variant)
    texts = []
    for case in cases:
        text = gen.generate(case.question).text
        scoring.score_case(cfg, case, text)
        texts.append(text)
    return time.perf_counter() - started, texts


def _harness(cfg, model_dir: Path, variant: str, cases, sample: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    gen = scoring.make_generator(cfg, model_dir, variant, scoring.quality_sessions(cfg))
    res = scoring.evaluate_variant(cfg, gen, cases, sample)
    return time.perf_counter() - started, [r.response for r in res.cases]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--profile", default=None)
    parser.add_argument("--sample", choices=("smoke", "full"), default="smoke")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--pytest", action="store_true", help="also time `pytest evals -m <sample>` (serial)")
    parser.add_argument("--sessions", type=int, default=None,
                        help="evaluation.sessions for the harness path (default: the config's)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="evaluation.batch_size for the harness path (default: the config's)")
    args = parser.parse_args(argv)
    overrides = {"evaluation": {k: v for k, v in (("sessions", args.sessions), ("batch_size", args.batch_size))
                                if v is not None}}
    cfg = load_config(args.config, profile=args.profile, overrides=overrides)
    with contextlib.redirect_stdout(sys.stderr):  # the stages print their log lines; stdout is JSON only
        arts = run_chain(cfg, until="onnx")
    model_dir = arts["onnx"].path
    cases = harness_cases.load_cases(cfg, arts["dataset"].path, args.sample)
    variants = [v for v in args.variants.split(",") if v]
    out: dict = {"profile": cfg.profile, "sample": args.sample, "cases": len(cases), "variants": {},
                 "batch_size": cfg.evaluation.batch_size, "sessions": scoring.quality_sessions(cfg),
                 "max_new_tokens": cfg.evaluation.max_new_tokens}
    total_h = total_b = 0.0
    identical = True
    for variant in variants:
        tb, texts_b = _baseline(cfg, model_dir, variant, cases)
        th, texts_h = _harness(cfg, model_dir, variant, cases, args.sample)
        same = texts_b == texts_h
        identical &= same
        total_b, total_h = total_b + tb, total_h + th
        out["variants"][variant] = {"baseline_s": round(tb, 2), "harness_s": round(th, 2),
                                    "baseline_cases_per_s": round(len(cases) / tb, 3),
                                    "harness_cases_per_s": round(len(cases) / th, 3),
                                    "ratio": round(tb / th, 3), "identical_responses": same}
    n = len(cases) * len(variants)
    out.update(baseline_cases_per_s=round(n / total_b, 3), harness_cases_per_s=round(n / total_h, 3),
               ratio=round(total_b / total_h, 3), identical_responses=identical,
               peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))  # Linux: KiB
    if args.pytest:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "evals", "-m", args.sample, "-q", "-p",
                               "no:cacheprovider", f"--rc-config={args.config}", f"--rc-variants={args.variants}"]
                              + ([f"--rc-profile={args.profile}"] if args.profile else []),
                              cwd=REPO, capture_output=True, text=True)
        out["pytest_evals"] = {"seconds": round(time.perf_counter() - started, 1), "exit_code": proc.returncode,
                               "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                               "last_line": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
