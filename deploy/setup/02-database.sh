#!/usr/bin/env bash
# Phase 2 — database: the PostgreSQL role and database kktbot uses, its password kept in
# /etc/kktbot/kktbot.env (DATABASE_URL), and memory settings sized to the server.
set -euo pipefail
SCRIPT_NAME=02-database
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--no-tune]

Creates (or updates) on the local PostgreSQL:
  - a login role without superuser, createdb or createrole rights (DB_USER, default kktbot)
  - a UTF-8 database owned by it (DB_NAME, default kktbot); other roles may not connect
  - DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/NAME in $KKTBOT_ENV_FILE
    (the file is created from .env.production.example when missing; mode 600, owner root)
  - /etc/postgresql/<version>/main/conf.d/50-kktbot.conf: shared_buffers = 1/4 of RAM,
    effective_cache_size = 1/2, maintenance_work_mem = 1/16 (skip with --no-tune or PG_TUNE=0);
    PostgreSQL is restarted only when that file changes

The password is, in order: DB_PASSWORD if set; the one already in DATABASE_URL in the env
file (unless it is the example's placeholder); otherwise a new random one. It must be at least
16 characters of A-Z a-z 0-9 . _ ~ - (safe in a URL without escaping).
Safe to run again: the role keeps its password, the database and its data are left alone.
EOF
}

PG_TUNE=${PG_TUNE:-1}
while [ $# -gt 0 ]; do
  case $1 in
    --no-tune) PG_TUNE=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
require_root
command -v psql >/dev/null || die "psql not found: run 01-system.sh first"

as_postgres() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"); }

log "waiting for PostgreSQL"
for _ in $(seq 1 30); do
  as_postgres -c 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
as_postgres -c 'SELECT 1' >/dev/null || die "PostgreSQL does not answer (systemctl status postgresql)"

ensure_env_file
current_url=$(env_get "$KKTBOT_ENV_FILE" DATABASE_URL)
url_user="" url_password="" url_db=""
if [[ $current_url =~ ^postgres(ql)?://([^:@/]+):([^@/]*)@[^/]+/([^?]+) ]]; then
  url_user=${BASH_REMATCH[2]}
  url_password=${BASH_REMATCH[3]}
  url_db=${BASH_REMATCH[4]}
  case $url_password in replace-with-*) url_password="" ;; esac
fi

DB_USER=${DB_USER:-${url_user:-kktbot}}
DB_NAME=${DB_NAME:-${url_db:-kktbot}}
[[ $DB_USER =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "DB_USER must be lower-case letters, digits and _: $DB_USER"
[[ $DB_NAME =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "DB_NAME must be lower-case letters, digits and _: $DB_NAME"

if [ -n "${DB_PASSWORD:-}" ]; then
  password=$DB_PASSWORD
  log "using the password from DB_PASSWORD"
elif [ -n "$url_password" ]; then
  password=$url_password
  log "using the password already in $KKTBOT_ENV_FILE"
else
  password=$(random_hex 24)
  log "generated a new database password (kept only in $KKTBOT_ENV_FILE)"
fi
[[ $password =~ ^[A-Za-z0-9._~-]{16,}$ ]] ||
  die "the database password must be at least 16 characters of A-Z a-z 0-9 . _ ~ -"

# The statements go through standard input, so the password never shows in a process list.
# The names and the password were checked above against a character set that needs no quoting.
if [ "$(as_postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" = 1 ]; then
  log "role $DB_USER exists: making sure it can log in with the configured password"
  verb=ALTER
else
  log "creating role $DB_USER"
  verb=CREATE
fi
as_postgres <<SQL
$verb ROLE $DB_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '$password';
SQL

if [ "$(as_postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" = 1 ]; then
  owner=$(as_postgres -Atc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB_NAME'")
  log "database $DB_NAME exists (owner $owner): left as it is"
  [ "$owner" = "$DB_USER" ] || warn "database $DB_NAME is owned by $owner, not $DB_USER"
else
  log "creating database $DB_NAME (UTF-8, owner $DB_USER)"
  as_postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
fi
log "only $DB_USER (and superusers) may connect to $DB_NAME"
as_postgres -c "REVOKE CONNECT, TEMPORARY ON DATABASE $DB_NAME FROM PUBLIC" \
  -c "GRANT CONNECT, TEMPORARY ON DATABASE $DB_NAME TO $DB_USER"

new_url="postgres://$DB_USER:$password@127.0.0.1:5432/$DB_NAME"
if [ "$current_url" = "$new_url" ]; then
  log "DATABASE_URL in $KKTBOT_ENV_FILE is up to date"
else
  log "writing DATABASE_URL to $KKTBOT_ENV_FILE"
  env_set "$KKTBOT_ENV_FILE" DATABASE_URL "$new_url"
fi

log "checking that $DB_USER can log in over TCP with that password"
PGPASSWORD=$password psql -X -q -h 127.0.0.1 -p 5432 -U "$DB_USER" -d "$DB_NAME" -Atc 'SELECT 1' >/dev/null ||
  die "$DB_USER cannot log in to $DB_NAME on 127.0.0.1:5432 (check pg_hba.conf: host ... scram-sha-256)"

# --- memory settings ----------------------------------------------------------------------
if [ "$PG_TUNE" = 1 ]; then
  version=$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main" { print $1; exit }')
  confd=/etc/postgresql/$version/main/conf.d
  if [ -z "$version" ] || [ ! -d "$confd" ]; then
    warn "no /etc/postgresql/<version>/main/conf.d found: memory settings not written"
  else
    mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
    shared=$((mem_mb / 4)); [ "$shared" -gt 8192 ] && shared=8192
    maint=$((mem_mb / 16)); [ "$maint" -gt 1024 ] && maint=1024
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    cat >"$tmp" <<EOF
# Written by kktbot deploy/setup/02-database.sh for ${mem_mb} MB of RAM.
listen_addresses = 'localhost'
shared_buffers = ${shared}MB
effective_cache_size = $((mem_mb / 2))MB
maintenance_work_mem = ${maint}MB
work_mem = 8MB
max_connections = 100
EOF
    install_if_changed "$tmp" "$confd/50-kktbot.conf" 644
    if [ "$CHANGED" = 1 ]; then
      log "restarting PostgreSQL for the new memory settings"
      systemctl restart postgresql.service
    fi
  fi
fi

log "done: database $DB_NAME, role $DB_USER; DATABASE_URL is in $KKTBOT_ENV_FILE"
