/*
 * ccs: the CrossClusterService controller (docs/design.md sections 3 and 4).
 *
 * One reconcile, level-triggered:
 *   1. parse; deleting: remove its ServiceEntries and DestinationRules from
 *      every member it may have written to (the mesh status.meshNetwork records,
 *      and the one the spec names; by the record alone when the spec cannot be
 *      parsed), then the finalizer; else make sure the finalizer is there; moved
 *      to another mesh (the spec names another than the record): clean the
 *      recorded one first, then drop the record;
 *   2. find its MeshNetwork (status gives each member's gateway addresses and
 *      reachability: the MeshNetwork controller keeps them current);
 *   3. conflicts: of two CrossClusterServices of one mesh claiming one host or
 *      one address, the newer (creationTimestamp, then namespace/name) gets
 *      Conflict=True naming the other, writes nothing, and what it wrote before
 *      is withdrawn (its own objects only);
 *   4. the address: spec.address, else the one in status if still free, else a
 *      stable VIP from vipRange (ccs_objects.h);
 *   5. per exporter: its backing Service (ports, target ports, selector) from a
 *      cache of Services, and the service accounts of the selected pods for
 *      subjectAltNames, from a cache of the exporter's pods (never a list per
 *      reconcile);
 *   6. status.meshNetwork and status.writtenClusters record the mesh and its
 *      members (ccs_status.h); per member: importers get the ServiceEntry (endpoints at exporters'
 *      gateways; the local Service first when it also exports) and the
 *      DestinationRule; exporters that do not import get the workload-selecting
 *      ServiceEntry; written only where the cache differs; objects of members
 *      no longer involved are deleted. An unreachable member keeps what it has;
 *      an unreachable exporter's endpoints stay (KeepLastKnown) or are dropped
 *      from importers (Withdraw) until it returns;
 *   7. status when it changed; Events for writes; eastwest_propagation_seconds.
 *
 * Per member cluster the controller caches Services (all namespaces) and the
 * ServiceEntries and DestinationRules it wrote, and in a member that exports, its
 * pods (all namespaces, as mesh_pod_project's small form); their changes queue the
 * CrossClusterServices concerned (a pod: those exported from its member and
 * namespace).
 */
#ifndef EW_MESH_CCS_H
#define EW_MESH_CCS_H

#include "meshnetwork.h"

struct mesh_ccs_controller_options {
    struct kube_client *home;
    /* The member clients the MeshNetwork controller connects and gates (clusterset.h);
     * the same set as its options' clusters. */
    struct rt_clusterset *clusters;
    struct rt_recorder *events;
    struct rt_metrics *metrics;
    struct ew_logger *log;
    int workers;
    double retry_initial, retry_max; /* as meshnetwork.h's; 0 = 0.8 and 30 s */
    /* How long a member whose caches have not listed holds a reconcile back (ccs.c,
     * members_listing); 0 = 60 s. Tests of what is written past it set it short. */
    double member_sync_grace;
};

struct mesh_ccs_controller;

struct mesh_ccs_controller *mesh_ccs_controller_new(const struct mesh_ccs_controller_options *o);
struct rt_controller *mesh_ccs_controller_runtime(struct mesh_ccs_controller *cc);
/* After rt_controller_stop. */
void mesh_ccs_controller_free(struct mesh_ccs_controller *cc);

#endif
