/*
 * gateway_addresses: where other clusters reach a member's east-west gateway,
 * read from the gateway's live Service.
 *
 * The addresses are the Service's status.loadBalancer.ingress entries (an ip,
 * else a hostname, in order). The gateway is usable when it has at least one
 * and its spec has the tls port 15443; otherwise the problem says which field
 * is missing, for the MeshNetwork's status.
 */
#ifndef EW_MESH_GATEWAY_ADDRESSES_H
#define EW_MESH_GATEWAY_ADDRESSES_H

#include "api.h"

#include <stddef.h>

/* Addresses from a Service's status.loadBalancer.ingress (ip or hostname, in order);
 * caller frees each and the array. *all_ips is set to 1 when every one is an IP. */
char **mesh_service_ingress(const cJSON *svc, size_t *n, int *all_ips);
/* The addresses other clusters use to reach a member's east-west gateway, from its live
 * Service (NULL: not created yet); *out as mesh_service_ingress, set in every case: the
 * one exception to api.h's ownership rule, because the addresses are real even while
 * the port is missing (the status keeps showing them), so the caller always frees them.
 * MESH_OK when it has at least one address and the tls port 15443; else a problem whose
 * message starts with desc ("cluster eu: Service istio-system/istio-eastwestgateway")
 * and names the field: GatewayPortMissing (spec.ports), NoGatewayAddress
 * (status.loadBalancer.ingress empty, or no entry with an ip or hostname). */
mesh_code mesh_gateway_addresses(const cJSON *svc, const char *desc, char ***out, size_t *n,
                                 struct mesh_problem *p);

#endif
