"""Ask the fine-tuned model questions from the terminal, for manual checks.

Run::

    python -m pipeline chat --variant model_q4.onnx "Where does Maya work now?"
    python -m pipeline chat                    # interactive: one question per line, EOF or "exit" ends

The model folder is the chain's ONNX artifact (built or reused through the cache), or
``--model-dir DIR`` for any transformers.js-layout folder (e.g. a staged or downloaded repo).
Generation is :class:`pipeline.onnx.runtime.Generator`: greedy, the training system prompt,
``inference.max_new_tokens`` and ``inference.repetition_penalty``. The answer is printed token
by token as it is generated; after it one line gives the time to first token, the latency (ms,
wall time of the call) and the decoding speed (new tokens / second).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from pipeline.config import VARIANTS, Config
from pipeline.errors import ModelInputError

_EXIT = {"exit", "quit", ":q"}


def stats_line(new_tokens: int, latency_ms: float, first_token_ms: float | None = None) -> str:
    """``"[first token 80 ms, latency 412 ms, 37 tokens, 89.8 tokens/s]"``; tokens/s =
    new_tokens / (latency_ms / 1000); the first-token part only when ``first_token_ms`` is given."""
    rate = new_tokens / (latency_ms / 1000.0) if latency_ms > 0 else 0.0
    first = f"first token {first_token_ms:.0f} ms, " if first_token_ms is not None else ""
    return f"[{first}latency {latency_ms:.0f} ms, {new_tokens} tokens, {rate:.1f} tokens/s]"


def chat(cfg: Config, variant: str, question: str | None, *, model_dir: Path,
         stdin: TextIO | None = None, echo: Callable[[str], None] = print,
         write: Callable[[str], None] | None = None) -> int:
    """Answer ``question``, or every line of ``stdin`` when ``question`` is None.

    Args:
        variant: file under ``onnx/``, e.g. ``model_q4.onnx``.
        question: one question; None starts the interactive loop (stops at EOF or ``exit``).
        model_dir: a transformers.js model folder (``onnx/`` inside); the CLI passes the chain's
            ONNX artifact when ``--model-dir`` is omitted.
        stdin: input for the interactive loop (default ``sys.stdin``).
        echo: sink for whole lines (default ``print``).
        write: sink for the streamed answer pieces (default: stdout, flushed per piece); the
            answer ends with a newline written there.

    Returns:
        0.

    Raises:
        ModelInputError: (exit 2) ``model_dir`` has no ``onnx/`` folder or no ``onnx/<variant>``.
        ModelError: (exit 1) the variant or tokenizer cannot be loaded (from
            :class:`~pipeline.onnx.runtime.Generator`).
    """
    import sys

    from pipeline.onnx.runtime import Generator

    onnx_dir = Path(model_dir) / "onnx"
    if not onnx_dir.is_dir():
        what = "does not exist" if not Path(model_dir).exists() else "has no onnx/ folder"
        raise ModelInputError(f"--model-dir {model_dir} {what}; pass the folder that "
                              "`python -m pipeline train` printed for [onnx], or omit --model-dir")
    if not (onnx_dir / variant).is_file():
        present = [v for v in VARIANTS if (onnx_dir / v).is_file()]
        raise ModelInputError(f"{onnx_dir} has no {variant} (present: {', '.join(present) or 'none'}); "
                              "pick one of those with --variant, or pass a --model-dir that has it")
    gen = Generator(Path(model_dir), variant, system_prompt=cfg.system_prompt,
                    max_new_tokens=cfg.inference.max_new_tokens,
                    repetition_penalty=cfg.inference.repetition_penalty)

    def _stdout(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    out = write or _stdout

    def answer(q: str) -> None:
        started = [False]

        def piece(text: str) -> None:
            if not started[0]:
                text = text.lstrip()
                started[0] = bool(text)
            if text:
                out(text)

        g = gen.generate(q, on_text=piece)
        out("\n")
        echo(stats_line(g.new_tokens, g.latency_ms, g.first_token_ms))

    if question is not None:
        answer(question)
        return 0
    stream = stdin if stdin is not None else sys.stdin
    interactive = stream.isatty()
    if interactive:
        echo(f"{variant} from {model_dir}; one question per line, 'exit' or Ctrl-D to quit")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = stream.readline()
        if not line:
            break
        q = line.strip()
        if q.lower() in _EXIT:
            break
        if q:
            answer(q)
    return 0
