/*
 * network_desired: what a MeshNetwork wants in one member cluster, and what the
 * member's own objects say of it, as a pure function of what is known. No I/O,
 * no caches, no clock of its own (now is an argument): the MeshNetwork
 * controller (member_sync.c) fills the facts from the member's caches, writes
 * what is decided here where the member's copy differs, issues an intermediate
 * when the decision says so, and removes the gateway objects not in the set;
 * `kubectl eastwest plan` fills the facts from a file and prints the objects.
 * Its sibling for CrossClusterServices is ccs_desired.h.
 *
 * The rule, per member (docs/design.md, "what is written where"):
 *   - no Istio namespace: nothing is written (IstioNamespaceMissing);
 *   - the namespace carries the member's network label;
 *   - the east-west gateway (ServiceAccount, Role, RoleBinding, Deployment,
 *     LoadBalancer Service, Istio Gateway) passes the hosts the member exports
 *     (roles.h); other gateway-kind objects with the mesh's labels go;
 *   - cacerts as cacerts.h decides: keep, issue, or leave a foreign one alone;
 *     and the certificates are ready only when istiod publishes the mesh root
 *     and the root is not inside its renew window;
 *   - istiod's configuration must match the spec (istio_check.h);
 *   - the gateway is ready when its Service has an address and port 15443
 *     (gateway_addresses.h).
 */
#ifndef EW_MESH_NETWORK_DESIRED_H
#define EW_MESH_NETWORK_DESIRED_H

#include "cacerts.h"
#include "desired_set.h"
#include "istio_check.h"

#include <time.h>

/* The mesh root as read at home. */
struct mesh_network_root {
    int ok;
    const char *cert_pem;               /* ok: the root certificate */
    const struct mesh_cert_info *info;  /* ok: its fingerprint and expiry */
    const struct mesh_problem *problem; /* !ok: why (may be an empty problem) */
    /* a root rotation under way (root_rotate.h): CertificatesReady's message, reason
     * RootRotating; NULL: none. Its status.rootCA.rotation and lastRotation (may be NULL). */
    const char *rotating;
    const cJSON *rotation, *last_rotation;
    /* status.rootCA stays as the last status had it (root_rotate.h: a change of root not
     * recorded yet) */
    int keep_reported;
};

/* What is known of one member: its objects as its caches hold them (each may be NULL). */
struct mesh_network_member_facts {
    const struct mesh_cluster *spec;
    const cJSON *istio_namespace; /* Namespace <istioNamespace>; NULL: it does not exist */
    const cJSON *istio_config;    /* ConfigMap istio */
    const cJSON *injector_config; /* ConfigMap istio-sidecar-injector */
    const cJSON *cacerts;         /* Secret cacerts */
    const cJSON *istiod_root;     /* ConfigMap istio-ca-root-cert, as istiod publishes it */
    const cJSON *gateway_service; /* the gateway's Service */
    int importing;                /* some CrossClusterService imports into it */
    /* what mesh_cacerts_decide said of this cacerts before, when nothing it reads has
     * changed since (cacerts.h's memo); NULL: decide */
    const struct mesh_cacerts_decision *cacerts_decided;
    char *const *hosts; /* the hosts it exports, sorted (roles.h) */
    size_t nhosts;
};

struct mesh_network_member_desired {
    int namespace_missing; /* then nothing below is set but the problems */
    cJSON *network_label;  /* owned: the Istio namespace with the network label */
    struct mesh_desired_set gateway;
    struct mesh_cacerts_decision cacerts;
    /* the conditions as the facts give them; a failed write only turns one False */
    struct mesh_istio_info istio;
    int istio_ok;
    struct mesh_problem istio_problem;
    int certs_ok;
    int root_expiring; /* certs_problem is RootExpiring: warn when it turns so */
    struct mesh_problem certs_problem;
    int gateway_ok; /* has an address and port 15443 */
    struct mesh_problem gateway_problem;
    char **addresses; /* the gateway's addresses, also while not ready */
    size_t naddresses;
};

/* Member f's objects and conditions. out is released with the function below. */
void mesh_network_desired_member(const struct mesh_network *net,
                                 const struct mesh_network_root *root,
                                 const struct mesh_network_member_facts *f, time_t now,
                                 struct mesh_network_member_desired *out);
void mesh_network_member_desired_release(struct mesh_network_member_desired *d);

#endif
