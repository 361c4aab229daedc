/*
 * test_ccs_objects.c: the ServiceEntries and DestinationRules a
 * CrossClusterService becomes (docs/design.md section 3), Istio protocols of
 * Service ports, and VIP allocation (stable, in range, never shared, never the
 * network or broadcast address, and a clear end when the range is full), and the
 * reservation table allocation is serialised on (one address per owner, per mesh).
 */
#include "harness.h"
#include "mesh/ccs_objects.h"
#include "mesh/vip_table.h"

#include <stdlib.h>
#include <string.h>

static const char *str_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save))
        v = (*tok >= '0' && *tok <= '9') ? cJSON_GetArrayItem(v, atoi(tok))
                                         : cJSON_GetObjectItemCaseSensitive(v, tok);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

struct fixture {
    struct mesh_network net;
    struct mesh_ccs ccs;
    struct mesh_port ports[2];
};

static void setup(struct test_ctx *t, struct fixture *f, const char *vip_range)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u\",\"generation\":1},"
             "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
             "\"vipRange\":\"%s\",\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\"},"
             "{\"name\":\"eu\",\"network\":\"eu-net\"}]}}",
             vip_range);
    cJSON *j = cJSON_Parse(json);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, mesh_network_parse(j, &f->net, &p) == MESH_OK, "%s", p.message.buf);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\",\"uid\":\"c-1\","
                    "\"generation\":1},\"spec\":{\"meshNetwork\":\"training-mesh\","
                    "\"exportFrom\":[{\"cluster\":\"eu\"}]}}");
    REQUIREF(t, mesh_ccs_parse(j, &f->ccs, &p) == MESH_OK, "%s", p.message.buf);
    cJSON_Delete(j);
    mesh_problem_release(&p);
    f->ports[0] =
        (struct mesh_port){.number = 80, .name = "http", .protocol = "HTTP", .target_port = 8080};
    f->ports[1] = (struct mesh_port){
        .number = 9000, .name = "grpc-api", .protocol = "GRPC", .target_port = 0};
}

static void teardown(struct fixture *f)
{
    mesh_network_release(&f->net);
    mesh_ccs_release(&f->ccs);
}

static void test_importer_entry(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f, "240.240.0.0/16");
    char *sans[] = {"spiffe://corp.local/ns/echo/sa/echo"};
    struct mesh_ccs_facts facts = {.ccs = &f.ccs,
                                   .net = &f.net,
                                   .host = "echo.eu.mesh.local",
                                   .address = "240.0.0.2",
                                   .ports = f.ports,
                                   .nports = 2,
                                   .sans = sans,
                                   .nsans = 1};
    struct mesh_endpoint eps[] = {{"203.0.113.20", "eu-west-1", 0},
                                  {"203.0.113.21", "eu-west-1", 0}};
    cJSON *se = mesh_build_importer_service_entry(&facts, eps, 2);
    CHECK(t, strcmp(str_at(se, "kind"), "ServiceEntry") == 0);
    CHECK(t, strcmp(str_at(se, "metadata.namespace"), "echo") == 0);
    CHECK(t, strcmp(str_at(se, "spec.hosts.0"), "echo.eu.mesh.local") == 0);
    CHECK(t, strcmp(str_at(se, "spec.addresses.0"), "240.0.0.2") == 0);
    CHECK(t, strcmp(str_at(se, "spec.location"), "MESH_INTERNAL") == 0);
    CHECK(t, strcmp(str_at(se, "spec.resolution"), "STATIC") == 0);
    CHECK(t, strcmp(str_at(se, "spec.endpoints.1.address"), "203.0.113.21") == 0);
    CHECK(t, strcmp(str_at(se, "spec.endpoints.0.locality"), "eu-west-1") == 0);
    const cJSON *e0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "endpoints"), 0);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "ports"), "http")->valueint == 15443);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "ports"), "grpc-api")->valueint == 15443);
    CHECK(t, strcmp(str_at(se, "spec.subjectAltNames.0"), sans[0]) == 0);
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(se, "metadata"), "labels");
    CHECK(t, strcmp(cJSON_GetObjectItem(labels, "eastwest.io/service")->valuestring, "echo.echo") ==
                 0);
    cJSON_Delete(se);
    /* a hostname (AWS) makes it DNS; a local endpoint uses the Service's own ports */
    struct mesh_endpoint mixed[] = {{"echo.echo.svc.cluster.local", "us-east-1", 1},
                                    {"a1.elb.amazonaws.com", "eu-west-1", 0}};
    se = mesh_build_importer_service_entry(&facts, mixed, 2);
    CHECK(t, strcmp(str_at(se, "spec.resolution"), "DNS") == 0);
    e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "endpoints"), 0);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "ports"), "http")->valueint == 80);
    cJSON_Delete(se);
    /* IPv6 gateway addresses are IPs too */
    struct mesh_endpoint v6[] = {{"2001:db8::1", NULL, 0}};
    se = mesh_build_importer_service_entry(&facts, v6, 1);
    CHECK(t, strcmp(str_at(se, "spec.resolution"), "STATIC") == 0);
    cJSON_Delete(se);
    teardown(&f);
}

static void test_exporter_entry_and_rule(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f, "240.240.0.0/16");
    struct mesh_ccs_facts facts = {.ccs = &f.ccs,
                                   .net = &f.net,
                                   .host = "echo.eu.mesh.local",
                                   .address = "240.0.0.2",
                                   .ports = f.ports,
                                   .nports = 2,
                                   .sans = NULL,
                                   .nsans = 0};
    cJSON *sel = cJSON_Parse("{\"app\":\"echo\",\"tier\":\"web\"}");
    cJSON *se = mesh_build_exporter_service_entry(&facts, sel);
    CHECK(t, strcmp(str_at(se, "spec.resolution"), "STATIC") == 0);
    CHECK(t, strcmp(str_at(se, "spec.workloadSelector.labels.tier"), "web") == 0);
    const cJSON *p0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "ports"), 0);
    CHECK(t, cJSON_GetObjectItem(p0, "targetPort")->valueint == 8080);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "endpoints") == NULL);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "subjectAltNames") == NULL);
    cJSON_Delete(se);
    cJSON_Delete(sel);
    cJSON *dr = mesh_build_destination_rule(&facts, 0);
    CHECK(t, strcmp(str_at(dr, "spec.host"), "echo.eu.mesh.local") == 0);
    CHECK(t, strcmp(str_at(dr, "spec.trafficPolicy.tls.mode"), "ISTIO_MUTUAL") == 0);
    CHECK(t, str_at(dr, "spec.trafficPolicy.outlierDetection.interval") == NULL);
    cJSON_Delete(dr);
    dr = mesh_build_destination_rule(&facts, 1);
    CHECK(t, strcmp(str_at(dr, "spec.trafficPolicy.outlierDetection.interval"), "10s") == 0);
    CHECK(t,
          strcmp(str_at(dr, "spec.trafficPolicy.outlierDetection.baseEjectionTime"), "30s") == 0);
    CHECK(t, cJSON_IsTrue(cJSON_GetObjectItem(
                 cJSON_GetObjectItem(
                     cJSON_GetObjectItem(
                         cJSON_GetObjectItem(cJSON_GetObjectItem(dr, "spec"), "trafficPolicy"),
                         "loadBalancer"),
                     "localityLbSetting"),
                 "enabled")));
    cJSON_Delete(dr);
    teardown(&f);
}

static const cJSON *se_port(const cJSON *se, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "ports"), i);
}

static void free_ports(struct mesh_port *ports, size_t n)
{
    mesh_service_ports_free(ports, n);
}

/* A named targetPort (targetPort: http-echo) is the pods' container port of that name.
 * istiod resolves a workloadSelector ServiceEntry's endpoint port by the SE port's NAME
 * first (the pod's container port so named), then its targetPort, then its number; so
 * the exporter's ServiceEntry names the port after the targetPort and gives no number,
 * rather than sending traffic to the Service's port number on the pods. */
static void test_exporter_named_target_port(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f, "240.240.0.0/16");
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *desc = "cluster eu: Service echo/echo";
    cJSON *svc = cJSON_Parse("{\"spec\":{\"selector\":{\"app\":\"echo\"},\"ports\":["
                             "{\"name\":\"http\",\"port\":80,\"targetPort\":\"http-echo\"},"
                             "{\"name\":\"grpc-api\",\"port\":9000,\"targetPort\":9090}]}}");
    struct mesh_port *ports = NULL;
    size_t n = mesh_service_ports(svc, NULL, 0, desc, &ports, &p);
    REQUIREF(t, n == 2, "%zu ports: %s", n, p.message.buf);
    struct mesh_ccs_facts facts = {.ccs = &f.ccs,
                                   .net = &f.net,
                                   .host = "echo.eu.mesh.local",
                                   .address = "240.0.0.2",
                                   .ports = ports,
                                   .nports = n,
                                   .sans = NULL,
                                   .nsans = 0};
    cJSON *se = mesh_build_exporter_service_entry(&facts, NULL);
    CHECK_STR(t, str_at(se, "spec.ports.0.name"), "http-echo");
    CHECK(t, cJSON_GetObjectItem(se_port(se, 0), "number")->valueint == 80);
    CHECK_STR(t, str_at(se, "spec.ports.0.protocol"), "HTTP"); /* from the Service port */
    CHECKF(t, cJSON_GetObjectItem(se_port(se, 0), "targetPort") == NULL,
           "a named targetPort gave the exporter's ServiceEntry targetPort %d",
           cJSON_GetObjectItem(se_port(se, 0), "targetPort")->valueint);
    /* a numeric targetPort stays a number, under the Service port's name */
    CHECK_STR(t, str_at(se, "spec.ports.1.name"), "grpc-api");
    CHECK(t, cJSON_GetObjectItem(se_port(se, 1), "targetPort") &&
                 cJSON_GetObjectItem(se_port(se, 1), "targetPort")->valueint == 9090);
    cJSON_Delete(se);
    /* the importers keep the Service port's name (their endpoints' port keys) */
    struct mesh_endpoint eps[] = {{"203.0.113.20", "eu-west-1", 0}};
    se = mesh_build_importer_service_entry(&facts, eps, 1);
    CHECK_STR(t, str_at(se, "spec.ports.0.name"), "http");
    CHECK(t, cJSON_GetObjectItem(se_port(se, 0), "targetPort") == NULL);
    const cJSON *e0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "endpoints"), 0);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "ports"), "http")->valueint == 15443);
    cJSON_Delete(se);
    free_ports(ports, n);
    /* spec.ports without a targetPort: the Service's named one, the same way; with one:
     * that number */
    struct mesh_port spec[] = {
        {.number = 80, .name = "web", .protocol = "HTTP", .target_port = 0},
        {.number = 9000, .name = "grpc-api", .protocol = "GRPC", .target_port = 7000}};
    n = mesh_service_ports(svc, spec, 2, desc, &ports, &p);
    REQUIREF(t, n == 2, "%zu ports: %s", n, p.message.buf);
    facts.ports = ports;
    facts.nports = n;
    se = mesh_build_exporter_service_entry(&facts, NULL);
    CHECK_STR(t, str_at(se, "spec.ports.0.name"), "http-echo");
    CHECK(t, cJSON_GetObjectItem(se_port(se, 0), "targetPort") == NULL);
    CHECK_STR(t, str_at(se, "spec.ports.1.name"), "grpc-api");
    CHECK(t, cJSON_GetObjectItem(se_port(se, 1), "targetPort") &&
                 cJSON_GetObjectItem(se_port(se, 1), "targetPort")->valueint == 7000);
    cJSON_Delete(se);
    free_ports(ports, n);
    cJSON_Delete(svc);
    mesh_problem_release(&p);
    teardown(&f);
}

/* Port names of a ServiceEntry must be unique (Istio refuses the object): two Service
 * ports with one targetPort name, or a targetPort name that is another exported port's
 * name, are a problem naming the ports, never a ServiceEntry that is wrong. */
static void test_target_port_name_conflicts(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *desc = "cluster eu: Service echo/echo";
    const char *bad[] = {
        /* one targetPort name for two ports */
        "{\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http-echo\"},"
        "{\"name\":\"http-alt\",\"port\":8000,\"targetPort\":\"http-echo\"}]}}",
        /* a targetPort name that another port is named */
        "{\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"metrics\"},"
        "{\"name\":\"metrics\",\"port\":9090,\"targetPort\":9090}]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *svc = cJSON_Parse(bad[i]);
        struct mesh_port junk, *ports = &junk;
        mesh_problem_init(&p);
        size_t n = mesh_service_ports(svc, NULL, 0, desc, &ports, &p);
        CHECKF(t, n == 0, "%s: %zu ports, no problem", bad[i], n);
        if (n == 0) {
            CHECK(t, ports == NULL);
            CHECK_STR(t, p.reason, "TargetPortNameConflict");
            CHECK_CONTAINS(t, p.message.buf, desc);
            CHECK_CONTAINS(t, p.message.buf, i == 0 ? "http-echo" : "metrics");
            CHECK_CONTAINS(t, p.message.buf, "80");
        } else {
            free_ports(ports, n);
        }
        mesh_problem_release(&p);
        cJSON_Delete(svc);
    }
    /* the same through spec.ports: both look up targetPort http-echo */
    cJSON *svc = cJSON_Parse(bad[0]);
    struct mesh_port spec[] = {
        {.number = 80, .name = "http", .protocol = "HTTP", .target_port = 0},
        {.number = 8000, .name = "http-alt", .protocol = "HTTP", .target_port = 0}};
    struct mesh_port *ports = NULL;
    mesh_problem_init(&p);
    size_t n = mesh_service_ports(svc, spec, 2, desc, &ports, &p);
    CHECKF(t, n == 0, "spec.ports: %zu ports, no problem", n);
    if (n == 0)
        CHECK_STR(t, p.reason, "TargetPortNameConflict");
    else
        free_ports(ports, n);
    /* one of them alone is fine */
    n = mesh_service_ports(svc, spec, 1, desc, &ports, &p);
    CHECK(t, n == 1);
    free_ports(ports, n);
    mesh_problem_release(&p);
    cJSON_Delete(svc);
}

/* A pod cache keeps only what pinning needs: name, namespace, labels, resourceVersion,
 * deletionTimestamp, the service account and the Ready condition. */
static void test_pod_projection(struct test_ctx *t)
{
    cJSON *pod =
        cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"echo-0\","
                    "\"namespace\":\"echo\",\"uid\":\"u-1\",\"resourceVersion\":\"42\","
                    "\"labels\":{\"app\":\"echo\",\"version\":\"v1\",\"bad\":7},"
                    "\"annotations\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"kubectl\"}],"
                    "\"ownerReferences\":[{\"kind\":\"ReplicaSet\"}]},"
                    "\"spec\":{\"serviceAccountName\":\"echo-sa\",\"nodeName\":\"n1\","
                    "\"containers\":[{\"name\":\"app\",\"image\":\"echo:1\",\"ports\":[{\"name\":"
                    "\"http-echo\",\"containerPort\":8080}]}],\"volumes\":[{\"name\":\"v\"}]},"
                    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"conditions\":["
                    "{\"type\":\"PodScheduled\",\"status\":\"True\"},{\"type\":\"Ready\","
                    "\"status\":\"False\",\"reason\":\"ContainersNotReady\",\"lastTransitionTime\":"
                    "\"2026-11-24T00:00:00Z\"}],\"containerStatuses\":[{\"name\":\"app\"}]}}");
    REQUIRE(t, pod != NULL);
    char *before = mesh_pod_identity(pod, "corp.local", "echo");
    cJSON *p = mesh_pod_project(pod); /* takes pod */
    char *text = cJSON_PrintUnformatted(p);
    CHECK_STR(t, text,
              "{\"metadata\":{\"name\":\"echo-0\",\"namespace\":\"echo\","
              "\"resourceVersion\":\"42\",\"labels\":{\"app\":\"echo\",\"version\":\"v1\"}},"
              "\"spec\":{\"serviceAccountName\":\"echo-sa\"},"
              "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
    cJSON_free(text);
    char *after = mesh_pod_identity(p, "corp.local", "echo");
    CHECK_STR(t, after, before);
    CHECK_STR(t, after, "spiffe://corp.local/ns/echo/sa/echo-sa");
    free(before);
    free(after);
    cJSON *sel = cJSON_Parse("{\"app\":\"echo\"}");
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "labels");
    CHECK(t, mesh_labels_match(sel, labels));
    cJSON_Delete(sel);
    cJSON_Delete(p);
    /* a pod being deleted stays one (no identity); one with nothing is an empty shape */
    p = mesh_pod_project(cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"namespace\":\"echo\","
                                     "\"deletionTimestamp\":\"2026-11-24T00:00:00Z\"},"
                                     "\"spec\":{\"serviceAccountName\":\"echo-sa\"}}"));
    CHECK(t, mesh_pod_identity(p, "corp.local", "echo") == NULL);
    cJSON_Delete(p);
    p = mesh_pod_project(cJSON_Parse("[1]"));
    text = cJSON_PrintUnformatted(p);
    CHECK_STR(t, text, "{\"metadata\":{},\"spec\":{},\"status\":{\"conditions\":[]}}");
    cJSON_free(text);
    cJSON_Delete(p);
    cJSON_Delete(mesh_pod_project(NULL));
}

static void test_labels_match(struct test_ctx *t)
{
    cJSON *labels = cJSON_Parse("{\"app\":\"echo\",\"tier\":\"web\",\"n\":\"1\"}");
    const char *yes[] = {"{\"app\":\"echo\"}", "{\"app\":\"echo\",\"tier\":\"web\"}"};
    const char *no[] = {"{\"app\":\"other\"}",
                        "{\"app\":\"echo\",\"zone\":\"a\"}",
                        "{}",
                        "{\"n\":1}",
                        "[]",
                        "null"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        cJSON *sel = cJSON_Parse(yes[i]);
        CHECKF(t, mesh_labels_match(sel, labels), "%s does not match", yes[i]);
        cJSON_Delete(sel);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        cJSON *sel = cJSON_Parse(no[i]);
        CHECKF(t, !mesh_labels_match(sel, labels), "%s matches", no[i]);
        cJSON_Delete(sel);
    }
    cJSON *sel = cJSON_Parse("{\"app\":\"echo\"}");
    CHECK(t, !mesh_labels_match(sel, NULL));
    cJSON_Delete(sel);
    cJSON_Delete(labels);
}

static void test_port_protocols(struct test_ctx *t)
{
    CHECK(t, strcmp(mesh_port_protocol("http", NULL), "HTTP") == 0);
    CHECK(t, strcmp(mesh_port_protocol("http-web", NULL), "HTTP") == 0);
    CHECK(t, strcmp(mesh_port_protocol("http2", NULL), "HTTP2") == 0);
    CHECK(t, strcmp(mesh_port_protocol("grpc-api", NULL), "GRPC") == 0);
    CHECK(t, strcmp(mesh_port_protocol("https", NULL), "HTTPS") == 0);
    CHECK(t, strcmp(mesh_port_protocol("httpx", NULL), "TCP") == 0);
    CHECK(t, strcmp(mesh_port_protocol("metrics", NULL), "TCP") == 0);
    CHECK(t, strcmp(mesh_port_protocol("metrics", "http"), "HTTP") == 0);
    CHECK(t, strcmp(mesh_port_protocol(NULL, NULL), "TCP") == 0);
}

struct taken_set {
    char ips[300][16];
    int n;
};

static int is_taken(void *ud, const char *ip)
{
    struct taken_set *s = ud;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->ips[i], ip) == 0)
            return 1;
    return 0;
}

static void test_vip_allocation(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f, "240.240.0.0/24");
    char *a = mesh_vip_allocate(&f.net, "echo.eu.mesh.local", NULL, NULL);
    char *b = mesh_vip_allocate(&f.net, "echo.eu.mesh.local", NULL, NULL);
    REQUIRE(t, a && b);
    CHECK(t, strcmp(a, b) == 0); /* stable */
    CHECK(t, mesh_vip_in_range(&f.net, a));
    CHECK(t, !mesh_vip_in_range(&f.net, "240.241.0.1") && !mesh_vip_in_range(&f.net, "nope"));
    /* with a taken, the next one; 254 hosts fill the /24, the 255th finds none */
    struct taken_set s = {.n = 0};
    snprintf(s.ips[s.n++], 16, "%s", a);
    char *c = mesh_vip_allocate(&f.net, "echo.eu.mesh.local", is_taken, &s);
    CHECK(t, c && strcmp(c, a) != 0 && mesh_vip_in_range(&f.net, c));
    free(c);
    s.n = 0;
    for (int i = 0; i < 254; i++) {
        char host[32];
        snprintf(host, sizeof(host), "h%d.example", i);
        char *ip = mesh_vip_allocate(&f.net, host, is_taken, &s);
        REQUIREF(t, ip != NULL, "range full after %d", i);
        CHECKF(t, strcmp(ip, "240.240.0.0") != 0 && strcmp(ip, "240.240.0.255") != 0,
               "gave the network or broadcast address %s", ip);
        snprintf(s.ips[s.n++], 16, "%s", ip);
        free(ip);
    }
    CHECK(t, mesh_vip_allocate(&f.net, "one-too-many.example", is_taken, &s) == NULL);
    free(a);
    free(b);
    teardown(&f);
}

static void test_vip_table(struct test_ctx *t)
{
    struct mesh_vip_table *v = mesh_vip_table_new();
    mesh_vip_table_lock(v);
    CHECK(t, mesh_vip_table_owner(v, "m", "240.0.0.2") == NULL);
    mesh_vip_table_reserve(v, "ns/a", "m", "240.0.0.2");
    CHECK_STR(t, mesh_vip_table_owner(v, "m", "240.0.0.2"), "ns/a");
    CHECKF(t, mesh_vip_table_owner(v, "other", "240.0.0.2") == NULL, "per mesh");
    CHECK_STR(t, mesh_vip_table_held(v, "ns/a", "m"), "240.0.0.2");
    CHECK(t, mesh_vip_table_held(v, "ns/a", "other") == NULL);
    CHECK(t, mesh_vip_table_held(v, "ns/a", "") == NULL);
    /* one reservation per owner: a new one drops the old */
    mesh_vip_table_reserve(v, "ns/a", "m", "240.0.0.3");
    CHECK(t, mesh_vip_table_owner(v, "m", "240.0.0.2") == NULL);
    CHECK_STR(t, mesh_vip_table_owner(v, "m", "240.0.0.3"), "ns/a");
    mesh_vip_table_reserve(v, "ns/b", "m", "240.0.0.2");
    mesh_vip_table_release(v, "ns/a");
    CHECK(t, mesh_vip_table_owner(v, "m", "240.0.0.3") == NULL);
    CHECK_STR(t, mesh_vip_table_owner(v, "m", "240.0.0.2"), "ns/b");
    mesh_vip_table_release(v, "ns/nobody");
    mesh_vip_table_unlock(v);
    mesh_vip_table_free(v); /* ns/b's reservation freed here (ASan/valgrind) */
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"vip_table", test_vip_table},
        {"importer_entry", test_importer_entry},
        {"exporter_entry_and_rule", test_exporter_entry_and_rule},
        {"exporter_named_target_port", test_exporter_named_target_port},
        {"target_port_name_conflicts", test_target_port_name_conflicts},
        {"pod_projection", test_pod_projection},
        {"labels_match", test_labels_match},
        {"port_protocols", test_port_protocols},
        {"vip_allocation", test_vip_allocation},
    };
    return TEST_MAIN(cases, argc, argv);
}
