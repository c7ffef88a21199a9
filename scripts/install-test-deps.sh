#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Idempotent; safe to run often.
# - rustfmt and clippy (shipped with the toolchain image; checked only)
# - Debian's chromium and chromium-driver, for the browser test of the web UI
set -euo pipefail
for tool in rustfmt clippy-driver; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! cargo "${tool%-driver}" --version >/dev/null 2>&1; then
    echo "missing $tool: install it with 'rustup component add ${tool%-driver}'" >&2
    exit 1
  fi
done
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version
chromedriver --version
