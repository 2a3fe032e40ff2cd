"""The managed llama.cpp server's start-up checks, against fake ``llama-server`` programs.

Run: ``pytest tests/test_server_start.py`` (no llama.cpp needed). Each fake is a small Python
script put first on PATH as ``llama-server``; it listens on the port it is given (loopback
only) and behaves like a broken build: it answers ``/v1/models`` and then dies on the first
chat completion (as a llama.cpp build using CPU instructions the machine lacks dies with
SIGILL), or exits before it is ready.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.dataset.server import ServerSetupError, describe_exit, managed_server
from pipeline.errors import ServerError

_FAKE = textwrap.dedent('''\
    #!{python}
    import json, os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port = int(sys.argv[sys.argv.index("--port") + 1])
    MODE = {mode!r}
    if MODE == "exit-early":
        print("error: failed to load model", flush=True)
        sys.exit(3)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = json.dumps({{"data": [{{"id": "m"}}]}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            if MODE == "ok":
                self.rfile.read(int(self.headers["Content-Length"]))
                body = json.dumps({{"choices": [{{"message": {{"content": "Hello"}}, "finish_reason": "stop"}}]}})
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())
                return
            print("AMX_INT8 = 1 | computing the first batch", flush=True)
            os.kill(os.getpid(), signal.SIGILL)

    print("server listening", flush=True)
    HTTPServer(("127.0.0.1", port), H).serve_forever()
    ''')


def _fake_server(tmp_path: Path, monkeypatch, mode: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "llama-server"
    exe.write_text(_FAKE.format(python=sys.executable, mode=mode), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def _config_file(write_config, tmp_path) -> Path:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return write_config({"server": {"managed_model": str(gguf), "health_check_timeout": 20, "max_retries": 3}})


def _cfg(write_config, tmp_path):
    from pipeline.config import load_config

    return load_config(_config_file(write_config, tmp_path))


def test_server_dying_on_first_request_is_one_clear_setup_error(write_config, tmp_path, monkeypatch):
    _fake_server(tmp_path, monkeypatch, "sigill")
    cfg = _cfg(write_config, tmp_path)
    with pytest.raises(ServerSetupError) as err:
        with managed_server(cfg, log_dir=tmp_path / "log"):
            pytest.fail("the server must not be handed out")
    msg = str(err.value)
    assert "died on its first request" in msg and "SIGILL" in msg and "Illegal instruction" in msg
    assert "AMX_INT8 = 1" in msg  # the log's last lines
    assert "GGML_NATIVE=OFF" in msg  # the fix
    assert "connection refused" not in msg.lower()
    assert err.value.exit_code == 2


def test_server_exiting_before_ready_names_its_status_and_log(write_config, tmp_path, monkeypatch):
    _fake_server(tmp_path, monkeypatch, "exit-early")
    with pytest.raises(ServerError) as err:
        with managed_server(_cfg(write_config, tmp_path), log_dir=tmp_path / "log"):
            pass
    assert "exit status 3 before it was ready" in str(err.value) and "failed to load model" in str(err.value)


@pytest.mark.parametrize(("code", "text"), [(0, "exit status 0"), (2, "exit status 2"),
                                            (-signal.SIGILL, "killed by SIGILL"), (-signal.SIGKILL, "killed by SIGKILL"),
                                            (None, "still running")])
def test_describe_exit(code, text):
    assert describe_exit(code).startswith(text)


@pytest.mark.parametrize(("mode", "code", "text"), [("ok", 0, "self-test passed"),
                                                    ("sigill", 2, "died on its first request")])
def test_self_test_command(write_config, tmp_path, monkeypatch, capsys, mode, code, text):
    from pipeline.dataset.server import _main

    _fake_server(tmp_path, monkeypatch, mode)
    assert _main(["--config", str(_config_file(write_config, tmp_path)), "--self-test"]) == code
    out = capsys.readouterr()
    assert text in out.out + out.err


def test_no_server_program_is_a_setup_error(write_config, tmp_path, monkeypatch):
    import importlib.util

    from pipeline.__main__ import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no llama-server
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(ServerSetupError) as err:
        with managed_server(_cfg(write_config, tmp_path)):
            pass
    assert err.value.exit_code == 2 and "pip install" in str(err.value)
    config = write_config({"dataset": {"backend": "llm"}, "server": {"managed": True}})
    assert main(["dataset", "--config", str(config)]) == 2
