/*
 * test_foreign.c: objects eastwest did not write, under the names it writes
 * (docs/design.md, "Foreign objects"), against the fake clusters of
 * promises_world.h (the user's gateway Service has its load balancer's address already, so
 * the played cloud leaves it alone):
 *   - a user who followed Istio's multicluster guide has istio-eastwestgateway
 *     (Deployment, Service) and cross-network-gateway (Gateway) in a member: they stay
 *     byte for byte through the mesh's reconciles, the member's removal and the mesh's
 *     deletion; the member reports them (ForeignObjects, GatewayReady=False) with one
 *     Warning Event;
 *   - a ServiceEntry and a DestinationRule named like a CrossClusterService stay through
 *     its reconciles and deletion, and its Imported condition and an Event name them;
 *   - with spec.adoptExistingObjects both are taken over (our labels on them).
 */
#include "harness.h"
#include "promises_world.h"
#include "base/strbuf.h"
#include "mesh/objects.h"

#include <stdlib.h>
#include <string.h>

/* ---- the user's objects, as Istio's guide leaves them ---- */

static const char *const user_deployment =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
    "\"istio-eastwestgateway\",\"namespace\":\"istio-system\",\"labels\":{\"app\":"
    "\"istio-eastwestgateway\",\"istio\":\"eastwestgateway\",\"topology.istio.io/network\":"
    "\"ap-net\"}},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":"
    "\"istio-eastwestgateway\",\"istio\":\"eastwestgateway\"}},\"template\":{\"metadata\":"
    "{\"labels\":{\"app\":\"istio-eastwestgateway\",\"istio\":\"eastwestgateway\"}},\"spec\":"
    "{\"containers\":[{\"name\":\"istio-proxy\",\"image\":\"user.example/proxyv2:1\"}]}}}}";
static const char *const user_service =
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
    "\"istio-eastwestgateway\",\"namespace\":\"istio-system\",\"labels\":{\"app\":"
    "\"istio-eastwestgateway\"}},\"spec\":{\"type\":\"LoadBalancer\",\"selector\":{\"app\":"
    "\"istio-eastwestgateway\"},\"ports\":[{\"name\":\"tls\",\"port\":15443,\"targetPort\":"
    "15443}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.7\"}]}}}";
static const char *const user_gateway =
    "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":"
    "\"cross-network-gateway\",\"namespace\":\"istio-system\"},\"spec\":{\"selector\":"
    "{\"istio\":\"eastwestgateway\"},\"servers\":[{\"port\":{\"number\":15443,\"name\":\"tls\","
    "\"protocol\":\"TLS\"},\"tls\":{\"mode\":\"AUTO_PASSTHROUGH\"},\"hosts\":[\"*.local\"]}]}}";
static const char *const user_entry =
    "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"ServiceEntry\",\"metadata\":{\"name\":"
    "\"echo\",\"namespace\":\"echo\",\"labels\":{\"team\":\"payments\"}},\"spec\":{\"hosts\":"
    "[\"echo.payments.example\"],\"location\":\"MESH_EXTERNAL\",\"resolution\":\"DNS\","
    "\"ports\":[{\"number\":443,\"name\":\"https\",\"protocol\":\"TLS\"}]}}";
static const char *const user_rule =
    "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"DestinationRule\",\"metadata\":"
    "{\"name\":\"echo\",\"namespace\":\"echo\"},\"spec\":{\"host\":\"echo.payments.example\","
    "\"trafficPolicy\":{\"tls\":{\"mode\":\"SIMPLE\"}}}}";

struct user_object {
    const struct kube_resource *r;
    const char *ns, *name, *json;
    char *was; /* the whole object as stored before eastwest ran */
};

static void put_user_objects(struct fake_cluster *fc, struct user_object *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        world_put_json(fc, o[i].r, o[i].json);
        cJSON *got = fake_cluster_get(fc, o[i].r, o[i].ns, o[i].name);
        o[i].was = cJSON_PrintUnformatted(got);
        cJSON_Delete(got);
    }
}

/* Every user object still as it was: same uid, resourceVersion, labels, spec. */
static void check_untouched(struct test_ctx *t, struct fake_cluster *fc, struct user_object *o,
                            size_t n, const char *when)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *got = fake_cluster_get(fc, o[i].r, o[i].ns, o[i].name);
        char *now = got ? cJSON_PrintUnformatted(got) : NULL;
        CHECKF(t, now && strcmp(now, o[i].was) == 0, "%s: %s %s/%s %s: was %s, now %s", when,
               o[i].r->plural, o[i].ns, o[i].name, now ? "changed" : "deleted", o[i].was,
               now ? now : "(none)");
        free(now);
        cJSON_Delete(got);
    }
}

static void free_user_objects(struct user_object *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(o[i].was);
}

static const cJSON *member_condition(const cJSON *mn, const char *cluster, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, world_at(mn, "status.clusters"))
    {
        const char *name = world_str_at(c, "name");
        if (!name || strcmp(name, cluster) != 0)
            continue;
        const cJSON *cond;
        cJSON_ArrayForEach(cond, world_at(c, "conditions"))
        {
            const char *ty = world_str_at(cond, "type");
            if (ty && strcmp(ty, type) == 0)
                return cond;
        }
    }
    return NULL;
}

static int member_condition_is(struct pworld *p, const char *cluster, const char *type,
                               const char *status)
{
    cJSON *mn = get_mesh(p);
    const char *s = world_str_at(member_condition(mn, cluster, type), "status");
    int is = s && strcmp(s, status) == 0;
    cJSON_Delete(mn);
    return is;
}

static int ap_foreign_reported(struct pworld *p, void *ud)
{
    (void)ud;
    struct want_event we = {"ForeignObject", 1};
    return member_condition_is(p, "ap", "ForeignObjects", "True") && mesh_event_seen(p, &we);
}

static int gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
}

static int ccs_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
}

static void set_adopt(struct pworld *p)
{
    cJSON *mn = get_mesh(p);
    cJSON_AddBoolToObject(cJSON_GetObjectItemCaseSensitive(mn, "spec"), "adoptExistingObjects", 1);
    put_spec_change(p->w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
}

/* The tutorial with a third member ap in which the user's gateway objects are. */
static struct fake_cluster *start_with_user_gateway(struct pworld *p, struct user_object *o,
                                                    size_t n, int adopt)
{
    pw_init(p);
    struct fake_cluster *ap = pw_add(p, "ap");
    put_user_objects(ap, o, n);
    world_apply_tutorial(&p->w);
    static const char *const extras[] = {"ap"};
    set_members(p, extras, 1);
    /* AllLocal: every member's gateway has the Gateway cross-network-gateway */
    cJSON *mn = get_mesh(p);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(mn, "spec"), "eastWestGateway",
                          cJSON_Parse("{\"exposure\":\"AllLocal\"}"));
    put_spec_change(p->w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    if (adopt)
        set_adopt(p);
    pw_start(p);
    return ap;
}

static void test_user_gateway_left_alone(struct test_ctx *t)
{
    struct user_object o[] = {
        {&KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME, user_deployment, NULL},
        {&KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME, user_service, NULL},
        {&MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME, user_gateway, NULL},
    };
    size_t n = sizeof(o) / sizeof(o[0]);
    struct pworld p;
    struct fake_cluster *ap = start_with_user_gateway(&p, o, n, 0);
    int reported = pw_settle(&p, ap_foreign_reported, NULL, T(30));
    check_untouched(t, ap, o, n, "after the mesh's reconciles");
    REQUIREF(t, reported, "ap's foreign gateway not reported: %s", world_describe(&p.w));

    cJSON *mn = get_mesh(&p), *ev = NULL;
    const cJSON *cond = member_condition(mn, "ap", "ForeignObjects");
    CHECK_STR(t, world_str_at(cond, "reason"), "ForeignObject");
    const char *msg = world_str_at(cond, "message");
    CHECK_CONTAINS(t, msg, "cluster ap");
    CHECK_CONTAINS(t, msg, "Deployment istio-system/istio-eastwestgateway");
    CHECK_CONTAINS(t, msg, "Service istio-system/istio-eastwestgateway");
    CHECK_CONTAINS(t, msg, "Gateway istio-system/cross-network-gateway");
    CHECK_CONTAINS(t, msg, "adoptExistingObjects");
    const cJSON *gw = member_condition(mn, "ap", "GatewayReady");
    CHECK_STR(t, world_str_at(gw, "status"), "False");
    CHECK_STR(t, world_str_at(gw, "reason"), "ForeignObject");
    CHECK_STR(t, world_condition(mn, "Ready", NULL, NULL), "False");
    CHECK_STR(t, world_str_at(member_condition(mn, "eu", "ForeignObjects"), "status"), "False");
    CHECK(t, mesh_events(&p, "ForeignObject", &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ForeignObject", mn, "cluster ap",
                "Deployment istio-system/istio-eastwestgateway",
                "Service istio-system/istio-eastwestgateway",
                "Gateway istio-system/cross-network-gateway");
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    /* nothing of a gateway beside theirs: no ServiceAccount, Role or RoleBinding */
    CHECK(t, !present(ap, &KUBE_RES_SERVICEACCOUNTS, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !present(ap, &KUBE_RES_ROLEBINDINGS, "istio-system", MESH_GATEWAY_NAME));
    /* more looks: the same report, no second Event */
    REQUIRE(t, world_look_again(&p.w, 2));
    CHECK(t, mesh_events(&p, "ForeignObject", NULL) == 1);
    check_untouched(t, ap, o, n, "after more reconciles");

    set_members(&p, NULL, 0);
    struct want_event removed = {"ClusterRemoved", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &removed, T(20)), "ap was not removed: %s",
             world_describe(&p.w));
    check_untouched(t, ap, o, n, "after ap's removal");

    /* back in, then the mesh deleted */
    static const char *const extras[] = {"ap"};
    set_members(&p, extras, 1);
    REQUIREF(t, pw_settle(&p, ap_foreign_reported, NULL, T(30)), "ap not back: %s",
             world_describe(&p.w));
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    REQUIREF(t, pw_settle(&p, gone, NULL, T(30)), "the MeshNetwork stayed: %s",
             world_describe(&p.w));
    check_untouched(t, ap, o, n, "after the mesh's deletion");
    CHECK(t, !present(p.w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    free_user_objects(o, n);
    pw_free(&p);
}

static int ap_adopted(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *d = fake_cluster_get(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
    cJSON *s = fake_cluster_get(p->fc[0], &KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME);
    const cJSON *dl =
        cJSON_GetObjectItemCaseSensitive(world_at(d, "metadata.labels"), MESH_LABEL_MESH);
    const cJSON *sl =
        cJSON_GetObjectItemCaseSensitive(world_at(s, "metadata.labels"), MESH_LABEL_MESH);
    int ok = cJSON_IsString(dl) && strcmp(dl->valuestring, "training-mesh") == 0 &&
             cJSON_IsString(sl) && strcmp(sl->valuestring, "training-mesh") == 0 &&
             member_condition_is(p, "ap", "ForeignObjects", "False");
    cJSON_Delete(d);
    cJSON_Delete(s);
    return ok;
}

static void test_user_gateway_adopted_when_asked(struct test_ctx *t)
{
    struct user_object o[] = {
        {&KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME, user_deployment, NULL},
        {&KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME, user_service, NULL},
        {&MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME, user_gateway, NULL},
    };
    size_t n = sizeof(o) / sizeof(o[0]);
    struct pworld p;
    struct fake_cluster *ap = start_with_user_gateway(&p, o, n, 1);
    REQUIREF(t, pw_settle(&p, ap_adopted, NULL, T(30)), "ap's gateway not adopted: %s",
             world_describe(&p.w));
    cJSON *d = fake_cluster_get(ap, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
    CHECK(t, world_at(d, "spec.template.spec.containers.0.image") &&
                 strcmp(world_str_at(d, "spec.template.spec.containers.0.image"),
                        "user.example/proxyv2:1") != 0);
    cJSON_Delete(d);
    cJSON *g = fake_cluster_get(ap, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME);
    CHECK_STR(t, world_str_at(g, "spec.servers.0.hosts.0"), "*");
    const cJSON *gm =
        cJSON_GetObjectItemCaseSensitive(world_at(g, "metadata.labels"), MESH_LABEL_MESH);
    CHECK_STR(t, cJSON_IsString(gm) ? gm->valuestring : NULL, "training-mesh");
    cJSON_Delete(g);
    CHECK(t, mesh_events(&p, "Adopted", NULL) >= 3);
    CHECK(t, mesh_events(&p, "ForeignObject", NULL) == 0);
    /* ours now: the member's removal takes them */
    set_members(&p, NULL, 0);
    struct want_event removed = {"ClusterRemoved", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &removed, T(20)), "ap was not removed: %s",
             world_describe(&p.w));
    CHECK(t, !present(ap, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    free_user_objects(o, n);
    pw_free(&p);
}

/* ---- a ServiceEntry and DestinationRule named like the CrossClusterService ---- */

static int imported_foreign(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const char *reason = NULL;
    const char *s = world_condition(c, "Imported", &reason, NULL);
    int is = s && strcmp(s, "False") == 0 && reason && strcmp(reason, "ForeignObject") == 0 &&
             ccs_event_seen(p, "ForeignObject");
    cJSON_Delete(c);
    return is;
}

static void start_with_user_entry(struct pworld *p, struct user_object *o, size_t n, int adopt)
{
    pw_init(p);
    world_put_json(p->w.us, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"echo\"}}");
    put_user_objects(p->w.us, o, n);
    world_apply_tutorial(&p->w);
    if (adopt)
        set_adopt(p);
    pw_start(p);
}

static void test_user_entry_left_alone(struct test_ctx *t)
{
    struct user_object o[] = {
        {&MESH_RES_SERVICEENTRIES, "echo", "echo", user_entry, NULL},
        {&MESH_RES_DESTINATIONRULES, "echo", "echo", user_rule, NULL},
    };
    size_t n = sizeof(o) / sizeof(o[0]);
    struct pworld p;
    start_with_user_entry(&p, o, n, 0);
    int reported = pw_settle(&p, imported_foreign, NULL, T(30));
    check_untouched(t, p.w.us, o, n, "after the service's reconciles");
    REQUIREF(t, reported, "us's foreign entry not reported: %s", world_describe(&p.w));
    cJSON *c = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo"), *ev = NULL;
    const char *msg = NULL;
    world_condition(c, "Imported", NULL, &msg);
    CHECK_CONTAINS(t, msg, "cluster us");
    CHECK_CONTAINS(t, msg, "ServiceEntry echo/echo");
    CHECK_CONTAINS(t, msg, "DestinationRule echo/echo");
    CHECK_STR(t, world_condition(c, "Ready", NULL, NULL), "False");
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "ForeignObject", &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ForeignObject", c, "cluster us", "ServiceEntry echo/echo");
    cJSON_Delete(ev);
    cJSON_Delete(c);
    /* the exporter's own entry is written: only us has a foreign one */
    CHECK(t, present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    REQUIRE(t, world_look_again(&p.w, 2));
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "ForeignObject", NULL) == 1);

    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    REQUIREF(t, pw_settle(&p, ccs_gone, NULL, T(20)), "the CrossClusterService stayed: %s",
             world_describe(&p.w));
    check_untouched(t, p.w.us, o, n, "after the service's deletion");
    CHECK(t, !present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    REQUIREF(t, pw_settle(&p, gone, NULL, T(30)), "the MeshNetwork stayed: %s",
             world_describe(&p.w));
    check_untouched(t, p.w.us, o, n, "after the mesh's deletion");
    free_user_objects(o, n);
    pw_free(&p);
}

static int us_entry_adopted(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *se = fake_cluster_get(p->w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    const cJSON *svc =
        cJSON_GetObjectItemCaseSensitive(world_at(se, "metadata.labels"), MESH_LABEL_SERVICE);
    const char *host = world_str_at(se, "spec.hosts.0");
    int ok = cJSON_IsString(svc) && strcmp(svc->valuestring, "echo.echo") == 0 && host &&
             strcmp(host, "echo.eu.mesh.local") == 0 && world_tutorial_ready(&p->w, NULL);
    cJSON_Delete(se);
    return ok;
}

static void test_user_entry_adopted_when_asked(struct test_ctx *t)
{
    struct user_object o[] = {
        {&MESH_RES_SERVICEENTRIES, "echo", "echo", user_entry, NULL},
        {&MESH_RES_DESTINATIONRULES, "echo", "echo", user_rule, NULL},
    };
    size_t n = sizeof(o) / sizeof(o[0]);
    struct pworld p;
    start_with_user_entry(&p, o, n, 1);
    REQUIREF(t, pw_settle(&p, us_entry_adopted, NULL, T(30)), "us's entry not adopted: %s",
             world_describe(&p.w));
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "Adopted", NULL) == 2);
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "ForeignObject", NULL) == 0);
    free_user_objects(o, n);
    pw_free(&p);
}

/* eastwest's managed-by label copied onto a team's entry (kubectl get -o yaml | edit):
 * the entry names another service, so it is not this one's, and stays as it is. */
static void test_copied_label_entry_left_alone(struct test_ctx *t)
{
    struct user_object o[] = {
        {&MESH_RES_SERVICEENTRIES, "echo", "echo",
         "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"ServiceEntry\",\"metadata\":"
         "{\"name\":\"echo\",\"namespace\":\"echo\",\"labels\":{\"app.kubernetes.io/"
         "managed-by\":\"eastwest-operator\",\"eastwest.io/service\":\"payments.echo\"}},"
         "\"spec\":{\"hosts\":[\"echo.payments.example\"],\"location\":\"MESH_EXTERNAL\","
         "\"resolution\":\"DNS\",\"ports\":[{\"number\":443,\"name\":\"https\","
         "\"protocol\":\"TLS\"}]}}",
         NULL},
    };
    struct pworld p;
    start_with_user_entry(&p, o, 1, 0);
    int reported = pw_settle(&p, imported_foreign, NULL, T(30));
    check_untouched(t, p.w.us, o, 1, "after the service's reconciles");
    REQUIREF(t, reported, "us's entry not reported: %s", world_describe(&p.w));
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    REQUIREF(t, pw_settle(&p, ccs_gone, NULL, T(20)), "the CrossClusterService stayed: %s",
             world_describe(&p.w));
    check_untouched(t, p.w.us, o, 1, "after the service's deletion");
    free_user_objects(o, 1);
    pw_free(&p);
}

static const struct test_case cases[] = {
    {"user-gateway-left-alone", test_user_gateway_left_alone},
    {"user-gateway-adopted-when-asked", test_user_gateway_adopted_when_asked},
    {"user-entry-left-alone", test_user_entry_left_alone},
    {"user-entry-adopted-when-asked", test_user_entry_adopted_when_asked},
    {"copied-label-entry-left-alone", test_copied_label_entry_left_alone},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
