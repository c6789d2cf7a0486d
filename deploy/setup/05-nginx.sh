#!/usr/bin/env bash
# Phase 5 — nginx and TLS: a Let's Encrypt certificate for the domain (certbot, nginx
# plugin), then the kktbot site (deploy/nginx/kktbot.conf) with that domain.
set -euo pipefail
SCRIPT_NAME=05-nginx
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 DOMAIN [EMAIL]        (or DOMAIN=... CERTBOT_EMAIL=... sudo -E $0)

  DOMAIN  the public name of this server; its DNS A/AAAA records must point here and ports
          80 and 443 must be open (01-system.sh opens them)
  EMAIL   Let's Encrypt's expiry notices go there (without it: registered without an email)

  - when /etc/letsencrypt/live/DOMAIN/ does not exist yet: serves a port-80-only site for the
    challenge and runs certbot certonly --nginx -d DOMAIN (CERTBOT_STAGING=1: Let's Encrypt's
    staging server, for a dry run); certbot.timer renews it and reloads nginx afterwards
  - installs deploy/nginx/kktbot.conf with DOMAIN as /etc/nginx/sites-available/kktbot.conf,
    enables it, disables nginx's default site, checks (nginx -t) and reloads nginx
Safe to run again: an existing certificate is kept, an unchanged site is not reloaded.
EOF
}

DOMAIN=${DOMAIN:-}
CERTBOT_EMAIL=${CERTBOT_EMAIL:-}
CERTBOT_STAGING=${CERTBOT_STAGING:-0}
case ${1:-} in -h | --help) usage; exit 0 ;; esac
[ $# -ge 1 ] && DOMAIN=$1
[ $# -ge 2 ] && CERTBOT_EMAIL=$2
[ $# -le 2 ] || { usage >&2; exit 2; }
[ -n "$DOMAIN" ] || { usage >&2; exit 2; }
require_root
valid_domain "$DOMAIN" || die "not a domain name: $DOMAIN"
[ "$DOMAIN" != "$NGINX_PLACEHOLDER_DOMAIN" ] || die "$DOMAIN is the placeholder; give the real domain"
command -v nginx >/dev/null || die "nginx not found: run 01-system.sh first"
command -v certbot >/dev/null || die "certbot not found: run 01-system.sh first"

site_available=/etc/nginx/sites-available/kktbot.conf
site_enabled=/etc/nginx/sites-enabled/kktbot.conf
live=/etc/letsencrypt/live/$DOMAIN
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

enable_site() {
  if [ "$(readlink "$site_enabled" 2>/dev/null)" != "$site_available" ]; then
    log "enabling the site: $site_enabled -> $site_available"
    ln -sfn "$site_available" "$site_enabled"
    CHANGED=1
  fi
  if [ -e /etc/nginx/sites-enabled/default ] || [ -L /etc/nginx/sites-enabled/default ]; then
    log "disabling nginx's default site"
    rm -f /etc/nginx/sites-enabled/default
    CHANGED=1
  fi
}

reload_nginx() {
  log "nginx -t"
  nginx -t
  log "reloading nginx"
  systemctl reload-or-restart nginx.service
}

log "webroot for HTTP-01 challenges: /var/www/letsencrypt"
install -d -o root -g root -m 755 /var/www/letsencrypt

if [ -f "$live/fullchain.pem" ] && [ -f "$live/privkey.pem" ]; then
  log "certificate for $DOMAIN exists ($live): kept (certbot.timer renews it)"
else
  log "no certificate for $DOMAIN yet: serving port 80 for the challenge"
  render_nginx_site "$DEPLOY_DIR/nginx/kktbot-bootstrap.conf" "$DOMAIN" >"$tmp"
  CHANGED=0
  install_if_changed "$tmp" "$site_available" 644
  enable_site
  reload_nginx
  certbot_args=(certonly --nginx -d "$DOMAIN" --non-interactive --agree-tos --keep-until-expiring
    --deploy-hook 'systemctl reload nginx')
  if [ -n "$CERTBOT_EMAIL" ]; then
    certbot_args+=(--email "$CERTBOT_EMAIL")
  else
    warn "no EMAIL given: Let's Encrypt cannot warn you of a certificate about to expire"
    certbot_args+=(--register-unsafely-without-email)
  fi
  [ "$CERTBOT_STAGING" = 1 ] && certbot_args+=(--staging)
  log "certbot ${certbot_args[*]}"
  certbot "${certbot_args[@]}"
  [ -f "$live/fullchain.pem" ] || die "certbot did not create $live/fullchain.pem"
fi

log "installing the kktbot site for $DOMAIN"
render_nginx_site "$DEPLOY_DIR/nginx/kktbot.conf" "$DOMAIN" >"$tmp"
CHANGED=0
install_if_changed "$tmp" "$site_available" 644
enable_site
if [ "$CHANGED" = 1 ]; then
  reload_nginx
else
  log "nginx -t"
  nginx -t
  log "site unchanged: nginx not reloaded"
fi

if systemctl cat certbot.timer >/dev/null 2>&1; then
  log "enabling certbot.timer (certificate renewal)"
  systemctl enable --now certbot.timer
fi
log "done: https://$DOMAIN/ (test renewal with: certbot renew --dry-run)"
