/*
 * meshnetwork_internal: what meshnetwork.c (the reconcile flow, status,
 * deletion) and member_sync.c (the work in one member) share.
 */
#ifndef EW_MESH_MESHNETWORK_INTERNAL_H
#define EW_MESH_MESHNETWORK_INTERNAL_H

#include "ca.h"
#include "istio_check.h"
#include "members.h"
#include "meshnetwork.h"
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

/* Event on the MeshNetwork, and a log line. */
void mesh_record(struct mesh_ctx *ctx, const char *type, const char *reason, const char *action,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
