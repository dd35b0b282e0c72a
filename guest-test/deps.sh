#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deps.sh: install the Debian packages the harness needs, if any is missing
# (needs root, as on the project's machines).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs="build-essential bc bison flex libelf-dev libssl-dev dwarves cpio kmod
      xz-utils zstd rsync python3 qemu-system-x86 busybox-static sparse"
missing=$(for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
done)
[ -z "$missing" ] && exit 0
log "installing:" $missing
export DEBIAN_FRONTEND=noninteractive
apt-get -q update >/dev/null
# shellcheck disable=SC2086
apt-get -q install -y --no-install-recommends $missing >/dev/null
