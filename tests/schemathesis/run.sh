#!/usr/bin/env bash
# Schema-driven fuzzing of the REST API against its own OpenAPI document, with schemathesis.
#
#   tests/schemathesis/run.sh            # on a fresh SQLite database
#   tests/schemathesis/run.sh postgres   # on a fresh PostgreSQL database, with Redis
#
# `postgres` creates a database of its own (dropped at the end) on the server of
# KKTBOT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; psql is needed) and
# uses Redis at KKTBOT_TEST_REDIS_URL (default redis://127.0.0.1:6379) under a key prefix of its own.
#
# Starts the real kktbot binary (KKTBOT_BIN, default: `cargo build` and target/debug/kktbot) on a
# free port with an administrator whose password this script chose, signs in as them, and runs
# schemathesis over every operation of the document the server serves (GET /api/openapi.json)
# with the checks not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance. Any failure (a 5xx, a status the document does not list, a body
# that breaks its schema or content type) fails the script.
#
# The administrator: the fuzzer cannot end its own session. Deactivating, demoting or resetting
# oneself is refused by the API (422), a password change needs the current password (never
# generated), and POST /api/auth/logout only clears the cookie (a bearer token stays valid), so
# no operation is excluded and no re-login is needed. The run's time is bounded by
# SCHEMATHESIS_MAX_EXAMPLES per operation and SCHEMATHESIS_MAX_TIME seconds in all.
#
# schemathesis comes from PyPI into a virtual environment (SCHEMATHESIS_VENV, default
# target/schemathesis-venv, or under CARGO_TARGET_DIR), kept for the next run.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
venv=${SCHEMATHESIS_VENV:-$target_dir/schemathesis-venv}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-30}
max_time=${SCHEMATHESIS_MAX_TIME:-120}
report_dir=${SCHEMATHESIS_REPORT_DIR:-$target_dir/schemathesis-report}

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "schemathesis: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

bin=${KKTBOT_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q --bin kktbot
  bin=$target_dir/debug/kktbot
fi

backend=${1:-sqlite}
work=$(mktemp -d)
server_pid=""
pg_server=""
pg_database=kktbot_schemathesis_$$
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_server" ]; then psql -q "$pg_server" -c "DROP DATABASE IF EXISTS $pg_database" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

unset DATABASE_URL REDIS_URL
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/kktbot.db?mode=rwc" ;;
  postgres)
    command -v psql >/dev/null || { echo "schemathesis: psql is needed for a PostgreSQL database" >&2; exit 1; }
    server=${KKTBOT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
    psql -q "$server" -c "CREATE DATABASE $pg_database"
    pg_server=$server
    export DATABASE_URL="${server%/*}/$pg_database"
    export REDIS_URL=${KKTBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379} REDIS_KEY_PREFIX="kktbot-schemathesis-$$:" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export API_HOST=127.0.0.1 API_PORT=$port
export JWT_SECRET_KEY=schemathesis-run-key-of-at-least-32-bytes
# Every request is the fuzzer's own: the per-IP limits would only make most answers 429.
export API_RATE_LIMIT_PER_MINUTE=1000000 LOGIN_RATE_LIMIT_PER_MINUTE=1000000
export LOG_LEVEL=${LOG_LEVEL:-warn}
unset TELEGRAM_BOT_TOKEN STATIC_DIR METRICS_TOKEN
email=schemathesis@kktbot.test
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')

(cd "$work" && "$bin" migrate up >/dev/null)
(cd "$work" && printf '%s\n' "$password" | "$bin" user create --email "$email" --role admin --name Schemathesis --password-stdin >/dev/null)
(cd "$work" && exec "$bin" serve >"$work/server.log" 2>&1) &
server_pid=$!

base=http://127.0.0.1:$port
for _ in $(seq 1 60); do
  if curl -fsS "$base/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; echo "schemathesis: kktbot exited" >&2; exit 1; fi
  sleep 0.5
done
token=$(curl -fsS "$base/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

echo "schemathesis: kktbot on $base ($backend), at most $max_examples cases per operation, $max_time s"
status=0
mkdir -p "$report_dir"
# Run in the temporary directory: schemathesis keeps a cache in its working directory. One
# worker: with two threads, Python 3.11's ast module (used by hypothesis) fails at times with
# "AST constructor recursion depth mismatch", an error of the fuzzer, not of kktbot.
hooks=$PWD/tests/schemathesis/hooks.py
(cd "$work" && SCHEMATHESIS_HOOKS=$hooks SCHEMATHESIS_STATUSES="$report_dir/statuses-$backend.json" \
  "$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$max_examples" --max-time "$max_time" --seed "${SCHEMATHESIS_SEED:-4242}" \
  --workers 1 --request-timeout 10 --suppress-health-check all --generation-database none --no-color \
  --report junit --report-dir "$report_dir") || status=$?
if [ "$status" -ne 0 ] || grep -q "panicked" "$work/server.log"; then
  echo "schemathesis: failures; the server's log:" >&2
  grep -E "ERROR|panicked" "$work/server.log" | tail -n 50 >&2 || true
  exit 1
fi
echo "schemathesis: passed"
