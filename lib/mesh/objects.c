/*
 * objects: builders of the member-cluster objects of a MeshNetwork (see
 * objects.h). The labelling and comparison rules are in object_meta.h.
 */
#include "objects.h"

#include <string.h>

const struct kube_resource MESH_RES_GATEWAYS = {"networking.istio.io", "v1", "gateways", 1};
const struct kube_resource MESH_RES_SERVICEENTRIES = {"networking.istio.io", "v1", "serviceentries",
                                                      1};
const struct kube_resource MESH_RES_DESTINATIONRULES = {"networking.istio.io", "v1",
                                                        "destinationrules", 1};
const struct kube_resource MESH_RES_MESHNETWORKS = {"eastwest.io", "v1alpha1", "meshnetworks", 0};
const struct kube_resource MESH_RES_CROSSCLUSTERSERVICES = {"eastwest.io", "v1alpha1",
                                                            "crossclusterservices", 1};

/* ---- the east-west gateway ---- */

static const struct {
    const char *name;
    int port;
} gateway_ports[] = {
    {"status-port", 15021},
    {"tls", 15443},
    {"tls-istiod", 15012},
    {"tls-webhook", 15017},
};
#define NGATEWAY_PORTS (sizeof(gateway_ports) / sizeof(gateway_ports[0]))

static void add_gateway_selector_labels(cJSON *map)
{
    cJSON_AddStringToObject(map, "app", MESH_GATEWAY_NAME);
    cJSON_AddStringToObject(map, "istio", "eastwestgateway");
}

static cJSON *gateway_object(const struct mesh_network *net, const char *api_version,
                             const char *kind, const char *name, const struct mesh_cluster *m)
{
    struct mesh_owner owner = {net->name, NULL, net->uid};
    cJSON *o = mesh_object_new(api_version, kind, net->istio_namespace, name, &owner);
    mesh_object_set_label(o, MESH_LABEL_NETWORK, m->network);
    return o;
}

/* The gateway's Role grants nothing. Istio's gateway chart gives a gateway get/list/watch
 * on every Secret of its namespace so that istiod serves it the credentialName of a
 * SIMPLE or MUTUAL server (istiod checks the gateway may read that Secret); the east-west
 * gateway's only server is AUTO_PASSTHROUGH, which terminates no TLS and reads no Secret,
 * and in the Istio namespace "every Secret" is cacerts with the intermediate CA's key.
 * The Role is kept, empty, so that an upgrade replaces the old Secret-reading rules in
 * place (an apply) instead of leaving them behind. */
static cJSON *build_role(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *o = gateway_object(net, "rbac.authorization.k8s.io/v1", "Role", MESH_GATEWAY_NAME, m);
    cJSON_AddArrayToObject(o, "rules");
    return o;
}

static cJSON *build_role_binding(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *o =
        gateway_object(net, "rbac.authorization.k8s.io/v1", "RoleBinding", MESH_GATEWAY_NAME, m);
    cJSON *ref = cJSON_AddObjectToObject(o, "roleRef");
    cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
    cJSON_AddStringToObject(ref, "kind", "Role");
    cJSON_AddStringToObject(ref, "name", MESH_GATEWAY_NAME);
    cJSON *subject = cJSON_CreateObject();
    cJSON_AddStringToObject(subject, "kind", "ServiceAccount");
    cJSON_AddStringToObject(subject, "name", MESH_GATEWAY_NAME);
    cJSON_AddStringToObject(subject, "namespace", net->istio_namespace);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "subjects"), subject);
    return o;
}

static cJSON *container_security_context(void)
{
    cJSON *sc = cJSON_CreateObject();
    cJSON_AddBoolToObject(sc, "allowPrivilegeEscalation", 0);
    const char *drop[] = {"ALL"};
    cJSON_AddItemToObject(cJSON_AddObjectToObject(sc, "capabilities"), "drop",
                          cJSON_CreateStringArray(drop, 1));
    cJSON_AddBoolToObject(sc, "privileged", 0);
    cJSON_AddBoolToObject(sc, "readOnlyRootFilesystem", 1);
    cJSON_AddBoolToObject(sc, "runAsNonRoot", 1);
    cJSON_AddNumberToObject(sc, "runAsUser", 1337);
    cJSON_AddNumberToObject(sc, "runAsGroup", 1337);
    return sc;
}

static cJSON *build_container(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "istio-proxy");
    cJSON_AddStringToObject(c, "image", "auto"); /* istiod's injector fills it in */
    cJSON *env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "name", "ISTIO_META_REQUESTED_NETWORK_VIEW");
    cJSON_AddStringToObject(env, "value", m->network);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "env"), env);
    cJSON *ports = cJSON_AddArrayToObject(c, "ports");
    for (size_t i = 0; i < NGATEWAY_PORTS; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "containerPort", gateway_ports[i].port);
        cJSON_AddStringToObject(p, "name", gateway_ports[i].name);
        cJSON_AddStringToObject(p, "protocol", "TCP");
        cJSON_AddItemToArray(ports, p);
    }
    if (net->gateway.resources && net->gateway.resources->child)
        cJSON_AddItemToObject(c, "resources", cJSON_Duplicate(net->gateway.resources, 1));
    cJSON_AddItemToObject(c, "securityContext", container_security_context());
    return c;
}

static cJSON *build_pod_template(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *t = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(t, "metadata");
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    add_gateway_selector_labels(labels);
    cJSON_AddStringToObject(labels, MESH_LABEL_NETWORK, m->network);
    cJSON_AddStringToObject(labels, "sidecar.istio.io/inject", "true");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "annotations"), "inject.istio.io/templates",
                            "gateway");
    cJSON *spec = cJSON_AddObjectToObject(t, "spec");
    cJSON_AddStringToObject(spec, "serviceAccountName", MESH_GATEWAY_NAME);
    cJSON *sysctl = cJSON_CreateObject();
    cJSON_AddStringToObject(sysctl, "name", "net.ipv4.ip_unprivileged_port_start");
    cJSON_AddStringToObject(sysctl, "value", "0");
    cJSON_AddItemToArray(
        cJSON_AddArrayToObject(cJSON_AddObjectToObject(spec, "securityContext"), "sysctls"),
        sysctl);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), build_container(net, m));
    return t;
}

static cJSON *build_deployment(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *o = gateway_object(net, "apps/v1", "Deployment", MESH_GATEWAY_NAME, m);
    add_gateway_selector_labels(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"));
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddNumberToObject(spec, "replicas", net->gateway.replicas);
    add_gateway_selector_labels(
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "selector"), "matchLabels"));
    cJSON_AddItemToObject(spec, "template", build_pod_template(net, m));
    return o;
}

static cJSON *build_service(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *o = gateway_object(net, "v1", "Service", MESH_GATEWAY_NAME, m);
    add_gateway_selector_labels(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"));
    for (size_t i = 0; i < net->gateway.nannotations; i++)
        mesh_object_set_annotation(o, net->gateway.annotations[i].key,
                                   net->gateway.annotations[i].value);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(spec, "type", net->gateway.service_type);
    add_gateway_selector_labels(cJSON_AddObjectToObject(spec, "selector"));
    cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
    for (size_t i = 0; i < NGATEWAY_PORTS; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", gateway_ports[i].name);
        cJSON_AddNumberToObject(p, "port", gateway_ports[i].port);
        cJSON_AddNumberToObject(p, "targetPort", gateway_ports[i].port);
        cJSON_AddStringToObject(p, "protocol", "TCP");
        cJSON_AddItemToArray(ports, p);
    }
    if (net->gateway.nsource_ranges && strcmp(net->gateway.service_type, "LoadBalancer") == 0)
        cJSON_AddItemToObject(
            spec, "loadBalancerSourceRanges",
            cJSON_CreateStringArray((const char *const *)net->gateway.source_ranges,
                                    (int)net->gateway.nsource_ranges));
    return o;
}

static cJSON *build_istio_gateway(const struct mesh_network *net, const struct mesh_cluster *m,
                                  char *const *hosts, size_t nhosts)
{
    cJSON *o = gateway_object(net, "networking.istio.io/v1", "Gateway", MESH_ISTIO_GATEWAY_NAME, m);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "selector"), "istio", "eastwestgateway");
    cJSON *server = cJSON_CreateObject();
    cJSON *port = cJSON_AddObjectToObject(server, "port");
    cJSON_AddNumberToObject(port, "number", 15443);
    cJSON_AddStringToObject(port, "name", "tls");
    cJSON_AddStringToObject(port, "protocol", "TLS");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(server, "tls"), "mode", "AUTO_PASSTHROUGH");
    cJSON *h = cJSON_AddArrayToObject(server, "hosts");
    /* AllLocal: every host, the exported defaults <name>.<ns>.<meshID>.global too (Istio's
     * sample "*.local" matches none of those); the passthrough only reaches what the
     * member's own ServiceEntries and Services define. */
    if (net->gateway.exposure == MESH_EXPOSE_ALL_LOCAL)
        cJSON_AddItemToArray(h, cJSON_CreateString("*"));
    else
        for (size_t i = 0; i < nhosts; i++)
            cJSON_AddItemToArray(h, cJSON_CreateString(hosts[i]));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "servers"), server);
    return o;
}

void mesh_build_gateway(const struct mesh_network *net, const struct mesh_cluster *member,
                        char *const *hosts, size_t nhosts, struct mesh_desired_set *out)
{
    mesh_desired_add(out, &KUBE_RES_SERVICEACCOUNTS,
                     gateway_object(net, "v1", "ServiceAccount", MESH_GATEWAY_NAME, member));
    mesh_desired_add(out, &KUBE_RES_ROLES, build_role(net, member));
    mesh_desired_add(out, &KUBE_RES_ROLEBINDINGS, build_role_binding(net, member));
    mesh_desired_add(out, &KUBE_RES_DEPLOYMENTS, build_deployment(net, member));
    mesh_desired_add(out, &KUBE_RES_SERVICES, build_service(net, member));
    /* Istio refuses a server without hosts; with nothing exported there is nothing
     * for the gateway to pass through, so there is no Gateway. */
    if (net->gateway.exposure == MESH_EXPOSE_ALL_LOCAL || nhosts > 0)
        mesh_desired_add(out, &MESH_RES_GATEWAYS, build_istio_gateway(net, member, hosts, nhosts));
    for (size_t i = 0; i < out->n; i++)
        mesh_object_stamp(out->items[i].obj);
}

cJSON *mesh_build_network_label(const struct mesh_network *net, const struct mesh_cluster *member)
{
    cJSON *o = mesh_object_new("v1", "Namespace", NULL, net->istio_namespace, NULL);
    mesh_object_set_label(o, MESH_LABEL_NETWORK, member->network);
    return o;
}
