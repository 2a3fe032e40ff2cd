"""transformers.js parity: each ONNX variant answered by Python onnxruntime and by transformers.js.

Run on the built artifacts (the chain is reused from the cache)::

    npm ci --prefix js                        # once: @huggingface/transformers + lockfile
    python -m pipeline.onnx.parity                 # Node (onnxruntime-node), every variant
    python -m pipeline.onnx.parity --runtime chromium --variants model_q4.onnx

Node runs ``js/parity.mjs``; Chromium (headless, Debian package ``chromium``) opens
``js/browser.html`` served from 127.0.0.1 by a throwaway ``http.server`` and runs the same
``js/generate.mjs`` on onnxruntime-web (WASM, one thread). Both use the chat template with
the training system prompt, greedy decoding, ``inference.repetition_penalty`` and
``inference.max_new_tokens``. The check: ``model.onnx`` must give token-identical text; a
quantized variant's agreement (mean token F1 of the transformers.js text against the Python
text of the same variant) must reach ``evaluation.thresholds.fp32_alignment_min``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.config import DTYPES, VARIANTS, Config
from pipeline.errors import PipelineError

JS_DIR = Path(__file__).resolve().parents[2] / "js"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
_INSTALL = "install it with `npm ci --prefix js`"


class ParityError(PipelineError):
    """transformers.js could not run (Node/Chromium missing or failing) or the check failed."""

    exit_code = 1


@dataclass(frozen=True)
class ParityResult:
    """One variant on one runtime.

    Attributes:
        variant: ONNX file name, e.g. ``model_q4.onnx``.
        runtime: ``node`` or ``chromium``.
        identical: cases whose transformers.js text equals the Python text exactly.
        agreement: mean token F1 (:func:`pipeline.metrics.token_f1`) of transformers.js text
            against the Python text, 0..1.
        passed: fp32 → every case identical; quantized → ``agreement >= threshold``.
        threshold: ``fp32_alignment_min`` used for quantized variants.
        cases: per question ``{question, python, js, token_f1}``.
    """

    variant: str
    runtime: str
    identical: int
    agreement: float
    passed: bool
    threshold: float
    cases: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        """One line: variant, runtime, identical count, agreement, PASS/FAIL."""
        verdict = "PASS" if self.passed else "FAIL"
        rule = "token-identical" if DTYPES[self.variant] == "fp32" else f"token F1 >= {self.threshold:.2f}"
        return (f"{verdict} {self.variant} [{self.runtime}]: {self.identical}/{len(self.cases)} identical, "
                f"agreement {self.agreement:.3f} ({rule})")


def node_unavailable() -> str | None:
    """Why the Node runtime cannot run here (a sentence with the fix), or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH (install Node.js 20+)"
    if not (JS_DIR / "node_modules" / "@huggingface" / "transformers").is_dir():
        return f"{JS_DIR / 'node_modules'} lacks @huggingface/transformers; {_INSTALL}"
    return None


def chromium_binary() -> str | None:
    """Path of a Chromium binary (``$CHROMIUM``, then chromium / chromium-browser on PATH)."""
    candidates = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"]
    return next((shutil.which(c) for c in candidates if c and shutil.which(c)), None)


def chromium_unavailable() -> str | None:
    """Why the Chromium runtime cannot run here (with the fix), or None when it can."""
    if chromium_binary() is None:
        return "no chromium binary (Debian: apt-get install -y chromium, or set $CHROMIUM)"
    return node_unavailable()


def _job(model_dir: Path, variant: str, questions: Sequence[str], *, system_prompt: str,
         max_new_tokens: int, repetition_penalty: float) -> dict:
    if variant not in DTYPES:
        raise ParityError(f"unknown variant {variant!r}; choose from {list(DTYPES)}")
    if not (model_dir / "onnx" / variant).is_file():
        raise ParityError(f"{model_dir / 'onnx' / variant} is missing; run `python -m pipeline quantize`")
    return {"model_dir": str(model_dir.resolve()), "model_name": model_dir.resolve().name,
            "dtype": DTYPES[variant], "system_prompt": system_prompt, "questions": list(questions),
            "max_new_tokens": max_new_tokens, "repetition_penalty": repetition_penalty}


def run_node(model_dir: Path, variant: str, questions: Sequence[str], *, system_prompt: str,
             max_new_tokens: int, repetition_penalty: float, timeout: float = 600) -> dict:
    """Answer ``questions`` with transformers.js in Node (onnxruntime-node).

    Returns:
        The JSON printed by ``js/parity.mjs``: ``{runtime, transformers, dtype, results:
        [{question, text, token_ids, new_tokens, latency_ms}]}``.

    Raises:
        ParityError: Node or the npm packages are missing, or the script failed (its stderr tail).
    """
    reason = node_unavailable()
    if reason:
        raise ParityError(reason)
    job = _job(model_dir, variant, questions, system_prompt=system_prompt,
               max_new_tokens=max_new_tokens, repetition_penalty=repetition_penalty)
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        try:
            proc = subprocess.run(["node", str(JS_DIR / "parity.mjs"), str(job_file)], capture_output=True,
                                  text=True, timeout=timeout, cwd=JS_DIR)
        except subprocess.TimeoutExpired as exc:
            raise ParityError(f"js/parity.mjs on {model_dir}/onnx/{variant} ran past {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise ParityError(f"js/parity.mjs failed on {model_dir}/onnx/{variant}: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class StaticHandler(SimpleHTTPRequestHandler):
    """Static files with the MIME types a transformers.js page needs (``.mjs``, ``.wasm``), no
    request log. The base of the parity, demo and local-Hub servers."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (base class signature)
        return


class _Handler(StaticHandler):
    """Static files from the site folder plus ``POST /result`` that hands the page's JSON back."""

    def __init__(self, *args, sink: dict, done: threading.Event, **kwargs):
        self._sink, self._done = sink, done
        super().__init__(*args, **kwargs)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._sink["body"] = body.decode("utf-8")
        self.send_response(204)
        self.end_headers()
        self._done.set()


def launch_chromium(cmd: Sequence[str], *, stderr: bool = True) -> subprocess.Popen:
    """Start headless Chromium in its own process group (so :func:`stop_chromium` ends its
    renderer and GPU children too); stderr is captured as text when ``stderr``."""
    return subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if stderr else subprocess.DEVNULL, text=True,
                            start_new_session=True)


def stop_chromium(proc: subprocess.Popen) -> str:
    """End Chromium's whole process group (SIGTERM, then SIGKILL after 20 s) and return its
    stderr text: nothing is left running to write into its profile folder or use the CPU."""
    import signal

    def group(sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    group(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        group(signal.SIGKILL)
        _, stderr = proc.communicate()
    group(signal.SIGKILL)  # children that outlived the main process
    return stderr or ""


def run_chromium(model_dir: Path, variant: str, questions: Sequence[str], *, system_prompt: str,
                 max_new_tokens: int, repetition_penalty: float, timeout: float = 600) -> dict:
    """Answer ``questions`` with transformers.js in headless Chromium (onnxruntime-web, WASM).

    The page, transformers.js and the model folder are served from 127.0.0.1 on a free port;
    Chromium starts with :data:`CHROMIUM_FLAGS` and a fresh ``--user-data-dir``; nothing is
    fetched from outside this machine.

    Returns:
        ``{runtime: "chromium", user_agent, transformers, dtype, results: [...]}`` as in :func:`run_node`.

    Raises:
        ParityError: no Chromium / npm packages, the page reported an error, or no result
            arrived within ``timeout`` seconds.
    """
    reason = chromium_unavailable()
    if reason:
        raise ParityError(reason)
    job = _job(model_dir, variant, questions, system_prompt=system_prompt,
               max_new_tokens=max_new_tokens, repetition_penalty=repetition_penalty)
    with tempfile.TemporaryDirectory(prefix="parity-site-", ignore_cleanup_errors=True) as site_dir:
        site = Path(site_dir)
        (site / "transformers").symlink_to(JS_DIR / "node_modules" / "@huggingface" / "transformers" / "dist")
        (site / "models").mkdir()
        (site / "models" / job["model_name"]).symlink_to(Path(job["model_dir"]), target_is_directory=True)
        shutil.copy(JS_DIR / "browser.html", site / "index.html")
        shutil.copy(JS_DIR / "generate.mjs", site / "generate.mjs")
        (site / "job.json").write_text(json.dumps(job), encoding="utf-8")
        sink: dict = {}
        done = threading.Event()
        handler = functools.partial(_Handler, directory=str(site), sink=sink, done=done)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        profile = site / "chromium-profile"
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"http://127.0.0.1:{server.server_address[1]}/index.html"]
        proc = launch_chromium(cmd)
        try:
            arrived = done.wait(timeout)
        finally:
            stderr = stop_chromium(proc)
            server.shutdown()
            server.server_close()
    if not arrived:
        raise ParityError(f"headless chromium gave no result for {model_dir}/onnx/{variant} within "
                          f"{timeout:.0f} s; chromium stderr: {(stderr or '').strip()[-600:]}")
    out = json.loads(sink["body"])
    if "error" in out:
        raise ParityError(f"transformers.js in chromium failed on {model_dir}/onnx/{variant}: {out['error'][-800:]}")
    return out


def compare(variant: str, runtime: str, python_texts: Sequence[str], js_out: dict,
            threshold: float) -> ParityResult:
    """Score transformers.js output against Python's for the same questions (same order).

    Args:
        variant: ONNX file name; ``model.onnx`` requires token-identical text.
        runtime: ``node`` or ``chromium`` (recorded).
        python_texts: ``Generation.text`` per question from :class:`pipeline.onnx.runtime.Generator`.
        js_out: what :func:`run_node` / :func:`run_chromium` returned.
        threshold: minimum mean token F1 for quantized variants (``fp32_alignment_min``).
    """
    from pipeline.metrics import token_f1

    rows = js_out["results"]
    if len(rows) != len(python_texts):
        raise ParityError(f"transformers.js answered {len(rows)} questions, Python {len(python_texts)}")
    cases = [{"question": r["question"], "python": py, "js": r["text"], "token_f1": token_f1(py, r["text"])}
             for py, r in zip(python_texts, rows, strict=True)]
    identical = sum(c["python"] == c["js"] for c in cases)
    agreement = sum(c["token_f1"] for c in cases) / len(cases) if cases else 0.0
    exact_required = DTYPES[variant] == "fp32"
    passed = bool(cases) and (identical == len(cases) if exact_required else agreement >= threshold)
    return ParityResult(variant, runtime, identical, agreement, passed, threshold, cases)


def eval_questions(cfg: Config, n: int) -> list[str]:
    """The first ``n`` questions of the eval sets (golden, then adversarial, then ood), in file order.

    Raises:
        ParityError: fewer than ``n`` questions exist (build the dataset first).
    """
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    questions: list[str] = []
    for name in ("golden", "adversarial", "ood"):
        path = folder / f"{name}.jsonl"
        if path.is_file():
            questions += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
                          if line.strip()]
    if len(questions) < n:
        raise ParityError(f"{folder}: {len(questions)} eval questions, need {n}; "
                          "run `python -m pipeline dataset` to bootstrap the eval sets")
    return questions[:n]


def check_variant(cfg: Config, model_dir: Path, variant: str, questions: Sequence[str],
                  runtime: str = "node") -> ParityResult:
    """Run Python onnxruntime and transformers.js on one variant and :func:`compare` them.

    The Python side computes int8 as the JS runtime does: exactly for Chromium (WASM), with
    onnxruntime's default kernels for Node (onnxruntime-node, which saturates U8S8 products on
    x86 CPUs without VNNI; see ``Generator``'s ``exact_int8``).
    """
    from pipeline.onnx.runtime import Generator

    knobs = {"system_prompt": cfg.system_prompt, "max_new_tokens": cfg.inference.max_new_tokens,
             "repetition_penalty": cfg.inference.repetition_penalty}
    gen = Generator(model_dir, variant, exact_int8=runtime != "node", **knobs)
    python_texts = [gen.generate(q).text for q in questions]
    run = run_node if runtime == "node" else run_chromium
    js_out = run(model_dir, variant, questions, **knobs)
    return compare(variant, runtime, python_texts, js_out, cfg.evaluation.thresholds.fp32_alignment_min)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: parity of the cached ONNX variants; prints JSON lines and PASS/FAIL; exit 1 on a failure."""
    from pipeline.config import load_config

    parser = argparse.ArgumentParser(prog="python -m pipeline.onnx.parity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS),
                        help="ONNX files to check (default: every one the folder holds)")
    parser.add_argument("--runtime", choices=("node", "chromium", "both"), default="node")
    parser.add_argument("--questions", type=int, default=5, help="eval questions per variant (default 5)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a transformers.js model folder (default: the last one `python -m pipeline train` built)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, profile=args.profile)
        model_dir = args.model_dir or cfg.path(cfg.onnx_output) / "latest"
        if not (Path(model_dir) / "onnx").is_dir():
            raise ParityError(f"{model_dir} holds no onnx/ folder; run `python -m pipeline train` first, "
                              "or pass --model-dir")
        questions = eval_questions(cfg, args.questions)
        runtimes = ("node", "chromium") if args.runtime == "both" else (args.runtime,)
        variants = args.variants or [v for v in VARIANTS if (Path(model_dir) / "onnx" / v).is_file()]
        results = [check_variant(cfg, model_dir, v, questions, rt) for v in variants for rt in runtimes]
    except (PipelineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    for res in results:
        print(json.dumps({"variant": res.variant, "runtime": res.runtime, "identical": res.identical,
                          "cases": len(res.cases), "agreement": round(res.agreement, 4), "passed": res.passed}))
    for res in results:
        print(res.summary())
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
