/*
 * member_sync: the MeshNetwork's work inside one member cluster (step 5 of
 * meshnetwork.h), and removing what it wrote there (member_cleanup, for a
 * member that leaves: member_leave.h).
 */
#ifndef EW_MESH_MEMBER_SYNC_H
#define EW_MESH_MEMBER_SYNC_H

#include "mesh_state.h"

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

#endif
