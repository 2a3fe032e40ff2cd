"""The one exception family the CLI turns into a clear message and a non-zero exit.

Every error raised on bad input (a missing or corrupt file, a wrong key, a server that is
down) is a :class:`PipelineError` whose message names the file or key and the fix.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


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


class ModelError(PipelineError):
    """Base model resolution, training, merge, export or quantization failed."""

    exit_code = 1


class ServerError(PipelineError):
    """The llama.cpp server is unreachable, unhealthy, or kept failing past the retry budget."""

    exit_code = 1


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
