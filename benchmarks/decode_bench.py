"""Decode and prefill speed of each ONNX variant against llama.cpp on the same fine-tuned model.

Run: ``python benchmarks/decode_bench.py [--merged artifacts/merged/latest] [--onnx artifacts/onnx/latest]
[--threads 1 2] [--tokens 64] [--repeat 2] [--work /tmp/decode-bench] [--out decode_bench.json]``

Needs llama-cpp-python (``pip install -e '.[llm]'`` with the README's ``CMAKE_ARGS``) and
``sentencepiece`` (the converter imports it). The converter is llama.cpp's own
``convert_hf_to_gguf.py``, from the llama-cpp-python sdist that pip downloads into ``--work``
when it is not there yet (``--sdist`` to pass one).

1. The merged model (the weights the ONNX files were exported from) becomes GGUF: F32 and
   Q8_0 by the converter, Q4_0 by ``llama_cpp.llama_model_quantize`` from the F32 file.
2. The same chat prompt (the training system prompt and one question) is tokenized once with
   the model's tokenizer and fed as token ids to both runtimes, greedy, repetition penalty off,
   EOS ignored so that every run decodes exactly ``--tokens`` tokens.
3. Per runtime, file and thread count: prefill = wall time to the first generated token;
   decode tokens/s = (tokens - 1) / (the rest of the wall time). onnxruntime runs through
   :class:`pipeline.onnx.runtime.Generator` (``intra_op_threads``); llama.cpp through
   ``llama_cpp.Llama`` (``n_threads`` = ``n_threads_batch``).
4. Pairs compared: model.onnx <-> F32, model_int8.onnx <-> Q8_0, model_q4.onnx <-> Q4_0;
   ``decode_ratio`` = ONNX decode tokens/s / llama.cpp's (>= 1 is the target), ``prefill_ratio``
   = llama.cpp prefill ms / ONNX's. Each measurement runs ``--repeat`` times, one runtime after
   the other (llama.cpp in a spawned process of its own); the JSON gives every run, the
   median and the spread ((max - min) / median). Run the script twice for the spread across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402
from pipeline.onnx.runtime import Generator  # noqa: E402

PAIRS = (("model.onnx", "F32"), ("model_int8.onnx", "Q8_0"), ("model_q4.onnx", "Q4_0"))
QUESTION = "Tell me about Maya's work at Northwind Robotics."
_SDIST = "llama_cpp_python-0.3.36"
_FTYPES = {"Q4_0": 2, "Q8_0": 7}  # llama.h: LLAMA_FTYPE_MOSTLY_Q4_0, LLAMA_FTYPE_MOSTLY_Q8_0


def converter(work: Path, sdist: Path | None) -> Path:
    """llama.cpp's convert_hf_to_gguf.py (with its gguf-py), extracted from the llama-cpp-python sdist."""
    root = work / _SDIST / "vendor" / "llama.cpp"
    script = root / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    if sdist is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", str(work), f"llama-cpp-python=={_SDIST.rsplit('-', 1)[1]}"], check=True)
        sdist = work / f"{_SDIST}.tar.gz"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"{_SDIST}/vendor/llama.cpp/")
                   and ("/gguf-py/" in m.name or "/conversion/" in m.name or m.name.endswith("convert_hf_to_gguf.py"))]
        try:
            tar.extractall(work, members=members, filter="data")
        except TypeError:  # Python without extraction filters (before 3.10.12 / 3.11.4)
            tar.extractall(work, members=members)  # noqa: S202 (members are the sdist's own files)
    return script


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 (C libraries' stderr) to /dev/null while the block runs."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def gguf_files(merged: Path, work: Path, sdist: Path | None) -> dict[str, Path]:
    """F32, Q8_0 and Q4_0 GGUF files of ``merged`` (made once into ``work``)."""
    import llama_cpp

    script = converter(work, sdist)
    env = {**os.environ, "PYTHONPATH": str(script.parent / "gguf-py")}
    out = {}
    for kind, outtype in (("F32", "f32"), ("Q8_0", "q8_0")):
        dest = work / f"model-{kind}.gguf"
        if not dest.is_file():
            subprocess.run([sys.executable, str(script), str(merged), "--outfile", str(dest), "--outtype", outtype],
                           check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out[kind] = dest
    dest = work / "model-Q4_0.gguf"
    if not dest.is_file():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = _FTYPES["Q4_0"]
        with _quiet_stderr():  # llama.cpp prints a line per tensor
            status = llama_cpp.llama_model_quantize(str(out["F32"]).encode(), str(dest).encode(), params)
        if status != 0:
            raise RuntimeError(f"llama_model_quantize failed for {dest}")
    out["Q4_0"] = dest
    return out


def onnx_speed(gen: Generator, prompt_question: str, tokens: int) -> dict:
    """Prefill ms and decode tokens/s of one forced-length greedy generation."""
    eos = gen.eos_ids
    gen.eos_ids = ()  # decode exactly `tokens` tokens
    try:
        g = gen.generate(prompt_question, max_new_tokens=tokens)
    finally:
        gen.eos_ids = eos
    decode_s = (g.latency_ms - g.first_token_ms) / 1000.0
    return {"prefill_ms": g.first_token_ms, "decode_tokens_per_s": (g.new_tokens - 1) / decode_s,
            "new_tokens": g.new_tokens}


def llama_speed(llm, prompt_ids: list[int], tokens: int) -> dict:
    """The same measurement with llama.cpp: prompt ids evaluated, then greedy steps one by one."""
    import numpy as np

    llm.reset()
    started = time.perf_counter()
    llm.eval(prompt_ids)
    token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    first = time.perf_counter()
    for _ in range(tokens - 1):
        llm.eval([token])
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    done = time.perf_counter()
    return {"prefill_ms": (first - started) * 1000.0, "decode_tokens_per_s": (tokens - 1) / (done - first),
            "new_tokens": tokens}


def _llama_runs(gguf: str, threads: int, prompt_ids: list[int], tokens: int, repeat: int) -> list[dict]:
    """``repeat`` :func:`llama_speed` runs after one warm-up (the body of the spawned process).

    llama.cpp's OpenMP threads get the OpenMP default wait policy: with ``OMP_WAIT_POLICY=PASSIVE``
    (the project's setting for torch, inherited from this script) its 2-thread decode fell to a
    third (25 against 77 tokens/s on Q8_0). onnxruntime has its own thread pool and ignores it.
    """
    os.environ.pop("OMP_WAIT_POLICY", None)
    import llama_cpp

    llm = llama_cpp.Llama(gguf, n_ctx=1024, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    llama_speed(llm, prompt_ids, 4)
    return [llama_speed(llm, prompt_ids, tokens) for _ in range(repeat)]


def _summary(runs: list[dict]) -> dict:
    out = {"runs": runs}
    for key in ("prefill_ms", "decode_tokens_per_s"):
        values = [r[key] for r in runs]
        med = statistics.median(values)
        out[key] = round(med, 2)
        out[f"{key}_spread"] = round((max(values) - min(values)) / med, 3) if med else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--merged", type=Path, default=REPO / "artifacts" / "merged" / "latest")
    ap.add_argument("--onnx", type=Path, default=REPO / "artifacts" / "onnx" / "latest")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/decode-bench"))
    ap.add_argument("--sdist", type=Path, default=None, help="llama-cpp-python sdist (.tar.gz) holding the converter")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import llama_cpp

    cfg = load_config(args.config, profile=args.profile)
    args.work.mkdir(parents=True, exist_ok=True)
    ggufs = gguf_files(args.merged.resolve(), args.work, args.sdist)
    rows = []
    for threads in args.threads:
        for variant, kind in PAIRS:
            # llama.cpp runs in a fresh spawned process, with its own OpenMP settings (_llama_runs).
            gen = Generator(args.onnx, variant, system_prompt=cfg.system_prompt, max_new_tokens=args.tokens,
                            repetition_penalty=1.0, intra_op_threads=threads)
            prompt_ids = gen.prompt_ids(QUESTION)
            onnx_speed(gen, QUESTION, 4)  # warm-up
            onnx_runs = [onnx_speed(gen, QUESTION, args.tokens) for _ in range(args.repeat)]
            del gen
            gc.collect()
            with mp.get_context("spawn").Pool(1) as pool:
                llama_runs = pool.apply(_llama_runs, (str(ggufs[kind]), threads, prompt_ids, args.tokens, args.repeat))
            o, c = _summary(onnx_runs), _summary(llama_runs)
            rows.append({"threads": threads, "onnx": variant, "gguf": kind, "prompt_tokens": len(prompt_ids),
                         "onnx_speed": o, "llama_cpp_speed": c,
                         "decode_ratio": round(o["decode_tokens_per_s"] / c["decode_tokens_per_s"], 3),
                         "prefill_ratio": round(c["prefill_ms"] / o["prefill_ms"], 3)})
            print(json.dumps({k: rows[-1][k] for k in ("threads", "onnx", "gguf", "decode_ratio", "prefill_ratio")}),
                  file=sys.stderr)
    result = {"tokens": args.tokens, "repeat": args.repeat, "question": QUESTION,
              "llama_cpp_python": llama_cpp.__version__,
              "gguf_mib": {k: round(p.stat().st_size / 2**20, 1) for k, p in ggufs.items()}, "pairs": rows}
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
