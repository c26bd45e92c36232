#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds (CUDA code included
# when the toolkit is present), and runs every test. GPU tests skip without a device.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
