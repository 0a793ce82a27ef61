#!/usr/bin/env bash
# Quick start on the embedded default: installs, builds, and shows the owner
# decisions of the example config (examples/config.yaml). The proxy itself
# (`switchboard serve`, mirror mode) lands with the edge-proxy work.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund >/dev/null
export SWITCHBOARD_CONFIG=examples/config.yaml
echo "\$ switchboard config validate"
./bin/switchboard.js config validate
echo
echo "\$ switchboard owners list --family REGISTRY_V2"
./bin/switchboard.js owners list --family REGISTRY_V2
echo
echo "\$ switchboard owners --explain GET /v2/test-org/web/manifests/latest"
./bin/switchboard.js owners --explain GET /v2/test-org/web/manifests/latest
