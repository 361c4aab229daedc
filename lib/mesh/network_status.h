/*
 * network_status: a MeshNetwork's status from what happened in each member, as a
 * pure function: no I/O, no clock. The controller (meshnetwork.c) fills one
 * member_result per spec.clusters[] entry (member_sync.c, from network_desired.h's
 * decision and the writes), and writes what is built here.
 *
 * Per member: name, network, reachable, the gateway's addresses, istiod's
 * configuration, the intermediate's expiry, and the conditions Reachable,
 * IstioConfigured, CertificatesReady, GatewayReady (only for a member that is
 * reachable and whose caches are synced; else what was last known stays). For the
 * mesh: ClustersReachable, IstioConfigured, CertificatesReady, GatewaysReady, each
 * naming the members that fail it; Ready over them; readyClusters "k/n"; rootCA.
 * A condition keeps its lastTransitionTime while its status does not change
 * (conditions.h).
 */
#ifndef EW_MESH_NETWORK_STATUS_H
#define EW_MESH_NETWORK_STATUS_H

#include "istio_check.h"
#include "network_desired.h"

struct mesh_member;

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
    int importing;
    struct strbuf foreign; /* "Deployment istio-system/istio-eastwestgateway, ...": objects of
                              the gateway's names eastwest did not write (foreign.h), left
                              alone; condition ForeignObjects */
};

/* The status object. old: the MeshNetwork's status as last written (may be NULL);
 * res: one per net->clusters[], n of them. */
cJSON *mesh_network_status(const cJSON *old, const struct mesh_network *net,
                           const struct mesh_network_root *root, const struct member_result *res,
                           size_t n);
/* A status with only Ready=False for reason (invalid spec, cleanup pending); what old
 * said of the members and the root stays. */
cJSON *mesh_network_simple_status(const cJSON *old, const char *reason, const char *message,
                                  int64_t gen);

#endif
