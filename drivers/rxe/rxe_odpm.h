/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rdma_rxe_odpm: the kernel's soft-RoCE driver (rxe), built from the test
 * kernel's own rxe sources, with its on-demand paging on odp-mirror.
 *
 * This header is force-included (-include) into every object of the
 * module, so that the few build-time edits of the kernel's rxe files
 * (edit-rxe.sh) can call the functions below without adding #include
 * lines. It declares only what those edits call.
 */
#ifndef _RXE_ODPM_H
#define _RXE_ODPM_H

#include <linux/types.h>

struct ib_device;
struct ib_umem;
struct net;
struct net_device;
struct rxe_dev;
struct socket;

/* rdma link type of the variant: rdma link add NAME type rxe_odpm netdev DEV */
#define RXE_ODPM_LINK_TYPE	"rxe_odpm"

/* rxe_odpm.c: an MR's umem, ODP (ours) or pinned (ib_umem_release()) */
void rxe_odpm_umem_release(struct ib_umem *umem);

/* rxe_odpm_glue.c: this module's devices, apart from stock rdma_rxe's */
struct rxe_dev *rxe_odpm_get_dev_from_net(struct net_device *ndev);
void rxe_odpm_count_device(void);
void rxe_odpm_dealloc(struct ib_device *ib_dev);
void rxe_odpm_unregister_devices(void);
bool rxe_odpm_port_taken(struct socket *sock, struct net *net, bool ipv6);

#endif /* _RXE_ODPM_H */
