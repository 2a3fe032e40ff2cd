"""HTTP client for a llama.cpp server (OpenAI-compatible API) and a managed local server.

Used by the ``llm`` dataset backend (``python -m pipeline dataset`` with
``dataset.backend: llm``); ``python -m pipeline.dataset.server --help`` starts a managed server
by hand for trying things out.

* :class:`LlamaClient` posts to ``{server.host}:{server.port}/v1/chat/completions`` with
  ``server.timeout`` per request. Transient faults (connection refused, timeout, HTTP 5xx
  and 429, a body that is not JSON, an empty ``choices`` list) are retried with capped
  exponential backoff (tenacity: ``server.max_retries`` retries, waits 0.5 s, 1 s, 2 s, ...
  capped at ``server.backoff_max``) and counted in :attr:`LlamaClient.faults`; after the
  budget a :class:`~pipeline.errors.ServerError` names ``server.host``/``server.port`` and
  the fix. A context-overflow answer (HTTP 400 from either server) raises
  :class:`ContextOverflowError` at once: retrying cannot help.
* :meth:`LlamaClient.wait_ready` polls ``GET /health`` (llama-server answers 503 while the
  model loads) and falls back to ``GET /v1/models`` when ``/health`` is absent
  (llama-cpp-python's server has none), for at most ``server.health_check_timeout`` seconds.
* :func:`managed_server` starts ``llama-server`` when it is on PATH, else
  ``python -m llama_cpp.server`` (the ``llm`` extra), on 127.0.0.1, waits for readiness and
  stops it on exit, error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipeline.config import Config, ServerConfig
from pipeline.errors import PipelineError, ServerError, sigterm_as_interrupt

log = logging.getLogger(__name__)

_POLL_S = 0.25  # readiness poll interval
_STOP_GRACE_S = 10.0  # SIGTERM → SIGKILL grace for a managed server
_CONTEXT_MARKERS = ("context", "n_ctx", "ctx_size", "ctx-size")


class ContextOverflowError(ServerError):
    """The prompt plus ``max_tokens`` does not fit the server's context window (HTTP 400)."""

    exit_code = 2


class ServerSetupError(ServerError):
    """No server program to start, or one that cannot run on this machine: a setup problem (exit 2)."""

    exit_code = 2


class _Transient(Exception):
    """A fault worth retrying; ``kind`` names it in the fault counts."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass(frozen=True)
class ChatReply:
    """One chat completion.

    Attributes:
        content: ``choices[0].message.content`` stripped ("" when null).
        finish_reason: ``"stop"``, ``"length"`` (cut by ``max_tokens``), or what the server said.
        reasoning: ``message.reasoning_content`` ("" when absent); reasoning models put their
            thinking there and may leave ``content`` empty.
    """

    content: str
    finish_reason: str
    reasoning: str = ""


def base_url(server: ServerConfig) -> str:
    """``server.host`` + ``:`` + ``server.port`` (host keeps its scheme, e.g. ``http://127.0.0.1``)."""
    host = server.host.rstrip("/")
    if "://" not in host:
        host = "http://" + host
    return f"{host}:{server.port}"


class LlamaClient:
    """Thread-safe client for one llama.cpp server; use as a context manager.

    Args:
        server: the ``server`` config section (host, port, timeout, health_check_timeout,
            max_retries, backoff_max).

    Attributes:
        faults: fault kind → number of retried occurrences (``connect``, ``timeout``,
            ``http_503``, ``http_500``, ``http_429``, ``malformed_json``, ``empty_choices``, ...).
    """

    def __init__(self, server: ServerConfig) -> None:
        self.server = server
        self.url = base_url(server)
        self.faults: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(server.timeout),
                                  limits=httpx.Limits(max_connections=max(4, server.slots * 2)))

    def __enter__(self) -> LlamaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- readiness -------------------------------------------------------------------------
    def wait_ready(self, alive: Callable[[], None] | None = None,
                   timeout_error: Callable[[str], ServerError] | None = None) -> str:
        """Poll until the server answers, at most ``server.health_check_timeout`` seconds.

        Args:
            alive: called before every poll; raises when the server process is gone (the
                managed server uses it to report an early exit at once).
            timeout_error: builds the error raised on time-out from the last fault seen
                (default: one naming host, port and the setting).

        Returns:
            The endpoint that answered 200 (``/health`` or ``/v1/models``).

        Raises:
            ServerError: nothing answered 200 in time; names host, port and the setting.
        """
        deadline = time.monotonic() + self.server.health_check_timeout
        last = "no answer"
        use_models = False
        while True:
            if alive is not None:
                alive()
            path = "/v1/models" if use_models else "/health"
            try:
                resp = self._http.get(path, timeout=min(5.0, self.server.timeout))
                if resp.status_code == 200:
                    return path
                if resp.status_code == 404 and not use_models:
                    use_models = True  # llama-cpp-python's server has no /health
                    continue
                last = f"GET {path} answered HTTP {resp.status_code} (model still loading?)"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                if timeout_error is not None:
                    raise timeout_error(last)
                raise ServerError(
                    f"llama.cpp server at {self.url} not ready within server.health_check_timeout="
                    f"{self.server.health_check_timeout:g}s ({last}); start it (or set server.managed: true), "
                    "check server.host/server.port, or raise server.health_check_timeout"
                )
            time.sleep(_POLL_S)

    # -- requests --------------------------------------------------------------------------
    def chat(self, messages: Sequence[dict[str, str]], *, temperature: float, max_tokens: int,
             stop: Sequence[str] = (), seed: int | None = None) -> ChatReply:
        """POST ``/v1/chat/completions`` (non-streaming) with retries.

        Args:
            messages: OpenAI chat messages (``role``/``content``).
            temperature: sampling temperature (0 = greedy).
            max_tokens: cap on generated tokens; a reply cut by it has ``finish_reason "length"``.
            stop: stop sequences.
            seed: sampling seed (both servers honour it; fixes the reply for a fixed prompt).

        Raises:
            ContextOverflowError: the server says the request exceeds its context window.
            ServerError: a non-retryable HTTP error, or faults past ``server.max_retries``.
        """
        body: dict[str, object] = {"messages": list(messages), "temperature": temperature,
                                   "max_tokens": max_tokens, "stream": False}
        if stop:
            body["stop"] = list(stop)
        if seed is not None:
            body["seed"] = seed
        return self._with_retries(lambda: self._post_chat(body))

    def tokenize(self, text: str) -> int | None:
        """Token count of ``text`` by the server's own tokenizer, or None when unsupported.

        llama-server has ``POST /tokenize``; llama-cpp-python has ``POST /extras/tokenize``.
        One attempt each, no retries: callers fall back to an estimate.
        """
        for path, body in (("/tokenize", {"content": text}), ("/extras/tokenize", {"input": text})):
            try:
                resp = self._http.post(path, json=body)
                if resp.status_code == 200:
                    tokens = resp.json().get("tokens")
                    if isinstance(tokens, list):
                        return len(tokens)
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
        return None

    def _with_retries(self, call):
        retrying = Retrying(
            stop=stop_after_attempt(self.server.max_retries + 1),
            wait=wait_exponential(multiplier=min(0.5, self.server.backoff_max), max=self.server.backoff_max),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._count,
            reraise=True,
        )
        try:
            return retrying(call)
        except _Transient as exc:
            with self._lock:
                self.faults[exc.kind] += 1
            raise self._exhausted(exc) from exc

    def _count(self, state) -> None:
        exc = state.outcome.exception()
        kind = exc.kind if isinstance(exc, _Transient) else type(exc).__name__
        with self._lock:
            self.faults[kind] += 1
        log.warning("llama.cpp server %s (attempt %d); retrying", exc, state.attempt_number)

    def _exhausted(self, exc: BaseException | None) -> ServerError:
        return ServerError(
            f"llama.cpp server at {self.url} kept failing after server.max_retries={self.server.max_retries} "
            f"retries (last: {exc}); check that it runs at server.host/server.port (or set server.managed: true), "
            "or raise server.max_retries / server.timeout"
        )

    def _post_chat(self, body: dict[str, object]) -> ChatReply:
        try:
            resp = self._http.post("/v1/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise _Transient("timeout", f"no answer within server.timeout={self.server.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise _Transient("connect", f"{type(exc).__name__}: {exc}") from exc
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"http_{status}", resp.text[:200])
        if status >= 400:
            text = resp.text[:500]
            if status in (400, 413) and any(m in text.lower() for m in _CONTEXT_MARKERS):
                raise ContextOverflowError(
                    f"llama.cpp server at {self.url} rejected the prompt as too long for its context window "
                    f"({text.strip()[:200]}); start the server with a larger context (llama-server -c / "
                    "llama_cpp.server --n_ctx, or server.managed_n_ctx), shorten the resume (see "
                    "validation.context_token_warn), or lower generation_limits.answer_max_tokens"
                )
            raise ServerError(f"llama.cpp server at {self.url} answered HTTP {status}: {text[:200]}; "
                              "check the server version and its model")
        try:
            data = resp.json()
        except ValueError as exc:
            raise _Transient("malformed_json", resp.text[:120]) from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices:
            raise _Transient("empty_choices", str(data)[:120])
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message")
        if not isinstance(message, dict):
            raise _Transient("malformed_json", f"choices[0] has no message: {str(choice)[:120]}")
        return ChatReply(content=(message.get("content") or "").strip(),
                         finish_reason=str(choice.get("finish_reason") or "stop"),
                         reasoning=(message.get("reasoning_content") or "").strip())


# -- managed server ---------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def server_command(model: Path, port: int, *, n_ctx: int, slots: int = 1,
                   threads: int | None = None) -> list[str]:
    """The command line for a local server: ``llama-server`` on PATH, else ``python -m llama_cpp.server``.

    Args:
        model: the GGUF file.
        port: TCP port on 127.0.0.1.
        n_ctx: context window in tokens (llama-server splits it across ``slots``, so it is
            multiplied by ``slots`` there to keep ``n_ctx`` per request).
        slots: parallel sequences (llama-server ``-np``; llama-cpp-python serves one at a time).
        threads: CPU threads (None = the server's default).

    Raises:
        ServerError: neither ``llama-server`` nor ``llama_cpp.server`` is installed.
    """
    binary = shutil.which("llama-server")
    if binary:
        cmd = [binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
               "-c", str(n_ctx * slots), "-np", str(slots)]
        return cmd + (["-t", str(threads)] if threads else [])
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        raise ServerSetupError(
            "server.managed needs llama-server on PATH or the llm extra: pip install -e '.[llm]' "
            "(builds llama-cpp-python, about 5 minutes); or run a server yourself and set server.managed: false"
        )
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx)]
    return cmd + (["--n_threads", str(threads)] if threads else [])


@contextlib.contextmanager
def managed_server(cfg: Config, *, model: Path | None = None, port: int | None = None,
                   log_dir: Path | None = None) -> Iterator[Config]:
    """Run a local llama.cpp server for the duration of a ``with`` block.

    Args:
        cfg: the configuration; ``server.managed_model`` (None = the embedded SmolLM2 GGUF),
            ``server.managed_n_ctx``, ``server.slots``, ``server.health_check_timeout`` apply.
        model: overrides ``server.managed_model``.
        port: TCP port; default ``server.port`` when free on 127.0.0.1, else a free one.
        log_dir: where the server's output goes (``llama-server.log``); default a temp folder.

    Yields:
        ``cfg`` with ``server.host``/``server.port`` pointing at the running server.

    Raises:
        ServerError: no server program, missing GGUF, or the server died / never became ready
            (the message quotes the end of its log).
    """
    from pipeline.embedded import embedded_gguf_path

    gguf = Path(model) if model else (cfg.path(cfg.server.managed_model) if cfg.server.managed_model
                                      else embedded_gguf_path())
    if not gguf.is_file():
        raise ServerError(f"server.managed_model: GGUF file {gguf} not found; fix the path or set it to null "
                          "for the embedded model")
    if port is None:
        port = cfg.server.port if _port_free(cfg.server.port) else free_port()
    cmd = server_command(gguf, port, n_ctx=cfg.server.managed_n_ctx, slots=cfg.server.slots)
    server_cfg = cfg.server.model_copy(update={"host": "http://127.0.0.1", "port": port})
    run_cfg = cfg.model_copy(update={"server": server_cfg})
    with contextlib.ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="llama-server-")))
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "llama-server.log"
        out = stack.enter_context(open(log_path, "wb"))
        log.info("starting managed server: %s", " ".join(cmd))
        # Own session: a terminal Ctrl-C reaches only us, and we stop the server in order.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        stack.callback(_stop, proc)
        stack.enter_context(sigterm_as_interrupt())
        _wait_started(proc, server_cfg, log_path)
        _first_request(proc, server_cfg, log_path)
        yield run_cfg


def _wait_started(proc: subprocess.Popen, server: ServerConfig, log_path: Path) -> None:
    def alive() -> None:
        if proc.poll() is not None:
            raise ServerError(f"managed llama.cpp server {describe_exit(proc.returncode)} before it was "
                              f"ready: {_tail(log_path)}; check server.managed_model and server.managed_n_ctx")

    def timed_out(last: str) -> ServerError:
        return ServerError(f"managed llama.cpp server on 127.0.0.1:{server.port} not ready within "
                           f"server.health_check_timeout={server.health_check_timeout:g}s ({last}): "
                           f"{_tail(log_path)}; raise server.health_check_timeout")

    with LlamaClient(server) as client:
        client.wait_ready(alive=alive, timeout_error=timed_out)


def _first_request(proc: subprocess.Popen, server: ServerConfig, log_path: Path) -> None:
    """Send one one-token chat completion before any real work, so that a server which starts,
    answers ``/v1/models`` and then dies on its first computation (a llama.cpp build using CPU
    instructions this machine does not allow dies with SIGILL there) is reported once, with
    its exit status and log, instead of as retried "connection refused" faults.

    Raises:
        ServerSetupError: the server process died during the request.
        ServerError: the server is alive but the request failed for another reason.
    """
    probe = server.model_copy(update={"max_retries": 0})
    try:
        with LlamaClient(probe) as client:
            client.chat([{"role": "user", "content": "Hi"}], temperature=0.0, max_tokens=1, seed=0)
    except ServerError as exc:
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            raise ServerError(f"managed llama.cpp server failed its first request: {exc}") from exc
        raise ServerSetupError(f"managed llama.cpp server died on its first request ({describe_exit(proc.returncode)}): "
                               f"{_tail(log_path)}; {_REBUILD_HINT}") from exc


_REBUILD_HINT = ("rebuild llama-cpp-python for this CPU without -march=native: "
                 "CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON\" "
                 "pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python (see README, "
                 "'Questions phrased by a local LLM')")


def describe_exit(returncode: int | None) -> str:
    """``exit status N`` or ``killed by SIGNAME (description)`` for a ``Popen.returncode``."""
    if returncode is None:
        return "still running"
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"killed by signal {-returncode}"
    return f"killed by {sig.name} ({signal.strsignal(sig) or sig.name})"


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL after a grace period; always reaps it."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from pipeline.config import load_config

    parser = argparse.ArgumentParser(prog="python -m pipeline.dataset.server",
                                     description="Run a managed llama.cpp server until Ctrl-C, or check that one "
                                                 "can answer (--self-test).")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: server.managed_model)")
    parser.add_argument("--self-test", action="store_true",
                        help="start the server, send one chat request, stop; exit 0 when it answered")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, profile=args.profile)
        with managed_server(cfg, model=args.model) as run_cfg:
            if args.self_test:
                with LlamaClient(run_cfg.server) as client:
                    reply = client.chat([{"role": "user", "content": "Say hello."}], temperature=0.0,
                                        max_tokens=8, seed=0)
                print(f"llama.cpp server self-test passed: {server_command_name()} answered {reply.content!r}",
                      flush=True)
                return 0
            print(f"llama.cpp server ready at {base_url(run_cfg.server)}; Ctrl-C stops it", flush=True)
            while True:
                time.sleep(1.0)
    except KeyboardInterrupt:
        return 130
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def server_command_name() -> str:
    """``llama-server`` when it is on PATH (the managed server prefers it), else ``llama_cpp.server``."""
    return "llama-server" if shutil.which("llama-server") else "llama_cpp.server"


if __name__ == "__main__":
    sys.exit(_main())
