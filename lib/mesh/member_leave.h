/*
 * member_leave: members leaving the mesh (member_leave.c says how), and the
 * removed members recorded in status.removedClusters until their cleanup is done.
 */
#ifndef EW_MESH_MEMBER_LEAVE_H
#define EW_MESH_MEMBER_LEAVE_H

#include "mesh_state.h"

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
