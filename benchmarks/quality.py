"""Quality of the embedded default on any resume: train the cpu profile on it, print every gate as JSON.

Run: ``python benchmarks/quality.py --resume ../shared/resumes/john_doe_classic.pdf
--eval-dir data/eval/examples/john_doe [--name John] [--variants model.onnx,model_q4.onnx]
[--set sft.epochs=1.9 ...]``

The resume's artifacts (dataset → adapter → merged → ONNX variants) go under
``artifacts/quality/<resume stem>/`` (``--work-dir``) (cached like ``python -m pipeline train``: a rerun with
nothing changed reuses them; about 20 minutes on 2 cores the first time), unless the resume is
the config's own, whose artifacts are reused. ``--eval-dir`` holds hand-written
``golden/adversarial/ood.jsonl`` for that person (``source.json`` names them); it becomes
``evaluation.eval_data_dir`` and also ``dataset.holdout_dirs``, so no training question
near-copies one of its questions. Every case of the three sets and of the validation split is
scored (the ``full`` sample) with the harness's own scorer, and each gate is printed with its
threshold, its 95% bootstrap interval and whether it passes (point estimate, the knob guide's
rule) and whether its lower bound clears the threshold.

Prints JSON: ``resume``, ``eval_dir``, ``profile``, ``cases`` per set, ``train`` (dataset and
SFT numbers), and ``variants.<file>.gates.<metric>`` = ``{value, ci, n, threshold, passed,
lower_bound_clears}`` plus ``per_category`` pass rates and ``per_set`` (each metric on the
hand-written cases alone and on the validation split alone). ``--responses FILE`` appends every
case's reply to FILE as JSON lines, for reading the failures of a dev split. ``--set KEY=VALUE`` (repeatable; dotted
key, YAML value) overrides one knob of the profile, for tuning on a dev split; the record
lists them under ``overrides``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.chain import run_chain  # noqa: E402
from pipeline.config import VARIANTS, load_config  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.harness import cases as harness_cases  # noqa: E402
from pipeline.harness import gates, scoring  # noqa: E402


class BenchmarkInputError(PipelineError):
    """A flag of this script names something that is not there (exit 2, one line)."""


_OUTPUTS = ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir")


def _names(eval_dir: Path, name: str | None, full_name: str | None) -> tuple[str | None, str | None]:
    """The person's names: the flags, else ``source.json``'s ``person_full_name`` (first word as name)."""
    source = eval_dir / "source.json"
    if full_name is None and source.is_file():
        full_name = json.loads(source.read_text(encoding="utf-8")).get("person_full_name")
    if name is None and full_name:
        name = full_name.split()[0]
    return name, full_name


def configure(args: argparse.Namespace):
    """The config of this run: the profile, with the resume, names, eval dir and outputs overridden."""
    base = load_config(args.config, profile=args.profile)
    resume = Path(args.resume).resolve()
    eval_dir = Path(args.eval_dir).resolve()
    if not (eval_dir / "golden.jsonl").is_file():
        # Never bootstrap here: a template-made set would score phrasing recall, not answering.
        raise BenchmarkInputError(f"--eval-dir {eval_dir}: no golden.jsonl there; point it at a folder of "
                                  "hand-written golden/adversarial/ood.jsonl (README, 'Write your own eval sets')")
    if not resume.is_file():
        raise BenchmarkInputError(f"--resume {resume}: file not found; pass an existing resume file")
    # Training stays clear of this eval dir and of the config's own eval and holdout sets (the
    # same questions as `python -m pipeline train`, so the config's resume reuses its artifacts).
    holdout = dict.fromkeys(str(base.path(d).resolve()) for d in
                            [*base.dataset.holdout_dirs, base.evaluation.eval_data_dir, eval_dir])
    overrides: dict = {"evaluation": {"eval_data_dir": str(eval_dir)}, "dataset": {"holdout_dirs": list(holdout)}}
    if resume != base.path(base.resume_path).resolve():
        name, full_name = _names(eval_dir, args.name, args.full_name)
        if not (name and full_name):
            raise BenchmarkInputError(f"{eval_dir / 'source.json'}: no person_full_name; pass --name and --full-name")
        work = (Path(args.work_dir) / resume.stem).resolve()
        overrides.update(resume_path=str(resume), person_name=name, person_full_name=full_name,
                         **{k: str(work / Path(getattr(base, k)).name) for k in _OUTPUTS})
        # The optional categories are the user's call for another resume (an error if switched
        # on for a resume without that section).
        overrides["dataset"].update(include_military=args.military, has_recommendations=args.recommendations)
    for key, value in _knob_overrides(getattr(args, "set", None) or []):
        node = overrides
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BenchmarkInputError(f"--set {key}: {part} is not a config section")
        node[leaf] = value
    return load_config(args.config, profile=args.profile, overrides=overrides)


def _knob_overrides(items: list[str]) -> list[tuple[str, object]]:
    """``["sft.epochs=1.9"]`` → ``[("sft.epochs", 1.9)]`` (values parsed as YAML).

    Raises:
        BenchmarkInputError: an item without ``=`` or with an empty key.
    """
    import yaml

    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchmarkInputError(f"--set {item!r}: write KEY=VALUE, e.g. --set sft.epochs=1.9")
        out.append((key.strip(), yaml.safe_load(value)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resume", required=True, help="resume file (PDF, Markdown, JSON Resume, RenderCV YAML)")
    parser.add_argument("--eval-dir", required=True, help="folder with golden/adversarial/ood.jsonl for this person")
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--name", default=None, help="person_name (default: first word of source.json's name)")
    parser.add_argument("--full-name", default=None, help="person_full_name (default: source.json)")
    parser.add_argument("--military", action=argparse.BooleanOptionalAction, default=False,
                        help="dataset.include_military for another person's resume (default off)")
    parser.add_argument("--recommendations", action=argparse.BooleanOptionalAction, default=False,
                        help="dataset.has_recommendations for another person's resume (default off)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one knob (dotted key, YAML value), e.g. --set sft.epochs=1.9; repeatable")
    parser.add_argument("--responses", default=None, metavar="FILE",
                        help="append every scored case's question, reference and response to FILE (JSON lines)")
    parser.add_argument("--work-dir", default=str(REPO / "artifacts" / "quality"),
                        help="where another person's artifacts go, one folder per resume file name")
    args = parser.parse_args(argv)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its log lines; stdout is JSON only
            out = run(args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def run(args: argparse.Namespace) -> dict:
    """Train (or reuse) and score; the JSON record described in the module docstring."""
    cfg = configure(args)
    arts = run_chain(cfg, until="onnx")
    cases = harness_cases.load_cases(cfg, arts["dataset"].path, "full")
    out: dict = {"resume": str(cfg.path(cfg.resume_path)), "eval_dir": str(cfg.path(cfg.evaluation.eval_data_dir)),
                 "overrides": dict(_knob_overrides(getattr(args, "set", None) or [])),
                 "profile": cfg.profile, "person_name": cfg.person_name,
                 "cases": dict(Counter(c.set for c in cases)),
                 "train": {k: arts["adapter"].numbers.get(k) for k in ("train_tokens", "tokens_per_s", "train_seconds",
                                                                        "final_loss")}
                 | {"samples": arts["dataset"].numbers.get("total")},
                 "variants": {}}
    model_dir = arts["onnx"].path
    variants = [v for v in args.variants.split(",") if v]
    reference = None
    for variant in sorted(variants, key=lambda v: v != "model.onnx"):  # fp32 first: the alignment reference
        result = scoring.evaluate_variant(cfg, scoring.make_generator(cfg, model_dir, variant), cases, "full")
        reference = result if variant == "model.onnx" else reference
        checks = [(gates.gate_check(cfg, result, m), gates.gate_check(cfg, result, m, gate_on="lower-bound"))
                  for m in scoring.GATES]
        if reference is not None and variant != "model.onnx":
            checks.append((gates.alignment_check(cfg, reference, result),
                           gates.alignment_check(cfg, reference, result, gate_on="lower-bound")))
        table = {}
        for check, lower in checks:
            table[check.metric] = {"value": _round(check.actual), "n": check.n, "threshold": check.threshold,
                                   "ci": [_round(x) for x in check.ci] if check.ci else None,
                                   "passed": check.passed, "lower_bound_clears": lower.passed}
        out["variants"][variant] = {
            "gates": table,
            "false_refusal_rate": _round(result.summary["metrics"].get(scoring.FALSE_REFUSAL.name)),
            "per_category": {c: round(v["pass_rate"], 3) for c, v in result.summary["per_category"].items()},
            "per_set": _per_set(cfg, result),
        }
        if getattr(args, "responses", None):
            _append_responses(Path(args.responses), variant, result)
    return out


def _per_set(cfg, result) -> dict:
    """Each gate metric (with its interval) on the hand-written cases alone and on the validation split alone.

    The validation split holds unseen phrasings of trained questions, so it reads higher than the
    hand-written sets; tuning decisions should look at ``hand_written``.
    """
    out = {}
    for name, keep in (("hand_written", lambda c: c.case.set != "validation"),
                       ("validation", lambda c: c.case.set == "validation")):
        part = [c for c in result.cases if keep(c)]
        if part:
            summary = scoring.aggregate(cfg, part, 0.0)
            out[name] = {m: {"value": _round(summary["metrics"][m]), "n": summary["n"][m],
                             "ci": [_round(x) for x in summary["ci"][m]] if summary["ci"][m] else None}
                         for m in (*scoring.GATES, scoring.FALSE_REFUSAL.name)}
    return out


def _append_responses(path: Path, variant: str, result) -> None:
    """One JSON line per scored case (set, id, question, reference, response, failure reasons) appended to ``path``."""
    with path.open("a", encoding="utf-8") as fh:
        for c in result.cases:
            fh.write(json.dumps({"variant": variant, "set": c.case.set, "id": c.case.id, "question": c.case.question,
                                 "reference": c.case.reference, "response": c.response, "reasons": c.reasons},
                                ensure_ascii=False) + "\n")


def _round(x):
    return round(x, 4) if isinstance(x, float) else x


if __name__ == "__main__":
    raise SystemExit(main())
