#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-check.sh: make dkms. What a user's `dkms add` and `dkms build` do,
# with Debian's dkms, against Debian bookworm's stock kernel headers
# (linux-headers-6.1.0-*-amd64, fetched into the cache, not installed):
# add the tracked sources, build both modules, check them, remove again.
set -euo pipefail
. "$(dirname "$0")/../guest-test/lib.sh"
cd "$ODP_TOP"

dpkg-query -W -f='${Status}\n' dkms 2>/dev/null | grep -q '^install ok installed' || {
	log "installing dkms"
	apt-get -q update >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends dkms >/dev/null
}
read -r _ hdrs < <("$ODP_TOP/guest-test/stock-kernel.sh")
kver=$(basename "$hdrs" | sed 's/^linux-headers-//')
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' dkms.conf)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

# the sources as a user gets them: the tracked files, nothing built
src=/usr/src/$name-$ver
dkms remove "$name/$ver" --all >/dev/null 2>&1 || true
rm -rf "$src" && mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard 2>/dev/null | xargs -0 cp --parents -t "$src" ||
	rsync -a --exclude=.git --exclude='selftests/out' ./ "$src/"
trap 'dkms remove "$name/$ver" --all >/dev/null 2>&1 || true; rm -rf "$src"' EXIT

dkms add "$name/$ver"
if ! dkms build "$name/$ver" -k "$kver" --kernelsourcedir "$hdrs"; then
	cat "/var/lib/dkms/$name/$ver/build/make.log" 2>/dev/null || true
	echo "not ok - dkms build against $kver"
	exit 1
fi
dkms status "$name/$ver" -k "$kver"
for m in odp-mirror odp_uapi odp_sim_device odp_edu; do
	ko=$(find "/var/lib/dkms/$name/$ver/$kver" -name "$m.ko*" | head -n 1)
	[ -n "$ko" ] || { echo "not ok - dkms built no $m.ko"; exit 1; }
done
echo "ok - dkms build of $name/$ver against the stock $kver headers"
