#!/usr/bin/env bash
# Shared helpers of the deploy/setup/*.sh scripts (sourced, not run). Also sourced by
# deploy/check.sh, which renders the nginx site with the same function the set-up uses.
# shellcheck disable=SC2034 # the variables below are used by the scripts that source this file

# Where things live on the server (the systemd unit and the nginx site use the same paths).
KKTBOT_USER=kktbot
KKTBOT_HOME=/opt/kktbot                  # the binary, owned by root
KKTBOT_STATE=/var/lib/kktbot             # the service's working directory (StateDirectory=)
KKTBOT_ETC=/etc/kktbot                   # configuration, root only
KKTBOT_ENV_FILE=${KKTBOT_ENV_FILE:-/etc/kktbot/kktbot.env}
KKTBOT_BACKUP_DIR=/var/backups/kktbot
NGINX_PLACEHOLDER_DOMAIN=kkt.example.com

# The repository (or release) the scripts are run from: deploy/setup/../..
DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$DEPLOY_DIR/.." && pwd)

log() { printf '%s: %s\n' "${SCRIPT_NAME:-deploy}" "$*"; }
warn() { printf '%s: WARNING: %s\n' "${SCRIPT_NAME:-deploy}" "$*" >&2; }
die() {
  printf '%s: ERROR: %s\n' "${SCRIPT_NAME:-deploy}" "$*" >&2
  exit 1
}

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (try: sudo $0 ...)"
  fi
}

# A random secret of URL-, shell- and sed-safe characters: hex of N bytes.
random_hex() { openssl rand -hex "${1:-32}"; }

# env_get FILE NAME: the value of NAME in a KEY=VALUE file (last one wins; surrounding quotes
# removed), empty when absent. Mirrors what systemd's EnvironmentFile= reads for simple values.
env_get() {
  local file=$1 name=$2 line value=""
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    case $line in
      "$name="*)
        value=${line#*=}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        ;;
    esac
  done <"$file"
  printf '%s' "$value"
}

# env_set FILE NAME VALUE: replaces NAME=... (all occurrences) or appends it. VALUE must not
# contain a newline. The file keeps its mode and owner (edited in place through a temp copy).
env_set() {
  local file=$1 name=$2 value=$3 tmp
  tmp=$(mktemp "$file.XXXXXX")
  # ENVIRON, not awk -v: -v would interpret backslashes in the value.
  ENV_NAME=$name ENV_VALUE=$value awk '
    BEGIN { name = ENVIRON["ENV_NAME"]; value = ENVIRON["ENV_VALUE"]; done = 0 }
    index($0, name "=") == 1 { print name "=" value; done = 1; next }
    { print }
    END { if (!done) print name "=" value }
  ' "$file" >"$tmp"
  cat "$tmp" >"$file"
  rm -f "$tmp"
}

# env_unset FILE NAME: removes the NAME=... line, if any.
env_unset() {
  local file=$1 name=$2 tmp
  tmp=$(mktemp "$file.XXXXXX")
  ENV_NAME=$name awk 'index($0, ENVIRON["ENV_NAME"] "=") != 1 { print }' "$file" >"$tmp"
  cat "$tmp" >"$file"
  rm -f "$tmp"
}

# env_export FILE: exports every KEY=VALUE of the file into this shell (for running kktbot by
# hand with the service's settings). Comments and blank lines are skipped.
env_export() {
  local file=$1 line key value
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    export "$key=$value"
  done <"$file"
}

# ensure_env_file: creates $KKTBOT_ENV_FILE (/etc/kktbot/kktbot.env) from .env.production.example when missing,
# and (always) makes it root-owned with mode 600 inside a root-only /etc/kktbot.
ensure_env_file() {
  local example=${ENV_EXAMPLE:-$REPO_DIR/.env.production.example}
  install -d -o root -g root -m 700 "$(dirname "$KKTBOT_ENV_FILE")"
  if [ ! -e "$KKTBOT_ENV_FILE" ]; then
    [ -r "$example" ] || die "$example not found (set ENV_EXAMPLE=path/to/.env.production.example)"
    log "creating $KKTBOT_ENV_FILE from $example"
    install -o root -g root -m 600 "$example" "$KKTBOT_ENV_FILE"
  fi
  chown root:root "$KKTBOT_ENV_FILE"
  chmod 600 "$KKTBOT_ENV_FILE"
}

# render_nginx_site TEMPLATE DOMAIN [LETSENCRYPT_LIVE_DIR]: the site with the placeholder
# domain replaced, on stdout. The optional third argument moves the certificate paths
# (/etc/letsencrypt/live/DOMAIN/...) elsewhere; deploy/check.sh uses it for its self-signed one.
render_nginx_site() {
  local template=$1 domain=$2 live=${3:-/etc/letsencrypt/live}
  valid_domain "$domain" || die "not a domain name: $domain"
  sed -e "s#/etc/letsencrypt/live/#${live%/}/#g" \
      -e "s#${NGINX_PLACEHOLDER_DOMAIN//./\\.}#${domain}#g" "$template"
}

valid_domain() {
  [[ $1 =~ ^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$ ]]
}

# install_if_changed SRC DEST MODE: copies SRC to DEST (owner root) unless DEST already has the
# same content; says which. Sets CHANGED=1 when it wrote the file.
CHANGED=0
install_if_changed() {
  local src=$1 dest=$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    log "$dest is up to date"
    chmod "$mode" "$dest"
  else
    log "installing $dest"
    install -D -o root -g root -m "$mode" "$src" "$dest"
    CHANGED=1
  fi
}

# apt_install PACKAGE...: installs the packages that are not installed yet (one apt-get update).
APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages already installed: $*"
    return 0
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -q
    APT_UPDATED=1
  fi
  log "installing packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}
