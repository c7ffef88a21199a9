#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Idempotent; safe to run often.
# - rustfmt and clippy (shipped with the toolchain image; checked only)
# - Debian's chromium and chromium-driver, for the browser test of the web UI
# - a Python venv in target/test-venv with Schemathesis, for the API fuzz test (tests/tests/api_fuzz.rs),
#   and PyMISP, jsonschema, stix2-validator and taxii2-client, for the interop tests (tests/tests/interop.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rustfmt clippy-driver; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! cargo "${tool%-driver}" --version >/dev/null 2>&1; then
    echo "missing $tool: install it with 'rustup component add ${tool%-driver}'" >&2
    exit 1
  fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_install() {
  if [[ -z $apt_updated ]]; then $sudo apt-get update -qq; apt_updated=1; fi
  $sudo apt-get install -y -qq "$@" >/dev/null
}
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt_install chromium chromium-driver
fi
chromium --version
chromedriver --version

venv=target/test-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "4.32.5"; then
  python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || apt_install python3-venv
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
fi
"$venv/bin/schemathesis" --version
# MISP's and OASIS's own tools, for the export tests (tests/tests/interop.rs).
if ! "$venv/bin/python" -c "import pymisp, jsonschema, stix2validator; assert pymisp.__version__ == '2.5.34.4'" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check "pymisp==2.5.34.4" "jsonschema==4.25.1" "stix2-validator==3.3.2"
fi
"$venv/bin/python" -c "import pymisp; print('pymisp', pymisp.__version__)"
# OASIS's TAXII 2.1 client, polling a running node (tests/tests/interop.rs).
if ! "$venv/bin/python" -c "import taxii2client; assert taxii2client.__version__ == '2.3.0'" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check "taxii2-client==2.3.0"
fi
