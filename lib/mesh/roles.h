/*
 * roles: what a CrossClusterService asks of each member of its MeshNetwork,
 * written once for the MeshNetwork controller, the CrossClusterService
 * controller and `kubectl eastwest plan`.
 *
 * The role of a member (docs/design.md, section 2):
 *   - it exports when spec.exportFrom names it;
 *   - it imports when spec.importTo names it; with importTo unset, every member
 *     that does not export imports (the parser refuses an empty importTo list, so
 *     "set" always names at least one member);
 *   - an exporter named in importTo does both (active-active: local endpoints first).
 *
 * The Gateway hosts of a member: the hosts of the live CrossClusterServices of the
 * mesh exported from it, sorted (the informer cache's order is not stable) and
 * without duplicates (two services may share a host). They are what an
 * ExportedOnly Gateway passes through; mesh_build_gateway (objects.h) writes "*"
 * instead for AllLocal, and no Gateway at all for ExportedOnly without hosts.
 * Pure functions: no I/O, no locks.
 */
#ifndef EW_MESH_ROLES_H
#define EW_MESH_ROLES_H

#include "api.h"
#include "base/strmap.h"

enum mesh_role {
    MESH_ROLE_NONE = 0,
    MESH_ROLE_EXPORTS = 1,
    MESH_ROLE_IMPORTS = 2,
    MESH_ROLE_BOTH = MESH_ROLE_EXPORTS | MESH_ROLE_IMPORTS,
};

enum mesh_role mesh_ccs_role(const struct mesh_ccs *c, const char *cluster);
/* The exportFrom entry of cluster, or NULL when it does not export. */
const struct mesh_export *mesh_ccs_export_of(const struct mesh_ccs *c, const char *cluster);

/* obj, a CrossClusterService, into out when it belongs to net and is not being
 * deleted (its host leaves the Gateways at once): MESH_OK, and the caller releases
 * out. Otherwise (another mesh, going away, invalid: its own controller reports
 * it) MESH_E_INVALID with out zeroed. */
mesh_code mesh_ccs_parse_live(const cJSON *obj, const struct mesh_network *net,
                              struct mesh_ccs *out);

struct mesh_host_list {
    char **hosts; /* sorted, unique; owned */
    size_t n;
};

/* The Gateway hosts of every member of net: members[i] for net->clusters[i]. */
struct mesh_gateway_hosts {
    const struct mesh_network *net;
    struct mesh_host_list *members;
    /* spec.address -> "<creationTimestamp>\n<namespace>/<name>" of its oldest claimant
     * (mesh_gateway_hosts_claim), the one that wins an address conflict */
    struct strmap address_owner;
};

void mesh_gateway_hosts_init(struct mesh_gateway_hosts *g, const struct mesh_network *net);
/* Adds the host of c (a CrossClusterService of g->net) to each member exporting it,
 * unless the MeshNetwork's serviceClaims refuse c's claim (claims.h). */
void mesh_gateway_hosts_add(struct mesh_gateway_hosts *g, const struct mesh_ccs *c);
/* Records c's claim on its spec.address; call for every CrossClusterService before
 * mesh_gateway_hosts_add, which then skips the loser of an address conflict (the
 * CrossClusterService controller withdraws its objects: its host opens no Gateway). The
 * older claimant wins (creationTimestamp, then namespace/name), as in ccs.c. */
void mesh_gateway_hosts_claim(struct mesh_gateway_hosts *g, const struct mesh_ccs *c);
void mesh_gateway_hosts_release(struct mesh_gateway_hosts *g);

#endif
