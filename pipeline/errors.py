"""The one exception family the CLI turns into a clear message and a non-zero exit.

Every error raised on bad input (a missing or corrupt file, a wrong key, a server that is
down) is a :class:`PipelineError` whose message names the file or key and the fix.

The family and its exit status (README, "Commands"): 2 for something to fix in the input or
the setup, 1 for a failed stage or an unreachable server.

  PipelineError            base class (exit 2)
    ConfigError            config file unreadable or invalid (also a ValueError)
    ResumeError            resume unreadable or too thin
    DatasetError           dataset / eval set missing or malformed
    InputError             any other input or setup problem: a wrong CLI argument, a missing
                           local file or cache entry, a full disk
      DiskFullError        ENOSPC / EDQUOT while writing (see :func:`disk_full`)
      ModelInputError      a model input the user fixes (model.base, --model-dir); also a ModelError
    ModelError             base model, training, merge, export or quantization failed (exit 1)
    ServerError            llama.cpp server unreachable or failing (exit 1)
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from collections.abc import Iterator

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class PipelineError(Exception):
    """Bad input or a failed stage; ``str(exc)`` is one line naming the file/key and the fix.

    Attributes:
        exit_code: process exit status the CLI uses (2 = bad input, 1 = stage failure).
    """

    exit_code = 2


class ConfigError(PipelineError, ValueError):
    """A config file cannot be read or does not validate (exit 2).

    The message names the file and lists every offending dotted key with the fix.
    """


class ResumeError(PipelineError):
    """The resume file cannot be read or holds too little to build a dataset."""


class DatasetError(PipelineError):
    """Dataset generation or loading failed (missing dataset, malformed eval set, ...)."""


class InputError(PipelineError):
    """Something to fix in the input or the setup that no more specific class covers (exit 2):
    a wrong command-line argument, a local file or cache entry that is missing, a full disk."""

    exit_code = 2  # set here, not inherited: a subclass that is also a ModelError keeps exit 2


class DiskFullError(InputError):
    """No space left on the device (ENOSPC) or the disk quota is exceeded (EDQUOT); exit 2.

    Build it with :func:`disk_full`, which names the path and the fix.
    """


class ModelError(PipelineError):
    """Base model resolution, training, merge, export or quantization failed."""

    exit_code = 1


class ModelInputError(InputError, ModelError):
    """A model input the user fixes (``model.base``, ``--model-dir``, ``--variant``): exit 2.

    Also a :class:`ModelError`, so code that handles model failures handles these too.
    """


class ServerError(PipelineError):
    """The llama.cpp server is unreachable, unhealthy, or kept failing past the retry budget."""

    exit_code = 1


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError for a full disk (ENOSPC) or an exceeded quota (EDQUOT)."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def disk_full(exc: OSError, path: str | os.PathLike[str] | None, *, what: str = "",
              rerun: str = "rerun the command") -> DiskFullError:
    """The one-line :class:`DiskFullError` for a disk-full ``exc`` while writing ``path``.

    Args:
        exc: the OSError (errno ENOSPC or EDQUOT).
        path: what was being written (a file, or a description like "the artifact under X");
            ``None`` falls back to ``exc.filename``.
        what: optional prefix naming the stage (``"merged"`` → ``"merged: disk full ..."``).
        rerun: the last part of the fix.
    """
    quota = exc.errno == errno.EDQUOT
    reason = "disk quota exceeded" if quota else "disk full"
    target = path if path is not None else exc.filename
    where = f" while writing {target}" if target is not None else " while writing"
    prefix = f"{what}: " if what else ""
    fix = "free space (or raise the quota)" if quota else "free space"
    return DiskFullError(f"{prefix}{reason}{where}; {fix} or point that output setting of the config file "
                         f"at another disk, and {rerun}")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by :func:`sigterm_as_interrupt`; the CLI exits 143 (128 + 15) on it."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while inside (main thread only) so cleanup runs.

    ``timeout``, CI cancellation and ``docker stop`` send SIGTERM; without this, Python dies
    without unwinding and temporary artifact folders stay behind. Raises :class:`Terminated`
    (a ``KeyboardInterrupt``, so every Ctrl-C cleanup path also runs for it).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
