/*
 * test_promises_status.c: what docs/meshnetwork.md, docs/crossclusterservice.md and
 * docs/design.md promise about a mesh's cleanup and a few status reasons, each proved on
 * the fake clusters of promises_world.h with the content the docs name: the condition's
 * reason and message, and the Event's reason, type, regarding object and the cluster in
 * its note:
 *
 *   - CleanupPending (MeshNetwork being deleted, a member down; a CrossClusterService
 *     deleted, a member down), MeshNetworkDeleting;
 *   - ClusterRemoved, CleanupPending=True/ClustersLeaving with status.removedClusters,
 *     CleanupAbandoned when the removed member's kubeconfig Secret is deleted (while the
 *     operator runs, and across a restart);
 *   - AddressRangeExhausted (the network and broadcast addresses never given), and the
 *     blocked service taking an address that comes free.
 *
 * The Events' own promises (their content, truncation, rate limit) are
 * test_promises_events.c's. Every wait is for a condition, bounded by a deadline (scaled
 * under valgrind).
 */
#include "promises_world.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/ca.h"
#include "mesh/objects.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The condition's status, reason and message of obj are these (message: contains). */
static void check_condition(struct test_ctx *t, const char *file, int line, const cJSON *obj,
                            const char *type, const char *status, const char *reason,
                            const char *message_has)
{
    const char *r = NULL, *m = NULL;
    const char *s = world_condition(obj, type, &r, &m);
    if (!s || strcmp(s, status) != 0 || !r || strcmp(r, reason) != 0 ||
        (message_has && (!m || !strstr(m, message_has))))
        test_fail(t, file, line, "condition %s: %s/%s \"%s\", want %s/%s with \"%s\"", type,
                  s ? s : "(none)", r ? r : "(none)", m ? m : "", status, reason,
                  message_has ? message_has : "");
}
#define CHECK_CONDITION(t, obj, type, status, reason, message_has)                                 \
    check_condition(t, __FILE__, __LINE__, obj, type, status, reason, message_has)

static int condition_is(const cJSON *obj, const char *type, const char *status, const char *reason)
{
    const char *r = NULL;
    const char *s = world_condition(obj, type, &r, NULL);
    return s && r && strcmp(s, status) == 0 && strcmp(r, reason) == 0;
}

struct mesh_cond {
    const char *type, *status, *reason;
};

static int mesh_condition_is(struct pworld *p, void *ud)
{
    const struct mesh_cond *c = ud;
    cJSON *mn = get_mesh(p);
    int ok = condition_is(mn, c->type, c->status, c->reason);
    cJSON_Delete(mn);
    return ok;
}

/* ---- deletion with a member down: CleanupPending, MeshNetworkDeleting ---- */

static int mesh_deletion_pending(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    cJSON *ccs = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    int ok = condition_is(mn, "Ready", "False", "CleanupPending") &&
             condition_is(ccs, "Ready", "False", "MeshNetworkDeleting") &&
             mesh_events(p, "CleanupPending", NULL) > 0 &&
             !present(p->w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    return ok;
}

static double reconciles(struct world *w, const char *controller)
{
    struct rt_metric *f = rt_metrics_register(w->metrics, RT_COUNTER, "eastwest_reconcile_total",
                                              "", "controller,result", NULL, 0);
    const char *ok[] = {controller, "success"}, *again[] = {controller, "requeue"},
               *err[] = {controller, "error"};
    return rt_metric_value(f, ok) + rt_metric_value(f, again) + rt_metric_value(f, err);
}

struct since {
    const char *controller;
    double count;
};

static int reconciled_since(struct pworld *p, void *ud)
{
    const struct since *s = ud;
    return reconciles(&p->w, s->controller) > s->count;
}

/* echo/echo's Ready condition observed the generation of want (a CrossClusterService). */
static int ccs_observed_generation(struct pworld *p, void *ud)
{
    const cJSON *want = world_at(ud, "metadata.generation");
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const cJSON *conds = world_at(c, "status.conditions"), *cond;
    int ok = 0;
    cJSON_ArrayForEach(cond, conds)
    {
        const char *type = world_str_at(cond, "type");
        const cJSON *g = world_at(cond, "observedGeneration");
        if (type && strcmp(type, "Ready") == 0 && cJSON_IsNumber(g) && cJSON_IsNumber(want))
            ok = g->valuedouble == want->valuedouble;
    }
    cJSON_Delete(c);
    return ok;
}

static int mesh_gone(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    cJSON_Delete(mn);
    return mn == NULL;
}

/* meshnetwork.md "Deletion": a member that does not answer keeps the finalizer,
 * Ready=False reason CleanupPending naming it, a CleanupPending warning Event; a
 * CrossClusterService of the mesh reports Ready=False, reason MeshNetworkDeleting, and
 * writes nothing. */
static void test_mesh_deletion_with_member_down(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    fake_cluster_set_down(p.w.eu, 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    int ok = pw_wait(&p, mesh_deletion_pending, NULL, T(20));
    cJSON *mn = get_mesh(&p);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    REQUIREF(t, ok && mn, "not pending on eu: %s", world_describe(&p.w));
    CHECK_STR(t, world_str_at(mn, "metadata.finalizers.0"), MESH_FINALIZER);
    CHECK_CONDITION(t, mn, "Ready", "False", "CleanupPending", "cluster eu");
    cJSON *ev = NULL;
    mesh_events(&p, "CleanupPending", &ev);
    CHECK_EVENT(t, ev, "Warning", "CleanupPending", mn, "cluster eu", MESH_FINALIZER);
    CHECKF(t, !strstr(world_str_at(ev, "note") ? world_str_at(ev, "note") : "", "cluster us"),
           "us answers: the note names it: %s", world_str_at(ev, "note"));
    CHECK_CONDITION(t, ccs, "Ready", "False", "MeshNetworkDeleting",
                    "MeshNetwork training-mesh (spec.meshNetwork) is being deleted");
    /* writes nothing: a change of its spec, reconciled, puts nothing back in us */
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ccs, "spec"),
                                           "importTo", cJSON_Parse("[\"us\",\"eu\"]"));
    put_spec_change(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    CHECKF(t, pw_wait(&p, ccs_observed_generation, (void *)ccs, T(10)),
           "the spec change was not reconciled: %s", world_describe(&p.w));
    CHECKF(t, !present(p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"),
           "a CrossClusterService of a MeshNetwork being deleted wrote its ServiceEntry in us");
    CHECKF(t, !present(p.w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo"),
           "a CrossClusterService of a MeshNetwork being deleted wrote its DestinationRule in us");
    cJSON *after = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECK_CONDITION(t, after, "Ready", "False", "MeshNetworkDeleting", "training-mesh");
    cJSON_Delete(after);
    /* eu answers again: cleaned, and the finalizer goes */
    fake_cluster_set_down(p.w.eu, 0);
    CHECKF(t, pw_wait(&p, mesh_gone, NULL, T(20)), "the MeshNetwork stayed: %s",
           world_describe(&p.w));
    CHECK(t, !present(p.w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    pw_free(&p);
}

static int ccs_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
}

/* crossclusterservice.md "Deletion": while a member does not answer, the finalizer
 * stays (CleanupPending event) and the operator retries. */
static void test_ccs_deletion_with_member_down(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    fake_cluster_set_down(p.w.eu, 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    CHECKF(t, pw_wait(&p, ccs_event_seen, (void *)"CleanupPending", T(20)),
           "no CleanupPending Event on echo/echo: %s", world_describe(&p.w));
    cJSON *ev = NULL;
    events_about(&p, "echo", "CrossClusterService", "echo", "CleanupPending", &ev);
    CHECK_EVENT(t, ev, "Warning", "CleanupPending", ccs, "cluster eu", MESH_FINALIZER);
    cJSON *now = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECKF(t, now && world_str_at(now, "metadata.finalizers.0"),
           "the finalizer went while eu holds its ServiceEntry");
    CHECK(t, present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    fake_cluster_set_down(p.w.eu, 0);
    CHECKF(t, pw_wait(&p, ccs_gone, NULL, T(20)), "echo/echo stayed after eu came back: %s",
           world_describe(&p.w));
    CHECK(t, !present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    cJSON_Delete(now);
    cJSON_Delete(ev);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- a member removed from spec.clusters ---- */

static int ap_written(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME) &&
           present(p->fc[0], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME) &&
           world_tutorial_ready(&p->w, NULL);
}

/* The tutorial with a third member ap, converged. */
static void start_three(struct test_ctx *t, struct pworld *p)
{
    pw_init(p);
    pw_add(p, "ap");
    world_apply_tutorial(&p->w);
    static const char *const ap[] = {"ap"};
    set_members(p, ap, 1);
    pw_start(p);
    REQUIREF(t, pw_settle(p, ap_written, NULL, T(30)), "three members did not converge: %s",
             world_describe(&p->w));
}

static int ap_network_label(struct pworld *p)
{
    cJSON *ns = fake_cluster_get(p->fc[0], &KUBE_RES_NAMESPACES, NULL, "istio-system");
    int has = cJSON_GetObjectItemCaseSensitive(world_at(ns, "metadata.labels"),
                                               MESH_LABEL_NETWORK) != NULL;
    cJSON_Delete(ns);
    return has;
}

/* meshnetwork.md: "ClusterRemoved when a removed member is clean". */
static void test_removed_member_cleaned_then_cluster_removed(struct test_ctx *t)
{
    struct pworld p;
    start_three(t, &p);
    CHECK(t, ap_network_label(&p));
    set_members(&p, NULL, 0);
    struct want_event we = {"ClusterRemoved", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no ClusterRemoved Event: %s",
             world_describe(&p.w));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "ClusterRemoved", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "ClusterRemoved", mn, "cluster ap left the mesh");
    const char *note = world_str_at(ev, "note");
    CHECKF(t, note && !strstr(note, "cluster eu") && !strstr(note, "cluster us"),
           "ClusterRemoved names another member: %s", note);
    /* clean when it was recorded: nothing labelled with the mesh left in ap */
    CHECK(t, !present(p.fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !present(p.fc[0], &KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !present(p.fc[0], &KUBE_RES_SERVICEACCOUNTS, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !ap_network_label(&p));
    CHECKF(t, present(p.fc[0], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME),
           "ap's cacerts went (onDelete defaults to Keep)");
    CHECK_CONDITION(t, mn, "CleanupPending", "False", "NoCleanup", NULL);
    CHECK(t, world_at(mn, "status.removedClusters") == NULL);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    pw_free(&p);
}

static int ap_pending(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    int ok = condition_is(mn, "CleanupPending", "True", "ClustersLeaving") &&
             world_str_at(mn, "status.removedClusters.0.name");
    cJSON_Delete(mn);
    return ok;
}

static void check_ap_pending(struct test_ctx *t, struct pworld *p)
{
    cJSON *mn = get_mesh(p);
    CHECK_CONDITION(t, mn, "CleanupPending", "True", "ClustersLeaving", "cluster ap");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.name"), "ap");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.kubeconfigSecretRef.name"),
              "ap-kubeconfig");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.kubeconfigSecretRef.key"),
              "kubeconfig");
    CHECK_CONTAINS(t, world_str_at(mn, "status.removedClusters.0.message"), "cluster ap");
    CHECK(t, world_at(mn, "status.removedClusters.1") == NULL);
    CHECK(t, mesh_events(p, "ClusterRemoved", NULL) == 0);
    cJSON_Delete(mn);
}

static void check_abandoned(struct test_ctx *t, struct pworld *p)
{
    cJSON *mn = get_mesh(p), *ev = NULL;
    CHECK(t, mesh_events(p, "CleanupAbandoned", &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "CleanupAbandoned", mn, "cluster ap",
                WORLD_NAMESPACE "/ap-kubeconfig", MESH_LABEL_MESH "=training-mesh");
    CHECK_CONDITION(t, mn, "CleanupPending", "False", "NoCleanup", NULL);
    CHECK(t, world_at(mn, "status.removedClusters") == NULL);
    CHECK(t, mesh_events(p, "ClusterRemoved", NULL) == 0);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
}

static int abandoned(struct pworld *p, void *ud)
{
    (void)ud;
    struct mesh_cond c = {"CleanupPending", "False", "NoCleanup"};
    return mesh_events(p, "CleanupAbandoned", NULL) > 0 && mesh_condition_is(p, &c);
}

/* The three members, then ap removed while it does not answer: its cleanup pending. */
static void remove_ap_while_down(struct test_ctx *t, struct pworld *p)
{
    start_three(t, p);
    fake_cluster_set_down(p->fc[0], 1);
    set_members(p, NULL, 0);
    REQUIREF(t, pw_wait(p, ap_pending, NULL, T(20)), "ap's cleanup not pending: %s",
             world_describe(&p->w));
}

/* meshnetwork.md: a removed member that does not answer: CleanupPending=True, reason
 * ClustersLeaving, status.removedClusters names it with its kubeconfigSecretRef;
 * deleting that Secret gives up the cleanup (warning CleanupAbandoned says what was left
 * there). Here while the operator runs: it holds the member's connection. */
static void test_removed_member_down_abandoned_by_secret(struct test_ctx *t)
{
    struct pworld p;
    remove_ap_while_down(t, &p);
    check_ap_pending(t, &p);
    CHECK(t, fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "ap-kubeconfig"));
    REQUIREF(t, pw_wait(&p, abandoned, NULL, T(20)), "not abandoned: %s", world_describe(&p.w));
    check_abandoned(t, &p);
    /* given up for good: ap back finds what eastwest wrote there left as it was */
    fake_cluster_set_down(p.fc[0], 0);
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    struct since s = {"meshnetwork", reconciles(&p.w, "meshnetwork")};
    rt_controller_enqueue(mesh_network_controller_runtime(p.w.meshes), "training-mesh");
    REQUIRE(t, pw_wait(&p, reconciled_since, &s, T(10)));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    CHECKF(t, present(p.fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME),
           "an abandoned member was cleaned when it came back");
    CHECK(t, mesh_events(&p, "ClusterRemoved", NULL) == 0);
    pw_free(&p);
}

/* The same across a restart: the new process connects the member again from
 * status.removedClusters, and finds its Secret gone. */
static void test_removed_member_abandoned_across_restart(struct test_ctx *t)
{
    struct pworld p;
    remove_ap_while_down(t, &p);
    world_stop(&p.w);
    CHECK(t, fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "ap-kubeconfig"));
    pw_start(&p);
    REQUIREF(t, pw_wait(&p, abandoned, NULL, T(20)), "not abandoned: %s", world_describe(&p.w));
    check_abandoned(t, &p);
    pw_free(&p);
}

/* ---- addresses ---- */

static void put_ccs(struct pworld *p, const char *name)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"echo\"},"
             "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"%s.mesh.local\","
             "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
             "\"importTo\":[\"us\"],"
             "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}",
             name, name);
    world_put_json(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, json);
}

static int ccs_settled(struct pworld *p, void *ud)
{
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", ud);
    const char *s = world_condition(c, "Ready", NULL, NULL);
    int ok = s != NULL;
    cJSON_Delete(c);
    return ok && world_tutorial_ready(&p->w, NULL);
}

static int c_ready_with_address(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    int ok = condition_is(c, "Ready", "True", "Ready") && world_str_at(c, "status.address");
    cJSON_Delete(c);
    return ok;
}

/* crossclusterservice.md "Address (VIP)": the network and broadcast addresses are never
 * given; a full range is Ready=False, reason AddressRangeExhausted. A /30 has two. */
static void test_address_range_exhausted(struct test_ctx *t)
{
    struct pworld p;
    pw_init(&p);
    world_apply_tutorial(&p.w);
    cJSON *mn = get_mesh(&p);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(mn, "spec"), "vipRange",
                            "240.0.1.0/30");
    fake_cluster_put(p.w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    pw_start(&p);
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        put_ccs(&p, names[i]);
        REQUIREF(t, pw_settle(&p, ccs_settled, (void *)names[i], T(20)), "echo/%s: %s", names[i],
                 world_describe(&p.w));
    }
    cJSON *a = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "a");
    cJSON *b = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "b");
    cJSON *c = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    const char *va = world_str_at(a, "status.address"), *vb = world_str_at(b, "status.address");
    CHECK_CONDITION(t, a, "Ready", "True", "Ready", NULL);
    CHECK_CONDITION(t, b, "Ready", "True", "Ready", NULL);
    CHECKF(t,
           va && vb && strcmp(va, vb) != 0 &&
               (strcmp(va, "240.0.1.1") == 0 || strcmp(va, "240.0.1.2") == 0) &&
               (strcmp(vb, "240.0.1.1") == 0 || strcmp(vb, "240.0.1.2") == 0),
           "addresses %s and %s, want 240.0.1.1 and 240.0.1.2", va ? va : "(none)",
           vb ? vb : "(none)");
    CHECK_CONDITION(t, c, "Ready", "False", "AddressRangeExhausted",
                    "no free address left in MeshNetwork training-mesh's vipRange 240.0.1.0/30");
    CHECKF(t, world_str_at(c, "status.address") == NULL, "echo/c has address %s",
           world_str_at(c, "status.address"));
    CHECK(t, !present(p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "c"));
    /* an address comes free: c takes it */
    char *freed = va ? strdup(va) : NULL;
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "a"));
    CHECKF(t, pw_wait(&p, c_ready_with_address, NULL, T(20)), "echo/c stayed without: %s",
           world_describe(&p.w));
    cJSON *c2 = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    CHECK_STR(t, world_str_at(c2, "status.address"), freed);
    free(freed);
    cJSON_Delete(c2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    pw_free(&p);
}

static const struct test_case cases[] = {
    {"mesh-deletion-with-member-down", test_mesh_deletion_with_member_down},
    {"ccs-deletion-with-member-down", test_ccs_deletion_with_member_down},
    {"removed-member-cleaned-then-cluster-removed",
     test_removed_member_cleaned_then_cluster_removed},
    {"removed-member-down-abandoned-by-secret", test_removed_member_down_abandoned_by_secret},
    {"removed-member-abandoned-across-restart", test_removed_member_abandoned_across_restart},
    {"address-range-exhausted", test_address_range_exhausted},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
