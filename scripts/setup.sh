#!/usr/bin/env bash
# From a fresh clone to the demo report: install what is missing, build, generate the demo
# archive (two years, ~1.2 million tickets) and write the 2025 annual report to output/2025/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Reuse a persistent build folder when this machine has one (a clean release build of DataFusion
# takes ~25 min on 2 cores); otherwise cargo builds into ./target as usual.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/hotline-target" ]; then
  export CARGO_TARGET_DIR="$HOME/.cache/hotline-target"
fi
bash scripts/install-deps.sh
cargo build --release --locked
cargo run --release --locked --quiet -- generate
cargo run --release --locked --quiet -- report --period 2025
echo "setup: done — open output/2025/report.pdf" >&2
