#!/bin/sh
# install-deps.sh: the one install step that `make`, `make test` and `make demo` run.
#
# Installs, from Debian's packages only, what flowhunt builds against (libuv, libzstd, libjudy,
# libmaxminddb; jansson to parse untrusted JSON threat feeds rather than a parser of our own;
# OpenSSL's libcrypto for the audit trail's SHA-256), clang with its libFuzzer runtime for the
# fuzz targets, and the reference tools the tests cross-check against (tshark, nfdump,
# softflowd, pmacct, tcpreplay, and chromium, headless, to open the HTML report). When
# everything is present it prints nothing and does nothing, so it is cheap to run before every
# build.
set -eu

PKGS="gcc make pkg-config libuv1-dev libzstd-dev libjudy-dev libmaxminddb-dev \
libjansson-dev libssl-dev \
clang libclang-rt-14-dev valgrind tshark nfdump softflowd pmacct tcpreplay chromium"
# extra packages one target needs beyond these (make bench: clickhouse-server, clickhouse-client)
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: not root and no sudo; install:$missing" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
