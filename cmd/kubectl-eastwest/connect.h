/*
 * connect: a subcommand's connection to one cluster of the user's kubeconfig.
 *
 * main.c parses the flags and calls a subcommand; the subcommands that talk to
 * a cluster (link, status, remove-finalizer) open their connections here, so
 * that they depend on this small module and main.c on them, and nothing
 * depends back on main.c. The kubeconfig is found as kubectl finds it
 * (--kubeconfig, $KUBECONFIG, ~/.kube/config); the client retries twice.
 */
#ifndef EW_PLUGIN_CONNECT_H
#define EW_PLUGIN_CONNECT_H

#include "plugin.h"
#include "kube/kubeconfig.h"

/* One cluster: its connection settings (link reads them for the member's kubeconfig)
 * and a client on them. Both owned. */
struct plugin_conn {
    struct kube_rest_config cfg;
    struct kube_client *client;
};

/* Connect to kubeconfig context (NULL = current); name names the client in its
 * messages. 0 on success; 1 when it failed: why is on stderr and *out is zeroed. */
int plugin_connect(const struct plugin_opts *o, const char *context, const char *name,
                   struct plugin_conn *out);
/* The home cluster: --home-context, else the current context. */
int plugin_connect_home(const struct plugin_opts *o, struct plugin_conn *out);
/* Free the client and the settings, and zero c (a zeroed one may be passed). */
void plugin_disconnect(struct plugin_conn *c);

#endif
