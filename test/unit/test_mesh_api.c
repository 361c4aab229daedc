/*
 * test_mesh_api.c: MeshNetwork / CrossClusterService parsing: defaults, the
 * examples' shapes, problems named by field, member and Secret checks, Go
 * durations, and a property test over randomly generated valid objects.
 */
#include "harness.h"
#include "mesh/api.h"

#include <stdlib.h>
#include <string.h>

static const char *TUTORIAL_MESH =
    "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\",\"metadata\":{\"name\":"
    "\"training-mesh\",\"uid\":\"u-1\",\"generation\":3},\"spec\":{\"meshID\":\"training-mesh\","
    "\"trustDomain\":\"corp.local\",\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\","
    "\"locality\":\"us-east-1\"},{\"name\":\"eu\",\"network\":\"eu-net\",\"locality\":"
    "\"eu-west-1\",\"kubeconfigSecretRef\":{\"name\":\"prod-eu-west-1\"}}]}}";

static const char *TUTORIAL_CCS =
    "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\",\"metadata\":{"
    "\"name\":\"echo\",\"namespace\":\"echo\",\"creationTimestamp\":\"2026-11-24T20:00:00Z\"},"
    "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"echo.eu.mesh.local\",\"address\":"
    "\"240.0.0.2\",\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],\"importTo\":"
    "[\"us\"],\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}";

static void test_mesh_defaults(struct test_ctx *t)
{
    cJSON *j = cJSON_Parse(TUTORIAL_MESH);
    struct mesh_network n;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, mesh_network_parse(j, &n, &p) == MESH_OK, "%s", p.message.buf);
    CHECK_STR(t, n.name, "training-mesh");
    CHECK(t, n.generation == 3);
    CHECK_STR(t, n.istio_namespace, "istio-system");
    CHECK(t, n.nclusters == 2);
    CHECK(t, n.clusters[0].secret_name == NULL); /* home cluster */
    CHECK_STR(t, n.clusters[1].secret_key, "kubeconfig");
    CHECK(t, n.gateway.replicas == 2 && n.gateway.exposure == MESH_EXPOSE_EXPORTED_ONLY);
    CHECK_STR(t, n.gateway.service_type, "LoadBalancer");
    CHECK(t, n.ca.key_algorithm == MESH_KEY_ECDSA_P256 && n.ca.on_delete == MESH_CA_RETAIN);
    CHECK(t, n.ca.root_validity == 87600.0 * 3600 && n.ca.renew_before == 720.0 * 3600);
    CHECK(t, n.ca.root_renew_before == 2160.0 * 3600);
    mesh_network_release(&n);
    /* a root valid 720h, accepted before rootRenewBefore existed: a third of it */
    cJSON *ca = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(j, "spec"),
                                        "certificateAuthority");
    cJSON_AddStringToObject(ca, "rootValidity", "720h");
    cJSON_AddStringToObject(ca, "intermediateValidity", "240h");
    cJSON_AddStringToObject(ca, "renewBefore", "24h");
    REQUIREF(t, mesh_network_parse(j, &n, &p) == MESH_OK, "%s", p.message.buf);
    CHECK(t, n.ca.root_renew_before == 240.0 * 3600);
    CHECK(t, n.vip_base == 0xf0f00000u && n.vip_prefix == 16);
    CHECK(t, mesh_network_cluster(&n, "eu") == &n.clusters[1]);
    CHECK(t, mesh_network_cluster(&n, "ap") == NULL);
    mesh_network_release(&n);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

static void test_ccs_and_members(struct test_ctx *t)
{
    cJSON *jm = cJSON_Parse(TUTORIAL_MESH), *jc = cJSON_Parse(TUTORIAL_CCS);
    struct mesh_network n;
    struct mesh_ccs c;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(jm, &n, &p) == MESH_OK);
    REQUIREF(t, mesh_ccs_parse(jc, &c, &p) == MESH_OK, "%s", p.message.buf);
    CHECK_STR(t, c.namespace_, "echo");
    CHECK(t, c.nexports == 1 && c.nimport_to == 1 && c.nports == 1);
    CHECK(t, c.ports[0].number == 80 && c.ports[0].target_port == 0);
    CHECK(t, c.outlier.consecutive_5xx == 5 && c.outlier.interval == 10);
    CHECK(t, c.partition_policy == MESH_KEEP_LAST_KNOWN);
    char *host = mesh_ccs_host(&c, &n);
    CHECK_STR(t, host, "echo.eu.mesh.local");
    free(host);
    free(c.host);
    c.host = NULL;
    host = mesh_ccs_host(&c, &n);
    CHECK_STR(t, host, "echo.echo.training-mesh.global");
    free(host);
    CHECK(t, mesh_ccs_check_members(&c, &n, &p) == MESH_OK);
    free(c.exports[0].cluster);
    c.exports[0].cluster = strdup("ap");
    CHECK(t, mesh_ccs_check_members(&c, &n, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "UnknownCluster");
    CHECK_STR(t, p.message.buf,
              "spec.exportFrom[0].cluster: \"ap\" is not a member of MeshNetwork training-mesh");
    mesh_ccs_release(&c);
    mesh_network_release(&n);
    mesh_problem_release(&p);
    cJSON_Delete(jm);
    cJSON_Delete(jc);
}

static int secrets(void *ud, const char *name, const char *key)
{
    const char *mode = ud;
    (void)name;
    (void)key;
    return mode[0] == 'y' ? 1 : mode[0] == 'n' ? 0 : -1;
}

static void test_secret_checks(struct test_ctx *t)
{
    cJSON *j = cJSON_Parse(TUTORIAL_MESH);
    struct mesh_network n;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(j, &n, &p) == MESH_OK);
    CHECK(t, mesh_network_check_secrets(&n, secrets, "yes", &p) == MESH_OK);
    CHECK(t, mesh_network_check_secrets(&n, secrets, "no", &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "KubeconfigSecretNotFound");
    CHECK_CONTAINS(t, p.message.buf, "cluster eu: Secret prod-eu-west-1");
    CHECK(t, mesh_network_check_secrets(&n, secrets, "key", &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "KubeconfigSecretKeyMissing");
    CHECK_CONTAINS(t, p.message.buf, "has no key \"kubeconfig\"");
    mesh_network_release(&n);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

struct bad {
    const char *what, *json, *want;
};

static const struct bad mesh_bad[] = {
    {"no spec", "{}", "spec: required"},
    {"meshID type", "{\"spec\":{\"meshID\":1}}", "spec.meshID: expected a string"},
    {"one cluster",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"}]}}",
     "spec.clusters: at least two clusters are needed"},
    {"duplicate network",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"n\"}]}}",
     "spec.clusters[1]: duplicate network"},
    {"bad replicas",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"o\"}],\"eastWestGateway\":{"
     "\"replicas\":1.5}}}",
     "spec.eastWestGateway.replicas: expected a whole number from 0 to 100"},
    {"bad duration",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"o\"}],\"certificateAuthority\":{"
     "\"renewBefore\":\"1 month\"}}}",
     "spec.certificateAuthority.renewBefore: expected a positive duration"},
    {"root renewed at once",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"o\"}],\"certificateAuthority\":{"
     "\"rootValidity\":\"720h\",\"intermediateValidity\":\"240h\",\"renewBefore\":\"24h\","
     "\"rootRenewBefore\":\"720h\"}}}",
     "spec.certificateAuthority.rootRenewBefore: must be shorter than rootValidity"},
    {"bad vipRange",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"o\"}],\"vipRange\":\"240.0.0.2\"}}",
     "spec.vipRange: expected an IPv4 CIDR"},
    {"bad enum",
     "{\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"t\",\"clusters\":[{\"name\":\"a\","
     "\"network\":\"n\"},{\"name\":\"b\",\"network\":\"o\"}],\"certificateAuthority\":{"
     "\"onDelete\":\"Shred\"}}}",
     "spec.certificateAuthority.onDelete: \"Shred\" is not one of Retain, Delete"},
};
static const struct bad ccs_bad[] = {
    {"no exporters", "{\"spec\":{\"meshNetwork\":\"m\"}}",
     "spec.exportFrom: at least one exporting cluster is needed"},
    {"cidr address",
     "{\"spec\":{\"meshNetwork\":\"m\",\"address\":\"240.0.0.2/32\",\"exportFrom\":[{"
     "\"cluster\":\"eu\"}]}}",
     "spec.address: expected an IP address"},
    {"port zero",
     "{\"spec\":{\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}],\"ports\":[{"
     "\"number\":0,\"name\":\"h\",\"protocol\":\"HTTP\"}]}}",
     "spec.ports[0].number: expected a whole number from 1 to 65535"},
    {"duplicate port",
     "{\"spec\":{\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}],\"ports\":[{"
     "\"number\":80,\"name\":\"h\",\"protocol\":\"HTTP\"},{\"number\":80,\"name\":\"g\","
     "\"protocol\":\"TCP\"}]}}",
     "spec.ports[1].targetPort: duplicate port number or name"},
    {"protocol missing",
     "{\"spec\":{\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}],\"ports\":[{"
     "\"number\":80,\"name\":\"h\"}]}}",
     "spec.ports[0].protocol: required"},
    {"empty importTo",
     "{\"spec\":{\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}],\"importTo\":[]}}",
     "spec.importTo: must name at least one cluster"},
};
static void test_problems_name_the_field(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    for (size_t i = 0; i < sizeof(mesh_bad) / sizeof(mesh_bad[0]); i++) {
        cJSON *j = cJSON_Parse(mesh_bad[i].json);
        struct mesh_network n;
        CHECKF(t, mesh_network_parse(j, &n, &p) == MESH_E_INVALID, "%s: accepted",
               mesh_bad[i].what);
        CHECKF(t, strstr(p.message.buf, mesh_bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"",
               mesh_bad[i].what, p.message.buf, mesh_bad[i].want);
        CHECK_STR(t, p.reason, "InvalidSpec");
        mesh_network_release(&n);
        cJSON_Delete(j);
    }
    for (size_t i = 0; i < sizeof(ccs_bad) / sizeof(ccs_bad[0]); i++) {
        cJSON *j = cJSON_Parse(ccs_bad[i].json);
        struct mesh_ccs c;
        CHECKF(t, mesh_ccs_parse(j, &c, &p) == MESH_E_INVALID, "%s: accepted", ccs_bad[i].what);
        CHECKF(t, strstr(p.message.buf, ccs_bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"",
               ccs_bad[i].what, p.message.buf, ccs_bad[i].want);
        mesh_ccs_release(&c);
        cJSON_Delete(j);
    }
    mesh_problem_release(&p);
}

/* Objects that fail late: every field that allocates (names, clusters, annotations,
 * source ranges, resources, exporters, importTo, ports) is read before the one that is
 * wrong, so a parser that kept what it had read would leak all of it. */
static const char *const mesh_late[] = {
    "{\"metadata\":{\"name\":\"m\",\"uid\":\"u\"},\"spec\":{\"meshID\":\"m\",\"trustDomain\":"
    "\"t\",\"clusters\":[{\"name\":\"a\",\"network\":\"n\",\"locality\":\"l\"},{\"name\":\"b\","
    "\"network\":\"o\",\"kubeconfigSecretRef\":{\"name\":\"s\",\"key\":\"k\"}}],"
    "\"eastWestGateway\":{\"service\":{\"type\":\"NodePort\",\"annotations\":{\"a\":\"b\"},"
    "\"loadBalancerSourceRanges\":[\"10.0.0.0/8\"]},\"resources\":{\"limits\":{\"cpu\":\"1\"}}},"
    "\"certificateAuthority\":{\"rootSecretRef\":{\"name\":\"r\"}},\"vipRange\":\"240.0.0.2\"}}",
    "{\"metadata\":{\"name\":\"m\",\"uid\":\"u\"},\"spec\":{\"meshID\":\"m\",\"trustDomain\":"
    "\"t\",\"clusters\":[{\"name\":\"a\",\"network\":\"n\"},{\"name\":\"a\",\"network\":\"o\"}],"
    "\"eastWestGateway\":{\"service\":{\"annotations\":{\"a\":\"b\",\"c\":7}}}}}",
    "{\"metadata\":{\"name\":\"m\",\"uid\":\"u\"},\"spec\":[]}",
    "[]",
};
static const char *const ccs_late[] = {
    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\",\"uid\":\"u\",\"creationTimestamp\":"
    "\"2026-11-24T20:00:00Z\"},\"spec\":{\"meshNetwork\":\"m\",\"host\":\"h.example\","
    "\"address\":\"240.0.0.2\",\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"s\"},"
    "{\"cluster\":\"ap\"}],\"importTo\":[\"us\"],\"ports\":[{\"number\":80,\"name\":\"http\","
    "\"protocol\":\"HTTP\"}],\"partitionPolicy\":\"Shred\"}}",
    ("{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"},\"spec\":{\"meshNetwork\":\"m\","
     "\"exportFrom\":[{\"cluster\":\"eu\"},{\"cluster\":\"eu\"}],\"importTo\":[\"us\",\"us\"]}}"),
    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"}}",
    "[]",
};

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* The ownership rule of api.h: a parse that fails has released what it read and left
 * its out-parameter zeroed, so the caller has nothing to release. Nothing here calls
 * *_release after a failure (on purpose: the reconcilers and the plugin do not), so
 * under ASan (detect_leaks=1) and valgrind a parser that kept its allocations makes
 * this binary report a leak. The struct starts as garbage: the parser clears it. */
static void mesh_fails_clean(struct test_ctx *t, const char *json, struct mesh_problem *p)
{
    cJSON *j = cJSON_Parse(json);
    struct mesh_network n;
    memset(&n, 0xa5, sizeof(n));
    CHECKF(t, mesh_network_parse(j, &n, p) == MESH_E_INVALID, "%s: accepted", json);
    CHECKF(t, all_zero(&n, sizeof(n)), "%s: a failed mesh_network_parse left fields set", json);
    CHECKF(t, !p || (*p->reason && p->message.len), "%s: no problem recorded", json);
    cJSON_Delete(j);
}

static void ccs_fails_clean(struct test_ctx *t, const char *json, struct mesh_problem *p)
{
    cJSON *j = cJSON_Parse(json);
    struct mesh_ccs c;
    memset(&c, 0xa5, sizeof(c));
    CHECKF(t, mesh_ccs_parse(j, &c, p) == MESH_E_INVALID, "%s: accepted", json);
    CHECKF(t, all_zero(&c, sizeof(c)), "%s: a failed mesh_ccs_parse left fields set", json);
    CHECKF(t, !p || (*p->reason && p->message.len), "%s: no problem recorded", json);
    cJSON_Delete(j);
}

static void test_failed_parse_leaves_nothing(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    for (size_t i = 0; i < sizeof(mesh_bad) / sizeof(mesh_bad[0]); i++)
        mesh_fails_clean(t, mesh_bad[i].json, &p);
    for (size_t i = 0; i < sizeof(mesh_late) / sizeof(mesh_late[0]); i++) {
        mesh_fails_clean(t, mesh_late[i], &p);
        mesh_fails_clean(t, mesh_late[i], NULL); /* scan_ccs and plan pass no problem */
    }
    for (size_t i = 0; i < sizeof(ccs_bad) / sizeof(ccs_bad[0]); i++)
        ccs_fails_clean(t, ccs_bad[i].json, &p);
    for (size_t i = 0; i < sizeof(ccs_late) / sizeof(ccs_late[0]); i++) {
        ccs_fails_clean(t, ccs_late[i], &p);
        ccs_fails_clean(t, ccs_late[i], NULL);
    }
    /* no JSON at all; and releasing what a failure left stays safe (callers that always
     * release, as before the rule) */
    struct mesh_network n;
    struct mesh_ccs c;
    CHECK(t, mesh_network_parse(NULL, &n, &p) == MESH_E_INVALID && all_zero(&n, sizeof(n)));
    CHECK(t, mesh_ccs_parse(NULL, &c, &p) == MESH_E_INVALID && all_zero(&c, sizeof(c)));
    mesh_network_release(&n);
    mesh_ccs_release(&c);
    CHECK(t, all_zero(&n, sizeof(n)) && all_zero(&c, sizeof(c)));
    mesh_problem_release(&p);
}

static void test_durations(struct test_ctx *t)
{
    CHECK(t, mesh_parse_duration("720h") == 720.0 * 3600);
    CHECK(t, mesh_parse_duration("1h30m") == 5400);
    CHECK(t, mesh_parse_duration("1.5s") == 1.5);
    CHECK(t, mesh_parse_duration("250ms") == 0.25);
    CHECK(t, mesh_parse_duration("2m3s") == 123);
    CHECK(t, mesh_parse_duration("0") == 0);
    CHECK(t, mesh_parse_duration("") == -1);
    CHECK(t, mesh_parse_duration("10") == -1);
    CHECK(t, mesh_parse_duration("-1s") == -1);
    CHECK(t, mesh_parse_duration(" 1s") == -1);
    CHECK(t, mesh_parse_duration("1d") == -1);
    CHECK(t, mesh_parse_duration("inf") == -1);
}

/* ---- property test: generated valid objects parse, and read back what was written ---- */

static unsigned int rnd(unsigned int *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static cJSON *gen_mesh(unsigned int *s, int *nclusters, int *replicas)
{
    cJSON *o = cJSON_CreateObject(), *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", "gen");
    cJSON_AddStringToObject(spec, "meshID", "mesh-a");
    cJSON_AddStringToObject(spec, "trustDomain", "example.org");
    cJSON *cl = cJSON_AddArrayToObject(spec, "clusters");
    *nclusters = 2 + (int)(rnd(s) % 8);
    for (int i = 0; i < *nclusters; i++) {
        char name[16], net[16];
        snprintf(name, sizeof(name), "c%d", i);
        snprintf(net, sizeof(net), "net-%d", i);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddStringToObject(c, "network", net);
        if (rnd(s) % 2)
            cJSON_AddStringToObject(c, "locality", "region/zone");
        if (rnd(s) % 2)
            cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "kubeconfigSecretRef"), "name",
                                    name);
        cJSON_AddItemToArray(cl, c);
    }
    *replicas = (int)(rnd(s) % 101);
    cJSON *gw = cJSON_AddObjectToObject(spec, "eastWestGateway");
    cJSON_AddNumberToObject(gw, "replicas", *replicas);
    if (rnd(s) % 2)
        cJSON_AddStringToObject(gw, "exposure", "AllLocal");
    if (rnd(s) % 2)
        cJSON_AddStringToObject(spec, "vipRange", "10.200.0.0/24");
    return o;
}

static cJSON *gen_ccs(unsigned int *s, int *nexports, int *nports)
{
    static const char *protocols[] = {"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS"};
    cJSON *o = cJSON_CreateObject(), *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(meta, "name", "svc");
    cJSON_AddStringToObject(meta, "namespace", "ns");
    cJSON_AddStringToObject(spec, "meshNetwork", "mesh-a");
    if (rnd(s) % 2)
        cJSON_AddStringToObject(spec, "address", rnd(s) % 2 ? "240.0.0.7" : "fd00::7");
    if (rnd(s) % 2)
        cJSON_AddStringToObject(spec, "host", "svc.example.org");
    cJSON *ex = cJSON_AddArrayToObject(spec, "exportFrom");
    *nexports = 1 + (int)(rnd(s) % 4);
    for (int i = 0; i < *nexports; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "cluster", name);
        if (rnd(s) % 2)
            cJSON_AddStringToObject(e, "service", "backing");
        cJSON_AddItemToArray(ex, e);
    }
    if (rnd(s) % 2) {
        cJSON *im = cJSON_AddArrayToObject(spec, "importTo");
        cJSON_AddItemToArray(im, cJSON_CreateString("c5"));
        cJSON_AddItemToArray(im, cJSON_CreateString("c6"));
    }
    cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
    *nports = (int)(rnd(s) % 5);
    for (int i = 0; i < *nports; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddNumberToObject(pt, "number", 1 + i * 1000 + (int)(rnd(s) % 999));
        cJSON_AddStringToObject(pt, "name", name);
        cJSON_AddStringToObject(pt, "protocol", protocols[rnd(s) % 7]);
        if (rnd(s) % 2)
            cJSON_AddNumberToObject(pt, "targetPort", 1 + (int)(rnd(s) % 65535));
        cJSON_AddItemToArray(ports, pt);
    }
    if (rnd(s) % 2)
        cJSON_AddStringToObject(spec, "partitionPolicy", "Withdraw");
    return o;
}

static void test_property_generated_services(struct test_ctx *t)
{
    unsigned int seed = 424242;
    for (int iter = 0; iter < 2000; iter++) {
        int nexports, nports;
        cJSON *o = gen_ccs(&seed, &nexports, &nports);
        struct mesh_ccs c;
        struct mesh_problem p;
        mesh_problem_init(&p);
        mesh_code rc = mesh_ccs_parse(o, &c, &p);
        CHECKF(t, rc == MESH_OK, "iteration %d: %s", iter, p.message.buf);
        CHECKF(t, (int)c.nexports == nexports && (int)c.nports == nports,
               "iteration %d: read back %zu exporters, %zu ports", iter, c.nexports, c.nports);
        mesh_ccs_release(&c);
        mesh_problem_release(&p);
        cJSON_Delete(o);
        if (rc != MESH_OK)
            break;
    }
}

static void test_property_generated_objects(struct test_ctx *t)
{
    unsigned int seed = 20261124;
    for (int iter = 0; iter < 2000; iter++) {
        int nclusters, replicas;
        cJSON *o = gen_mesh(&seed, &nclusters, &replicas);
        struct mesh_network n;
        struct mesh_problem p;
        mesh_problem_init(&p);
        mesh_code rc = mesh_network_parse(o, &n, &p);
        CHECKF(t, rc == MESH_OK, "iteration %d: %s", iter, p.message.buf);
        CHECKF(t, (int)n.nclusters == nclusters && n.gateway.replicas == replicas,
               "iteration %d: read back %zu clusters, %d replicas", iter, n.nclusters,
               n.gateway.replicas);
        mesh_network_release(&n);
        mesh_problem_release(&p);
        cJSON_Delete(o);
        if (rc != MESH_OK)
            break;
    }
}

static const struct test_case cases[] = {
    {"mesh_defaults", test_mesh_defaults},
    {"ccs_and_members", test_ccs_and_members},
    {"secret_checks", test_secret_checks},
    {"problems_name_the_field", test_problems_name_the_field},
    {"failed_parse_leaves_nothing", test_failed_parse_leaves_nothing},
    {"durations", test_durations},
    {"property_generated_objects", test_property_generated_objects},
    {"property_generated_services", test_property_generated_services},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
