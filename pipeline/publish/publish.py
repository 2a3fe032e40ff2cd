"""Publish the model or the dataset to the Hugging Face Hub, after a PII scan of the exact upload tree.

Run::

    python -m pipeline publish model --dry-run        # stage, scan, list files; upload nothing
    python -m pipeline publish model                  # the same, then create_repo + upload_folder
    python -m pipeline publish dataset [--dry-run] [--allow-failing] [--report DIR] [--stage-dir DIR]

The artifacts come from :func:`pipeline.chain.run_chain` (reused from the cache). The model
tree is the ONNX artifact (config.json, generation_config.json, tokenizer files with the chat
template, ``onnx/model*.onnx``) plus the merged safetensors weights at the root and a
``README.md`` card; the dataset tree is ``train.jsonl``, ``validation.jsonl``,
``dataset_dict/``, ``metadata.json`` and a card. Publishing refuses when no eval report
exists or its gates failed, unless ``--allow-failing`` (the card then says so), and whenever
a staged text file holds an email, phone number or URL, or any contact value of the raw
resume (the block names file and line). The token is read by ``huggingface_hub`` itself
(``HF_TOKEN`` or the stored login); this module never reads, prints or writes it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.cache import MANIFEST, file_sha256
from pipeline.chain import run_chain
from pipeline.config import DTYPES, FILES, Config
from pipeline.errors import PipelineError
from pipeline.onnx.quantize import write_transformers_js_config
from pipeline.publish.cards import (
    EvalReport,
    ReportError,
    latest_report,
    render_dataset_card,
    render_model_card,
)
from pipeline.resume.pii import find_pii

# Files of an artifact folder that are bookkeeping, not part of the published repo.
_SKIP = {MANIFEST, "train_log.jsonl"}
_TEXT_SUFFIXES = {".md", ".json", ".jsonl", ".txt", ".jinja", ".yaml", ".yml", ".csv", ".py"}
_PLACEHOLDER_ID = re.compile(r"^your-name/")
# The dataset files whose top-level "id" column holds generated sample ids (pipeline.dataset.build
# ``_sample_id``: "s" + 12 hex; datasets of GENERATOR_VERSION <= 2: 12 bare hex). A hash holds no
# PII, but an all-digit one reads as a phone number, so the scan skips an id of exactly that
# form (an id of any other form is scanned like every other field).
_ID_COLUMN_FILES = {"train.jsonl", "validation.jsonl"}
_SAMPLE_ID = re.compile(r"s?[0-9a-f]{12}")


class PublishError(PipelineError):
    """Publishing refused or failed (no report, failing gates, PII found, no token, Hub error)."""

    exit_code = 1


@dataclass(frozen=True)
class Finding:
    """A PII hit in a staged file: ``path`` relative to the tree, 1-based ``line``, ``kind``, ``value``."""

    path: str
    line: int
    kind: str
    value: str

    def __str__(self) -> str:
        masked = self.value[:3] + "***" if len(self.value) > 3 else "***"
        return f"{self.path}:{self.line}: {self.kind} ({masked})"


# -- staging -----------------------------------------------------------------------------------

def _place(src: Path, dest: Path) -> None:
    """Hardlink ``src`` to ``dest`` (same filesystem, no copy of large weights), else copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _copy_tree(src: Path, dest: Path, skip: Iterable[str] = ()) -> None:
    skip = set(skip) | _SKIP
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if f.is_file() and rel.parts[0] not in skip and not any(p.startswith((".", "_")) for p in rel.parts):
            _place(f, dest / rel)


def stage_model_files(onnx_dir: Path, merged_dir: Path, dest: Path) -> None:
    """Lay out the model repo (without its card) in ``dest``.

    The ONNX artifact gives everything transformers.js loads (root configs, tokenizer files,
    ``onnx/``); the merged model adds its ``*.safetensors`` weights (and index) at the root for
    Python users. Bookkeeping files (manifest, train log) and hidden files are left out.

    Raises:
        PublishError: a folder, ``onnx/model.onnx`` or the safetensors weights are missing.
    """
    if not (onnx_dir / "onnx" / "model.onnx").is_file():
        raise PublishError(f"{onnx_dir / 'onnx' / 'model.onnx'} is missing; run `python -m pipeline train`")
    weights = sorted(merged_dir.glob("*.safetensors")) + sorted(merged_dir.glob("*.safetensors.index.json"))
    if not weights:
        raise PublishError(f"no *.safetensors in {merged_dir}; run `python -m pipeline merge --force`")
    _copy_tree(onnx_dir, dest)
    for f in weights:
        _place(f, dest / f.name)


def _param_count(folder: Path) -> int | None:
    try:
        from safetensors import safe_open

        total = 0
        for f in folder.glob("*.safetensors"):
            with safe_open(str(f), framework="numpy") as fh:
                for name in fh.keys():
                    shape = fh.get_slice(name).get_shape()
                    n = 1
                    for d in shape:
                        n *= d
                    total += n
        return total or None
    except (ImportError, OSError, ValueError):
        return None


# transformers.js devices (src/utils/devices.js) and the dtypes each is offered, smallest
# download first: the default written for a device is the first of these whose gates passed.
DEVICE_CANDIDATES = {
    "wasm": ("q4", "q8", "int8", "uint8", "fp32"),
    "cpu": ("q4", "q8", "int8", "uint8", "fp32"),  # Node's default device
    "webgpu": ("q4f16", "fp16", "q4", "fp32"),
}


def device_dtypes(report: EvalReport | None, built: Iterable[str]) -> dict[str, str]:
    """transformers.js device → default dtype, chosen from the gate results.

    For each device of :data:`DEVICE_CANDIDATES`, among the built variants: the first (the
    smallest download) whose quality and fp32-alignment gates all passed; when none passed,
    the one with the fewest failed ones (ties: the smaller). Latency gates are left out: they
    time onnxruntime on this machine's CPU, not a browser. No report: ``{}`` (transformers.js's
    own defaults apply).

    Args:
        report: the eval report (its ``failed_gates`` ids name the variant in brackets).
        built: ONNX file names present under ``onnx/``.
    """
    if report is None:
        return {}
    failed: dict[str, int] = {}
    for gate in report.failed_gates:
        match = re.match(r"^(test_gate|test_fp32_alignment)\[([^\]-]+\.onnx)", gate)
        if match:
            failed[match[2]] = failed.get(match[2], 0) + 1
    built = set(built)
    out = {}
    for device, dtypes in DEVICE_CANDIDATES.items():
        files = [FILES[d] for d in dtypes if FILES[d] in built and FILES[d] in report.metrics]
        if files:
            out[device] = DTYPES[min(files, key=lambda f: (failed.get(f, 0), files.index(f)))]
    return out


def stage_model(cfg: Config, onnx_dir: Path, merged_dir: Path, report: EvalReport | None, dest: Path, *,
                repo_id: str, allow_failing: bool) -> None:
    """Stage the complete model repo (files plus README.md card) in ``dest``; config.json's
    ``transformers.js_config.device_config`` gets :func:`device_dtypes`."""
    stage_model_files(onnx_dir, merged_dir, dest)
    onnx_files = sorted(f.name for f in (dest / "onnx").iterdir())
    defaults = device_dtypes(report, onnx_files)
    if defaults:
        write_transformers_js_config(dest, dest / "onnx",
                                     {"device_config": {dev: {"dtype": d} for dev, d in defaults.items()}})
    card = render_model_card(cfg, report, repo_id=repo_id, dataset_id=cfg.dataset.hub_id,
                             onnx_files=onnx_files, allow_failing=allow_failing,
                             params=_param_count(dest), device_dtypes=defaults)
    (dest / "README.md").write_text(card, encoding="utf-8")


def stage_dataset(cfg: Config, dataset_dir: Path, report: EvalReport | None, dest: Path, *,
                  repo_id: str, allow_failing: bool) -> None:
    """Stage the dataset repo: JSONL splits, ``dataset_dict/``, ``metadata.json`` and the card.

    The local resume path in ``metadata.json`` is reduced to its file name: the folder layout
    of the machine that built the dataset is not published.
    """
    for name in ("train.jsonl", "validation.jsonl", "metadata.json"):
        if not (dataset_dir / name).is_file():
            raise PublishError(f"{dataset_dir / name} is missing; run `python -m pipeline dataset --force`")
    _copy_tree(dataset_dir, dest, skip={"metadata.json"})
    metadata = json.loads((dataset_dir / "metadata.json").read_text(encoding="utf-8"))
    if isinstance(metadata.get("resume"), dict) and metadata["resume"].get("path"):
        metadata["resume"]["path"] = Path(metadata["resume"]["path"]).name
    (dest / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                        encoding="utf-8")
    card = render_dataset_card(cfg, metadata, report, repo_id=repo_id, model_id=cfg.model.hub_id,
                               allow_failing=allow_failing)
    (dest / "README.md").write_text(card, encoding="utf-8")


def list_tree(tree: Path) -> list[tuple[str, int, str]]:
    """Every file of ``tree`` as (relative POSIX path, size in bytes, sha256 hex), sorted by path."""
    return [(f.relative_to(tree).as_posix(), f.stat().st_size, file_sha256(f))
            for f in sorted(tree.rglob("*")) if f.is_file()]


# -- PII scan ----------------------------------------------------------------------------------

def contact_values(resume_path: Path) -> list[str]:
    """Contact details of the raw (unscrubbed) resume: what must never be published.

    A JSON Resume contributes ``basics.email``, ``phone``, ``url``, ``location.address`` and each
    profile's ``url`` and ``username``; every format contributes what :func:`pipeline.resume.pii.find_pii`
    finds in its raw text (PDF text via pypdf). Values shorter than 4 characters are dropped.

    Raises:
        PublishError: the resume file is missing or unreadable.
    """
    path = Path(resume_path)
    try:
        if path.suffix.lower() == ".pdf":
            from pypdf import PdfReader

            text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise PublishError(f"{path}: cannot read the resume for the PII scan ({exc}); fix resume_path") from exc
    values = set(find_pii(text))
    if path.suffix.lower() == ".json":
        try:
            basics = json.loads(text).get("basics") or {}
        except (json.JSONDecodeError, AttributeError):
            basics = {}
        values |= {str(basics.get(k) or "") for k in ("email", "phone", "url")}
        values.add(str((basics.get("location") or {}).get("address") or ""))
        for prof in basics.get("profiles") or []:
            values |= {str(prof.get("url") or ""), str(prof.get("username") or "")}
    return sorted(v.strip() for v in values if len(v.strip()) >= 4)


def _value_pattern(value: str) -> re.Pattern[str]:
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7 and len(digits) >= 0.6 * len(re.sub(r"\s", "", value)):
        # A phone number: the same digits with any separators ("+1 (912) 555-4321" ~ "9125554321").
        return re.compile(r"(?<!\d)" + r"[\s().+-]*".join(digits) + r"(?!\d)")
    core = re.sub(r"^(?:https?://)?(?:www\.)?", "", value, flags=re.IGNORECASE).rstrip("/")
    return re.compile(re.escape(core), re.IGNORECASE)


def _is_text(path: Path) -> bool:
    if path.suffix.lower() in _TEXT_SUFFIXES:
        return True
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _kind(value: str) -> str:
    if "@" in value and not value.startswith("@"):
        return "email"
    if sum(c.isdigit() for c in value) >= 7:
        return "phone number"
    if value.startswith("@"):
        return "handle"
    if "/" in value or "." in value:
        return "URL"
    return "address or contact detail"


def _without_sample_id(line: str) -> str:
    """``line`` (a row of a dataset split) with its generated sample id blanked out.

    Only a top-level ``"id"`` whose value has the sample-id form (:data:`_SAMPLE_ID`) is
    removed; other lines, and ids of any other form, come back unchanged.
    """
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return line
    value = row.get("id") if isinstance(row, dict) else None
    if not isinstance(value, str) or not _SAMPLE_ID.fullmatch(value):
        return line
    return re.sub(r'"id"\s*:\s*"' + re.escape(value) + '"', '"id": ""', line, count=1)


def scan_tree(tree: Path, contacts: Sequence[str]) -> list[Finding]:
    """Scan every text file of ``tree``, line by line, for PII.

    Two checks: :func:`pipeline.resume.pii.find_pii` hits that are emails, phone numbers, URLs or
    addresses (bare ``@name`` handles are skipped here: npm scopes and code tokens look the
    same), and any of ``contacts`` (see :func:`contact_values`), phones matched by their digits.
    The generated sample ids of ``train.jsonl`` / ``validation.jsonl`` (the top-level ``id``
    column, hashes) are not scanned; every other field of those rows is.

    Returns:
        The findings, in file and line order (empty when clean).
    """
    patterns = [(v, _value_pattern(v)) for v in contacts]
    findings: list[Finding] = []
    for f in sorted(tree.rglob("*")):
        if not f.is_file() or not _is_text(f):
            continue
        rel = f.relative_to(tree).as_posix()
        has_ids = rel in _ID_COLUMN_FILES
        with open(f, encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, 1):
                if has_ids:
                    line = _without_sample_id(line)
                hits = {v: "resume contact value" for v, pat in patterns if pat.search(line)}
                for v in find_pii(line):
                    if not v.startswith("@"):
                        hits.setdefault(v, _kind(v))
                findings += [Finding(rel, no, kind, v) for v, kind in hits.items()]
    return findings


# -- push --------------------------------------------------------------------------------------

def push(tree: Path, repo_id: str, repo_type: str, *, private: bool) -> str:
    """Create the Hub repo if needed and upload ``tree`` as one commit; returns the commit URL.

    The token comes from huggingface_hub's own lookup (``HF_TOKEN``, then the stored login);
    it is never passed through, printed or written here.

    Raises:
        PublishError: no token is configured, the Hub is offline (``HF_HUB_OFFLINE``), or the
            Hub refused the request (message without the token).
    """
    import huggingface_hub
    from huggingface_hub.utils import HfHubHTTPError

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise PublishError("HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it to publish "
                           "(or use --dry-run)")
    if huggingface_hub.get_token() is None:
        raise PublishError("no Hugging Face token: run `hf auth login` or set HF_TOKEN, then rerun")
    api = huggingface_hub.HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(tree), repo_id=repo_id, repo_type=repo_type,
                                 commit_message="Publish from resume-chat pipeline")
    except (HfHubHTTPError, OSError, ValueError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise PublishError(f"upload to {repo_type} repo {repo_id} failed ({type(exc).__name__}"
                           f"{f', HTTP {status}' if status else ''}); check the repo id in "
                           "model.hub_id / dataset.hub_id and that your token may write to it") from exc
    return str(getattr(info, "commit_url", info))


def publish(cfg: Config, what: str, *, dry_run: bool = False, allow_failing: bool = False,
            report_dir: Path | None = None, repo_id: str | None = None, stage_dir: Path | None = None,
            echo: Callable[[str], None] = print) -> int:
    """Stage, scan and (unless ``dry_run``) upload the ``model`` or ``dataset`` repo.

    Args:
        what: ``model`` or ``dataset``.
        dry_run: print each staged file with size and sha256; upload nothing.
        allow_failing: publish even without a report or with failing gates (the card says so).
        report_dir: a specific report folder instead of the newest under ``evaluation.report_output``.
        repo_id: overrides ``model.hub_id`` / ``dataset.hub_id``.
        stage_dir: keep the staged tree in this (new or empty) folder instead of a temp folder.
        echo: where lines go (the CLI prints them).

    Returns:
        0 when uploaded (or the dry run is clean), 1 when the PII scan found something.

    Raises:
        PublishError: no report / failing gates without ``allow_failing``, a placeholder repo id
            on a real push, missing artifacts, token or Hub problems.
    """
    if what not in ("model", "dataset"):
        raise PublishError(f"publish what={what!r}: choose model or dataset")
    repo_id = repo_id or (cfg.model.hub_id if what == "model" else cfg.dataset.hub_id)
    if not dry_run and _PLACEHOLDER_ID.match(repo_id):
        key = "model.hub_id" if what == "model" else "dataset.hub_id"
        raise PublishError(f"{key} is still the placeholder {repo_id!r}; set it in the config file "
                           "(or pass --repo-id) before a real push")
    try:
        report: EvalReport | None = latest_report(cfg, report_dir)
    except ReportError as exc:
        if not allow_failing:
            raise PublishError(f"{exc}; or pass --allow-failing to publish without one") from exc
        report = None
        echo(f"warning: {exc}; publishing anyway (--allow-failing), the card says so")
    if report is not None and not report.passed:
        gates = ", ".join(report.failed_gates) or "see summary.md"
        if not allow_failing:
            raise PublishError(f"eval report {report.path} has failing gates ({gates}); fix the model, "
                               "or pass --allow-failing to publish anyway (the card then says so)")
        echo(f"warning: publishing with failing gates ({gates}); the card says so")
    flagged = allow_failing and (report is None or not report.passed)

    arts = run_chain(cfg, until="onnx" if what == "model" else "dataset")
    flagged = _check_report_matches(report, arts, "onnx" if what == "model" else "dataset",
                                    allow_failing, echo) or flagged
    if stage_dir is not None:
        stage_dir.mkdir(parents=True, exist_ok=True)
        if any(stage_dir.iterdir()):
            raise PublishError(f"--stage-dir {stage_dir} is not empty; pass a new or empty folder")
        return _stage_scan_push(cfg, what, arts, report, stage_dir, repo_id, flagged, dry_run, echo)
    scratch = cfg.path(cfg.cache_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="publish-", dir=scratch) as tmp:
        return _stage_scan_push(cfg, what, arts, report, Path(tmp), repo_id, flagged, dry_run, echo)


def _check_report_matches(report: EvalReport | None, arts: dict, stage: str, allow_failing: bool,
                          echo: Callable[[str], None]) -> bool:
    """True when the report was measured on another artifact than the one being published."""
    recorded = (report.artifacts.get(stage) or {}).get("key") if report is not None else None
    if not recorded or recorded == arts[stage].key:
        return False
    msg = (f"eval report {report.path} was measured on {stage} artifact {str(recorded)[:16]}, but the current "
           f"one is {arts[stage].key[:16]}: its metrics do not describe what would be published")
    if not allow_failing:
        raise PublishError(f"{msg}; rerun `pytest evals -m smoke` (or pass --allow-failing)")
    echo(f"warning: {msg}; publishing anyway (--allow-failing), the card says so")
    return True


def _stage_scan_push(cfg: Config, what: str, arts: dict, report: EvalReport | None, tree: Path, repo_id: str,
                     flagged: bool, dry_run: bool, echo: Callable[[str], None]) -> int:
    if what == "model":
        stage_model(cfg, arts["onnx"].path, arts["merged"].path, report, tree, repo_id=repo_id,
                    allow_failing=flagged)
    else:
        stage_dataset(cfg, arts["dataset"].path, report, tree, repo_id=repo_id, allow_failing=flagged)
    files = list_tree(tree)
    echo(f"{what} repo {repo_id}: {len(files)} files, {sum(s for _, s, _ in files) / 2**20:.1f} MiB"
         + (f" (eval report {report.timestamp})" if report else " (no eval report)"))
    for rel, size, sha in files:
        echo(f"  {size:>12,d}  {sha}  {rel}")
    findings = scan_tree(tree, contact_values(cfg.path(cfg.resume_path)))
    if findings:
        echo(f"blocked: {len(findings)} PII hit(s) in the staged files; nothing was uploaded:")
        for f in findings:
            echo(f"  {f}")
        return 1
    echo("PII scan: clean")
    if dry_run:
        echo("dry run: nothing uploaded")
        return 0
    url = push(tree, repo_id, "model" if what == "model" else "dataset", private=cfg.evaluation.hub.private)
    echo(f"uploaded: {url}")
    return 0
