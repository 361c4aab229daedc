/*
 * test_kube_integration.c: lib/kube against real kube-apiserver + etcd.
 *
 * Needs the clusters of hack/cluster.sh (us, eu): RBAC on, Istio's CRDs
 * installed, watch cache off for ConfigMaps (so an etcd compaction expires
 * old resourceVersions). Each test works in a namespace of its own.
 */
#include "cluster_env.h"
#include "base/base64.h"
#include "base/timeutil.h"
#include "kube/kubeconfig.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cJSON *make_configmap(const char *name, const char *key, const char *value)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "metadata"), "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), key, value);
    return cm;
}

static const char *meta(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *data_value(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "data"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void delete_namespace(struct kube_client *c, const char *ns)
{
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
}

/* ---- CRUD ---- */

static void configmap_crud_on(struct test_ctx *t, const char *cluster)
{
    struct kube_client *c = cluster_admin(t, cluster);
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-crud", ns, sizeof(ns));

    cJSON *cm = make_configmap("one", "k", "v1"), *got = NULL, *out = NULL;
    kube_code rc = kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "create: %s", err.message);
    CHECK_STR(t, data_value(out, "k"), "v1");
    cJSON_Delete(out);
    rc = kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err);
    CHECKF(t, rc == KUBE_E_ALREADY_EXISTS, "second create: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "already exists");
    cJSON_Delete(cm);

    rc = kube_get(c, &KUBE_RES_CONFIGMAPS, ns, "one", &got, &err);
    REQUIREF(t, rc == KUBE_OK, "get: %s", err.message);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(got, "data"), "k", cJSON_CreateString("v2"));
    rc = kube_update(c, &KUBE_RES_CONFIGMAPS, ns, "one", got, NULL, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "update: %s", err.message);
    CHECK_STR(t, data_value(out, "k"), "v2");
    char *uid = strdup(meta(out, "uid"));
    cJSON_Delete(out);
    cJSON_Delete(got);

    const char *merge = "{\"data\":{\"m\":\"merged\"}}";
    struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, NULL};
    rc = kube_patch(c, &KUBE_RES_CONFIGMAPS, ns, "one", merge, strlen(merge), &po, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "merge patch: %s", err.message);
    CHECK_STR(t, data_value(out, "m"), "merged");
    cJSON_Delete(out);
    const char *jp = "[{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"v3\"}]";
    po.type = KUBE_PATCH_JSON;
    rc = kube_patch(c, &KUBE_RES_CONFIGMAPS, ns, "one", jp, strlen(jp), &po, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "json patch: %s", err.message);
    CHECK_STR(t, data_value(out, "k"), "v3");
    cJSON_Delete(out);

    struct kube_delete_options wrong = {"00000000-0000-0000-0000-000000000000", NULL, NULL};
    rc = kube_delete(c, &KUBE_RES_CONFIGMAPS, ns, "one", &wrong, &err);
    CHECKF(t, rc == KUBE_E_CONFLICT, "delete with wrong uid precondition: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "does not match the UID in record");
    struct kube_delete_options right = {uid, NULL, NULL};
    rc = kube_delete(c, &KUBE_RES_CONFIGMAPS, ns, "one", &right, &err);
    CHECKF(t, rc == KUBE_OK, "delete: %s", err.message);
    rc = kube_get(c, &KUBE_RES_CONFIGMAPS, ns, "one", &got, &err);
    CHECKF(t, rc == KUBE_E_NOT_FOUND, "get after delete: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "not found");
    free(uid);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

static void test_configmap_crud_us(struct test_ctx *t)
{
    configmap_crud_on(t, "us");
}

static void test_configmap_crud_eu(struct test_ctx *t)
{
    configmap_crud_on(t, "eu");
}

static const struct kube_resource SERVICEENTRIES = {"networking.istio.io", "v1", "serviceentries",
                                                    1};

static cJSON *make_service_entry(const char *name, const char *address, const char *resolution)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"ServiceEntry\","
             "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"hosts\":[\"echo.eu.mesh.local\"],"
             "\"addresses\":[\"%s\"],\"ports\":[{\"number\":80,\"name\":\"http\","
             "\"protocol\":\"HTTP\"}],\"location\":\"MESH_INTERNAL\",\"resolution\":\"%s\","
             "\"endpoints\":[{\"address\":\"203.0.113.10\",\"ports\":{\"http\":15443},"
             "\"locality\":\"eu-west-1\"}]}}",
             name, address, resolution);
    return cJSON_Parse(buf);
}

static void test_service_entry_crud(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-se", ns, sizeof(ns));

    cJSON *se = make_service_entry("echo", "240.0.0.2", "STATIC"), *out = NULL;
    kube_code rc = kube_create(c, &SERVICEENTRIES, ns, se, NULL, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "create ServiceEntry: %s", err.message);
    cJSON_Delete(se);
    cJSON *spec = cJSON_GetObjectItem(out, "spec");
    cJSON_ReplaceItemInObject(spec, "resolution", cJSON_CreateString("DNS"));
    cJSON *updated = NULL;
    rc = kube_update(c, &SERVICEENTRIES, ns, "echo", out, NULL, &updated, &err);
    CHECKF(t, rc == KUBE_OK, "update ServiceEntry: %s", err.message);
    cJSON_Delete(out);
    cJSON_Delete(updated);
    rc = kube_get(c, &SERVICEENTRIES, ns, "echo", &out, &err);
    CHECKF(t, rc == KUBE_OK, "get ServiceEntry: %s", err.message);
    CHECK_STR(t, cJSON_GetObjectItem(cJSON_GetObjectItem(out, "spec"), "resolution")->valuestring,
              "DNS");
    cJSON_Delete(out);

    /* The tutorial's mistake: a CIDR with DNS resolution. Istio's CRD refuses it. */
    cJSON *bad = make_service_entry("bad", "240.0.0.2/32", "DNS");
    rc = kube_create(c, &SERVICEENTRIES, ns, bad, NULL, NULL, &err);
    cJSON_Delete(bad);
    CHECKF(t, rc == KUBE_E_INVALID, "invalid ServiceEntry: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "CIDR addresses are allowed only for NONE/STATIC resolution");
    CHECK(t, err.http_status == 422);

    rc = kube_delete(c, &SERVICEENTRIES, ns, "echo", NULL, &err);
    CHECKF(t, rc == KUBE_OK, "delete ServiceEntry: %s", err.message);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

static void test_stale_update_conflict(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-stale", ns, sizeof(ns));
    cJSON *cm = make_configmap("c", "k", "a"), *v1 = NULL, *v2 = NULL;
    REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &v1, &err) == KUBE_OK);
    cJSON_Delete(cm);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v1, "data"), "k", cJSON_CreateString("b"));
    REQUIRE(t, kube_update(c, &KUBE_RES_CONFIGMAPS, ns, "c", v1, NULL, &v2, &err) == KUBE_OK);
    /* v1 still carries the old resourceVersion */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v1, "data"), "k", cJSON_CreateString("c"));
    kube_code rc = kube_update(c, &KUBE_RES_CONFIGMAPS, ns, "c", v1, NULL, NULL, &err);
    CHECKF(t, rc == KUBE_E_CONFLICT, "stale update: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "the object has been modified");
    CHECK(t, err.http_status == 409);
    cJSON_Delete(v1);
    cJSON_Delete(v2);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

static void test_server_side_apply_conflict(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-ssa", ns, sizeof(ns));
    cJSON *a = make_configmap("applied", "owner", "first"), *out = NULL;
    kube_code rc = kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, a, "manager-one", 0, &out, &err);
    REQUIREF(t, rc == KUBE_OK, "apply: %s", err.message);
    cJSON_Delete(out);
    cJSON *b = make_configmap("applied", "owner", "second");
    rc = kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, b, "manager-two", 0, NULL, &err);
    CHECKF(t, rc == KUBE_E_CONFLICT, "apply without force: %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "conflict");
    CHECK_CONTAINS(t, err.message, "manager-one");
    rc = kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, b, "manager-two", 1, &out, &err);
    CHECKF(t, rc == KUBE_OK, "apply with force: %s", err.message);
    CHECK_STR(t, data_value(out, "owner"), "second");
    cJSON_Delete(out);
    /* applying the same again changes nothing: same resourceVersion */
    cJSON *again = NULL, *again2 = NULL;
    REQUIRE(t,
            kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, b, "manager-two", 1, &again, &err) == KUBE_OK);
    REQUIRE(t,
            kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, b, "manager-two", 1, &again2, &err) == KUBE_OK);
    CHECK_STR(t, meta(again, "resourceVersion"), meta(again2, "resourceVersion"));
    cJSON_Delete(again);
    cJSON_Delete(again2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

/* The /status subresource: a test plays the cloud by writing a LoadBalancer address. */
static void test_status_subresource(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-status", ns, sizeof(ns));
    cJSON *svc = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
                             "\"name\":\"gw\"},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":"
                             "[{\"name\":\"tls\",\"port\":15443}]}}");
    cJSON *out = NULL;
    REQUIREF(t, kube_create(c, &KUBE_RES_SERVICES, ns, svc, NULL, &out, &err) == KUBE_OK, "%s",
             err.message);
    cJSON_Delete(svc);
    /* a spec change through /status is ignored; the status change is kept */
    const char *patch = "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
                        "\"203.0.113.10\",\"ipMode\":\"VIP\"},{\"hostname\":\"gw.elb.example\"}]}},"
                        "\"spec\":{\"type\":\"NodePort\"}}";
    struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, "status"};
    cJSON *patched = NULL;
    REQUIREF(t,
             kube_patch(c, &KUBE_RES_SERVICES, ns, "gw", patch, strlen(patch), &po, &patched,
                        &err) == KUBE_OK,
             "%s", err.message);
    cJSON *got = NULL;
    REQUIRE(t, kube_get(c, &KUBE_RES_SERVICES, ns, "gw", &got, &err) == KUBE_OK);
    const cJSON *ingress = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(got, "status"), "loadBalancer"), "ingress");
    CHECK(t, cJSON_GetArraySize(ingress) == 2);
    CHECK_STR(t, cJSON_GetObjectItem(cJSON_GetArrayItem(ingress, 0), "ip")->valuestring,
              "203.0.113.10");
    CHECK_STR(t, cJSON_GetObjectItem(cJSON_GetObjectItem(got, "spec"), "type")->valuestring,
              "LoadBalancer");
    /* PUT to /status with the current object */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(got, "status"), "loadBalancer",
                              cJSON_CreateObject());
    struct kube_write_options wo = {.subresource = "status"};
    cJSON *updated = NULL;
    REQUIREF(t, kube_update(c, &KUBE_RES_SERVICES, ns, "gw", got, &wo, &updated, &err) == KUBE_OK,
             "%s", err.message);
    CHECK(t, cJSON_GetArraySize(cJSON_GetObjectItem(
                 cJSON_GetObjectItem(cJSON_GetObjectItem(updated, "status"), "loadBalancer"),
                 "ingress")) == 0);
    cJSON_Delete(out);
    cJSON_Delete(patched);
    cJSON_Delete(got);
    cJSON_Delete(updated);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

/* ---- watches ---- */

struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char log[8192];
    int events;
    int bookmarks;
    int done;
    kube_code code;
    char message[1024];
};

static void recorder_init(struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
}

static void recorder_destroy(struct recorder *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
}

static int record_event(void *ud, struct kube_watch_event *ev)
{
    struct recorder *r = ud;
    pthread_mutex_lock(&r->mu);
    if (ev->type == KUBE_EVENT_BOOKMARK) {
        r->bookmarks++;
    } else {
        size_t n = strlen(r->log);
        const char *name = meta(ev->object, "name");
        snprintf(r->log + n, sizeof(r->log) - n, "%s %s;", kube_event_type_name(ev->type),
                 name ? name : "?");
        r->events++;
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void record_done(void *ud, kube_code code, const struct kube_error *err)
{
    struct recorder *r = ud;
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    r->code = code;
    if (err && err->message)
        snprintf(r->message, sizeof(r->message), "%s", err->message);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* Wait until pred holds (checked under the lock) or the timeout passes. */
static int recorder_wait(struct recorder *r, int (*pred)(struct recorder *), double timeout)
{
    double end = ew_now_mono() + timeout;
    pthread_mutex_lock(&r->mu);
    while (!pred(r) && ew_now_mono() < end) {
        pthread_mutex_unlock(&r->mu);
        ew_sleep(0.02);
        pthread_mutex_lock(&r->mu);
    }
    int ok = pred(r);
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static int three_events(struct recorder *r)
{
    return r->events >= 3;
}

static int is_done(struct recorder *r)
{
    return r->done;
}

static void test_watch_order_and_bookmark(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-watch", ns, sizeof(ns));
    /* Secrets go through the watch cache, which sends bookmarks. */
    cJSON *items = NULL;
    char *rv = NULL;
    REQUIRE(t, kube_list(c, &KUBE_RES_SECRETS, ns, NULL, &items, &rv, &err) == KUBE_OK);
    cJSON_Delete(items);
    struct recorder r;
    recorder_init(&r);
    struct kube_watch_options wo = {rv, NULL, NULL, 1, 8, 0};
    struct kube_watch *w = NULL;
    kube_code rc =
        kube_watch_start(c, &KUBE_RES_SECRETS, ns, &wo, record_event, record_done, &r, &w, &err);
    REQUIREF(t, rc == KUBE_OK, "watch: %s", err.message);
    free(rv);
    cJSON *s = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":"
                           "\"w1\"},\"stringData\":{\"a\":\"1\"}}");
    cJSON *out = NULL;
    REQUIRE(t, kube_create(c, &KUBE_RES_SECRETS, ns, s, NULL, &out, &err) == KUBE_OK);
    const char *merge = "{\"stringData\":{\"a\":\"2\"}}";
    struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, NULL};
    REQUIRE(t, kube_patch(c, &KUBE_RES_SECRETS, ns, "w1", merge, strlen(merge), &po, NULL, &err) ==
                   KUBE_OK);
    REQUIRE(t, kube_delete(c, &KUBE_RES_SECRETS, ns, "w1", NULL, &err) == KUBE_OK);
    CHECK(t, recorder_wait(&r, three_events, 10));
    CHECK_STR(t, r.log, "ADDED w1;MODIFIED w1;DELETED w1;");
    /* timeoutSeconds=8: the server sends a bookmark before it closes the stream. */
    CHECK(t, recorder_wait(&r, is_done, 20));
    CHECKF(t, r.code == KUBE_OK, "watch ended with %s: %s", kube_code_name(r.code), r.message);
    CHECKF(t, r.bookmarks >= 1, "bookmarks received: %d", r.bookmarks);
    kube_watch_stop(w);
    recorder_destroy(&r);
    cJSON_Delete(s);
    cJSON_Delete(out);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

static void test_watch_expired_after_compaction(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-compact", ns, sizeof(ns));
    cJSON *cm = make_configmap("old", "k", "0"), *out = NULL;
    REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &out, &err) == KUBE_OK);
    char *old_rv = strdup(meta(out, "resourceVersion"));
    cJSON_Delete(out);
    for (int i = 0; i < 5; i++) {
        char patch[64];
        snprintf(patch, sizeof(patch), "{\"data\":{\"k\":\"%d\"}}", i + 1);
        struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, NULL};
        REQUIRE(t, kube_patch(c, &KUBE_RES_CONFIGMAPS, ns, "old", patch, strlen(patch), &po, NULL,
                              &err) == KUBE_OK);
    }
    REQUIREF(t, cluster_cmd("compact eu") == 0, "hack/cluster.sh compact eu failed");
    struct recorder r;
    recorder_init(&r);
    struct kube_watch_options wo = {old_rv, NULL, NULL, 1, 30, 0};
    struct kube_watch *w = NULL;
    REQUIRE(t, kube_watch_start(c, &KUBE_RES_CONFIGMAPS, ns, &wo, record_event, record_done, &r, &w,
                                &err) == KUBE_OK);
    CHECK(t, recorder_wait(&r, is_done, 20));
    CHECKF(t, r.code == KUBE_E_GONE, "watch from a compacted resourceVersion ended with %s: %s",
           kube_code_name(r.code), r.message);
    CHECK_CONTAINS(t, r.message, "too old");
    kube_watch_stop(w);
    recorder_destroy(&r);
    free(old_rv);
    cJSON_Delete(cm);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

/* ---- paging ---- */

static void test_list_paging(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-page", ns, sizeof(ns));
    for (int i = 0; i < 25; i++) {
        char name[32];
        snprintf(name, sizeof(name), "cm-%02d", i);
        cJSON *cm = make_configmap(name, "i", name);
        cJSON_AddStringToObject(
            cJSON_AddObjectToObject(cJSON_GetObjectItem(cm, "metadata"), "labels"), "paged", "yes");
        REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
        cJSON_Delete(cm);
    }
    struct kube_list_options lo = {"paged=yes", NULL, 10, NULL, NULL};
    struct kube_list_page page;
    REQUIRE(t, kube_list_page(c, &KUBE_RES_CONFIGMAPS, ns, &lo, &page, &err) == KUBE_OK);
    CHECK(t, cJSON_GetArraySize(page.items) == 10);
    CHECK(t, page.continue_token != NULL);
    kube_list_page_release(&page);

    cJSON *items = NULL;
    char *rv = NULL;
    struct kube_client_stats before, after;
    kube_client_get_stats(c, &before);
    REQUIRE(t, kube_list(c, &KUBE_RES_CONFIGMAPS, ns, &lo, &items, &rv, &err) == KUBE_OK);
    kube_client_get_stats(c, &after);
    CHECKF(t, cJSON_GetArraySize(items) == 25, "items: %d", cJSON_GetArraySize(items));
    CHECKF(t, after.by_verb[KUBE_VERB_LIST] - before.by_verb[KUBE_VERB_LIST] == 3,
           "pages requested: %lu", after.by_verb[KUBE_VERB_LIST] - before.by_verb[KUBE_VERB_LIST]);
    CHECK(t, rv && *rv);
    CHECK_STR(t, meta(cJSON_GetArrayItem(items, 0), "name"), "cm-00");
    CHECK_STR(t, meta(cJSON_GetArrayItem(items, 24), "name"), "cm-24");
    cJSON_Delete(items);
    free(rv);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

/* ---- authentication ---- */

/* A kubeconfig for the cluster's server and CA with the given user section. */
static char *kubeconfig_with_user(struct test_ctx *t, const char *cluster, const char *user_yaml)
{
    struct kube_rest_config admin;
    cluster_admin_config(t, cluster, &admin);
    struct strbuf ca = STRBUF_INIT, doc = STRBUF_INIT;
    base64_encode(&ca, admin.ca.data, admin.ca.len);
    strbuf_addf(&doc,
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                "    server: %s\n    certificate-authority-data: %s\n"
                "users:\n- name: u\n  user:\n%s\n"
                "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
                "current-context: ctx\n",
                admin.server, ca.buf, user_yaml);
    strbuf_release(&ca);
    kube_rest_config_free(&admin);
    return strbuf_detach(&doc, NULL);
}

static struct kube_client *client_from_yaml(struct test_ctx *t, const char *yaml)
{
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    struct kube_client *c = NULL;
    kube_code rc =
        kube_config_from_memory(yaml, strlen(yaml), "test kubeconfig", "/tmp", NULL, &cfg, &err);
    REQUIREF(t, rc == KUBE_OK, "kubeconfig: %s", err.message);
    rc = kube_client_new(&cfg, NULL, &c, &err);
    kube_rest_config_free(&cfg);
    REQUIREF(t, rc == KUBE_OK, "client: %s", err.message);
    return c;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void test_exec_plugin_user(struct test_ctx *t)
{
    struct kube_client *admin = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64], dir[] = "/tmp/ew-exec-XXXXXX", script[256], counter[256], info[256];
    cluster_make_namespace(t, admin, "ew-exec", ns, sizeof(ns));
    char *token = cluster_sa_token(t, admin, ns, "exec-user");
    REQUIRE(t, mkdtemp(dir) != NULL);
    snprintf(script, sizeof(script), "%s/plugin.sh", dir);
    snprintf(counter, sizeof(counter), "%s/calls", dir);
    snprintf(info, sizeof(info), "%s/info", dir);
    /* First call hands out a bad token (the server answers 401), later calls the good one:
     * proves re-exec on 401; the counter proves caching until expiry. */
    struct strbuf sh = STRBUF_INIT;
    strbuf_addf(
        &sh, "#!/bin/sh\n"
             "echo call >> \"$1\"\n"
             "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > \"$2\"\n"
             "tok=\"$GOOD_TOKEN\"\n"
             "[ \"$(wc -l < \"$1\")\" -eq 1 ] && tok=bogus-token\n"
             "cat <<JSON\n"
             "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"$tok\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}\n"
             "JSON\n");
    write_file(t, script, sh.buf);
    strbuf_release(&sh);
    struct strbuf user = STRBUF_INIT;
    strbuf_addf(&user,
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                "      command: %s\n      args: [\"%s\", \"%s\"]\n"
                "      env: [{name: GOOD_TOKEN, value: \"%s\"}]\n"
                "      provideClusterInfo: true\n      interactiveMode: Never",
                script, counter, info, token);
    char *yaml = kubeconfig_with_user(t, "us", user.buf);
    strbuf_release(&user);
    struct kube_client *c = client_from_yaml(t, yaml);
    char *who = cluster_whoami(c, NULL, &err);
    CHECKF(t, who != NULL, "whoami: %s", err.message);
    char want[256];
    snprintf(want, sizeof(want), "system:serviceaccount:%s:exec-user", ns);
    CHECK_STR(t, who, want);
    free(who);
    for (int i = 0; i < 3; i++) {
        who = cluster_whoami(c, NULL, &err);
        CHECK(t, who != NULL);
        free(who);
    }
    CHECKF(t, count_lines(counter) == 2, "plugin runs: %d (want 2: bad token, then cached good)",
           count_lines(counter));
    struct strbuf got = STRBUF_INIT;
    FILE *f = fopen(info, "r");
    char line[4096] = "";
    if (f) {
        if (!fgets(line, sizeof(line), f))
            line[0] = '\0';
        fclose(f);
    }
    CHECK_CONTAINS(t, line, "\"interactive\":false");
    CHECK_CONTAINS(t, line, "\"server\":\"https://127.0.0.1:");
    strbuf_release(&got);
    kube_client_free(c);
    free(yaml);
    free(token);
    kube_error_clear(&err);
    delete_namespace(admin, ns);
    kube_client_free(admin);
    remove_tree(dir);
}

static void test_token_file_rotation(struct test_ctx *t)
{
    struct kube_client *admin = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64], dir[] = "/tmp/ew-tokfile-XXXXXX", path[256];
    cluster_make_namespace(t, admin, "ew-tokfile", ns, sizeof(ns));
    char *ta = cluster_sa_token(t, admin, ns, "first");
    char *tb = cluster_sa_token(t, admin, ns, "second");
    REQUIRE(t, mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/token", dir);
    write_file(t, path, ta);
    struct strbuf user = STRBUF_INIT;
    strbuf_addf(&user, "    tokenFile: %s", path);
    char *yaml = kubeconfig_with_user(t, "eu", user.buf);
    strbuf_release(&user);
    struct kube_client *c = client_from_yaml(t, yaml);
    char want[256], *who = cluster_whoami(c, NULL, &err);
    snprintf(want, sizeof(want), "system:serviceaccount:%s:first", ns);
    CHECK_STR(t, who, want);
    free(who);
    write_file(t, path, tb); /* rotated on disk, as the kubelet does */
    who = cluster_whoami(c, NULL, &err);
    snprintf(want, sizeof(want), "system:serviceaccount:%s:second", ns);
    CHECK_STR(t, who, want);
    free(who);
    kube_client_free(c);
    free(yaml);
    free(ta);
    free(tb);
    kube_error_clear(&err);
    delete_namespace(admin, ns);
    kube_client_free(admin);
    remove_tree(dir);
}

/* Mint a client certificate signed by the cluster's CA with the openssl CLI. */
static void mint_client_cert(struct test_ctx *t, const char *cluster, const char *dir,
                             const char *cn, const char *org)
{
    char cdir[1024];
    struct strbuf cmd = STRBUF_INIT;
    cluster_dir(t, cluster, cdir, sizeof(cdir));
    strbuf_addf(&cmd,
                "set -e; cd %s; openssl ecparam -name prime256v1 -genkey -noout -out key.pem;"
                "openssl req -new -key key.pem -subj '/O=%s/CN=%s' -out csr.pem;"
                "openssl x509 -req -in csr.pem -CA %s/ca.crt -CAkey %s/ca.key -CAcreateserial "
                "-days 1 -out cert.pem 2>/dev/null",
                dir, org, cn, cdir, cdir);
    int rc = system(cmd.buf);
    strbuf_release(&cmd);
    REQUIREF(t, rc == 0, "minting a client certificate failed");
}

static void test_client_certificate_user(struct test_ctx *t)
{
    char dir[] = "/tmp/ew-cert-XXXXXX", certp[256], keyp[256];
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIRE(t, mkdtemp(dir) != NULL);
    mint_client_cert(t, "us", dir, "ew-cert-user", "ew-testers");
    snprintf(certp, sizeof(certp), "%s/cert.pem", dir);
    snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
    struct strbuf user = STRBUF_INIT;
    strbuf_addf(&user, "    client-certificate: %s\n    client-key: %s", certp, keyp);
    char *yaml = kubeconfig_with_user(t, "us", user.buf);
    strbuf_release(&user);
    struct kube_client *c = client_from_yaml(t, yaml);
    char *groups = NULL, *who = cluster_whoami(c, &groups, &err);
    CHECKF(t, who != NULL, "whoami: %s", err.message);
    CHECK_STR(t, who, "ew-cert-user");
    CHECK_CONTAINS(t, groups, "ew-testers");
    /* authenticated but not authorised: a typed Forbidden naming the verb and resource */
    cJSON *items = NULL;
    kube_code rc = kube_list(c, &KUBE_RES_SECRETS, "default", NULL, &items, NULL, &err);
    CHECKF(t, rc == KUBE_E_FORBIDDEN, "list secrets as an unprivileged user: %s",
           kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "cannot list resource \"secrets\"");
    free(who);
    free(groups);
    free(yaml);
    kube_error_clear(&err);
    kube_client_free(c);
    remove_tree(dir);
}

static void test_bad_token_unauthorized(struct test_ctx *t)
{
    struct kube_error err = KUBE_ERROR_INIT;
    char *yaml = kubeconfig_with_user(t, "eu", "    token: not-a-valid-token");
    struct kube_client *c = client_from_yaml(t, yaml);
    cJSON *out = NULL;
    kube_code rc = kube_get(c, &KUBE_RES_NAMESPACES, NULL, "default", &out, &err);
    CHECKF(t, rc == KUBE_E_UNAUTHORIZED, "bad token: %s", kube_code_name(rc));
    CHECK(t, err.http_status == 401);
    CHECK(t, err.message && !strstr(err.message, "not-a-valid-token"));
    free(yaml);
    kube_error_clear(&err);
    kube_client_free(c);
}

static void test_wrong_ca_refused(struct test_ctx *t)
{
    char dir[] = "/tmp/ew-ca-XXXXXX", cmd[1024], path[256];
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIRE(t, mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout k.pem -out ca.pem -days 1 -subj '/CN=not-the-cluster-ca' "
             ">/dev/null 2>&1",
             dir);
    REQUIRE(t, system(cmd) == 0);
    struct kube_rest_config cfg;
    cluster_admin_config(t, "us", &cfg);
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    struct strbuf ca = STRBUF_INIT;
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&ca, buf, n);
    if (f)
        fclose(f);
    free(cfg.ca.data);
    cfg.ca.data = (unsigned char *)strbuf_detach(&ca, &cfg.ca.len);
    struct kube_client *c = NULL;
    REQUIRE(t, kube_client_new(&cfg, NULL, &c, &err) == KUBE_OK);
    kube_rest_config_free(&cfg);
    cJSON *out = NULL;
    kube_code rc = kube_get(c, &KUBE_RES_NAMESPACES, NULL, "default", &out, &err);
    CHECKF(t, rc == KUBE_E_TLS, "wrong CA: %s (%s)", kube_code_name(rc), err.message);
    CHECK_CONTAINS(t, err.message, "TLS");
    struct kube_client_stats st;
    kube_client_get_stats(c, &st);
    CHECKF(t, st.requests == 1 && st.requests_sent == 0,
           "requests attempted %lu, sent %lu: nothing may be sent before the server is verified",
           st.requests, st.requests_sent);
    kube_error_clear(&err);
    kube_client_free(c);
    remove_tree(dir);
}

/* ---- discovery ---- */

static void test_discovery(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    struct kube_group_versions gv;
    kube_code rc = kube_discover_group(c, "networking.istio.io", &gv, &err);
    REQUIREF(t, rc == KUBE_OK, "discovery: %s", err.message);
    int v1 = 0, v1beta1 = 0;
    for (size_t i = 0; i < gv.n; i++) {
        v1 |= strcmp(gv.versions[i], "v1") == 0;
        v1beta1 |= strcmp(gv.versions[i], "v1beta1") == 0;
    }
    CHECK(t, v1 && v1beta1);
    CHECK_STR(t, gv.preferred, "v1");
    kube_group_versions_release(&gv);
    rc = kube_discover_group(c, "no.such.group.example", &gv, &err);
    CHECKF(t, rc == KUBE_E_NOT_FOUND, "unknown group: %s", kube_code_name(rc));
    kube_group_versions_release(&gv);
    rc = kube_discover_group(c, "", &gv, &err);
    CHECK(t, rc == KUBE_OK && gv.n >= 1);
    kube_group_versions_release(&gv);
    kube_error_clear(&err);
    kube_client_free(c);
}

/* ---- many at once, few connections ---- */

struct getter {
    struct kube_client *c;
    const char *ns;
    int failures;
};

static void *get_many(void *arg)
{
    struct getter *g = arg;
    struct kube_error err = KUBE_ERROR_INIT;
    for (int i = 0; i < 50; i++) {
        cJSON *out = NULL;
        if (kube_get(g->c, &KUBE_RES_NAMESPACES, NULL, g->ns, &out, &err) != KUBE_OK)
            g->failures++;
        cJSON_Delete(out);
    }
    kube_error_clear(&err);
    return NULL;
}

/* TCP connections of this process to a port, from /proc. */
static int count_connections(int port)
{
    char path[512], link[512], line[512];
    int count = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    unsigned long inodes[1024];
    int ninodes = 0;
    while (d && (de = readdir(d)) != NULL && ninodes < 1024) {
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        unsigned long ino;
        if (sscanf(link, "socket:[%lu]", &ino) == 1)
            inodes[ninodes++] = ino;
    }
    if (d)
        closedir(d);
    FILE *f = fopen("/proc/net/tcp", "r");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned int rport, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x %*x:%*x %*x:%*x %*x %*d %*d %lu", &rport, &st,
                   &ino) != 3)
            continue;
        for (int i = 0; i < ninodes; i++)
            if (inodes[i] == ino && (int)rport == port && st == 1 /* ESTABLISHED */)
                count++;
    }
    if (f)
        fclose(f);
    return count;
}

static int server_port(struct test_ctx *t, const char *cluster)
{
    struct kube_rest_config cfg;
    cluster_admin_config(t, cluster, &cfg);
    const char *colon = strrchr(cfg.server, ':');
    int port = colon ? atoi(colon + 1) : 0;
    kube_rest_config_free(&cfg);
    return port;
}

static int nop_event(void *ud, struct kube_watch_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

static void nop_done(void *ud, kube_code code, const struct kube_error *err)
{
    (void)ud;
    (void)code;
    (void)err;
}

static void test_many_requests_few_connections(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-mux", ns, sizeof(ns));
    struct kube_watch *w[8];
    const struct kube_resource *res[4] = {&KUBE_RES_CONFIGMAPS, &KUBE_RES_SECRETS,
                                          &KUBE_RES_SERVICES, &KUBE_RES_PODS};
    for (int i = 0; i < 8; i++) {
        struct kube_watch_options wo = {NULL, NULL, NULL, 1, 60, 0};
        REQUIRE(t, kube_watch_start(c, res[i % 4], ns, &wo, nop_event, nop_done, NULL, &w[i],
                                    &err) == KUBE_OK);
    }
    pthread_t th[4];
    struct getter g[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (struct getter){c, ns, 0};
        pthread_create(&th[i], NULL, get_many, &g[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(t, g[i].failures == 0);
    }
    int conns = count_connections(server_port(t, "us"));
    CHECKF(t, conns >= 1 && conns <= 2,
           "8 watches and 200 requests used %d connections (HTTP/2 should need one)", conns);
    for (int i = 0; i < 8; i++)
        kube_watch_stop(w[i]);
    kube_error_clear(&err);
    delete_namespace(c, ns);
    kube_client_free(c);
}

static const struct test_case cases[] = {
    {"configmap_crud_us", test_configmap_crud_us},
    {"configmap_crud_eu", test_configmap_crud_eu},
    {"service_entry_crud_and_istio_validation", test_service_entry_crud},
    {"stale_update_conflict", test_stale_update_conflict},
    {"server_side_apply_conflict_and_force", test_server_side_apply_conflict},
    {"status_subresource", test_status_subresource},
    {"watch_order_and_bookmark", test_watch_order_and_bookmark},
    {"watch_expired_after_compaction", test_watch_expired_after_compaction},
    {"list_paging", test_list_paging},
    {"exec_plugin_user", test_exec_plugin_user},
    {"token_file_rotation", test_token_file_rotation},
    {"client_certificate_user_and_forbidden", test_client_certificate_user},
    {"bad_token_unauthorized", test_bad_token_unauthorized},
    {"wrong_ca_refused_before_request", test_wrong_ca_refused},
    {"discovery", test_discovery},
    {"many_requests_few_connections", test_many_requests_few_connections},
};

int main(int argc, char **argv)
{
    srand((unsigned)getpid());
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
