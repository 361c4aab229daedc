/*
 * meshnetwork: the MeshNetwork controller (docs/design.md sections 3 and 4).
 *
 * One reconcile of a MeshNetwork, level-triggered:
 *   1. parse the spec (a problem becomes Ready=False, reason InvalidSpec...);
 *   2. deleting: clean every member (gateway objects, the network label, cacerts
 *      when onDelete is Delete), keep the finalizer until all are clean;
 *      else make sure the finalizer eastwest.io/cleanup is there;
 *   3. connect to every member (kubeconfig Secret in the operator namespace, or
 *      the home cluster) and start its caches (members.h);
 *   4. the mesh root: <mesh>-root-ca in the operator namespace (generated once)
 *      or the user's rootSecretRef;
 *   5. per reachable member: read istiod's config (istio_check.h), write the
 *      network label, the east-west gateway and cacerts where they differ from
 *      the caches (objects.h, cacerts.h), delete what eastwest wrote there and
 *      no longer wants, read the gateway's load balancer addresses;
 *      an unreachable member keeps everything it has;
 *   6. write the status when it changed; record an Event for every write.
 * It answers RT_ERROR (backoff 0.8 s doubling to 30 s) while a member is
 * unreachable or a write failed, else looks again before the next certificate
 * renewal is due (at most an hour later).
 */
#ifndef EW_MESH_MESHNETWORK_H
#define EW_MESH_MESHNETWORK_H

#include "kube/client.h"
#include "runtime/clusterset.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

struct mesh_network_controller_options {
    struct kube_client *home;                /* the cluster holding the MeshNetworks */
    const struct kube_rest_config *home_cfg; /* for members without a kubeconfig Secret */
    const char *namespace_;                  /* the operator's: Secrets live here */
    /* The member clients, shared with the CrossClusterService controller; the caller
     * frees it after both controllers. */
    struct rt_clusterset *clusters;
    struct rt_recorder *events;
    struct rt_metrics *metrics;
    struct ew_logger *log;
    int workers;
    /* What a member's kubeconfig Secret may use beyond inline data: KUBE_CONFIG_ALLOW_FILES
     * and KUBE_CONFIG_ALLOW_EXEC (kubeconfig.h); 0 refuses them (the operator's flags). */
    unsigned member_kubeconfig_allow;
    /* Backoff of a failed reconcile: retry_initial doubling up to retry_max seconds;
     * 0 = 0.8 and 30 (docs/design.md, behaviour under faults). */
    double retry_initial, retry_max;
};

struct mesh_network_controller;

/* Create the controller and start its home-cluster watches (MeshNetworks, Secrets
 * in the operator namespace, CrossClusterServices). */
struct mesh_network_controller *
mesh_network_controller_new(const struct mesh_network_controller_options *o);
/* The runtime controller, to run, stop and check sync through. */
struct rt_controller *mesh_network_controller_runtime(struct mesh_network_controller *mc);
/* After rt_controller_stop: stop the member watches and free everything. */
void mesh_network_controller_free(struct mesh_network_controller *mc);

#endif
