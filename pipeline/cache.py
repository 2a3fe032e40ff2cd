"""Content-keyed artifact cache shared by the CLI and the pytest fixtures.

Every stage output lives in ``<root>/<key[:16]>/``. The key hashes the stage name, the
stage's config sections, the upstream artifact keys, extra inputs (e.g. the resume file's
hash) and the package version (DESIGN.md, "The cache"). A folder is complete only when its
``manifest.json`` exists: the builder writes into a temporary sibling folder, the manifest
is written last, then the folder is renamed into place. One file lock per key makes
concurrent builders (two CLI runs, pytest-xdist workers) build once: the first builds, the
others wait on the lock and then reuse. ``<root>/latest`` points at the artifact of the
most recent run, built or reused, so it follows the config that was used last.

Used by every stage module; nothing to run on its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pipeline import __version__
from pipeline.errors import PipelineError, disk_full, is_disk_full

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PACKAGE_VERSION = __version__  # part of every key: a release that changes outputs changes the keys


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling and a rename, so a reader
    (or a killed writer) never sees half a file.

    Raises:
        OSError: the folder is not writable or the disk is full; the temporary file is removed
            and ``path`` keeps its old content. ``filename`` is ``path`` when the OS left it
            unset (a failed write names no file), so the CLI can name the file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


@dataclass(frozen=True)
class Artifact:
    """A finished stage output.

    Attributes:
        stage: stage name (``dataset``, ``base``, ``adapter``, ``merged``, ``onnx``).
        key: sha256 hex of the stage inputs (see module docstring).
        path: folder holding the artifact files.
        numbers: small JSON-ready facts recorded by the builder (counts, sizes, seconds).
        reused: True when the artifact came from the cache instead of being built now.
    """

    stage: str
    key: str
    path: Path
    numbers: Mapping[str, Any] = field(default_factory=dict)
    reused: bool = False


def make_key(stage: str, sections: Mapping[str, Any], upstream: Mapping[str, str] | None = None,
             extra: Mapping[str, Any] | None = None) -> str:
    """Hash a stage's inputs into its cache key (sha256 hex, 64 chars)."""
    payload = {
        "stage": stage, "sections": sections, "upstream": dict(upstream or {}),
        "extra": dict(extra or {}), "version": PACKAGE_VERSION,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 hex of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete artifact folder, or None when the folder is incomplete."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def build(stage: str, root: Path, key: str, builder: Callable[[Path], Mapping[str, Any]],
          *, force: bool = False, inputs: Mapping[str, Any] | None = None) -> Artifact:
    """Return the artifact for ``key``, building it with ``builder`` when needed.

    Args:
        stage: stage name, recorded in the manifest.
        root: the stage's output root (e.g. ``artifacts/onnx``).
        key: from :func:`make_key`.
        builder: called with an empty temporary folder to fill; returns the numbers to record.
        force: rebuild even when a complete artifact exists.
        inputs: JSON-ready description of the inputs, recorded in the manifest.

    Returns:
        The :class:`Artifact`; ``reused`` tells whether it came from the cache.

    Raises:
        Whatever ``builder`` raises; the temporary folder is removed and no manifest exists.
    """
    if root.exists() and not root.is_dir():
        raise PipelineError(f"{root}: the {stage} output folder is a file; point its setting in "
                            "the config file (dataset_output, model_output, merged_output, onnx_output, "
                            "cache_dir) at a folder")
    root.mkdir(parents=True, exist_ok=True)
    final = root / key[:16]
    (root / ".locks").mkdir(exist_ok=True)
    _remove_orphans(root)
    with FileLock(str(root / ".locks" / f"{key[:16]}.lock")):
        manifest = read_manifest(final)
        if manifest is not None and not force:
            log.info("%s: cache hit %s", stage, final)
            _point_latest(root, final)
            return Artifact(stage, key, final, manifest.get("numbers", {}), reused=True)
        # Under the lock no one else builds this key: any temp folder of it was left by a
        # killed builder and is removed.
        for stale in root.glob(f".tmp-{key[:16]}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".tmp-{key[:16]}-{os.getpid()}"
        tmp.mkdir()
        started = time.time()
        try:
            numbers = dict(builder(tmp) or {})
            numbers.setdefault("seconds", round(time.time() - started, 2))
            manifest = {"stage": stage, "key": key, "inputs": dict(inputs or {}), "numbers": numbers,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if is_disk_full(exc):
                raise disk_full(exc, f"the artifact under {root}", what=stage,
                                rerun="rerun the command with --force (nothing was marked complete)") from exc
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _point_latest(root, final)
        return Artifact(stage, key, final, numbers, reused=False)


def _remove_orphans(root: Path) -> None:
    """Delete ``.tmp-<key16>-<pid>`` folders that no builder is writing (left by a SIGKILL or
    a power cut). A folder is an orphan when its key's lock file can be taken at once: a
    live builder of that key, in this process, another process or another container on the
    same folder, holds it."""
    for tmp in root.glob(".tmp-*-*"):
        key16 = tmp.name[len(".tmp-"):].rsplit("-", 1)[0]
        try:
            with FileLock(str(root / ".locks" / f"{key16}.lock"), timeout=0):
                shutil.rmtree(tmp, ignore_errors=True)
        except (Timeout, OSError):
            continue


def _point_latest(root: Path, final: Path) -> None:
    link = root / "latest"
    tmp_link = root / f".latest-{os.getpid()}"
    try:
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        tmp_link.symlink_to(final.name)
        os.replace(tmp_link, link)
    except OSError as exc:  # e.g. a filesystem without symlinks: the key folder still works
        log.warning("could not update %s: %s", link, exc)
