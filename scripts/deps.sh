#!/usr/bin/env bash
# Install what building and testing gopresence needs, once. Idempotent: every step checks first.
# - Debian packages: kamailio (+ sqlite and mysql modules, presence_xml for the stock
#   comparison), sipp, sqlite3, MariaDB (server and client: the tests start private servers,
#   never the system service, which is disabled), build tools.
# - Debian's kamailio source package (the exact 5.6.3 the binary was built from), unpacked under
#   build/src, configured with `make cfg prefix=/usr FLAVOUR=kamailio` so our presence.so carries
#   the version and compile-flag strings Debian's kamailio checks at load time.
# The deb-src entry is derived from the machine's own apt sources: no host is written here.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
mkdir -p "$build"

need_pkgs=(kamailio kamailio-sqlite-modules kamailio-presence-modules kamailio-json-modules kamailio-lua-modules sip-tester sqlite3
           kamailio-mysql-modules mariadb-server mariadb-client galera-4 rsync
           libsqlite3-dev build-essential bison flex dpkg-dev pkg-config libxml2-dev)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

add_deb_src() {
  # deb822 files: copy every "Types: deb" stanza as "Types: deb-src".
  local out=/etc/apt/sources.list.d/gopresence-src.sources
  [ -s "$out" ] && return 0
  local f
  : > "$out.tmp"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in *gopresence-src.sources) continue;; esac
    grep -q -i 'debian' "$f" || continue
    awk 'BEGIN{RS="";ORS="\n\n"} /Types:[ \t]*deb([ \t\n]|$)/ && /debian/ {sub(/Types:[ \t]*deb/,"Types: deb-src"); print}' "$f" >> "$out.tmp"
  done
  # one-line sources.list format
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb[[:space:]]' /etc/apt/sources.list | grep -i debian | sed 's/^deb /deb-src /' > /etc/apt/sources.list.d/gopresence-src.list || true
  fi
  mv "$out.tmp" "$out"
}

if [ ${#missing[@]} -gt 0 ] || [ ! -f "$build/src/.configured" ]; then
  add_deb_src
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the package's own service must not hold port 5060 against our tests
  systemctl disable --now kamailio >/dev/null 2>&1 || true
  pkill -x kamailio 2>/dev/null || true
  # nor the system MariaDB: the tests run their own (tests/harness/mariadb.go)
  systemctl disable --now mariadb >/dev/null 2>&1 || service mariadb stop >/dev/null 2>&1 || true
fi

if [ ! -f "$build/src/.configured" ]; then
  rm -rf "$build/src"; mkdir -p "$build/src"
  ( cd "$build/src" && apt-get source -qq kamailio >/dev/null )
  srcdir=$(find "$build/src" -maxdepth 1 -type d -name 'kamailio-*' | head -1)
  [ -n "$srcdir" ] || { echo "deps: kamailio source not found" >&2; exit 1; }
  ln -sfn "$srcdir" "$build/src/kamailio"
  ( cd "$build/src/kamailio" && make cfg prefix=/usr FLAVOUR=kamailio >/dev/null )
  touch "$build/src/.configured"
fi
