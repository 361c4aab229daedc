/*
 * member_claim: which MeshNetwork a member cluster belongs to.
 *
 * A cluster belongs to one mesh. Member clients are shared by cluster name
 * (lib/runtime/clusterset), so two MeshNetworks that each list an `eu` (with
 * different kubeconfig Secrets, or the same) would share one client: one
 * mesh's Secret would decide where the other's writes and cleanup go. So a
 * cluster name listed by two MeshNetworks is refused for the newer one
 * (creationTimestamp, then name), whose status says which mesh has it
 * (ClusterInOtherMesh, with an Event); the older keeps working. A mesh that
 * still holds a connection to the cluster keeps it until it has let go (its
 * cleanup there done): an older mesh that adds the cluster later waits for
 * that, and the newer one, refused, cleans what it wrote there with its own
 * connection first, as for a cluster removed from its spec. So writes and
 * cleanup never cross from one mesh's Secret to the other's cluster.
 */
#ifndef EW_MESH_MEMBER_CLAIM_H
#define EW_MESH_MEMBER_CLAIM_H

#include "mesh_state.h"

#define MESH_REASON_CLUSTER_IN_OTHER_MESH "ClusterInOtherMesh"

/* 1 when cluster (a name in ctx's MeshNetwork) is another mesh's: an older MeshNetwork
 * lists it too, or another mesh still holds a connection to it. p (may be NULL) then
 * says which. Takes ctx->mc->mu: never call it with that held. */
int member_claim_refused(struct mesh_ctx *ctx, const char *cluster, struct mesh_problem *p);
/* 1 when server (of cluster, a name in ctx's MeshNetwork) is held by another mesh under
 * another name: the first to connect keeps it (see member_claim.c). p (may be NULL) then
 * says which. Takes ctx->mc->mu. */
int member_claim_server_taken(struct mesh_ctx *ctx, const char *cluster, const char *server,
                              struct mesh_problem *p);
/* Mesh self let go of these clusters (it is gone, or they left it): the other meshes
 * that list one of them look again now, not after their backoff. */
void member_claim_released(struct mesh_network_controller *mc, const char *self,
                           char *const *clusters, size_t n);
/* 1 when p is such a refusal. */
int member_claim_is_refusal(const struct mesh_problem *p);

#endif
