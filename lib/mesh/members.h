/*
 * members: one MeshNetwork's connections to its member clusters, and the
 * caches the reconciler reads instead of asking the API server.
 *
 * A member holds a reference to its cluster's client (lib/runtime/clusterset:
 * rotated kubeconfig Secrets update the same client in place) and one
 * reflector per kind of object the reconciler reads in that member: what
 * eastwest wrote there (label selector of the mesh), the cacerts Secret, the
 * Istio namespace and its ConfigMaps (istiod's mesh config and root). Every
 * change in those caches, and every change of a reflector's health, queues
 * the MeshNetwork again, so drift is seen within a watch round trip and a
 * member that goes away is reported at once.
 *
 * Threads: members are created, used and freed by the worker reconciling
 * their MeshNetwork (the work queue never runs one key twice at once); the
 * reflectors' callbacks only queue the key.
 */
#ifndef EW_MESH_MEMBERS_H
#define EW_MESH_MEMBERS_H

#include "api.h"
#include "cacerts.h"
#include "runtime/clusterset.h"
#include "runtime/controller.h"

enum mesh_watch {
    MESH_W_SERVICES,
    MESH_W_DEPLOYMENTS,
    MESH_W_SERVICEACCOUNTS,
    MESH_W_ROLES,
    MESH_W_ROLEBINDINGS,
    MESH_W_GATEWAYS,
    MESH_W_CACERTS,
    MESH_W_CONFIGMAPS,
    MESH_W_NAMESPACE,
    MESH_W_COUNT
};

/* The resource each watch lists (for cleanup and messages). */
const struct kube_resource *mesh_watch_resource(enum mesh_watch w);

struct mesh_member {
    char *cluster;
    char *config_version; /* what the connection was made from: "home" or the Secret's
                             resourceVersion and key */
    char *istio_ns;
    char *secret_name, *secret_key; /* its kubeconfigSecretRef (NULL: the home cluster), kept
                                       so that a member removed from the spec can be found
                                       again for its cleanup (status.removedClusters) */
    struct kube_client *client;     /* a reference from the clusterset */
    struct rt_reflector *watches[MESH_W_COUNT];
    struct mesh_member_wake *wake;         /* what the reflectors' callbacks queue */
    struct mesh_cacerts_memo cacerts_memo; /* member_sync's, between reconciles */
};

struct mesh_member_options {
    const char *mesh;     /* MeshNetwork name: the key queued on changes */
    const char *cluster;  /* member name */
    const char *istio_ns; /* spec.istioNamespace */
    const char *config_version;
    const char *secret_name, *secret_key; /* the member's kubeconfigSecretRef, or NULL */
    struct rt_clusterset *clusters;
    struct rt_controller *controller;
    struct ew_logger *log;
    struct rt_metrics *metrics; /* the caches' gauges; may be NULL */
};

/* The connection settings of member c from its kubeconfig Secret (secret: the Secret's
 * object, NULL when it does not exist; desc names it: "Secret eastwest-system/eu-kc"), and
 * in *version (caller frees; NULL on error) a string that changes when the Secret does.
 * Problems name the cluster, the Secret and the key: KubeconfigSecretNotFound,
 * KubeconfigKeyMissing (with the keys the Secret has), KubeconfigInvalid (not base64,
 * empty, or the kubeconfig parser's message). No Secret byte is ever put in a message.
 * On failure cfg is released and zeroed and *version is NULL: nothing to free (api.h). */
mesh_code mesh_member_config_from_secret(const cJSON *secret, const char *desc,
                                         const struct mesh_cluster *c, struct kube_rest_config *cfg,
                                         char **version, struct mesh_problem *p);
/* The same with a policy: the kubeconfig is someone else's (kube_config_from_untrusted),
 * and allow (KUBE_CONFIG_ALLOW_*, from the operator's --allow-member-kubeconfig-files and
 * --allow-member-exec) says which of its file and exec fields may be used. A refused field
 * is KubeconfigRefused, naming the Secret, its key, the field and the flag that would
 * allow it. mesh_member_config_from_secret allows none. */
mesh_code mesh_member_config_from_secret_allow(const cJSON *secret, const char *desc,
                                               const struct mesh_cluster *c, unsigned allow,
                                               struct kube_rest_config *cfg, char **version,
                                               struct mesh_problem *p);

/* Start watching a member whose client is already in the clusterset. NULL when the
 * clusterset has no such member. */
struct mesh_member *mesh_member_start(const struct mesh_member_options *o);
void mesh_member_stop(struct mesh_member *m, struct rt_clusterset *clusters);

struct rt_store *mesh_member_store(struct mesh_member *m, enum mesh_watch w);
/* Every cache has listed. */
int mesh_member_synced(struct mesh_member *m);
/* Every watch works; else 0 and *error (caller frees) says which failed and why. */
int mesh_member_healthy(struct mesh_member *m, char **error);
/* 1 when a ConfigMap of the Istio namespace (cache key "ns/name" or "name") is one a
 * reconcile reads (istio, istio-sidecar-injector, istio-ca-root-cert); changes to any
 * other, such as istiod's leader-election locks, wake nothing. */
int mesh_member_configmap_is_read(const char *key);
/* An object from a member cache (deep copy, caller frees) or NULL. */
cJSON *mesh_member_get(struct mesh_member *m, enum mesh_watch w, const char *name);

#endif
