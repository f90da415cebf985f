#!/bin/sh
# deps.sh: install what simrun needs to build and test, if it is missing.
# Debian packages only; uses sudo when not root.  Prints nothing when all is
# there already.
set -e
pkgs="cmake make gcc pkg-config libsqlite3-dev libcjson-dev libcriterion-dev sqlite3 valgrind chromium python3 parallel"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps.sh: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
