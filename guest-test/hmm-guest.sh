# SPDX-License-Identifier: GPL-2.0
# hmm-guest.sh: sourced by the guest's init (modes check and stock), with
# odp-mirror loaded. The kernel's own hmm-tests (/odp/hmm, built by
# build-hmm.sh from this kernel's source), its mirroring tests only, first
# against the kernel's test_hmm.ko (the anchor), then against
# odp_dmirror.ko, in this one boot; the two cannot be loaded at once. After
# each, odp_dmirror_test shows what that module's SNAPSHOT reports.
# Sections: hmm-tests:<module> and kselftest:odp_dmirror_test:<module>;
# report.sh prints the two hmm-tests runs side by side (hmm-compare.sh).

# The tests that only mirror, as build-hmm.sh chose them for this kernel,
# with the harness's own filters; the coherent variants open
# /dev/hmm_dmirror2, which neither module has.
hmm_run() {
	local args="-V hmm_device_coherent" t
	for t in $(cat /odp/hmm/tests); do
		args="$args -t $t"
	done
	# shellcheck disable=SC2086
	(cd /tmp && exec /odp/hmm/hmm-tests $args)
}

# 6.12's test_hmm leaks its two devices on unload (its dmirror_device_remove()
# lacks the put_device() that 7.x has: kmemleak finds each device's name and
# private data). init calls this after its final kmemleak scan: if the scan
# found nothing but objects that test_hmm's insmod allocated, they are noted
# and cleared; anything else stays, and fails the run.
hmm_test_hmm_pid=""
hmm_forget_test_hmm_leaks() {
	local kl=/sys/kernel/debug/kmemleak all mine
	[ -n "$hmm_test_hmm_pid" ] || return 0
	all=$(grep -c '^unreferenced object' $kl)
	mine=$(grep -c "comm \"insmod\", pid $hmm_test_hmm_pid," $kl)
	if [ "$all" -gt 0 ] && [ "$all" = "$mine" ]; then
		echo clear >$kl
		out "ODP-NOTE hmm-tests: test_hmm left $mine objects of its insmod" \
		    "unfreed on rmmod (its own bug, fixed in 7.x): not counted"
	fi
}

hmm_against() {	# hmm_against MODULE KO: load, run both suites, unload
	local pid
	insmod "$2" &
	pid=$!
	wait $pid
	modres $? "insmod $1"
	[ "$1" = test_hmm ] && hmm_test_hmm_pid=$pid
	run_suite "hmm-tests:$1" hmm_run
	run_suite "kselftest:odp_dmirror_test:$1" /odp/bin/odp_dmirror_test
	rmmod "$1"
	modres $? "rmmod $1"
}

if [ -x /odp/hmm/hmm-tests ]; then
	if [ -e /odp/hmm/test_hmm.ko ]; then
		hmm_against test_hmm /odp/hmm/test_hmm.ko
	else
		# hmm-compare.sh lets odp_dmirror run alone only on a stock
		# kernel that says this
		out "ODP-NOTE hmm-tests: this kernel has no test_hmm.ko" \
		    "(no CONFIG_TEST_HMM): odp_dmirror runs alone"
	fi
	hmm_against odp_dmirror /odp/modules/odp_dmirror.ko
fi
