# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the guest-test harness; sourced, not run.
#
# Everything downloaded or built lives under $ODP_CACHE, never in the repo:
#   apt/<suite>/        private apt lists and downloaded .debs per suite
#   src/<pkg-version>/  unpacked kernel source trees
#   <version>-<hash>/   kernel build trees (O=), keyed by the config fragments
#   stock/<version>/    Debian's stock bookworm image and headers

ODP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODP_CACHE=${ODP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/odp-mirror}
# logs of the last check, demo, bench and lint; a second checkout can
# point ODP_RUN elsewhere and run at the same time
ODP_RUN=${ODP_RUN:-$ODP_CACHE/run}
mkdir -p "$ODP_CACHE" "$ODP_RUN"

die() { echo "odp-mirror: $*" >&2; exit 1; }
log() { echo "odp-mirror: $*" >&2; }

# Print a phase's wall time: phase_begin NAME; ...; phase_end
phase_begin() { ODP_PHASE=$1; ODP_PHASE_T0=$(date +%s); log "== $1"; }
phase_end() { log "== $ODP_PHASE took $(( $(date +%s) - ODP_PHASE_T0 ))s"; }

# apt_suite SUITE: set APT_OPTS and APT_DIR to a private apt configuration for SUITE
# (plus its -security suite where one exists), refreshing the lists at most
# once a day. The system's own sources are never read nor changed.
apt_suite() {
	local suite=$1 d=$ODP_CACHE/apt/$1
	APT_DIR=$d
	mkdir -p "$d/lists/partial" "$d/archives/partial"
	{
		echo "deb http://deb.debian.org/debian $suite main"
		[ "$suite" = sid ] ||
			echo "deb http://deb.debian.org/debian-security $suite-security main"
	} >"$d/sources.list"
	APT_OPTS=(-o "Dir::Etc::SourceList=$d/sources.list"
		  -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root
		  -o "Dir::State::Lists=$d/lists"
		  -o "Dir::Cache::archives=$d/archives"
		  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
		log "refreshing apt lists for $suite"
		apt-get "${APT_OPTS[@]}" -q update >/dev/null || die "apt update for $suite failed"
	fi
}

# apt_fetch PKG: download PKG's .deb for the current suite into its cache and
# print the path of the .deb.
apt_fetch() {
	local pkg=$1 d=$APT_DIR/archives ver deb
	ver=$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "$pkg" 2>/dev/null |
	      sed -n 's/^Version: //p' | head -n 1)
	[ -n "$ver" ] || die "package $pkg not found"
	deb=$(ls "$d/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		(cd "$d" && apt-get "${APT_OPTS[@]}" -q download "$pkg" >/dev/null) ||
			die "download of $pkg failed"
		deb=$(ls "$d/${pkg}_${ver//:/%3a}_"*.deb | head -n 1)
	fi
	echo "$deb"
}

# with_lock FILE CMD...: run CMD holding an exclusive flock on FILE.
with_lock() {
	local f=$1; shift
	(flock 9 || exit 1; "$@") 9>"$f"
}
