/*
 * test_ccs_ports.c: a CrossClusterService written from incomplete knowledge (issue 32),
 * both controllers run as the operator runs them against reconcile_world's fakes:
 *   - the operator restarted while the exporter's API server is down: past the sync
 *     grace, the importer's ServiceEntry keeps its ports (spec.ports, or those it has
 *     when the service names none), never `ports: []`;
 *   - the exporter's backing Service deleted (known gone): its endpoint leaves the
 *     importer, the ports stay, and Exported and status.clusters[] say why; it comes
 *     back with the Service;
 *   - two exporters whose Services differ in their ports: Conflict=True (PortConflict)
 *     naming both clusters and the ports, the first exporter's ports win.
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/ccs_objects.h"
#include "mesh/ccs_ports.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *us_entry(struct world *w)
{
    return fake_cluster_get(w->us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
}

/* spec.ports of us's ServiceEntry, compact JSON ("(no entry)" when there is none). */
static char *us_ports(struct world *w)
{
    cJSON *se = us_entry(w);
    char *s = se ? cJSON_PrintUnformatted(world_at(se, "spec.ports")) : NULL;
    cJSON_Delete(se);
    return s ? s : ew_strdup(se ? "null" : "(no entry)");
}

static int us_endpoints(struct world *w)
{
    cJSON *se = us_entry(w);
    int n = cJSON_GetArraySize(world_at(se, "spec.endpoints"));
    cJSON_Delete(se);
    return n;
}

/* The condition's reason and message of echo/echo, "reason: message" in buf. */
static const char *ccs_cond(struct world *w, const char *type, char *buf, size_t size)
{
    cJSON *ccs = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const char *reason = NULL, *msg = NULL;
    const char *st = world_condition(ccs, type, &reason, &msg);
    snprintf(buf, size, "%s %s: %s", st ? st : "(none)", reason ? reason : "(none)",
             msg ? msg : "");
    cJSON_Delete(ccs);
    return buf;
}

/* status.clusters[name].field of echo/echo, or "" (a static buffer: one at a time). */
static const char *member_field(struct world *w, const char *name, const char *field)
{
    static char buf[2048];
    buf[0] = '\0';
    cJSON *ccs = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const cJSON *c;
    cJSON_ArrayForEach(c, world_at(ccs, "status.clusters"))
    {
        const char *n = world_str_at(c, "name");
        const char *v = world_str_at(c, field);
        if (n && strcmp(n, name) == 0 && v)
            snprintf(buf, sizeof(buf), "%s", v);
    }
    cJSON_Delete(ccs);
    return buf;
}

static void drop_spec_ports(struct world *w)
{
    cJSON *ccs = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ccs, "spec"), "ports");
    fake_cluster_put(w->us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    cJSON_Delete(ccs);
}

static int exporter_connecting(struct world *w, void *ud)
{
    char buf[2048];
    (void)ud;
    return strstr(ccs_cond(w, "Exported", buf, sizeof(buf)), "cluster eu: connecting") != NULL;
}

/* The operator restarted while eu (the exporter) cannot be listed, past the grace in
 * which a reconcile writes nothing: us's entry keeps its ports and endpoint. Seen as a
 * user would (issue 32): `ports: null` in us for as long as eu was away. */
static void restart_with_exporter_down(struct test_ctx *t, int spec_ports)
{
    struct world w;
    world_init(&w);
    world_apply_tutorial(&w);
    if (!spec_ports)
        drop_spec_ports(&w);
    world_start(&w);
    REQUIREF(t, world_settle(&w, world_tutorial_ready, NULL, 20), "no start: %s",
             world_describe(&w));
    char *before = us_ports(&w);
    CHECK_STR(t, before, "[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]");
    world_stop(&w);
    fake_cluster_set_down(w.eu, 1);
    w.ccs_sync_grace = 0.3;
    world_start(&w);
    char buf[2048];
    int ok = world_wait(&w, exporter_connecting, NULL, 20);
    CHECKF(t, ok, "the reconcile past the grace never said eu is connecting: %s",
           ccs_cond(&w, "Exported", buf, sizeof(buf)));
    CHECK(t, world_look_again(&w, 2));
    char *during = us_ports(&w);
    CHECKF(t, strcmp(before, during) == 0, "us's ports while eu is away: %s, were %s", during,
           before);
    CHECKF(t, us_endpoints(&w) == 1, "us's endpoints while eu is away: %d, want eu's gateway",
           us_endpoints(&w));
    fake_cluster_set_down(w.eu, 0);
    CHECKF(t, world_settle(&w, world_tutorial_ready, NULL, 20), "no return: %s",
           world_describe(&w));
    free(before);
    free(during);
    world_free(&w);
}

static void test_restart_exporter_down_spec_ports(struct test_ctx *t)
{
    restart_with_exporter_down(t, 1);
}

static void test_restart_exporter_down_kept_ports(struct test_ctx *t)
{
    restart_with_exporter_down(t, 0);
}

static int withdrawn(struct world *w, void *ud)
{
    (void)ud;
    return us_endpoints(w) == 0;
}

static int back(struct world *w, void *ud)
{
    return us_endpoints(w) == 1 && world_tutorial_ready(w, ud);
}

/* eu's Service echo/echo deleted: known gone (NotFound in a synced cache), so us stops
 * sending to eu's gateway, keeps its ports, and the status says why. */
static void service_gone(struct test_ctx *t, int spec_ports)
{
    struct world w;
    world_init(&w);
    world_apply_tutorial(&w);
    if (!spec_ports)
        drop_spec_ports(&w);
    world_start(&w);
    REQUIREF(t, world_settle(&w, world_tutorial_ready, NULL, 20), "no start: %s",
             world_describe(&w));
    char *before = us_ports(&w);
    cJSON *svc = fake_cluster_get(w.eu, &KUBE_RES_SERVICES, "echo", "echo");
    fake_cluster_delete(w.eu, &KUBE_RES_SERVICES, "echo", "echo");
    int ok = world_settle(&w, withdrawn, NULL, 10);
    CHECKF(t, ok, "us still sends to eu, whose Service is gone: %d endpoints", us_endpoints(&w));
    char *during = us_ports(&w);
    CHECKF(t, strcmp(before, during) == 0, "us's ports with eu's Service gone: %s, were %s", during,
           before);
    char buf[2048];
    CHECK_CONTAINS(t, ccs_cond(&w, "Exported", buf, sizeof(buf)), "False BackingServiceNotFound");
    CHECK_CONTAINS(t, buf, "cluster eu: Service echo/echo not found");
    CHECK_CONTAINS(t, buf, "withdrawn");
    CHECK_STR(t, member_field(&w, "eu", "reason"), "BackingServiceNotFound");
    CHECK_STR(t, member_field(&w, "us", "reason"), "");
    fake_cluster_put(w.eu, &KUBE_RES_SERVICES, svc);
    CHECKF(t, world_settle(&w, back, NULL, 10), "the Service back, eu's endpoint not: %s",
           world_describe(&w));
    cJSON_Delete(svc);
    free(before);
    free(during);
    world_free(&w);
}

static void test_service_gone_spec_ports(struct test_ctx *t)
{
    service_gone(t, 1);
}

static void test_service_gone_kept_ports(struct test_ctx *t)
{
    service_gone(t, 0);
}

static int port_conflict(struct world *w, void *ud)
{
    char buf[2048];
    (void)ud;
    return strncmp(ccs_cond(w, "Conflict", buf, sizeof(buf)), "True PortConflict:", 18) == 0;
}

/* Exported from eu and us (active-active, us imports), no spec.ports, and us's Service
 * differs: port 80 named web there, and a port 81 eu's has not. eu is first in
 * spec.exportFrom: its ports win, and the conflict is said, never merged silently. */
static void test_exporters_ports_conflict(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    world_put_json(w.us, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"echo\"}}");
    world_put_json(w.us, &KUBE_RES_SERVICES,
                   "{\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"selector\":{\"app\":\"echo\"},\"clusterIP\":\"10.10.1.30\","
                   "\"ports\":[{\"name\":\"web\",\"port\":80,\"targetPort\":9090},"
                   "{\"name\":\"admin\",\"port\":81,\"targetPort\":9091}]}}");
    world_apply_tutorial(&w);
    cJSON *ccs = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(ccs, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "ports");
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(spec, "exportFrom"),
                         cJSON_Parse("{\"cluster\":\"us\",\"service\":\"echo\"}"));
    fake_cluster_put(w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    cJSON_Delete(ccs);
    world_start(&w);
    char buf[2048];
    int ok = world_settle(&w, port_conflict, NULL, 20);
    CHECKF(t, ok, "Conflict: %s", ccs_cond(&w, "Conflict", buf, sizeof(buf)));
    ccs_cond(&w, "Conflict", buf, sizeof(buf));
    CHECK_CONTAINS(t, buf, "cluster eu's Service echo/echo");
    CHECK_CONTAINS(t, buf, "cluster us's Service echo/echo");
    CHECK_CONTAINS(t, buf, "port 80 is http (HTTP)");
    CHECK_CONTAINS(t, buf, "web (TCP)");
    CHECK_CONTAINS(t, buf, "port 81 (admin)");
    CHECK_CONTAINS(t, buf, "cluster eu's ports are exported");
    CHECK_STR(t, member_field(&w, "us", "reason"), "PortConflict");
    CHECK_STR(t, member_field(&w, "eu", "reason"), "");
    char *ports = us_ports(&w);
    CHECK_STR(t, ports, "[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]");
    free(ports);
    /* us's Service made like eu's: the conflict goes */
    world_put_json(w.us, &KUBE_RES_SERVICES,
                   "{\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"selector\":{\"app\":\"echo\"},\"clusterIP\":\"10.10.1.30\","
                   "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":9090}]}}");
    ok = world_settle(&w, world_tutorial_ready, NULL, 10);
    CHECKF(t, ok, "not Ready: %s", world_describe(&w));
    CHECK_CONTAINS(t, ccs_cond(&w, "Conflict", buf, sizeof(buf)), "False NoConflict");
    world_free(&w);
}

static int eu_target_port_is(struct world *w, void *ud)
{
    cJSON *se = fake_cluster_get(w->eu, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    const cJSON *tp = world_at(se, "spec.ports.0.targetPort");
    int ok = cJSON_IsNumber(tp) && tp->valueint == *(const int *)ud;
    cJSON_Delete(se);
    return ok;
}

/* A guard on the exporters' own ports: a targetPort given in spec.ports is eu's
 * ServiceEntry's, not its Service's (8080). */
static void test_spec_target_port_wins(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    world_apply_tutorial(&w);
    cJSON *ccs = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    cJSON_AddNumberToObject(cJSON_GetArrayItem(world_at(ccs, "spec.ports"), 0), "targetPort", 9999);
    fake_cluster_put(w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    cJSON_Delete(ccs);
    world_start(&w);
    int want = 9999;
    CHECKF(t, world_settle(&w, eu_target_port_is, &want, 20), "eu's targetPort is not 9999: %s",
           world_describe(&w));
    world_free(&w);
}

/* The ports kept from a written entry: what mesh_port_protocol and the CRD give maps onto
 * itself; a port without a number or name is left out. */
static void test_entry_ports_round_trip(struct test_ctx *t)
{
    cJSON *se = cJSON_Parse("{\"spec\":{\"ports\":[{\"number\":80,\"name\":\"http\","
                            "\"protocol\":\"HTTP\"},{\"number\":443,\"name\":\"https\","
                            "\"protocol\":\"HTTPS\"},{\"number\":9000,\"name\":\"h2\","
                            "\"protocol\":\"HTTP2\"},{\"name\":\"nonumber\"},"
                            "{\"number\":70000,\"name\":\"big\"}]}}");
    struct mesh_port *ps = NULL;
    size_t n = mesh_ccs_entry_ports(se, &ps);
    REQUIRE(t, n == 3);
    CHECK(t, ps[0].number == 80);
    CHECK_STR(t, ps[0].name, "http");
    CHECK_STR(t, ps[0].protocol, "HTTP");
    CHECK_STR(t, ps[1].protocol, "HTTPS");
    CHECK_STR(t, ps[2].protocol, "HTTP2");
    mesh_service_ports_free(ps, n);
    cJSON_Delete(se);
    cJSON *none = cJSON_Parse("{\"spec\":{\"ports\":[]}}");
    CHECK(t, mesh_ccs_entry_ports(none, &ps) == 0 && ps == NULL);
    CHECK(t, mesh_ccs_entry_ports(NULL, &ps) == 0 && ps == NULL);
    cJSON_Delete(none);
}

static void test_ports_compare_names_each_difference(struct test_ctx *t)
{
    struct mesh_port w[] = {{.number = 80, .name = "http", .protocol = "HTTP"},
                            {.number = 82, .name = "grpc", .protocol = "GRPC"}};
    struct mesh_port o[] = {{.number = 80, .name = "http", .protocol = "HTTP"},
                            {.number = 81, .name = "admin", .protocol = "TCP"}};
    struct strbuf msg = STRBUF_INIT;
    CHECK(t, mesh_ccs_ports_compare(w, 2, "A", o, 2, "B", &msg) == 2);
    CHECK_STR(t, msg.buf,
              "port 82 (grpc) is in A, not in B; port 81 (admin) is in B, not in A: "
              "not exported");
    strbuf_reset(&msg);
    CHECK(t, mesh_ccs_ports_compare(w, 1, "A", o, 1, "B", &msg) == 0);
    CHECK_STR(t, msg.buf, "");
    strbuf_release(&msg);
}

static const struct test_case cases[] = {
    {"entry-ports-round-trip", test_entry_ports_round_trip},
    {"ports-compare-names-each-difference", test_ports_compare_names_each_difference},
    {"spec-target-port-wins", test_spec_target_port_wins},
    {"restart-exporter-down-spec-ports", test_restart_exporter_down_spec_ports},
    {"restart-exporter-down-kept-ports", test_restart_exporter_down_kept_ports},
    {"service-gone-spec-ports", test_service_gone_spec_ports},
    {"service-gone-kept-ports", test_service_gone_kept_ports},
    {"exporters-ports-conflict", test_exporters_ports_conflict},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
