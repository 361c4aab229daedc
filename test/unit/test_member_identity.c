/*
 * test_member_identity.c: which cluster a member's client talks to (issue 31), on
 * the fake clusters of promises_world.h:
 *
 *   - a member's kubeconfig Secret that names another server (a rebuilt cluster, or
 *     another one) gets a new client: the member's caches are listed again from the
 *     new server, and what is written there is computed from them (the mesh's cacerts
 *     is written in the new cluster, which the old caches said was there already);
 *   - two MeshNetworks that each list a cluster named eu, with different Secrets: the
 *     newer is refused for eu (ClusterInOtherMesh, naming the older, and an Event),
 *     nothing is written for it in either cluster, the older keeps working, and the
 *     newer can be deleted without waiting for a cleanup it has nothing to do for;
 *   - a member Secret with tokenFile or exec is refused (KubeconfigRefused naming the
 *     Secret and the field), with an Event.
 */
#include "promises_world.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "mesh/object_meta.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Secret dst gets src's data (both in the operator's namespace of us). */
static void copy_secret_data(struct pworld *p, const char *src, const char *dst)
{
    cJSON *from = fake_cluster_get(p->w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, src);
    cJSON *to = fake_cluster_get(p->w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, dst);
    cJSON_ReplaceItemInObjectCaseSensitive(
        to, "data", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(from, "data"), 1));
    fake_cluster_put(p->w.us, &KUBE_RES_SECRETS, to);
    cJSON_Delete(from);
    cJSON_Delete(to);
}

static int ap_has_mesh_objects(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->fc[0], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME) &&
           present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
}

static void test_server_change_relists(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "ap"); /* Secret ap-kubeconfig: https://ap.fake.test */
    /* eu's Secret now names ap's server: as a kubeconfig pointed at a rebuilt cluster */
    copy_secret_data(&p, "ap-kubeconfig", "prod-eu-west-1");
    CHECKF(t, pw_wait(&p, ap_has_mesh_objects, NULL, T(20)),
           "eu's member was not read again from its new server: nothing written in ap (%s)",
           world_describe(&p.w));
    CHECKF(t, mesh_events(&p, "ClusterChanged", NULL) >= 1, "no ClusterChanged Event");
    pw_free(&p);
}

/* A server URL with userinfo never shows it: eu's Secret now names ap's server as
 * https://eastwest:<password>@ap.fake.test, and the ClusterChanged Event names it
 * with the userinfo redacted (issue 32). */
static void test_server_userinfo_redacted(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "ap");
    struct strbuf kc = STRBUF_INIT, b64 = STRBUF_INIT;
    strbuf_adds(&kc, "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                     "clusters: [{name: c, cluster: {server: "
                     "'https://eastwest:pa55-in-url@ap.fake.test'}}]\n"
                     "users: [{name: u, user: {token: t}}]\n"
                     "contexts: [{name: c, context: {cluster: c, user: u}}]\n");
    base64_encode(&b64, kc.buf, kc.len);
    cJSON *s = fake_cluster_get(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "prod-eu-west-1");
    REQUIRE(t, s != NULL);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "data"),
                                           "kubeconfig", cJSON_CreateString(b64.buf));
    fake_cluster_put(p.w.us, &KUBE_RES_SECRETS, s);
    cJSON_Delete(s);
    strbuf_release(&kc);
    strbuf_release(&b64);
    CHECKF(t, pw_wait(&p, ap_has_mesh_objects, NULL, T(20)),
           "eu's member was not read again from its new server: nothing written in ap (%s)",
           world_describe(&p.w));
    cJSON *ev = NULL;
    CHECKF(t, mesh_events(&p, "ClusterChanged", &ev) >= 1, "no ClusterChanged Event");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "note");
    const char *m = cJSON_IsString(msg) ? msg->valuestring : NULL;
    CHECKF(t, m && !strstr(m, "pa55-in-url") && !strstr(m, "eastwest:"),
           "the Event shows the server's userinfo: %s", m ? m : "(none)");
    CHECK_CONTAINS(t, m, "https://REDACTED@ap.fake.test");
    cJSON_Delete(ev);
    pw_free(&p);
}

static int other_refused(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = fake_cluster_get(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "another-mesh");
    char *s = cJSON_PrintUnformatted(world_at(mn, "status"));
    int ok = s && strstr(s, "ClusterInOtherMesh") && strstr(s, "MeshNetwork training-mesh");
    free(s);
    cJSON_Delete(mn);
    return ok;
}

static int labelled_for(struct fake_cluster *fc, const char *mesh)
{
    cJSON *dump = fake_cluster_dump(fc);
    char *s = cJSON_PrintUnformatted(dump);
    struct strbuf want = STRBUF_INIT;
    strbuf_addf(&want, "\"" MESH_LABEL_MESH "\":\"%s\"", mesh);
    int found = strstr(s, want.buf) != NULL;
    strbuf_release(&want);
    free(s);
    cJSON_Delete(dump);
    return found;
}

static int other_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "another-mesh");
}

static void test_two_meshes_one_cluster_name(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "ap");
    pw_add(&p, "sg");
    unsigned long ap_writes = fake_cluster_writes(p.fc[0]);
    /* a newer mesh that lists an eu of its own, whose Secret reaches ap */
    world_put_json(p.w.us, &MESH_RES_MESHNETWORKS,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
                   "\"metadata\":{\"name\":\"another-mesh\","
                   "\"creationTimestamp\":\"2999-01-01T00:00:00Z\"},"
                   "\"spec\":{\"meshID\":\"another-mesh\",\"trustDomain\":\"corp.local\","
                   "\"clusters\":[{\"name\":\"eu\",\"network\":\"eu-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"ap-kubeconfig\","
                   "\"key\":\"kubeconfig\"}},{\"name\":\"sg\",\"network\":\"sg-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"sg-kubeconfig\","
                   "\"key\":\"kubeconfig\"}}]}}");
    if (!pw_wait(&p, other_refused, NULL, T(20))) {
        cJSON *mn = fake_cluster_get(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "another-mesh");
        char *s = cJSON_PrintUnformatted(mn);
        CHECKF(t, 0, "the newer mesh was not refused for eu naming training-mesh: %s", s);
        free(s);
        cJSON_Delete(mn);
    }
    CHECKF(t,
           events_about(&p, NULL, "MeshNetwork", "another-mesh", "ClusterInOtherMesh", NULL) >= 1,
           "no ClusterInOtherMesh Event about the newer mesh");
    /* nothing for it anywhere: not in ap (its Secret's cluster), not in eu (the other's) */
    CHECKF(t, !labelled_for(p.w.eu, "another-mesh"), "the newer mesh wrote in training-mesh's eu");
    CHECKF(t, !labelled_for(p.fc[0], "another-mesh"), "the newer mesh wrote in ap");
    CHECKF(t, fake_cluster_writes(p.fc[0]) == ap_writes, "writes in ap: %lu, before %lu",
           fake_cluster_writes(p.fc[0]), ap_writes);
    CHECKF(t, pw_settle(&p, tutorial_ready, NULL, T(20)), "training-mesh stopped working: %s",
           world_describe(&p.w));
    /* deleting the refused mesh waits for nothing */
    fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "another-mesh");
    CHECKF(t, pw_wait(&p, other_gone, NULL, T(20)), "the refused mesh's deletion is stuck");
    CHECKF(t, !labelled_for(p.w.eu, "another-mesh") && fake_cluster_writes(p.fc[0]) == ap_writes,
           "its deletion cleaned (wrote) somewhere");
    pw_free(&p);
}

/* ap's gateway is training-mesh's (another-mesh's cacerts stays: cacerts is retained when
 * a member leaves, and training-mesh reports it as foreign) */
static int ap_is_training_meshs(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *d = fake_cluster_get(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
    const cJSON *mesh =
        cJSON_GetObjectItemCaseSensitive(world_at(d, "metadata.labels"), MESH_LABEL_MESH);
    int ok = cJSON_IsString(mesh) && strcmp(mesh->valuestring, "training-mesh") == 0;
    cJSON_Delete(d);
    return ok;
}

static int ap_is_another_meshs(struct pworld *p, void *ud)
{
    (void)ud;
    return labelled_for(p->fc[0], "another-mesh") &&
           present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME);
}

/* The newer mesh had ap first; then the older lists it too: the newer cleans what it wrote
 * there with its own connection and lets go, and only then does the older connect it. */
static void test_older_mesh_takes_over(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "ap");
    pw_add(&p, "sg");
    world_put_json(p.w.us, &MESH_RES_MESHNETWORKS,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
                   "\"metadata\":{\"name\":\"another-mesh\","
                   "\"creationTimestamp\":\"2999-01-01T00:00:00Z\"},"
                   "\"spec\":{\"meshID\":\"another-mesh\",\"trustDomain\":\"corp.local\","
                   "\"clusters\":[{\"name\":\"ap\",\"network\":\"ap-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"ap-kubeconfig\","
                   "\"key\":\"kubeconfig\"}},{\"name\":\"sg\",\"network\":\"sg-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"sg-kubeconfig\","
                   "\"key\":\"kubeconfig\"}}]}}");
    REQUIREF(t, pw_wait(&p, ap_is_another_meshs, NULL, T(20)), "another-mesh never wrote in ap");
    const char *extra[] = {"ap"};
    set_members(&p, extra, 1);
    CHECKF(t, pw_wait(&p, ap_is_training_meshs, NULL, T(30)),
           "ap did not pass from the newer mesh to the older one: %s", world_describe(&p.w));
    pw_free(&p);
}

static int eu2_refused(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = fake_cluster_get(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "another-mesh");
    char *s = cJSON_PrintUnformatted(world_at(mn, "status"));
    int ok = s && strstr(s, "ClusterInOtherMesh") &&
             strstr(s, "is cluster eu of MeshNetwork training-mesh");
    free(s);
    cJSON_Delete(mn);
    return ok;
}

/* One API server under another name in another mesh: refused too, nothing written there. */
static void test_same_server_other_name(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "sg");
    world_put_json(p.w.us, &MESH_RES_MESHNETWORKS,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
                   "\"metadata\":{\"name\":\"another-mesh\"},"
                   "\"spec\":{\"meshID\":\"another-mesh\",\"trustDomain\":\"corp.local\","
                   "\"clusters\":[{\"name\":\"eu2\",\"network\":\"eu-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"prod-eu-west-1\","
                   "\"key\":\"kubeconfig\"}},{\"name\":\"sg\",\"network\":\"sg-net\","
                   "\"kubeconfigSecretRef\":{\"name\":\"sg-kubeconfig\","
                   "\"key\":\"kubeconfig\"}}]}}");
    CHECKF(t, pw_wait(&p, eu2_refused, NULL, T(20)),
           "eu's server under the name eu2 was not refused for another-mesh");
    CHECKF(t, !labelled_for(p.w.eu, "another-mesh"), "another-mesh wrote in eu");
    CHECKF(t, pw_settle(&p, tutorial_ready, NULL, T(20)), "training-mesh stopped working: %s",
           world_describe(&p.w));
    pw_free(&p);
}

static int refused_both(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    char *s = cJSON_PrintUnformatted(world_at(mn, "status"));
    int ok = s && strstr(s, "KubeconfigRefused") && strstr(s, "users[\\\"u\\\"].user.tokenFile") &&
             strstr(s, "users[\\\"u\\\"].user.exec") &&
             strstr(s, "Secret eastwest-system/tok-kubeconfig");
    free(s);
    cJSON_Delete(mn);
    return ok;
}

static void put_kubeconfig(struct pworld *p, const char *name, const char *user)
{
    struct strbuf kc = STRBUF_INIT, b64 = STRBUF_INIT, json = STRBUF_INIT;
    strbuf_addf(&kc,
                "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                "clusters: [{name: c, cluster: {server: https://ap.fake.test}}]\n"
                "users: [{name: u, user: %s}]\n"
                "contexts: [{name: c, context: {cluster: c, user: u}}]\n",
                user);
    base64_encode(&b64, kc.buf, kc.len);
    strbuf_addf(&json,
                "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"" WORLD_NAMESPACE "\"},"
                "\"data\":{\"kubeconfig\":\"%s\"}}",
                name, b64.buf);
    world_put_json(p->w.us, &KUBE_RES_SECRETS, json.buf);
    strbuf_release(&kc);
    strbuf_release(&b64);
    strbuf_release(&json);
}

static int mesh_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
}

static void test_member_secret_refused(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    pw_add(&p, "ap");
    unsigned long ap_writes = extra_writes(&p);
    put_kubeconfig(&p, "tok-kubeconfig",
                   "{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}");
    put_kubeconfig(&p, "exec-kubeconfig",
                   "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}}");
    cJSON *mn = get_mesh(&p);
    cJSON *list = world_at(mn, "spec.clusters")
                      ? cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(mn, "spec"), "clusters")
                      : NULL;
    REQUIRE(t, list != NULL);
    cJSON_AddItemToArray(list, cJSON_Parse("{\"name\":\"tok\",\"network\":\"tok\","
                                           "\"kubeconfigSecretRef\":{\"name\":\"tok-kubeconfig\","
                                           "\"key\":\"kubeconfig\"}}"));
    cJSON_AddItemToArray(list, cJSON_Parse("{\"name\":\"ex\",\"network\":\"ex\","
                                           "\"kubeconfigSecretRef\":{\"name\":\"exec-kubeconfig\","
                                           "\"key\":\"kubeconfig\"}}"));
    put_spec_change(p.w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    CHECKF(t, pw_wait(&p, refused_both, NULL, T(20)),
           "tokenFile and exec not refused naming the Secret and the field");
    CHECKF(t, mesh_events(&p, "KubeconfigRefused", NULL) >= 1, "no KubeconfigRefused Event");
    CHECKF(t, extra_writes(&p) == ap_writes, "a refused member was written to");
    /* deleting the mesh: us and eu are cleaned; the refused members, never connected,
     * wait until their Secrets are fixed or deleted (CleanupAbandoned) */
    fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
    fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "tok-kubeconfig");
    fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "exec-kubeconfig");
    CHECKF(t, pw_wait(&p, mesh_gone, NULL, T(20)), "the mesh's deletion is stuck: %s",
           world_describe(&p.w));
    CHECKF(t, events_about(&p, NULL, "MeshNetwork", "training-mesh", "CleanupAbandoned", NULL) >= 2,
           "no CleanupAbandoned Events for the two members without a Secret");
    pw_free(&p);
}

static const struct test_case cases[] = {
    {"server_change_relists", test_server_change_relists},
    {"server_userinfo_redacted", test_server_userinfo_redacted},
    {"two_meshes_one_cluster_name", test_two_meshes_one_cluster_name},
    {"member_secret_refused", test_member_secret_refused},
    {"older_mesh_takes_over", test_older_mesh_takes_over},
    {"same_server_other_name", test_same_server_other_name},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
