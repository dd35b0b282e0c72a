#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# edit-rxe.sh DIR: the build-time edits of the kernel's rxe sources in DIR
# (a copy, never the kernel tree, never the repository), function by
# function. Each replaces text that must occur exactly as often as stated,
# or the build stops: a kernel whose rxe changed is noticed, not silently
# mis-edited. Documentation/odp_mirror.rst ("Soft-RoCE on odp-mirror")
# explains each. The diff of all of them is left in DIR/edits.diff.
set -euo pipefail
dir=$1
cd "$dir"
rm -rf .orig && mkdir .orig && cp ./*.c ./*.h .orig/

# edit FILE COUNT OLD NEW: replace the COUNT occurrences of OLD by NEW
edit() {
	python3 - "$@" <<'EOF'
import sys
path, count, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(path).read()
found = text.count(old)
if found != count:
    sys.exit(f"edit-rxe.sh: {path}: expected {count} of {old!r}, found {found}")
open(path, "w").write(text.replace(old, new))
EOF
}

# rxe.c, rxe_init_device_param(): the device offers implicit ODP.
edit rxe.c 1 'general_caps |= IB_ODP_SUPPORT;' \
	'general_caps |= IB_ODP_SUPPORT | IB_ODP_SUPPORT_IMPLICIT;'
# rxe.c, rxe_link_ops and the module alias: our own rdma link type.
edit rxe.c 1 '.type = "rxe",' '.type = RXE_ODPM_LINK_TYPE,'
edit rxe.c 1 'MODULE_ALIAS_RDMA_LINK("rxe");' 'MODULE_ALIAS_RDMA_LINK(RXE_ODPM_LINK_TYPE);'
# rxe.c, rxe_module_exit(): this module's devices only, not stock's.
edit rxe.c 1 'ib_unregister_driver(RDMA_DRIVER_RXE);' 'rxe_odpm_unregister_devices();'
# rxe_verbs.c, rxe_dev_ops: freeing a device is counted.
edit rxe_verbs.c 1 '.dealloc_driver = rxe_dealloc,' '.dealloc_driver = rxe_odpm_dealloc,'
# rxe_verbs.c, rxe_register_device(): count the device as soon as that
# dealloc_driver is set, so that a failed ib_register_device() (whose
# ib_dealloc_device() calls it) is counted too: the fence of module exit.
edit rxe_verbs.c 1 '	ib_set_device_ops(dev, &rxe_dev_ops);' \
	'	ib_set_device_ops(dev, &rxe_dev_ops);
	rxe_odpm_count_device();'
# rxe_mr.c, rxe_mr_cleanup(): an ODP MR's umem is ours, not an ib_umem_odp.
edit rxe_mr.c 1 '	ib_umem_release(mr->umem);' '	rxe_odpm_umem_release(mr->umem);'
# rxe_net.c, rxe_udp_encap_recv() and rxe_notify(): our devices only.
edit rxe_net.c 3 'rxe_get_dev_from_net(' 'rxe_odpm_get_dev_from_net('
# rxe_net.c, rxe_net_ipv4_init() and rxe_net_ipv6_init(): no socket, but
# no failure either, where stock rdma_rxe holds the port already.
edit rxe_net.c 1 'sock = rxe_setup_udp_tunnel(net, htons(ROCE_V2_UDP_DPORT), false);' \
	'sock = rxe_setup_udp_tunnel(net, htons(ROCE_V2_UDP_DPORT), false);
	if (rxe_odpm_port_taken(sock, net, false))
		return 0;'
edit rxe_net.c 1 'sock = rxe_setup_udp_tunnel(net, htons(ROCE_V2_UDP_DPORT), true);' \
	'sock = rxe_setup_udp_tunnel(net, htons(ROCE_V2_UDP_DPORT), true);
	if (rxe_odpm_port_taken(sock, net, true))
		return 0;'

diff -u -r .orig . --exclude=.orig --exclude='rxe_odpm*' --exclude=edits.diff \
	--exclude=Kbuild --exclude=rxe.mk --exclude='edit-rxe.sh' >edits.diff || true
rm -rf .orig
