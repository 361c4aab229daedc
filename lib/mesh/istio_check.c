/*
 * istio_check: read istiod's mesh configuration and compare it with the spec.
 * See istio_check.h for where each value comes from.
 */
#include "istio_check.h"

#include "kube/yaml_json.h"

#include <stdlib.h>
#include <string.h>

void mesh_istio_info_release(struct mesh_istio_info *info)
{
    free(info->version);
    free(info->mesh_id);
    free(info->trust_domain);
    free(info->network);
    free(info->injector_network);
    memset(info, 0, sizeof(*info));
}

static const cJSON *path(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (c)
        v = cJSON_GetObjectItemCaseSensitive(v, c);
    return v;
}

static char *string_at(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = path(o, a, b, c);
    return cJSON_IsString(v) && *v->valuestring ? ew_strdup(v->valuestring) : NULL;
}

static int truthy(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    return cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0;
}

static mesh_code read_mesh_config(const cJSON *cm, struct mesh_istio_info *out,
                                  struct mesh_problem *p)
{
    const cJSON *text = path(cm, "data", "mesh", NULL);
    cJSON *mesh = NULL;
    if (cJSON_IsString(text)) {
        struct kube_error err = KUBE_ERROR_INIT;
        if (yaml_to_json(text->valuestring, strlen(text->valuestring), &mesh, &err) != KUBE_OK) {
            mesh_problem_set(p, "IstioMeshConfigInvalid",
                             "ConfigMap istio, key mesh, is not valid YAML: %s", err.message);
            kube_error_clear(&err);
            return MESH_E_INVALID;
        }
    }
    out->trust_domain = string_at(mesh, "trustDomain", NULL, NULL);
    if (!out->trust_domain)
        out->trust_domain = ew_strdup("cluster.local");
    out->mesh_id = string_at(mesh, "defaultConfig", "meshId", NULL);
    if (!out->mesh_id)
        out->mesh_id = ew_strdup(out->trust_domain);
    out->dns_capture = truthy(path(path(mesh, "defaultConfig", "proxyMetadata", NULL),
                                   "ISTIO_META_DNS_CAPTURE", NULL, NULL));
    cJSON_Delete(mesh);
    const cJSON *labels = path(cm, "metadata", "labels", NULL);
    out->version = string_at(labels, "operator.istio.io/version", NULL, NULL);
    if (!out->version)
        out->version = string_at(labels, "app.kubernetes.io/version", NULL, NULL);
    return MESH_OK;
}

static void read_injector_values(const cJSON *cm, struct mesh_istio_info *out)
{
    const cJSON *text = path(cm, "data", "values", NULL);
    if (!cJSON_IsString(text))
        return;
    cJSON *values = cJSON_Parse(text->valuestring);
    out->injector_network = string_at(values, "global", "network", NULL);
    cJSON_Delete(values);
}

mesh_code mesh_istio_read(const cJSON *mesh_cm, const cJSON *injector_cm, const cJSON *ns_obj,
                          struct mesh_istio_info *out, struct mesh_problem *p)
{
    memset(out, 0, sizeof(*out));
    if (!mesh_cm)
        return MESH_OK;
    out->found = 1;
    if (read_mesh_config(mesh_cm, out, p) != MESH_OK) {
        mesh_istio_info_release(out); /* api.h: a failure leaves nothing to release */
        return MESH_E_INVALID;
    }
    read_injector_values(injector_cm, out);
    out->network = out->injector_network ? ew_strdup(out->injector_network)
                                         : string_at(path(ns_obj, "metadata", "labels", NULL),
                                                     "topology.istio.io/network", NULL, NULL);
    return MESH_OK;
}

mesh_code mesh_istio_check(const struct mesh_istio_info *info, const struct mesh_network *net,
                           const struct mesh_cluster *member, int importing, struct mesh_problem *p)
{
    if (!info->found)
        return mesh_problem_set(p, "IstiodNotFound",
                                "cluster %s: no ConfigMap istio in namespace %s: is istiod "
                                "installed there?",
                                member->name, net->istio_namespace);
    if (strcmp(info->trust_domain, net->trust_domain) != 0)
        return mesh_problem_set(p, "TrustDomainMismatch",
                                "cluster %s: istiod's trust domain is %s, spec.trustDomain is %s",
                                member->name, info->trust_domain, net->trust_domain);
    if (strcmp(info->mesh_id, net->mesh_id) != 0)
        return mesh_problem_set(p, "MeshIDMismatch",
                                "cluster %s: istiod's mesh ID (defaultConfig.meshId) is %s, "
                                "spec.meshID is %s",
                                member->name, info->mesh_id, net->mesh_id);
    if (info->injector_network && strcmp(info->injector_network, member->network) != 0)
        return mesh_problem_set(p, "NetworkMismatch",
                                "cluster %s: istiod's global.network is %s, the member's network "
                                "is %s",
                                member->name, info->injector_network, member->network);
    if (importing && !info->dns_capture)
        return mesh_problem_set(p, "DNSCaptureDisabled",
                                "cluster %s imports services but its proxies do not capture DNS "
                                "(set meshConfig.defaultConfig.proxyMetadata."
                                "ISTIO_META_DNS_CAPTURE: \"true\"): its clients cannot resolve "
                                "the imported hosts",
                                member->name);
    return MESH_OK;
}
