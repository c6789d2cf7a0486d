#!/usr/bin/env bash
# Phase 1 — system: security updates, the packages kktbot's server needs, automatic security
# upgrades, and the firewall (ufw: deny incoming; allow SSH, 80 and 443).
set -euo pipefail
SCRIPT_NAME=01-system
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--no-upgrade] [--no-redis]

Installs and configures, on Ubuntu 22.04:
  - pending package upgrades (skip with --no-upgrade or UPGRADE=0)
  - PostgreSQL, nginx, certbot (nginx plugin), Redis (skip with --no-redis or WITH_REDIS=0),
    ufw, unattended-upgrades, openssl, curl
  - unattended security upgrades (/etc/apt/apt.conf.d/20auto-upgrades)
  - ufw: default deny incoming / allow outgoing; allow OpenSSH (and any other port sshd
    listens on), 80/tcp and 443/tcp; enabled

Environment:
  SSH_ALLOW_FROM  comma-separated addresses/CIDRs allowed to reach SSH instead of everyone,
                  e.g. SSH_ALLOW_FROM=203.0.113.7,198.51.100.0/24 (keep your own address in it!)
Safe to run again: every step checks what is already in place.
EOF
}

UPGRADE=${UPGRADE:-1}
WITH_REDIS=${WITH_REDIS:-1}
SSH_ALLOW_FROM=${SSH_ALLOW_FROM:-}
while [ $# -gt 0 ]; do
  case $1 in
    --no-upgrade) UPGRADE=0 ;;
    --no-redis) WITH_REDIS=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
require_root

if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [ "${ID:-}" != ubuntu ] || [ "${VERSION_ID:-}" != 22.04 ]; then
    warn "written for Ubuntu 22.04; this is ${PRETTY_NAME:-unknown} — continuing"
  fi
fi

# --- packages -----------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -q
APT_UPDATED=1
if [ "$UPGRADE" = 1 ]; then
  log "upgrading installed packages (keeps changed configuration files)"
  apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade
fi
packages=(ca-certificates curl openssl ufw unattended-upgrades
  postgresql postgresql-client nginx certbot python3-certbot-nginx)
[ "$WITH_REDIS" = 1 ] && packages+=(redis-server)
apt_install "${packages[@]}"

# --- automatic security upgrades ----------------------------------------------------------
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<'EOF'
// Written by kktbot deploy/setup/01-system.sh: daily package lists and unattended upgrades
// (the origins are those of /etc/apt/apt.conf.d/50unattended-upgrades: security updates).
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Download-Upgradeable-Packages "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
EOF
install_if_changed "$tmp" /etc/apt/apt.conf.d/20auto-upgrades 644
log "enabling unattended-upgrades"
systemctl enable --now unattended-upgrades.service

# --- services -----------------------------------------------------------------------------
services=(postgresql.service nginx.service)
[ "$WITH_REDIS" = 1 ] && services+=(redis-server.service)
log "enabling and starting: ${services[*]}"
systemctl enable --now "${services[@]}"

# --- firewall -----------------------------------------------------------------------------
# SSH first, so enabling the firewall never locks out the session running this script.
ssh_ports=$(sshd -T 2>/dev/null | awk '$1 == "port" { print $2 }' | sort -u || true)
[ -n "$ssh_ports" ] || ssh_ports=22
if [ -n "$SSH_ALLOW_FROM" ]; then
  IFS=, read -r -a sources <<<"$SSH_ALLOW_FROM"
  for src in "${sources[@]}"; do
    for port in $ssh_ports; do
      log "ufw: allow SSH (port $port) from $src"
      ufw allow from "$src" to any port "$port" proto tcp comment 'SSH (admin)'
    done
  done
else
  for port in $ssh_ports; do
    if [ "$port" = 22 ] && ufw app info OpenSSH >/dev/null 2>&1; then
      log "ufw: allow OpenSSH"
      ufw allow OpenSSH comment 'SSH'
    else
      log "ufw: allow SSH on $port/tcp"
      ufw allow "$port/tcp" comment 'SSH'
    fi
  done
fi
log "ufw: allow 80/tcp (HTTP: certbot and the redirect to HTTPS) and 443/tcp (HTTPS)"
ufw allow 80/tcp comment 'HTTP'
ufw allow 443/tcp comment 'HTTPS'
log "ufw: default deny incoming, allow outgoing"
ufw default deny incoming
ufw default allow outgoing
log "ufw: enabling"
ufw --force enable
ufw status verbose

log "done: PostgreSQL, nginx, certbot$([ "$WITH_REDIS" = 1 ] && echo ', Redis') installed; firewall on"
