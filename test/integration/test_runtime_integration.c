/*
 * test_runtime_integration.c: lib/runtime against real kube-apiserver + etcd:
 * reflector caches stay equal to the server through churn, an API server
 * restart and a compaction-forced relist; the controller backs off per key and
 * coalesces bursts; metrics and the health server answer; events fold.
 */
#include "cluster_env.h"
#include "netutil.h"
#include "base/timeutil.h"
#include "runtime/clusterset.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/httpserver.h"
#include "runtime/kube_metrics.h"
#include "runtime/reflector.h"

#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *configmap(const char *name, const char *value)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *meta = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), "eastwest.io/service",
                            value[0] == 'x' ? "svc-x" : "svc-other");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "v", value);
    return cm;
}

struct changes {
    pthread_mutex_t mu;
    int upserts, deletes;
    char deleted[64][64];
    int ndeleted;
};

static void count_change(void *ud, enum rt_change change, const char *key, const cJSON *obj)
{
    struct changes *c = ud;
    (void)obj;
    pthread_mutex_lock(&c->mu);
    if (change == RT_UPSERT) {
        c->upserts++;
    } else {
        c->deletes++;
        if (c->ndeleted < 64)
            snprintf(c->deleted[c->ndeleted++], 64, "%s", key);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Server state as "key=rv;" sorted by the server's order (name). */
static char *server_state(struct kube_client *c, const char *ns)
{
    cJSON *items = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    struct strbuf sb = STRBUF_INIT;
    if (kube_list(c, &KUBE_RES_CONFIGMAPS, ns, NULL, &items, NULL, &err) != KUBE_OK) {
        kube_error_clear(&err);
        return NULL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        char *key = rt_object_key(it);
        const cJSON *meta = cJSON_GetObjectItem(it, "metadata");
        strbuf_addf(&sb, "%s=%s;", key, cJSON_GetObjectItem(meta, "resourceVersion")->valuestring);
        free(key);
    }
    cJSON_Delete(items);
    return strbuf_detach(&sb, NULL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *store_state(struct rt_store *s)
{
    size_t n;
    char **keys = rt_store_keys(s, NULL, NULL, &n);
    struct strbuf sb = STRBUF_INIT;
    qsort(keys, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        cJSON *obj = rt_store_get_copy(s, keys[i]);
        const cJSON *meta = cJSON_GetObjectItem(obj, "metadata");
        const cJSON *rv = cJSON_GetObjectItem(meta, "resourceVersion");
        strbuf_addf(&sb, "%s=%s;", keys[i], rv ? rv->valuestring : "?");
        cJSON_Delete(obj);
        free(keys[i]);
    }
    free(keys);
    return strbuf_detach(&sb, NULL);
}

/* Wait until the store equals the server (up to timeout); returns 1 when equal. */
static int converges(struct kube_client *c, const char *ns, struct rt_store *s, double timeout,
                     char **last_diff)
{
    double end = ew_now_mono() + timeout;
    int equal = 0;
    while (!equal && ew_now_mono() < end) {
        char *a = server_state(c, ns), *b = store_state(s);
        equal = a && strcmp(a, b) == 0;
        if (!equal && ew_now_mono() + 0.2 >= end && last_diff) {
            struct strbuf d = STRBUF_INIT;
            strbuf_addf(&d, "server: %.300s\nstore:  %.300s", a ? a : "(list failed)", b);
            *last_diff = strbuf_detach(&d, NULL);
        }
        free(a);
        free(b);
        if (!equal)
            ew_sleep(0.1);
    }
    return equal;
}

/* n mixed operations: create, update, delete, in a deterministic pattern. */
static int churn(struct kube_client *c, const char *ns, int start, int n)
{
    struct kube_error err = KUBE_ERROR_INIT;
    int failures = 0;
    for (int i = start; i < start + n; i++) {
        char name[32], val[32];
        int slot = i % 150;
        snprintf(name, sizeof(name), "cm-%03d", slot);
        snprintf(val, sizeof(val), "%c%d", i % 2 ? 'x' : 'y', i);
        cJSON *cm = configmap(name, val);
        kube_code rc;
        if (i % 5 == 4)
            rc = kube_delete(c, &KUBE_RES_CONFIGMAPS, ns, name, NULL, &err);
        else
            rc = kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, cm, "churn", 1, NULL, &err);
        if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND)
            failures++;
        cJSON_Delete(cm);
    }
    kube_error_clear(&err);
    return failures;
}

static void test_cache_follows_1000_changes_and_restart(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_client *wc = cluster_admin(t, "us");
    char ns[64], *diff = NULL;
    cluster_make_namespace(t, c, "ew-refl", ns, sizeof(ns));
    struct changes ch = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {{0}}, 0};
    const char *idx[] = {"eastwest.io/service"};
    struct rt_reflector_options ro = {0};
    ro.client = wc;
    ro.resource = &KUBE_RES_CONFIGMAPS;
    ro.namespace_ = ns;
    ro.index_labels = idx;
    ro.nindex = 1;
    ro.on_change = count_change;
    ro.ud = &ch;
    ro.page_size = 50;
    ro.backoff_initial = 0.2;
    ro.backoff_max = 2;
    struct rt_reflector *r = rt_reflector_start(&ro);
    REQUIRE(t, rt_reflector_wait_synced(r, 10));
    CHECK(t, churn(c, ns, 0, 500) == 0);
    CHECKF(t, converges(c, ns, rt_reflector_store(r), 15, &diff), "after 500 changes:\n%s",
           diff ? diff : "");
    free(diff);
    diff = NULL;
    REQUIREF(t, cluster_cmd("restart-apiserver us") == 0, "restart-apiserver failed");
    CHECK(t, churn(c, ns, 500, 500) == 0);
    CHECKF(t, converges(c, ns, rt_reflector_store(r), 30, &diff),
           "after an API server restart and 500 more changes:\n%s", diff ? diff : "");
    free(diff);
    struct rt_reflector_stats st;
    rt_reflector_get_stats(r, &st);
    CHECKF(t, st.watches >= 2, "watches opened: %lu (the restart must re-watch)", st.watches);
    /* the label index agrees with the objects */
    size_t nx = 0, nall = 0;
    char **kx = rt_store_keys(rt_reflector_store(r), "eastwest.io/service", "svc-x", &nx);
    char **kall = rt_store_keys(rt_reflector_store(r), NULL, NULL, &nall);
    CHECK(t, nx > 0 && nx < nall);
    for (size_t i = 0; i < nx; i++) {
        cJSON *o = rt_store_get_copy(rt_reflector_store(r), kx[i]);
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "data"), "v");
        CHECK(t, v && v->valuestring[0] == 'x');
        CHECK(t, !cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "managedFields"));
        cJSON_Delete(o);
        free(kx[i]);
    }
    for (size_t i = 0; i < nall; i++)
        free(kall[i]);
    free(kx);
    free(kall);
    /* heap held per cached object: fill a second store with the same objects */
    struct mallinfo2 before = mallinfo2();
    struct rt_store *copy = rt_store_new(idx, 1);
    kall = rt_store_keys(rt_reflector_store(r), NULL, NULL, &nall);
    for (size_t i = 0; i < nall; i++)
        rt_store_upsert(copy, rt_store_get_copy(rt_reflector_store(r), kall[i]));
    struct mallinfo2 after = mallinfo2();
    for (size_t i = 0; i < nall; i++)
        free(kall[i]);
    free(kall);
    printf("# store: %.0f heap bytes per cached ConfigMap (mallinfo2; meaningless under ASan)\n",
           nall ? (double)(after.uordblks - before.uordblks) / (double)nall : 0.0);
    rt_store_free(copy);
    size_t bytes = rt_store_bytes_estimate(rt_reflector_store(r));
    printf("# reflector: %zu objects cached, %zu bytes serialised (%.0f bytes/object), "
           "%lu events, %lu lists, %lu watches\n",
           nall, bytes, nall ? (double)bytes / (double)nall : 0.0, st.events, st.lists, st.watches);
    rt_reflector_stop(r);
    kube_client_free(wc);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

static void test_relist_reports_objects_deleted_while_away(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_client *wc = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64], key[256], *diff = NULL;
    cluster_make_namespace(t, c, "ew-relist", ns, sizeof(ns));
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "keep-%d", i);
        cJSON *cm = configmap(name, "y");
        REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
        cJSON_Delete(cm);
    }
    struct changes ch = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {{0}}, 0};
    struct rt_reflector_options ro = {0};
    ro.client = wc;
    ro.resource = &KUBE_RES_CONFIGMAPS;
    ro.namespace_ = ns;
    ro.on_change = count_change;
    ro.ud = &ch;
    ro.backoff_initial = 0.2;
    ro.backoff_max = 1;
    struct rt_reflector *r = rt_reflector_start(&ro);
    REQUIRE(t, rt_reflector_wait_synced(r, 10));
    CHECK(t, rt_store_size(rt_reflector_store(r)) == 5);
    /* The watcher goes away; meanwhile two objects vanish and history is compacted. */
    REQUIRE(t, cluster_cmd("stop-apiserver eu") == 0);
    for (int i = 0; i < 2; i++) {
        char args[512];
        snprintf(key, sizeof(key), "/registry/configmaps/%s/keep-%d", ns, i);
        snprintf(args, sizeof(args), "etcd-delete eu %s", key);
        REQUIRE(t, cluster_cmd(args) == 0);
    }
    REQUIRE(t, cluster_cmd("compact eu") == 0);
    REQUIRE(t, cluster_cmd("start-apiserver eu") == 0);
    CHECKF(t, converges(c, ns, rt_reflector_store(r), 30, &diff), "after the outage:\n%s",
           diff ? diff : "");
    free(diff);
    struct rt_reflector_stats st;
    rt_reflector_get_stats(r, &st);
    CHECKF(t, st.relists >= 1, "relists: %lu (410 Expired must force one)", st.relists);
    pthread_mutex_lock(&ch.mu);
    int saw0 = 0, saw1 = 0;
    for (int i = 0; i < ch.ndeleted; i++) {
        saw0 |= strstr(ch.deleted[i], "/keep-0") != NULL;
        saw1 |= strstr(ch.deleted[i], "/keep-1") != NULL;
    }
    pthread_mutex_unlock(&ch.mu);
    CHECKF(t, saw0 && saw1, "objects deleted during the outage were not reported deleted");
    rt_reflector_stop(r);
    kube_client_free(wc);
    kube_error_clear(&err);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

/* The transform hook: a ConfigMap kept as {metadata: name, namespace, resourceVersion;
 * v: data.v}; those named skip-* are not kept at all. */
static cJSON *keep_small(cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItem(md, "name");
    cJSON *out = NULL;
    if (cJSON_IsString(name) && strncmp(name->valuestring, "skip-", 5) != 0) {
        out = cJSON_CreateObject();
        cJSON *omd = cJSON_AddObjectToObject(out, "metadata");
        const char *keep[] = {"name", "namespace", "resourceVersion"};
        for (size_t i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItem(md, keep[i]);
            if (cJSON_IsString(v))
                cJSON_AddStringToObject(omd, keep[i], v->valuestring);
        }
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "data"), "v");
        cJSON_AddStringToObject(out, "v", cJSON_IsString(v) ? v->valuestring : "");
    }
    cJSON_Delete(obj);
    return out;
}

struct shapes {
    pthread_mutex_t mu;
    int small_upserts, small_deletes, whole, skipped;
};

static void count_shape(void *ud, enum rt_change change, const char *key, const cJSON *obj)
{
    struct shapes *s = ud;
    pthread_mutex_lock(&s->mu);
    if (strstr(key, "/skip-"))
        s->skipped++;
    else if (cJSON_GetObjectItem(obj, "data") || !cJSON_GetObjectItem(obj, "v"))
        s->whole++;
    else if (change == RT_UPSERT)
        s->small_upserts++;
    else
        s->small_deletes++;
    pthread_mutex_unlock(&s->mu);
}

static const char *cached_v(struct rt_store *s, const char *ns, const char *name, char *buf,
                            size_t size)
{
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    cJSON *o = rt_store_get_copy(s, key);
    const cJSON *v = cJSON_GetObjectItem(o, "v");
    snprintf(buf, size, "%s", !o ? "(none)" : cJSON_IsString(v) ? v->valuestring : "(whole)");
    cJSON_Delete(o);
    return buf;
}

/* A reflector's transform shapes what its store keeps and its handler sees: the objects
 * of the first list, those watched after, deleted ones; one it drops is never there. */
static void test_transform_shapes_the_cache(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64], buf[64];
    cluster_make_namespace(t, c, "ew-transform", ns, sizeof(ns));
    const char *first[][2] = {{"a", "x1"}, {"b", "y1"}, {"skip-1", "x"}};
    for (size_t i = 0; i < 3; i++) {
        cJSON *cm = configmap(first[i][0], first[i][1]);
        REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
        cJSON_Delete(cm);
    }
    struct shapes sh = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};
    struct rt_reflector_options ro = {
        .client = c,
        .resource = &KUBE_RES_CONFIGMAPS,
        .namespace_ = ns,
        .transform = keep_small,
        .on_change = count_shape,
        .ud = &sh,
        .backoff_initial = 0.2,
        .backoff_max = 1,
    };
    struct rt_reflector *r = rt_reflector_start(&ro);
    struct rt_store *s = rt_reflector_store(r);
    REQUIRE(t, rt_reflector_wait_synced(r, 10));
    CHECKF(t, rt_store_size(s) == 2, "listed: %zu cached, want a and b", rt_store_size(s));
    CHECK_STR(t, cached_v(s, ns, "a", buf, sizeof(buf)), "x1");
    char key[160];
    snprintf(key, sizeof(key), "%s/a", ns);
    cJSON *o = rt_store_get_copy(s, key);
    const cJSON *md = cJSON_GetObjectItem(o, "metadata");
    CHECK(t, o && !cJSON_GetObjectItem(o, "data") && !cJSON_GetObjectItem(md, "labels") &&
                 !cJSON_GetObjectItem(md, "uid") && cJSON_GetObjectItem(md, "resourceVersion"));
    cJSON_Delete(o);
    /* watched: a change, a new one, a deletion, one dropped */
    cJSON *cm = configmap("a", "x2");
    CHECK(t, kube_apply(c, &KUBE_RES_CONFIGMAPS, ns, cm, "test", 1, NULL, &err) == KUBE_OK);
    cJSON_Delete(cm);
    const char *more[][2] = {{"c", "y2"}, {"skip-2", "x"}};
    for (size_t i = 0; i < 2; i++) {
        cm = configmap(more[i][0], more[i][1]);
        CHECK(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
        cJSON_Delete(cm);
    }
    CHECK(t, kube_delete(c, &KUBE_RES_CONFIGMAPS, ns, "b", NULL, &err) == KUBE_OK);
    double end = ew_now_mono() + 10;
    while (ew_now_mono() < end && (strcmp(cached_v(s, ns, "a", buf, sizeof(buf)), "x2") != 0 ||
                                   strcmp(cached_v(s, ns, "c", buf, sizeof(buf)), "y2") != 0 ||
                                   strcmp(cached_v(s, ns, "b", buf, sizeof(buf)), "(none)") != 0))
        ew_sleep(0.05);
    CHECK_STR(t, cached_v(s, ns, "a", buf, sizeof(buf)), "x2");
    CHECK_STR(t, cached_v(s, ns, "c", buf, sizeof(buf)), "y2");
    CHECK_STR(t, cached_v(s, ns, "b", buf, sizeof(buf)), "(none)");
    CHECK_STR(t, cached_v(s, ns, "skip-2", buf, sizeof(buf)), "(none)");
    CHECKF(t, rt_store_size(s) == 2, "%zu cached, want a and c", rt_store_size(s));
    pthread_mutex_lock(&sh.mu);
    CHECKF(t, sh.whole == 0 && sh.skipped == 0 && sh.small_upserts >= 4 && sh.small_deletes == 1,
           "handler saw %d small upserts, %d small deletes, %d whole, %d dropped", sh.small_upserts,
           sh.small_deletes, sh.whole, sh.skipped);
    pthread_mutex_unlock(&sh.mu);
    rt_reflector_stop(r);
    kube_error_clear(&err);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

/* A silent stream is taken for a half-dead connection: re-watch, no relist. */
static void test_idle_watch_is_restarted(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-idle", ns, sizeof(ns));
    cJSON *cm = configmap("quiet", "y");
    REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
    cJSON_Delete(cm);
    struct rt_reflector_options ro = {0};
    ro.client = c;
    ro.resource = &KUBE_RES_CONFIGMAPS; /* served by etcd directly: no bookmarks */
    ro.namespace_ = ns;
    ro.idle_timeout_ms = 1500;
    ro.backoff_initial = 0.1;
    ro.backoff_max = 0.2;
    struct rt_reflector *r = rt_reflector_start(&ro);
    REQUIRE(t, rt_reflector_wait_synced(r, 10));
    ew_sleep(5);
    struct rt_reflector_stats st;
    rt_reflector_get_stats(r, &st);
    CHECKF(t, st.watches >= 2 && st.watch_errors >= 1,
           "a silent watch was not restarted: %lu watches, %lu errors", st.watches,
           st.watch_errors);
    CHECKF(t, st.relists == 0, "an idle restart must not relist (%lu relists)", st.relists);
    CHECK(t, rt_store_size(rt_reflector_store(r)) == 1);
    rt_reflector_stop(r);
    kube_error_clear(&err);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

/* ---- controller ---- */

struct flaky {
    pthread_mutex_t mu;
    int calls_fail_key;
    double times[16];
    int running;
    int max_running;
    int calls_hot;
};

static struct rt_result flaky_reconcile(void *ud, const char *key)
{
    struct flaky *f = ud;
    struct rt_result res = {RT_DONE, 0};
    pthread_mutex_lock(&f->mu);
    f->running++;
    if (f->running > f->max_running)
        f->max_running = f->running;
    if (strstr(key, "/fails")) {
        if (f->calls_fail_key < 16)
            f->times[f->calls_fail_key] = ew_now_mono();
        if (f->calls_fail_key++ < 4)
            res.kind = RT_ERROR;
    } else if (strstr(key, "/hot")) {
        f->calls_hot++;
    }
    pthread_mutex_unlock(&f->mu);
    /* The hot key's reconcile is slower than a patch round trip even on a loaded machine,
     * so the 100 updates must coalesce while it runs (at 10 ms, a slow machine sent the
     * patches further apart than the reconciles took and the count measured the load). */
    ew_sleep(strstr(key, "/hot") ? 0.05 : 0.01);
    pthread_mutex_lock(&f->mu);
    f->running--;
    pthread_mutex_unlock(&f->mu);
    return res;
}

/* Render the registry, check it with Prometheus' own parser, and check that the
 * counters reflect what the test did. */
static void check_metrics_with_promtool(struct test_ctx *t, struct rt_metrics *m)
{
    const char *promtool = getenv("EW_PROMTOOL");
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_reconcile_total{controller=\"test\",result=\"error\"} 4\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_api_requests_total{cluster=\"us\",verb=\"patch\",code=\"200\"} 100\n");
    CHECK_CONTAINS(t, out.buf, "eastwest_workqueue_depth{controller=\"test\"} 0\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_watch_streams_total{controller=\"test\",cluster=\"us\",resource="
                   "\"configmaps\"} 1\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_reconcile_duration_seconds_bucket{controller=\"test\",le=\"+Inf\"}");
    char path[] = "/tmp/ew-metrics-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(t, fd >= 0);
    REQUIRE(t, write(fd, out.buf, out.len) == (ssize_t)out.len);
    close(fd);
    strbuf_release(&out);
    if (!promtool || !*promtool) {
        unlink(path);
        test_skip(t, "EW_PROMTOOL not set (hack/test.sh sets it)");
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s > %s.out 2>&1", promtool, path, path);
    int rc = system(cmd);
    char outp[64];
    snprintf(outp, sizeof(outp), "%s.out", path);
    struct strbuf report = STRBUF_INIT;
    FILE *f = fopen(outp, "r");
    char buf[512];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&report, buf, n);
    if (f)
        fclose(f);
    CHECKF(t, rc == 0, "promtool check metrics failed:\n%s", report.buf);
    strbuf_release(&report);
    unlink(path);
    unlink(outp);
}

static void test_controller_backoff_and_burst(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-ctl", ns, sizeof(ns));
    struct flaky f = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, 0, 0, 0};
    struct rt_metrics *m = rt_metrics_new();
    /* per-key backoff from 0.1 s, doubling: 0.1, 0.2, 0.4, 0.8 s for the four failures */
    struct rt_controller_options co = {"test", 4,   flaky_reconcile, &f, {0.1, 5, 0, 0}, m,
                                       NULL,   NULL};
    struct rt_controller *ctl = rt_controller_new(&co);
    struct rt_kube_metrics *km = rt_kube_metrics_add(m, c, "us");
    struct rt_reflector_options ro = {0};
    ro.client = c;
    ro.resource = &KUBE_RES_CONFIGMAPS;
    ro.namespace_ = ns;
    rt_controller_watch_primary(ctl, &ro);
    rt_controller_run(ctl);
    double end = ew_now_mono() + 10;
    while (!rt_controller_synced(ctl) && ew_now_mono() < end)
        ew_sleep(0.02);
    REQUIRE(t, rt_controller_synced(ctl));
    cJSON *cm = configmap("fails", "y");
    REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
    cJSON_Delete(cm);
    cm = configmap("hot", "y");
    REQUIRE(t, kube_create(c, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, NULL, &err) == KUBE_OK);
    cJSON_Delete(cm);
    for (int i = 0; i < 100; i++) {
        char patch[64];
        snprintf(patch, sizeof(patch), "{\"data\":{\"v\":\"%d\"}}", i);
        struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, NULL};
        kube_patch(c, &KUBE_RES_CONFIGMAPS, ns, "hot", patch, strlen(patch), &po, NULL, &err);
    }
    end = ew_now_mono() + 15;
    for (;;) {
        pthread_mutex_lock(&f.mu);
        int done = f.calls_fail_key >= 5;
        pthread_mutex_unlock(&f.mu);
        if (done || ew_now_mono() > end)
            break;
        ew_sleep(0.05);
    }
    ew_sleep(0.5);
    pthread_mutex_lock(&f.mu);
    CHECKF(t, f.calls_fail_key == 5, "failing key reconciled %d times (4 failures + success)",
           f.calls_fail_key);
    /* Each retry comes no sooner than its doubled delay (a strict bound: load only makes
     * the gaps longer), and not much later: without doubling the gaps would be 0.1 s each,
     * without backoff shorter, tripling would make the fourth 2.7 s. The 1 s allowance is
     * for a loaded machine (the worker's wake-up after the delay). */
    printf("# backoff: retries after");
    for (int i = 1; i < f.calls_fail_key && i <= 4; i++)
        printf(" %.3f", f.times[i] - f.times[i - 1]);
    printf(" s (want 0.1, 0.2, 0.4, 0.8)\n");
    for (int i = 1; i < f.calls_fail_key && i <= 4; i++) {
        double gap = f.times[i] - f.times[i - 1], want = 0.1 * (double)(1 << (i - 1));
        CHECKF(t, gap >= want - 0.002 && gap < want + 1.0,
               "retry %d came %.3f s after failure %d: want the backoff %.1f s (doubling from "
               "0.1 s), at most 1 s later",
               i, gap, i, want);
    }
    CHECKF(t, f.calls_hot >= 1 && f.calls_hot < 60, "100 updates caused %d reconciles",
           f.calls_hot);
    CHECKF(t, f.max_running <= 2, "max concurrent reconciles: %d (two keys)", f.max_running);
    pthread_mutex_unlock(&f.mu);
    const char *errs[] = {"test", "error"}, *ok[] = {"test", "success"};
    CHECK(t, rt_metric_value(rt_metrics_register(m, RT_COUNTER, "eastwest_reconcile_total", "",
                                                 "controller,result", NULL, 0),
                             errs) == 4);
    CHECK(t, rt_metric_value(rt_metrics_register(m, RT_COUNTER, "eastwest_reconcile_total", "",
                                                 "controller,result", NULL, 0),
                             ok) >= 2);
    check_metrics_with_promtool(t, m);
    rt_controller_stop(ctl, 5);
    rt_controller_free(ctl);
    rt_kube_metrics_remove(km);
    rt_metrics_free(m);
    kube_error_clear(&err);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

/* ---- events ---- */

static void test_events_fold_into_series(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64];
    cluster_make_namespace(t, c, "ew-events", ns, sizeof(ns));
    struct rt_recorder_options o = {c, NULL, "test-instance", NULL, 3, 0};
    struct rt_recorder *rec = rt_recorder_new(&o);
    struct rt_object_ref ref = {"v1", "ConfigMap", ns, "subject", "uid-1"};
    CHECK(t, rt_event(rec, &ref, "Normal", "Created", "Apply", "created %s", "x") == 1);
    CHECK(t, rt_event(rec, &ref, "Normal", "Created", "Apply", "created %s", "x") == 2);
    CHECK(t, rt_event(rec, &ref, "Normal", "Created", "Apply", "created %s", "x") == 2);
    CHECK(t, rt_event(rec, &ref, "Warning", "Failed", "Apply", "one") == 1);
    CHECK(t, rt_event(rec, &ref, "Warning", "Failed", "Apply", "two") == 1);
    CHECK(t, rt_event(rec, &ref, "Warning", "Failed", "Apply", "three") == 0); /* burst 3 */
    cJSON *items = NULL;
    static const struct kube_resource EV = {"events.k8s.io", "v1", "events", 1};
    REQUIRE(t, kube_list(c, &EV, ns, NULL, &items, NULL, &err) == KUBE_OK);
    CHECKF(t, cJSON_GetArraySize(items) == 3, "events stored: %d", cJSON_GetArraySize(items));
    int series = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *s = cJSON_GetObjectItem(it, "series");
        if (s && cJSON_GetObjectItem(s, "count")->valueint == 3)
            series++;
    }
    CHECK(t, series == 1);
    cJSON_Delete(items);
    rt_recorder_free(rec);
    kube_error_clear(&err);
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(c);
}

/* ---- the operator process: leader election, health, metrics, JSON logs, signals ---- */

struct candidate {
    pid_t pid;
    int port;
    char log[256];
    char id[32];
};

static void spawn_operator(struct test_ctx *t, struct candidate *c, const char *kubeconfig,
                           const char *ns, const char *dir, const char *id)
{
    extern char **environ;
    char port[16], bind[64];
    c->port = test_free_port();
    snprintf(port, sizeof(port), "%d", c->port);
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", c->port);
    snprintf(c->log, sizeof(c->log), "%s/%s.log", dir, id);
    snprintf(c->id, sizeof(c->id), "%s", id);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, c->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *argv[] = {TEST_BUILD_DIR "/../cmd/eastwest-operator/eastwest-operator",
                    "--kubeconfig",
                    (char *)kubeconfig,
                    "--namespace",
                    (char *)ns,
                    "--leader-election-id",
                    "eastwest-test-leader",
                    "--metrics-bind-address",
                    bind,
                    "--log-format",
                    "json",
                    "--shutdown-grace",
                    "5",
                    NULL};
    REQUIRE(t, posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
}

static int is_leading(const struct candidate *c)
{
    char *m = test_http_get(c->port, "/metrics");
    int leading = m && strstr(m, "\neastwest_leader 1\n") != NULL;
    free(m);
    return leading;
}

/* Wait until some candidate (other than skip) leads; returns its index or -1. */
static int wait_leader(struct candidate *cs, int n, int skip, double timeout)
{
    double end = ew_now_mono() + timeout;
    while (ew_now_mono() < end) {
        for (int i = 0; i < n; i++)
            if (i != skip && cs[i].pid > 0 && is_leading(&cs[i]))
                return i;
        ew_sleep(0.05);
    }
    return -1;
}

/* Up (answers /healthz) and a standby (its /metrics say eastwest_leader 0). */
static int is_standby(const struct candidate *c)
{
    char *h = test_http_get(c->port, "/healthz"), *m = test_http_get(c->port, "/metrics");
    int standby = h && strstr(h, "HTTP/1.1 200") && m && strstr(m, "\neastwest_leader 0\n");
    free(h);
    free(m);
    return standby;
}

static int count_leading(struct candidate *cs, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += cs[i].pid > 0 && is_leading(&cs[i]);
    return k;
}

/* Every line of the log is a JSON object with ts, level and msg; returns the count. */
static int check_json_log(struct test_ctx *t, const char *path, const char *must_contain)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0, found = 0;
    REQUIRE(t, f != NULL);
    while (fgets(line, sizeof(line), f)) {
        cJSON *j = cJSON_Parse(line);
        CHECKF(t,
               j && cJSON_GetObjectItem(j, "ts") && cJSON_GetObjectItem(j, "level") &&
                   cJSON_GetObjectItem(j, "msg"),
               "%s: not a JSON log line: %s", path, line);
        const cJSON *msg = cJSON_GetObjectItem(j, "msg");
        found |= cJSON_IsString(msg) && strstr(msg->valuestring, must_contain) != NULL;
        cJSON_Delete(j);
        n++;
    }
    fclose(f);
    CHECKF(t, found, "%s: no \"%s\" line", path, must_contain);
    return n;
}

/* The operator's own /metrics, through Prometheus' parser. */
static void promtool_check_operator(struct test_ctx *t, int port)
{
    const char *promtool = getenv("EW_PROMTOOL");
    char *resp = test_http_get(port, "/metrics");
    REQUIRE(t, resp != NULL);
    char *body = strstr(resp, "\r\n\r\n");
    REQUIRE(t, body != NULL);
    body += 4;
    CHECK_CONTAINS(t, body, "eastwest_leader 1\n");
    CHECK_CONTAINS(t, body, "eastwest_api_requests_total{cluster=\"home\",verb=\"create\"");
    if (promtool && *promtool) {
        char path[] = "/tmp/ew-opmetrics-XXXXXX", cmd[1024];
        int fd = mkstemp(path);
        REQUIRE(t, fd >= 0);
        REQUIRE(t, write(fd, body, strlen(body)) == (ssize_t)strlen(body));
        close(fd);
        snprintf(cmd, sizeof(cmd), "%s check metrics < %s >/dev/null 2>&1", promtool, path);
        CHECKF(t, system(cmd) == 0, "promtool check metrics refused the operator's /metrics (%s)",
               path);
    }
    free(resp);
}

/* The operator watches its custom resources: without their CRDs it never gets ready. */
static void install_crds(struct test_ctx *t, const char *kubeconfig)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "bash -c 'source %s/hack/lib.sh && \"$EW_KUBECTL\" --kubeconfig %s apply "
             "--server-side -f %s/crds/ && \"$EW_KUBECTL\" --kubeconfig %s wait "
             "--for=condition=Established crd/meshnetworks.eastwest.io "
             "crd/crossclusterservices.eastwest.io --timeout=30s' >/dev/null 2>&1",
             TEST_SOURCE_ROOT, kubeconfig, TEST_SOURCE_ROOT, kubeconfig);
    REQUIREF(t, system(cmd) == 0, "installing crds/ failed: %s", cmd);
}

static void test_operator_leader_election_and_shutdown(struct test_ctx *t)
{
    struct kube_client *c = cluster_admin(t, "us");
    char ns[64], cdir[1024], kubeconfig[1100], dir[] = "/tmp/ew-leader-XXXXXX";
    cluster_make_namespace(t, c, "ew-leader", ns, sizeof(ns));
    cluster_dir(t, "us", cdir, sizeof(cdir));
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", cdir);
    REQUIRE(t, mkdtemp(dir) != NULL);
    install_crds(t, kubeconfig);
    /* The replicas run as the chart's ServiceAccount with the chart's RBAC for this
     * namespace and Lease (chart_identity.sh), not as admin. */
    char cmd[4096];
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/operator.kubeconfig", dir);
    snprintf(cmd, sizeof(cmd),
             "bash %s/test/integration/chart_identity.sh us %s eastwest-test-leader %s",
             TEST_SOURCE_ROOT, ns, kubeconfig);
    REQUIREF(t, system(cmd) == 0, "the chart's identity: %s failed", cmd);
    struct candidate cs[3] = {{0}, {0}, {0}};
    spawn_operator(t, &cs[0], kubeconfig, ns, dir, "op-a");
    spawn_operator(t, &cs[1], kubeconfig, ns, dir, "op-b");
    int first = wait_leader(cs, 2, -1, 20);
    REQUIREF(t, first >= 0, "no replica became leader within 20 s");
    ew_sleep(3); /* a few renewals: still exactly one */
    CHECKF(t, count_leading(cs, 2) == 1, "%d replicas lead at once", count_leading(cs, 2));
    promtool_check_operator(t, cs[first].port);
    for (int i = 0; i < 2; i++) {
        char *h = test_http_get(cs[i].port, "/healthz"), *r = test_http_get(cs[i].port, "/readyz");
        CHECK_CONTAINS(t, h, "HTTP/1.1 200");
        CHECK_CONTAINS(t, r, "HTTP/1.1 200");
        free(h);
        free(r);
    }

    /* kill -9: the other takes over after about one lease duration (15 s) */
    double killed_at = ew_now_mono();
    kill(cs[first].pid, SIGKILL);
    waitpid(cs[first].pid, NULL, 0);
    cs[first].pid = 0;
    int second = wait_leader(cs, 2, first, 30);
    double takeover = ew_now_mono() - killed_at;
    CHECKF(t, second >= 0, "no takeover within 30 s of kill -9");
    CHECKF(t, takeover >= 5 && takeover <= 22,
           "takeover after kill -9 took %.1f s (lease 15 s, retry 2 s)", takeover);
    printf("# leader: takeover after kill -9 in %.1f s\n", takeover);

    /* SIGTERM releases the Lease: a waiting replica takes over at once. op-c is up and a
     * standby before the signal (a condition, not a sleep: an ASan start on a loaded
     * machine takes seconds). */
    spawn_operator(t, &cs[2], kubeconfig, ns, dir, "op-c");
    double up_end = ew_now_mono() + 30;
    while (!is_standby(&cs[2]) && ew_now_mono() < up_end)
        ew_sleep(0.1);
    REQUIREF(t, is_standby(&cs[2]), "op-c did not come up as a standby within 30 s");
    double termed_at = ew_now_mono(), exited_at = termed_at;
    if (second >= 0) {
        pid_t leader_pid = cs[second].pid;
        kill(leader_pid, SIGTERM);
        int status = 0;
        waitpid(leader_pid, &status, 0);
        exited_at = ew_now_mono();
        CHECKF(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "SIGTERM: the leader exited with status %d", status);
        cs[second].pid = 0;
        check_json_log(t, cs[second].log, "leadership released");
        /* the Lease itself: no holder any more, or already op-c (identity host_<pid><4 hex>) */
        struct kube_error err = KUBE_ERROR_INIT;
        cJSON *lease = NULL;
        kube_code rc = kube_get(c, &KUBE_RES_LEASES, ns, "eastwest-test-leader", &lease, &err);
        CHECKF(t, rc == KUBE_OK, "reading the Lease: %s", err.message);
        const cJSON *holder =
            cJSON_GetObjectItem(cJSON_GetObjectItem(lease, "spec"), "holderIdentity");
        const char *h = cJSON_IsString(holder) ? holder->valuestring : "";
        char host[128] = "unknown", successor[200];
        gethostname(host, sizeof(host) - 1);
        snprintf(successor, sizeof(successor), "%s_%x", host, (unsigned)cs[2].pid);
        CHECKF(t,
               !*h || (strncmp(h, successor, strlen(successor)) == 0 &&
                       strlen(h) == strlen(successor) + 4),
               "after SIGTERM the Lease still names %s (not released)", h);
        cJSON_Delete(lease);
        kube_error_clear(&err);
    }
    int third = wait_leader(cs, 3, -1, 30);
    double now = ew_now_mono(), handover = now - exited_at;
    CHECKF(t, third == 2, "the waiting replica did not take over within 30 s after SIGTERM");
    /* Released, op-c takes it at its next try (retry 2 s, +20% jitter); not released, it
     * would wait for the 15 s lease to expire, at least 12.6 s after the exit. */
    CHECKF(t, handover < 10,
           "handover took %.1f s after the leader exited (%.1f s after SIGTERM): the Lease "
           "was not released (a standby retries every 2 s; the lease lasts 15 s)",
           handover, now - termed_at);
    printf("# leader: handover %.1f s after the leader exited, %.1f s after SIGTERM\n", handover,
           now - termed_at);
    for (int i = 0; i < 3; i++) {
        if (cs[i].pid > 0) {
            kill(cs[i].pid, SIGINT);
            int status = 0;
            waitpid(cs[i].pid, &status, 0);
            CHECKF(t, WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGINT: exit status %d",
                   status);
        }
    }
    kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "bash %s/test/integration/chart_identity.sh --delete us %s",
             TEST_SOURCE_ROOT, ns);
    CHECKF(t, system(cmd) == 0, "%s failed", cmd);
    kube_client_free(c);
    remove_tree(dir);
}

/* ---- cluster set ---- */

static void test_clusterset_rotation_and_removal(struct test_ctx *t)
{
    struct kube_client *admin = cluster_admin(t, "eu");
    struct kube_error err = KUBE_ERROR_INIT;
    char ns[64], want[256];
    cluster_make_namespace(t, admin, "ew-cset", ns, sizeof(ns));
    char *token = cluster_sa_token(t, admin, ns, "rotated");
    struct rt_metrics *m = rt_metrics_new();
    struct rt_clusterset *cs = rt_clusterset_new(&(struct rt_clusterset_options){.metrics = m});
    struct kube_rest_config cfg;
    cluster_admin_config(t, "eu", &cfg);
    CHECK(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 1);
    struct kube_client *c = rt_clusterset_acquire(cs, "eu");
    REQUIRE(t, c != NULL);
    char *who = cluster_whoami(c, NULL, &err);
    CHECK_STR(t, who, "eastwest-admin");
    free(who);
    /* rotated credentials: same member, same client object, new identity, no restart */
    free(cfg.client_cert.data);
    free(cfg.client_key.data);
    cfg.client_cert.data = cfg.client_key.data = NULL;
    cfg.client_cert.len = cfg.client_key.len = 0;
    cfg.token = strdup(token);
    CHECK(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 0);
    CHECK(t, rt_clusterset_acquire(cs, "eu") == c);
    rt_clusterset_release(cs, c);
    who = cluster_whoami(c, NULL, &err);
    snprintf(want, sizeof(want), "system:serviceaccount:%s:rotated", ns);
    CHECK_STR(t, who, want);
    free(who);
    rt_clusterset_set_reachable(cs, "eu", 0, "connection refused");
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    CHECK_CONTAINS(t, out.buf, "eastwest_cluster_reachable{cluster=\"eu\"} 0\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_api_requests_total{cluster=\"eu\",verb=\"create\",code=\"201\"} 2\n");
    strbuf_release(&out);
    char *e = NULL;
    CHECK(t, rt_clusterset_reachable(cs, "eu", &e) == 0);
    CHECK_STR(t, e, "connection refused");
    free(e);
    /* removed while in use: the holder keeps a working client until it releases it */
    CHECK(t, rt_clusterset_remove(cs, "eu") == 1);
    CHECK(t, rt_clusterset_acquire(cs, "eu") == NULL);
    CHECK(t, rt_clusterset_reachable(cs, "eu", NULL) == -1);
    who = cluster_whoami(c, NULL, &err);
    CHECK_STR(t, who, want);
    free(who);
    rt_clusterset_release(cs, c);
    size_t n;
    char **names = rt_clusterset_names(cs, &n);
    CHECK(t, n == 0);
    free(names);
    rt_clusterset_free(cs);
    rt_metrics_free(m);
    kube_rest_config_free(&cfg);
    free(token);
    kube_error_clear(&err);
    kube_delete(admin, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(admin);
}

static const struct test_case cases[] = {
    {"cache_follows_1000_changes_and_restart", test_cache_follows_1000_changes_and_restart},
    {"relist_reports_objects_deleted_while_away", test_relist_reports_objects_deleted_while_away},
    {"idle_watch_is_restarted", test_idle_watch_is_restarted},
    {"transform_shapes_the_cache", test_transform_shapes_the_cache},
    {"controller_backoff_and_burst", test_controller_backoff_and_burst},
    {"events_fold_into_series", test_events_fold_into_series},
    {"operator_leader_election_and_shutdown", test_operator_leader_election_and_shutdown},
    {"clusterset_rotation_and_removal", test_clusterset_rotation_and_removal},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
