/*
 * test_mesh_gone.c: nothing of a MeshNetwork is left behind (issue 32): a mesh
 * whose spec cannot be parsed is cleaned by what it wrote when it is deleted
 * (network_recorded.h), and the gauges of a deleted mesh, or of a member that
 * left one, go with it.
 */
#include "promises_world.h"
#include "base/strbuf.h"
#include "mesh/network_recorded.h"
#include "mesh/objects.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <string.h>

/* The series of the operator's metrics that carry needle (a label value). */
static int series_with(struct pworld *p, const char *needle, struct strbuf *lines)
{
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(p->w.metrics, &out);
    int n = 0;
    for (char *line = strtok(out.buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !strstr(line, needle))
            continue;
        n++;
        if (lines)
            strbuf_addf(lines, "%s\n", line);
    }
    strbuf_release(&out);
    return n;
}

static int mesh_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
}

static int ccs_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
}

/* Its observedGeneration caught up with the spec (ud: the generation). */
static int mesh_observed(struct pworld *p, void *ud)
{
    cJSON *mn = get_mesh(p);
    const cJSON *og = world_at(mn, "status.observedGeneration");
    int ok = cJSON_IsNumber(og) && og->valuedouble >= *(const double *)ud;
    cJSON_Delete(mn);
    return ok;
}

static int mesh_cleanup_pending(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    const char *reason = NULL;
    world_condition(mn, "Ready", &reason, NULL);
    int ok = mn && reason && strcmp(reason, "CleanupPending") == 0;
    cJSON_Delete(mn);
    return ok;
}

/* The tutorial, its CrossClusterService deleted, and spec.vipRange 0.0.0.0/0: admitted
 * by the CRD (a /0 is an IPv4 CIDR of at most /30), refused by the operator's parse. */
static void start_unreadable(struct test_ctx *t, struct pworld *p)
{
    start_tutorial(t, p);
    CHECK(t, fake_cluster_delete(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    REQUIREF(t, pw_wait(p, ccs_gone, NULL, T(10)), "echo/echo stayed: %s", world_describe(&p->w));
    cJSON *mn = get_mesh(p);
    REQUIRE(t, mn != NULL);
    CHECK_STR(t, world_str_at(mn, "status.istioNamespace"), "istio-system");
    CHECK_STR(t, world_str_at(mn, "status.clusters.1.kubeconfigSecretRef.name"), "prod-eu-west-1");
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(mn, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "vipRange");
    cJSON_AddStringToObject(spec, "vipRange", "0.0.0.0/0");
    double gen = world_at(mn, "metadata.generation")->valuedouble + 1;
    put_spec_change(p->w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    REQUIREF(t, pw_wait(p, mesh_observed, &gen, T(10)), "the unreadable spec was not seen: %s",
             world_describe(&p->w));
}

static void check_member_clean(struct test_ctx *t, struct fake_cluster *fc, int clean)
{
    const char *n = fake_cluster_name(fc);
    struct {
        const struct kube_resource *r;
        const char *name;
    } objs[] = {
        {&KUBE_RES_DEPLOYMENTS, MESH_GATEWAY_NAME},
        {&KUBE_RES_SERVICES, MESH_GATEWAY_NAME},
        {&MESH_RES_GATEWAYS, MESH_ISTIO_GATEWAY_NAME},
        {&KUBE_RES_ROLES, MESH_GATEWAY_NAME},
        {&KUBE_RES_ROLEBINDINGS, MESH_GATEWAY_NAME},
        {&KUBE_RES_SERVICEACCOUNTS, MESH_GATEWAY_NAME},
    };
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        if (!clean && objs[i].r == &MESH_RES_GATEWAYS)
            continue; /* no CrossClusterService any more: it passes no host, and is gone */
        int there = present(fc, objs[i].r, "istio-system", objs[i].name);
        if (clean)
            CHECKF(t, !there, "%s: %s %s left behind", n, objs[i].r->plural, objs[i].name);
        else
            CHECKF(t, there, "%s: %s %s deleted while not expected", n, objs[i].r->plural,
                   objs[i].name);
    }
}

/* Deleted with a spec the operator cannot parse: every member is cleaned, then the
 * finalizer goes (on main: the finalizer went at once, everything stayed). */
static void test_unreadable_spec_deletion_cleans_members(struct test_ctx *t)
{
    struct pworld p;
    start_unreadable(t, &p);
    check_member_clean(t, p.w.us, 0);
    check_member_clean(t, p.w.eu, 0);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    CHECKF(t, pw_wait(&p, mesh_gone, NULL, T(20)), "the MeshNetwork stayed: %s",
           world_describe(&p.w));
    check_member_clean(t, p.w.us, 1);
    check_member_clean(t, p.w.eu, 1);
    CHECKF(t, present(p.w.eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME),
           "eu: cacerts deleted although onDelete is Retain");
    pw_free(&p);
}

/* The same with eu down: the finalizer stays, CleanupPending names eu, nothing of eu
 * is deleted; when eu answers again, it is cleaned and the finalizer goes. */
static void test_unreadable_spec_deletion_waits_for_member(struct test_ctx *t)
{
    struct pworld p;
    start_unreadable(t, &p);
    fake_cluster_set_down(p.w.eu, 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    int pending = pw_wait(&p, mesh_cleanup_pending, NULL, T(20));
    cJSON *mn = get_mesh(&p);
    CHECKF(t, pending && mn, "the MeshNetwork was let go (or never pending) with eu down: %s",
           world_describe(&p.w));
    CHECK_STR(t, world_str_at(mn, "metadata.finalizers.0"), MESH_FINALIZER);
    const char *msg = NULL;
    world_condition(mn, "Ready", NULL, &msg);
    CHECKF(t, msg && strstr(msg, "cluster eu"), "CleanupPending does not name eu: %s",
           msg ? msg : "(none)");
    cJSON_Delete(mn);
    check_member_clean(t, p.w.eu, 0);
    fake_cluster_set_down(p.w.eu, 0);
    CHECKF(t, pw_wait(&p, mesh_gone, NULL, T(20)), "the MeshNetwork stayed after eu came back: %s",
           world_describe(&p.w));
    check_member_clean(t, p.w.eu, 1);
    check_member_clean(t, p.w.us, 1);
    pw_free(&p);
}

/* Deleted with an unreadable spec that no longer lists eu (one cluster: refused by the
 * parse) and a status from before the members' places were recorded: eu is unknown, so
 * the finalizer stays, CleanupPending names eu, and nothing of eu is deleted. */
static void test_unreadable_spec_unknown_member_keeps_finalizer(struct test_ctx *t)
{
    struct pworld p;
    start_unreadable(t, &p);
    cJSON *mn = get_mesh(&p);
    REQUIRE(t, mn != NULL);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(mn, "spec");
    cJSON_ReplaceItemInObjectCaseSensitive(
        spec, "clusters", cJSON_Parse("[{\"name\":\"us\",\"network\":\"us-net\"}]"));
    cJSON *st = cJSON_GetObjectItemCaseSensitive(mn, "status");
    cJSON_DeleteItemFromObjectCaseSensitive(st, "istioNamespace");
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "clusters"))
        cJSON_DeleteItemFromObjectCaseSensitive(c, "kubeconfigSecretRef");
    put_spec_change(p.w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    int pending = pw_wait(&p, mesh_cleanup_pending, NULL, T(20));
    mn = get_mesh(&p);
    REQUIREF(t, pending && mn, "let go with eu unknown: %s", world_describe(&p.w));
    const char *msg = NULL;
    world_condition(mn, "Ready", NULL, &msg);
    CHECKF(t, msg && strstr(msg, "cluster(s) eu") && !strstr(msg, "cluster(s) us"),
           "CleanupPending does not name eu alone: %s", msg ? msg : "(none)");
    CHECK_STR(t, world_str_at(mn, "metadata.finalizers.0"), MESH_FINALIZER);
    cJSON_Delete(mn);
    check_member_clean(t, p.w.eu, 0);
    pw_free(&p);
}

/* What a deletion cleans by, from the status and what reads of the spec; a member
 * whose place the status does not record is unknown, never taken for the home. */
static void test_recorded_members(struct test_ctx *t)
{
    cJSON *obj = cJSON_Parse(
        "{\"metadata\":{\"name\":\"m\",\"generation\":4},"
        "\"spec\":{\"vipRange\":\"0.0.0.0/0\",\"istioNamespace\":\"other\","
        "\"certificateAuthority\":{\"onDelete\":\"Delete\",\"rootSecretRef\":{\"name\":\"r\"}},"
        "\"clusters\":[{\"name\":\"late\",\"network\":\"n3\","
        "\"kubeconfigSecretRef\":{\"name\":\"late-kc\"}}]},"
        "\"status\":{\"istioNamespace\":\"istio-x\",\"clusters\":["
        "{\"name\":\"home\"},{\"name\":\"eu\",\"kubeconfigSecretRef\":{\"name\":\"eu-kc\","
        "\"key\":\"k\"}}]}}");
    struct mesh_network n;
    struct strbuf unknown = STRBUF_INIT;
    mesh_network_recorded(obj, &n, &unknown);
    CHECK_STR(t, n.name, "m");
    CHECK_STR(t, n.istio_namespace, "istio-x");
    CHECK(t, n.ca.on_delete == MESH_CA_DELETE);
    CHECK_STR(t, n.ca.root_secret, "r");
    REQUIREF(t, n.nclusters == 3, "%zu members", n.nclusters);
    CHECK_STR(t, n.clusters[0].name, "home");
    CHECK(t, n.clusters[0].secret_name == NULL);
    CHECK_STR(t, n.clusters[1].secret_name, "eu-kc");
    CHECK_STR(t, n.clusters[1].secret_key, "k");
    CHECK_STR(t, n.clusters[2].secret_name, "late-kc");
    CHECK_STR(t, unknown.buf, "");
    mesh_network_release(&n);
    /* a status from before the refs were recorded: no istioNamespace */
    cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    cJSON_DeleteItemFromObjectCaseSensitive(st, "istioNamespace");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"),
                                            "certificateAuthority");
    mesh_network_recorded(obj, &n, &unknown);
    CHECK_STR(t, n.istio_namespace, "other");
    CHECK(t, n.ca.on_delete == MESH_CA_RETAIN);
    CHECK_STR(t, unknown.buf, "home");
    CHECK(t, n.nclusters == 2 && mesh_network_cluster(&n, "home") == NULL);
    mesh_network_release(&n);
    strbuf_release(&unknown);
    cJSON_Delete(obj);
}

/* Deleting a MeshNetwork removes every series labelled with it: the certificate expiry
 * gauges, the rotation phase and its members' cache gauges. */
static void test_deleted_mesh_leaves_no_series(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    struct strbuf lines = STRBUF_INIT;
    int before = series_with(&p, "training-mesh", &lines);
    CHECKF(t, strstr(lines.buf, "eastwest_root_rotation_phase{mesh=\"training-mesh\"}") != NULL,
           "no rotation phase before: %s", lines.buf);
    CHECKF(t,
           strstr(lines.buf, "eastwest_certificate_expiry_timestamp_seconds{mesh=\"training-"
                             "mesh\",cluster=\"eu\",kind=\"intermediate\"}") != NULL,
           "no eu intermediate expiry before: %s", lines.buf);
    CHECK(t, before > 3);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    REQUIREF(t, pw_settle(&p, mesh_gone, NULL, T(20)), "the MeshNetwork stayed: %s",
             world_describe(&p.w));
    strbuf_reset(&lines);
    int after = series_with(&p, "training-mesh", &lines);
    CHECKF(t, after == 0, "%d series of the deleted mesh stay:\n%s", after, lines.buf);
    strbuf_release(&lines);
    pw_free(&p);
}

static int ap_written(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME) &&
           world_tutorial_ready(&p->w, NULL);
}

static int ap_clean(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
}

/* A member removed from spec.clusters: once it is cleaned, its intermediate's expiry
 * gauge goes; the other members' and the mesh's stay. */
static void test_removed_member_leaves_no_series(struct test_ctx *t)
{
    struct pworld p;
    pw_init(&p);
    pw_add(&p, "ap");
    world_apply_tutorial(&p.w);
    static const char *const ap[] = {"ap"};
    set_members(&p, ap, 1);
    pw_start(&p);
    REQUIREF(t, pw_settle(&p, ap_written, NULL, T(30)), "three members did not converge: %s",
             world_describe(&p.w));
    const char *ap_series =
        "eastwest_certificate_expiry_timestamp_seconds{mesh=\"training-mesh\",cluster=\"ap\"";
    CHECKF(t, series_with(&p, ap_series, NULL) == 1, "no intermediate expiry for ap");
    set_members(&p, NULL, 0);
    REQUIREF(t, pw_wait(&p, ap_clean, NULL, T(20)), "ap was not cleaned: %s", world_describe(&p.w));
    pw_settle(&p, ap_clean, NULL, T(5));
    struct strbuf lines = STRBUF_INIT;
    CHECKF(t, series_with(&p, ap_series, &lines) == 0, "ap's series stay:\n%s", lines.buf);
    strbuf_reset(&lines);
    CHECKF(t, series_with(&p, "cluster=\"eu\",kind=\"intermediate\"", &lines) == 1,
           "eu's intermediate gauge went too");
    CHECK(t, series_with(&p, "eastwest_root_rotation_phase{mesh=\"training-mesh\"}", NULL) == 1);
    strbuf_release(&lines);
    pw_free(&p);
}

static const struct test_case cases[] = {
    {"recorded-members", test_recorded_members},
    {"unreadable-spec-deletion-cleans-members", test_unreadable_spec_deletion_cleans_members},
    {"unreadable-spec-deletion-waits-for-member", test_unreadable_spec_deletion_waits_for_member},
    {"unreadable-spec-unknown-member-keeps-finalizer",
     test_unreadable_spec_unknown_member_keeps_finalizer},
    {"deleted-mesh-leaves-no-series", test_deleted_mesh_leaves_no_series},
    {"removed-member-leaves-no-series", test_removed_member_leaves_no_series},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
