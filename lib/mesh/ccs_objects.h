/*
 * ccs_objects: the Istio objects one CrossClusterService becomes in each
 * member (docs/design.md section 3), and its virtual IP.
 *
 * Why this shape: a sidecar sends ISTIO_MUTUAL traffic for host H port P with
 * SNI outbound_.P_._.H; the exporting cluster's AUTO_PASSTHROUGH gateway routes
 * by that SNI, so the exporter must itself know H (its workload-selecting
 * ServiceEntry), and importers must use mTLS to the gateway (DestinationRule
 * ISTIO_MUTUAL) with endpoints at the exporters' gateway addresses, port 15443.
 */
#ifndef EW_MESH_CCS_OBJECTS_H
#define EW_MESH_CCS_OBJECTS_H

#include "api.h"

#include <cjson/cJSON.h>

/* One endpoint of an importer's ServiceEntry. */
struct mesh_endpoint {
    const char *address;  /* gateway IP or hostname, or the local Service's FQDN */
    const char *locality; /* may be NULL */
    int local;            /* the importer's own Service: its ports, not 15443 */
};

/* What the reconcile worked out for one CrossClusterService. */
struct mesh_ccs_facts {
    const struct mesh_ccs *ccs;
    const struct mesh_network *net;
    const char *host;
    const char *address;           /* VIP */
    const struct mesh_port *ports; /* resolved (mesh_service_ports): names, protocols and
                                      target ports set */
    size_t nports;
    char *const *sans; /* spiffe IDs of the exporters' workloads; may be empty */
    size_t nsans;
    /* No identity of the exporters' workloads is known (ccs_desired.h): the importers
     * get no ServiceEntry, removed when identity_unread is 0 (every exporter's pods were
     * read), kept as they are when it is 1. 0 in `kubectl eastwest plan`, which has no
     * pods to read. */
    int no_identity, identity_unread;
    /* No port is known (issue 32): spec.ports is not set, no exporter's backing Service
     * is in a synced cache and no importer has an entry whose ports could be kept. The
     * importers' objects are then kept as they are (ccs_desired.h), never written with
     * no ports. */
    int ports_unknown;
};

/* The importer's ServiceEntry: endpoints at the exporters' gateways (and the local
 * Service when the importer exports too). resolution DNS when any address is a
 * hostname, else STATIC. */
cJSON *mesh_build_importer_service_entry(const struct mesh_ccs_facts *f,
                                         const struct mesh_endpoint *eps, size_t neps);
/* The exporter's ServiceEntry: the host on its own workloads (selector: the backing
 * Service's spec.selector), so its gateway has a route for the SNI. A port whose
 * targetPort is a name is named so, without a targetPort: istiod gives each selected pod
 * the container port named like the ServiceEntry port, else the port's targetPort, else
 * its number. A numeric targetPort is the port's targetPort, under the port's own name
 * (which istiod would still prefer if a container port had that name). */
cJSON *mesh_build_exporter_service_entry(const struct mesh_ccs_facts *f, const cJSON *selector);
/* The importer's DestinationRule: ISTIO_MUTUAL, plus outlier detection and locality
 * load balancing when the endpoints span more than one locality. */
cJSON *mesh_build_destination_rule(const struct mesh_ccs_facts *f, int multi_locality);

/* ---- what is read from an exporter's backing Service and its pods ---- */

/* A copy of the Service's spec.selector (string values only), or NULL with a problem
 * (reason ServiceHasNoSelector) that starts with desc ("cluster eu: Service echo/echo")
 * and names spec.selector: a Service without one (ExternalName, EndpointSlices made by
 * hand) selects no pods, so the exporter's ServiceEntry could not select its workloads. */
cJSON *mesh_service_selector(const cJSON *svc, const char *desc, struct mesh_problem *p);
/* "k1=v1,k2=v2" of a label map, for a pod list; NULL when it has no string value.
 * Caller frees. */
char *mesh_label_selector(const cJSON *labels);
/* The ports to export: spec (the CrossClusterService's spec.ports, nspec may be 0) with
 * their target ports looked up in the Service, else the Service's spec.ports (name or
 * "port-<n>", protocol from appProtocol or the name, target port: a number, or target_name
 * when the Service's targetPort is a name) into *out (caller frees with
 * mesh_service_ports_free; protocol points at a static string or into spec). Returns the
 * count; 0 with a problem that starts with desc, and then *out is NULL (api.h's rule):
 * reason ServiceHasNoPorts, naming both fields, when there is nothing to export;
 * TargetPortNameConflict, naming the ports, when two would have one name in the
 * exporter's ServiceEntry (one targetPort name for two ports, or a targetPort name that
 * is another port's name): Istio refuses such an entry. */
size_t mesh_service_ports(const cJSON *svc, const struct mesh_port *spec, size_t nspec,
                          const char *desc, struct mesh_port **out, struct mesh_problem *p);
/* Free what mesh_service_ports gave (the names and the array; NULL is fine). */
void mesh_service_ports_free(struct mesh_port *ports, size_t n);
/* spiffe://<trustDomain>/ns/<ns>/sa/<sa> (sa NULL or empty: default). Caller frees. */
char *mesh_spiffe_id(const char *trust_domain, const char *ns, const char *sa);
/* The identity of a pod's workload (spec.serviceAccountName), or NULL for a pod being
 * deleted (metadata.deletionTimestamp). Caller frees. */
char *mesh_pod_identity(const cJSON *pod, const char *trust_domain, const char *ns);
/* What a pod cache keeps of a pod (a reflector transform, reflector.h): metadata.name,
 * namespace, labels, resourceVersion and deletionTimestamp, spec.serviceAccountName and
 * the Ready condition ({type, status}) of status.conditions; nothing else (containers,
 * volumes, managedFields: most of a pod). Takes pod (freed); returns a new object. */
cJSON *mesh_pod_project(cJSON *pod);
/* Does a label map (metadata.labels) hold every key and value of selector (a Service's
 * spec.selector, string values)? An empty or absent selector matches nothing: a Service
 * without one selects no pods. */
int mesh_labels_match(const cJSON *selector, const cJSON *labels);

/* Istio protocol of a Service port: appProtocol, else the name's prefix (http-, grpc-,
 * ...), else TCP. */
const char *mesh_port_protocol(const char *name, const char *app_protocol);

/* A stable VIP for host in the mesh's vipRange: a hash of the host picks the first
 * candidate, probing on while taken(ud, candidate) says it is used. The network and
 * broadcast addresses are never given. NULL when the range is full. Caller frees. */
char *mesh_vip_allocate(const struct mesh_network *net, const char *host,
                        int (*taken)(void *ud, const char *ip), void *ud);
/* Is ip (dotted IPv4) inside the mesh's vipRange? */
int mesh_vip_in_range(const struct mesh_network *net, const char *ip);

#endif
