#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh Debian machine, then runs it.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
command -v umoci >/dev/null 2>&1 || need_apt+=(umoci)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v buildah >/dev/null 2>&1 || need_apt+=(buildah)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The request-shape tests send uploads with curl's own default headers (Expect: 100-continue).
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# The auth interop tests check our tokens, hashes and ciphertexts with the Python libraries Quay uses.
/usr/bin/python3 -c 'import jwt' >/dev/null 2>&1 || need_apt+=(python3-jwt)
/usr/bin/python3 -c 'import bcrypt' >/dev/null 2>&1 || need_apt+=(python3-bcrypt)
/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 || need_apt+=(python3-cryptography)
# The dashboard test drives Debian's Chromium with playwright-core (no browser is downloaded).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# node-gyp builds the native SHA-256 block function and better-sqlite3 at npm ci.
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The real Python Quay (the python owner of test/e2e/quay-python-owner.test.ts) runs from
# ../shared/quay-python on Debian's packages; its script installs them (about 3 min the first time).
QUAY_PYTHON=${QUAY_PYTHON_DIR:-../shared/quay-python}
[ -f "$QUAY_PYTHON/install-deps.sh" ] || QUAY_PYTHON=/work/shared/quay-python
if ! /usr/bin/python3 -c 'import peewee, flask, gunicorn, gevent, authlib, alembic' >/dev/null 2>&1; then
  [ -f "$QUAY_PYTHON/install-deps.sh" ] || { echo "real Quay is not at ../shared/quay-python or $QUAY_PYTHON (set QUAY_PYTHON_DIR)" >&2; exit 1; }
  echo "==> installing real Quay's Debian packages ($QUAY_PYTHON/install-deps.sh)"
  bash "$QUAY_PYTHON/install-deps.sh" >/dev/null
fi
# Debian's nginx and docker-registry packages may start system services; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx docker-registry >/dev/null 2>&1 || true; fi

# Redis (upload pins shared between switchboard nodes) on 127.0.0.1:6379.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "==> starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi
(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }

echo "==> npm ci"
npm ci --no-audit --no-fund

echo "==> typecheck"
npx tsc -p tsconfig.json --noEmit

echo "==> format (prettier --check; npm run format rewrites)"
npx prettier --check . >/dev/null || { npx prettier --list-different . >&2; echo "these files are not formatted: run npm run format" >&2; exit 1; }

echo "==> tests"
out=$(mktemp)
set +e
npx tap --reporter=tap --disable-coverage | tee "$out"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for CI, from tap's summary `# { total: N, pass: P, fail: F, ... }`.
summary=$(grep -E '^# \{ total:' "$out" | tail -1 || true)
pass=$(printf '%s' "$summary" | grep -oE 'pass: [0-9]+' | grep -oE '[0-9]+' || true)
fail=$(printf '%s' "$summary" | grep -oE 'fail: [0-9]+' | grep -oE '[0-9]+' || true)
rm -f "$out"
echo "${pass:-0} passed, ${fail:-0} failed"
exit "$status"
