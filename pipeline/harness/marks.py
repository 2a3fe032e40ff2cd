"""What a ``-m`` expression selects among the gates' marks (``smoke``, ``full``, ``latency``).

Every gate carries both ``smoke`` and ``full`` (and latency gates ``latency``), so the sample
size of a ``pytest evals -m EXPR`` run is read off ``EXPR`` by evaluating it over the truth
assignments of its mark names (pytest's own expression parser, ``_pytest.mark.expression``).
"""

from __future__ import annotations

import itertools
import re


def _satisfiable(expr, others: list[str], fixed: dict[str, bool]) -> bool:
    """Whether some truth assignment of ``others`` makes ``expr`` true given ``fixed``."""
    for values in itertools.product((False, True), repeat=len(others)):
        truth = {**dict(zip(others, values, strict=True)), **fixed}
        if expr.evaluate(lambda name, _t=truth, **_: _t.get(name, False)):
            return True
    return False


def _other_marks(markexpr: str, fixed: set[str]) -> list[str]:
    """The mark names in ``markexpr`` other than ``fixed`` (at most 10, for truth tables)."""
    return sorted(set(re.findall(r"[A-Za-z_][\w.-]*", markexpr)) - {"and", "or", "not", *fixed})[:10]


def selected_sizes(markexpr: str) -> set[str]:
    """Which of smoke/full the ``-m`` expression selects (gate items carry both marks).

    Empty: no size chosen (no ``-m``, or an expression such as ``not slow`` or ``latency``
    that holds without either mark); both: a conflict (``smoke or full``, ``smoke and full``).
    """
    if not markexpr.strip():
        return set()
    from _pytest.mark.expression import Expression

    expr = Expression.compile(markexpr)
    others = _other_marks(markexpr, {"smoke", "full"})
    def sat(smoke: bool, full: bool) -> bool:
        return _satisfiable(expr, others, {"smoke": smoke, "full": full})

    if sat(False, False):  # e.g. "not slow", "latency": no size chosen
        return set()
    alone = {size for size, ok in (("smoke", sat(True, False)), ("full", sat(False, True))) if ok}
    if len(alone) == 1:
        return alone
    return {"smoke", "full"} if sat(True, True) else set()


def only_latency(markexpr: str) -> bool:
    """Whether the ``-m`` expression selects latency gates and nothing else."""
    if "latency" not in markexpr:
        return False
    from _pytest.mark.expression import Expression

    expr = Expression.compile(markexpr)
    others = _other_marks(markexpr, {"latency"})
    return not _satisfiable(expr, others, {"latency": False})
