/*
 * claims: who may claim what in a mesh (docs/design.md, "Tenancy: who may claim what").
 *
 * A CrossClusterService writes a host and an address into every importing cluster:
 * whatever it claims, clients there resolve and route to it. So the MeshNetwork's
 * owner, not the CrossClusterService's, decides which names and addresses its
 * services may claim, in spec.serviceClaims (struct mesh_claims, api.h):
 *   namespaces: the namespaces whose CrossClusterServices may join (absent: any);
 *   hosts:      host patterns; "{namespace}" and "{meshID}" stand for the claiming
 *               service's namespace and the mesh's ID, and a leading "*." for one or
 *               more labels. Default: "*.{namespace}.{meshID}.global", so a tenant can
 *               claim names under its own namespace only (its default host
 *               <name>.<namespace>.<meshID>.global is one), never another tenant's nor
 *               an outside name such as api.partner.com;
 *   addresses:  CIDRs a spec.address may be in. Default: the vipRange. An address
 *               allocated from the vipRange is always allowed.
 *   createNamespaces: whether a namespace missing in a member may be created there
 *               (default false: the service reports it instead).
 * Pure functions: the MeshNetwork and the claim in, a verdict (and problem) out.
 */
#ifndef EW_MESH_CLAIMS_H
#define EW_MESH_CLAIMS_H

#include "api.h"

/* spec.serviceClaims (may be NULL) into out (released and zeroed first). On failure
 * p (may be NULL) names the field, out is released (api.h's rule). */
mesh_code mesh_claims_parse(const cJSON *sc, struct mesh_claims *out, struct mesh_problem *p);
void mesh_claims_release(struct mesh_claims *c);

/* 1 when host matches pattern for a service in namespace ns of a mesh with mesh_id. */
int mesh_claims_host_matches(const char *pattern, const char *ns, const char *mesh_id,
                             const char *host);
/* 1 when ip (IPv4 or IPv6) is in cidr; 0 otherwise or when either is malformed. */
int mesh_cidr_contains(const char *cidr, const char *ip);

/* May a CrossClusterService in namespace ns claim host and address (NULL: allocated
 * from the vipRange) in mesh n? MESH_OK, or MESH_E_INVALID with p's reason
 * InvalidHost (a host Istio refuses, host_name.h: it claims nothing and opens no
 * Gateway), NamespaceNotAllowed, HostNotAllowed or AddressNotAllowed and a message
 * naming the claim and the MeshNetwork's field that refuses it. */
mesh_code mesh_claims_check(const struct mesh_network *n, const char *ns, const char *host,
                            const char *address, struct mesh_problem *p);

#endif
