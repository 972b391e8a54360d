#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real, when they are missing.
set -euo pipefail
# command:package pairs; a command that is present means its package is.
need=(
  "/usr/sbin/slapd:slapd"
  "ldapsearch:ldap-utils"
  "softhsm2-util:softhsm2"
  "pkcs11-tool:opensc"
  "certutil:libnss3-tools"
  "openssl:openssl"
  "promtool:prometheus"
  "dscreate:389-ds-base"
  "ldclt:389-ds-base"
  "/usr/sbin/haproxy:haproxy"
)
missing=()
for pair in "${need[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || missing+=("$pkg")
done
/usr/bin/python3 -c 'import ldap' 2>/dev/null || missing+=(python3-ldap)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "shrtok-proxy: missing Debian packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# python-ldap is used through Debian's /usr/bin/python3, not any other python3 on PATH.
# Packages such as slapd start a system daemon on install; tests use their own instances on other ports.
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
