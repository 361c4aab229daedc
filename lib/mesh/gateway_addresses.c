/*
 * gateway_addresses.c: reading where a member's east-west gateway can be
 * reached, from its live Service (see gateway_addresses.h).
 *
 * Only the Service's status.loadBalancer.ingress and spec.ports are read;
 * every other field is ignored. Malformed shapes (an object where a list is
 * expected) read as absent, so input from a cluster can never overflow.
 */
#include "gateway_addresses.h"

#include <stdlib.h>
#include <string.h>

static int looks_like_ip(const char *s)
{
    if (strchr(s, ':'))
        return 1; /* IPv6 literal: hostnames have no colon */
    for (; *s; s++)
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

char **mesh_service_ingress(const cJSON *svc, size_t *n, int *all_ips)
{
    const cJSON *ingress = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "status"),
                                         "loadBalancer"),
        "ingress");
    *n = 0;
    *all_ips = 1;
    /* Only a list: cJSON_ArrayForEach also walks an object's members, and the array
     * below was sized 0 for anything but a list (a heap overflow, found by fuzz_objects). */
    if (!cJSON_IsArray(ingress))
        ingress = NULL;
    int size = ingress ? cJSON_GetArraySize(ingress) : 0;
    char **out = ew_calloc((size_t)size + 1, sizeof(char *));
    const cJSON *e;
    cJSON_ArrayForEach(e, ingress)
    {
        const cJSON *ip = cJSON_GetObjectItemCaseSensitive(e, "ip");
        const cJSON *hn = cJSON_GetObjectItemCaseSensitive(e, "hostname");
        const char *a = cJSON_IsString(ip) && *ip->valuestring   ? ip->valuestring
                        : cJSON_IsString(hn) && *hn->valuestring ? hn->valuestring
                                                                 : NULL;
        if (!a)
            continue;
        if (!looks_like_ip(a))
            *all_ips = 0;
        out[(*n)++] = ew_strdup(a);
    }
    return out;
}

mesh_code mesh_gateway_addresses(const cJSON *svc, const char *desc, char ***out, size_t *n,
                                 struct mesh_problem *p)
{
    int all_ips;
    *out = mesh_service_ingress(svc, n, &all_ips);
    if (!svc)
        return mesh_problem_set(p, "NoGatewayAddress",
                                "%s has no load balancer address yet (not created yet)", desc);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(svc, "spec");
    const cJSON *port, *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
    int has_tls = 0;
    if (!cJSON_IsArray(ports))
        ports = NULL;
    cJSON_ArrayForEach(port, ports)
    {
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(port, "port");
        if (cJSON_IsNumber(num) && num->valuedouble == 15443)
            has_tls = 1;
    }
    if (!has_tls)
        return mesh_problem_set(p, "GatewayPortMissing",
                                "%s has no port 15443 (spec.ports): other clusters cannot reach "
                                "its gateway",
                                desc);
    if (*n > 0)
        return MESH_OK;
    const cJSON *ingress = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "status"),
                                         "loadBalancer"),
        "ingress");
    if (cJSON_IsArray(ingress) && cJSON_GetArraySize(ingress) > 0)
        return mesh_problem_set(p, "NoGatewayAddress",
                                "%s has no usable load balancer address: "
                                "status.loadBalancer.ingress[0] has neither ip nor hostname",
                                desc);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(spec, "type");
    int lb = !cJSON_IsString(type) || strcmp(type->valuestring, "LoadBalancer") == 0;
    return mesh_problem_set(p, "NoGatewayAddress",
                            "%s has no load balancer address yet (status.loadBalancer.ingress is "
                            "empty%s%s%s)",
                            desc, lb ? "" : "; spec.type is ", lb ? "" : type->valuestring,
                            lb ? "" : ", and only a LoadBalancer gets one");
}
