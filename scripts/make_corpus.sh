#!/usr/bin/env bash
# Build the content-network photo corpus from Debian packages that ship photographs.
#
#   scripts/make_corpus.sh [OUT_DIR]        (default /root/nps-data/photos; needs root for apt)
#
# Installs the packages below (no recommends), keeps only natural photographs (renders,
# drawings and logos are dropped by the reviewed list in scripts/corpus_exclude.txt), and
# writes OUT_DIR/train, OUT_DIR/val (fixed ~10% split by file SHA-1) and OUT_DIR/manifest.tsv.
# TEXTURE_PACKAGES (mostly game art) contribute only the files in the reviewed allow-list
# scripts/corpus_include.txt, always to train/ (val/ stays the fixed held-out split), with a
# shorter-side minimum of 256 instead of 400.
# Never add mate-backgrounds or gnome-backgrounds (evaluation-only photos).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="${1:-/root/nps-data/photos}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PACKAGES=(
  plasma-workspace-wallpapers
  lomiri-wallpapers
  lomiri-wallpapers-16.04
  lomiri-wallpapers-20.04
  lxqt-themes
  palapeli-data
  ukui-wallpapers
  sway-backgrounds
)
TEXTURE_PACKAGES=(
  supertuxkart-data
  hugin-data
)
# ukui-wallpapers and sway-backgrounds were reviewed and hold no photographs (every file is in
# the exclude list); they stay listed so the review is reproducible.
if [ "${SKIP_APT:-0}" != "1" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" "${TEXTURE_PACKAGES[@]}"
fi
# TEXTURE_PACKAGES come last so that de-duplication by content hash cannot change the others.
"$PY" "$HERE/corpus_collect.py" --out "$OUT" --packages "${PACKAGES[@]}" "${TEXTURE_PACKAGES[@]}" \
  --exclude-file "$HERE/corpus_exclude.txt" --contact-sheet "$OUT/contact_sheet.jpg" \
  --include-file "$HERE/corpus_include.txt" \
  --train-only-packages "${TEXTURE_PACKAGES[@]}" --train-only-min-side 256
