/*
 * test_left_behind.c: what a CrossClusterService wrote goes when it no longer should be
 * there (issue 32, "Left behind"), on the fake clusters of reconcile_world.h:
 *   - moved to another mesh (spec.meshNetwork edited): its objects leave the old mesh's
 *     members, and its host the old mesh's Gateway, even when the new mesh cannot be
 *     written yet;
 *   - deleted with a spec the operator cannot parse (the API server admitted it): it is
 *     cleaned by what its status recorded before its finalizer goes;
 *   - the newer of two claims of one host (Conflict): its objects go from every member,
 *     the older one's stay;
 *   - the newer of two claims of one address (another host): its host leaves the
 *     exporter's Gateway, the older one's stays.
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/timeutil.h"
#include "mesh/objects.h"

#include <stdlib.h>
#include <string.h>

static void start(struct test_ctx *t, struct world *w)
{
    REQUIREF(t, world_start_tutorial(w), "the tutorial did not converge in 20 s (scaled): %s",
             world_describe(w));
}

static int present(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                   const char *name)
{
    cJSON *o = fake_cluster_get(fc, r, ns, name);
    cJSON_Delete(o);
    return o != NULL;
}

/* The CrossClusterService echo/<name> with spec.<field> replaced by the JSON value, as a
 * spec change (generation one higher). */
static void edit_spec(struct world *w, const char *name, const char *field, const char *value)
{
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", name);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(c, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, field);
    cJSON_AddItemToObject(spec, field, cJSON_Parse(value));
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(c, "metadata");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    double g = cJSON_IsNumber(gen) ? gen->valuedouble : 1;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
    cJSON_AddNumberToObject(meta, "generation", g + 1);
    fake_cluster_put(w->us, &MESH_RES_CROSSCLUSTERSERVICES, c);
    cJSON_Delete(c);
}

static int echo_gone_from_old_mesh(struct world *w, void *ud)
{
    (void)ud;
    return !present(w->us, &MESH_RES_SERVICEENTRIES, "echo", "echo") &&
           !present(w->us, &MESH_RES_DESTINATIONRULES, "echo", "echo") &&
           !present(w->eu, &MESH_RES_SERVICEENTRIES, "echo", "echo") &&
           !present(w->eu, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME);
}

static void test_moved_to_another_mesh_leaves_the_old(struct test_ctx *t)
{
    struct world w;
    start(t, &w);
    cJSON *c = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECK_STR(t, world_str_at(c, "status.meshNetwork"), "training-mesh");
    CHECK_STR(t, world_str_at(c, "status.writtenClusters.0"), "us");
    CHECK_STR(t, world_str_at(c, "status.writtenClusters.1"), "eu");
    cJSON_Delete(c);
    REQUIRE(t, present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    REQUIRE(t, present(w.eu, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME));
    /* the new mesh is not there yet: the old one is cleaned anyway */
    edit_spec(&w, "echo", "meshNetwork", "\"other-mesh\"");
    CHECKF(t, world_wait(&w, echo_gone_from_old_mesh, NULL, 10),
           "echo's objects stayed in training-mesh's members after it moved to other-mesh "
           "(us SE %d DR %d, eu SE %d, eu Gateway %d): %s",
           present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"),
           present(w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo"),
           present(w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"),
           present(w.eu, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME),
           world_describe(&w));
    c = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const char *reason = NULL;
    CHECK_STR(t, world_condition(c, "Ready", &reason, NULL), "False");
    CHECK_STR(t, reason, "MeshNetworkNotFound");
    CHECKF(t, !world_at(c, "status.meshNetwork"), "the old mesh is clean: no record of it stays");
    cJSON_Delete(c);
    /* and back: written in training-mesh again, recorded there */
    edit_spec(&w, "echo", "meshNetwork", "\"training-mesh\"");
    CHECKF(t, world_settle(&w, world_tutorial_ready, NULL, 10), "not Ready back home: %s",
           world_describe(&w));
    CHECK(t, present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    c = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECK_STR(t, world_str_at(c, "status.meshNetwork"), "training-mesh");
    cJSON_Delete(c);
    world_free(&w);
}

static int ccs_gone(struct world *w, void *ud)
{
    return !present(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", (const char *)ud);
}

static void test_unparseable_spec_deleted_is_cleaned(struct test_ctx *t)
{
    struct world w;
    start(t, &w);
    REQUIRE(t, present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    /* admitted by a server whose schema says less than the operator's parser checks
     * (an older CRD, or a field the schema leaves open) */
    edit_spec(&w, "echo", "exportFrom", "\"eu\"");
    CHECK(t, fake_cluster_delete(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    REQUIREF(t, world_wait(&w, ccs_gone, "echo", 10), "the CrossClusterService stayed: %s",
             world_describe(&w));
    CHECKF(t, !present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"),
           "its ServiceEntry in us was orphaned by a deletion with an unreadable spec");
    CHECK(t, !present(w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo"));
    CHECK(t, !present(w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    world_free(&w);
}

static int second_written(struct world *w, void *ud)
{
    (void)ud;
    return present(w->us, &MESH_RES_SERVICEENTRIES, "echo", "echo2");
}

static int loser_withdrawn(struct world *w, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo2");
    const char *conflict = world_condition(c, "Conflict", NULL, NULL);
    int ok = conflict && strcmp(conflict, "True") == 0 &&
             !present(w->us, &MESH_RES_SERVICEENTRIES, "echo", "echo2") &&
             !present(w->us, &MESH_RES_DESTINATIONRULES, "echo", "echo2") &&
             !present(w->eu, &MESH_RES_SERVICEENTRIES, "echo", "echo2");
    cJSON_Delete(c);
    return ok;
}

static void test_conflict_loser_withdraws(struct test_ctx *t)
{
    struct world w;
    start(t, &w);
    ew_sleep(1.1); /* creationTimestamp has seconds: the second one is newer */
    world_put_json(w.us, &MESH_RES_CROSSCLUSTERSERVICES,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                   "\"metadata\":{\"name\":\"echo2\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"echo2.eu.mesh.local\","
                   "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
                   "\"importTo\":[\"us\"],"
                   "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
    REQUIREF(t, world_wait(&w, second_written, NULL, 10), "echo2 was never written: %s",
             world_describe(&w));
    /* now it claims the older one's host */
    edit_spec(&w, "echo2", "host", "\"echo.eu.mesh.local\"");
    CHECKF(t, world_wait(&w, loser_withdrawn, NULL, 10),
           "the loser of the conflict kept what it wrote (us SE %d DR %d, eu SE %d)",
           present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo2"),
           present(w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo2"),
           present(w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo2"));
    CHECKF(t, world_settle(&w, world_tutorial_ready, NULL, 10), "the winner is not Ready: %s",
           world_describe(&w));
    CHECK(t, present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    CHECK(t, present(w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo"));
    CHECK(t, present(w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    world_free(&w);
}

static int gateway_has(struct fake_cluster *fc, const char *host)
{
    cJSON *g = fake_cluster_get(fc, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME);
    char *s = g ? cJSON_PrintUnformatted(g) : NULL;
    int has = s && strstr(s, host) != NULL;
    free(s);
    cJSON_Delete(g);
    return has;
}

static int address_loser_refused(struct world *w, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo2");
    const char *conflict = world_condition(c, "Conflict", NULL, NULL);
    int ok = conflict && strcmp(conflict, "True") == 0;
    cJSON_Delete(c);
    return ok;
}

static int loser_host_in_gateway(struct world *w, void *ud)
{
    (void)ud;
    return gateway_has(w->eu, "echo2.eu.mesh.local");
}

static void test_address_conflict_loser_opens_no_gateway(struct test_ctx *t)
{
    struct world w;
    start(t, &w);
    REQUIRE(t, gateway_has(w.eu, "echo.eu.mesh.local"));
    ew_sleep(1.1); /* creationTimestamp has seconds: the second one is newer */
    /* another host, but the address of the tutorial's echo (240.0.0.2) */
    world_put_json(w.us, &MESH_RES_CROSSCLUSTERSERVICES,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                   "\"metadata\":{\"name\":\"echo2\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"echo2.eu.mesh.local\","
                   "\"address\":\"240.0.0.2\","
                   "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
                   "\"importTo\":[\"us\"],"
                   "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
    REQUIREF(t, world_wait(&w, address_loser_refused, NULL, 10),
             "echo2 (newer, same address) was not refused with Conflict: %s", world_describe(&w));
    /* the MeshNetwork reconciles the Gateways after the new CrossClusterService: give it
     * time, the loser's host must never appear */
    CHECKF(t, !world_wait(&w, loser_host_in_gateway, NULL, 3),
           "the loser of an address conflict opened eu's cross-network Gateway to its host "
           "echo2.eu.mesh.local: %s",
           world_describe(&w));
    CHECKF(t, gateway_has(w.eu, "echo.eu.mesh.local"), "the winner's host left eu's Gateway");
    CHECK(t, present(w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    world_free(&w);
}

static const struct test_case cases[] = {
    {"moved-to-another-mesh-leaves-the-old", test_moved_to_another_mesh_leaves_the_old},
    {"unparseable-spec-deleted-is-cleaned", test_unparseable_spec_deleted_is_cleaned},
    {"conflict-loser-withdraws", test_conflict_loser_withdraws},
    {"address-conflict-loser-opens-no-gateway", test_address_conflict_loser_opens_no_gateway},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
