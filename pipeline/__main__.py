"""Command line: ``python -m pipeline <command> [--config config.yaml] [--profile cpu]``.

Commands:
  config      print the resolved configuration of the active profile
  preview     print the facts extracted from the resume, per section
  dataset     build the grounded Q/A dataset and bootstrap data/eval/*.jsonl
  train       dataset → base → LoRA SFT → merge → ONNX export → quantization
  sft | merge | export | quantize   the chain up to that stage
  publish     stage, PII-scan and upload the model or dataset repo (--dry-run lists files)
  chat        ask the ONNX model questions (one, or interactively from stdin)

Every command prints where its artifacts are and what to run next. Bad input exits
non-zero with one line naming the file or key and the fix.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from pipeline.cache import Artifact
from pipeline.config import VARIANTS, Config, load_config
from pipeline.errors import PipelineError, Terminated, sigterm_as_interrupt

# Idle OpenMP threads sleep instead of spinning: on the shared 2-core machine spinning threads
# made CPU training 5x slower (measured 18 vs 104 tokens/s under load). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_NEXT = {
    "dataset": "python -m pipeline train",
    "base": "python -m pipeline sft",
    "adapter": "python -m pipeline merge",
    "merged": "python -m pipeline export",
    "exported": "python -m pipeline quantize",
    "onnx": "pytest evals -m smoke",
}
_UNTIL = {"sft": "adapter", "merge": "merged", "export": "exported", "quantize": "onnx", "train": "onnx"}


def _print_artifact(art: Artifact, file: TextIO | None = None) -> None:
    state = "reused" if art.reused else "built"
    numbers = ", ".join(f"{k}={v}" for k, v in art.numbers.items() if not isinstance(v, (dict, list)))
    print(f"[{art.stage}] {state}: {art.path}" + (f"  ({numbers})" if numbers else ""), file=file or sys.stdout)


def _cmd_config(cfg: Config, args) -> int:
    print(json.dumps(cfg.snapshot(), indent=2))
    return 0


def _cmd_preview(cfg: Config, args) -> int:
    from pipeline.resume.ingest import format_preview, ingest

    print(format_preview(cfg, ingest(cfg.path(cfg.resume_path))))
    return 0


def _cmd_dataset(cfg: Config, args) -> int:
    from pipeline.dataset.build import build, format_summary

    art = build(cfg, force=args.force, overwrite_eval_sets=args.overwrite_eval_sets)
    _print_artifact(art)
    print(format_summary(art))
    print(f"next: {_NEXT['dataset']}")
    return 0


def _cmd_chain(cfg: Config, args) -> int:
    from pipeline.chain import run_chain

    until = _UNTIL[args.command]
    force = {"all"} if args.force else set()
    arts = run_chain(cfg, until=until, force=force, on_stage=_print_artifact)
    print(f"next: {_NEXT[arts[until].stage]}")
    return 0


def _cmd_publish(cfg: Config, args) -> int:
    from pipeline.publish.publish import publish

    return publish(cfg, args.what, dry_run=args.dry_run, allow_failing=args.allow_failing,
                   report_dir=args.report, repo_id=args.repo_id, stage_dir=args.stage_dir)


def _cmd_chat(cfg: Config, args) -> int:
    from pipeline.onnx.chat import chat

    model_dir = args.model_dir
    if model_dir is None:
        from pipeline.chain import run_chain

        print("chat: no --model-dir; building or reusing every stage up to the ONNX variants first "
              "(`python -m pipeline train`; the first build takes about 20 minutes on 2 cores)", file=sys.stderr)
        arts = run_chain(cfg, until="onnx", on_stage=lambda art: _print_artifact(art, file=sys.stderr))
        model_dir = arts["onnx"].path
    return chat(cfg, args.variant, args.question, model_dir=model_dir)


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
    p.add_argument("--managed-server", action="store_true",
                   help="llm backend: start a local llama.cpp server for the run (sets server.managed: true)")
    for name in ("train", "sft", "merge", "export", "quantize"):
        sub.add_parser(name, parents=[common], help=f"run the chain up to {_UNTIL[name]}")
    p = sub.add_parser("publish", parents=[common], help="publish the model or dataset to the Hub")
    p.add_argument("what", choices=("model", "dataset"))
    p.add_argument("--dry-run", action="store_true", help="stage and list files with size and sha256; upload nothing")
    p.add_argument("--allow-failing", action="store_true",
                   help="publish without an eval report or with failing gates (the card says so)")
    p.add_argument("--report", type=Path, default=None, help="eval report folder (default: the newest)")
    p.add_argument("--repo-id", default=None, help="Hub repo id (default: model.hub_id / dataset.hub_id)")
    p.add_argument("--stage-dir", type=Path, default=None, help="keep the staged tree in this empty folder")
    p = sub.add_parser("chat", parents=[common], help="ask the ONNX model questions")
    p.add_argument("question", nargs="?", default=None, help="one question; omit for interactive mode")
    p.add_argument("--variant", default="model_q4.onnx", choices=VARIANTS, help="ONNX file (default: %(default)s)")
    p.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the chain's ONNX artifact)")
    return parser


COMMANDS: dict[str, Callable] = {
    "config": _cmd_config, "preview": _cmd_preview, "dataset": _cmd_dataset,
    **{name: _cmd_chain for name in _UNTIL},
    "publish": _cmd_publish, "chat": _cmd_chat,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, return the exit status (0 ok, 1 stage failure, 2 bad input)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "chat" and args.question is not None and not args.question.strip():
        parser.error("chat: the question is empty; pass a question about the resume in quotes, or omit it "
                     "for interactive mode")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        managed = {"server": {"managed": True}} if getattr(args, "managed_server", False) else None
        cfg = load_config(args.config, profile=args.profile, overrides=managed)
        with sigterm_as_interrupt():  # SIGTERM (timeout, CI cancel) unwinds like Ctrl-C
            return COMMANDS[args.command](cfg, args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("interrupted: no artifact was marked complete; rerun to continue", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
