// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_odpm_glue.c: what lets rdma_rxe_odpm and the stock rdma_rxe run in
 * one kernel. Both register devices with driver_id RDMA_DRIVER_RXE, which
 * librxe and the uverbs ioctls require, so the kernel's lookups by driver
 * id see the devices of both. The build-time edits route this module's
 * uses of them here:
 *
 * - a netdev's rxe device, as the receive path and the netdev notifier see
 *   it, is one of this module's (ops.owner is this module), never stock's;
 * - module exit unregisters this module's devices only, and waits until
 *   every one of them has been freed, also those whose netdev went away
 *   and whose unregistration was queued: ib_unregister_driver() would take
 *   stock's devices along;
 * - where the RoCE v2 UDP port of a network namespace is already bound
 *   (stock rdma_rxe has a device there), devices of this module work
 *   without a receive socket: packets a device sends to its own GIDs go
 *   through rxe's loopback and never reach a socket. In a namespace of its
 *   own (CONFIG_NET_NS), a device of this module has its own socket.
 */
#include <linux/atomic.h>
#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <net/net_namespace.h>

#include "rxe.h"
#include "rxe_loc.h"

/*
 * Devices of this module not yet freed, counted from the moment their
 * dealloc_driver is rxe_odpm_dealloc(): the fence of module exit
 */
static atomic_t rxe_odpm_ndevs = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(rxe_odpm_devs_freed);

/**
 * rxe_odpm_get_dev_from_net() - this module's rxe device on a netdev
 * @ndev: the netdev
 *
 * rxe_get_dev_from_net(), less the devices of other modules.
 *
 * Return: the device with a reference (ib_device_put() it), or NULL.
 */
struct rxe_dev *rxe_odpm_get_dev_from_net(struct net_device *ndev)
{
	struct rxe_dev *rxe = rxe_get_dev_from_net(ndev);

	if (rxe && rxe->ib_dev.ops.owner != THIS_MODULE) {
		ib_device_put(&rxe->ib_dev);
		return NULL;
	}
	return rxe;
}

/**
 * rxe_odpm_count_device() - count a device whose dealloc_driver is ours
 *
 * The build-time edit of rxe_register_device() calls this right after
 * ib_set_device_ops() has set dealloc_driver to rxe_odpm_dealloc(). From
 * then on the device is freed through rxe_odpm_dealloc() exactly once,
 * whatever happens next: ib_register_device() may fail (a name already
 * taken, say), and rxe_net_add() then calls ib_dealloc_device() itself;
 * or it succeeds, and the unregistration calls it, however soon a netdev's
 * removal brings that about. Counting here, not after rxe_net_add()
 * succeeded, keeps every decrement matched by an increment made before it.
 */
void rxe_odpm_count_device(void)
{
	atomic_inc(&rxe_odpm_ndevs);
}

/**
 * rxe_odpm_dealloc() - the device's dealloc_driver: rxe_dealloc(), counted
 * @ib_dev: the device, unregistered
 */
void rxe_odpm_dealloc(struct ib_device *ib_dev)
{
	rxe_dealloc(ib_dev);
	if (atomic_dec_and_test(&rxe_odpm_ndevs))
		wake_up_all(&rxe_odpm_devs_freed);
}

/* One device of this module that is still registered, with a reference */
static struct rxe_dev *rxe_odpm_find_dev(void)
{
	struct rxe_dev *rxe = NULL;
	struct net_device *ndev;
	struct net *net;

	rcu_read_lock();
	for_each_net_rcu(net) {
		for_each_netdev_rcu(net, ndev) {
			rxe = rxe_odpm_get_dev_from_net(ndev);
			if (rxe)
				goto out;
		}
	}
out:
	rcu_read_unlock();
	return rxe;
}

/**
 * rxe_odpm_unregister_devices() - unregister this module's devices
 *
 * What ib_unregister_driver(RDMA_DRIVER_RXE) does at module exit, for this
 * module's devices only: unregister each, then wait until all are freed.
 * Called after rdma_link_unregister(), so no device is added meanwhile.
 *
 * Context: may sleep.
 */
void rxe_odpm_unregister_devices(void)
{
	struct rxe_dev *rxe;

	while ((rxe = rxe_odpm_find_dev()))
		ib_unregister_device_and_put(&rxe->ib_dev);
	wait_event(rxe_odpm_devs_freed, atomic_read(&rxe_odpm_ndevs) == 0);
}

/**
 * rxe_odpm_port_taken() - go on without a UDP socket if the port is bound
 * @sock: what creating the RoCE v2 socket of @net gave
 * @net: the network namespace
 * @ipv6: the IPv6 socket, else the IPv4 one
 *
 * Return: true if the port is bound already (by stock rdma_rxe, as a
 * rule): the caller goes on without a socket, and this module's devices
 * in @net reach only their own GIDs. false otherwise: the caller handles
 * @sock as before.
 */
bool rxe_odpm_port_taken(struct socket *sock, struct net *net, bool ipv6)
{
	if (!IS_ERR(sock) || PTR_ERR(sock) != -EADDRINUSE)
		return false;
	pr_info("UDP port %d (%s) is bound already in this network namespace: its %s devices reach only their own GIDs\n",
		ROCE_V2_UDP_DPORT, ipv6 ? "IPv6" : "IPv4", KBUILD_MODNAME);
	return true;
}
