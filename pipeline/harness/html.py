"""``report.html``: the gate report as one self-contained page (no scripts or styles fetched).

Written beside ``summary.md`` by :func:`pipeline.harness.report.write_report`. One table per
variant with every metric, its n, 95% interval, threshold and verdict; below, every case of
the run in one table that a small inline script filters by variant, set, category and
"failing only". Every number is also an element with a ``data-metric`` attribute
(``<variant>/<metric>``) holding the value as in ``metrics.json``, which the Chromium test
(``tests/test_report_html.py``) reads back.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:80rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;
font-size:.85rem;vertical-align:top}th{background:#f3f3f3}.PASS{color:#17702f;font-weight:600}
.FAIL{color:#b00020;font-weight:600}.noise{color:#8a6d00}.resp{max-width:28rem}
"""

_SCRIPT = """
function applyFilters(){
  const v=document.getElementById('f-variant').value, s=document.getElementById('f-set').value,
        c=document.getElementById('f-category').value, bad=document.getElementById('f-failing').checked;
  let shown=0;
  for(const row of document.querySelectorAll('#cases tbody tr')){
    const ok=(!v||row.dataset.variant===v)&&(!s||row.dataset.set===s)&&(!c||row.dataset.category===c)
             &&(!bad||row.dataset.passed==='false');
    row.style.display=ok?'':'none'; if(ok) shown++;
  }
  document.getElementById('shown').textContent=shown;
}
for(const id of ['f-variant','f-set','f-category','f-failing'])
  document.getElementById(id).addEventListener('change',applyFilters);
applyFilters();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def _options(label: str, ident: str, values: Sequence[str]) -> str:
    opts = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
    return f'<label>{label} <select id="{ident}"><option value="">all</option>{opts}</select></label> '


def render_html(payload: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> str:
    """The page for one report.

    Args:
        payload: the ``metrics.json`` payload (``variants``, ``thresholds``, ``intervals``,
            ``variant_verdicts``, ``overall``, ``created``, ``profile``, ``sample``).
        cases: one dict per (variant, case), as written to ``cases.jsonl``.

    Returns:
        The HTML text (UTF-8, self-contained).
    """
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Evaluation report "
           f"{_e(payload['created'])}</title><style>{_STYLE}</style></head><body>",
           f"<h1>Evaluation report: <span class='{_e(payload['overall'])}' id='overall'>{_e(payload['overall'])}"
           f"</span></h1><p>profile <code>{_e(payload['profile'])}</code>, sample <code>{_e(payload['sample'])}"
           f"</code>, {payload['n_cases']} cases per variant, created {_e(payload['created'])}. Intervals are 95% "
           "bootstrap intervals over the cases; <span class='noise'>within noise</span> marks a gate whose interval "
           "contains its threshold.</p>"]
    for variant, row in payload["variants"].items():
        verdict = payload["variant_verdicts"].get(variant, "n/a")
        checks = payload["thresholds"].get(variant, {})
        ints = payload.get("intervals", {}).get(variant, {})
        out.append(f"<h2>{_e(variant)}: <span class='{_e(verdict)}'>{_e(verdict)}</span></h2><table><thead><tr>"
                   "<th>metric</th><th>value</th><th>n</th><th>95% CI</th><th>threshold</th><th>verdict</th>"
                   "</tr></thead><tbody>")
        for metric, value in row.items():
            info = ints.get(metric, {})
            ci = info.get("ci")
            verdict_cell, limit = "", ""
            if metric in checks:
                kind, bound = checks[metric]
                limit = f"{'≥' if kind == 'min' else '≤'} {_num(bound)}"
                if value is not None:
                    ok = value >= bound if kind == "min" else value <= bound
                    noise = bool(ci) and ci[0] <= bound <= ci[1]
                    verdict_cell = (f"<span class='{'PASS' if ok else 'FAIL'}'>{'PASS' if ok else 'FAIL'}</span>"
                                    + (" <span class='noise'>within noise</span>" if noise else ""))
            ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a"
            value_json = json.dumps(value)
            out.append(f"<tr><td>{_e(metric)}</td><td data-metric='{_e(variant)}/{_e(metric)}' "
                       f"data-value='{_e(value_json)}'>{_num(value)}</td><td>{_num(info.get('n'))}</td>"
                       f"<td>{ci_text}</td><td>{limit}</td><td>{verdict_cell}</td></tr>")
        out.append("</tbody></table>")
    variants = sorted({c["variant"] for c in cases})
    sets = sorted({c["set"] for c in cases})
    categories = sorted({c["category"] for c in cases})
    out.append("<h2>Cases</h2><p>" + _options("variant", "f-variant", variants) + _options("set", "f-set", sets)
               + _options("category", "f-category", categories)
               + "<label><input type='checkbox' id='f-failing'> failing only</label> — <span id='shown'></span> "
               "shown</p><table id='cases'><thead><tr><th>variant</th><th>set/id</th><th>category</th><th>question"
               "</th><th>reference</th><th>response</th><th>scores</th><th>reasons</th></tr></thead><tbody>")
    for c in cases:
        scores = ", ".join(f"{k}={_num(v)}" for k, v in c["scores"].items() if v is not None)
        out.append(f"<tr data-variant='{_e(c['variant'])}' data-set='{_e(c['set'])}' "
                   f"data-category='{_e(c['category'])}' data-passed='{str(c['passed']).lower()}'>"
                   f"<td>{_e(c['variant'])}</td><td>{_e(c['set'])}/{_e(c['id'])}</td><td>{_e(c['category'])}</td>"
                   f"<td>{_e(c['question'])}</td><td>{_e(c['reference'])}</td><td class='resp'>{_e(c['response'])}"
                   f"</td><td>{_e(scores)}</td><td>{_e('; '.join(c['reasons']))}</td></tr>")
    out.append(f"</tbody></table><script>{_SCRIPT}</script></body></html>")
    return "\n".join(out)
