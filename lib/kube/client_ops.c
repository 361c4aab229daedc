/*
 * client_ops.c: clients whose verbs are another implementation's.
 *
 * A client made here has no connection and no transport thread: verbs.c and
 * watch.c hand each call to c->ops (see client_ops.h) and count it here as
 * request.c counts an HTTP exchange, so stats and metrics read the same.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

kube_code kube_client_new_with_ops(const struct kube_client_ops *ops, void *impl,
                                   const struct kube_client_options *opts, struct kube_client **out,
                                   struct kube_error *err)
{
    if (!ops || !ops->get || !ops->list_page || !ops->create || !ops->update || !ops->patch ||
        !ops->delete_object || !ops->discover_group || !ops->watch_start || !ops->watch_stop)
        return kube_error_set(err, KUBE_E_ARG, "client ops: every verb must be given");
    struct kube_client *c = ew_calloc(1, sizeof(*c));
    if (opts)
        c->opts = *opts;
    c->log = c->opts.log;
    c->name = ew_strdup(c->opts.name ? c->opts.name : "client");
    c->opts.name = c->name;
    pthread_mutex_init(&c->mu, NULL);
    c->ops = ops;
    c->impl = impl;
    *out = c;
    return KUBE_OK;
}

void kube_client_count_ops_call(struct kube_client *c, enum kube_verb verb, kube_code rc,
                                const struct kube_error *err)
{
    atomic_fetch_add(&c->requests, 1);
    atomic_fetch_add(&c->by_verb[verb], 1);
    if (verb == KUBE_VERB_WATCH)
        atomic_fetch_add(&c->watches_started, 1);
    long status = rc == KUBE_OK ? 200 : (err ? err->http_status : 0);
    if (status)
        atomic_fetch_add(&c->requests_sent, 1);
    if (rc != KUBE_OK)
        atomic_fetch_add(&c->errors, 1);
    kube_client_count_answer(c, verb, status);
}
