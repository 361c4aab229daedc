/*
 * test_fake_kube.c: test/fake_kube against its contract (fake_kube.h), through the real
 * client API (lib/kube/client.h) on a client made by fake_cluster_client: server-set
 * fields, 404/409 answers, merge patch and server-side apply, the status subresource,
 * finalizers, the namespace admission, selectors, watches (delivery thread, order,
 * replay from a resourceVersion, selector transitions, stop), discovery, the direct
 * functions and every fault kind.
 */
#include "harness.h"
#include "base/timeutil.h"
#include "fake_kube.h"
#include "runtime/status_write.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC_MAX 64

/* A serviceentries resource; versions differ on purpose: the store is group + plural. */
static const struct kube_resource fake_se = {"networking.istio.io", "v1", "serviceentries", 1};
static const struct kube_resource fake_se_beta = {"networking.istio.io", "v1beta1",
                                                  "serviceentries", 1};

struct env {
    struct fake_faults *faults;
    struct fake_cluster *fc;
    struct kube_client *c;
};

static cJSON *parsef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static cJSON *parsef(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return cJSON_Parse(buf);
}

static void put_namespace(struct fake_cluster *fc, const char *name)
{
    cJSON *ns = parsef(
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    fake_cluster_put(fc, &KUBE_RES_NAMESPACES, ns);
    cJSON_Delete(ns);
}

static struct env env_new(void)
{
    struct env e = {.faults = fake_faults_new()};
    e.fc = fake_cluster_new("us", e.faults);
    e.c = fake_cluster_client(e.fc);
    put_namespace(e.fc, "ns");
    put_namespace(e.fc, "other");
    return e;
}

static void env_free(struct env *e)
{
    kube_client_free(e->c);
    fake_cluster_free(e->fc);
    fake_faults_free(e->faults);
}

/* A ConfigMap in ns with data.k = value and the labels given as a JSON object body. */
static cJSON *cm(const char *ns, const char *name, const char *value, const char *labels)
{
    return parsef("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                  "\"namespace\":\"%s\",\"labels\":{%s}},\"data\":{\"k\":\"%s\"}}",
                  name, ns, labels ? labels : "", value);
}

static kube_code create_cm(struct env *e, const char *ns, const char *name, const char *labels,
                           cJSON **out, struct kube_error *err)
{
    cJSON *obj = cm(ns, name, "v", labels);
    kube_code rc = kube_create(e->c, &KUBE_RES_CONFIGMAPS, ns, obj, NULL, out, err);
    cJSON_Delete(obj);
    return rc;
}

static const char *meta(const cJSON *obj, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double generation(const cJSON *obj)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "generation");
    return cJSON_IsNumber(g) ? g->valuedouble : -1;
}

static const char *path_str(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static unsigned long rv_of(const cJSON *obj)
{
    const char *rv = meta(obj, "resourceVersion");
    return rv ? strtoul(rv, NULL, 10) : 0;
}

static kube_code merge(struct env *e, const struct kube_resource *r, const char *name,
                       const char *patch, const char *sub, cJSON **out, struct kube_error *err)
{
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE, .subresource = sub};
    return kube_patch(e->c, r, "ns", name, patch, strlen(patch), &po, out, err);
}

/* ---- a watch that records what it gets ---- */

struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t test_thread;
    int n;
    enum kube_event_type types[REC_MAX];
    cJSON *objs[REC_MAX]; /* taken from the events */
    int on_test_thread;   /* callbacks that ran on the caller's thread */
    int after_stop;       /* callbacks after kube_watch_stop returned */
    int stopped;
    int done;
    kube_code done_code;
    int stop_at; /* return non-zero from this event on (0 = never) */
    int slow_ms; /* sleep in each callback */
    int in_callback;
};

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->test_thread = pthread_self();
}

static void rec_release(struct rec *r)
{
    for (int i = 0; i < r->n; i++)
        cJSON_Delete(r->objs[i]);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

static int rec_event(void *ud, struct kube_watch_event *ev)
{
    struct rec *r = ud;
    pthread_mutex_lock(&r->mu);
    r->in_callback = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->slow_ms)
        usleep((useconds_t)r->slow_ms * 1000);
    pthread_mutex_lock(&r->mu);
    r->on_test_thread += pthread_equal(pthread_self(), r->test_thread) != 0;
    r->after_stop += r->stopped;
    if (r->n < REC_MAX) {
        r->types[r->n] = ev->type;
        r->objs[r->n++] = ev->object; /* the callback takes ownership */
        ev->object = NULL;
    }
    int stop = r->stop_at && r->n >= r->stop_at;
    r->in_callback = 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return stop;
}

static void rec_done(void *ud, kube_code code, const struct kube_error *err)
{
    struct rec *r = ud;
    pthread_mutex_lock(&r->mu);
    r->on_test_thread += pthread_equal(pthread_self(), r->test_thread) != 0;
    r->after_stop += r->stopped;
    r->done++;
    r->done_code = code;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Wait (at most 5 s) until *field reaches want; the value then. */
static int rec_wait(struct rec *r, const int *field, int want)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&r->mu);
    while (*field < want && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
        ;
    int v = *field;
    pthread_mutex_unlock(&r->mu);
    return v;
}

static struct kube_watch *watch(struct env *e, const struct kube_resource *res, const char *ns,
                                const struct kube_watch_options *o, struct rec *r)
{
    struct kube_watch *w = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = kube_watch_start(e->c, res, ns, o, rec_event, rec_done, r, &w, &err);
    kube_error_clear(&err);
    return rc == KUBE_OK ? w : NULL;
}

static void stop(struct rec *r, struct kube_watch *w)
{
    kube_watch_stop(w);
    pthread_mutex_lock(&r->mu);
    r->stopped = 1;
    pthread_mutex_unlock(&r->mu);
}

/* ---- server-set fields and answers ---- */

static void test_create_sets_server_fields(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *b = NULL, *got = NULL;
    cJSON *obj = cm("ns", "a", "v", NULL);
    cJSON_AddItemToObject(obj, "status", cJSON_Parse("{\"phase\":\"x\"}"));
    REQUIRE(t, kube_create(e.c, &KUBE_RES_CONFIGMAPS, "ns", obj, NULL, &a, &err) == KUBE_OK);
    cJSON_Delete(obj);
    REQUIRE(t, create_cm(&e, "ns", "b", NULL, &b, &err) == KUBE_OK);
    CHECK(t, meta(a, "uid") && strlen(meta(a, "uid")) == 36);
    CHECK(t, meta(b, "uid") && strcmp(meta(a, "uid"), meta(b, "uid")) != 0);
    CHECK(t, rv_of(a) > 0 && rv_of(b) > rv_of(a));
    CHECK(t, generation(a) == 1);
    CHECKF(t, !cJSON_GetObjectItemCaseSensitive(a, "status"), "create never writes status");
    time_t ta, tb;
    CHECK(t, ew_time_parse_rfc3339(meta(a, "creationTimestamp"), &ta) == 0);
    CHECK(t, ew_time_parse_rfc3339(meta(b, "creationTimestamp"), &tb) == 0);
    CHECK(t, tb >= ta && llabs((long long)(time(NULL) - ta)) < 60);
    CHECK(t, kube_get(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", &got, &err) == KUBE_OK);
    CHECK(t, cJSON_Compare(got, a, 1));
    cJSON_Delete(got);
    cJSON_Delete(a);
    cJSON_Delete(b);
    env_free(&e);
}

static void test_generate_name(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *obj = parsef("{\"metadata\":{\"generateName\":\"gen-\"},\"data\":{}}");
    cJSON *x = NULL, *y = NULL;
    CHECK(t, kube_create(e.c, &KUBE_RES_CONFIGMAPS, "ns", obj, NULL, &x, &err) == KUBE_OK);
    CHECK(t, kube_create(e.c, &KUBE_RES_CONFIGMAPS, "ns", obj, NULL, &y, &err) == KUBE_OK);
    REQUIRE(t, x && y && meta(x, "name") && meta(y, "name"));
    CHECK(t, strncmp(meta(x, "name"), "gen-", 4) == 0 && strlen(meta(x, "name")) == 9);
    CHECK(t, strcmp(meta(x, "name"), meta(y, "name")) != 0);
    cJSON_Delete(obj);
    obj = parsef("{\"metadata\":{},\"data\":{}}");
    CHECK(t, kube_create(e.c, &KUBE_RES_CONFIGMAPS, "ns", obj, NULL, NULL, &err) == KUBE_E_INVALID);
    CHECK(t, err.http_status == 422);
    cJSON_Delete(obj);
    cJSON_Delete(x);
    cJSON_Delete(y);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_already_exists(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, NULL, &err) == KUBE_OK);
    unsigned long writes = fake_cluster_writes(e.fc);
    CHECK(t, create_cm(&e, "ns", "a", NULL, NULL, &err) == KUBE_E_ALREADY_EXISTS);
    CHECK(t, err.http_status == 409);
    CHECK_STR(t, err.reason, "AlreadyExists");
    CHECK_CONTAINS(t, err.message, "configmaps");
    CHECK_CONTAINS(t, err.message, "\"a\"");
    CHECK(t, fake_cluster_writes(e.fc) == writes);
    CHECKF(t, create_cm(&e, "other", "a", NULL, NULL, &err) == KUBE_OK,
           "the same name in another namespace is another object");
    kube_error_clear(&err);
    env_free(&e);
}

static void check_not_found(struct test_ctx *t, kube_code rc, struct kube_error *err)
{
    CHECK(t, rc == KUBE_E_NOT_FOUND);
    CHECK(t, err->http_status == 404);
    CHECK_STR(t, err->reason, "NotFound");
    CHECK_CONTAINS(t, err->message, "missing");
    kube_error_clear(err);
}

static void test_missing_is_not_found(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *out = NULL, *obj = cm("ns", "missing", "v", NULL);
    check_not_found(t, kube_get(e.c, &KUBE_RES_CONFIGMAPS, "ns", "missing", &out, &err), &err);
    check_not_found(t, merge(&e, &KUBE_RES_CONFIGMAPS, "missing", "{}", NULL, &out, &err), &err);
    check_not_found(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "missing", NULL, &err), &err);
    check_not_found(
        t, kube_update(e.c, &KUBE_RES_CONFIGMAPS, "ns", "missing", obj, NULL, &out, &err), &err);
    CHECKF(t, out == NULL, "on failure *out is untouched");
    cJSON_Delete(obj);
    env_free(&e);
}

static void test_update_conflict(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *b = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, &a, &err) == KUBE_OK);
    cJSON *edit = cJSON_Duplicate(a, 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(edit, "data"), "k", cJSON_CreateString("w"));
    REQUIRE(t, kube_update(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", edit, NULL, &b, &err) == KUBE_OK);
    CHECK(t, rv_of(b) > rv_of(a));
    CHECK_STR(t, path_str(b, "data", "k"), "w");
    CHECK_STR(t, meta(b, "uid"), meta(a, "uid"));
    CHECKF(t, generation(b) == 2, "data changed: generation %g", generation(b));
    /* edit still carries a's resourceVersion: stale now */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(edit, "data"), "k", cJSON_CreateString("z"));
    CHECK(t, kube_update(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", edit, NULL, NULL, &err) ==
                 KUBE_E_CONFLICT);
    CHECK(t, err.http_status == 409);
    CHECK_STR(t, err.reason, "Conflict");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(edit, "metadata"), "resourceVersion");
    CHECKF(t, kube_update(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", edit, NULL, NULL, &err) == KUBE_OK,
           "no resourceVersion: an unconditional update");
    cJSON_Delete(edit);
    cJSON_Delete(a);
    cJSON_Delete(b);
    kube_error_clear(&err);
    env_free(&e);
}

/* ---- patches, apply, status ---- */

static void test_merge_patch(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *p = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", "\"x\":\"1\",\"y\":\"2\"", &a, &err) == KUBE_OK);
    const char *patch = "{\"metadata\":{\"labels\":{\"x\":null,\"z\":\"3\"}},"
                        "\"data\":{\"n\":{\"deep\":1}},\"status\":{\"phase\":\"no\"}}";
    REQUIRE(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", patch, NULL, &p, &err) == KUBE_OK);
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "labels");
    CHECK(t, !cJSON_GetObjectItem(labels, "x"));
    CHECK_STR(t, cJSON_GetStringValue(cJSON_GetObjectItem(labels, "y")), "2");
    CHECK_STR(t, cJSON_GetStringValue(cJSON_GetObjectItem(labels, "z")), "3");
    CHECK_STR(t, path_str(p, "data", "k"), "v");
    CHECK(t, cJSON_IsObject(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "data"), "n")));
    CHECKF(t, !cJSON_GetObjectItem(p, "status"), "the main resource never changes status");
    CHECK(t, generation(p) == 2);
    CHECK(t, rv_of(p) > rv_of(a));
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", "[1]", NULL, NULL, &err) == KUBE_E_BAD_REQUEST);
    cJSON_Delete(a);
    cJSON_Delete(p);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_status_subresource(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *s = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, &a, &err) == KUBE_OK);
    const char *patch = "{\"status\":{\"phase\":\"Ready\"},\"data\":{\"k\":\"ignored\"},"
                        "\"metadata\":{\"labels\":{\"ignored\":\"yes\"}}}";
    REQUIRE(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", patch, "status", &s, &err) == KUBE_OK);
    CHECK_STR(t, path_str(s, "status", "phase"), "Ready");
    CHECKF(t, strcmp(path_str(s, "data", "k"), "v") == 0, "status touches status only");
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "metadata"), "labels");
    CHECK(t, !cJSON_GetObjectItem(labels, "ignored"));
    CHECK(t, generation(s) == 1);
    CHECK(t, rv_of(s) > rv_of(a));
    cJSON_Delete(s);
    s = NULL;
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"w\"}}", NULL, &s, &err) ==
                 KUBE_OK);
    CHECKF(t, s && strcmp(path_str(s, "status", "phase"), "Ready") == 0,
           "a main write keeps status");
    cJSON_Delete(a);
    cJSON_Delete(s);
    kube_error_clear(&err);
    env_free(&e);
}

/* A write that changes nothing: no resourceVersion, no event, not counted. */
static void test_noop_write(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    cJSON *a = NULL, *p = NULL, *ap = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", "\"x\":\"1\"", &a, &err) == KUBE_OK);
    /* a manager's first apply records its ownership (managedFields): a real write */
    cJSON *first = NULL;
    REQUIRE(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "ns", a, "test", 1, &first, &err) == KUBE_OK);
    cJSON_Delete(a);
    a = first;
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, "ns", NULL, &r);
    REQUIRE(t, w);
    unsigned long writes = fake_cluster_writes(e.fc);
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"v\"}}", NULL, &p, &err) ==
                 KUBE_OK);
    CHECK(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "ns", a, "test", 1, &ap, &err) == KUBE_OK);
    CHECK(t, kube_update(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", a, NULL, NULL, &err) == KUBE_OK);
    CHECK(t, rv_of(p) == rv_of(a) && rv_of(ap) == rv_of(a));
    CHECK(t, fake_cluster_writes(e.fc) == writes);
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"w\"}}", NULL, NULL, &err) ==
                 KUBE_OK);
    CHECK(t, rec_wait(&r, &r.n, 1) == 1);
    CHECKF(t, r.n == 1 && r.types[0] == KUBE_EVENT_MODIFIED, "only the real change is seen");
    stop(&r, w);
    CHECK(t, fake_cluster_writes(e.fc) == writes + 1);
    cJSON_Delete(a);
    cJSON_Delete(p);
    cJSON_Delete(ap);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

/* Server-side apply's ownership of label keys: what a manager applied and then omits goes;
 * what another manager (or a plain write) set stays. eastwest drops the network label so. */
static void test_apply_ownership(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIRE(t, create_cm(&e, "ns", "o", "\"theirs\":\"1\"", NULL, &err) == KUBE_OK);
    cJSON *mine = cm("ns", "o", "v", "\"mine\":\"1\"");
    REQUIRE(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "ns", mine, "eastwest", 1, NULL, &err) ==
                   KUBE_OK);
    cJSON_Delete(mine);
    cJSON *got = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "o");
    CHECK_STR(t, path_str(cJSON_GetObjectItem(got, "metadata"), "labels", "mine"), "1");
    CHECK_STR(t, path_str(cJSON_GetObjectItem(got, "metadata"), "labels", "theirs"), "1");
    cJSON_Delete(got);
    cJSON *without = cm("ns", "o", "v", NULL);
    REQUIRE(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "ns", without, "eastwest", 1, NULL, &err) ==
                   KUBE_OK);
    cJSON *other = cm("ns", "o", "v", NULL);
    REQUIRE(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "ns", other, "someone-else", 1, NULL, &err) ==
                   KUBE_OK);
    cJSON_Delete(without);
    cJSON_Delete(other);
    got = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "o");
    CHECKF(t, !path_str(cJSON_GetObjectItem(got, "metadata"), "labels", "mine"),
           "the applying manager's omitted label is removed");
    CHECKF(t, path_str(cJSON_GetObjectItem(got, "metadata"), "labels", "theirs"),
           "a label set by a plain create stays");
    cJSON_Delete(got);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_apply(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *b = NULL;
    cJSON *obj = parsef("{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"ServiceEntry\","
                        "\"metadata\":{\"name\":\"se\",\"namespace\":\"ns\",\"labels\":{\"a\":"
                        "\"1\"},\"annotations\":{\"n\":\"1\"}},\"spec\":{\"hosts\":[\"h1\"]},"
                        "\"extra\":{\"keep\":true},\"status\":{\"x\":1}}");
    REQUIRE(t, kube_apply(e.c, &fake_se, "ns", obj, "test", 1, &a, &err) == KUBE_OK);
    CHECKF(t, generation(a) == 1 && meta(a, "uid"), "apply creates when absent");
    CHECK(t, !cJSON_GetObjectItem(a, "status"));
    cJSON_Delete(obj);
    obj = parsef("{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"ServiceEntry\","
                 "\"metadata\":{\"name\":\"se\",\"labels\":{\"b\":\"2\"}},"
                 "\"spec\":{\"ports\":[1]}}");
    REQUIRE(t, kube_apply(e.c, &fake_se_beta, "ns", obj, "test", 1, &b, &err) == KUBE_OK);
    const cJSON *spec = cJSON_GetObjectItem(b, "spec");
    CHECKF(t, !cJSON_GetObjectItem(spec, "hosts") && cJSON_GetObjectItem(spec, "ports"),
           "a named top-level field is replaced");
    CHECKF(t, cJSON_GetObjectItem(b, "extra") != NULL, "a field not named is kept");
    const cJSON *m = cJSON_GetObjectItem(b, "metadata");
    CHECK(t, !cJSON_GetObjectItem(cJSON_GetObjectItem(m, "labels"), "a"));
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(m, "labels"), "b"));
    CHECKF(t, !cJSON_GetObjectItem(cJSON_GetObjectItem(m, "annotations"), "n"),
           "an annotation the same manager applied before and omits now: removed (SSA)");
    CHECK_STR(t, meta(b, "uid"), meta(a, "uid"));
    CHECK_STR(t, meta(b, "creationTimestamp"), meta(a, "creationTimestamp"));
    CHECK(t, generation(b) == 2);
    cJSON_Delete(obj);
    cJSON_Delete(a);
    cJSON_Delete(b);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_apply_status(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *s = NULL;
    cJSON *obj = parsef("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                        "\"a\"},\"status\":{\"phase\":\"Ready\"}}");
    const char *body = cJSON_PrintUnformatted(obj);
    const struct kube_patch_options po = {
        .type = KUBE_PATCH_APPLY, .field_manager = "test", .subresource = "status"};
    CHECKF(t,
           kube_patch(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", body, strlen(body), &po, NULL, &err) ==
               KUBE_E_NOT_FOUND,
           "status apply does not create");
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, NULL, &err) == KUBE_OK);
    REQUIRE(t, kube_patch(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", body, strlen(body), &po, &s,
                          &err) == KUBE_OK);
    CHECK_STR(t, path_str(s, "status", "phase"), "Ready");
    CHECK_STR(t, path_str(s, "data", "k"), "v");
    free((char *)body);
    cJSON_Delete(obj);
    cJSON_Delete(s);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_namespace_must_exist(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, create_cm(&e, "nope", "a", NULL, NULL, &err) == KUBE_E_NOT_FOUND);
    CHECK(t, err.http_status == 404);
    CHECK_CONTAINS(t, err.message, "namespaces \"nope\" not found");
    cJSON *obj = cm("nope", "a", "v", NULL);
    CHECK(t, kube_apply(e.c, &KUBE_RES_CONFIGMAPS, "nope", obj, "test", 1, NULL, &err) ==
                 KUBE_E_NOT_FOUND);
    cJSON_Delete(obj);
    CHECK(t, fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "nope", "a") == NULL);
    obj = parsef("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"nope\"}}");
    CHECKF(t, kube_create(e.c, &KUBE_RES_NAMESPACES, NULL, obj, NULL, NULL, &err) == KUBE_OK,
           "cluster-scoped: no namespace needed");
    cJSON_Delete(obj);
    CHECK(t, create_cm(&e, "nope", "a", NULL, NULL, &err) == KUBE_OK);
    kube_error_clear(&err);
    env_free(&e);
}

/* ---- deletion ---- */

static void test_delete_preconditions(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, &a, &err) == KUBE_OK);
    const struct kube_delete_options bad_uid = {.precondition_uid = "not-it"};
    const struct kube_delete_options bad_rv = {.precondition_resource_version = "1"};
    CHECK(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", &bad_uid, &err) == KUBE_E_CONFLICT);
    CHECK(t, err.http_status == 409);
    CHECK(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", &bad_rv, &err) == KUBE_E_CONFLICT);
    const struct kube_delete_options good = {.precondition_uid = meta(a, "uid"),
                                             .precondition_resource_version =
                                                 meta(a, "resourceVersion")};
    CHECK(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", &good, &err) == KUBE_OK);
    CHECK(t, fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "a") == NULL);
    cJSON_Delete(a);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_finalizers(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, "ns", NULL, &r);
    REQUIRE(t, w);
    cJSON *obj = parsef("{\"metadata\":{\"name\":\"f\",\"finalizers\":[\"x/y\"]},\"data\":{}}");
    REQUIRE(t, kube_create(e.c, &KUBE_RES_CONFIGMAPS, "ns", obj, NULL, NULL, &err) == KUBE_OK);
    cJSON_Delete(obj);
    CHECK(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "f", NULL, &err) == KUBE_OK);
    cJSON *got = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "f");
    REQUIRE(t, got);
    time_t ts;
    CHECK(t, meta(got, "deletionTimestamp") &&
                 ew_time_parse_rfc3339(meta(got, "deletionTimestamp"), &ts) == 0);
    unsigned long writes = fake_cluster_writes(e.fc);
    CHECK(t, kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "f", NULL, &err) == KUBE_OK);
    CHECKF(t, fake_cluster_writes(e.fc) == writes, "a second delete changes nothing");
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "f", "{\"metadata\":{\"deletionTimestamp\":null}}",
                   NULL, NULL, &err) == KUBE_OK);
    cJSON *still = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "f");
    CHECKF(t, still && meta(still, "deletionTimestamp"), "deletionTimestamp is kept");
    cJSON_Delete(still);
    CHECK(t, merge(&e, &KUBE_RES_CONFIGMAPS, "f", "{\"metadata\":{\"finalizers\":null}}", NULL,
                   NULL, &err) == KUBE_OK);
    CHECKF(t, fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "f") == NULL,
           "no finalizer left: gone");
    REQUIRE(t, rec_wait(&r, &r.n, 3) == 3);
    CHECK(t, r.types[0] == KUBE_EVENT_ADDED && r.types[1] == KUBE_EVENT_MODIFIED &&
                 r.types[2] == KUBE_EVENT_DELETED);
    CHECK(t, meta(r.objs[1], "deletionTimestamp") != NULL);
    CHECK(t, rv_of(r.objs[2]) > rv_of(r.objs[1]));
    stop(&r, w);
    cJSON_Delete(got);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

/* ---- list and selectors ---- */

/* The names a list gives, "ns/name,ns/name". */
static void list_names(struct env *e, const char *ns, const char *labels, const char *fields,
                       char *buf, size_t size, kube_code *rc)
{
    const struct kube_list_options o = {.label_selector = labels, .field_selector = fields};
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *items = NULL, *it;
    buf[0] = 0;
    *rc = kube_list(e->c, &KUBE_RES_CONFIGMAPS, ns, &o, &items, NULL, &err);
    cJSON_ArrayForEach(it, items)
    {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s/%s", len ? "," : "", meta(it, "namespace"),
                 meta(it, "name"));
    }
    cJSON_Delete(items);
    kube_error_clear(&err);
}

static void check_list(struct test_ctx *t, struct env *e, const char *ns, const char *labels,
                       const char *fields, const char *want)
{
    char got[512];
    kube_code rc;
    list_names(e, ns, labels, fields, got, sizeof(got), &rc);
    CHECKF(t, rc == KUBE_OK && strcmp(got, want) == 0, "labels \"%s\" fields \"%s\": got %s (%s)",
           labels ? labels : "", fields ? fields : "", got, kube_code_name(rc));
}

static void test_list_selectors(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    put_namespace(e.fc, "a-b");
    create_cm(&e, "other", "b", "\"app\":\"x\",\"tier\":\"web\"", NULL, &err);
    create_cm(&e, "ns", "c", "\"app\":\"x\"", NULL, &err);
    create_cm(&e, "ns", "a", "\"app\":\"y\"", NULL, &err);
    create_cm(&e, "a-b", "z", NULL, NULL, &err);
    check_list(t, &e, NULL, NULL, NULL, "a-b/z,ns/a,ns/c,other/b");
    check_list(t, &e, "ns", NULL, NULL, "ns/a,ns/c");
    check_list(t, &e, NULL, "app=x", NULL, "ns/c,other/b");
    check_list(t, &e, NULL, "app==x", NULL, "ns/c,other/b");
    check_list(t, &e, NULL, "app!=x", NULL, "a-b/z,ns/a");
    check_list(t, &e, NULL, "app", NULL, "ns/a,ns/c,other/b");
    check_list(t, &e, NULL, "!app", NULL, "a-b/z");
    check_list(t, &e, NULL, " app = x , tier ", NULL, "other/b");
    check_list(t, &e, NULL, NULL, "metadata.name=a", "ns/a");
    check_list(t, &e, NULL, NULL, "metadata.namespace!=ns", "a-b/z,other/b");
    check_list(t, &e, NULL, "app", "metadata.namespace==ns,metadata.name!=a", "ns/c");
    const char *bad[][2] = {{"app in (x,y)", NULL}, {"a=b,", NULL},     {"=x", NULL},
                            {"a=b=c", NULL},        {NULL, "spec.x=1"}, {NULL, "metadata.name"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char got[64];
        kube_code rc;
        list_names(&e, NULL, bad[i][0], bad[i][1], got, sizeof(got), &rc);
        CHECKF(t, rc == KUBE_E_BAD_REQUEST, "\"%s\" \"%s\": %s", bad[i][0] ? bad[i][0] : "",
               bad[i][1] ? bad[i][1] : "", kube_code_name(rc));
    }
    struct kube_list_page page;
    REQUIRE(t, kube_list_page(e.c, &KUBE_RES_CONFIGMAPS, NULL,
                              &(struct kube_list_options){.limit = 1}, &page, &err) == KUBE_OK);
    CHECKF(t, cJSON_GetArraySize(page.items) == 4 && !page.continue_token, "no paging");
    cJSON *last = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "a-b", "z");
    CHECK_STR(t, page.resource_version, meta(last, "resourceVersion"));
    cJSON_Delete(last);
    kube_list_page_release(&page);
    kube_error_clear(&err);
    env_free(&e);
}

/* ---- watches ---- */

static void test_watch_delivery(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    create_cm(&e, "ns", "old", NULL, NULL, &err);
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, "ns", NULL, &r);
    REQUIRE(t, w);
    create_cm(&e, "ns", "a", NULL, NULL, &err);
    create_cm(&e, "other", "elsewhere", NULL, NULL, &err);
    merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"2\"}}", NULL, NULL, &err);
    kube_delete(e.c, &KUBE_RES_CONFIGMAPS, "ns", "a", NULL, &err);
    REQUIRE(t, rec_wait(&r, &r.n, 3) == 3);
    usleep(50 * 1000);
    CHECKF(t, r.n == 3, "from now, in ns only: %d events", r.n);
    CHECK(t, r.types[0] == KUBE_EVENT_ADDED && r.types[1] == KUBE_EVENT_MODIFIED &&
                 r.types[2] == KUBE_EVENT_DELETED);
    CHECK_STR(t, path_str(r.objs[1], "data", "k"), "2");
    CHECKF(t, rv_of(r.objs[0]) < rv_of(r.objs[1]) && rv_of(r.objs[1]) < rv_of(r.objs[2]),
           "in order");
    CHECK_STR(t, meta(r.objs[2], "name"), "a");
    CHECK(t, r.on_test_thread == 0);
    stop(&r, w);
    create_cm(&e, "ns", "after", NULL, NULL, &err);
    usleep(50 * 1000);
    CHECK(t, r.n == 3 && r.after_stop == 0 && r.done == 0);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_watch_replay(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r1, r2;
    rec_init(&r1);
    rec_init(&r2);
    cJSON *a = NULL;
    create_cm(&e, "ns", "a", NULL, &a, &err);
    create_cm(&e, "ns", "b", NULL, NULL, &err);
    merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"2\"}}", NULL, NULL, &err);
    const struct kube_watch_options from = {.resource_version = meta(a, "resourceVersion")};
    struct kube_watch *w1 = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, &from, &r1);
    struct kube_watch *w2 = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, &from, &r2);
    REQUIRE(t, w1 && w2);
    REQUIRE(t, rec_wait(&r1, &r1.n, 2) == 2);
    CHECK(t, r1.types[0] == KUBE_EVENT_ADDED && r1.types[1] == KUBE_EVENT_MODIFIED);
    CHECK_STR(t, meta(r1.objs[0], "name"), "b");
    create_cm(&e, "ns", "c", NULL, NULL, &err);
    REQUIRE(t, rec_wait(&r1, &r1.n, 3) == 3 && rec_wait(&r2, &r2.n, 3) == 3);
    CHECKF(t, r1.objs[2] != r2.objs[2] && cJSON_Compare(r1.objs[2], r2.objs[2], 1),
           "each watcher gets its own copy");
    stop(&r1, w1);
    stop(&r2, w2);
    const struct kube_watch_options bad = {.resource_version = "x1"};
    CHECK(t, kube_watch_start(e.c, &KUBE_RES_CONFIGMAPS, NULL, &bad, rec_event, rec_done, &r1, &w1,
                              &err) == KUBE_E_BAD_REQUEST);
    cJSON_Delete(a);
    rec_release(&r1);
    rec_release(&r2);
    kube_error_clear(&err);
    env_free(&e);
}

/* An object that starts or stops matching a selector is ADDED or DELETED for the watch. */
static void test_watch_selectors(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r, f;
    rec_init(&r);
    rec_init(&f);
    const struct kube_watch_options lo = {.label_selector = "app=x"};
    const struct kube_watch_options fo = {.field_selector = "metadata.name=b"};
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, &lo, &r);
    struct kube_watch *wf = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, &fo, &f);
    REQUIRE(t, w && wf);
    create_cm(&e, "ns", "a", NULL, NULL, &err);
    create_cm(&e, "ns", "b", NULL, NULL, &err);
    merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"metadata\":{\"labels\":{\"app\":\"x\"}}}", NULL, NULL,
          &err);
    merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"data\":{\"k\":\"2\"}}", NULL, NULL, &err);
    merge(&e, &KUBE_RES_CONFIGMAPS, "a", "{\"metadata\":{\"labels\":{\"app\":\"y\"}}}", NULL, NULL,
          &err);
    REQUIRE(t, rec_wait(&r, &r.n, 3) == 3);
    CHECK(t, r.types[0] == KUBE_EVENT_ADDED && r.types[1] == KUBE_EVENT_MODIFIED &&
                 r.types[2] == KUBE_EVENT_DELETED);
    REQUIRE(t, rec_wait(&f, &f.n, 1) == 1);
    usleep(50 * 1000);
    CHECK(t, f.n == 1 && strcmp(meta(f.objs[0], "name"), "b") == 0);
    stop(&r, w);
    stop(&f, wf);
    CHECK(t, kube_watch_start(e.c, &KUBE_RES_CONFIGMAPS, NULL,
                              &(struct kube_watch_options){.label_selector = "a b"}, rec_event,
                              rec_done, &r, &w, &err) == KUBE_E_BAD_REQUEST);
    CHECK(t, err.http_status == 400);
    rec_release(&r);
    rec_release(&f);
    kube_error_clear(&err);
    env_free(&e);
}

/* kube_watch_stop waits for a callback in progress; none runs after it. */
static void test_watch_stop_waits(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    r.slow_ms = 100;
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, NULL, &r);
    REQUIRE(t, w);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "c%d", i);
        create_cm(&e, "ns", name, NULL, NULL, &err);
    }
    rec_wait(&r, &r.in_callback, 1);
    kube_watch_stop(w);
    pthread_mutex_lock(&r.mu);
    CHECKF(t, !r.in_callback, "stop returned during a callback");
    r.stopped = 1;
    int n = r.n;
    pthread_mutex_unlock(&r.mu);
    usleep(300 * 1000);
    CHECK(t, r.n == n && r.n < 5 && r.after_stop == 0);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_watch_handler_stops(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    r.stop_at = 2;
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, NULL, &r);
    REQUIRE(t, w);
    create_cm(&e, "ns", "a", NULL, NULL, &err);
    create_cm(&e, "ns", "b", NULL, NULL, &err);
    create_cm(&e, "ns", "c", NULL, NULL, &err);
    REQUIRE(t, rec_wait(&r, &r.done, 1) == 1);
    usleep(50 * 1000);
    CHECK(t, r.n == 2 && r.done == 1 && r.done_code == KUBE_E_CANCELLED);
    stop(&r, w);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

/* Freeing the cluster ends its watches with on_done(KUBE_OK). */
static void test_cluster_free_ends_watches(struct test_ctx *t)
{
    struct env e = env_new();
    struct rec r;
    rec_init(&r);
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, NULL, &r);
    REQUIRE(t, w);
    kube_client_free(e.c);
    fake_cluster_free(e.fc);
    CHECK(t, r.done == 1 && r.done_code == KUBE_OK && r.on_test_thread == 0);
    /* kube_watch_stop needs the client, gone now: the wrapper of a watch on a client with
     * ops is a plain allocation (lib/kube/watch.c) */
    free(w);
    fake_faults_free(e.faults);
    rec_release(&r);
}

/* ---- discovery, direct access ---- */

static void test_discovery(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct kube_group_versions gv;
    const char *const versions[] = {"v1", "v1beta1"};
    fake_cluster_serve_group(e.fc, "networking.istio.io", versions, 2);
    REQUIRE(t, kube_discover_group(e.c, "networking.istio.io", &gv, &err) == KUBE_OK);
    CHECK(t, gv.n == 2 && strcmp(gv.versions[1], "v1beta1") == 0);
    CHECK_STR(t, gv.preferred, "v1");
    kube_group_versions_release(&gv);
    CHECK(t, kube_discover_group(e.c, "", &gv, &err) == KUBE_OK && gv.n == 1);
    kube_group_versions_release(&gv);
    CHECK(t, kube_discover_group(e.c, "nope.io", &gv, &err) == KUBE_E_NOT_FOUND);
    CHECK(t, err.http_status == 404);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_direct_access(struct test_ctx *t)
{
    struct env e = env_new();
    unsigned long writes = fake_cluster_writes(e.fc);
    cJSON *obj = parsef("{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"},\"spec\":{},"
                        "\"status\":{\"ok\":true}}");
    fake_cluster_put(e.fc, &fake_se, obj);
    fake_cluster_put(e.fc, &fake_se, obj);
    CHECKF(t, fake_cluster_writes(e.fc) == writes + 1, "a put that changes nothing: no write");
    cJSON *got = fake_cluster_get(e.fc, &fake_se_beta, "ns", "s");
    REQUIRE(t, got);
    CHECK(t, cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(got, "status"), "ok")));
    CHECK(t, meta(got, "uid") && rv_of(got) > 0 && meta(got, "creationTimestamp"));
    cJSON_Delete(got);
    CHECK(t, create_cm(&e, "ns", "x", NULL, NULL, NULL) == KUBE_OK);
    cJSON *list = fake_cluster_list(e.fc, &KUBE_RES_NAMESPACES, NULL);
    CHECK(t, cJSON_GetArraySize(list) == 2);
    cJSON_Delete(list);
    cJSON *dump = fake_cluster_dump(e.fc);
    const cJSON *k = dump ? dump->child : NULL;
    CHECK(t, k && strcmp(k->string, "/configmaps") == 0);
    CHECK(t, k && k->next && strcmp(k->next->string, "/namespaces") == 0);
    CHECK(t, k && k->next && k->next->next &&
                 strcmp(k->next->next->string, "networking.istio.io/serviceentries") == 0);
    cJSON_Delete(dump);
    CHECK(t, fake_cluster_delete(e.fc, &fake_se, "ns", "s") == 1);
    CHECK(t, fake_cluster_delete(e.fc, &fake_se, "ns", "s") == 0);
    CHECKF(t, fake_faults_calls(e.faults) == 1, "direct functions are not counted");
    cJSON_Delete(obj);
    env_free(&e);
}

/* ---- faults ---- */

struct fault_case {
    enum fake_fault kind;
    kube_code code;
    long http;
    const char *reason;
    int applied; /* the write took effect */
};

static const struct fault_case fault_cases[] = {
    {FAKE_FAULT_CONFLICT, KUBE_E_CONFLICT, 409, "Conflict", 0},
    {FAKE_FAULT_INVALID, KUBE_E_INVALID, 422, "Invalid", 0},
    {FAKE_FAULT_THROTTLED, KUBE_E_TOO_MANY_REQUESTS, 429, "TooManyRequests", 0},
    {FAKE_FAULT_SERVER, KUBE_E_SERVER, 500, "InternalError", 0},
    {FAKE_FAULT_TIMEOUT, KUBE_E_TIMEOUT, 0, NULL, 1},
    {FAKE_FAULT_RESET, KUBE_E_CONNECT, 0, NULL, 0},
};

static void check_fault(struct test_ctx *t, const struct fault_case *fc)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    struct rec r;
    rec_init(&r);
    fake_faults_arm(e.faults, 2, fc->kind);
    struct kube_watch *w = watch(&e, &KUBE_RES_CONFIGMAPS, NULL, NULL, &r);
    CHECKF(t, fake_faults_calls(e.faults) == 0, "%s: a watch start is not counted",
           fake_fault_name(fc->kind));
    cJSON *out = NULL;
    CHECK(t, create_cm(&e, "ns", "a", NULL, NULL, &err) == KUBE_OK);
    kube_code rc = create_cm(&e, "ns", "b", NULL, &out, &err);
    CHECKF(t, rc == fc->code, "%s: %s", fake_fault_name(fc->kind), kube_code_name(rc));
    CHECK(t, err.http_status == fc->http && out == NULL);
    if (fc->reason)
        CHECK_STR(t, err.reason, fc->reason);
    CHECK(t, fake_faults_fired(e.faults) && fake_faults_calls(e.faults) == 2);
    CHECK_STR(t, fake_faults_what(e.faults), "POST us configmaps ns/b");
    cJSON *b = fake_cluster_get(e.fc, &KUBE_RES_CONFIGMAPS, "ns", "b");
    CHECKF(t, (b != NULL) == fc->applied, "%s: write %s", fake_fault_name(fc->kind),
           b ? "applied" : "not applied");
    cJSON_Delete(b);
    CHECKF(t, create_cm(&e, "ns", "c", NULL, NULL, &err) == KUBE_OK, "only the armed call fails");
    REQUIRE(t, w && rec_wait(&r, &r.n, 2 + fc->applied) == 2 + fc->applied);
    stop(&r, w);
    rec_release(&r);
    kube_error_clear(&err);
    env_free(&e);
}

static void test_faults(struct test_ctx *t)
{
    CHECK(t, sizeof(fault_cases) / sizeof(fault_cases[0]) == FAKE_FAULT_KINDS);
    for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++)
        check_fault(t, &fault_cases[i]);
}

/* Every verb is counted, on every cluster sharing the faults; a read can fail too. */
static void test_faults_every_verb(struct test_ctx *t)
{
    struct fake_faults *ff = fake_faults_new();
    struct fake_cluster *eu = fake_cluster_new("eu", ff), *us = fake_cluster_new("us", ff);
    struct kube_client *ce = fake_cluster_client(eu), *cu = fake_cluster_client(us);
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *out = NULL;
    struct kube_group_versions gv;
    fake_faults_arm(ff, 3, FAKE_FAULT_SERVER);
    CHECK(t, kube_get(ce, &KUBE_RES_NAMESPACES, NULL, "x", &out, &err) == KUBE_E_NOT_FOUND);
    CHECK(t, kube_discover_group(cu, "", &gv, &err) == KUBE_OK);
    kube_group_versions_release(&gv);
    CHECK(t, kube_get(cu, &KUBE_RES_NAMESPACES, NULL, "x", &out, &err) == KUBE_E_SERVER);
    CHECK_STR(t, fake_faults_what(ff), "GET us namespaces x");
    fake_faults_arm(ff, 1, FAKE_FAULT_TIMEOUT);
    cJSON *items = NULL;
    CHECK(t, kube_list(ce, &KUBE_RES_NAMESPACES, NULL, NULL, &items, NULL, &err) == KUBE_E_TIMEOUT);
    CHECK(t, items == NULL && fake_faults_calls(ff) == 1);
    fake_faults_arm(ff, 1, FAKE_FAULT_RESET);
    CHECK(t, kube_delete(cu, &KUBE_RES_NAMESPACES, NULL, "x", NULL, &err) == KUBE_E_CONNECT);
    CHECK(t, err.http_status == 0);
    fake_faults_arm(ff, 0, FAKE_FAULT_NONE);
    CHECK(t, kube_delete(cu, &KUBE_RES_NAMESPACES, NULL, "x", NULL, &err) == KUBE_E_NOT_FOUND);
    CHECK(t, !fake_faults_fired(ff) && fake_faults_calls(ff) == 1);
    CHECK_STR(t, fake_fault_name(FAKE_FAULT_THROTTLED), "429");
    CHECK_STR(t, fake_fault_name(FAKE_FAULT_NONE), "none");
    kube_error_clear(&err);
    kube_client_free(ce);
    kube_client_free(cu);
    fake_cluster_free(eu);
    fake_cluster_free(us);
    fake_faults_free(ff);
}

/* rt_status_write drops a nested field the new status lacks: a merge patch merges
 * objects, so status.rootCA.rotation stayed after a root rotation ended until the
 * patch carried a null for it. */
static void test_status_write_drops_nested_fields(struct test_ctx *t)
{
    struct env e = env_new();
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *a = NULL, *s = NULL;
    REQUIRE(t, create_cm(&e, "ns", "a", NULL, &a, &err) == KUBE_OK);
    REQUIRE(t, merge(&e, &KUBE_RES_CONFIGMAPS, "a",
                     "{\"status\":{\"rootCA\":{\"sha\":\"x\",\"rotation\":{\"phase\":\"DropOld\"}},"
                     "\"gone\":1}}",
                     "status", &s, &err) == KUBE_OK);
    cJSON *status = cJSON_Parse("{\"rootCA\":{\"sha\":\"y\"}}");
    cJSON *w = NULL;
    REQUIRE(t, rt_status_write(e.c, &KUBE_RES_CONFIGMAPS, s, status, &w, &err) == KUBE_OK);
    const cJSON *ca = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "status"), "rootCA");
    CHECK(t, cJSON_IsString(cJSON_GetObjectItem(ca, "sha")) &&
                 strcmp(cJSON_GetObjectItem(ca, "sha")->valuestring, "y") == 0);
    CHECKF(t, !cJSON_GetObjectItem(ca, "rotation"), "status.rootCA.rotation stayed");
    CHECK(t, !cJSON_GetObjectItem(cJSON_GetObjectItem(w, "status"), "gone"));
    cJSON_Delete(w);
    cJSON_Delete(a);
    cJSON_Delete(s);
    kube_error_clear(&err);
    env_free(&e);
}

static const struct test_case cases[] = {
    {"create-sets-server-fields", test_create_sets_server_fields},
    {"generate-name", test_generate_name},
    {"already-exists", test_already_exists},
    {"missing-is-not-found", test_missing_is_not_found},
    {"update-conflict", test_update_conflict},
    {"merge-patch", test_merge_patch},
    {"status-subresource", test_status_subresource},
    {"status-write-drops-nested-fields", test_status_write_drops_nested_fields},
    {"noop-write", test_noop_write},
    {"apply", test_apply},
    {"apply-ownership", test_apply_ownership},
    {"apply-status", test_apply_status},
    {"namespace-must-exist", test_namespace_must_exist},
    {"delete-preconditions", test_delete_preconditions},
    {"finalizers", test_finalizers},
    {"list-selectors", test_list_selectors},
    {"watch-delivery", test_watch_delivery},
    {"watch-replay", test_watch_replay},
    {"watch-selectors", test_watch_selectors},
    {"watch-stop-waits", test_watch_stop_waits},
    {"watch-handler-stops", test_watch_handler_stops},
    {"cluster-free-ends-watches", test_cluster_free_ends_watches},
    {"discovery", test_discovery},
    {"direct-access", test_direct_access},
    {"faults", test_faults},
    {"faults-every-verb", test_faults_every_verb},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
