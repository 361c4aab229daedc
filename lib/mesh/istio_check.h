/*
 * istio_check: what istiod in a member is configured with, and whether that
 * matches the MeshNetwork (the IstioConfigured condition).
 *
 * Sources, all in the Istio namespace:
 *   - ConfigMap istio, key mesh (YAML MeshConfig): trustDomain (istiod's default
 *     is cluster.local), defaultConfig.meshId (istiod defaults it to the trust
 *     domain), defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE;
 *     its labels operator.istio.io/version or app.kubernetes.io/version give the
 *     Istio version when the installer set them;
 *   - ConfigMap istio-sidecar-injector, key values (JSON): global.network and
 *     global.meshID, when istiod was installed with them;
 *   - the namespace's topology.istio.io/network label.
 * No ConfigMap istio means istiod is not installed (reason IstiodNotFound).
 */
#ifndef EW_MESH_ISTIO_CHECK_H
#define EW_MESH_ISTIO_CHECK_H

#include "api.h"

struct mesh_istio_info {
    int found;              /* ConfigMap istio exists */
    char *version;          /* may be NULL */
    char *mesh_id;          /* effective */
    char *trust_domain;     /* effective */
    char *network;          /* injector's global.network, else the namespace label; may be NULL */
    char *injector_network; /* only from the injector values; may be NULL */
    int dns_capture;
};

void mesh_istio_info_release(struct mesh_istio_info *info);

/* Read istiod's configuration from its ConfigMaps (either may be NULL) and the Istio
 * namespace object (may be NULL). A mesh key that is not valid YAML is a problem
 * (reason IstioMeshConfigInvalid) naming the ConfigMap; out is then released and zeroed
 * (found 0), by api.h's ownership rule. */
mesh_code mesh_istio_read(const cJSON *mesh_cm, const cJSON *injector_cm, const cJSON *ns_obj,
                          struct mesh_istio_info *out, struct mesh_problem *p);

/* Compare with the spec for one member. importing: the member imports some host
 * (then DNS capture is required). On mismatch p names the cluster and both values. */
mesh_code mesh_istio_check(const struct mesh_istio_info *info, const struct mesh_network *net,
                           const struct mesh_cluster *member, int importing,
                           struct mesh_problem *p);

#endif
