#!/usr/bin/env bash
# deploy/check.sh — the CI check of deploy/, with the real tools (run by .ci/run):
#   1. shellcheck on every shell script under deploy/ and on .ci/run
#   2. the database URL code shared by kktbot-backup.sh and kktbot-restore.sh is the same
#   3. systemd-analyze verify on the units, in a temporary root holding the files they name
#      (a stub /opt/kktbot/kktbot, the real backup script) — nothing is written to the host
#   4. nginx -t on the site and on the pre-certificate site, rendered by the set-up's own
#      function, with a self-signed certificate made now, in a minimal nginx.conf of our own
#   5. the site served for real on loopback ports: redirect, ACME path, headers, TLS 1.2/1.3,
#      webhook and /metrics access rules, body size limits, the dashboard passed through, proxy headers
#   6. deploy/test-backup-restore.sh: backup → restore round trip on PostgreSQL
# Missing tools (shellcheck, nginx, systemd-analyze, openssl, curl, the PostgreSQL client) are
# installed with apt-get when running as root. Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The set-up's helpers: render_nginx_site is checked below with the function 05-nginx.sh uses.
SCRIPT_NAME=deploy-check
# shellcheck source=setup/lib.sh
. deploy/setup/lib.sh

log() { printf 'deploy-check: %s\n' "$*"; }
fail() {
  printf 'deploy-check: FAILED: %s\n' "$*" >&2
  exit 1
}

apt_updated=0
need() { # need <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || fail "$1 is missing: install the $2 package (or run as root)"
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  log "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
# nginx is looked up in /usr/sbin too: a non-root PATH may lack it.
PATH=$PATH:/usr/sbin:/sbin
need shellcheck shellcheck
need nginx nginx
need systemd-analyze systemd
need openssl openssl
need curl curl
need pg_dump postgresql-client
need flock util-linux
log "tools: shellcheck $(shellcheck --version | awk '/^version:/ { print $2 }'), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(systemd-analyze --version | head -n 1), $(openssl version | cut -d' ' -f1-2), pg_dump $(pg_dump --version | awk '{ print $3 }')"

tmp=$(mktemp -d)
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- 1. shellcheck ----------------------------------------------------------------------------
mapfile -t scripts < <(
  {
    find deploy -type f -name '*.sh'
    find deploy -type f ! -name '*.sh' -exec grep -lE '^#!(/usr)?/bin/(env )?(ba)?sh' {} +
    echo .ci/run
  } | sort -u
)
log "shellcheck (${#scripts[@]} scripts): ${scripts[*]}"
shellcheck --external-sources --source-path=SCRIPTDIR "${scripts[@]}" || fail "shellcheck found problems (above)"
for script in "${scripts[@]}"; do
  case $script in .ci/run | deploy/setup/lib.sh) continue ;; esac
  head -n 1 "$script" | grep -qx '#!/usr/bin/env bash' || fail "$script does not start with #!/usr/bin/env bash"
  grep -qx 'set -euo pipefail' "$script" || fail "$script lacks set -euo pipefail"
done
log "shellcheck: no findings; every script has #!/usr/bin/env bash and set -euo pipefail"

# --- 2. the shared block of the backup scripts ------------------------------------------------
shared() { sed -n '/^# >>> shared/,/^# <<< shared/p' "$1"; }
[ -n "$(shared deploy/backup/kktbot-backup.sh)" ] || fail "no shared block in kktbot-backup.sh"
diff <(shared deploy/backup/kktbot-backup.sh) <(shared deploy/backup/kktbot-restore.sh) >&2 ||
  fail "the shared blocks of kktbot-backup.sh and kktbot-restore.sh differ (above)"
log "kktbot-backup.sh and kktbot-restore.sh share the same DATABASE_URL code"

# --- 3. systemd-analyze verify ----------------------------------------------------------------
# A temporary root: the distribution's units (for sysinit.target, multi-user.target, ...),
# ours in etc/systemd/system, and the executables they start, at the paths they name.
root=$tmp/systemd-root
units_src=/usr/lib/systemd/system
[ -f "$units_src/sysinit.target" ] || units_src=/lib/systemd/system
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/opt/kktbot" "$root/usr/local/sbin" "$root/usr/bin"
cp -a "$units_src" "$root/usr/lib/systemd/system"
cp deploy/systemd/*.service deploy/systemd/*.timer "$root/etc/systemd/system/"
printf '#!/bin/sh\n# stub of kktbot for systemd-analyze verify\nexit 0\n' >"$root/opt/kktbot/kktbot"
chmod 755 "$root/opt/kktbot/kktbot"
install -m 755 deploy/backup/kktbot-backup.sh "$root/usr/local/sbin/kktbot-backup"
cp "$(command -v install)" "$root/usr/bin/install"
mapfile -t units < <(cd deploy/systemd && ls -- *.service *.timer)
log "systemd-analyze verify: ${units[*]}"
# verify reports most problems (unknown keys, bad values) as log lines while exiting 0: any
# output at all is a failure. SYSTEMD_LOG_LEVEL=notice keeps debug chatter out; no bus needed.
out=$(cd "$root" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no --root="$root" \
  "${units[@]/#//etc/systemd/system/}" 2>&1) || fail "systemd-analyze verify failed:
$out"
[ -z "$out" ] || fail "systemd-analyze verify reported:
$out"
log "systemd-analyze verify: no findings"
if exposure=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze security --offline=yes --root="$root" \
  /etc/systemd/system/kktbot.service 2>/dev/null | grep -i 'overall exposure'); then
  log "systemd-analyze security kktbot.service:${exposure#*:}"
fi

# --- 4. nginx -t ------------------------------------------------------------------------------
domain=check.example.org
ngx=$tmp/nginx
mkdir -p "$ngx/live/$domain" "$ngx/logs" "$ngx/temp" "$ngx/www/.well-known/acme-challenge"
log "self-signed certificate for $domain (openssl)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
  -keyout "$ngx/live/$domain/privkey.pem" -out "$ngx/live/$domain/fullchain.pem" 2>/dev/null
render_nginx_site deploy/nginx/kktbot.conf "$domain" "$ngx/live" >"$ngx/kktbot.conf"
render_nginx_site deploy/nginx/kktbot-bootstrap.conf "$domain" "$ngx/live" >"$ngx/kktbot-bootstrap.conf"
grep -q "$NGINX_PLACEHOLDER_DOMAIN" "$ngx/kktbot.conf" && fail "the placeholder domain is left in the rendered site"
grep -q "ssl_certificate .*$ngx/live/$domain/fullchain.pem" "$ngx/kktbot.conf" || fail "certificate path not rendered"

mime_types=/etc/nginx/mime.types
[ -f "$mime_types" ] || { printf 'types { text/css css; text/html html; }\n' >"$ngx/mime.types"; mime_types=$ngx/mime.types; }
# nginx_conf SITE [EXTRA]: a complete nginx.conf around one site file.
nginx_conf() {
  cat <<EOF
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log notice;
${NGINX_USER:+user $NGINX_USER;}
events { worker_connections 64; }
http {
    include $mime_types;
    default_type application/octet-stream;
    access_log $ngx/logs/access.log;
    client_body_temp_path $ngx/temp/body;
    proxy_temp_path $ngx/temp/proxy;
    fastcgi_temp_path $ngx/temp/fastcgi;
    uwsgi_temp_path $ngx/temp/uwsgi;
    scgi_temp_path $ngx/temp/scgi;
    include $1;
${2:-}
}
EOF
}
# nginx before 1.19.5 has no -e; then it opens its compiled-in error log before reading ours.
nginx_e=()
if nginx -h 2>&1 | grep -q -- '-e filename'; then nginx_e=(-e "$ngx/logs/error.log"); fi
for site in kktbot.conf kktbot-bootstrap.conf; do
  nginx_conf "$ngx/$site" >"$ngx/nginx-$site"
  log "nginx -t: deploy/nginx/$site"
  nginx -t -q -p "$ngx/" "${nginx_e[@]}" -c "$ngx/nginx-$site" || fail "nginx -t failed for deploy/nginx/$site"
done
log "nginx -t: both sites are valid"

# --- 5. the site, served --------------------------------------------------------------------
# The same rendered site on loopback ports, its webroot moved into the temp
# directory, and a second server standing in for kktbot: it echoes the proxy headers.
chmod 755 "$tmp"
echo 'challenge-token-ok' >"$ngx/www/.well-known/acme-challenge/token123"
# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=0
for attempt in 1 2 3 4 5; do
  # Below Linux's ephemeral range (32768+), so outgoing connections do not hold them.
  port_base=$((10000 + RANDOM % 20000))
  http_port=$port_base https_port=$((port_base + 1)) app_port=$((port_base + 2))
  if ! { port_free "$http_port" && port_free "$https_port" && port_free "$app_port"; }; then continue; fi
  sed -e "s#listen 80;#listen 127.0.0.1:$http_port;#" -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https_port ssl http2;#" \
    -e '/listen \[::\]/d' -e "s#server 127.0.0.1:8000;#server 127.0.0.1:$app_port;#" \
    -e "s#root /var/www/letsencrypt;#root $ngx/www;#" \
    "$ngx/kktbot.conf" >"$ngx/served.conf"
  app_server="    server {
        listen 127.0.0.1:$app_port;
        client_max_body_size 0;
        location = /compressed.js {
            add_header Content-Encoding br;
            add_header Cache-Control \"public, max-age=3600\";
            return 200 \"brotli-bytes\\n\";
        }
        location / {
            default_type text/plain;
            return 200 \"app uri=\$request_uri proto=\$http_x_forwarded_proto xff=\$http_x_forwarded_for host=\$http_host rid=\$http_x_request_id\\n\";
        }
    }"
  NGINX_USER=root nginx_conf "$ngx/served.conf" "$app_server" >"$ngx/nginx-served.conf"
  log "serving the site on 127.0.0.1:$http_port (HTTP) and :$https_port (HTTPS)"
  if nginx -p "$ngx/" "${nginx_e[@]}" -c "$ngx/nginx-served.conf" 2>"$ngx/start.err"; then
    started=1
    break
  fi
  log "nginx did not start (attempt $attempt): $(tail -n 1 "$ngx/start.err")"
done
[ "$started" = 1 ] || fail "nginx did not start on loopback ports after 5 attempts"
for _ in $(seq 1 50); do [ -s "$ngx/nginx.pid" ] && break; sleep 0.1; done
nginx_pid=$(cat "$ngx/nginx.pid")

https="https://$domain:$https_port"
c() { curl -sS --max-time 10 --resolve "$domain:$https_port:127.0.0.1" --resolve "$domain:$http_port:127.0.0.1" \
  --cacert "$ngx/live/$domain/fullchain.pem" "$@"; }
expect() { # expect WHAT ACTUAL EXPECTED-REGEX
  [[ $2 =~ $3 ]] || fail "$1: got '$2', expected /$3/"
  log "  ok: $1"
}
status() { c -o /dev/null -w '%{http_code}' "$@"; }

expect "HTTP redirects to HTTPS" "$(c -o /dev/null -w '%{http_code} %{redirect_url}' "http://$domain:$http_port/api/x?y=1")" \
  "^301 https://$domain/api/x\?y=1$"
expect "HTTP serves the ACME challenge" "$(c "http://$domain:$http_port/.well-known/acme-challenge/token123")" '^challenge-token-ok$'
headers=$(c -D - -o "$tmp/body" "$https/health")
expect "HTTPS /health reaches the application" "$(cat "$tmp/body")" '^app uri=/health proto=https xff=127\.0\.0\.1 host=check\.example\.org rid=[0-9a-f]{32}$'
expect "HSTS" "$headers" $'\n[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=63072000; includeSubDomains\r'
expect "X-Content-Type-Options" "$headers" $'\n[Xx]-[Cc]ontent-[Tt]ype-[Oo]ptions: nosniff\r'
expect "X-Frame-Options" "$headers" $'\n[Xx]-[Ff]rame-[Oo]ptions: DENY\r'
expect "Referrer-Policy" "$headers" $'\n[Rr]eferrer-[Pp]olicy: strict-origin-when-cross-origin\r'
expect "no nginx version in Server" "$headers" $'\n[Ss]erver: nginx\r'
expect "TLS 1.2 accepted" "$(status --tlsv1.2 --tls-max 1.2 "$https/health")" '^200$'
expect "TLS 1.3 accepted" "$(status --tlsv1.3 "$https/health")" '^200$'
if openssl s_client -help 2>&1 | grep -q -- '-tls1_1'; then
  if echo | openssl s_client -connect "127.0.0.1:$https_port" -servername "$domain" -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null 2>&1; then
    fail "TLS 1.1 handshake succeeded"
  fi
  log "  ok: TLS 1.1 refused"
fi
expect "webhook refused outside Telegram's ranges" "$(status -X POST -d '{}' "$https/webhook/telegram")" '^403$'
expect "webhook: GET refused" "$(status "$https/webhook/telegram")" '^403$'
head -c 2000000 /dev/zero >"$tmp/2m"
expect "webhook body over 1m refused" "$(status -X POST --data-binary @"$tmp/2m" "$https/webhook/telegram")" '^413$'
expect "/metrics allowed from 127.0.0.1" "$(c "$https/metrics")" '^app uri=/metrics '
head -c 5000000 /dev/zero >"$tmp/5m"
expect "API accepts a 5 MB body" "$(status -X POST --data-binary @"$tmp/5m" "$https/api/upload")" '^200$'
head -c 11000000 /dev/zero >"$tmp/11m"
expect "API refuses an 11 MB body" "$(status -X POST --data-binary @"$tmp/11m" "$https/api/upload")" '^413$'
# The dashboard is the application's, with its own caching and compression: nginx neither serves
# files itself nor compresses (the stand-in answers with a br-encoded body of its own).
expect "the dashboard comes from the application" "$(c "$https/js/app.js")" '^app uri=/js/app\.js '
expect "nothing is served from disk under /static/" "$(c "$https/static/app.css")" '^app uri=/static/app\.css '
headers=$(c -D - -o "$tmp/body" -H 'Accept-Encoding: gzip, br' "$https/compressed.js")
expect "a compressed answer passes through as sent" "$(cat "$tmp/body")" '^brotli-bytes$'
expect "its Content-Encoding is the application's" "$headers" $'\n[Cc]ontent-[Ee]ncoding: br\r'
expect "its caching headers are the application's" "$headers" $'\n[Cc]ache-[Cc]ontrol: public, max-age=3600\r'
expect "it keeps the security headers" "$headers" $'\n[Xx]-[Ff]rame-[Oo]ptions: DENY\r'
big=$(head -c 3000 /dev/zero | tr '\0' x)
headers=$(c -D - -o "$tmp/body" -H 'Accept-Encoding: gzip' "$https/big?$big")
expect "a 3 kB text answer arrives whole" "$(wc -c <"$tmp/body")" '^ *3[0-9]{3}$'
[[ $headers != *[Cc]ontent-[Ee]ncoding* ]] || fail "nginx compressed an answer of the application"
log "  ok: nginx adds no compression of its own"
kill "$nginx_pid"
nginx_pid=""
log "the site behaves as configured"

# --- 6. backup → restore round trip -----------------------------------------------------------
log "backup → restore round trip (deploy/test-backup-restore.sh${KKTBOT_BIN:+, KKTBOT_BIN=$KKTBOT_BIN})"
bash deploy/test-backup-restore.sh || fail "the backup → restore round trip failed"

log "OK: shellcheck (${#scripts[@]} scripts), systemd-analyze verify (${#units[@]} units), nginx -t (2 sites) and the served site, backup → restore round trip"
