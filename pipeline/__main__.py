"""Command line: ``python -m pipeline <command> [--config config.yaml] [--profile cpu]``.

Commands:
  config      print the resolved configuration of the active profile
  preview     print the facts extracted from the resume, per section
  dataset     build the grounded Q/A dataset and bootstrap data/eval/*.jsonl
  train       dataset → base → LoRA SFT → merge → ONNX export → quantization
  sft | merge | export | quantize   the chain up to that stage

Every command prints where its artifacts are and what to run next. Bad input exits
non-zero with one line naming the file or key and the fix.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from pipeline.config import ConfigError, load_config
from pipeline.errors import PipelineError

_NEXT = {
    "dataset": "python -m pipeline train",
    "base": "python -m pipeline sft",
    "adapter": "python -m pipeline merge",
    "merged": "python -m pipeline export",
    "exported": "python -m pipeline quantize",
    "onnx": "pytest evals -m smoke",
}
_UNTIL = {"sft": "adapter", "merge": "merged", "export": "exported", "quantize": "onnx", "train": "onnx"}


def _print_artifact(art) -> None:
    state = "reused" if art.reused else "built"
    numbers = ", ".join(f"{k}={v}" for k, v in art.numbers.items() if not isinstance(v, (dict, list)))
    print(f"[{art.stage}] {state}: {art.path}" + (f"  ({numbers})" if numbers else ""))


def _cmd_config(cfg, args) -> int:
    print(json.dumps(cfg.snapshot(), indent=2))
    return 0


def _cmd_preview(cfg, args) -> int:
    from pipeline import resume

    print(resume.format_preview(cfg, resume.ingest(cfg.path(cfg.resume_path))))
    return 0


def _cmd_dataset(cfg, args) -> int:
    from pipeline import dataset

    art = dataset.build(cfg, force=args.force, overwrite_eval_sets=args.overwrite_eval_sets)
    _print_artifact(art)
    print(f"next: {_NEXT['dataset']}")
    return 0


def _cmd_chain(cfg, args) -> int:
    from pipeline.chain import run_chain

    until = _UNTIL[args.command]
    force = {"all"} if args.force else set()
    arts = run_chain(cfg, until=until, force=force, on_stage=_print_artifact)
    print(f"next: {_NEXT[arts[until].stage]}")
    return 0


def _build_parser(extra: dict[str, Callable] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="config.yaml", help="config file (default: %(default)s)")
    common.add_argument("--profile", default=None,
                        help="profile from config.yaml (default: $RESUME_PROFILE or default_profile)")
    common.add_argument("--force", action="store_true", help="rebuild even when a cached artifact exists")
    common.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("config", parents=[common], help="print the resolved configuration")
    sub.add_parser("preview", parents=[common], help="print extracted facts per section")
    p = sub.add_parser("dataset", parents=[common], help="build the dataset and eval sets")
    p.add_argument("--overwrite-eval-sets", action="store_true",
                   help="regenerate data/eval/*.jsonl even when they exist and were edited")
    for name in ("train", "sft", "merge", "export", "quantize"):
        sub.add_parser(name, parents=[common], help=f"run the chain up to {_UNTIL[name]}")
    return parser


COMMANDS: dict[str, Callable] = {
    "config": _cmd_config, "preview": _cmd_preview, "dataset": _cmd_dataset,
    **{name: _cmd_chain for name in _UNTIL},
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, return the exit status (0 ok, 1 stage failure, 2 bad input)."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, profile=args.profile)
        return COMMANDS[args.command](cfg, args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: no artifact was marked complete; rerun to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
