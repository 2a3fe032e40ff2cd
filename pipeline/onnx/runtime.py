"""Greedy generation with onnxruntime over an exported folder (model.onnx or a quantized variant).

Run: ``python -m pipeline.onnx.runtime MODEL_DIR [VARIANT] "question" ...`` prints one answer per
question (the evaluation harness and the chat command use :class:`Generator` directly).

The decoding loop is our own, over the graph optimum exports for
``text-generation-with-past``: inputs ``input_ids``, ``attention_mask``, ``position_ids``,
``past_key_values.N.key/value``; outputs ``logits`` and ``present.N.key/value``. It is the
same loop transformers.js runs, so what the harness measures is what the browser gets.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelError

_FIX = "rerun `python -m pipeline export --force` (and `python -m pipeline quantize --force`)"


@dataclass(frozen=True)
class Generation:
    """One generated answer.

    Attributes:
        text: decoded reply without special tokens, stripped.
        new_tokens: tokens generated (the EOS token included when it was produced).
        latency_ms: wall time of the call in milliseconds (tokenizing, decoding loop,
            detokenizing); in :meth:`Generator.generate_batch` the wall time of the whole
            batch the answer was part of.
        stopped_on_eos: True when an EOS token ended the reply before ``max_new_tokens``.
        token_ids: the generated token ids (EOS included when produced).
        first_token_ms: wall time from the call to the first generated token (prefill), ms.
    """

    text: str
    new_tokens: int
    latency_ms: float
    stopped_on_eos: bool
    token_ids: tuple[int, ...] = ()
    first_token_ms: float = 0.0


class Generator:
    """Greedy decoding with KV cache and repetition penalty over one ONNX variant.

    Args:
        model_dir: exported folder (tokenizer files and generation_config.json at the root,
            the graph under ``onnx/``).
        variant: file name under ``onnx/``, e.g. ``model.onnx`` or ``model_q4.onnx``.
        system_prompt: the system message used in training (``Config.system_prompt``).
        max_new_tokens: default cap on generated tokens per answer.
        repetition_penalty: HF ``RepetitionPenaltyLogitsProcessor`` semantics: for every token
            id already present in the prompt or the reply so far, a positive logit is divided
            by the penalty and a negative one multiplied by it (1.0 = off). Padding positions
            of a batch do not count, so batched and single answers agree.
        intra_op_threads: onnxruntime intra-op threads; 0 lets onnxruntime decide.
        exact_int8: set onnxruntime's ``session.x64quantprecision``: on x86 CPUs without VNNI
            (AVX2-only, AVX-512 without VNNI) onnxruntime's default U8S8 int8 matmul sums pairs
            of products in int16 (``vpmaddubsw``) and saturates; the option rewrites the int8
            weights of ``DynamicQuantizeMatMul``/``MatMulInteger`` to uint8 (U8U8, no saturation)
            at load. It changes nothing where VNNI or AMX exists. True (default) computes what
            the browser (onnxruntime-web WASM, exact int8) computes on every CPU, so gates score
            the numbers a browser user gets; False reproduces onnxruntime-node's default, which
            saturates on such CPUs. Measured on the tiny model under ``qemu-x86_64 -cpu Haswell``:
            default int8 answers differ from AMX/WASM, with the option they are identical
            (docs/experiments.md, "int8 on CPUs without VNNI").

    One ``onnxruntime.InferenceSession`` is created per Generator and reused.
    ``batch_invariant`` says whether rows of a batch are independent in this graph
    (False for dynamic int8 and 4-bit MatMulNBits; :meth:`generate_batch` then runs one question at a time).

    Raises:
        ModelError: the folder, the variant file or the tokenizer is missing, or the ONNX
            file is corrupt (the message names the file and the command that rebuilds it).
    """

    def __init__(self, model_dir: Path, variant: str = "model.onnx", *, system_prompt: str,
                 max_new_tokens: int = 128, repetition_penalty: float = 1.0,
                 intra_op_threads: int = 0, exact_int8: bool = True) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir)
        self.variant = variant
        self.system_prompt = system_prompt
        self.max_new_tokens = max_new_tokens
        if repetition_penalty <= 0:
            raise ModelError(f"repetition_penalty must be > 0, got {repetition_penalty}; "
                             "set inference.repetition_penalty (1.0 = off)")
        self.repetition_penalty = repetition_penalty
        path = self.model_dir / "onnx" / variant
        if not path.is_file():
            raise ModelError(f"{path} does not exist; {_FIX}")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{self.model_dir}: tokenizer files unreadable ({exc}); {_FIX}") from exc
        self.eos_ids = _eos_ids(self.model_dir, self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_ids[0]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        if exact_int8:
            opts.add_session_config_entry("session.x64quantprecision", "1")
        self.exact_int8 = exact_int8
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own InvalidProtobuf/Fail/RuntimeException types
            raise ModelError(f"{path} could not be loaded by onnxruntime ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200]}); the file is corrupt or truncated: {_FIX}") from exc
        self._past = [i for i in self.session.get_inputs() if i.name.startswith("past_key_values.")]
        self._past_type = np.float16 if any("float16" in i.type for i in self._past) else np.float32
        self._input_names = {i.name for i in self.session.get_inputs()}
        self.batch_invariant = _batch_invariant(path)

    def prompt_ids(self, question: str) -> list[int]:
        """Token ids of the chat prompt: system prompt, user question, assistant header."""
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": question}]
        return list(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True))

    def generate(self, question: str, max_new_tokens: int | None = None,
                 on_text: Callable[[str], None] | None = None) -> Generation:
        """Greedy answer to one question (batch of one, no padding).

        ``on_text`` receives the reply as it is generated, one piece of new text per token
        (concatenated, the pieces are the reply before stripping; a piece is held back while it
        ends inside a multi-byte character), so a caller can stream it.
        """
        return self._run([question], max_new_tokens, on_text)[0]

    def generate_batch(self, questions: Sequence[str], max_new_tokens: int | None = None,
                       batch_size: int = 8) -> list[Generation]:
        """Greedy answers to many questions, ``batch_size`` at a time, in input order.

        Prompts are grouped by length (less padding), left-padded, with ``attention_mask`` 0
        and ``position_ids`` counted from each row's first real token, and a row leaves the
        batch when it has answered, so each answer equals what :meth:`generate` returns for
        that question (tested in tests/test_generate.py for every variant). A graph that is not
        :attr:`batch_invariant` (dynamic int8: one activation scale over the whole batch; 4-bit
        MatMulNBits: other kernels for several rows) is run one question at a time for that reason.
        """
        out: list[Generation | None] = [None] * len(questions)
        for chunk in batches(questions, batch_size if self.batch_invariant else 1):
            for i, gen in zip(chunk, self._run([questions[i] for i in chunk], max_new_tokens), strict=True):
                out[i] = gen
        return [g for g in out if g is not None]

    def _run(self, questions: Sequence[str], max_new_tokens: int | None,
             on_text: Callable[[str], None] | None = None) -> list[Generation]:
        started = time.perf_counter()
        limit = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        prompts = [self.prompt_ids(q) for q in questions]
        batch, width = len(prompts), max(len(p) for p in prompts)
        ids = np.full((batch, width), self.pad_id, dtype=np.int64)
        mask = np.zeros((batch, width), dtype=np.int64)
        for row, p in enumerate(prompts):
            ids[row, width - len(p):] = p
            mask[row, width - len(p):] = 1
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        seen = [set(p) for p in prompts]
        replies: list[list[int]] = [[] for _ in prompts]
        # Rows of the running batch -> prompt index. A row that has produced EOS leaves the
        # batch (its KV cache rows too), so finished answers cost no more compute; the others'
        # numbers do not change (batch-invariant graphs only, see ``batch_invariant``).
        alive = np.arange(batch)
        feed = {"input_ids": ids, "attention_mask": mask, "position_ids": positions}
        for i in self._past:
            feed[i.name] = np.zeros((batch, i.shape[1], 0, i.shape[3]), dtype=self._past_type)
        first_token_ms = 0.0
        shown = ""
        for step in range(limit):
            out = self._step(feed)
            if step == 0:
                first_token_ms = (time.perf_counter() - started) * 1000.0
            logits = out["logits"][:, -1, :].astype(np.float32)
            next_ids = np.empty(len(alive), dtype=np.int64)
            finished = np.zeros(len(alive), dtype=bool)
            for row, q in enumerate(alive):
                next_ids[row] = self._pick(logits[row], seen[q])
                replies[q].append(int(next_ids[row]))
                seen[q].add(int(next_ids[row]))
                finished[row] = int(next_ids[row]) in self.eos_ids
            if on_text is not None:
                text = self.tokenizer.decode(replies[0], skip_special_tokens=True)
                if not text.endswith("\ufffd") and len(text) > len(shown):
                    on_text(text[len(shown):])
                    shown = text
            if finished.all():
                break
            past = {i.name: out[i.name.replace("past_key_values.", "present.")] for i in self._past}
            positions = feed["position_ids"][:, -1:] + 1
            if finished.any():
                keep = ~finished
                alive, next_ids, mask, positions = alive[keep], next_ids[keep], mask[keep], positions[keep]
                past = {name: value[keep] for name, value in past.items()}
            mask = np.concatenate([mask, np.ones((len(alive), 1), dtype=np.int64)], axis=1)
            feed = {"input_ids": next_ids[:, None], "attention_mask": mask, "position_ids": positions, **past}
        latency = (time.perf_counter() - started) * 1000.0
        result = []
        for reply in replies:
            eos = bool(reply) and reply[-1] in self.eos_ids
            text = self.tokenizer.decode(reply, skip_special_tokens=True).strip()
            result.append(Generation(text, len(reply), latency, eos, tuple(reply), first_token_ms))
        return result

    def _step(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {k: v for k, v in feed.items() if k in self._input_names}
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, feed), strict=True))

    def _pick(self, logits: np.ndarray, seen: set[int]) -> int:
        if self.repetition_penalty != 1.0 and seen:
            idx = np.fromiter(seen, dtype=np.int64)
            vals = logits[idx]
            logits = logits.copy()
            logits[idx] = np.where(vals < 0, vals * self.repetition_penalty, vals / self.repetition_penalty)
        return int(np.argmax(logits))


def batches(questions: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices of ``questions`` grouped ``batch_size`` at a time, shortest questions first
    (less padding per batch); every index appears exactly once.

    Raises:
        ValueError: ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` where the
    platform has no affinity call)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class GeneratorPool:
    """Several :class:`Generator` sessions over one variant answering a batch in parallel threads.

    Decoding one sequence leaves cores idle (onnxruntime gains little from a second intra-op
    thread on small decode-step matmuls, and the dynamic-int8 graphs cannot batch at all, see
    :attr:`Generator.batch_invariant`), so the quality pass runs ``sessions`` sessions with
    ``max(1, usable_cores() // sessions)`` intra-op threads each. Worker threads take the next
    batch of :func:`batches` from a shared queue (onnxruntime releases the GIL while it runs).
    Each answer is computed by one session on its own, so it is the answer
    :meth:`Generator.generate` returns (onnxruntime's CPU kernels split work across threads
    without changing the order of a sum; tested in tests/test_generate.py for every variant).

    Args:
        model_dir, variant, system_prompt, max_new_tokens, repetition_penalty, exact_int8: as
            for :class:`Generator`.
        sessions: sessions (and worker threads), >= 1; each holds its own copy of the weights.

    Raises:
        ValueError: ``sessions`` < 1.
        ModelError: as :class:`Generator`.
    """

    def __init__(self, model_dir: Path, variant: str = "model.onnx", *, sessions: int, system_prompt: str,
                 max_new_tokens: int = 128, repetition_penalty: float = 1.0, exact_int8: bool = True) -> None:
        if sessions < 1:
            raise ValueError(f"sessions must be >= 1, got {sessions}")
        threads = max(1, usable_cores() // sessions)
        self.generators = [Generator(model_dir, variant, system_prompt=system_prompt, max_new_tokens=max_new_tokens,
                                     repetition_penalty=repetition_penalty, intra_op_threads=threads,
                                     exact_int8=exact_int8) for _ in range(sessions)]
        self.variant = variant
        self.intra_op_threads = threads

    @property
    def batch_invariant(self) -> bool:
        """As :attr:`Generator.batch_invariant` (the same graph in every session)."""
        return self.generators[0].batch_invariant

    def generate(self, question: str, max_new_tokens: int | None = None,
                 on_text: Callable[[str], None] | None = None) -> Generation:
        """One answer from the first session (as :meth:`Generator.generate`)."""
        return self.generators[0].generate(question, max_new_tokens, on_text)

    def generate_batch(self, questions: Sequence[str], max_new_tokens: int | None = None,
                       batch_size: int = 8) -> list[Generation]:
        """Greedy answers in input order, as :meth:`Generator.generate_batch` returns them; the
        batches are shared out among the sessions as each becomes free. ``latency_ms`` is the
        wall time of the batch an answer was part of."""
        chunks = batches(questions, batch_size if self.batch_invariant else 1)
        out: list[Generation | None] = [None] * len(questions)
        lock = threading.Lock()
        todo = iter(chunks)

        def work(gen: Generator) -> None:
            while True:
                with lock:
                    chunk = next(todo, None)
                if chunk is None:
                    return
                for i, answer in zip(chunk, gen._run([questions[i] for i in chunk], max_new_tokens), strict=True):
                    out[i] = answer

        with ThreadPoolExecutor(len(self.generators)) as pool:
            for future in [pool.submit(work, g) for g in self.generators]:
                future.result()  # re-raises a worker's exception
        return [g for g in out if g is not None]


# Ops whose output for one row depends on the other rows of the batch: onnxruntime's dynamic
# quantization computes ONE uint8 scale and zero point over the whole activation tensor, padding
# included (int8/uint8/q8 files; q4's int8 lm_head). Measured on the tiny model: 2 of 6 int8
# answers changed when the 6 questions ran as one batch. MatMulNBits is row-wise in exact
# arithmetic, but onnxruntime's kernels for one row and for several round differently: a q4 file
# whose every projection is MatMulNBits (accuracy_level 4, no dynamic int8 left) gave 125 of 137
# dev and validation answers identical batched (8) and one at a time (docs/experiments.md,
# "A 4-bit lm_head"). Other accuracy levels were not measured and are treated the same.
_BATCH_DEPENDENT_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulNBits"})


def _batch_invariant(path: Path) -> bool:
    """True when no node of the graph at ``path`` mixes rows of a batch (:data:`_BATCH_DEPENDENT_OPS`).

    Reads the graph structure only (external weight data is not loaded)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return not any(node.op_type in _BATCH_DEPENDENT_OPS for node in graph.node)


def _eos_ids(model_dir: Path, tokenizer) -> tuple[int, ...]:
    """EOS ids from generation_config.json (int or list), else the tokenizer's EOS."""
    file = model_dir / "generation_config.json"
    ids: list[int] = []
    if file.is_file():
        try:
            value = json.loads(file.read_text(encoding="utf-8")).get("eos_token_id")
        except json.JSONDecodeError as exc:
            raise ModelError(f"{file} is not valid JSON ({exc}); {_FIX}") from exc
        ids = [value] if isinstance(value, int) else list(value or [])
    if not ids and tokenizer.eos_token_id is not None:
        ids = [tokenizer.eos_token_id]
    if not ids:
        raise ModelError(f"{model_dir}: no eos_token_id in generation_config.json or the tokenizer; {_FIX}")
    return tuple(int(i) for i in ids)


def _main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    from pipeline.config import load_config

    model_dir, rest = Path(argv[0]), list(argv[1:])
    variant = rest.pop(0) if rest and rest[0].endswith(".onnx") else "model.onnx"
    cfg = load_config()  # ./config.yaml: the training system prompt and inference knobs
    gen = Generator(model_dir, variant, system_prompt=cfg.system_prompt,
                    max_new_tokens=cfg.inference.max_new_tokens,
                    repetition_penalty=cfg.inference.repetition_penalty)
    for q in rest:
        g = gen.generate(q)
        print(f"Q: {q}\nA: {g.text}\n   ({g.new_tokens} tokens, {g.latency_ms:.0f} ms, eos={g.stopped_on_eos})")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
