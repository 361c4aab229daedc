/*
 * connect.c: kubeconfig to client for the subcommands (see connect.h).
 */
#include "connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plugin_connect(const struct plugin_opts *o, const char *context, const char *name,
                   struct plugin_conn *out)
{
    memset(out, 0, sizeof(*out));
    struct kube_error err = KUBE_ERROR_INIT;
    const struct kube_config_options co = {
        .explicit_path = o->kubeconfig,
        .context = context,
        .kubeconfig_env = getenv("KUBECONFIG"),
        .home = getenv("HOME"),
    };
    if (kube_config_load(&co, &out->cfg, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: %s\n", err.message);
        kube_error_clear(&err);
        plugin_disconnect(out);
        return 1;
    }
    const struct kube_client_options opts = {.name = name, .max_retries = 2};
    if (kube_client_new(&out->cfg, &opts, &out->client, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: %s\n", err.message);
        kube_error_clear(&err);
        plugin_disconnect(out);
        return 1;
    }
    return 0;
}

int plugin_connect_home(const struct plugin_opts *o, struct plugin_conn *out)
{
    return plugin_connect(o, o->home_context, "home", out);
}

void plugin_disconnect(struct plugin_conn *c)
{
    kube_client_free(c->client);
    kube_rest_config_free(&c->cfg);
    memset(c, 0, sizeof(*c));
}
