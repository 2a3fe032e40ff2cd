"""Typed configuration: one class per ``config.yaml`` section, loaded and validated once.

Run ``python -m pipeline config`` to print the resolved configuration of the active profile.

The file holds the full-scale reference values at the top level and a ``profiles:`` block
whose entries are deep-merged over them (``cpu`` is the embedded default that finishes on a
2-core CPU, ``full`` is the reference run). The active profile comes from, in order: the
explicit ``profile=`` argument (CLI ``--profile``, pytest ``--rc-profile``), the
``RESUME_PROFILE`` environment variable, then ``default_profile`` in the file.

Every problem in a file (unknown key, wrong type, out-of-range value, an output folder of
the active profile that cannot be created or written) is collected into one
:class:`ConfigError` whose message lists each dotted key path with its fix.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError

PROFILE_ENV = "RESUME_PROFILE"
# ONNX file -> transformers.js dtype (src/utils/dtypes.js, DEFAULT_DTYPE_SUFFIX_MAPPING): the file
# `from_pretrained(..., {dtype})` fetches. q8 is `model_quantized.onnx`, the WASM default;
# fp32 is WebGPU's; q4f16 is what transformers.js's SmolLM WebGPU example asks for.
DTYPES = {
    "model.onnx": "fp32", "model_fp16.onnx": "fp16", "model_quantized.onnx": "q8", "model_int8.onnx": "int8",
    "model_uint8.onnx": "uint8", "model_q4.onnx": "q4", "model_q4f16.onnx": "q4f16",
}
VARIANTS = tuple(DTYPES)
FILES = {dtype: file for file, dtype in DTYPES.items()}
# Every folder the pipeline writes into (dotted key paths); load_config checks them up front.
OUTPUT_FOLDERS = ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir",
                  "evaluation.eval_data_dir", "evaluation.report_output")
# Kernel filesystems that hold no files; /dev/shm is an ordinary tmpfs and stays allowed.
_VIRTUAL_FS = (Path("/proc"), Path("/sys"), Path("/dev"))
_VIRTUAL_FS_ALLOWED = (Path("/dev/shm"),)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(v: str) -> str:
    """Reject a value that is empty or only whitespace (min_length=1 lets "   " through)."""
    if not v.strip():
        raise ValueError("must not be blank; set a value")
    return v


class ServerConfig(_Section):
    """llama.cpp server used by the ``llm`` dataset backend."""

    host: str = "http://127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    timeout: float = Field(120.0, gt=0, description="seconds per HTTP request")
    health_check_timeout: float = Field(120.0, gt=0, description="seconds to wait for readiness")
    slots: int = Field(1, ge=1, le=64, description="concurrent requests sent to the server")
    max_retries: int = Field(5, ge=0, le=50, description="retries per request before the run stops")
    backoff_max: float = Field(30.0, gt=0, description="cap of the exponential backoff, seconds")
    managed: bool = Field(False, description="start a llama.cpp server for the run and stop it after")
    managed_model: str | None = Field(None, description="GGUF for the managed server; null = embedded")
    managed_n_ctx: int = Field(4096, ge=256, le=131072,
                               description="context window (tokens per request) of the managed server")


class ValidationSection(_Section):
    """Checks on the ingested resume."""

    context_token_warn: int = Field(2000, ge=1)


class GenerationLimits(_Section):
    """Length limits and filters applied to every generated question and answer."""

    question_max_tokens: int = Field(64, ge=1)
    answer_max_tokens: int = Field(80, ge=1)
    min_question_length: int = Field(15, ge=1, description="characters")
    min_answer_length: int = Field(15, ge=1, description="characters")
    min_variation_length: int = Field(15, ge=1, description="characters")
    max_question_words: int = Field(15, ge=1)
    max_answer_sentences: int = Field(2, ge=1)
    max_answer_words: int = Field(50, ge=1)


class LLMDefaults(_Section):
    """Sampling defaults for requests to the llama.cpp server."""

    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(128, ge=1)
    variation_max_tokens: int = Field(64, ge=1)
    long_question_skip_prob: float = Field(0.1, ge=0, le=1)
    stop_sequences: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>")


class Temperatures(_Section):
    question: float = Field(0.9, ge=0, le=2)
    answer: float = Field(0.1, ge=0, le=2)
    variation: float = Field(1.0, ge=0, le=2)


class DatasetConfig(_Section):
    """Synthetic Q/A dataset generation."""

    backend: Literal["template", "hybrid", "llm"] = "template"
    hub_id: str = "your-name/resume-qa"
    system_prompt: str = (
        "You answer questions about {person_full_name}'s resume. "
        "If the answer is not in the resume, say you don't know."
    )
    samples_per_category: int = Field(1200, ge=1)
    variations_per_question: int = Field(3, ge=1, le=20)
    temperatures: Temperatures = Temperatures()
    train_split: float = Field(0.9, gt=0, lt=1)
    refusal_share: float = Field(0.15, ge=0, lt=1, description="share of refusal samples")
    noisy_question_share: float = Field(
        0.2, ge=0, le=1,
        description="share of training questions given surface noise (casing, typo, greeting, the person named by "
                    "full name or as 'the candidate'); validation stays clean",
    )
    refusal_answer: str = Field(
        "I don't know; that is not in {person_name}'s resume.",
        min_length=1,
        description="the one refusal sentence of the training set; must contain a refusal marker",
    )
    seed: int = 88
    include_military: bool = True
    has_recommendations: bool = True
    holdout_dirs: list[str] = Field(
        default_factory=list,
        description="folders of hand-written cases (golden/adversarial/ood.jsonl, e.g. a dev split) that, like "
                    "evaluation.eval_data_dir, no training question may near-copy",
    )

    @field_validator("system_prompt", "refusal_answer")
    @classmethod
    def _known_placeholders(cls, v: str) -> str:
        try:
            v.format(person_name="x", person_full_name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"bad placeholder {exc}; use only {{person_name}} and {{person_full_name}} "
                "(double braces {{ }} for literal braces)") from exc
        return v


class ModelConfig(_Section):
    """Base model: a hub id, a local directory, a .gguf file, or ``embedded``."""

    base: str = "Qwen/Qwen2.5-0.5B-Instruct"
    hub_id: str = "your-name/resume-chat"
    trust_remote_code: bool = False


class LoraSection(_Section):
    r: int = Field(64, ge=1)
    alpha: int = Field(128, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: tuple[str, ...] = (
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    )


class SFTSection(_Section):
    epochs: float = Field(8, gt=0)
    batch_size: int = Field(16, ge=1)
    gradient_accumulation: int = Field(4, ge=1)
    learning_rate: float = Field(2e-5, gt=0, lt=1)
    max_length: int = Field(384, ge=16)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    gradient_checkpointing: bool = False
    packing: bool = True
    group_by_length: bool = True
    dataloader_num_workers: int = Field(2, ge=0)
    eval_strategy: Literal["no", "steps", "epoch"] = "no"
    save_strategy: Literal["no", "steps", "epoch"] = "no"
    load_best_model_at_end: bool = False
    save_total_limit: int = Field(2, ge=1)
    seed: int = 88
    logging_steps: int = Field(10, ge=1)
    cpu_bf16: bool | Literal["auto"] = Field(False, description="on CPU, train under bfloat16 autocast (fp32 master weights): true, false, or auto (bf16 only where the CPU has native bf16, avx512_bf16 or amx_bf16: ~1.6x faster there, ~12x slower on an AVX2-only CPU, measured in docs/knobs.md)")
    save_steps: int = Field(50, ge=1, description="optimizer steps between checkpoints (and evaluations) when save_strategy/eval_strategy is 'steps'")

    @model_validator(mode="after")
    def _best_needs_eval(self) -> SFTSection:
        if self.load_best_model_at_end and (self.eval_strategy == "no" or self.save_strategy != self.eval_strategy):
            raise ValueError(
                "load_best_model_at_end needs eval_strategy != 'no' and save_strategy equal to eval_strategy"
            )
        return self


class InferenceSection(_Section):
    max_new_tokens: int = Field(128, ge=1)
    repetition_penalty: float = Field(1.2, ge=1.0, le=3.0)


class ExportSection(_Section):
    """ONNX export of the merged model (pipeline/onnx/export.py)."""

    logit_tolerance: float = Field(
        1e-2, gt=0, description="max |logit| difference allowed between model.onnx and the merged PyTorch model"
    )


class QuantizationSection(_Section):
    """Quantized ONNX variants (pipeline/onnx/quantize.py; the module docstring gives the reasons)."""

    variants: tuple[Literal["fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16"], ...] = Field(
        ("fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16"), min_length=1, description=(
            "transformers.js dtypes to build and gate (fp32 = model.onnx, always needed: it is the "
            "reference of fp32 alignment); q8 is model_quantized.onnx, the WASM default"))
    block_size: int = Field(32, ge=16, description="q4: weights per MatMulNBits quantization block")
    accuracy_level: int = Field(4, ge=0, le=4, description="q4: MatMulNBits compute precision (4 = int8)")
    q4_symmetric: bool = Field(False, description="q4: blocks symmetric around 0 (true) or with a zero point (false)")
    per_channel: bool = Field(True, description="int8/uint8: one weight scale per output channel")
    reduce_range: bool = Field(False, description="int8/uint8: 7-bit weights (pre-VNNI x86 saturation)")
    op_types: tuple[Literal["MatMul", "Gather"], ...] = Field(
        ("MatMul",), min_length=1, description="int8/uint8: operator types quantized"
    )
    exclude_nodes: tuple[str, ...] = Field(
        (), description=("int8/uint8/q8: nodes whose name contains one of these substrings stay fp32 "
                         "(the tied lm_head is untied and quantized unless 'lm_head' is listed)")
    )
    smooth_alpha: float = Field(0.9, ge=0, le=1, description=(
        "int8/uint8/q8: SmoothQuant migration strength for every down_proj (dynamic int8 weights): "
        "s = max|X|^alpha / max|W|^(1-alpha); 0 turns it off"))
    q4_smooth_alpha: float = Field(0.5, ge=0, le=1, description=(
        "q4/q4f16: the same smoothing in front of every down_proj that is quantized there (4-bit blocks, "
        "or dynamic int8 when q4_int8_nodes names it; none when q4_fp16_nodes keeps it fp16); 0 turns it off"))
    calibration_samples: int = Field(64, ge=1, description=(
        "training-split conversations run to measure the down_proj activation ranges for smooth_alpha "
        "and q4_smooth_alpha"))
    q4_embedding: bool = Field(True, description=(
        "q4/q4f16: the embedding table as a 4-bit GatherBlockQuantized (false: fp32 Gather)"))
    q4_int8_nodes: tuple[str, ...] = Field(("lm_head",), description=(
        "q4/q4f16: MatMuls whose name contains one of these get dynamic int8 weights (as in int8) "
        "instead of 4-bit blocks; the tied lm_head is untied first"))
    q4_fp16_nodes: tuple[str, ...] = Field((), description=(
        "q4/q4f16: MatMuls whose name contains one of these keep fp16 weights (cast to fp32 at load) "
        "instead of 4-bit blocks"))

    @field_validator("variants")
    @classmethod
    def _fp32_first(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if "fp32" not in v:
            raise ValueError("must include fp32 (model.onnx, the reference every variant is aligned with)")
        order = tuple(DTYPES.values())
        return tuple(d for d in order if d in v)

    @field_validator("block_size")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError("block_size must be a power of two >= 16 (MatMulNBits), e.g. 32")
        return v


class HubSection(_Section):
    """Hugging Face Hub repos ``python -m pipeline publish`` pushes to."""

    model_id: str = "your-name/resume-chat"
    dataset_id: str = "your-name/resume-qa"
    license: str = Field("apache-2.0", min_length=1,
                         description="Hub licence id on both cards; the base model's licence binds its weights")
    private: bool = Field(False, description="create the Hub repos as private")


class Thresholds(_Section):
    exact_match_rate_min: float = Field(0.35, ge=0, le=1)
    token_f1_min: float = Field(0.55, ge=0, le=1)
    keyword_coverage_min: float = Field(0.75, ge=0, le=1)
    refusal_accuracy_min: float = Field(0.90, ge=0, le=1)
    response_length_compliance_min: float = Field(0.95, ge=0, le=1)
    behavior_accuracy_min: float = Field(0.92, ge=0, le=1)
    fp32_alignment_min: float = Field(0.70, ge=0, le=1)
    case_token_f1_min: float = Field(0.25, ge=0, le=1)
    case_keyword_coverage_min: float = Field(0.40, ge=0, le=1)
    p95_latency_ms_max: dict[str, float] = Field(
        default_factory=lambda: {
            "model.onnx": 2500.0, "model_fp16.onnx": 2800.0, "model_quantized.onnx": 1800.0,
            "model_int8.onnx": 1800.0, "model_uint8.onnx": 1800.0, "model_q4.onnx": 1200.0,
            "model_q4f16.onnx": 1800.0,
        }
    )

    @field_validator("p95_latency_ms_max")
    @classmethod
    def _known_variants(cls, v: dict[str, float]) -> dict[str, float]:
        """Keys are variant files; a variant left out keeps its default budget."""
        unknown = sorted(set(v) - set(VARIANTS))
        if unknown:
            raise ValueError(f"unknown variant(s) {unknown}; keys are ONNX files among {list(VARIANTS)}")
        if any(ms <= 0 for ms in v.values()):
            raise ValueError("every budget must be > 0 milliseconds")
        defaults = cls.model_fields["p95_latency_ms_max"].default_factory()
        return {name: float(v.get(name, defaults[name])) for name in VARIANTS}


class EvaluationSection(_Section):
    seed: int = 88
    smoke_samples: int = Field(50, ge=1)
    max_new_tokens: int = Field(128, ge=1)
    batch_size: int = Field(8, ge=1, le=64, description=(
        "prompts per generate_batch call in the quality pass (1 = one at a time); latency "
        "gates always send one request at a time"))
    sessions: int = Field(0, ge=0, le=16, description=(
        "onnxruntime sessions answering the quality pass in parallel threads, each a copy of the "
        "variant's weights with usable cores / sessions intra-op threads; 0 = min(4, usable cores), "
        "and usable cores / xdist workers under xdist (at least 1); 1 = one session. Answers are "
        "the same for every value; latency gates always use one session"))
    latency_rounds: int = Field(20, ge=2, le=1000, description=(
        "benchmark rounds (one request each, cycling over the sampled cases) per p95 latency gate"))
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000, description=(
        "bootstrap resamples behind every metric's 95% confidence interval (seeded with evaluation.seed)"))
    report_output: str = Field("data/eval_reports", min_length=1)
    eval_data_dir: str = Field("data/eval", min_length=1)
    refusal_markers: tuple[str, ...] = Field(min_length=1, default=(
        "I don't know", "I do not know", "not in the resume", "I can't answer", "I cannot answer",
    ))
    hub: HubSection = HubSection()
    thresholds: Thresholds = Thresholds()

    @field_validator("report_output", "eval_data_dir")
    @classmethod
    def _folder_not_blank(cls, v: str) -> str:
        return _not_blank(v)


class Config(_Section):
    """The whole resolved configuration (one profile applied).

    Paths are kept as written in the file; :meth:`path` resolves them against ``root``.
    """

    profile: str
    root: Path
    person_name: str = Field(min_length=1)
    person_full_name: str = Field(min_length=1)
    resume_path: str = Field(min_length=1)
    dataset_output: str = "artifacts/dataset"
    model_output: str = "artifacts/adapter"
    merged_output: str = "artifacts/merged"
    onnx_output: str = "artifacts/onnx"
    cache_dir: str = "artifacts/cache"
    server: ServerConfig = ServerConfig()
    validation: ValidationSection = ValidationSection()
    generation_limits: GenerationLimits = GenerationLimits()
    llm_defaults: LLMDefaults = LLMDefaults()
    dataset: DatasetConfig = DatasetConfig()
    model: ModelConfig = ModelConfig()
    lora: LoraSection = LoraSection()
    sft: SFTSection = SFTSection()
    inference: InferenceSection = InferenceSection()
    export: ExportSection = ExportSection()
    quantization: QuantizationSection = QuantizationSection()
    evaluation: EvaluationSection = EvaluationSection()

    @field_validator("person_name", "person_full_name", "resume_path", "dataset_output", "model_output",
                     "merged_output", "onnx_output", "cache_dir")
    @classmethod
    def _text_not_blank(cls, v: str) -> str:
        return _not_blank(v)

    def path(self, value: str | os.PathLike[str]) -> Path:
        """Resolve a path from the config against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def variants(self) -> tuple[str, ...]:
        """The ONNX files ``quantization.variants`` builds, in :data:`VARIANTS` order."""
        return tuple(FILES[d] for d in self.quantization.variants)

    @property
    def system_prompt(self) -> str:
        """The system prompt used in training and at inference, with the person's name filled in."""
        return self.dataset.system_prompt.format(
            person_full_name=self.person_full_name, person_name=self.person_name
        )

    def section_hash(self, *names: str) -> str:
        """sha256 hex of the named sections (dotted top-level names), for cache keys."""
        data = {n: _jsonable(getattr(self, n)) for n in names}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def snapshot(self) -> dict[str, Any]:
        """The resolved configuration as JSON-ready data (records the active profile)."""
        data = self.model_dump(mode="json")
        data["root"] = str(self.root)
        return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (the last one would win silently)."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}; keep one of them", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "p95_latency_ms_max":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _format_errors(source: str, exc: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if prefix:
            loc = f"{prefix}{loc}"
        kind = err["type"]
        if kind == "extra_forbidden":
            fix = "unknown key: remove it or fix its spelling (see docs/knobs.md)"
        elif kind == "missing":
            fix = "required key is missing: add it"
        else:
            fix = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
            if "input" in err and not isinstance(err["input"], (dict, list)):
                fix += f" (got {err['input']!r})"
        lines.append(f"  {loc}: {fix}")
    return lines


def _touches(block: Any, line: str) -> bool:
    """Whether the problem ``line`` ("  a.b.c: ...") is about a key the profile ``block`` sets."""
    tree = block
    for part in line.strip().split(":", 1)[0].split("."):
        if isinstance(tree, (list, tuple)):
            return True  # a list item: the profile sets the whole list
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _output_folder_problem(key: str, folder: Path) -> str | None:
    """Why the pipeline could not create and write ``folder`` (setting ``key``), or None.

    Creates nothing: the folder itself, or else its nearest existing ancestor, must be a
    writable directory, not on a kernel filesystem (/proc, /sys, /dev) and not below a file.
    """
    fix = f"point {key} at a folder you can write"
    try:
        real = Path(os.path.realpath(folder))
    except (OSError, ValueError) as exc:
        return f"  {key}: {folder} is not a usable path ({exc}); {fix}"
    for top in _VIRTUAL_FS:
        if (real == top or top in real.parents) and not any(
                real == ok or ok in real.parents for ok in _VIRTUAL_FS_ALLOWED):
            return f"  {key}: {folder} is under {top}, a virtual filesystem that holds no files; {fix}"
    existing = folder
    while not os.path.exists(existing):  # os.path: False (not an exception) on ENOTDIR, EACCES, ...
        if os.path.islink(existing):
            return f"  {key}: {existing} is a broken symbolic link; fix the link or {fix}"
        if existing.parent == existing:
            break
        existing = existing.parent
    if not os.path.isdir(existing):
        if existing == folder:
            return f"  {key}: {folder} is a file, not a folder; {fix}"
        return f"  {key}: {folder} is below the regular file {existing}, so it cannot be created; {fix}"
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "folder" if existing == folder else f"folder's nearest existing parent {existing}"
        return f"  {key}: the {what} is not writable; fix its permissions or {fix}"
    return None


def _output_folder_problems(root: Path, values: dict[str, Any]) -> list[str]:
    """One problem line per unusable folder in ``values`` (dotted key → path as written)."""
    problems = []
    for key in OUTPUT_FOLDERS:
        value = values.get(key)
        if not isinstance(value, str) or not value.strip():
            continue  # a wrong type or a blank value is reported by the schema
        folder = Path(value).expanduser()
        problem = _output_folder_problem(key, folder if folder.is_absolute() else root / folder)
        if problem:
            problems.append(problem)
    return problems


def _output_folder_values(merged: dict[str, Any]) -> dict[str, Any]:
    """The output folder settings of a merged (not yet validated) config, defaults filled in."""
    values = {}
    for key in OUTPUT_FOLDERS:
        section, model, data = key.rpartition(".")[0], Config, merged
        if section:
            model = EvaluationSection
            data = merged.get(section) if isinstance(merged.get(section), dict) else {}
        name = key.rpartition(".")[2]
        values[key] = data.get(name, model.model_fields[name].default)
    return values


def load_config(path: str | os.PathLike[str] = "config.yaml", profile: str | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Read, merge and validate a config file.

    Args:
        path: the YAML file; relative paths inside it resolve against its folder.
        profile: profile name; ``None`` uses ``$RESUME_PROFILE`` or the file's ``default_profile``.
        overrides: nested dict deep-merged last (tests and CLI flags use it).

    Returns:
        The frozen :class:`Config` of the active profile.

    Raises:
        ConfigError: file missing, not UTF-8, not YAML, not a mapping, unknown profile, any
            invalid key, or an output folder (:data:`OUTPUT_FOLDERS`) of the active profile
            that cannot be created or written; the message lists every problem with its
            dotted key path and fix.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: config file not found; check the config path "
                          "(CLI --config, pytest --rc-config) or copy config.yaml from the repository")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror}); fix its permissions") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); re-save "
                          "the file as UTF-8 (e.g. in your editor: save with encoding UTF-8)") from exc
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}: not valid YAML ({where}{what}); fix the syntax") from exc
    if raw is None:
        raise ConfigError(f"{file}: file is empty; copy config.yaml from the repository")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: top level must be a mapping of sections, got {type(raw).__name__}")

    problems: list[str] = []
    profiles = raw.pop("profiles", None) or {}
    default_profile = raw.pop("default_profile", None)
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) or v is None for v in profiles.values()):
        problems.append("  profiles: must map profile names to mappings of overrides")
        profiles = {}
    name = profile or os.environ.get(PROFILE_ENV) or default_profile or "full"
    if not isinstance(name, str):
        problems.append(f"  default_profile: must be a profile name, got {name!r}")
        name = "full"
    if name != "full" and name not in profiles:
        known = sorted(set(profiles) | {"full"})
        problems.append(f"  profile {name!r} is not defined; choose one of {known} or add it under profiles:")
    merged = _deep_merge(raw, profiles.get(name) or {})
    if overrides:
        merged = _deep_merge(merged, overrides)
    merged["profile"] = name
    merged["root"] = file.resolve().parent
    try:
        cfg = Config.model_validate(merged)
    except ValidationError as exc:
        problems.extend(_format_errors(str(file), exc))
        cfg = None
    # The active profile's output folders must be creatable and writable now, not after a
    # stage has run (inactive profiles may name folders that exist only where they run).
    problems.extend(_output_folder_problems(merged["root"], _output_folder_values(merged)))
    # The other profiles are checked too, so a typo there is found now, not on a later run.
    # A problem they share with the active profile (a bad top-level value) is listed once.
    active = set(problems)
    for other, block in profiles.items():
        if other == name or not isinstance(other, str):
            continue
        try:
            Config.model_validate({**_deep_merge(raw, block or {}), "profile": other, "root": merged["root"]})
        except ValidationError as exc:
            for line in _format_errors(str(file), exc):
                if line not in active:
                    where = f"profiles.{other} → " if _touches(block, line) else f"(profile {other!r}) "
                    problems.append(f"  {where}{line.strip()}")
    if len(problems) == 1:
        raise ConfigError(f"{file} (profile {name!r}): {problems[0].strip()}")
    if problems:
        raise ConfigError(
            f"{file} (profile {name!r}): {len(problems)} problem(s):\n" + "\n".join(problems)
        )
    assert cfg is not None
    return cfg
