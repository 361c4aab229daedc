/*
 * test_mesh_objects.c: what the MeshNetwork controller writes in a member and
 * when it writes: the east-west gateway objects (docs/design.md section 3), the
 * "needs an apply" test against live objects as the API server returns them
 * (defaults added, no kind in list items, edits by others), the gateway
 * addresses, istiod's configuration checks, and condition transitions.
 */
#include "harness.h"
#include "mesh/conditions.h"
#include "mesh/gateway_addresses.h"
#include "mesh/istio_check.h"
#include "mesh/members.h"
#include "mesh/objects.h"

#include <stdlib.h>
#include <string.h>

static const char *MESH_JSON =
    "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
    "\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u-1\",\"generation\":3},"
    "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
    "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\",\"kubeconfigSecretRef\":{\"name\":\"eu\"}}],"
    "\"eastWestGateway\":{\"replicas\":3,\"service\":{\"type\":\"LoadBalancer\","
    "\"annotations\":{\"lb.example/internal\":\"true\"},"
    "\"loadBalancerSourceRanges\":[\"10.0.0.0/8\"]},"
    "\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}}}";

static void parse_mesh(struct test_ctx *t, const char *json, struct mesh_network *n)
{
    cJSON *j = cJSON_Parse(json);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, j && mesh_network_parse(j, n, &p) == MESH_OK, "%s", p.message.buf);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

static const char *str_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save)) {
        if (*tok >= '0' && *tok <= '9')
            v = cJSON_GetArrayItem(v, atoi(tok));
        else
            v = cJSON_GetObjectItemCaseSensitive(v, tok);
    }
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *find_kind(const struct mesh_desired_set *s, const char *kind)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(str_at(s->items[i].obj, "kind"), kind) == 0)
            return s->items[i].obj;
    return NULL;
}

static void test_gateway_objects(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, MESH_JSON, &n);
    struct mesh_desired_set s = {0};
    char *hosts[] = {"echo.eu.mesh.local"};
    mesh_build_gateway(&n, &n.clusters[1], hosts, 1, &s);
    CHECK(t, s.n == 6);
    const char *kinds[] = {"ServiceAccount", "Role",    "RoleBinding",
                           "Deployment",     "Service", "Gateway"};
    for (size_t i = 0; i < 6; i++) {
        const cJSON *o = find_kind(&s, kinds[i]);
        CHECKF(t, o != NULL, "no %s", kinds[i]);
        if (!o)
            continue;
        CHECK(t, strcmp(str_at(o, "metadata.namespace"), "istio-system") == 0);
        const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels");
        CHECK(t, strcmp(cJSON_GetObjectItem(labels, MESH_LABEL_MANAGED_BY)->valuestring,
                        "eastwest-operator") == 0);
        CHECK(t, strcmp(cJSON_GetObjectItem(labels, MESH_LABEL_MESH)->valuestring,
                        "training-mesh") == 0);
        CHECK(t,
              strcmp(cJSON_GetObjectItem(labels, MESH_LABEL_NETWORK)->valuestring, "eu-net") == 0);
        const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "annotations");
        CHECK(t, strcmp(cJSON_GetObjectItem(ann, MESH_ANNOTATION_OWNER)->valuestring, "u-1") == 0);
        CHECK(t, cJSON_IsString(cJSON_GetObjectItem(ann, MESH_ANNOTATION_HASH)));
    }
    /* The gateway's ServiceAccount may read no Secret (issue 31: it could read cacerts,
     * the intermediate CA's key): its Role has no rule at all, and an API server that
     * returns the empty list as null needs no apply. */
    const cJSON *role = find_kind(&s, "Role");
    const cJSON *rules = cJSON_GetObjectItem(role, "rules");
    CHECKF(t, cJSON_IsArray(rules) && cJSON_GetArraySize(rules) == 0,
           "the gateway Role has rules: %s", str_at(role, "rules.0.resources.0"));
    cJSON *live = cJSON_Duplicate(role, 1);
    cJSON_ReplaceItemInObject(live, "rules", cJSON_CreateNull());
    CHECK(t, !mesh_object_needs_apply(role, live));
    cJSON_Delete(live);
    const cJSON *d = find_kind(&s, "Deployment");
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(d, "spec"), "replicas")->valueint == 3);
    CHECK(t, strcmp(str_at(d, "spec.template.spec.containers.0.image"), "auto") == 0);
    CHECK(t, strcmp(str_at(d, "spec.template.spec.containers.0.env.0.value"), "eu-net") == 0);
    CHECK(t,
          strcmp(str_at(d, "spec.template.spec.containers.0.resources.requests.cpu"), "100m") == 0);
    CHECK(t, strcmp(str_at(d, "spec.template.spec.securityContext.sysctls.0.name"),
                    "net.ipv4.ip_unprivileged_port_start") == 0);
    const cJSON *svc = find_kind(&s, "Service");
    CHECK(t, strcmp(str_at(svc, "spec.type"), "LoadBalancer") == 0);
    CHECK(t, strcmp(str_at(svc, "spec.loadBalancerSourceRanges.0"), "10.0.0.0/8") == 0);
    CHECK(t, strcmp(str_at(svc, "spec.ports.1.name"), "tls") == 0);
    const cJSON *gw = find_kind(&s, "Gateway");
    CHECK(t, strcmp(str_at(gw, "spec.servers.0.tls.mode"), "AUTO_PASSTHROUGH") == 0);
    CHECK(t, strcmp(str_at(gw, "spec.servers.0.hosts.0"), "echo.eu.mesh.local") == 0);
    CHECK(t, strcmp(str_at(gw, "spec.selector.istio"), "eastwestgateway") == 0);
    mesh_desired_release(&s);
    /* nothing exported, ExportedOnly: no Gateway (Istio refuses a server without hosts) */
    mesh_build_gateway(&n, &n.clusters[0], NULL, 0, &s);
    CHECK(t, s.n == 5 && find_kind(&s, "Gateway") == NULL);
    mesh_desired_release(&s);
    /* AllLocal passes every exported host through, the default ones
     * (<name>.<namespace>.<meshID>.global) too: "*", not Istio's sample "*.local", which
     * matches none of them. */
    n.gateway.exposure = MESH_EXPOSE_ALL_LOCAL;
    mesh_build_gateway(&n, &n.clusters[0], NULL, 0, &s);
    gw = find_kind(&s, "Gateway");
    CHECK_STR(t, str_at(gw, "spec.servers.0.hosts.0"), "*");
    CHECK(t, str_at(gw, "spec.servers.0.hosts.1") == NULL);
    mesh_desired_release(&s);
    mesh_build_gateway(&n, &n.clusters[0], hosts, 1, &s); /* the hosts do not narrow it */
    gw = find_kind(&s, "Gateway");
    CHECK_STR(t, str_at(gw, "spec.servers.0.hosts.0"), "*");
    CHECK(t, str_at(gw, "spec.servers.0.hosts.1") == NULL);
    mesh_desired_release(&s);
    mesh_network_release(&n);
}

/* The live object as the API server returns it: defaults added, status, managedFields;
 * list items have no apiVersion and kind. */
static cJSON *as_served(const cJSON *desired, int from_list)
{
    cJSON *live = cJSON_Duplicate(desired, 1);
    cJSON *md = cJSON_GetObjectItem(live, "metadata");
    cJSON_AddStringToObject(md, "resourceVersion", "42");
    cJSON_AddStringToObject(md, "uid", "x");
    cJSON *spec = cJSON_GetObjectItem(live, "spec");
    cJSON_AddStringToObject(spec, "clusterIP", "10.0.0.7");
    cJSON_AddStringToObject(spec, "sessionAffinity", "None");
    cJSON *port0 = cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "ports"), 0);
    cJSON_AddNumberToObject(port0, "nodePort", 31000);
    cJSON_AddObjectToObject(live, "status");
    if (from_list) {
        cJSON_DeleteItemFromObject(live, "apiVersion");
        cJSON_DeleteItemFromObject(live, "kind");
    }
    return live;
}

static void test_needs_apply(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, MESH_JSON, &n);
    struct mesh_desired_set s = {0};
    mesh_build_gateway(&n, &n.clusters[0], NULL, 0, &s);
    const cJSON *svc = find_kind(&s, "Service");
    CHECK(t, mesh_object_needs_apply(svc, NULL));
    cJSON *live = as_served(svc, 0);
    CHECK(t, !mesh_object_needs_apply(svc, live));
    cJSON_Delete(live);
    live = as_served(svc, 1);
    CHECK(t, !mesh_object_needs_apply(svc, live));
    /* someone edits a port */
    cJSON *p1 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(live, "spec"), "ports"), 1);
    cJSON_ReplaceItemInObject(p1, "port", cJSON_CreateNumber(16443));
    CHECK(t, mesh_object_needs_apply(svc, live));
    cJSON_Delete(live);
    /* someone removes a label */
    live = as_served(svc, 0);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(live, "metadata"), "labels"),
                               MESH_LABEL_NETWORK);
    CHECK(t, mesh_object_needs_apply(svc, live));
    cJSON_Delete(live);
    /* the spec changed: a field was dropped, the hash tells */
    live = as_served(svc, 0);
    mesh_desired_release(&s);
    size_t nranges = n.gateway.nsource_ranges;
    n.gateway.nsource_ranges = 0;
    mesh_build_gateway(&n, &n.clusters[0], NULL, 0, &s);
    CHECK(t, mesh_object_needs_apply(find_kind(&s, "Service"), live));
    n.gateway.nsource_ranges = nranges; /* so that release frees them */
    cJSON_Delete(live);
    mesh_desired_release(&s);
    mesh_network_release(&n);
    /* an empty map in desired matches an absent field */
    cJSON *want = cJSON_Parse("{\"metadata\":{\"name\":\"a\",\"annotations\":{}},\"data\":[]}");
    cJSON *have = cJSON_Parse("{\"metadata\":{\"name\":\"a\"}}");
    CHECK(t, mesh_json_subset(want, have));
    cJSON_Delete(want);
    cJSON_Delete(have);
}

static void test_service_ingress(struct test_ctx *t)
{
    cJSON *svc = cJSON_Parse("{\"status\":{\"loadBalancer\":{\"ingress\":["
                             "{\"ip\":\"203.0.113.10\",\"ipMode\":\"VIP\"},"
                             "{\"hostname\":\"a1.elb.amazonaws.com\"},{\"ip\":\"2001:db8::1\"},"
                             "{}]}}}");
    size_t n;
    int all_ips;
    char **a = mesh_service_ingress(svc, &n, &all_ips);
    CHECK(t, n == 3 && !all_ips);
    CHECK(t, strcmp(a[0], "203.0.113.10") == 0 && strcmp(a[1], "a1.elb.amazonaws.com") == 0 &&
                 strcmp(a[2], "2001:db8::1") == 0);
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
    cJSON_Delete(svc);
    svc = cJSON_Parse("{\"status\":{}}");
    a = mesh_service_ingress(svc, &n, &all_ips);
    CHECK(t, n == 0 && all_ips);
    free(a);
    cJSON_Delete(svc);
}

static cJSON *mesh_configmap(const char *mesh_yaml)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), "operator.istio.io/version",
                            "1.30.3");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "mesh", mesh_yaml);
    return cm;
}

static void expect_istio(struct test_ctx *t, const struct mesh_network *n, const char *yaml,
                         const char *injector_values, int importing, const char *reason,
                         const char *const *words)
{
    cJSON *cm = yaml ? mesh_configmap(yaml) : NULL;
    cJSON *inj = NULL;
    if (injector_values) {
        inj = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(inj, "data"), "values", injector_values);
    }
    struct mesh_istio_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    mesh_code rc = mesh_istio_read(cm, inj, NULL, &info, &p);
    if (rc == MESH_OK)
        rc = mesh_istio_check(&info, n, &n->clusters[1], importing, &p);
    if (!reason) {
        CHECKF(t, rc == MESH_OK, "%s: %s", p.reason, p.message.buf);
    } else {
        CHECKF(t, rc != MESH_OK && strcmp(p.reason, reason) == 0, "want %s, got %s (%s)", reason,
               p.reason, p.message.buf);
        for (size_t i = 0; words && words[i]; i++)
            CHECKF(t, strstr(p.message.buf, words[i]) != NULL, "'%s' not in: %s", words[i],
                   p.message.buf);
    }
    mesh_istio_info_release(&info);
    mesh_problem_release(&p);
    cJSON_Delete(cm);
    cJSON_Delete(inj);
}

static void test_istio_checks(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, MESH_JSON, &n);
    const char *good = "trustDomain: corp.local\ndefaultConfig:\n  meshId: training-mesh\n"
                       "  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n";
    expect_istio(t, &n, good, NULL, 1, NULL, NULL);
    const char *td[] = {"cluster eu", "other.local", "corp.local", NULL};
    expect_istio(t, &n, "trustDomain: other.local\ndefaultConfig: {meshId: training-mesh}\n", NULL,
                 0, "TrustDomainMismatch", td);
    /* istiod's defaults: trust domain cluster.local */
    const char *dflt[] = {"cluster.local", "corp.local", NULL};
    expect_istio(t, &n, "{}", NULL, 0, "TrustDomainMismatch", dflt);
    const char *mid[] = {"cluster eu", "m2", "training-mesh", NULL};
    expect_istio(t, &n, "trustDomain: corp.local\ndefaultConfig: {meshId: m2}\n", NULL, 0,
                 "MeshIDMismatch", mid);
    const char *net[] = {"cluster eu", "us-net", "eu-net", NULL};
    expect_istio(t, &n, good, "{\"global\":{\"network\":\"us-net\"}}", 0, "NetworkMismatch", net);
    expect_istio(t, &n, good, "{\"global\":{\"network\":\"eu-net\"}}", 0, NULL, NULL);
    const char *dns[] = {"cluster eu", "ISTIO_META_DNS_CAPTURE", NULL};
    expect_istio(t, &n, "trustDomain: corp.local\ndefaultConfig: {meshId: training-mesh}\n", NULL,
                 1, "DNSCaptureDisabled", dns);
    const char *missing[] = {"cluster eu", "istio-system", NULL};
    expect_istio(t, &n, NULL, NULL, 0, "IstiodNotFound", missing);
    const char *bad[] = {"ConfigMap istio", NULL};
    expect_istio(t, &n, "trustDomain: [unclosed", NULL, 0, "IstioMeshConfigInvalid", bad);
    mesh_network_release(&n);
}

static void test_condition_transitions(struct test_ctx *t)
{
    cJSON *old = cJSON_Parse("[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"A\","
                             "\"message\":\"\",\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"}]");
    cJSON *now = cJSON_CreateArray();
    mesh_condition_add(now, old, "Ready", MESH_COND_TRUE, "B", "same status", 4);
    mesh_condition_add(now, old, "GatewaysReady", MESH_COND_FALSE, "NoGatewayAddress", "x", 4);
    CHECK(t, strcmp(str_at(now, "0.lastTransitionTime"), "2020-01-01T00:00:00Z") == 0);
    CHECK(t, strcmp(str_at(now, "0.reason"), "B") == 0);
    CHECK(t,
          cJSON_GetArrayItem(now, 0) &&
              cJSON_GetObjectItem(cJSON_GetArrayItem(now, 0), "observedGeneration")->valueint == 4);
    CHECK(t, strcmp(str_at(now, "1.lastTransitionTime"), "2020-01-01T00:00:00Z") != 0);
    cJSON *flipped = cJSON_CreateArray();
    mesh_condition_add(flipped, old, "Ready", MESH_COND_FALSE, "B", "", 4);
    CHECK(t, strcmp(str_at(flipped, "0.lastTransitionTime"), "2020-01-01T00:00:00Z") != 0);
    CHECK(t, strcmp(mesh_condition_status(flipped, "Ready"), "False") == 0);
    CHECK(t, mesh_condition_status(flipped, "Nope") == NULL);
    cJSON_Delete(old);
    cJSON_Delete(now);
    cJSON_Delete(flipped);
}

/* istiod renews its leader-election ConfigMaps every few seconds: only the ConfigMaps
 * a reconcile reads may wake it. */
static void test_configmaps_that_wake(struct test_ctx *t)
{
    CHECK(t, mesh_member_configmap_is_read("istio-system/istio"));
    CHECK(t, mesh_member_configmap_is_read("istio-system/istio-ca-root-cert"));
    CHECK(t, mesh_member_configmap_is_read("istio-system/istio-sidecar-injector"));
    CHECK(t, mesh_member_configmap_is_read("istio"));
    CHECK(t, !mesh_member_configmap_is_read("istio-system/istio-leader"));
    CHECK(t, !mesh_member_configmap_is_read("istio-system/istio-namespace-controller-election"));
    CHECK(t, !mesh_member_configmap_is_read("istio-system/istio-ca-crl"));
    CHECK(t, !mesh_member_configmap_is_read("istio-system/istio-x"));
    CHECK(t, !mesh_member_configmap_is_read(NULL));
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"gateway_objects", test_gateway_objects},
        {"needs_apply", test_needs_apply},
        {"service_ingress", test_service_ingress},
        {"istio_checks", test_istio_checks},
        {"condition_transitions", test_condition_transitions},
        {"configmaps_that_wake", test_configmaps_that_wake},
    };
    return TEST_MAIN(cases, argc, argv);
}
