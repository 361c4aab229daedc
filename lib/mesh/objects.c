/*
 * objects: builders of the member-cluster objects and the "does it need an
 * apply" test. See objects.h for the labelling and comparison rules.
 */
#include "objects.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct kube_resource MESH_RES_GATEWAYS = {"networking.istio.io", "v1", "gateways", 1};
const struct kube_resource MESH_RES_SERVICEENTRIES = {"networking.istio.io", "v1", "serviceentries",
                                                      1};
const struct kube_resource MESH_RES_DESTINATIONRULES = {"networking.istio.io", "v1",
                                                        "destinationrules", 1};
const struct kube_resource MESH_RES_MESHNETWORKS = {"eastwest.io", "v1alpha1", "meshnetworks", 0};
const struct kube_resource MESH_RES_CROSSCLUSTERSERVICES = {"eastwest.io", "v1alpha1",
                                                            "crossclusterservices", 1};

char *mesh_selector_for_mesh(const char *mesh)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s=%s,%s=%s", MESH_LABEL_MANAGED_BY, MESH_FIELD_MANAGER, MESH_LABEL_MESH,
                mesh);
    return strbuf_detach(&sb, NULL);
}

static cJSON *child_object(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (cJSON_IsObject(o))
        return o;
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    return cJSON_AddObjectToObject(parent, key);
}

static void set_string(cJSON *map, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(map, key);
    cJSON_AddStringToObject(map, key, value);
}

void mesh_object_set_label(cJSON *obj, const char *key, const char *value)
{
    set_string(child_object(child_object(obj, "metadata"), "labels"), key, value);
}

void mesh_object_set_annotation(cJSON *obj, const char *key, const char *value)
{
    set_string(child_object(child_object(obj, "metadata"), "annotations"), key, value);
}

cJSON *mesh_object_new(const char *api_version, const char *kind, const char *ns, const char *name,
                       const struct mesh_owner *owner)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", api_version);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (ns)
        cJSON_AddStringToObject(md, "namespace", ns);
    if (owner) {
        mesh_object_set_label(o, MESH_LABEL_MANAGED_BY, MESH_FIELD_MANAGER);
        mesh_object_set_label(o, MESH_LABEL_MESH, owner->mesh);
        if (owner->service)
            mesh_object_set_label(o, MESH_LABEL_SERVICE, owner->service);
        if (owner->uid)
            mesh_object_set_annotation(o, MESH_ANNOTATION_OWNER, owner->uid);
    }
    return o;
}

/* FNV-1a, 64 bits: a change detector, not a security measure. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void object_hash(const cJSON *obj, char out[17])
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(copy, "metadata"), "annotations");
    cJSON_DeleteItemFromObjectCaseSensitive(ann, MESH_ANNOTATION_HASH);
    char *text = cJSON_PrintUnformatted(copy);
    if (!text)
        ew_oom(0);
    snprintf(out, 17, "%016llx", (unsigned long long)fnv1a(text));
    cJSON_free(text);
    cJSON_Delete(copy);
}

void mesh_object_stamp(cJSON *obj)
{
    char h[17];
    object_hash(obj, h);
    mesh_object_set_annotation(obj, MESH_ANNOTATION_HASH, h);
}

static int is_empty_container(const cJSON *v)
{
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child;
}

int mesh_json_subset(const cJSON *want, const cJSON *have)
{
    if (cJSON_IsObject(want)) {
        if (!have)
            return is_empty_container(want);
        if (!cJSON_IsObject(have))
            return 0;
        for (const cJSON *w = want->child; w; w = w->next) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, w->string);
            if (!h && (is_empty_container(w) || cJSON_IsNull(w)))
                continue;
            if (!mesh_json_subset(w, h))
                return 0;
        }
        return 1;
    }
    if (cJSON_IsArray(want)) {
        if (!have)
            return is_empty_container(want);
        if (!cJSON_IsArray(have) || cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
            return 0;
        const cJSON *h = have->child;
        for (const cJSON *w = want->child; w; w = w->next, h = h->next)
            if (!mesh_json_subset(w, h))
                return 0;
        return 1;
    }
    if (!have)
        return 0;
    if (cJSON_IsString(want) && cJSON_IsString(have))
        return strcmp(want->valuestring, have->valuestring) == 0;
    return cJSON_Compare(want, have, 1);
}

int mesh_object_needs_apply(const cJSON *desired, const cJSON *live)
{
    if (!live)
        return 1;
    const cJSON *dann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(desired, "metadata"), "annotations");
    const cJSON *lann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(live, "metadata"), "annotations");
    const cJSON *dh = cJSON_GetObjectItemCaseSensitive(dann, MESH_ANNOTATION_HASH);
    const cJSON *lh = cJSON_GetObjectItemCaseSensitive(lann, MESH_ANNOTATION_HASH);
    if (cJSON_IsString(dh) && (!cJSON_IsString(lh) || strcmp(dh->valuestring, lh->valuestring)))
        return 1;
    /* Objects from a list carry no apiVersion and kind: compare the rest. */
    for (const cJSON *f = desired->child; f; f = f->next) {
        if (strcmp(f->string, "apiVersion") == 0 || strcmp(f->string, "kind") == 0)
            continue;
        if (!mesh_json_subset(f, cJSON_GetObjectItemCaseSensitive(live, f->string)) &&
            !(is_empty_container(f) && !cJSON_GetObjectItemCaseSensitive(live, f->string)))
            return 1;
    }
    return 0;
}

void mesh_desired_add(struct mesh_desired_set *s, const struct kube_resource *r, cJSON *obj)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->items = ew_realloc(s->items, s->cap * sizeof(*s->items));
    }
    s->items[s->n].resource = r;
    s->items[s->n].obj = obj;
    s->n++;
}

void mesh_desired_release(struct mesh_desired_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->items[i].obj);
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

static const char *meta_string(const cJSON *obj, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct mesh_desired *mesh_desired_find(const struct mesh_desired_set *s,
                                             const struct kube_resource *r, const char *ns,
                                             const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct mesh_desired *d = &s->items[i];
        if (d->resource == r && same_string(meta_string(d->obj, "namespace"), ns) &&
            same_string(meta_string(d->obj, "name"), name))
            return d;
    }
    return NULL;
}

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

static cJSON *build_role(const struct mesh_network *net, const struct mesh_cluster *m)
{
    cJSON *o = gateway_object(net, "rbac.authorization.k8s.io/v1", "Role", MESH_GATEWAY_NAME, m);
    cJSON *rule = cJSON_CreateObject();
    const char *groups[] = {""};
    const char *resources[] = {"secrets"};
    const char *verbs[] = {"get", "watch", "list"};
    cJSON_AddItemToObject(rule, "apiGroups", cJSON_CreateStringArray(groups, 1));
    cJSON_AddItemToObject(rule, "resources", cJSON_CreateStringArray(resources, 1));
    cJSON_AddItemToObject(rule, "verbs", cJSON_CreateStringArray(verbs, 3));
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    cJSON_AddItemToArray(rules, rule);
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

const cJSON *mesh_json_get(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

const char *mesh_json_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = mesh_json_get(o, a, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
