# Shared by deploy/install and deploy/upgrade (sourced, not run): where things live, the dry-run
# machinery, template rendering, building a release and the rolling restart.
# shellcheck shell=bash

APP_USER=${APP_USER:-peerlearn}
APP_HOME=${APP_HOME:-/srv/peerlearn}
DATA_DIR=${DATA_DIR:-/var/lib/peerlearn}
ETC_DIR=${ETC_DIR:-/etc/peerlearn}
ENV_FILE=${ENV_FILE:-$ETC_DIR/peerlearn.env}
ACME_ROOT=${ACME_ROOT:-/var/www/letsencrypt}
NGINX_SITE=${NGINX_SITE:-/etc/nginx/sites-available/peerlearn.conf}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
# Releases kept in $APP_HOME/releases (the current one and the ones before it, for a rollback).
KEEP_RELEASES=${KEEP_RELEASES:-5}
# Seconds a restarted web process has to answer /healthz before the upgrade stops.
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-90}

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=$(cd "$DEPLOY_DIR/.." && pwd)
DRY_RUN=${DRY_RUN:-0}
STEP=0
# How to restart a unit where systemd does not run the services (a container, a supervisor of
# your own): a shell command, {unit} replaced by the unit's name (peerlearn-web@8000,
# peerlearn-worker, peerlearn-cron, peerlearn-janus, coturn). It must return once the new process
# is started. deploy/upgrade --restart-command sets it too.
RESTART_COMMAND=${PEERLEARN_RESTART:-}

step() {
    STEP=$((STEP + 1))
    printf '\n==> [%d] %s\n' "$STEP" "$*"
}

note() {
    printf '    %s\n' "$*"
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Run a command, or only show it with --dry-run.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '    $ %s\n' "$*"
    else
        "$@"
    fi
}

# The same, as the application's user.
run_as_app() {
    run runuser -u "$APP_USER" -- "$@"
}

# flask from a release, with the install's settings: run_flask RELEASE_DIR ARGS...
run_flask() {
    local release=$1
    shift
    if [ "$DRY_RUN" = 1 ]; then
        printf '    $ (cd %s && .venv/bin/flask --env-file %s %s)\n' "$release" "$ENV_FILE" "$*"
    else
        (cd "$release" && runuser -u "$APP_USER" -- .venv/bin/flask --env-file "$ENV_FILE" "$@")
    fi
}

# Write stdin to a file (mode, owner), or say what would be written.
write_file() {
    local path=$1 mode=$2 owner=$3 tmp
    if [ "$DRY_RUN" = 1 ]; then
        cat >/dev/null
        printf '    write %s (mode %s, owner %s)\n' "$path" "$mode" "$owner"
        return
    fi
    tmp=$(mktemp "$(dirname "$path")/.$(basename "$path").XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$path"
}

# A value of the env file (empty when the file or the name is missing).
env_value() {
    local name=$1 file=${2:-$ENV_FILE}
    [ -r "$file" ] || return 0
    sed -n "s/^$name=//p" "$file" | tail -n 1 | sed 's/^"\(.*\)"$/\1/'
}

# Replace @NAME@ placeholders with the variables of the same name (exported), and repeat each
# line holding @WEB_SERVER@ once per address in WEB_SERVERS (space-separated host:port).
# Comment lines stay as they are: they describe the template.
render() {
    local template=$1
    awk -v servers="${WEB_SERVERS:-127.0.0.1:8000}" '
        /^[ \t]*#/ { print; next }
        function fill(line,    out, name, start, len) {
            out = ""
            while (match(line, /@[A-Z_]+@/)) {
                name = substr(line, RSTART + 1, RLENGTH - 2)
                out = out substr(line, 1, RSTART - 1)
                if (name in ENVIRON) { out = out ENVIRON[name] } else { out = out "@" name "@" }
                line = substr(line, RSTART + RLENGTH)
            }
            return out line
        }
        /@WEB_SERVER@/ {
            n = split(servers, list, " ")
            for (i = 1; i <= n; i++) {
                line = $0
                gsub(/@WEB_SERVER@/, list[i], line)
                print fill(line)
            }
            next
        }
        { print fill($0) }
    ' "$template"
}

# Is systemd the init system (PID 1) here? Not in most containers: there the units are still
# installed and enabled, but nothing can start them. SYSTEMD_RUNNING=1 or 0 says so instead; a dry
# run shows the systemd commands unless SYSTEMD_RUNNING=0.
systemd_running() {
    case ${SYSTEMD_RUNNING:-} in
        1) return 0 ;;
        0) return 1 ;;
    esac
    [ "$DRY_RUN" = 1 ] || [ -d /run/systemd/system ]
}

# Can units be restarted here: by systemd, or by RESTART_COMMAND.
can_restart() {
    [ -n "$RESTART_COMMAND" ] || systemd_running
}

# Restart one unit: by RESTART_COMMAND when given, else by systemd. Without either it only says
# so (and returns 1).
restart_unit() {
    local unit=$1
    if [ -n "$RESTART_COMMAND" ]; then
        run sh -c "${RESTART_COMMAND//\{unit\}/$unit}"
    elif systemd_running; then
        run systemctl restart "$unit"
    else
        note "not started: $unit (systemd is not running here)"
        return 1
    fi
}

# Enable units (start at boot, with peerlearn.target). systemctl does that without a running
# systemd too: it only makes the links.
enable_units() {
    if command -v systemctl >/dev/null 2>&1 || [ "$DRY_RUN" = 1 ]; then
        run systemctl enable "$@"
    else
        note "not enabled (no systemctl here): $*"
    fi
}

# systemctl daemon-reload, when there is a systemd to tell.
reload_systemd() {
    if systemd_running; then
        run systemctl daemon-reload
    fi
}

# Have nginx read its configuration again: by systemd, else by signal when nginx runs (its pid
# file), else say so.
reload_nginx() {
    local pid
    if systemd_running; then
        run systemctl reload nginx
        return
    fi
    pid=$(cat /run/nginx.pid 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        run nginx -s reload
    else
        note "nginx is not running: start it (nginx) once the web processes run"
    fi
}

# The ports of the web processes: WEB_PORTS, else the peerlearn-web@ instances enabled in
# peerlearn.target (deploy/install makes one per port), else 8000 and 8001.
web_ports() {
    local ports=${WEB_PORTS:-} link
    if [ -z "$ports" ]; then
        for link in "$SYSTEMD_DIR"/peerlearn.target.wants/peerlearn-web@*.service; do
            [ -e "$link" ] || [ -L "$link" ] || continue
            link=${link##*@}
            ports="$ports ${link%.service}"
        done
        ports=$(printf '%s\n' $ports | sort -n | tr '\n' ' ')
        ports=${ports% }
    fi
    echo "${ports:-8000 8001}"
}

# Build a release from the source checkout at REV into $APP_HOME/releases/<rev>: the code
# (git archive), a virtualenv with requirements.txt, and the assets. The previous release's
# built assets are copied in first, so the build keeps the chunks its last three builds use
# (scripts/asset_manifest.mjs): pages loaded before the upgrade still find theirs.
build_release() {
    local rev=$1 release=$2 previous=${3:-}
    if [ -f "$release/.release-built" ]; then
        note "$release is already built"
        return
    fi
    run install -d -o "$APP_USER" -g "$APP_USER" "$release"
    if [ "$DRY_RUN" = 1 ]; then
        printf '    $ git -C %s archive %s | tar -x -C %s\n' "$SOURCE_DIR" "$rev" "$release"
    else
        git -C "$SOURCE_DIR" archive "$rev" | runuser -u "$APP_USER" -- tar -x -C "$release"
    fi
    if [ -n "$previous" ] && { [ -d "$previous/peerlearn/static/dist" ] || [ "$DRY_RUN" = 1 ]; }; then
        run_as_app cp -a "$previous/peerlearn/static/dist" "$release/peerlearn/static/"
    fi
    run_as_app python3 -m venv "$release/.venv"
    run_as_app "$release/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$release/requirements.txt"
    run_as_app env HOME="$APP_HOME" npm --prefix "$release" ci --no-audit --no-fund --loglevel=error
    run_as_app env HOME="$APP_HOME" npm --prefix "$release" run --silent build
    run_as_app touch "$release/.release-built"
}

# Point $APP_HOME/current at a release in one rename, so nothing ever sees it missing.
switch_current() {
    local release=$1
    run ln -sfn "$release" "$APP_HOME/current.new"
    run mv -T "$APP_HOME/current.new" "$APP_HOME/current"
}

# Wait until a URL answers 200: wait_for URL SECONDS. /readyz may not exist: a 404 counts as ready.
wait_for() {
    local url=$1 seconds=$2 code deadline
    if [ "$DRY_RUN" = 1 ]; then
        printf '    wait for %s (up to %s s)\n' "$url" "$seconds"
        return 0
    fi
    deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -lt "$deadline" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        if [ "$code" = 200 ] || { [ "$code" = 404 ] && [ "${url##*/}" = readyz ]; }; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

# Restart the web processes one at a time: nginx sends requests to the others meanwhile, and the
# next one restarts only once this one answers /healthz (and /readyz).
rolling_restart_web() {
    local port
    for port in $(web_ports); do
        note "web process on port $port"
        restart_unit "peerlearn-web@$port" || continue
        wait_for "http://127.0.0.1:$port/healthz" "$HEALTH_TIMEOUT" ||
            die "peerlearn-web@$port does not answer /healthz after ${HEALTH_TIMEOUT}s: see its log (journalctl -u peerlearn-web@$port; the others still run)"
        wait_for "http://127.0.0.1:$port/readyz" "$HEALTH_TIMEOUT" ||
            die "peerlearn-web@$port is not ready (/readyz) after ${HEALTH_TIMEOUT}s: curl http://127.0.0.1:$port/readyz"
    done
}

# Bring the installed nginx site and systemd units in line with this checkout's deploy/ (a new
# release may change them; deploy/install writes them itself). The site keeps the address of the
# env file, the certificate it names now and the web processes' ports. A site nginx refuses
# (nginx -t) is put back as it was, and the upgrade stops.
refresh_site_and_units() {
    local url host_port tmp unit changed=0
    url=$(env_value PUBLIC_BASE_URL)
    url=${url%/}
    if [ -z "$url" ] || [ ! -f "$NGINX_SITE" ]; then
        note "no $NGINX_SITE or no PUBLIC_BASE_URL in $ENV_FILE: left to deploy/install"
    else
        host_port=${url#https://}
        host_port=${host_port%%/*}
        SERVER_NAME=${host_port%%:*}
        HTTPS_PORT=443
        [ "$host_port" = "$SERVER_NAME" ] || HTTPS_PORT=${host_port#*:}
        TLS_CERT=$(sed -n 's/^[[:space:]]*ssl_certificate[[:space:]][[:space:]]*\([^;]*\);.*/\1/p' "$NGINX_SITE" | head -n 1)
        TLS_KEY=$(sed -n 's/^[[:space:]]*ssl_certificate_key[[:space:]][[:space:]]*\([^;]*\);.*/\1/p' "$NGINX_SITE" | head -n 1)
        WEB_SERVERS=$(for port in $(web_ports); do printf '127.0.0.1:%s ' "$port"; done)
        export SERVER_NAME HTTPS_PORT PUBLIC_BASE_URL=$url APP_ROOT=$APP_HOME/current ACME_ROOT
        export TLS_CERT TLS_KEY WEB_SERVERS
        tmp=$(mktemp)
        render "$DEPLOY_DIR/nginx/peerlearn.conf" >"$tmp"
        if cmp -s "$tmp" "$NGINX_SITE"; then
            note "nginx site unchanged"
        elif [ "$DRY_RUN" = 1 ]; then
            printf '    write %s, nginx -t, reload nginx\n' "$NGINX_SITE"
        else
            cp -p "$NGINX_SITE" "$tmp.old"
            write_file "$NGINX_SITE" 0644 root:root <"$tmp"
            if ! nginx -t 2>&1 | sed 's/^/    /'; then
                cp -p "$tmp.old" "$NGINX_SITE"
                rm -f "$tmp" "$tmp.old"
                die "nginx refuses the new site (above): the old one is back in $NGINX_SITE"
            fi
            rm -f "$tmp.old"
            note "nginx site updated"
            reload_nginx
        fi
        rm -f "$tmp"
    fi
    for unit in "$DEPLOY_DIR"/systemd/*; do
        if ! cmp -s "$unit" "$SYSTEMD_DIR/$(basename "$unit")"; then
            write_file "$SYSTEMD_DIR/$(basename "$unit")" 0644 root:root <"$unit"
            changed=1
        fi
    done
    if [ "$changed" = 1 ]; then
        note "systemd units updated: the restarts below use them"
        reload_systemd
    else
        note "systemd units unchanged"
    fi
}
