#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12 (apt + pip), and nothing when it is all present.
#
#   scripts/install-prerequisites.sh          # install what is missing
#   scripts/install-prerequisites.sh --check  # exit 0 if everything is present, 1 (and name it) if not
#
# Used by scripts/test.sh (the README's one test command) and by .ci/run. apt needs root, or sudo.
set -euo pipefail

apt_packages=(
    mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev zlib1g-dev openssl ca-certificates
    chromium chromium-driver python3 python3-pip
    prometheus  # promtool: Tests/integration/test_metrics.py checks /metrics and the scrape config with it
    postgresql  # initdb/pg_ctl: the PostgreSQL store's contract and integration tests start a throwaway cluster
)
# What each of them provides, to tell "present" without asking dpkg about every package.
commands=(mosquitto mosquitto_pub mosquitto_sub openssl chromium chromedriver python3 stdbuf promtool)
pip_packages=('paho-mqtt>=2,<3' pytest 'selenium>=4.10')
# Python checks, one per pip package (paho-mqtt 1.x has another API).
python_checks=(
    "import paho.mqtt; assert int(paho.mqtt.__version__.split('.')[0]) >= 2"
    "import pytest"
    "import selenium"
)

missing=()
for command in "${commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("command $command")
done
# Debian keeps initdb and pg_ctl off PATH, under /usr/lib/postgresql/VERSION/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=("command initdb (postgresql)")
fi
for header in /usr/include/sqlite3.h /usr/include/zlib.h /usr/include/mosquitto.h; do
    [ -e "$header" ] || missing+=("header $header")
done
if command -v python3 >/dev/null 2>&1; then
    python3 -m pip --version >/dev/null 2>&1 || missing+=("python3 -m pip")
    for check in "${python_checks[@]}"; do
        python3 -c "$check" >/dev/null 2>&1 || missing+=("python: $check")
    done
fi

if [ "${#missing[@]}" -eq 0 ]; then
    [ "${1:-}" = "--check" ] || echo "==> prerequisites: all present"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    printf 'missing: %s\n' "${missing[@]}"
    exit 1
fi
echo "==> prerequisites missing: ${missing[*]}"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "install-prerequisites: installing needs root or sudo; as root run: scripts/install-prerequisites.sh" >&2
        echo "  (or install by hand: apt-get install ${apt_packages[*]}; python3 -m pip install ${pip_packages[*]})" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-prerequisites: no apt-get here (this script knows Debian/Ubuntu); install by hand:" >&2
    echo "  ${apt_packages[*]}; python3 -m pip install ${pip_packages[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Never start services from package post-install scripts (mosquitto's would take port 1883; the
# tests start their own servers on free ports).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
echo "==> apt-get update / install"
"${as_root[@]}" apt-get "${apt_opts[@]}" update -qq
"${as_root[@]}" apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null

echo "==> pip install"
pip_install() { "${as_root[@]}" python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"; }
# selenium drives Debian's chromium (through chromium-driver) in the dashboard's browser tests.
if ! pip_install "${pip_packages[@]}"; then
    # Debian's own python3 refuses system-wide installs (PEP 668) unless told otherwise.
    pip_install --break-system-packages "${pip_packages[@]}"
fi
