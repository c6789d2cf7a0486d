#!/usr/bin/env bash
# Phase 6 — backups: the backup and restore commands, and a systemd timer that makes a
# pg_dump of kktbot's database every night and removes the ones older than KEEP_DAYS.
set -euo pipefail
SCRIPT_NAME=06-backups
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--keep-days N] [--no-run]

  - installs deploy/backup/kktbot-backup.sh as /usr/local/sbin/kktbot-backup and
    deploy/backup/kktbot-restore.sh as /usr/local/sbin/kktbot-restore
  - creates $KKTBOT_BACKUP_DIR (root, 700)
  - installs kktbot-backup.service and kktbot-backup.timer (daily around 03:00, catches up
    after downtime) and enables the timer
  - --keep-days N (or KEEP_DAYS=N): keep backups N days instead of 14 (a systemd drop-in)
  - makes a first backup now and lists $KKTBOT_BACKUP_DIR (skip with --no-run)
Safe to run again.
EOF
}

KEEP_DAYS=${KEEP_DAYS:-}
RUN_NOW=1
while [ $# -gt 0 ]; do
  case $1 in
    --keep-days) KEEP_DAYS=${2:?--keep-days needs a number}; shift ;;
    --no-run) RUN_NOW=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
require_root
[ -z "$KEEP_DAYS" ] || [[ $KEEP_DAYS =~ ^[1-9][0-9]*$ ]] || die "--keep-days must be a whole number of days above 0"
command -v pg_dump >/dev/null || die "pg_dump not found: run 01-system.sh first (postgresql-client)"

install_if_changed "$DEPLOY_DIR/backup/kktbot-backup.sh" /usr/local/sbin/kktbot-backup 755
install_if_changed "$DEPLOY_DIR/backup/kktbot-restore.sh" /usr/local/sbin/kktbot-restore 755
log "backup directory $KKTBOT_BACKUP_DIR (root, 700)"
install -d -o root -g root -m 700 "$KKTBOT_BACKUP_DIR"

install_if_changed "$DEPLOY_DIR/systemd/kktbot-backup.service" /etc/systemd/system/kktbot-backup.service 644
install_if_changed "$DEPLOY_DIR/systemd/kktbot-backup.timer" /etc/systemd/system/kktbot-backup.timer 644
dropin=/etc/systemd/system/kktbot-backup.service.d/keep-days.conf
if [ -n "$KEEP_DAYS" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  printf '# Written by deploy/setup/06-backups.sh --keep-days\n[Service]\nEnvironment=KEEP_DAYS=%s\n' "$KEEP_DAYS" >"$tmp"
  install_if_changed "$tmp" "$dropin" 644
elif [ -f "$dropin" ]; then
  log "keeping backups $(sed -n 's/^Environment=KEEP_DAYS=//p' "$dropin") days ($dropin)"
fi
log "systemctl daemon-reload"
systemctl daemon-reload
log "enabling kktbot-backup.timer"
systemctl enable --now kktbot-backup.timer
systemctl list-timers --no-pager kktbot-backup.timer || true

if [ "$RUN_NOW" = 1 ]; then
  log "making a backup now (systemctl start kktbot-backup.service)"
  if ! systemctl start kktbot-backup.service; then
    journalctl -u kktbot-backup.service -n 20 --no-pager >&2 || true
    die "the backup failed (journalctl -u kktbot-backup.service)"
  fi
  journalctl -u kktbot-backup.service -n 5 --no-pager || true
  ls -l "$KKTBOT_BACKUP_DIR"
fi
log "done: daily backups into $KKTBOT_BACKUP_DIR; restore with: sudo kktbot-restore FILE"
