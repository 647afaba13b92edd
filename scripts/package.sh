#!/usr/bin/env bash
# Builds the fleet's Debian packages (mdc-agent, mdc, cad-stub) from the
# default build and checks them with lintian.
#   scripts/package.sh                    build/packages/*_<version>_amd64.deb
#   scripts/package.sh --version 0.2.0 --out DIR
#                                         another version number, another directory
set -euo pipefail
cd "$(dirname "$0")/.."

version="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$version" ] && ! [[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  echo "package.sh: --version \"$version\": a Debian upstream version such as 0.2.0 or 0.1.0~rc1" >&2
  exit 2
fi

bash scripts/install-deps.sh
cmake --preset default > /dev/null
cmake --build --preset default -j "$(nproc)"
out=${out:-$PWD/build/packages}
mkdir -p "$out"
args=(-G DEB -B "$out")
[ -n "$version" ] && args+=(-D "CPACK_PACKAGE_VERSION=$version")
(cd build && cpack "${args[@]}")
rm -rf "$out/_CPack_Packages"
echo "== lintian"
lintian --fail-on error,warning "$out"/*.deb
ls -l "$out"/*.deb
