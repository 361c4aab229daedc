/*
 * objects: the Kubernetes objects eastwest writes in member clusters, built
 * as cJSON trees, and the test of whether a live object still matches.
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
#ifndef EW_MESH_OBJECTS_H
#define EW_MESH_OBJECTS_H

#include "api.h"
#include "kube/client.h"

#define MESH_FIELD_MANAGER      "eastwest-operator"
#define MESH_LABEL_MANAGED_BY   "app.kubernetes.io/managed-by"
#define MESH_LABEL_MESH         "eastwest.io/mesh"
#define MESH_LABEL_SERVICE      "eastwest.io/service"
#define MESH_ANNOTATION_OWNER   "eastwest.io/owner-uid"
#define MESH_ANNOTATION_HASH    "eastwest.io/applied-hash"
#define MESH_LABEL_NETWORK      "topology.istio.io/network"
#define MESH_GATEWAY_NAME       "istio-eastwestgateway"
#define MESH_ISTIO_GATEWAY_NAME "cross-network-gateway"
#define MESH_CACERTS_NAME       "cacerts"
#define MESH_FINALIZER          "eastwest.io/cleanup"

/* Longest wait between a member's watch reconnects (the reflectors' backoff doubles
 * from 0.8 s up to this). A member that comes back is seen within this (plus jitter),
 * and everything converges within 15 s of its return; a down member costs one failed
 * connect per watch per 8 s. Reconcile retries keep the work queue's 30 s cap. */
#define MESH_MEMBER_RECONNECT_MAX 8.0

/* Label selector of everything written for one mesh: caller frees. */
char *mesh_selector_for_mesh(const char *mesh);

extern const struct kube_resource MESH_RES_GATEWAYS;             /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_SERVICEENTRIES;       /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_DESTINATIONRULES;     /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_MESHNETWORKS;         /* eastwest.io/v1alpha1 */
extern const struct kube_resource MESH_RES_CROSSCLUSTERSERVICES; /* eastwest.io/v1alpha1 */

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

/* o[a] or o[a][b] (b NULL: one level); NULL when absent or o is not an object. */
const cJSON *mesh_json_get(const cJSON *o, const char *a, const char *b);
/* The same when it is a string, else NULL. */
const char *mesh_json_str(const cJSON *o, const char *a, const char *b);

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

/* The east-west gateway of one member (docs/design.md section 3): ServiceAccount, Role,
 * RoleBinding, Deployment, Service and, when hosts is not empty, the Istio Gateway.
 * hosts: the hosts this member exports (ExportedOnly) - ignored for AllLocal, whose
 * Gateway has the one host "*". */
void mesh_build_gateway(const struct mesh_network *net, const struct mesh_cluster *member,
                        char *const *hosts, size_t nhosts, struct mesh_desired_set *out);
/* The apply body that sets the Istio namespace's network label (nothing else). */
cJSON *mesh_build_network_label(const struct mesh_network *net, const struct mesh_cluster *member);

/* Addresses from a Service's status.loadBalancer.ingress (ip or hostname, in order);
 * caller frees each and the array. *all_ips is set to 1 when every one is an IP. */
char **mesh_service_ingress(const cJSON *svc, size_t *n, int *all_ips);
/* The addresses other clusters use to reach a member's east-west gateway, from its live
 * Service (NULL: not created yet); *out as mesh_service_ingress, set in every case: the
 * one exception to api.h's ownership rule, because the addresses are real even while
 * the port is missing (the status keeps showing them), so the caller always frees them.
 * MESH_OK when it has at least one address and the tls port 15443; else a problem whose
 * message starts with desc ("cluster eu: Service istio-system/istio-eastwestgateway")
 * and names the field: GatewayPortMissing (spec.ports), NoGatewayAddress
 * (status.loadBalancer.ingress empty, or no entry with an ip or hostname). */
mesh_code mesh_gateway_addresses(const cJSON *svc, const char *desc, char ***out, size_t *n,
                                 struct mesh_problem *p);

#endif
