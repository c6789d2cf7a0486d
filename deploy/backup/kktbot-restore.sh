#!/usr/bin/env bash
# kktbot-restore: replaces the contents of kktbot's PostgreSQL database with a backup made by
# kktbot-backup (pg_restore --clean --if-exists, in one transaction: on any error nothing
# changes). Stops kktbot.service while restoring when it runs, and starts it again afterwards
# (kktbot then applies any migration newer than the backup).
# Installed as /usr/local/sbin/kktbot-restore.
set -euo pipefail
umask 077

usage() {
  cat <<USAGE
Usage: kktbot-restore [--yes] [--env-file FILE] [--service UNIT | --no-service] BACKUP.dump

  BACKUP.dump      a pg_dump custom-format file, e.g. /var/backups/kktbot/kktbot-20260101-030000.dump
  --yes            do not ask for confirmation (scripts); otherwise the database name must be typed
  --env-file FILE  where DATABASE_URL (the target) is read (KKTBOT_ENV_FILE; default /etc/kktbot/kktbot.env)
  --service UNIT   the systemd unit stopped during the restore when it runs (default kktbot.service)
  --no-service     do not stop or start any service
Tables that exist in the database but not in the backup are left in place. Make a backup of
the current state first (kktbot-backup) if you may want it back.
USAGE
}

ENV_FILE=${KKTBOT_ENV_FILE:-/etc/kktbot/kktbot.env}
SERVICE=kktbot.service
YES=0
DUMP=""
while [ $# -gt 0 ]; do
  case $1 in
    --yes | -y) YES=1 ;;
    --env-file) ENV_FILE=${2:?--env-file needs a file}; shift ;;
    --service) SERVICE=${2:?--service needs a unit name}; shift ;;
    --no-service) SERVICE="" ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$DUMP" ] || { usage >&2; exit 2; }; DUMP=$1 ;;
  esac
  shift
done
[ -n "$DUMP" ] || { usage >&2; exit 2; }

log() { printf '%s kktbot-restore: %s\n' "$(date '+%F %T')" "$*"; }
fail() {
  log "FAILED: $*" >&2
  exit 1
}
command -v pg_restore >/dev/null || fail "pg_restore not found (apt-get install postgresql-client)"

# >>> shared with kktbot-restore.sh (deploy/check.sh makes sure both copies are the same)
# env_get FILE NAME: NAME's value in a KEY=VALUE file, surrounding quotes removed.
env_get() {
  local file=$1 name=$2 line value=""
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    case $line in "$name="*) value=${line#*=} ;; esac
  done <"$file"
  if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  printf '%s' "$value"
}
# pg_target URL: sets PG_URI (the URL without its password, safe on a command line), PG_DESC
# (for logs) and writes the password, if any, to a private PGPASSFILE in WORK_DIR.
pg_target() {
  local url=$1 rest base query="" authority path="" userinfo="" hostport user="" password="" kept=() p
  case $url in
    postgres://* | postgresql://*) ;;
    sqlite:*) fail "DATABASE_URL is SQLite: back up the database file instead (stop kktbot, copy it)" ;;
    *) fail "DATABASE_URL is not a postgres:// URL" ;;
  esac
  rest=${url#*://}
  base=${rest%%\?*}
  [[ $rest == *\?* ]] && query=${rest#*\?}
  authority=${base%%/*}
  [[ $base == */* ]] && path=${base#*/}
  hostport=$authority
  if [[ $authority == *@* ]]; then
    userinfo=${authority%@*}
    hostport=${authority##*@}
  fi
  user=${userinfo%%:*}
  [[ $userinfo == *:* ]] && password=${userinfo#*:}
  # Only libpq's own URL parameters; others (for kktbot's driver) would make libpq refuse.
  if [ -n "$query" ]; then
    local params=()
    IFS='&' read -r -a params <<<"$query"
    for p in "${params[@]}"; do
      case ${p%%=*} in
        sslmode | sslrootcert | sslcert | sslkey | sslcrl | host | hostaddr | port | connect_timeout | \
          application_name | options | target_session_attrs | gssencmode | channel_binding) kept+=("$p") ;;
        *) log "ignoring URL parameter ${p%%=*} (not a libpq parameter)" ;;
      esac
    done
    query=$(IFS='&'; printf '%s' "${kept[*]}")
  fi
  PG_URI="postgresql://${user:+$user@}$hostport/$path${query:+?$query}"
  PG_DESC="database '${path:-?}' on ${hostport:-local socket}${user:+ as $user}"
  export PGPASSFILE=$WORK_DIR/pgpass
  : >"$PGPASSFILE"
  if [ -n "$password" ]; then
    password=$(printf '%b' "${password//%/\\x}")   # percent-decoding
    password=${password//\\/\\\\}
    printf '*:*:*:*:%s\n' "${password//:/\\:}" >"$PGPASSFILE"
  fi
}
# <<< shared

[ -r "$DUMP" ] || fail "cannot read $DUMP"
pg_restore --list "$DUMP" >/dev/null 2>&1 || fail "$DUMP is not a pg_dump custom-format archive"
[ -r "$ENV_FILE" ] || fail "cannot read $ENV_FILE"
DATABASE_URL=$(env_get "$ENV_FILE" DATABASE_URL)
[ -n "$DATABASE_URL" ] || fail "no DATABASE_URL in $ENV_FILE"
WORK_DIR=$(mktemp -d)
restart_service=0
cleanup() {
  local status=$?
  rm -rf "$WORK_DIR"
  if [ "$restart_service" = 1 ]; then
    log "starting $SERVICE again"
    systemctl start "$SERVICE" || { log "FAILED: $SERVICE did not start (journalctl -u $SERVICE)" >&2; status=1; }
  fi
  exit "$status"
}
trap cleanup EXIT
pg_target "$DATABASE_URL"
dbname=${PG_URI#*://}
dbname=${dbname#*/}
dbname=${dbname%%\?*}

log "restore $DUMP ($(du -h "$DUMP" | cut -f1), made $(date -r "$DUMP" '+%F %T'))"
log "into $PG_DESC — its current contents will be replaced"
if [ "$YES" != 1 ]; then
  [ -t 0 ] || fail "standard input is not a terminal: pass --yes to restore without confirmation"
  read -r -p "Type the database name ($dbname) to go on: " answer
  [ "$answer" = "$dbname" ] || fail "not confirmed; nothing was changed"
fi

if [ -n "$SERVICE" ] && command -v systemctl >/dev/null && systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
  log "stopping $SERVICE for the restore"
  systemctl stop "$SERVICE"
  restart_service=1
fi

log "pg_restore --clean --if-exists --single-transaction"
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
  --no-password --dbname="$PG_URI" "$DUMP" || fail "pg_restore exited with $?; the database was left as it was"
log "ANALYZE (fresh planner statistics)"
# (a database owner that is not a superuser may not analyze the shared catalogs: no warnings)
psql -X -q --no-password --dbname="$PG_URI" -c 'SET client_min_messages = error' -c 'ANALYZE' ||
  log "ANALYZE failed (harmless; run it later)"
log "done: $PG_DESC restored from $DUMP"
