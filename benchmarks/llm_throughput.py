"""Throughput of the ``llm`` dataset backend: samples per minute at 1 and at N concurrent requests.

Run: ``python benchmarks/llm_throughput.py [--slots 4] [--samples-per-category 3] [--profile cpu]``
(needs the llm extra). Starts one managed llama.cpp server on 127.0.0.1 with the embedded
GGUF (``llama-server -np N`` when on PATH, else ``python -m llama_cpp.server``), then runs
:func:`pipeline.dataset.llm.generate` on the repository's sample resume twice against that
same server, with ``server.slots`` 1 and N, each in a fresh progress folder, and prints JSON:
samples, requests, seconds and samples per minute for each, and
``ratio = samples_per_min(N) / samples_per_min(1)``. The kept samples are the same in both
runs (the seeds make each unit reproducible), so the ratio compares equal work. A warm-up
run precedes both, and the concurrent run is measured first.

llama-cpp-python's server decodes one request at a time, so expect a ratio near 1 there;
llama-server with ``-np N`` batches the N sequences.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402
from pipeline.dataset import llm as dataset_llm  # noqa: E402
from pipeline.dataset.server import LlamaClient, managed_server  # noqa: E402
from pipeline.resume.ingest import ingest  # noqa: E402


def _run(cfg, resume, slots: int, work: Path) -> dict:
    run_cfg = cfg.model_copy(update={"server": cfg.server.model_copy(update={"slots": slots})})
    started = time.perf_counter()
    result = dataset_llm.generate(run_cfg, resume, work)
    seconds = time.perf_counter() - started
    units = [u for folder in work.glob("llm-*") for u in dataset_llm.iter_units(folder)]
    return {"slots": slots, "samples": len(result.samples), "units": len(units), "seconds": round(seconds, 2),
            "samples_per_min": round(60 * len(result.samples) / seconds, 2) if seconds else 0.0,
            "units_per_min": round(60 * len(units) / seconds, 2) if seconds else 0.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--samples-per-category", type=int, default=1)
    args = parser.parse_args(argv)
    base = load_config(args.config, profile=args.profile, overrides={
        "server": {"slots": args.slots, "managed_n_ctx": 2048, "max_retries": 2},
        "dataset": {"backend": "llm", "samples_per_category": args.samples_per_category,
                    "variations_per_question": 2},
        "generation_limits": {"question_max_tokens": 32, "answer_max_tokens": 64},
        "llm_defaults": {"max_tokens": 32, "variation_max_tokens": 48},
    })
    resume = ingest(base.path(base.resume_path))
    tmp = Path(tempfile.mkdtemp(prefix="llm-bench-"))
    try:
        with managed_server(base, log_dir=tmp / "server") as cfg:
            with LlamaClient(cfg.server) as client:  # first request pays model paging and prompt setup
                client.chat([{"role": "user", "content": "Hello"}], temperature=0.0, max_tokens=4)
            # A whole warm-up run first (model pages, the first slot's prompt cache): an earlier
            # version measured 1 slot cold and N warm, which inflated the ratio. llama-server
            # keeps a cache per slot, so the other N-1 slots start cold; the concurrent run
            # goes first so any remaining order effect works against it.
            _run(cfg, resume, 1, tmp / "warmup")
            parallel = _run(cfg, resume, args.slots, tmp / "many")
            baseline = _run(cfg, resume, 1, tmp / "one")
        server = "llama-server" if shutil.which("llama-server") else "llama_cpp.server"
        ratio = parallel["samples_per_min"] / baseline["samples_per_min"] if baseline["samples_per_min"] else None
        print(json.dumps({"benchmark": "llm_throughput", "server": server, "baseline": baseline,
                          "concurrent": parallel, "ratio": round(ratio, 3) if ratio else None}, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
