/*
 * mesh_state: what the MeshNetwork controller's files share, and the members
 * each mesh keeps connected between reconciles.
 *
 * The controller (meshnetwork.c) runs the reconcile flow; the work inside one
 * member (member_sync.c) and a member leaving its mesh (member_leave.c) are
 * steps of it. All three work on the types here: the controller, the state it
 * keeps per MeshNetwork (its connected members), the context of one reconcile
 * and what happened in one member. The functions here keep a mesh's member
 * set: connect a member (or take its new credentials), find one, drop one. So
 * the steps depend on this file and the flow depends on the steps, and no
 * step depends on the flow.
 */
#ifndef EW_MESH_MESH_STATE_H
#define EW_MESH_MESH_STATE_H

#include "ca.h"
#include "istio_check.h"
#include "conditions.h"
#include "members.h"
#include "meshnetwork.h"
#include "network_status.h"
#include "objects.h"
#include "root_rotation.h"
#include "base/strmap.h"

#include <pthread.h>

struct mesh_network_controller {
    struct mesh_network_controller_options o;
    char *namespace_;
    struct rt_controller *ctl;
    struct rt_clusterset *clusters;
    struct rt_reflector *meshes, *secrets, *services;
    struct rt_metric *m_cert_expiry;
    struct rt_metric *m_rotation_phase;
    pthread_mutex_t mu;
    struct strmap states;   /* MeshNetwork name -> struct mesh_state */
    struct strmap ccs_seen; /* CrossClusterService key -> struct ccs_seen (map_ccs) */
};

/* A CrossClusterService as the MeshNetwork controller last saw it change. */
struct ccs_seen {
    int64_t generation;
    int deleting;
    int parsed; /* ccs holds its parse (an invalid spec adds no host) */
    struct mesh_ccs ccs;
};

/* What the controller keeps between reconciles of one MeshNetwork. */
struct mesh_state {
    struct mesh_member **members;
    size_t nmembers;
    /* the mesh root as last read, and the version of its Secret then (load_root) */
    char *root_rv;
    struct mesh_keypair root;
    struct mesh_cert_info root_info;
    /* the rotation that finished last: its new root and the root it retired, and when.
     * Its -next Secret, deleted, may still be in the cache for a moment, and so may the
     * MeshNetwork's status from before it finished (root_rotate.h) */
    char rotated_next[65];
    char rotated_old[65];
    char rotated_at[32];
};

/* A root rotation as one reconcile carries it out (root_rotate.h). */
struct mesh_rotation_run {
    int active; /* the members' cacerts follow the rotation's plans */
    int hold;   /* a home write failed: no member is written */
    enum mesh_rotation_phase phase;
    int derived;            /* a change of root (trigger RootSecretRefChanged): the new root is the
                               mesh root already, the old one a certificate without its key */
    int keep_reported_root; /* status.rootCA stays as reported: the root members trust
                               may be about to rotate and nothing recorded it yet */
    char *old_pem;          /* the old root's certificate, before DropOld */
    char old_sha256[65];
    struct mesh_keypair next; /* the new root */
    struct mesh_cert_info next_info;
    struct mesh_rotation_member_plan *plans; /* one per net->clusters[] */
    double requeue_after;                    /* 0: none asked */
    cJSON *status;                           /* status.rootCA.rotation, or NULL */
    cJSON *last;                             /* status.rootCA.lastRotation, or NULL */
    char *message;                           /* CertificatesReady's message while rotating */
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
    cJSON *root_secret; /* the root Secret as read or created (owned), or NULL */
    int failed;         /* a member unreachable or a write failed: retry with backoff */
    struct mesh_rotation_run rot;
};

/* Connect res->spec's member (or update its credentials); res->member is set on success,
 * else res->reach says why. The member is added to ctx->state. */
void member_connect(struct mesh_ctx *ctx, struct member_result *res);
/* Remove the gauges of a mesh that is gone (cluster NULL: every series labelled with
 * the mesh), or of one member that left it (cluster). */
void state_forget_metrics(struct mesh_network_controller *mc, const char *mesh,
                          const char *cluster);
/* Keep the root read from the Secret at version rv (copied); release what was kept. */
void state_keep_root(struct mesh_state *s, const char *rv, const struct mesh_keypair *root,
                     const struct mesh_cert_info *info);
void state_release_root(struct mesh_state *s);
/* The state's member for cluster, and its index, or NULL. */
struct mesh_member *state_member(struct mesh_state *s, const char *cluster, size_t *idx);
/* Stop and forget member i; the cluster set lets go of its client when no mesh uses it. */
void state_drop_member(struct mesh_network_controller *mc, struct mesh_state *s, size_t i);

#endif
