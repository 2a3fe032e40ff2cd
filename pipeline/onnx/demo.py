"""A chat page for the built model: transformers.js in the browser, served from this machine.

Run::

    python -m pipeline demo                         # the chain's ONNX artifact, q4 preselected
    python -m pipeline demo --variant model_int8.onnx --port 8765 --model-dir DIR

It serves ``js/demo/`` (the page and its Web Worker), transformers.js from the local
``js/node_modules`` (no CDN at run time), the model folder under ``/models/<name>/`` and
``/demo.json`` (the variants with their download sizes, the training system prompt and the
decode settings) from 127.0.0.1 until Ctrl-C. The page uses WebGPU when the browser has it and
WASM otherwise (and says so), streams tokens as they are generated and shows time to first
token and tokens/s. :func:`drive` opens the page in headless Chromium through the DevTools
protocol, types a question and waits for the streamed answer (tests/test_demo.py).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import json
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from pipeline.config import DTYPES, VARIANTS, Config
from pipeline.errors import PipelineError
from pipeline.onnx.parity import (
    CHROMIUM_FLAGS,
    JS_DIR,
    StaticHandler,
    chromium_binary,
    chromium_unavailable,
    launch_chromium,
    stop_chromium,
)
from pipeline.onnx.quantize import variant_bytes

DEMO_DIR = JS_DIR / "demo"
_TRANSFORMERS = JS_DIR / "node_modules" / "@huggingface" / "transformers"


class DemoError(PipelineError):
    """The page cannot be served (unknown variant, port in use, missing npm packages) or driven."""


@dataclass(frozen=True)
class DemoSite:
    """A running demo server: ``url`` of the page, ``config`` (what ``/demo.json`` serves)."""

    url: str
    config: dict


def demo_config(cfg: Config, model_dir: Path, variant: str) -> dict:
    """What ``/demo.json`` serves: model name, variants with dtype and bytes, prompt and decode knobs.

    Raises:
        DemoError: ``model_dir`` has no ``onnx/`` folder, or ``variant`` is unknown or absent there.
    """
    onnx_dir = Path(model_dir) / "onnx"
    if not onnx_dir.is_dir():
        raise DemoError(f"{model_dir} has no onnx/ folder; pass the folder `python -m pipeline train` printed "
                        "for [onnx] with --model-dir, or omit --model-dir")
    present = [v for v in VARIANTS if (onnx_dir / v).is_file()]
    if variant not in present:
        raise DemoError(f"--variant {variant}: {'not a transformers.js file name' if variant not in VARIANTS else 'not built'}"
                        f" in {onnx_dir}; choose one of {', '.join(present) or 'none (run `python -m pipeline train`)'}")
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return {
        "model_name": Path(model_dir).resolve().name, "person": cfg.person_full_name,
        "base_model": cfg.model.base if cfg.model.base != "embedded" else "SmolLM2-135M-Instruct",
        "transformers_version": _transformers_version(),
        "variants": [{"file": v, "dtype": DTYPES[v], "bytes": variant_bytes(onnx_dir, v)} for v in present],
        "default_variant": variant, "system_prompt": cfg.system_prompt,
        "max_new_tokens": cfg.inference.max_new_tokens, "repetition_penalty": cfg.inference.repetition_penalty,
        "model_type": config.get("model_type"),
    }


def _transformers_version() -> str:
    try:
        return json.loads((_TRANSFORMERS / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return "?"


@contextlib.contextmanager
def serve(cfg: Config, model_dir: Path, variant: str = "model_q4.onnx", *, port: int = 0,
          host: str = "127.0.0.1") -> Iterator[DemoSite]:
    """Serve the page for ``model_dir`` on ``host:port`` (0 = a free port) while the block runs.

    Raises:
        DemoError: ``js/node_modules`` lacks transformers.js (run ``npm ci --prefix js``), the
            port is in use, or :func:`demo_config` refuses the folder or variant.
    """
    if not (_TRANSFORMERS / "dist" / "transformers.min.js").is_file():
        raise DemoError(f"{_TRANSFORMERS} is missing; run `npm ci --prefix js` (the page loads transformers.js "
                        "from there, never from a CDN)")
    config = demo_config(cfg, model_dir, variant)
    with tempfile.TemporaryDirectory(prefix="demo-site-") as tmp:
        site = Path(tmp)
        for name in ("index.html", "worker.mjs"):
            (site / name).symlink_to(DEMO_DIR / name)
        (site / "transformers").symlink_to(_TRANSFORMERS / "dist", target_is_directory=True)
        (site / "models").mkdir()
        (site / "models" / config["model_name"]).symlink_to(Path(model_dir).resolve(), target_is_directory=True)
        (site / "demo.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        try:
            server = ThreadingHTTPServer((host, port), functools.partial(StaticHandler, directory=str(site)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DemoError(f"port {port} is in use; pass another with --port (or --port 0 for a free one)") from exc
            raise DemoError(f"cannot listen on {host}:{port} ({exc}); pass another --port") from exc
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield DemoSite(f"http://{host}:{server.server_address[1]}/", config)
        finally:
            server.shutdown()
            server.server_close()


def run(cfg: Config, model_dir: Path, variant: str, port: int) -> int:
    """``python -m pipeline demo``: serve until Ctrl-C; returns 0."""
    with serve(cfg, model_dir, variant, port=port) as site:
        sizes = ", ".join(f"{v['file']} {v['bytes'] / 2**20:.0f} MiB" for v in site.config["variants"])
        print(f"demo: open {site.url} (Ctrl-C stops); variants: {sizes}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("demo: stopped")
    return 0


# -- driving the page in headless Chromium (DevTools protocol) ----------------------------------

class _DevTools:
    """A minimal DevTools-protocol client of one page target (``websockets``' sync client)."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(connect(ws_url, max_size=64 * 2**20))
        self._id = 0

    def call(self, method: str, **params) -> dict:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise DemoError(f"DevTools {method} failed: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression: str):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise DemoError(f"page script failed: {res['exceptionDetails'].get('text')}")
        return res.get("result", {}).get("value")

    def close(self) -> None:
        self._stack.close()


def _page_target(port: int, timeout: float) -> str:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as resp:
                pages = [t for t in json.load(resp) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    raise DemoError(f"headless chromium opened no page within {timeout:.0f} s")


def _wait(tools: _DevTools, expression: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = tools.evaluate("window.demo ? window.demo.state : 'starting'")
        if state == "error":
            raise DemoError(f"the page failed while {what}: {tools.evaluate('window.demo.error')}")
        if tools.evaluate(expression):
            return
        time.sleep(0.2)
    raise DemoError(f"the page did not finish {what} within {timeout:.0f} s")


def drive(url: str, questions: Sequence[str], *, dtype: str | None = None, screenshot: Path | None = None,
          timeout: float = 600) -> dict:
    """Open the page in headless Chromium, pick ``dtype``, type each question, wait for each answer.

    Returns:
        ``{"answers": the worker's ``done`` message per question (text, token_ids,
        first_token_ms, total_ms, tokens_per_s, ...), "pieces": how many streamed text pieces
        arrived before each answer was complete (a count per answer), "load_s": seconds the page took to load the variant, "device":
        "webgpu"|"wasm", "device_note": the page's device line, "selected": the dtype}``.

    Raises:
        DemoError: no Chromium (the message names the fix), the page reported an error, or
            it did not finish within ``timeout`` seconds.
    """
    reason = chromium_unavailable()
    if reason:
        raise DemoError(reason)
    with tempfile.TemporaryDirectory(prefix="demo-chromium-", ignore_cleanup_errors=True) as profile:
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
               "--window-size=1000,800", url]
        proc = launch_chromium(cmd, stderr=False)
        tools = None
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not port_file.is_file() or not port_file.read_text().strip():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise DemoError("headless chromium did not start its DevTools server")
                time.sleep(0.1)
            tools = _DevTools(_page_target(int(port_file.read_text().split()[0]), 60))
            _wait(tools, "window.demo && window.demo.state === 'ready'", timeout, "loading the model")
            if dtype is not None and tools.evaluate("document.getElementById('variant').value") != dtype:
                tools.evaluate(f"(() => {{ const s = document.getElementById('variant'); s.value = {json.dumps(dtype)};"
                               " s.dispatchEvent(new Event('change')); })()")
                _wait(tools, "window.demo.state === 'ready'", timeout, f"loading {dtype}")
            pieces = []
            for i, question in enumerate(questions):
                tools.evaluate("document.getElementById('question').focus()")
                tools.call("Input.insertText", text=question)  # typed as a user would, into the focused box
                tools.evaluate("document.getElementById('ask').click()")
                _wait(tools, f"window.demo.answers.length > {i} && window.demo.state === 'ready'", timeout,
                      "answering")
                pieces.append(tools.evaluate("window.demo.pieces"))
            out = tools.evaluate("({answers: window.demo.answers, load_s: window.demo.load_s,"
                                 " device: window.demo.device, device_note: document.getElementById('device').textContent,"
                                 " selected: document.getElementById('variant').value})")
            out["pieces"] = pieces
            if screenshot is not None:
                shot = tools.call("Page.captureScreenshot", format="png")
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return out
        finally:
            if tools is not None:
                tools.close()
            stop_chromium(proc)
