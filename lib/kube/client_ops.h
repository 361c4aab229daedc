/*
 * client_ops: the verbs of a kube_client behind one interface.
 *
 * Everything above lib/kube (reflectors, controllers, reconcilers, the leader
 * elector, the Event recorder) talks to a cluster through the typed verbs of
 * client.h: get, list, create, update, patch (apply and status writes are
 * patches), delete, discovery and watches. A kube_client made with
 * kube_client_new sends them over HTTP to an API server. One made with
 * kube_client_new_with_ops hands each verb, unchanged, to the functions below:
 * that is the seam an in-memory fake (test/fake_kube.h) stands in at, so a
 * reconcile can be run, and made to fail at any call, without an API server.
 *
 * The contract is client.h's: the same arguments, the same ownership (an out
 * object belongs to the caller; on failure *out is untouched and err says
 * why), the same error codes a real server's answer would give. Watch events
 * and the done call may come on any thread but never on the thread that
 * called watch_start, and never after watch_stop returned. The client still
 * counts every call in its stats (requests, by verb), so figures taken from a
 * fake are the figures of the real client.
 *
 * Retries of 429/5xx and the credential refresh on 401 live in the HTTP
 * client (request.c), below this seam: an error an implementation returns
 * reaches the caller as it is.
 */
#ifndef EW_KUBE_CLIENT_OPS_H
#define EW_KUBE_CLIENT_OPS_H

#include "client.h"

struct kube_client_ops {
    kube_code (*get)(void *impl, const struct kube_resource *r, const char *ns, const char *name,
                     cJSON **out, struct kube_error *err);
    kube_code (*list_page)(void *impl, const struct kube_resource *r, const char *ns,
                           const struct kube_list_options *opts, struct kube_list_page *page,
                           struct kube_error *err);
    kube_code (*create)(void *impl, const struct kube_resource *r, const char *ns, const cJSON *obj,
                        const struct kube_write_options *opts, cJSON **out, struct kube_error *err);
    kube_code (*update)(void *impl, const struct kube_resource *r, const char *ns, const char *name,
                        const cJSON *obj, const struct kube_write_options *opts, cJSON **out,
                        struct kube_error *err);
    /* Every patch type; KUBE_PATCH_APPLY is server-side apply (kube_apply comes here). */
    kube_code (*patch)(void *impl, const struct kube_resource *r, const char *ns, const char *name,
                       const char *patch, size_t len, const struct kube_patch_options *opts,
                       cJSON **out, struct kube_error *err);
    kube_code (*delete_object)(void *impl, const struct kube_resource *r, const char *ns,
                               const char *name, const struct kube_delete_options *opts,
                               struct kube_error *err);
    kube_code (*discover_group)(void *impl, const char *group, struct kube_group_versions *out,
                                struct kube_error *err);
    /* *handle identifies the watch to watch_stop. */
    kube_code (*watch_start)(void *impl, const struct kube_resource *r, const char *ns,
                             const struct kube_watch_options *opts, kube_watch_event_fn on_event,
                             kube_watch_done_fn on_done, void *ud, void **handle,
                             struct kube_error *err);
    void (*watch_stop)(void *impl, void *handle);
    /* Rotated credentials; NULL = nothing to do. */
    kube_code (*set_config)(void *impl, const struct kube_rest_config *cfg, struct kube_error *err);
    /* Called by kube_client_free; NULL = the implementation is owned elsewhere. */
    void (*release)(void *impl);
};

/* A client whose verbs are ops' functions on impl. opts as for kube_client_new (name, log;
 * the timeouts and retries are the implementation's business). */
kube_code kube_client_new_with_ops(const struct kube_client_ops *ops, void *impl,
                                   const struct kube_client_options *opts, struct kube_client **out,
                                   struct kube_error *err);

#endif
