#!/bin/sh
# Install what a fresh Debian machine lacks to build, test and demo chatvault,
# then generate the build system. Safe to run again: it only installs what is
# missing and never asks a question.
set -eu

PKGS="build-essential autoconf automake autopoint gettext libtool pkg-config
      libncurses-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev
      libgcrypt20-dev libxml2-dev libgmime-3.0-dev libpango1.0-dev
      libcairo2-dev libarchive-dev python3 python3-cryptography tmux sqlite3
      qpdf poppler-utils fonts-noto-core fonts-noto-cjk fonts-dejavu-core
      libemail-mime-perl locales openssl ca-certificates"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ -n "$missing" ]; then
    echo "setup: installing:$missing" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

# The console tests need a UTF-8 and a German locale.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$' ||
   ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
    $SUDO sed -i -e 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' -e 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    $SUDO locale-gen >/dev/null
fi

cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
