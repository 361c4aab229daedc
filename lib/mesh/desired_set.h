/*
 * desired_set: the objects one reconcile means to write in one member, each
 * with the resource it belongs to.
 *
 * The gateway builder (objects.h) fills a set; the member sync (member_sync.c)
 * applies what differs from the live objects and finds a desired object again
 * by (resource, namespace, name); plan prints a set. Ownership: the set owns
 * every object added to it; mesh_desired_release frees them and leaves an
 * empty set.
 */
#ifndef EW_MESH_DESIRED_SET_H
#define EW_MESH_DESIRED_SET_H

#include "kube/client.h"

/* One object to write, and the resource it belongs to. */
struct mesh_desired {
    const struct kube_resource *resource;
    cJSON *obj; /* owned */
};

struct mesh_desired_set {
    struct mesh_desired *items;
    size_t n, cap;
};

void mesh_desired_add(struct mesh_desired_set *s, const struct kube_resource *r, cJSON *obj);
void mesh_desired_release(struct mesh_desired_set *s);
/* The entry for (resource, namespace, name), or NULL. */
const struct mesh_desired *mesh_desired_find(const struct mesh_desired_set *s,
                                             const struct kube_resource *r, const char *ns,
                                             const char *name);

#endif
