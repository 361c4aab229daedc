/*
 * test_claims.c: who may claim what (issue 31; docs/design.md, "Tenancy: who may
 * claim what"). The policy's pure checks (claims.h), then the CrossClusterService
 * controller on the tutorial's fake clusters (reconcile_world.h): a tenant claiming an
 * outside name, another tenant's name, or an address an importer's Service already
 * has, is refused with a condition naming it and nothing is written; the objects
 * written carry exportTo; a namespace missing in a member is reported, not created,
 * unless the MeshNetwork allows it.
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/strbuf.h"
#include "mesh/claims.h"
#include "mesh/objects.h"
#include "mesh/roles.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the policy alone ---- */

static cJSON *mesh_json(const char *claims)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b,
                "{\"metadata\":{\"name\":\"m\"},\"spec\":{\"meshID\":\"mesh1\","
                "\"trustDomain\":\"corp.local\",\"clusters\":[{\"name\":\"us\",\"network\":\"a\"},"
                "{\"name\":\"eu\",\"network\":\"b\"}]%s%s}}",
                claims ? ",\"serviceClaims\":" : "", claims ? claims : "");
    cJSON *o = cJSON_Parse(b.buf);
    strbuf_release(&b);
    return o;
}

static mesh_code check(struct test_ctx *t, const char *claims, const char *ns, const char *host,
                       const char *address, struct mesh_problem *p)
{
    cJSON *o = mesh_json(claims);
    struct mesh_network n;
    mesh_code rc = mesh_network_parse(o, &n, p);
    CHECKF(t, rc == MESH_OK, "the MeshNetwork parses: %s", p->message.buf);
    if (rc == MESH_OK)
        rc = mesh_claims_check(&n, ns, host, address, p);
    mesh_network_release(&n);
    cJSON_Delete(o);
    return rc;
}

static void test_default_policy(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    /* its own default host, and any name under its namespace */
    CHECK(t, check(t, NULL, "team-a", "web.team-a.mesh1.global", NULL, &p) == MESH_OK);
    CHECK(t, check(t, NULL, "team-a", "v1.web.team-a.mesh1.global", NULL, &p) == MESH_OK);
    /* an outside name */
    CHECK(t, check(t, NULL, "team-b", "api.partner.com", NULL, &p) != MESH_OK);
    CHECK_STR(t, p.reason, "HostNotAllowed");
    CHECK_CONTAINS(t, p.message.buf, "api.partner.com");
    CHECK_CONTAINS(t, p.message.buf, "spec.serviceClaims.hosts");
    /* another tenant's names, and the bare suffix */
    CHECK(t, check(t, NULL, "team-b", "web.team-a.mesh1.global", NULL, &p) != MESH_OK);
    CHECK_STR(t, p.reason, "HostNotAllowed");
    CHECK(t, check(t, NULL, "team-b", "team-b.mesh1.global", NULL, &p) != MESH_OK);
    CHECK(t, check(t, NULL, "team-b", "web.team-b.mesh2.global", NULL, &p) != MESH_OK);
    /* a name in Kubernetes' own domain */
    CHECK(t, check(t, NULL, "team-b", "db.team-a.svc.cluster.local", NULL, &p) != MESH_OK);
    /* addresses: the vipRange by default */
    CHECK(t, check(t, NULL, "team-a", "web.team-a.mesh1.global", "240.240.3.4", &p) == MESH_OK);
    CHECK(t, check(t, NULL, "team-a", "web.team-a.mesh1.global", "10.96.0.1", &p) != MESH_OK);
    CHECK_STR(t, p.reason, "AddressNotAllowed");
    CHECK_CONTAINS(t, p.message.buf, "10.96.0.1");
    CHECK_CONTAINS(t, p.message.buf, "spec.vipRange");
    CHECK(t, check(t, NULL, "team-a", "web.team-a.mesh1.global", "fd00::7", &p) != MESH_OK);
    mesh_problem_release(&p);
}

static void test_owner_policy(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *pol = "{\"namespaces\":[\"team-a\",\"team-b\"],"
                      "\"hosts\":[\"*.{namespace}.{meshID}.global\",\"*.mesh.local\","
                      "\"api.{namespace}.example.com\"],"
                      "\"addresses\":[\"240.0.0.0/24\",\"fd00::/64\"]}";
    CHECK(t, check(t, pol, "team-a", "echo.eu.mesh.local", "240.0.0.2", &p) == MESH_OK);
    CHECK(t, check(t, pol, "team-a", "api.team-a.example.com", "fd00::7", &p) == MESH_OK);
    /* the vipRange stays allowed next to the owner's addresses */
    CHECK(t, check(t, pol, "team-a", "api.team-a.example.com", "240.240.9.9", &p) == MESH_OK);
    CHECK(t, check(t, pol, "team-b", "api.team-a.example.com", NULL, &p) != MESH_OK);
    CHECK(t, check(t, pol, "team-a", "mesh.local", NULL, &p) != MESH_OK);
    CHECK(t, check(t, pol, "team-a", "echo.eu.mesh.local", "240.0.1.2", &p) != MESH_OK);
    CHECK_STR(t, p.reason, "AddressNotAllowed");
    CHECK_CONTAINS(t, p.message.buf, "240.0.0.0/24");
    CHECK(t, check(t, pol, "team-c", "web.team-c.mesh1.global", NULL, &p) != MESH_OK);
    CHECK_STR(t, p.reason, "NamespaceNotAllowed");
    CHECK_CONTAINS(t, p.message.buf, "team-c");
    CHECK_CONTAINS(t, p.message.buf, "spec.serviceClaims.namespaces");
    mesh_problem_release(&p);
}

static void test_bad_policy_is_invalid(struct test_ctx *t)
{
    const char *bad[] = {"[]",
                         "{\"hosts\":\"*.x\"}",
                         "{\"addresses\":[\"10.0.0.1\"]}",
                         "{\"addresses\":[\"10.0.0.0/40\"]}",
                         "{\"createNamespaces\":\"yes\"}",
                         "{\"namespaces\":[\"\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *o = mesh_json(bad[i]);
        struct mesh_network n;
        struct mesh_problem p;
        mesh_problem_init(&p);
        CHECKF(t, mesh_network_parse(o, &n, &p) != MESH_OK, "serviceClaims %s accepted", bad[i]);
        CHECK_CONTAINS(t, p.message.buf, "spec.serviceClaims");
        mesh_problem_release(&p);
        cJSON_Delete(o);
    }
    CHECK(t, mesh_cidr_contains("10.0.0.0/8", "10.1.2.3"));
    CHECK(t, !mesh_cidr_contains("10.0.0.0/8", "11.1.2.3"));
    CHECK(t, !mesh_cidr_contains("10.0.0.0/8", "fd00::1"));
    CHECK(t, mesh_cidr_contains("fd00::/8", "fd12::1"));
    CHECK(t, mesh_cidr_contains("0.0.0.0/0", "1.2.3.4"));
}

/* The exporter's gateway passes no traffic for a refused claim's host. */
static void test_gateway_hosts_skip_refused_claims(struct test_ctx *t)
{
    cJSON *o = mesh_json(NULL);
    struct mesh_network n;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(o, &n, &p) == MESH_OK);
    static const char *const ccs[] = {
        "{\"metadata\":{\"name\":\"partner\",\"namespace\":\"team-b\"},\"spec\":{"
        "\"meshNetwork\":\"m\",\"host\":\"api.partner.com\",\"exportFrom\":[{\"cluster\":\"eu\"}]}"
        "}",
        "{\"metadata\":{\"name\":\"web\",\"namespace\":\"team-a\"},\"spec\":{"
        "\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}]}}",
    };
    struct mesh_gateway_hosts g;
    mesh_gateway_hosts_init(&g, &n);
    for (size_t i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(ccs[i]);
        struct mesh_ccs c;
        REQUIRE(t, mesh_ccs_parse(j, &c, &p) == MESH_OK);
        mesh_gateway_hosts_add(&g, &c);
        mesh_ccs_release(&c);
        cJSON_Delete(j);
    }
    CHECKF(t, g.members[1].n == 1, "eu's gateway has %zu hosts, want 1", g.members[1].n);
    if (g.members[1].n)
        CHECK_STR(t, g.members[1].hosts[0], "web.team-a.mesh1.global");
    mesh_gateway_hosts_release(&g);
    mesh_network_release(&n);
    mesh_problem_release(&p);
    cJSON_Delete(o);
}

/* ---- the controller ---- */

static void put_ns(struct fake_cluster *fc, const char *ns)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b, "{\"metadata\":{\"name\":\"%s\"}}", ns);
    world_put_json(fc, &KUBE_RES_NAMESPACES, b.buf);
    strbuf_release(&b);
}

/* The backing Service echo in ns of fc, with a ready pod as ServiceAccount echo: an
 * importer's entry pins the exporter's identities, so none is written before a pod. */
static void put_backing(struct fake_cluster *fc, const char *ns)
{
    struct strbuf b = STRBUF_INIT;
    put_ns(fc, ns);
    strbuf_addf(&b,
                "{\"metadata\":{\"name\":\"echo\",\"namespace\":\"%s\"},"
                "\"spec\":{\"selector\":{\"app\":\"echo\"},\"clusterIP\":\"10.20.1.31\","
                "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
                "\"protocol\":\"TCP\"}]}}",
                ns);
    world_put_json(fc, &KUBE_RES_SERVICES, b.buf);
    strbuf_reset(&b);
    strbuf_addf(&b,
                "{\"metadata\":{\"name\":\"echo-1\",\"namespace\":\"%s\","
                "\"labels\":{\"app\":\"echo\"}},"
                "\"spec\":{\"serviceAccountName\":\"echo\",\"containers\":[{\"name\":\"echo\","
                "\"image\":\"echo\"}]},"
                "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.20.2.8\","
                "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
                ns);
    world_put_json(fc, &KUBE_RES_PODS, b.buf);
    strbuf_release(&b);
}

/* A CrossClusterService ns/name exporting echo from eu to us, with host (NULL: the
 * default) and address (NULL: allocated). */
static void put_ccs(struct world *w, const char *ns, const char *name, const char *host,
                    const char *address)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b,
                "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},"
                "\"spec\":{\"meshNetwork\":\"training-mesh\"",
                name, ns);
    if (host)
        strbuf_addf(&b, ",\"host\":\"%s\"", host);
    if (address)
        strbuf_addf(&b, ",\"address\":\"%s\"", address);
    strbuf_addf(&b, ",\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
                    "\"importTo\":[\"us\"],"
                    "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
    world_put_json(w->us, &MESH_RES_CROSSCLUSTERSERVICES, b.buf);
    strbuf_release(&b);
}

struct judged {
    const char *ns, *name;
};

/* The CrossClusterService's Ready condition is for its current generation. */
static int ready_judged(struct world *w, void *ud)
{
    struct judged *j = ud;
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, j->ns, j->name);
    const cJSON *conds = world_at(c, "status.conditions"), *it;
    int ok = 0;
    cJSON_ArrayForEach(it, conds)
    {
        const char *type = world_str_at(it, "type");
        const cJSON *g = world_at(it, "observedGeneration"),
                    *mg = world_at(c, "metadata.generation");
        if (type && strcmp(type, "Ready") == 0 && (!mg || (g && g->valuedouble == mg->valuedouble)))
            ok = 1;
    }
    cJSON_Delete(c);
    return ok;
}

/* Ready=False with reason, its message containing each of want (NULL-terminated), and
 * no ServiceEntry nor DestinationRule of ns/name in either member. */
static void expect_refused(struct test_ctx *t, struct world *w, const char *ns, const char *name,
                           const char *reason, const char *const *want)
{
    struct judged j = {ns, name};
    REQUIREF(t, world_settle(w, ready_judged, &j, 10), "%s/%s was not judged", ns, name);
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, ns, name);
    const char *r = NULL, *m = NULL;
    const char *st = world_condition(c, "Ready", &r, &m);
    CHECKF(t, st && strcmp(st, "False") == 0, "%s/%s is Ready", ns, name);
    CHECK_STR(t, r, reason);
    for (size_t i = 0; want[i]; i++)
        CHECK_CONTAINS(t, m ? m : "", want[i]);
    struct fake_cluster *members[] = {w->us, w->eu};
    for (int i = 0; i < 2; i++) {
        cJSON *se = fake_cluster_get(members[i], &MESH_RES_SERVICEENTRIES, ns, name);
        cJSON *dr = fake_cluster_get(members[i], &MESH_RES_DESTINATIONRULES, ns, name);
        CHECKF(t, !se && !dr, "%s/%s's %s written in %s", ns, name,
               se ? "ServiceEntry" : "DestinationRule", i ? "eu" : "us");
        cJSON_Delete(se);
        cJSON_Delete(dr);
    }
    cJSON_Delete(c);
}

/* The tutorial on a world already made (world_init) and added to. */
static void start_tutorial(struct test_ctx *t, struct world *w)
{
    world_apply_tutorial(w);
    world_start(w);
    REQUIREF(t, world_settle(w, world_tutorial_ready, NULL, 20),
             "the tutorial did not converge: %s", world_describe(w));
}

static void test_tenant_cannot_claim_outside_names(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    put_ns(w.us, "team-a");
    put_ns(w.us, "team-b");
    put_backing(w.eu, "team-a");
    start_tutorial(t, &w);
    /* an outside name, and team-a's default host before team-a claims it (a squat) */
    put_ccs(&w, "team-b", "partner", "api.partner.com", NULL);
    put_ccs(&w, "team-b", "squat", "web.team-a.training-mesh.global", NULL);
    expect_refused(t, &w, "team-b", "partner", "HostNotAllowed",
                   (const char *const[]){"api.partner.com", "spec.serviceClaims.hosts", NULL});
    expect_refused(t, &w, "team-b", "squat", "HostNotAllowed",
                   (const char *const[]){"web.team-a.training-mesh.global", NULL});
    /* team-a's own service under its name is written, with its default host: the older
     * squat, refused, claims nothing (a second later: creationTimestamp has seconds) */
    usleep(1100 * 1000);
    put_ccs(&w, "team-a", "web", NULL, NULL);
    struct judged j = {"team-a", "web"};
    REQUIRE(t, world_settle(&w, ready_judged, &j, 10));
    cJSON *se = fake_cluster_get(w.us, &MESH_RES_SERVICEENTRIES, "team-a", "web");
    cJSON *web = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "team-a", "web");
    const char *why = NULL;
    CHECKF(t, se, "team-a/web not written in us: Ready %s",
           world_condition(web, "Ready", NULL, &why) ? why : "(none)");
    cJSON_Delete(web);
    if (!se) {
        world_free(&w);
        return;
    }
    CHECK_STR(t, world_str_at(se, "spec.hosts.0"), "web.team-a.training-mesh.global");
    cJSON_Delete(se);
    world_free(&w);
}

static void test_address_of_an_importers_service_is_refused(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    put_ns(w.us, "team-x");
    /* a Service of the importer us whose clusterIP the policy would allow */
    world_put_json(w.us, &KUBE_RES_SERVICES,
                   "{\"metadata\":{\"name\":\"db\",\"namespace\":\"team-x\"},"
                   "\"spec\":{\"clusterIP\":\"240.0.0.9\",\"clusterIPs\":[\"240.0.0.9\"],"
                   "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}");
    start_tutorial(t, &w);
    put_ccs(&w, "echo", "steal", "steal.eu.mesh.local", "240.0.0.9");
    expect_refused(t, &w, "echo", "steal", "AddressInUse",
                   (const char *const[]){"240.0.0.9", "cluster us", "team-x/db", NULL});
    world_free(&w);
}

static void expect_export_to(struct test_ctx *t, cJSON *o, const char *what,
                             const char *const *want)
{
    const cJSON *to = world_at(o, "spec.exportTo");
    REQUIREF(t, cJSON_IsArray(to), "%s has no spec.exportTo", what);
    size_t n = 0;
    while (want[n])
        n++;
    CHECKF(t, (size_t)cJSON_GetArraySize(to) == n, "%s: %d namespaces in exportTo, want %zu", what,
           cJSON_GetArraySize(to), n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(to, (int)i);
        CHECK_STR(t, cJSON_IsString(v) ? v->valuestring : NULL, want[i]);
    }
}

static void test_objects_are_exported_to_their_namespace(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    start_tutorial(t, &w);
    cJSON *se = fake_cluster_get(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    cJSON *dr = fake_cluster_get(w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo");
    cJSON *exp = fake_cluster_get(w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    expect_export_to(t, se, "us's ServiceEntry", (const char *const[]){".", NULL});
    expect_export_to(t, dr, "us's DestinationRule", (const char *const[]){".", NULL});
    /* the exporter's east-west gateway (istio-system) must see the host to route it */
    expect_export_to(t, exp, "eu's ServiceEntry", (const char *const[]){".", "istio-system", NULL});
    cJSON_Delete(se);
    cJSON_Delete(dr);
    cJSON_Delete(exp);
    world_free(&w);
}

static int namespace_missing_reported(struct world *w, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const char *reason = NULL;
    world_condition(c, "Imported", &reason, NULL);
    int ok = reason && strcmp(reason, "NamespaceMissing") == 0;
    cJSON_Delete(c);
    return ok;
}

static void test_missing_namespace_is_reported_not_created(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    /* eu's echo exists (it exports); the importer us has no namespace echo */
    fake_cluster_delete(w.us, &KUBE_RES_NAMESPACES, NULL, "echo");
    world_apply_tutorial(&w);
    world_start(&w);
    REQUIREF(t, world_wait(&w, namespace_missing_reported, NULL, 10),
             "no Imported=False NamespaceMissing: %s", world_describe(&w));
    cJSON *ns = fake_cluster_get(w.us, &KUBE_RES_NAMESPACES, NULL, "echo");
    CHECKF(t, ns == NULL, "namespace echo was created in us");
    cJSON_Delete(ns);
    cJSON *c = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const char *m = NULL;
    world_condition(c, "Imported", NULL, &m);
    CHECK_CONTAINS(t, m ? m : "", "cluster us");
    CHECK_CONTAINS(t, m ? m : "", "namespace echo");
    CHECK_CONTAINS(t, m ? m : "", "spec.serviceClaims.createNamespaces");
    cJSON_Delete(c);
    world_free(&w);
}

static void test_missing_namespace_created_when_allowed(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    fake_cluster_delete(w.us, &KUBE_RES_NAMESPACES, NULL, "echo");
    world_apply_tutorial(&w);
    cJSON *mesh = fake_cluster_get(w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
    REQUIRE(t, mesh);
    cJSON *sc = cJSON_GetObjectItem(cJSON_GetObjectItem(mesh, "spec"), "serviceClaims");
    cJSON_AddBoolToObject(sc, "createNamespaces", 1);
    fake_cluster_put(w.us, &MESH_RES_MESHNETWORKS, mesh);
    cJSON_Delete(mesh);
    world_start(&w);
    REQUIREF(t, world_settle(&w, world_tutorial_ready, NULL, 20), "not Ready: %s",
             world_describe(&w));
    cJSON *ns = fake_cluster_get(w.us, &KUBE_RES_NAMESPACES, NULL, "echo");
    CHECKF(t, ns != NULL, "namespace echo was not created in us (createNamespaces: true)");
    cJSON_Delete(ns);
    world_free(&w);
}

static int echo_withdrawn(struct world *w, void *ud)
{
    (void)ud;
    cJSON *se = fake_cluster_get(w->us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    cJSON *dr = fake_cluster_get(w->us, &MESH_RES_DESTINATIONRULES, "echo", "echo");
    cJSON *exp = fake_cluster_get(w->eu, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    int gone = !se && !dr && !exp;
    cJSON_Delete(se);
    cJSON_Delete(dr);
    cJSON_Delete(exp);
    return gone;
}

/* The owner tightens the policy: a service written before is refused, and what it wrote
 * is withdrawn from every member. */
static void test_tightened_policy_withdraws(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    start_tutorial(t, &w);
    cJSON *mesh = fake_cluster_get(w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
    REQUIRE(t, mesh);
    cJSON *spec = cJSON_GetObjectItem(mesh, "spec");
    cJSON_DeleteItemFromObject(spec, "serviceClaims"); /* the default: echo.eu.mesh.local out */
    cJSON *gen = cJSON_GetObjectItem(cJSON_GetObjectItem(mesh, "metadata"), "generation");
    if (gen)
        cJSON_SetNumberValue(gen, gen->valuedouble + 1);
    fake_cluster_put(w.us, &MESH_RES_MESHNETWORKS, mesh);
    cJSON_Delete(mesh);
    REQUIREF(t, world_wait(&w, echo_withdrawn, NULL, 10), "echo's objects stay: %s",
             world_describe(&w));
    const char *const want[] = {"echo.eu.mesh.local", "spec.serviceClaims.hosts", NULL};
    expect_refused(t, &w, "echo", "echo", "HostNotAllowed", want);
    world_free(&w);
}

/* A Service in the importer gets the address a service already has: the next reconcile
 * refuses the claim and withdraws what it wrote. */
static void test_address_taken_later_withdraws(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    put_ns(w.us, "team-x");
    start_tutorial(t, &w);
    world_put_json(w.us, &KUBE_RES_SERVICES,
                   "{\"metadata\":{\"name\":\"db\",\"namespace\":\"team-x\"},"
                   "\"spec\":{\"clusterIP\":\"240.0.0.2\","
                   "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}");
    rt_controller_enqueue(mesh_ccs_controller_runtime(w.services), "echo/echo");
    REQUIREF(t, world_wait(&w, echo_withdrawn, NULL, 10), "echo's objects stay: %s",
             world_describe(&w));
    const char *const want[] = {"240.0.0.2", "cluster us: Service team-x/db", NULL};
    expect_refused(t, &w, "echo", "echo", "AddressInUse", want);
    world_free(&w);
}

static const struct test_case cases[] = {
    {"default-policy", test_default_policy},
    {"owner-policy", test_owner_policy},
    {"bad-policy-is-invalid", test_bad_policy_is_invalid},
    {"gateway-hosts-skip-refused-claims", test_gateway_hosts_skip_refused_claims},
    {"tenant-cannot-claim-outside-names", test_tenant_cannot_claim_outside_names},
    {"address-of-an-importers-service-is-refused", test_address_of_an_importers_service_is_refused},
    {"objects-are-exported-to-their-namespace", test_objects_are_exported_to_their_namespace},
    {"missing-namespace-is-reported-not-created", test_missing_namespace_is_reported_not_created},
    {"missing-namespace-created-when-allowed", test_missing_namespace_created_when_allowed},
    {"tightened-policy-withdraws", test_tightened_policy_withdraws},
    {"address-taken-later-withdraws", test_address_taken_later_withdraws},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
