#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Idempotent; safe to run often.
# Today that is nothing but rustfmt and clippy, which the toolchain image ships.
set -euo pipefail
for tool in rustfmt clippy-driver; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! cargo "${tool%-driver}" --version >/dev/null 2>&1; then
    echo "missing $tool: install it with 'rustup component add ${tool%-driver}'" >&2
    exit 1
  fi
done
