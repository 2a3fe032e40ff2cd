"""Load a staged model repo as transformers.js loads it from the Hub, from a local server.

Run: ``python -m pipeline.publish.hub_local TREE REPO_ID [--runtime node|chromium]`` (TREE: a
folder staged by ``python -m pipeline publish model --dry-run --stage-dir TREE``).

:func:`serve` puts ``TREE`` behind 127.0.0.1 in the Hub's URL layout,
``/<repo_id>/resolve/main/<file>`` (transformers.js ``env.remoteHost`` plus its default
``env.remotePathTemplate``, ``{model}/resolve/{revision}/``), and records every file asked for.
:func:`run_card_snippet` then runs the model card's own transformers.js snippet unchanged,
``pipeline("text-generation", repo_id)`` with no ``dtype``, in Node or in headless Chromium,
so the file transformers.js picks is the one ``config.json``'s ``transformers.js_config``
names for that device (``cpu`` in Node, ``wasm`` in Chromium). Only the remote host is set
before the snippet runs; nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.errors import PipelineError
from pipeline.onnx.parity import (
    CHROMIUM_FLAGS,
    JS_DIR,
    StaticHandler,
    chromium_binary,
    chromium_unavailable,
    launch_chromium,
    node_unavailable,
    stop_chromium,
)

_SNIPPET = re.compile(r"```js\n(?P<code>.*?)```", re.S)


class HubLoadError(PipelineError):
    """The staged tree could not be served, the card has no snippet, or transformers.js failed."""


@dataclass
class HubServer:
    """A running local Hub: ``url`` (``http://127.0.0.1:PORT/``, transformers.js ``env.remoteHost``),
    ``requested`` (repo-relative paths asked for, in order; 404s included), ``results`` (POSTed JSON)."""

    url: str
    requested: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


def _handler(tree: Path, repo_id: str, extra: Path | None, hub: HubServer):
    prefix = f"/{repo_id}/resolve/main/"

    class Handler(StaticHandler):
        def translate_path(self, path: str) -> str:
            url = unquote(urlparse(path).path)
            if url.startswith(prefix):
                rel = url[len(prefix):]
                hub.requested.append(rel)
                target = (tree / rel).resolve()
                return str(target) if tree.resolve() in target.parents else str(tree / "__outside__")
            if extra is not None:  # the page and transformers.js itself (Chromium runs)
                return str(extra / url.lstrip("/"))
            return str(tree / "__not_a_hub_path__")

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hub.results.append(body.decode("utf-8"))
            self.send_response(204)
            self.end_headers()
            hub.done.set()

    return Handler


@contextlib.contextmanager
def serve(tree: Path, repo_id: str, *, extra: Path | None = None) -> Iterator[HubServer]:
    """Serve ``tree`` as Hub repo ``repo_id`` from 127.0.0.1 on a free port while the block runs.

    Args:
        tree: a staged model repo (config.json, tokenizer files, ``onnx/``).
        repo_id: ``owner/name`` the URLs use.
        extra: a folder served at ``/`` for other paths (a page and its scripts), or None.

    Raises:
        HubLoadError: ``tree`` has no config.json.
    """
    if not (Path(tree) / "config.json").is_file():
        raise HubLoadError(f"{tree} has no config.json; stage it with "
                           "`python -m pipeline publish model --dry-run --stage-dir DIR`")
    hub = HubServer("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Path(tree), repo_id, extra, hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


def card_snippet(card: str) -> str:
    """The first ```js block of a model card (README.md text).

    Raises:
        HubLoadError: the card has no ```js block.
    """
    match = _SNIPPET.search(card)
    if not match:
        raise HubLoadError("the model card has no ```js usage snippet")
    return match["code"]


def _prelude(url: str, runtime: str) -> str:
    """What runs before the snippet: the local Hub as remote host, no local models, no caches."""
    lines = ['import { env } from "@huggingface/transformers";',
             f"env.remoteHost = {json.dumps(url)};", "env.allowLocalModels = false;",
             "env.allowRemoteModels = true;", "env.useBrowserCache = false;"]
    if runtime == "node":
        lines.append("env.useFSCache = false;")
    else:
        lines += ["env.backends.onnx.wasm.wasmPaths = '/transformers/';", "env.backends.onnx.wasm.numThreads = 1;"]
    return "\n".join(lines) + "\n"


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Hub-like loading</title>
<script type="importmap">{"imports": {"@huggingface/transformers": "/transformers/transformers.min.js"}}</script>
</head><body><pre id="log">running</pre>
<script type="module">
const printed = [];
const log = console.log;
console.log = (...args) => { printed.push(args.join(' ')); log(...args); };
const post = (body) => fetch('/result', { method: 'POST', body: JSON.stringify(body) });
try {
  await import('/snippet.mjs');
  await post({ printed, user_agent: navigator.userAgent });
} catch (err) {
  await post({ error: String(err?.stack ?? err) });
}
</script></body></html>
"""


def run_card_snippet(tree: Path, repo_id: str, *, runtime: str = "node", timeout: float = 600) -> dict:
    """Run the staged card's transformers.js snippet against a local Hub serving ``tree``.

    Returns:
        ``{"printed": [lines the snippet printed], "requested": [repo files fetched, in order]}``.

    Raises:
        HubLoadError: Node/Chromium or the npm packages are missing (the message names the
            fix), the snippet failed (its error), or nothing came back within ``timeout`` s.
    """
    reason = node_unavailable() if runtime == "node" else chromium_unavailable()
    if reason:
        raise HubLoadError(reason)
    card = (Path(tree) / "README.md").read_text(encoding="utf-8")
    snippet = card_snippet(card)
    if runtime == "node":
        # The script lives in js/ so that "@huggingface/transformers" resolves to js/node_modules.
        script = JS_DIR / f".hub-snippet-{uuid.uuid4().hex[:8]}.mjs"
        with serve(tree, repo_id) as hub:
            script.write_text(_prelude(hub.url, "node") + snippet, encoding="utf-8")
            try:
                proc = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=timeout,
                                      cwd=JS_DIR)
            except subprocess.TimeoutExpired as exc:
                raise HubLoadError(f"the card snippet ran past {timeout:.0f} s in node") from exc
            finally:
                script.unlink(missing_ok=True)
            requested = list(hub.requested)
        if proc.returncode != 0:
            raise HubLoadError(f"the card snippet failed in node: {proc.stderr.strip()[-800:]}")
        return {"printed": proc.stdout.strip().splitlines(), "requested": requested}
    with tempfile.TemporaryDirectory(prefix="hub-site-", ignore_cleanup_errors=True) as site_dir:
        site = Path(site_dir)
        (site / "transformers").symlink_to(JS_DIR / "node_modules" / "@huggingface" / "transformers" / "dist")
        (site / "index.html").write_text(_PAGE, encoding="utf-8")
        with serve(tree, repo_id, extra=site) as hub:
            (site / "snippet.mjs").write_text(_prelude(hub.url, "chromium") + snippet, encoding="utf-8")
            cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={site / 'profile'}", f"{hub.url}index.html"]
            proc = launch_chromium(cmd)
            try:
                arrived = hub.done.wait(timeout)
            finally:
                stderr = stop_chromium(proc)
            requested = list(hub.requested)
            results = list(hub.results)
    if not arrived or not results:
        raise HubLoadError(f"headless chromium gave no result within {timeout:.0f} s; "
                           f"stderr: {(stderr or '').strip()[-600:]}")
    out = json.loads(results[0])
    if "error" in out:
        raise HubLoadError(f"the card snippet failed in chromium: {out['error'][-800:]}")
    return {"printed": out["printed"], "requested": requested}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tree", type=Path)
    ap.add_argument("repo_id")
    ap.add_argument("--runtime", choices=("node", "chromium"), default="node")
    args = ap.parse_args(argv)
    try:
        out = run_card_snippet(args.tree, args.repo_id, runtime=args.runtime)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
