"""onnxruntime greedy generation: parity with PyTorch, batching, EOS, repetition penalty, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cache import Artifact
from pipeline.config import load_config
from pipeline.errors import ModelError
from pipeline.onnx.runtime import Generator, GeneratorPool, batches

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::UserWarning",
                                        "ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[1]
SYSTEM = "You answer questions about Maya's resume."
QUESTIONS = ["Where did Maya study?", "Hi", "Which programming languages does she know best and why?",
             "What is her current job title at the company?"]


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with larger random weights (greedy output varies instead of repeating
    one token), exported to ONNX; returns the PyTorch folder's export."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.onnx.export import export

    tmp = tmp_path_factory.mktemp("generate")
    src = tmp / "pt"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.normal_(0, 0.15)
    model.save_pretrained(src)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(src)
    cfg = load_config(REPO / "config.yaml", profile="cpu", overrides={"cache_dir": str(tmp / "cache")})
    return export(cfg, Artifact("merged", "spiced-tiny", src)).path


def _gen(model_dir: Path, penalty: float = 1.2, n: int = 12) -> Generator:
    return Generator(model_dir, "model.onnx", system_prompt=SYSTEM, max_new_tokens=n, repetition_penalty=penalty)


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_onnx_greedy_equals_pytorch_greedy(model_dir, penalty):
    import torch
    from transformers import AutoModelForCausalLM

    gen = _gen(model_dir, penalty)
    model = AutoModelForCausalLM.from_pretrained(model_dir.parent.parent.parent / "pt").eval()
    for q in QUESTIONS:
        ours = gen.generate(q)
        ids = torch.tensor([gen.prompt_ids(q)])
        ref = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=12,
                             repetition_penalty=penalty, eos_token_id=list(gen.eos_ids), pad_token_id=gen.pad_id)
        ref_ids = tuple(ref[0, ids.shape[1]:].tolist())
        assert ours.token_ids == ref_ids
        assert ours.text == gen.tokenizer.decode(ref_ids, skip_special_tokens=True).strip()
        assert ours.text  # the spiced model produces words, so the comparison means something


def test_batched_equals_one_at_a_time(model_dir):
    gen = _gen(model_dir)
    single = [gen.generate(q) for q in QUESTIONS]
    for batch_size in (2, 4):
        batched = gen.generate_batch(QUESTIONS, batch_size=batch_size)
        assert [b.token_ids for b in batched] == [s.token_ids for s in single]
        assert [b.text for b in batched] == [s.text for s in single]
    assert len({len(gen.prompt_ids(q)) for q in QUESTIONS}) > 1  # rows really were padded


def test_stops_on_any_generation_config_eos(model_dir, tmp_path):
    first = _gen(model_dir).generate(QUESTIONS[0])
    assert first.new_tokens == 12 and not first.stopped_on_eos
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    gc = json.loads((copy / "generation_config.json").read_text())
    gc["eos_token_id"] = [gc["eos_token_id"], first.token_ids[2]]  # a list, as HF allows
    (copy / "generation_config.json").write_text(json.dumps(gc))
    stopped = _gen(copy).generate(QUESTIONS[0])
    assert stopped.stopped_on_eos and stopped.token_ids == first.token_ids[:3] and stopped.new_tokens == 3
    batched = _gen(copy).generate_batch(QUESTIONS)
    assert batched[0].token_ids == first.token_ids[:3]
    assert _gen(copy).generate(QUESTIONS[0], max_new_tokens=2).new_tokens == 2


@settings(max_examples=50, deadline=None)
@given(logits=st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=8, max_size=8),
       seen=st.sets(st.integers(0, 7), max_size=8), penalty=st.floats(1.0, 3.0))
def test_repetition_penalty_matches_hf(logits, seen, penalty):
    import torch
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    gen = Generator.__new__(Generator)
    gen.repetition_penalty = penalty
    arr = np.asarray(logits, dtype=np.float32)
    ours = gen._pick(arr, set(seen))
    ids = torch.tensor([sorted(seen) or [0]])
    scores = torch.tensor([logits], dtype=torch.float32)
    ref = RepetitionPenaltyLogitsProcessor(penalty)(ids, scores.clone()) if seen else scores
    assert ref[0, ours] == ref[0].max()


def test_corrupt_onnx_names_file_and_fix(model_dir, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    data = (copy / "onnx/model.onnx").read_bytes()
    (copy / "onnx/model.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match=r"m/onnx/model.onnx could not be loaded.*export --force"):
        _gen(copy)


def test_missing_variant(model_dir):
    with pytest.raises(ModelError, match=r"onnx/model_q4.onnx does not exist.*export --force"):
        Generator(model_dir, "model_q4.onnx", system_prompt=SYSTEM)


def test_streamed_pieces_make_the_answer(model_dir):
    pieces: list[str] = []
    g = _gen(model_dir, n=16).generate(QUESTIONS[0], on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces).strip() == g.text
    assert 0 < g.first_token_ms <= g.latency_ms
    assert g.token_ids == _gen(model_dir, n=16).generate(QUESTIONS[0]).token_ids  # streaming changes nothing


def test_chat_streams_then_prints_stats(model_dir):
    from pipeline.onnx.chat import chat

    cfg = load_config(REPO / "config.yaml", profile="cpu", overrides={"inference": {"max_new_tokens": 16}})
    pieces: list[str] = []
    lines: list[str] = []
    assert chat(cfg, "model.onnx", QUESTIONS[0], model_dir=model_dir, echo=lines.append, write=pieces.append) == 0
    expected = Generator(model_dir, "model.onnx", system_prompt=cfg.system_prompt, max_new_tokens=16,
                         repetition_penalty=cfg.inference.repetition_penalty).generate(QUESTIONS[0]).text
    assert len(pieces) > 2 and pieces[-1] == "\n" and "".join(pieces).strip() == expected
    assert len(lines) == 1 and lines[0].startswith("[first token ") and "tokens/s]" in lines[0]


@pytest.mark.parametrize("exact", [True, False])
def test_exact_int8_sets_onnxruntimes_u8u8_option(model_dir, exact):
    """exact_int8 reaches the session: ``session.x64quantprecision`` is "1" only when asked for
    (the option that keeps int8 matmuls from saturating on x86 CPUs without VNNI)."""
    opts = Generator(model_dir, "model.onnx", system_prompt=SYSTEM, exact_int8=exact).session.get_session_options()
    if exact:
        assert opts.get_session_config_entry("session.x64quantprecision") == "1"
    else:
        with pytest.raises(RuntimeError, match="does not have configuration"):
            opts.get_session_config_entry("session.x64quantprecision")


@pytest.mark.parametrize("variant", ["model.onnx", "model_fp16.onnx", "model_int8.onnx", "model_uint8.onnx",
                                     "model_q4.onnx", "model_q4f16.onnx"])
def test_batched_equals_one_at_a_time_for_every_variant(tiny_onnx, variant):
    """The quality pass scores batched answers: they must be the answers a user gets one at a
    time, also where dynamic int8 takes one activation scale over the whole batch (those
    graphs are not batch-invariant and run one at a time; before, 2 of 6 int8 answers changed)."""
    model_dir, _ = tiny_onnx
    gen = Generator(model_dir, variant, system_prompt=SYSTEM, max_new_tokens=12, repetition_penalty=1.0)
    questions = QUESTIONS + ["Tell me about her leadership.", "What's her GPA?"]
    single = [gen.generate(q).token_ids for q in questions]
    assert [b.token_ids for b in gen.generate_batch(questions, batch_size=6)] == single
    assert gen.batch_invariant == (variant in ("model.onnx", "model_fp16.onnx")), variant


def test_all_matmulnbits_q4_is_not_batch_invariant(tiny_onnx, tmp_path):
    """A q4 file with no dynamic int8 left (4-bit lm_head too, ``q4_int8_nodes: []``) still runs
    one question at a time: onnxruntime's MatMulNBits kernels round differently for one row and
    for several (on the real model 12 of 137 answers changed batched)."""
    from pipeline.onnx.quantize import q4_model, save_model

    model_dir, _ = tiny_onnx
    local = tmp_path / "model"
    shutil.copytree(model_dir, local, ignore=shutil.ignore_patterns("model_*.onnx*"))
    save_model(q4_model(local / "onnx" / "model.onnx", block_size=32, accuracy_level=4, int8_nodes=()),
               local / "onnx" / "model_q4.onnx")
    gen = Generator(local, "model_q4.onnx", system_prompt=SYSTEM, max_new_tokens=8, repetition_penalty=1.0)
    assert not gen.batch_invariant
    questions = QUESTIONS[:3]
    assert [b.token_ids for b in gen.generate_batch(questions)] == [gen.generate(q).token_ids for q in questions]


@pytest.mark.parametrize("variant", ["model.onnx", "model_int8.onnx", "model_q4.onnx"])
def test_pool_equals_one_at_a_time(tiny_onnx, variant):
    """The quality pass's parallel sessions (one intra-op thread each here, as on 2 cores) give
    the answers of one session with onnxruntime's default threads, in input order."""
    model_dir, _ = tiny_onnx
    kw = dict(system_prompt=SYSTEM, max_new_tokens=12, repetition_penalty=1.2)
    single = Generator(model_dir, variant, **kw)
    questions = QUESTIONS + ["Tell me about her leadership.", "What's her GPA?", "Where does she live?"]
    expected = [single.generate(q).token_ids for q in questions]
    pool = GeneratorPool(model_dir, variant, sessions=2, **kw)
    assert len(pool.generators) == 2 and pool.batch_invariant == single.batch_invariant
    assert [g.token_ids for g in pool.generate_batch(questions, batch_size=2)] == expected
    assert pool.generate(questions[0]).token_ids == expected[0]


def test_pool_reraises_a_worker_error_and_rejects_no_sessions(model_dir):
    with pytest.raises(ValueError, match="sessions must be >= 1"):
        GeneratorPool(model_dir, sessions=0, system_prompt=SYSTEM)
    pool = GeneratorPool(model_dir, sessions=2, system_prompt=SYSTEM, max_new_tokens=2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        pool.generate_batch(QUESTIONS, batch_size=0)
    for gen in pool.generators:
        gen._run = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("session failed"))
    with pytest.raises(RuntimeError, match="session failed"):
        pool.generate_batch(QUESTIONS * 3, batch_size=1)


@given(st.lists(st.text(max_size=8), max_size=30), st.integers(1, 9))
def test_batches_cover_every_question_once(questions, batch_size):
    chunks = batches(questions, batch_size)
    assert sorted(i for c in chunks for i in c) == list(range(len(questions)))
    assert all(1 <= len(c) <= batch_size for c in chunks)
