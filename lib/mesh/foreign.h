/*
 * foreign: telling eastwest's objects in a member from objects someone else
 * wrote under the same name (docs/design.md, "Foreign objects").
 *
 * An object is eastwest's when it carries app.kubernetes.io/managed-by:
 * eastwest-operator and eastwest.io/mesh: <the MeshNetwork> (for a
 * CrossClusterService's objects: eastwest.io/service: <ns>.<name> instead of
 * the mesh). Anything else of the same name is foreign: a user who followed
 * Istio's multicluster guide has istio-eastwestgateway and
 * cross-network-gateway already. The member caches select by those labels, so
 * an object the desired set names but the cache does not hold is either absent,
 * ours and not yet seen by the watch, or foreign: mesh_object_lookup asks the
 * API server which. A foreign object is never written (a server-side apply with
 * force would put our labels on it, and cleanup would later delete it) unless
 * the MeshNetwork sets spec.adoptExistingObjects.
 */
#ifndef EW_MESH_FOREIGN_H
#define EW_MESH_FOREIGN_H

#include "base/strbuf.h"
#include "kube/client.h"

#include <cjson/cJSON.h>

/* How long a reconcile that left a foreign object alone waits before it looks again: the
 * caches (label-selected) see nothing of it, so its deletion would wake nothing. */
#define MESH_FOREIGN_LOOK 30.0

enum mesh_found {
    MESH_FOUND_ABSENT,  /* 404: nothing of that name */
    MESH_FOUND_OURS,    /* ours (the cache has not seen it yet) */
    MESH_FOUND_FOREIGN, /* someone else's */
    MESH_FOUND_ERROR,   /* the read failed: err says why; write nothing */
};

/* 1 when obj carries managed-by: eastwest-operator and, when mesh is not NULL,
 * eastwest.io/mesh: mesh, and when service is not NULL, eastwest.io/service: service. */
int mesh_object_is_ours(const cJSON *obj, const char *mesh, const char *service);

/* GET r ns/name (ns NULL: cluster-scoped) and judge it as mesh_object_is_ours does.
 * *live: the object for OURS and FOREIGN (caller frees), else NULL. */
enum mesh_found mesh_object_lookup(struct kube_client *c, const struct kube_resource *r,
                                   const char *ns, const char *name, const char *mesh,
                                   const char *service, cJSON **live, struct kube_error *err);

/* The report of foreign objects in one member (list: mesh_foreign_add's), for the
 * condition ForeignObjects and its Event: the same words in both. */
void mesh_foreign_message(struct strbuf *out, const char *cluster, const char *list);

/* Append "Kind ns/name" to list, after ", " when list is not empty. */
void mesh_foreign_add(struct strbuf *list, const char *kind, const char *ns, const char *name);

#endif
