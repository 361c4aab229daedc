/*
 * meshnetwork_internal: what meshnetwork.c (the reconcile flow, status,
 * deletion) and member_sync.c (the work in one member) share.
 */
#ifndef EW_MESH_MESHNETWORK_INTERNAL_H
#define EW_MESH_MESHNETWORK_INTERNAL_H

#include "ca.h"
#include "istio_check.h"
#include "conditions.h"
#include "members.h"
#include "meshnetwork.h"
#include "objects.h"
#include "base/strmap.h"

#include <pthread.h>

struct mesh_network_controller {
    struct mesh_network_controller_options o;
    char *namespace_;
    struct rt_controller *ctl;
    struct rt_clusterset *clusters;
    struct rt_reflector *meshes, *secrets, *services;
    struct rt_metric *m_cert_expiry;
    pthread_mutex_t mu;
    struct strmap states; /* MeshNetwork name -> struct mesh_state */
};

/* What the controller keeps between reconciles of one MeshNetwork. */
struct mesh_state {
    struct mesh_member **members;
    size_t nmembers;
};

/* One reconcile. */
struct mesh_ctx {
    struct mesh_network_controller *mc;
    struct mesh_state *state;
    const cJSON *obj;
    struct mesh_network *net;
    struct rt_object_ref ref;
    struct rt_event_target events; /* Events on the MeshNetwork, and log lines */
    struct mesh_keypair root;
    struct mesh_cert_info root_info;
    int root_ok;
    struct mesh_problem root_problem;
    int failed; /* a member unreachable or a write failed: retry with backoff */
};

/* What happened in one member this reconcile. */
struct member_result {
    const struct mesh_cluster *spec;
    struct mesh_member *member; /* NULL when it could not be connected */
    int reachable;
    struct mesh_problem reach; /* why not reachable */
    int synced;
    struct mesh_istio_info istio;
    int istio_ok;
    struct mesh_problem istio_problem;
    int certs_ok;
    struct mesh_problem certs_problem;
    time_t intermediate_not_after;
    int gateway_ok;
    struct mesh_problem gateway_problem;
    char **addresses;
    size_t naddresses;
    int exports_hosts; /* hosts to pass through, for ExportedOnly */
    int importing;
};

void member_result_init(struct member_result *res, const struct mesh_cluster *spec);
void member_result_release(struct member_result *res);

/* Is the member's API server answering? From its caches' health, else one GET. */
int member_check_reachable(struct mesh_ctx *ctx, struct member_result *res);
/* Steps 5 of meshnetwork.h for one reachable, synced member. hosts: what it exports. */
void member_sync(struct mesh_ctx *ctx, struct member_result *res, char *const *hosts,
                 size_t nhosts);
/* Remove what eastwest wrote in the member (deletion, or the member left the spec).
 * Returns 0 when done. */
int member_cleanup(struct mesh_ctx *ctx, struct mesh_member *m, struct strbuf *why);

/* Connect res->spec's member (or update its credentials); res->member is set on success,
 * else res->reach says why. The member is added to ctx->state. (meshnetwork.c) */
void member_connect(struct mesh_ctx *ctx, struct member_result *res);
/* The state's member for cluster, and its index, or NULL. */
struct mesh_member *state_member(struct mesh_state *s, const char *cluster, size_t *idx);
/* Stop and forget member i; the cluster set lets go of its client when no mesh uses it. */
void state_drop_member(struct mesh_network_controller *mc, struct mesh_state *s, size_t i);

/* ---- members leaving the mesh (member_leave.c) ---- */

/* Leave the mesh's write group (no CrossClusterService write can land there after
 * this), then delete everything written there for the mesh. 0 when nothing is left, 1
 * while its caches are still listing (look again soon), -1 when something failed; why
 * says what is pending. */
int member_leave_and_clean(struct mesh_ctx *ctx, struct mesh_member *m, struct strbuf *why);

struct removed_member {
    struct mesh_cluster spec; /* name and kubeconfigSecretRef; owned */
    struct member_result res;
    struct strbuf why; /* what keeps it pending */
    int done, abandoned;
};

/* Members removed from spec.clusters whose cleanup is not known to be done: those in
 * status.removedClusters (connected again after a restart) and those still connected. */
struct removed_set {
    struct removed_member *items;
    size_t n;
    int syncing; /* some only wait for their caches */
};

void removed_collect(struct mesh_ctx *ctx, struct removed_set *rm);
/* Clean each; a clean one is disconnected and dropped from the state. */
void removed_clean(struct mesh_ctx *ctx, struct removed_set *rm);
/* How many are still pending; their reasons appended to why (may be NULL). */
size_t removed_pending(const struct removed_set *rm, struct strbuf *why);
/* status.removedClusters and the CleanupPending condition (st must have conditions). */
void removed_add_status(cJSON *st, const cJSON *old_conds, const struct removed_set *rm,
                        int64_t gen);
void removed_release(struct removed_set *rm);

#endif
