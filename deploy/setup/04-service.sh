#!/usr/bin/env bash
# Phase 4 — service: installs kktbot.service (systemd, Type=notify, sandboxed), enables it at
# boot and starts it; then asks /health.
set -euo pipefail
SCRIPT_NAME=04-service
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0

  - installs deploy/systemd/kktbot.service as /etc/systemd/system/kktbot.service
  - refuses to go on while $KKTBOT_ENV_FILE still holds a "replace-with-..." placeholder
    (ALLOW_PLACEHOLDERS=1 to start anyway, e.g. without a bot token yet)
  - systemctl enable kktbot.service; start it, or restart it when the unit changed
    (RESTART=1 restarts it anyway); waits for READY and checks http://127.0.0.1:PORT/health
Run 03-app.sh first. Safe to run again: a running service with an unchanged unit is left alone.
EOF
}

RESTART=${RESTART:-0}
ALLOW_PLACEHOLDERS=${ALLOW_PLACEHOLDERS:-0}
case ${1:-} in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
require_root

[ -x "$KKTBOT_HOME/kktbot" ] || die "$KKTBOT_HOME/kktbot is missing: run 03-app.sh first"
[ -f "$KKTBOT_ENV_FILE" ] || die "$KKTBOT_ENV_FILE is missing: run 03-app.sh first"
id -u "$KKTBOT_USER" >/dev/null 2>&1 || die "user $KKTBOT_USER is missing: run 03-app.sh first"
log "checking $KKTBOT_ENV_FILE: owner root, mode 600"
chown root:root "$KKTBOT_ENV_FILE"
chmod 600 "$KKTBOT_ENV_FILE"

placeholders=$(grep -E '^[A-Z_]+=.*replace-with' "$KKTBOT_ENV_FILE" | cut -d= -f1 | tr '\n' ' ' || true)
if [ -n "$placeholders" ]; then
  if [ "$ALLOW_PLACEHOLDERS" = 1 ]; then
    warn "placeholders left in $KKTBOT_ENV_FILE: $placeholders(ALLOW_PLACEHOLDERS=1: going on)"
  else
    die "edit $KKTBOT_ENV_FILE first (sudoedit $KKTBOT_ENV_FILE): still placeholders in $placeholders
       (remove a line such as TELEGRAM_BOT_TOKEN to leave that feature off)"
  fi
fi

install_if_changed "$DEPLOY_DIR/systemd/kktbot.service" /etc/systemd/system/kktbot.service 644
unit_changed=$CHANGED
log "systemctl daemon-reload"
systemctl daemon-reload
log "enabling kktbot.service at boot"
systemctl enable kktbot.service

# Type=notify: start/restart return once kktbot has sent READY=1 (or failed / timed out).
if ! systemctl is-active --quiet kktbot.service; then
  log "starting kktbot.service (waits for READY: migrations applied, listener bound)"
  systemctl start kktbot.service || {
    journalctl -u kktbot.service -n 30 --no-pager >&2 || true
    die "kktbot.service did not start (journalctl -u kktbot.service)"
  }
elif [ "$unit_changed" = 1 ] || [ "$RESTART" = 1 ]; then
  log "restarting kktbot.service"
  systemctl restart kktbot.service || {
    journalctl -u kktbot.service -n 30 --no-pager >&2 || true
    die "kktbot.service did not restart (journalctl -u kktbot.service)"
  }
else
  log "kktbot.service is running with this unit: left alone (RESTART=1 to restart)"
fi

host=$(env_get "$KKTBOT_ENV_FILE" API_HOST)
port=$(env_get "$KKTBOT_ENV_FILE" API_PORT)
case $host in
  "" | 0.0.0.0) host=127.0.0.1 ;;
  :: | ::1) host="[::1]" ;;
  *:*) host="[$host]" ;;
esac
url="http://$host:${port:-8000}/health"
log "GET $url"
if ! curl -fsS --max-time 10 "$url"; then
  die "$url does not answer 200 (journalctl -u kktbot.service)"
fi
echo
systemctl --no-pager --lines=0 status kktbot.service || true
log "done: kktbot.service enabled and running"
