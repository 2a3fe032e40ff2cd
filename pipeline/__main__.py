"""Command line: ``python -m pipeline <command> [--config config.yaml] [--profile cpu]``.

Commands:
  config      print the resolved configuration of the active profile
  preview     print the entries and facts extracted from the resume (--json FILE: as a JSON Resume)
  dataset     build the grounded Q/A dataset and bootstrap data/eval/*.jsonl
  train       dataset → base → LoRA SFT → merge → ONNX export → quantization
  sft | merge | export | quantize   the chain up to that stage
  publish     stage, PII-scan and upload the model or dataset repo (--dry-run lists files)
  chat        ask the ONNX model questions (one, or interactively from stdin), streamed
  demo        serve a chat page that runs the model in the browser (transformers.js)

Every command prints where its artifacts are and what to run next. Bad input exits
non-zero with one line naming the file or key and the fix: 2 for something to fix in the
input or the setup (including a full disk and a file that is not UTF-8), 1 for a failed
stage, 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from types import TracebackType
from typing import TextIO

from pipeline.cache import Artifact
from pipeline.config import VARIANTS, Config, load_config
from pipeline.errors import PipelineError, Terminated, disk_full, is_disk_full, sigterm_as_interrupt

# Idle OpenMP threads sleep instead of spinning: on the shared 2-core machine spinning threads
# made CPU training 5x slower (measured 18 vs 104 tokens/s under load). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_NEXT = {
    "dataset": "python -m pipeline train",
    "base": "python -m pipeline sft",
    "adapter": "python -m pipeline merge",
    "merged": "python -m pipeline export",
    "exported": "python -m pipeline quantize",
    "onnx": "tox -e smoke (or, in an environment with the package, pytest evals -m smoke)",
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
    from pipeline.resume.ingest import ingest
    from pipeline.resume.preview import check_json_target, entries, format_preview, write_json_resume

    if args.json is not None:
        check_json_target(args.json)
    resume = ingest(cfg.path(cfg.resume_path))
    print(format_preview(cfg, resume))
    if args.json is not None:
        path = write_json_resume(resume, args.json)
        n = sum(1 for e in entries(resume) if e.header is not None)
        print(f"\nwrote {path}: a JSON Resume with {n} entries and {len(resume.facts)} facts; correct it, then set "
              f"resume_path: {path} in the config file")
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


def _cmd_demo(cfg: Config, args) -> int:
    from pipeline.onnx.demo import run

    model_dir = args.model_dir
    if model_dir is None:
        from pipeline.chain import run_chain

        print("demo: no --model-dir; building or reusing every stage up to the ONNX variants first", file=sys.stderr)
        model_dir = run_chain(cfg, until="onnx", on_stage=lambda art: _print_artifact(art, file=sys.stderr))["onnx"].path
    return run(cfg, Path(model_dir), args.variant, args.port)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; pass 0 (a free port) to 65535")
    return port


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
    p = sub.add_parser("preview", parents=[common], help="print the extracted entries and facts per section")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write what was extracted as a JSON Resume to FILE (correct it, point resume_path at it)")
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
    p = sub.add_parser("demo", parents=[common], help="serve a chat page running the model in the browser")
    p.add_argument("--variant", default="model_q4.onnx", choices=VARIANTS,
                   help="variant preselected on the page (default: %(default)s); the page offers every built one")
    p.add_argument("--port", type=_port, default=8765, help="port on 127.0.0.1 (default: %(default)s; 0 = free port)")
    p.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the chain's ONNX artifact)")
    return parser


def _disk_full_cause(exc: BaseException) -> OSError | None:
    """The disk-full OSError (ENOSPC/EDQUOT) that ``exc`` is or was raised from, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if is_disk_full(cur):
            return cur  # type: ignore[return-value]
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _file_in_traceback(tb: TracebackType | None, *, reading: bool) -> Path | None:
    """The file the innermost frames of ``tb`` were reading or writing, if one can be told.

    Looks, innermost frame first, for an open file object with a name (``open()``, pathlib's
    ``read_text``/``write_text``, ``json.load(fp)``, ``yaml.safe_load(fp)`` all hold one). For
    a write, a path in a local variable counts too; for a read (``reading``), only an open
    file that exists does, so bytes from a socket or a subprocess are never blamed on a file.
    """
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        found = [Path(v.name) for v in values if isinstance(v, io.IOBase) and isinstance(getattr(v, "name", None), str)]
        if reading:
            found = [f for f in found if f.is_file()]
        else:
            found += [Path(v) for v in values if isinstance(v, PurePath)]
        if found:
            return found[0]
    return None


def _disk_full_line(exc: OSError, tb: TracebackType | None) -> str:
    path = exc.filename or _file_in_traceback(tb, reading=False)
    if path is None:
        path = "an output folder (dataset_output, model_output, merged_output, onnx_output, cache_dir, " \
               "evaluation.eval_data_dir, evaluation.report_output)"
    return f"error: {disk_full(exc, path)}"


def _decode_error_line(exc: UnicodeDecodeError, tb: TracebackType | None) -> str | None:
    path = _file_in_traceback(tb, reading=True)
    if path is None:
        return None
    return (f"error: {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8 and rerun")


COMMANDS: dict[str, Callable] = {
    "config": _cmd_config, "preview": _cmd_preview, "dataset": _cmd_dataset,
    **{name: _cmd_chain for name in _UNTIL},
    "publish": _cmd_publish, "chat": _cmd_chat, "demo": _cmd_demo,
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
        cause = _disk_full_cause(exc) if exc.exit_code != 2 else None
        if cause is not None:  # a stage failed because the disk is full: something to fix in the setup
            print(_disk_full_line(cause, cause.__traceback__), file=sys.stderr)
            return 2
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # A folder is complete only once its manifest.json exists (pipeline/cache.py): what was
        # finished before the signal stays, the stage that was running left nothing behind.
        print("interrupted: artifacts already marked complete are kept; the stage that was running will "
              "restart on the next run (rerun the command to continue)", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, Terminated) else 130
    except UnicodeDecodeError as exc:
        line = _decode_error_line(exc, exc.__traceback__)
        if line is None:  # not a file the user can re-save: a bug, keep the traceback
            raise
        print(line, file=sys.stderr)
        return 2
    except Exception as exc:
        cause = _disk_full_cause(exc)
        if cause is None:
            raise
        print(_disk_full_line(cause, cause.__traceback__), file=sys.stderr)
        return 2


def _run() -> int:
    """``main()`` for the command line: a closed stdout (``python -m pipeline config | head``)
    ends the command quietly instead of with a BrokenPipeError traceback."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout again at exit
        return 0


if __name__ == "__main__":
    sys.exit(_run())
