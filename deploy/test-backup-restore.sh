#!/usr/bin/env bash
# Backup → restore round trip of deploy/backup/ on a real PostgreSQL (run by deploy/check.sh).
#
#  1. creates a temporary source database and fills it: kktbot's own schema and reference data
#     (kktbot migrate up, plus rows made with `kktbot user create` and `kktbot admin add`) when
#     KKTBOT_BIN names a built kktbot; always a set of plain-SQL tables with unicode, NULLs,
#     dates, timestamps, numerics, jsonb, bytea, foreign keys and id gaps
#  2. kktbot-backup.sh writes a dump into a temporary directory; its rotation removes an old
#     dump and keeps a recent one and a foreign file
#  3. kktbot-restore.sh --yes restores it into a second, empty database; then again over a
#     changed copy (the --clean path)
#  4. every table's row count and content checksum (md5 of all rows, sorted), every sequence
#     and the schema (pg_dump --schema-only) must match the source; the comparison is shown to
#     notice a change
#  5. failures must fail: a backup of a missing database exits non-zero and leaves nothing
#     behind; a restore without --yes and without a terminal, or of a non-dump file, refuses
# Both databases are dropped at the end, whatever happens.
#
# PostgreSQL: TEST_PG_HOST/TEST_PG_PORT/TEST_PG_USER (default 127.0.0.1, 5432, postgres; trust
# or ~/.pgpass authentication). Not reachable: SKIPPED, or a failure with CI=true.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PGHOST=${TEST_PG_HOST:-127.0.0.1}
export PGPORT=${TEST_PG_PORT:-5432}
export PGUSER=${TEST_PG_USER:-postgres}
BACKUP=deploy/backup/kktbot-backup.sh
RESTORE=deploy/backup/kktbot-restore.sh

log() { printf 'backup-restore: %s\n' "$*"; }
fail() {
  printf 'backup-restore: FAILED: %s\n' "$*" >&2
  exit 1
}

if ! pg_isready -q -t 5; then
  if [ "${CI:-}" = true ]; then fail "PostgreSQL on $PGHOST:$PGPORT does not answer"; fi
  log "SKIPPED: PostgreSQL on $PGHOST:$PGPORT does not answer"
  exit 0
fi

suffix="$$_$RANDOM"
src=kktbot_rt_src_$suffix
dst=kktbot_rt_dst_$suffix
tmp=$(mktemp -d)
admin() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
on() {
  local db=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}
private_pg=""   # the data directory of the private cluster of step 6, while it runs
cleanup() {
  local status=$?
  if [ -n "$private_pg" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$private_pg/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$private_pg"
  fi
  admin -c "DROP DATABASE IF EXISTS $src WITH (FORCE)" -c "DROP DATABASE IF EXISTS $dst WITH (FORCE)" ||
    status=1
  rm -rf "$tmp"
  if [ "$status" = 0 ]; then log "dropped $src and $dst"; fi
  exit "$status"
}
trap cleanup EXIT

log "PostgreSQL $(psql -X -d postgres -Atc 'SHOW server_version'), $(pg_dump --version)"
log "creating $src and $dst"
admin -c "CREATE DATABASE $src ENCODING 'UTF8' TEMPLATE template0" \
  -c "CREATE DATABASE $dst ENCODING 'UTF8' TEMPLATE template0"

# --- 1. the source ---------------------------------------------------------------------------
if [ -n "${KKTBOT_BIN:-}" ]; then
  [ -x "$KKTBOT_BIN" ] || fail "KKTBOT_BIN=$KKTBOT_BIN is not executable"
  bin=$(cd "$(dirname "$KKTBOT_BIN")" && pwd)/$(basename "$KKTBOT_BIN")
  kktbot() { # only DATABASE_URL set; run from an empty directory so no .env is read
    (cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" LOG_LEVEL=warn \
      DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$src" "$bin" "$@")
  }
  log "kktbot migrate up ($KKTBOT_BIN)"
  kktbot migrate up
  log "kktbot user create / admin add"
  printf 'correct horse battery staple 42\n' |
    kktbot user create --email rt-admin@example.com --role admin --name 'Тест Тестович' --password-stdin >/dev/null
  kktbot user create --email rt-operator@example.com --role operator >/dev/null
  kktbot admin add 777000 --name 'Иван «Админ» Петров' >/dev/null
else
  log "KKTBOT_BIN not set: plain SQL tables only"
fi

log "plain SQL tables"
on "$src" <<'SQL'
CREATE TABLE rt_clients (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  inn varchar(12),
  phone text,
  created_at timestamptz NOT NULL DEFAULT now(),
  is_active boolean NOT NULL DEFAULT true,
  balance numeric(12, 2)
);
CREATE TABLE rt_registers (
  id serial PRIMARY KEY,
  client_id bigint NOT NULL REFERENCES rt_clients (id) ON DELETE CASCADE,
  serial_number text NOT NULL UNIQUE,
  fn_expires_on date,
  ofd_paid_until date,
  settings jsonb,
  photo bytea
);
CREATE TABLE rt_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  register_id int REFERENCES rt_registers (id),
  kind text NOT NULL CHECK (kind <> ''),
  at timestamp(3) NOT NULL,
  note text
);
CREATE INDEX rt_events_register_at ON rt_events (register_id, at);
CREATE VIEW rt_active_clients AS SELECT id, name FROM rt_clients WHERE is_active;

INSERT INTO rt_clients (name, inn, phone, created_at, is_active, balance) VALUES
  ('ООО «Ромашка»', '7701234567', '+7 495 123-45-67', '2024-02-29 23:59:59+03', true, 1234.50),
  ('ИП Иванов И. И.', NULL, NULL, '1999-12-31 00:00:00+00', false, NULL),
  ('Café “Zürich” 😀 — ёЁ', '', E'tab\there', '2025-06-01 12:00:00.123456+05', true, -0.01),
  ('quote '' backslash \ newline' || E'\n' || 'end', '123456789012', NULL, '2038-01-19 03:14:08+00', true, 0);
INSERT INTO rt_clients (name, inn, created_at, balance)
  SELECT 'Клиент №' || g, lpad(g::text, 10, '0'), timestamptz '2025-01-01 00:00+03' + g * interval '1 hour', g * 1.25
  FROM generate_series(1, 200) g;
INSERT INTO rt_registers (client_id, serial_number, fn_expires_on, ofd_paid_until, settings, photo)
  SELECT (g % 204) + 1, 'SN-' || lpad(g::text, 6, '0'), date '2025-01-01' + g,
         CASE WHEN g % 3 = 0 THEN NULL ELSE date '2026-06-30' END,
         jsonb_build_object('model', 'АТОЛ ' || g, 'ffd', '1.2', 'n', g, 'tags', jsonb_build_array('a', g % 2 = 0)),
         CASE WHEN g % 5 = 0 THEN decode(md5(g::text), 'hex') END
  FROM generate_series(1, 300) g;
INSERT INTO rt_events (register_id, kind, at, note)
  SELECT (g % 300) + 1, (ARRAY['fn_replaced', 'ofd_paid', 'repair'])[g % 3 + 1],
         timestamp '2025-03-01 10:00' + g * interval '17 minutes 1.5 seconds',
         CASE WHEN g % 7 = 0 THEN NULL ELSE 'заметка ' || g END
  FROM generate_series(1, 1000) g;
DELETE FROM rt_events WHERE id % 10 = 0;  -- gaps: the sequence is ahead of max(id)
SQL

# snapshot DB: one line per table (rows and an md5 of every row as text, sorted bytewise) and
# per sequence (last value); the same for both databases means the same data.
snapshot() {
  local db=$1 table
  on "$db" -At -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                   WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" |
    while IFS= read -r table; do
      printf 'table %s ' "$table"
      on "$db" -At -F ' ' -c "SELECT count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE \"C\"), ''))
                              FROM $table t"
    done
  on "$db" -At -F ' ' -c "SELECT 'sequence', format('%I.%I', schemaname, sequencename), coalesce(last_value::text, 'unused')
                          FROM pg_sequences ORDER BY 2"
}
schema() { # the structure, without the lines that differ between any two dumps
  pg_dump --schema-only --no-owner --no-privileges -d "$1" | grep -Ev '^\\(un)?restrict '
}

snapshot "$src" >"$tmp/src.snapshot"
tables=$(grep -c '^table ' "$tmp/src.snapshot")
rows=$(awk '$1 == "table" { n += $3 } END { print n }' "$tmp/src.snapshot")
log "source: $tables tables, $rows rows"
if [ "$tables" -lt 3 ] || [ "$rows" -le 1000 ]; then fail "the source was not filled"; fi

# --- 2. backup -------------------------------------------------------------------------------
# The URL handling alone first: the password leaves the command line for a private pgpass file,
# percent-decoded and escaped; kktbot-only parameters are dropped, libpq's kept.
log "DATABASE_URL parsing (the scripts' shared block)"
sed -n '/^# >>> shared/,/^# <<< shared/p' "$BACKUP" >"$tmp/shared.sh"
# shellcheck disable=SC2034,SC2317 # WORK_DIR and log are used by the sourced block
(
  log() { :; }
  fail() { echo "$*" >&2; exit 1; }
  # shellcheck source=/dev/null
  . "$tmp/shared.sh"
  WORK_DIR=$(mktemp -d "$tmp/work.XXXXXX")
  pg_target 'postgresql://kkt%5Fuser:p%40ss%3Aw%2Frd%5C@db.example.com:6543/kkt_db?sslmode=require&statement_cache_capacity=0&application_name=x'
  [ "$PG_URI" = 'postgresql://kkt%5Fuser@db.example.com:6543/kkt_db?sslmode=require&application_name=x' ] ||
    fail "PG_URI is '$PG_URI'"
  [ "$(cat "$PGPASSFILE")" = $'*:*:*:*:p@ss\\:w/rd\\\\' ] || fail "the pgpass line is '$(cat "$PGPASSFILE")'"
  pg_target 'postgres://localhost/kkt'
  [ "$PG_URI" = 'postgresql://localhost/kkt' ] && [ ! -s "$PGPASSFILE" ] || fail "no-password URL: '$PG_URI'"
) || fail "DATABASE_URL parsing"

mkdir -p "$tmp/backups"
touch -d '20 days ago' "$tmp/backups/kktbot-20000101-000000.dump" "$tmp/backups/notes.txt"
touch -d '3 days ago' "$tmp/backups/kktbot-20000102-000000.dump"
# A password (ignored by trust authentication) with escaped characters, quotes around the
# value and a parameter that is kktbot's, not libpq's: the URL handling is exercised too.
printf '# test\nDATABASE_URL="postgres://%s:s3cr%%40t%%3Apw@%s:%s/%s?sslmode=disable&statement_cache_capacity=0"\n' \
  "$PGUSER" "$PGHOST" "$PGPORT" "$src" >"$tmp/src.env"
log "kktbot-backup.sh"
bash "$BACKUP" --env-file "$tmp/src.env" --dir "$tmp/backups" --keep-days 14
mapfile -t dumps < <(find "$tmp/backups" -name 'kktbot-*.dump' -newer "$tmp/src.env")
[ "${#dumps[@]}" = 1 ] || fail "expected one new dump, found ${#dumps[@]}"
dump=${dumps[0]}
[[ $(basename "$dump") =~ ^kktbot-[0-9]{8}-[0-9]{6}\.dump$ ]] || fail "unexpected name $dump"
[ "$(stat -c %a "$dump")" = 600 ] || fail "$dump has mode $(stat -c %a "$dump"), not 600"
[ ! -e "$tmp/backups/kktbot-20000101-000000.dump" ] || fail "rotation kept a 20-day-old dump"
[ -e "$tmp/backups/kktbot-20000102-000000.dump" ] || fail "rotation removed a 3-day-old dump"
[ -e "$tmp/backups/notes.txt" ] || fail "rotation removed a file that is not a backup"
log "dump $(basename "$dump"): mode 600; rotation removed the 20-day-old dump only"

# --- 3. restore, 4. compare ------------------------------------------------------------------
printf 'DATABASE_URL=postgres://%s@%s:%s/%s\n' "$PGUSER" "$PGHOST" "$PGPORT" "$dst" >"$tmp/dst.env"
compare() { # compare WHAT: the destination against the source
  snapshot "$dst" >"$tmp/dst.snapshot"
  schema "$src" >"$tmp/src.schema"
  schema "$dst" >"$tmp/dst.schema"
  diff -u "$tmp/src.snapshot" "$tmp/dst.snapshot" >&2 || return 1
  diff -u "$tmp/src.schema" "$tmp/dst.schema" >&2 || return 1
}

log "kktbot-restore.sh --yes into the empty $dst"
bash "$RESTORE" --yes --no-service --env-file "$tmp/dst.env" "$dump"
compare || fail "the restored database differs from the source (diff above)"
log "restored = source: every table's row count and checksum, sequences and schema"

log "changing $dst (deleted, updated and inserted rows), which the comparison must notice"
on "$dst" -c "DELETE FROM rt_events WHERE id < 50" \
  -c "UPDATE rt_clients SET name = name || '!' WHERE id = 1" \
  -c "INSERT INTO rt_clients (name) VALUES ('лишний')"
if compare 2>/dev/null; then fail "the comparison did not notice the change"; fi
log "kktbot-restore.sh --yes over it (pg_restore --clean --if-exists)"
bash "$RESTORE" --yes --no-service --env-file "$tmp/dst.env" "$dump"
compare || fail "the second restore differs from the source (diff above)"
log "restored again = source"

# --- 5. failures -----------------------------------------------------------------------------
log "a restore without --yes and without a terminal must refuse"
if bash "$RESTORE" --no-service --env-file "$tmp/dst.env" "$dump" </dev/null >"$tmp/out" 2>&1; then
  fail "restore went ahead without confirmation"
fi
grep -q 'FAILED: standard input is not a terminal' "$tmp/out" || { cat "$tmp/out" >&2; fail "unexpected refusal"; }
log "a restore of a file that is not a dump must refuse"
printf 'not a dump\n' >"$tmp/bogus.dump"
if bash "$RESTORE" --yes --no-service --env-file "$tmp/dst.env" "$tmp/bogus.dump" >"$tmp/out" 2>&1; then
  fail "restore accepted a file that is not a dump"
fi
grep -q 'FAILED: .* is not a pg_dump custom-format archive' "$tmp/out" || { cat "$tmp/out" >&2; fail "unexpected refusal"; }
compare || fail "a refused restore changed the database"

log "a backup of a database that does not exist must fail and leave nothing behind"
printf 'DATABASE_URL=postgres://%s@%s:%s/%s_missing\n' "$PGUSER" "$PGHOST" "$PGPORT" "$src" >"$tmp/missing.env"
touch -d '20 days ago' "$tmp/backups/kktbot-20000103-000000.dump"
before=$(find "$tmp/backups" -type f | sort)
sleep 1 # a new second, so a new dump would get a new name
if bash "$BACKUP" --env-file "$tmp/missing.env" --dir "$tmp/backups" --keep-days 14 >"$tmp/out" 2>&1; then
  fail "the backup of a missing database exited 0"
fi
if ! grep -q 'does not exist' "$tmp/out" || ! grep -q 'FAILED: pg_dump exited with 1' "$tmp/out"; then
  cat "$tmp/out" >&2
  fail "unexpected failure output"
fi
after=$(find "$tmp/backups" -type f | sort)
[ "$before" = "$after" ] || fail "a failed backup changed the backup directory (a partial file, or rotation)"

# --- 6. password authentication, as on the server -------------------------------------------
# The shared server above trusts every local connection, so passwords are never asked there.
# A private cluster with scram-sha-256 (like Ubuntu's default for TCP) runs the production case:
# a non-superuser role owning its database, a password with URL-escaped characters, kktbot's
# migrations run as that role, backup and restore as that role; a wrong password must fail.
pgbin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
password_case="password case SKIPPED"
if [ "$(id -u)" != 0 ] || ! id -u postgres >/dev/null 2>&1 || [ ! -x "$pgbin/initdb" ]; then
  log "SKIPPED password authentication: needs root, a postgres user and initdb"
else
  private_pg=$(mktemp -d /tmp/kktbot-rt-pg.XXXXXX)
  chown postgres:postgres "$private_pg"
  superpw=$(openssl rand -hex 16)
  printf '%s\n' "$superpw" >"$private_pg/pw"
  chown postgres "$private_pg/pw"
  pport=$((40000 + RANDOM % 20000))
  log "private PostgreSQL with scram-sha-256 on 127.0.0.1:$pport"
  runuser -u postgres -- "$pgbin/initdb" -D "$private_pg/data" -U postgres --pwfile="$private_pg/pw" \
    --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$private_pg/data" -l "$private_pg/log" -w \
    -o "-p $pport -k $private_pg -c listen_addresses=127.0.0.1" start >/dev/null
  role_pw='Kk:t@b/o%t\x'     # raw; in the URL: percent-encoded
  url_pw='Kk%3At%40b%2Fo%25t%5Cx'
  PGPASSWORD=$superpw PGPORT=$pport admin -c "CREATE ROLE kkt_rt LOGIN NOSUPERUSER NOCREATEDB PASSWORD '$role_pw'" \
    -c "CREATE DATABASE kkt_rt OWNER kkt_rt" -c "CREATE DATABASE kkt_rt_copy OWNER kkt_rt"
  as_role() { PGPASSWORD=$role_pw PGPORT=$pport PGUSER=kkt_rt on "$@"; }
  url_of() { printf 'postgres://kkt_rt:%s@127.0.0.1:%s/%s' "$url_pw" "$pport" "$1"; }
  if [ -n "${KKTBOT_BIN:-}" ]; then
    log "kktbot migrate up as kkt_rt (password in DATABASE_URL)"
    (cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" LOG_LEVEL=warn DATABASE_URL="$(url_of kkt_rt)" "$bin" migrate up)
  fi
  as_role kkt_rt -c "CREATE TABLE rt_notes (id serial PRIMARY KEY, body text, at date)" \
    -c "INSERT INTO rt_notes (body, at) SELECT 'запись ' || g, date '2025-01-01' + g FROM generate_series(1, 500) g"
  printf 'DATABASE_URL=%s\n' "$(url_of kkt_rt)" >"$tmp/role.env"
  printf 'DATABASE_URL=%s\n' "$(url_of kkt_rt_copy)" >"$tmp/role-copy.env"
  mkdir "$tmp/role-backups"
  log "kktbot-backup.sh as kkt_rt"
  bash "$BACKUP" --env-file "$tmp/role.env" --dir "$tmp/role-backups"
  role_dump=$(find "$tmp/role-backups" -name 'kktbot-*.dump')
  log "kktbot-restore.sh --yes as kkt_rt, twice (the second over existing tables)"
  bash "$RESTORE" --yes --no-service --env-file "$tmp/role-copy.env" "$role_dump"
  bash "$RESTORE" --yes --no-service --env-file "$tmp/role-copy.env" "$role_dump"
  role_snapshot() { # role_snapshot DB: every table's row count and checksum
    local table
    as_role "$1" -At -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" |
      while IFS= read -r table; do
        printf '%s ' "$table"
        as_role "$1" -At -F ' ' -c "SELECT count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE \"C\"), ''))
                                    FROM $table t"
      done
  }
  diff -u <(role_snapshot kkt_rt) <(role_snapshot kkt_rt_copy) >&2 ||
    fail "password case: the restored database differs from the source (diff above)"
  log "password case: restored = source (tables: $(role_snapshot kkt_rt | wc -l))"
  printf 'DATABASE_URL=postgres://kkt_rt:wrong-password@127.0.0.1:%s/kkt_rt\n' "$pport" >"$tmp/wrong.env"
  # A directory of its own: in the first backup's second, a dump name there would already be taken.
  mkdir "$tmp/wrong-backups"
  if bash "$BACKUP" --env-file "$tmp/wrong.env" --dir "$tmp/wrong-backups" >"$tmp/out" 2>&1; then
    fail "a backup with a wrong password succeeded"
  fi
  grep -q 'password authentication failed' "$tmp/out" || { cat "$tmp/out" >&2; fail "unexpected failure output"; }
  log "password case: a wrong password fails the backup"
  password_case="password case (scram, non-superuser owner) identical too"
fi

log "OK: $tables tables, $rows rows: backup → restore → identical row counts, checksums, sequences and schema; $password_case"
