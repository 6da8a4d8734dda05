#!/usr/bin/env bash
# The README's test command: static checks first (fast), then unit/contract, then end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# nats-server: the NATS store tests; chromium: the dashboard's browser tests (test/e2e/dashboard.test.ts).
bash scripts/ensure-system-deps.sh nats-server chromium
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint";      npm run --silent lint
echo "== build";     npm run --silent build
echo "== tests";     npx vitest run
