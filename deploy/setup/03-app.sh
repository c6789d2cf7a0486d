#!/usr/bin/env bash
# Phase 3 — application: the kktbot system user, its directories, the configuration file,
# the binary (which carries the dashboard), and the database schema (kktbot migrate up).
set -euo pipefail
SCRIPT_NAME=03-app
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--domain DOMAIN] [--admin-email EMAIL] PATH/TO/kktbot

  PATH/TO/kktbot   the release binary to install (cargo build --release: target/release/kktbot);
                   the dashboard is compiled into it
  --domain DOMAIN  puts https://DOMAIN/webhook/telegram into WEBHOOK_URL (or DOMAIN=...)
  --admin-email EMAIL
                   creates that dashboard administrator (kktbot user create; the password is
                   printed here once) unless it exists. Without any account, kktbot's first
                   start makes admin@kktbot.local and prints its password into the journal.

Does, each step only when needed:
  - system user and group $KKTBOT_USER (no login shell, home $KKTBOT_STATE)
  - $KKTBOT_HOME (root, 755): the binary; $KKTBOT_STATE ($KKTBOT_USER, 700)
  - $KKTBOT_ENV_FILE (root, 600) from .env.production.example; placeholders of
    TELEGRAM_WEBHOOK_SECRET and JWT_SECRET_KEY are replaced with random values
  - installs the binary as $KKTBOT_HOME/kktbot (atomically; left alone when identical);
    removes $KKTBOT_HOME/static and STATIC_DIR=$KKTBOT_HOME/static left by earlier versions
  - kktbot check-config and kktbot migrate up, as $KKTBOT_USER with the env file's settings
  - with --admin-email: kktbot user create --email EMAIL --role admin
  - restarts kktbot.service when it is running and the binary (or STATIC_DIR) changed
Safe to run again; run it again with a new binary to upgrade.
EOF
}

binary=""
DOMAIN=${DOMAIN:-}
ADMIN_EMAIL=${ADMIN_EMAIL:-}
while [ $# -gt 0 ]; do
  case $1 in
    --domain) DOMAIN=${2:?--domain needs a domain}; shift ;;
    --admin-email) ADMIN_EMAIL=${2:?--admin-email needs an address}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$binary" ] || { usage >&2; exit 2; }; binary=$1 ;;
  esac
  shift
done
[ -n "$binary" ] || { usage >&2; exit 2; }
require_root
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "$binary is not an executable file"; fi
[ -z "$DOMAIN" ] || valid_domain "$DOMAIN" || die "not a domain name: $DOMAIN"

# --- user and directories -----------------------------------------------------------------
if id -u "$KKTBOT_USER" >/dev/null 2>&1; then
  log "system user $KKTBOT_USER exists"
else
  log "creating system user $KKTBOT_USER"
  useradd --system --user-group --home-dir "$KKTBOT_STATE" --no-create-home \
    --shell /usr/sbin/nologin --comment 'kktbot service' "$KKTBOT_USER"
fi
log "directories: $KKTBOT_HOME (root 755), $KKTBOT_STATE ($KKTBOT_USER 700), $KKTBOT_ETC (root 700)"
install -d -o root -g root -m 755 "$KKTBOT_HOME"
install -d -o "$KKTBOT_USER" -g "$KKTBOT_USER" -m 700 "$KKTBOT_STATE"
install -d -o root -g root -m 700 "$KKTBOT_ETC"

# --- configuration ------------------------------------------------------------------------
ensure_env_file
for name in TELEGRAM_WEBHOOK_SECRET JWT_SECRET_KEY; do
  case $(env_get "$KKTBOT_ENV_FILE" "$name") in
    "" | replace-with-*)
      log "generating a random $name in $KKTBOT_ENV_FILE"
      env_set "$KKTBOT_ENV_FILE" "$name" "$(random_hex 32)"
      ;;
    *) log "$name is set" ;;
  esac
done
if [ -n "$DOMAIN" ]; then
  webhook_url="https://$DOMAIN/webhook/telegram"
  if [ "$(env_get "$KKTBOT_ENV_FILE" WEBHOOK_URL)" != "$webhook_url" ]; then
    log "WEBHOOK_URL=$webhook_url"
    env_set "$KKTBOT_ENV_FILE" WEBHOOK_URL "$webhook_url"
  fi
fi

# --- binary ---------------------------------------------------------------------------------
restart_needed=0
if [ -f "$KKTBOT_HOME/kktbot" ] && cmp -s "$binary" "$KKTBOT_HOME/kktbot"; then
  log "$KKTBOT_HOME/kktbot is already this binary"
else
  log "installing $binary as $KKTBOT_HOME/kktbot"
  install -o root -g root -m 755 "$binary" "$KKTBOT_HOME/kktbot.new"
  mv -f "$KKTBOT_HOME/kktbot.new" "$KKTBOT_HOME/kktbot"
  restart_needed=1
fi
log "version: $("$KKTBOT_HOME/kktbot" --version)"

# The dashboard is in the binary: earlier versions installed a copy of it, and pointed
# STATIC_DIR there, which would now serve that old copy instead.
if [ "$(env_get "$KKTBOT_ENV_FILE" STATIC_DIR)" = "$KKTBOT_HOME/static" ]; then
  log "removing STATIC_DIR=$KKTBOT_HOME/static from $KKTBOT_ENV_FILE (the dashboard is in the binary)"
  env_unset "$KKTBOT_ENV_FILE" STATIC_DIR
  restart_needed=1
fi
if [ -d "$KKTBOT_HOME/static" ]; then
  log "removing $KKTBOT_HOME/static (the dashboard is in the binary)"
  rm -rf "$KKTBOT_HOME/static"
fi

# --- configuration check and migrations ---------------------------------------------------
# Run as the service user with exactly the env file's settings, from the state directory
# (kktbot also reads a .env in its working directory; there is none there).
as_kktbot() {
  (
    cd "$KKTBOT_STATE"
    env_export "$KKTBOT_ENV_FILE"
    runuser -u "$KKTBOT_USER" -- "$KKTBOT_HOME/kktbot" "$@"
  )
}
log "kktbot check-config"
as_kktbot check-config || die "fix $KKTBOT_ENV_FILE (the lines above), then run this script again"
log "kktbot migrate up"
as_kktbot migrate up

if [ -n "$ADMIN_EMAIL" ]; then
  log "kktbot user create --email $ADMIN_EMAIL --role admin"
  if out=$(as_kktbot user create --email "$ADMIN_EMAIL" --role admin 2>&1); then
    printf '%s\n' "$out"
  elif [[ $out == *"already exists"* ]]; then
    log "dashboard account $ADMIN_EMAIL exists"
  else
    printf '%s\n' "$out" >&2
    die "kktbot user create failed"
  fi
fi

placeholders=$(grep -E '^[A-Z_]+=.*replace-with' "$KKTBOT_ENV_FILE" | cut -d= -f1 | tr '\n' ' ' || true)
if [ -n "$placeholders" ]; then
  warn "still placeholders in $KKTBOT_ENV_FILE: $placeholders— edit it (sudoedit $KKTBOT_ENV_FILE) before 04-service.sh"
fi

if [ "$restart_needed" = 1 ] && systemctl is-active --quiet kktbot.service 2>/dev/null; then
  log "restarting kktbot.service for the new binary or settings"
  systemctl restart kktbot.service
fi
log "done: $KKTBOT_HOME/kktbot installed, schema up to date"
