/*
 * ccs_desired: what one CrossClusterService wants in each member cluster, as a
 * pure function of what is known about the members. No I/O, no caches, no
 * clock: the CrossClusterService controller (ccs.c) fills the facts from its
 * caches and the MeshNetwork's status, writes what is decided here where the
 * member's copy differs, and deletes what is marked for removal; `kubectl
 * eastwest plan` fills them from a file and prints the same objects.
 *
 * The rule, per member (docs/design.md, "what is written where"):
 *   - an importer gets the ServiceEntry with endpoints at the exporters'
 *     gateways (its own Service first, when it exports too: active-active) and
 *     the DestinationRule (ISTIO_MUTUAL; locality failover when the endpoints
 *     span localities). An exporter that is unreachable adds its last known
 *     gateway addresses under KeepLastKnown and nothing under Withdraw; an exporter
 *     whose backing Service is known gone (m->gone) adds nothing (issue 32);
 *   - but an importer's objects are kept as they are while no port is known
 *     (f->ports_unknown): an entry with no ports routes nothing;
 *   - an exporter that does not import gets the workload-selecting ServiceEntry
 *     (with its own ports: the service's, with its Service's target ports), and no
 *     DestinationRule; while its backing Service is not usable (no selector known),
 *     what it has is kept;
 *   - a member that neither exports nor imports holds nothing of it;
 *   - but an importer gets no ServiceEntry (nor DestinationRule) while no identity of
 *     the exporters' workloads is known (f->no_identity): one without subjectAltNames
 *     would accept any workload of the mesh. What it has is removed when every
 *     exporter's pods were read and none has an identity, and kept when some could not
 *     be read (f->identity_unread). The controller keeps the identities the importers
 *     already pin when the pods it reads have none, so this holds only while no
 *     identity was ever known.
 */
#ifndef EW_MESH_CCS_DESIRED_H
#define EW_MESH_CCS_DESIRED_H

#include "ccs_objects.h"
#include "roles.h"

/* What is known of one member (one per net->clusters[], in that order). */
struct mesh_ccs_member_facts {
    const struct mesh_cluster *spec;
    int reachable;          /* by the MeshNetwork's status */
    char *const *addresses; /* its gateway's addresses, last known */
    size_t naddresses;
    const cJSON *selector; /* an exporter's backing Service's selector; NULL: not usable */
    int gone;              /* an exporter whose backing Service is known gone: no endpoint of it */
    /* An exporter's ServiceEntry ports (its own Service's target ports); NULL: f->ports. */
    const struct mesh_port *ports;
    size_t nports;
};

/* One object's fate in a member. */
enum mesh_ccs_intent {
    MESH_INTENT_REMOVE, /* nothing of this CrossClusterService: delete ours if there */
    MESH_INTENT_KEEP,   /* leave what the member has */
    MESH_INTENT_WRITE,  /* write the object given */
};

struct mesh_ccs_member_desired {
    enum mesh_role role;
    enum mesh_ccs_intent entry, rule;
    cJSON *service_entry;    /* owned; set when entry is WRITE */
    cJSON *destination_rule; /* owned; set when rule is WRITE */
    size_t nendpoints;       /* an importer's endpoints (0: the entry routes nowhere yet) */
    int no_identity;         /* an importer left without its entry: f->no_identity */
    int ports_unknown;       /* an importer's objects kept: f->ports_unknown */
};

/* Member i's objects. f: the CrossClusterService's host, VIP, ports and SANs; members: every
 * member's facts, n == f->net->nclusters. */
void mesh_ccs_desired_member(const struct mesh_ccs_facts *f,
                             const struct mesh_ccs_member_facts *members, size_t n, size_t i,
                             struct mesh_ccs_member_desired *out);
void mesh_ccs_member_desired_release(struct mesh_ccs_member_desired *d);

/* An importer's endpoints (member i): caller frees the array and each address with
 * mesh_endpoints_free; *multi_locality when they span more than one locality. */
size_t mesh_ccs_importer_endpoints(const struct mesh_ccs_facts *f,
                                   const struct mesh_ccs_member_facts *members, size_t n, size_t i,
                                   struct mesh_endpoint **out, int *multi_locality);
void mesh_endpoints_free(struct mesh_endpoint *eps, size_t n);

#endif
