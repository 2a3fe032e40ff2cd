#!/usr/bin/env bash
# Build the layout corpus: sources and truth from content/*.yaml, then the PDFs in pdf/.
#
# Run from anywhere: data/layouts/build.sh [PYTHON]   (PYTHON defaults to .venv/bin/python, else python3)
# Needs: pdflatex and xelatex with moderncv, fontawesome5, lato, paracol, Roboto and Source Sans Pro,
# plus (held-out layouts) raleway, mathdesign (Charter), mathpazo (Palatino), FiraSans and titlesec,
# and (second held-out set) sourceserifpro, helvet (Helvetica), mathptmx (Times) and longtable
# (Debian: apt-get install texlive-latex-extra texlive-fonts-extra texlive-xetex), LibreOffice Writer
# for the three Word layouts (apt-get install libreoffice-writer fonts-crosextra-carlito fonts-liberation).
# Only some stems: ONLY="deedy_like ivy_like" data/layouts/build.sh  (layout names or stems; sources
# and truth are still all rewritten).
# CI never runs this; it reads the committed PDFs. Output is reproducible (SOURCE_DATE_EPOCH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
py="${1:-}"
if [ -z "$py" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"; else py=python3; fi
fi
"$py" "$here/make_sources.py"

export SOURCE_DATE_EPOCH=1767225600 FORCE_SOURCE_DATE=1   # 2026-01-01, so rebuilt PDFs compare equal
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/pdf"
wanted() {   # is this stem in ONLY (unset: every stem)?
  [ -z "${ONLY:-}" ] && return 0
  local w
  for w in $ONLY; do case "$1" in "$w"|"$w"-*) return 0 ;; esac; done
  return 1
}
for tex in "$here"/src/*.tex; do
  stem="$(basename "$tex" .tex)"
  wanted "$stem" || continue
  engine=pdflatex
  case "$stem" in awesome_like-*) engine=xelatex ;; esac
  cp "$tex" "$work/"
  for pass in 1 2; do   # paracol, moderncv and longtable settle their layout on the second pass
    (cd "$work" && "$engine" -interaction=nonstopmode -halt-on-error "$stem.tex" > "$stem.log" 2>&1) || {
      echo "$engine failed on $tex; see the log:" >&2; tail -30 "$work/$stem.log" >&2; exit 1; }
  done
  cp "$work/$stem.pdf" "$here/pdf/$stem.pdf"
  echo "built pdf/$stem.pdf ($engine)"
done
if command -v libreoffice > /dev/null; then
  for docx in "$here"/src/*.docx; do
    wanted "$(basename "$docx" .docx)" || continue
    libreoffice --headless --convert-to pdf --outdir "$work" "$docx" > /dev/null 2>&1
    cp "$work/$(basename "$docx" .docx).pdf" "$here/pdf/"
    echo "built pdf/$(basename "$docx" .docx).pdf (LibreOffice)"
  done
else
  echo "libreoffice not found: the Word layout's PDFs were not rebuilt" >&2
fi
