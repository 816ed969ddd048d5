#!/usr/bin/env bash
# Install what hotline's PDFs and tests need, when missing: Noto CJK fonts and poppler-utils
# (Debian packages), and the pinned typst-cli (from crates.io, ~15 min to build once).
set -euo pipefail
TYPST_VERSION=0.15.1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_missing=()
if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 \
   && [ -z "${HOTLINE_FONT_PATH:-}" ]; then
  apt_missing+=(fonts-noto-cjk)
fi
command -v pdftotext >/dev/null 2>&1 || apt_missing+=(poppler-utils)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${apt_missing[*]} (apt-get)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

typst_bin="${TYPST_BIN:-$(command -v typst || echo "$HOME/.cargo/bin/typst")}"
if ! "$typst_bin" --version 2>/dev/null | grep -q "typst $TYPST_VERSION"; then
  echo "install-deps: installing typst-cli $TYPST_VERSION (cargo install, takes ~15 minutes once)" >&2
  # a target dir of its own, so the project's CARGO_TARGET_DIR is not filled with typst's build
  CARGO_TARGET_DIR="${HOME}/.cache/typst-cli-build" cargo install --locked --quiet "typst-cli@$TYPST_VERSION"
fi
echo "install-deps: fonts, poppler-utils and typst $TYPST_VERSION are present" >&2
