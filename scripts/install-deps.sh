#!/usr/bin/env bash
# Install what hotline's PDFs and tests need, when missing: Noto CJK fonts and poppler-utils
# (Debian packages), the pinned typst-cli (from crates.io, ~15 min to build once), and DuckDB's
# Python package for the differential tests (tests/it/difftest.rs).
set -euo pipefail
TYPST_VERSION=0.15.1
DUCKDB_VERSION=2.0.1

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
python="${HOTLINE_PYTHON:-python3}"
if ! "$python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
  echo "install-deps: installing duckdb $DUCKDB_VERSION for $python (pip)" >&2
  command -v "$python" >/dev/null 2>&1 || { $SUDO apt-get install -y -qq python3 python3-pip >/dev/null; }
  "$python" -m pip install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION" 2>/dev/null \
    || "$python" -m pip install --quiet --disable-pip-version-check --user --break-system-packages "duckdb==$DUCKDB_VERSION"
fi
echo "install-deps: fonts, poppler-utils, typst $TYPST_VERSION and duckdb $DUCKDB_VERSION are present" >&2
