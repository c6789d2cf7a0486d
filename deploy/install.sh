#!/usr/bin/env bash
# deploy/install.sh — runs deploy/setup/01..06 in order on a fresh Ubuntu 22.04 server.
# Every step is idempotent, so after fixing whatever stopped it, run it again.
set -euo pipefail
SCRIPT_NAME=install
# shellcheck source=setup/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 --domain DOMAIN [--email EMAIL] [--admin-email EMAIL] PATH/TO/kktbot

  --email EMAIL        for Let's Encrypt's notices; also the dashboard administrator created
                       in step 3 unless --admin-email names another

  01-system.sh    packages, unattended upgrades, firewall
  02-database.sh  PostgreSQL role and database, DATABASE_URL in $KKTBOT_ENV_FILE
  03-app.sh       user kktbot, /opt/kktbot, /var/lib/kktbot, the binary, kktbot migrate up
                  — stops here while $KKTBOT_ENV_FILE still has placeholders (the bot token):
                    edit it, then run this again
  04-service.sh   kktbot.service enabled and started
  05-nginx.sh     certificate (certbot) and the nginx site for DOMAIN
  06-backups.sh   daily backups (timer) and a first backup
Options and variables of the single scripts apply (e.g. SSH_ALLOW_FROM, KEEP_DAYS); see each
script's --help.
EOF
}

domain="" email="" admin_email="" binary=""
while [ $# -gt 0 ]; do
  case $1 in
    --domain) domain=${2:?--domain needs a domain}; shift ;;
    --email) email=${2:?--email needs an address}; shift ;;
    --admin-email) admin_email=${2:?--admin-email needs an address}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$binary" ] || { usage >&2; exit 2; }; binary=$1 ;;
  esac
  shift
done
if [ -z "$domain" ] || [ -z "$binary" ]; then usage >&2; exit 2; fi
require_root
valid_domain "$domain" || die "not a domain name: $domain"
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

setup=$DEPLOY_DIR/setup
step() {
  log "===== $* ====="
  bash "$@"
}
step "$setup/01-system.sh"
step "$setup/02-database.sh"
admin_email=${admin_email:-$email}
step "$setup/03-app.sh" --domain "$domain" ${admin_email:+--admin-email "$admin_email"} "$binary"
if grep -qE '^[A-Z_]+=.*replace-with' "$KKTBOT_ENV_FILE" && [ "${ALLOW_PLACEHOLDERS:-0}" != 1 ]; then
  log "stopping before the service: fill in $KKTBOT_ENV_FILE (sudoedit $KKTBOT_ENV_FILE),"
  log "at least TELEGRAM_BOT_TOKEN and ADMIN_TELEGRAM_IDS, then run this command again"
  exit 3
fi
step "$setup/04-service.sh"
step "$setup/05-nginx.sh" "$domain" ${email:+"$email"}
step "$setup/06-backups.sh"
log "all done: https://$domain/ — see README.md \"Deploying\" for checks and daily operation"
