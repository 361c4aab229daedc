/*
 * object_meta: what every object eastwest writes carries, and the test of
 * whether a live object still matches the desired one.
 *
 * Every written object carries the labels app.kubernetes.io/managed-by:
 * eastwest-operator and eastwest.io/mesh: <MeshNetwork> (plus
 * eastwest.io/service: <ns>.<name> for service objects) and the annotation
 * eastwest.io/owner-uid, so cleanup can find it by label (OwnerReferences
 * cannot cross clusters). The one exception is the Istio namespace, of which
 * eastwest owns only the topology.istio.io/network label: it must never be
 * found by the cleanup selector.
 *
 * Writes are server-side applies. Whether one is needed is decided without a
 * request: the desired object carries eastwest.io/applied-hash, a hash of
 * itself, and a live object needs an apply when that hash differs (the spec
 * changed, including fields removed from it) or when a desired field no longer
 * has the desired value in the live object (someone edited it). Fields that
 * the API server or other managers add are ignored, so a steady state writes
 * nothing.
 */
#ifndef EW_MESH_OBJECT_META_H
#define EW_MESH_OBJECT_META_H

#include <cjson/cJSON.h>

#define MESH_FIELD_MANAGER    "eastwest-operator"
#define MESH_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define MESH_LABEL_MESH       "eastwest.io/mesh"
#define MESH_LABEL_SERVICE    "eastwest.io/service"
#define MESH_ANNOTATION_OWNER "eastwest.io/owner-uid"
#define MESH_ANNOTATION_HASH  "eastwest.io/applied-hash"

/* Label selector of everything written for one mesh: caller frees. */
char *mesh_selector_for_mesh(const char *mesh);

/* Who owns a written object. */
struct mesh_owner {
    const char *mesh;    /* MeshNetwork name */
    const char *service; /* "<ns>.<name>" of a CrossClusterService, or NULL */
    const char *uid;     /* the owning resource's UID */
};

/* {apiVersion, kind, metadata: {name, namespace, labels, annotations}} with the owner's
 * labels and annotation. ns may be NULL (cluster-scoped). */
cJSON *mesh_object_new(const char *api_version, const char *kind, const char *ns, const char *name,
                       const struct mesh_owner *owner);
/* Add a label or annotation (creating the map when needed). */
void mesh_object_set_label(cJSON *obj, const char *key, const char *value);
void mesh_object_set_annotation(cJSON *obj, const char *key, const char *value);

/* Compute the hash of obj (without its own hash annotation) and store it as the
 * eastwest.io/applied-hash annotation. */
void mesh_object_stamp(cJSON *obj);
/* 1 when live is NULL, carries another applied hash, or differs from desired in a
 * field desired sets (empty maps and lists in desired match an absent field). */
int mesh_object_needs_apply(const cJSON *desired, const cJSON *live);
/* Is every field of want present with the same value in have? */
int mesh_json_subset(const cJSON *want, const cJSON *have);

#endif
