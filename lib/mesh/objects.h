/*
 * objects: builders of the Kubernetes objects eastwest writes in member
 * clusters for a MeshNetwork (the east-west gateway and the Istio namespace's
 * network label), as cJSON trees, and the resources they belong to.
 *
 * The gateway's objects go into a desired set (desired_set.h), each with the
 * owner's labels and the applied-hash stamp (object_meta.h); the network
 * label's apply body carries that one label and nothing else.
 */
#ifndef EW_MESH_OBJECTS_H
#define EW_MESH_OBJECTS_H

#include "api.h"
#include "desired_set.h"
#include "object_meta.h"
#include "kube/client.h"

#define MESH_LABEL_NETWORK      "topology.istio.io/network"
#define MESH_GATEWAY_NAME       "istio-eastwestgateway"
#define MESH_ISTIO_GATEWAY_NAME "cross-network-gateway"
#define MESH_CACERTS_NAME       "cacerts"
#define MESH_FINALIZER          "eastwest.io/cleanup"

/* Longest wait between a member's watch reconnects (the reflectors' backoff doubles
 * from 0.8 s up to this). A member that comes back is seen within this (plus jitter),
 * and everything converges within 15 s of its return; a down member costs one failed
 * connect per watch per 8 s. Reconcile retries keep the work queue's 30 s cap. */
#define MESH_MEMBER_RECONNECT_MAX 8.0
/* A failed reconcile is retried after 0.8 s, doubling up to 30 s (both controllers). */
#define MESH_RETRY_INITIAL 0.8
#define MESH_RETRY_MAX     30.0

extern const struct kube_resource MESH_RES_GATEWAYS;             /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_SERVICEENTRIES;       /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_DESTINATIONRULES;     /* networking.istio.io/v1 */
extern const struct kube_resource MESH_RES_MESHNETWORKS;         /* eastwest.io/v1alpha1 */
extern const struct kube_resource MESH_RES_CROSSCLUSTERSERVICES; /* eastwest.io/v1alpha1 */

/* The east-west gateway of one member (docs/design.md section 3): ServiceAccount, Role,
 * RoleBinding, Deployment, Service and, when hosts is not empty, the Istio Gateway.
 * hosts: the hosts this member exports (ExportedOnly) - ignored for AllLocal, whose
 * Gateway has the one host "*". */
void mesh_build_gateway(const struct mesh_network *net, const struct mesh_cluster *member,
                        char *const *hosts, size_t nhosts, struct mesh_desired_set *out);
/* The apply body that sets the Istio namespace's network label (nothing else). */
cJSON *mesh_build_network_label(const struct mesh_network *net, const struct mesh_cluster *member);

#endif
