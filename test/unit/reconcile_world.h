/*
 * reconcile_world: the tutorial's two clusters as fakes (test/fake_kube.h), with
 * both controllers running on them as eastwest-operator runs them, for unit tests
 * of the reconcilers.
 *
 * The home cluster is us (the MeshNetwork's member us has no kubeconfig Secret: it
 * is reached with the home configuration); eu is reached through the kubeconfig in
 * Secret eastwest-system/prod-eu-west-1. Both have istio-system with istiod's
 * ConfigMap istio (trust domain corp.local, mesh training-mesh, DNS capture on);
 * eu runs echo (Service echo/echo, port http 80 -> 8080, one ready pod with service
 * account echo). world_apply puts the tutorial's MeshNetwork and CrossClusterService
 * into home, as kubectl apply would.
 *
 * What a test cannot have is played on each world_settle step, as the components
 * would: the cloud's load balancer gives each member's istio-eastwestgateway Service
 * an address (us 192.0.2.10, eu 192.0.2.20), and istiod publishes the root of the
 * member's cacerts in ConfigMap istio-ca-root-cert.
 *
 * Controllers retry a failed reconcile after 10 ms (doubling to 200 ms), not 0.8 s:
 * the fault sweep runs hundreds of reconciles.
 */
#ifndef EW_TEST_RECONCILE_WORLD_H
#define EW_TEST_RECONCILE_WORLD_H

#include "fake_kube.h"
#include "base/log.h"
#include "mesh/ccs.h"
#include "mesh/meshnetwork.h"

#define WORLD_NAMESPACE "eastwest-system"

struct world {
    struct fake_faults *faults;
    struct fake_cluster *us, *eu; /* us is the home cluster */
    struct kube_client *home;
    struct kube_rest_config home_cfg;
    struct ew_logger log;
    struct rt_clusterset *clusters;
    struct rt_recorder *events;
    struct rt_metrics *metrics; /* what the controllers count (reconciles, caches) */
    struct mesh_network_controller *meshes;
    struct mesh_ccs_controller *services;
    int running;
    double ccs_sync_grace; /* the ccs controller's member_sync_grace (0: its default) */
};

/* The clusters and what runs in them before eastwest; no controller yet. */
void world_init(struct world *w);
/* Put the tutorial's MeshNetwork training-mesh and CrossClusterService echo/echo. */
void world_apply_tutorial(struct world *w);
/* Put one object given as JSON into a cluster (as kubectl apply would). */
void world_put_json(struct fake_cluster *fc, const struct kube_resource *r, const char *json);
/* Start both controllers (their watches, then their workers). */
void world_start(struct world *w);
/* world_start with a cluster set whose members are made by connect (connect_ud its
 * argument): for worlds with more fake clusters than the tutorial's two. */
void world_start_connect(struct world *w, rt_cluster_connect_fn connect, void *connect_ud);
/* Stop the controllers, free everything. */
/* Stop the controllers as a process exit would, keeping the clusters (world_start
 * again is the operator's restart). */
void world_stop(struct world *w);
void world_free(struct world *w);

/* Play the load balancer and istiod until both controllers' caches have synced, done(w,
 * ud) holds and nothing was written for three steps of 10 ms with both work queues idle,
 * or timeout seconds (times test_time_scale()) passed. 1 when settled. Quiet alone says
 * little (a change not yet seen by a watch, a reconcile due later, the start before the
 * first list all look quiet): give the condition the checks read as done. */
int world_settle(struct world *w, int (*done)(struct world *w, void *ud), void *ud, double timeout);
/* The same with an absolute deadline (ew_now_mono() seconds), not scaled: for a caller
 * that shares its own deadline out. */
int world_settle_by(struct world *w, int (*done)(struct world *w, void *ud), void *ud,
                    double deadline);
/* Play the load balancer and istiod until cond(w, ud) holds (no quiet needed: for states
 * in which the operator keeps retrying), or timeout seconds (times test_time_scale())
 * passed. 1 when it held. */
int world_wait(struct world *w, int (*cond)(struct world *w, void *ud), void *ud, double timeout);
/* eastwest_reconcile_total of one controller ("meshnetwork", "crossclusterservice"),
 * every result. */
double world_reconciles(struct world *w, const char *controller);
/* Make the MeshNetwork controller look at training-mesh and the CrossClusterService
 * controller at echo/echo `looks` times, each look a whole reconcile that began after the
 * call (a reconcile in flight at the call does not count), and play the load balancer
 * and istiod meanwhile: what a periodic resync would do, without waiting for one. For
 * checks of what a reconcile does not do (start a rotation, write). 1 when done within
 * 10 s (times test_time_scale()) per look. */
int world_look_again(struct world *w, int looks);
/* Both CRs of the tutorial Ready=True for their current generation. */
int world_tutorial_ready(struct world *w, void *ud);

/* The condition's status ("True") of obj (may be NULL), or NULL; *reason when asked. */
const char *world_condition(const cJSON *obj, const char *type, const char **reason,
                            const char **message);
/* Every object of both clusters, Events and Leases aside, with what differs between two
 * runs of the same change replaced: uids, resourceVersions, timestamps, generated key
 * and certificate material, content hashes. Two runs that converged alike give equal
 * trees. */
cJSON *world_normalized(struct world *w);

/* The tutorial put, the controllers started, settled Ready: 1, or 0 after 20 s (scaled). */
int world_start_tutorial(struct world *w);
/* obj at a dotted path, "spec.endpoints.0.address" (numbers index arrays), or NULL. */
const cJSON *world_at(const cJSON *obj, const char *path);
/* The string there, or NULL. */
const char *world_str_at(const cJSON *obj, const char *path);
/* Both tutorial CRs' status, for a failure message (a static buffer: one at a time). */
const char *world_describe(struct world *w);

#endif
