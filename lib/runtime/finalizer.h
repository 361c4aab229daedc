/*
 * finalizer: one finalizer on an object, read and written the one way both
 * controllers need.
 *
 * A controller that must clean up before its object goes keeps a finalizer on
 * it: it adds it before it writes anything, and removes it when the cleanup is
 * done. The write is a JSON merge patch of metadata.finalizers (the object's
 * other finalizers kept, in their order, this one last when present) guarded
 * by metadata.resourceVersion: a change made since the object was read makes
 * the patch fail with a conflict instead of dropping another finalizer, and the
 * change comes back through the watch to be looked at again.
 */
#ifndef EW_RT_FINALIZER_H
#define EW_RT_FINALIZER_H

#include "kube/client.h"

/* 1 when obj's metadata.finalizers holds name, else 0. */
int rt_finalizer_present(const cJSON *obj, const char *name);

/* Add (present) or remove name in obj's finalizers, by one merge patch of the object
 * named by obj's metadata.namespace and metadata.name. *out (may be NULL) gets the
 * object the server returned (the caller's to free), NULL on failure. err says why on
 * failure. */
kube_code rt_finalizer_set(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                           const char *name, int present, cJSON **out, struct kube_error *err);

#endif
