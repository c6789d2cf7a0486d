#!/usr/bin/env bash
# kktbot-backup: one backup of kktbot's PostgreSQL database (pg_dump custom format) into
# BACKUP_DIR/kktbot-YYYYmmdd-HHMMSS.dump (mode 600), then removal of the backups older than
# KEEP_DAYS. Installed as /usr/local/sbin/kktbot-backup and run daily by kktbot-backup.timer.
# Old backups are removed only after a new one was written and read back successfully.
set -euo pipefail
umask 077

usage() {
  cat <<USAGE
Usage: kktbot-backup [--env-file FILE] [--dir DIR] [--keep-days N]

  --env-file FILE  where DATABASE_URL is read (KKTBOT_ENV_FILE; default /etc/kktbot/kktbot.env)
  --dir DIR        where backups go (BACKUP_DIR; default /var/backups/kktbot)
  --keep-days N    remove backups older than N days (KEEP_DAYS; default 14)
Exits non-zero when the backup fails (nothing is removed then).
USAGE
}

ENV_FILE=${KKTBOT_ENV_FILE:-/etc/kktbot/kktbot.env}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/kktbot}
KEEP_DAYS=${KEEP_DAYS:-14}
while [ $# -gt 0 ]; do
  case $1 in
    --env-file) ENV_FILE=${2:?--env-file needs a file}; shift ;;
    --dir) BACKUP_DIR=${2:?--dir needs a directory}; shift ;;
    --keep-days) KEEP_DAYS=${2:?--keep-days needs a number}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

log() { printf '%s kktbot-backup: %s\n' "$(date '+%F %T')" "$*"; }
fail() {
  log "FAILED: $*" >&2
  exit 1
}

[[ $KEEP_DAYS =~ ^[1-9][0-9]*$ ]] || fail "KEEP_DAYS must be a whole number of days above 0, not '$KEEP_DAYS'"
command -v pg_dump >/dev/null || fail "pg_dump not found (apt-get install postgresql-client)"

# --- the database: DATABASE_URL of the env file --------------------------------------------
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

[ -r "$ENV_FILE" ] || fail "cannot read $ENV_FILE"
DATABASE_URL=$(env_get "$ENV_FILE" DATABASE_URL)
[ -n "$DATABASE_URL" ] || fail "no DATABASE_URL in $ENV_FILE"
WORK_DIR=$(mktemp -d)
partial=""
cleanup() {
  [ -z "$partial" ] || rm -f "$partial"
  rm -rf "$WORK_DIR"
}
trap cleanup EXIT
pg_target "$DATABASE_URL"

# --- the backup ----------------------------------------------------------------------------
install -d -m 700 "$BACKUP_DIR"
exec 9>"$BACKUP_DIR/.kktbot-backup.lock"
flock -n 9 || fail "another kktbot-backup is running (lock $BACKUP_DIR/.kktbot-backup.lock)"

file=$BACKUP_DIR/kktbot-$(date +%Y%m%d-%H%M%S).dump
[ ! -e "$file" ] || fail "$file already exists"
partial=$file.partial
log "pg_dump of $PG_DESC into $file"
pg_dump --format=custom --no-password --dbname="$PG_URI" --file="$partial" || fail "pg_dump exited with $?"
objects=$(pg_restore --list "$partial" | { grep -vc '^;' || true; }) || fail "the new dump cannot be read back (pg_restore --list)"
chmod 600 "$partial"
mv "$partial" "$file"
partial=""
log "wrote $file ($(du -h "$file" | cut -f1), $objects archive entries)"

# --- rotation: only after a good backup ----------------------------------------------------
removed=0
while IFS= read -r -d '' old; do
  rm -f "$old"
  log "removed $old (older than $KEEP_DAYS days)"
  removed=$((removed + 1))
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f \
  \( -name 'kktbot-*.dump' -mmin +$((KEEP_DAYS * 1440)) -o -name 'kktbot-*.dump.partial' -mmin +1440 \) -print0)
backups_kept=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name 'kktbot-*.dump' | wc -l)
log "done: $backups_kept backup(s) kept in $BACKUP_DIR, $removed removed (KEEP_DAYS=$KEEP_DAYS)"
