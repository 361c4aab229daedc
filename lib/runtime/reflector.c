/*
 * reflector.c: list-then-watch loop feeding a store (state machine in reflector.h).
 *
 * Threads: the reflector thread lists, starts watches and sleeps between
 * attempts; the transport thread delivers events to on_watch_event, which
 * updates the store and the resourceVersion under r->mu, and to
 * on_watch_done, which wakes the reflector thread. kube_watch_stop is only
 * called from the reflector thread (never from a transport callback).
 */
#include "reflector.h"
#include "../base/timeutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTHY_RESET 120.0

struct rt_reflector {
    struct rt_reflector_options o;
    char *ns, *label_selector, *field_selector, *owner;
    struct rt_store *store;
    pthread_t thread;
    int started; /* thread created */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stopping;
    int watch_done;
    kube_code watch_result;
    char *rv;
    int healthy;
    char *last_error;
    struct rt_reflector_stats stats;
    unsigned int seed;
    struct rt_metric *m_objects, *m_bytes; /* when o.metrics */
};

/* The cache gauges, before each render of the metrics. */
static void collect_cache(void *ud, struct rt_metrics *m)
{
    struct rt_reflector *r = ud;
    (void)m;
    const char *lv[] = {kube_client_name(r->o.client), r->o.resource->plural,
                        r->label_selector ? r->label_selector : "", r->owner ? r->owner : ""};
    rt_metric_set(r->m_objects, lv, (double)rt_store_size(r->store));
    rt_metric_set(r->m_bytes, lv, (double)rt_store_heap_estimate(r->store));
}

static void register_cache_metrics(struct rt_reflector *r)
{
    if (!r->o.metrics)
        return;
    r->m_objects = rt_metrics_register(r->o.metrics, RT_GAUGE, "eastwest_cache_objects",
                                       "Objects held by a watch cache.",
                                       "cluster,resource,selector,owner", NULL, 0);
    r->m_bytes =
        rt_metrics_register(r->o.metrics, RT_GAUGE, "eastwest_cache_bytes",
                            "Heap held by a watch cache's objects (estimated node by node).",
                            "cluster,resource,selector,owner", NULL, 0);
    rt_metrics_add_collector(r->o.metrics, collect_cache, r);
}

static void set_rv(struct rt_reflector *r, const char *rv)
{
    if (!rv || !*rv)
        return;
    pthread_mutex_lock(&r->mu);
    if (!r->rv || strcmp(r->rv, rv) != 0) {
        free(r->rv);
        r->rv = ew_strdup(rv);
    }
    pthread_mutex_unlock(&r->mu);
}

char *rt_reflector_resource_version(struct rt_reflector *r)
{
    pthread_mutex_lock(&r->mu);
    char *rv = ew_strdup(r->rv);
    pthread_mutex_unlock(&r->mu);
    return rv;
}

/* Record success or failure; tell on_health about a change. */
static void set_health(struct rt_reflector *r, int healthy, const char *error)
{
    pthread_mutex_lock(&r->mu);
    int changed = r->healthy != healthy;
    r->healthy = healthy;
    if (!healthy) {
        free(r->last_error);
        r->last_error = ew_strdup(error && *error ? error : "unknown error");
    }
    pthread_mutex_unlock(&r->mu);
    if (changed && r->o.on_health)
        r->o.on_health(r->o.ud, healthy);
}

int rt_reflector_healthy(struct rt_reflector *r, char **error)
{
    pthread_mutex_lock(&r->mu);
    int h = r->healthy && r->stats.synced;
    if (error)
        *error = h ? NULL : ew_strdup(r->last_error ? r->last_error : "not listed yet");
    pthread_mutex_unlock(&r->mu);
    return h;
}

static void notify(struct rt_reflector *r, enum rt_change change, const char *key, const cJSON *obj)
{
    if (r->o.on_change)
        r->o.on_change(r->o.ud, change, key, obj);
}

static int on_watch_event(void *ud, struct kube_watch_event *ev)
{
    struct rt_reflector *r = ud;
    set_rv(r, ev->resource_version);
    pthread_mutex_lock(&r->mu);
    r->stats.events++;
    int healthy = r->healthy;
    pthread_mutex_unlock(&r->mu);
    if (!healthy)
        set_health(r, 1, NULL);
    if (ev->type == KUBE_EVENT_BOOKMARK)
        return 0;
    if (r->o.transform && ev->object) {
        ev->object = r->o.transform(ev->object);
        if (!ev->object)
            return 0;
    }
    char *key = rt_object_key(ev->object);
    if (!key)
        return 0;
    if (ev->type == KUBE_EVENT_DELETED) {
        rt_store_delete_at(r->store, key, ev->object);
        notify(r, RT_DELETE, key, ev->object);
    } else {
        cJSON *obj = ev->object;
        ev->object = NULL;
        if (rt_store_upsert(r->store, obj)) {
            cJSON *copy = rt_store_get_copy(r->store, key);
            notify(r, RT_UPSERT, key, copy);
            cJSON_Delete(copy);
        }
    }
    free(key);
    return 0;
}

static void on_watch_done(void *ud, kube_code code, const struct kube_error *err)
{
    struct rt_reflector *r = ud;
    pthread_mutex_lock(&r->mu);
    r->watch_done = 1;
    r->watch_result = code;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    if (code != KUBE_OK && code != KUBE_E_GONE && code != KUBE_E_CANCELLED)
        set_health(r, 0, err ? err->message : kube_code_name(code));
    if (code != KUBE_OK)
        ew_log(r->o.log, code == KUBE_E_GONE ? EW_LOG_INFO : EW_LOG_WARN, "watch ended", "cluster",
               kube_client_name(r->o.client), "resource", r->o.resource->plural, "reason",
               kube_code_name(code), "error", err ? err->message : "", NULL);
}

static void on_relist_deleted(void *ud, const char *key, const cJSON *old)
{
    notify(ud, RT_DELETE, key, old);
}

static void on_relist_upserted(void *ud, const char *key)
{
    struct rt_reflector *r = ud;
    cJSON *copy = rt_store_get_copy(r->store, key);
    notify(r, RT_UPSERT, key, copy);
    cJSON_Delete(copy);
}

/* Sleep up to seconds, waking early on stop. Returns 1 if stopping. */
static int sleep_or_stop(struct rt_reflector *r, double seconds)
{
    struct timespec ts;
    ew_monotonic_deadline(&ts, seconds);
    pthread_mutex_lock(&r->mu);
    while (!r->stopping && pthread_cond_timedwait(&r->cond, &r->mu, &ts) == 0)
        ;
    int stop = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return stop;
}

static double jitter(struct rt_reflector *r, double d)
{
    return d * (0.8 + 0.4 * ((double)rand_r(&r->seed) / RAND_MAX));
}

/* The list's items through the transform hook: takes items, returns what is kept. */
static cJSON *transform_items(struct rt_reflector *r, cJSON *items)
{
    if (!r->o.transform || !items)
        return items;
    cJSON *kept = cJSON_CreateArray();
    while (items->child) {
        cJSON *obj = r->o.transform(cJSON_DetachItemViaPointer(items, items->child));
        if (obj)
            cJSON_AddItemToArray(kept, obj);
    }
    cJSON_Delete(items);
    return kept;
}

static kube_code do_list(struct rt_reflector *r)
{
    const struct kube_list_options lo = {
        .label_selector = r->label_selector,
        .field_selector = r->field_selector,
        .limit = r->o.page_size,
    };
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *items = NULL;
    char *rv = NULL;
    kube_code rc = kube_list(r->o.client, r->o.resource, r->ns, &lo, &items, &rv, &err);
    if (rc != KUBE_OK) {
        ew_log(r->o.log, EW_LOG_WARN, "list failed", "cluster", kube_client_name(r->o.client),
               "resource", r->o.resource->plural, "reason", kube_code_name(rc), "error",
               err.message, NULL);
        set_health(r, 0, err.message);
        kube_error_clear(&err);
        return rc;
    }
    rt_store_set_list_version(r->store, rv);
    rt_store_replace(r->store, transform_items(r, items), on_relist_deleted, on_relist_upserted, r);
    pthread_mutex_lock(&r->mu);
    free(r->rv);
    r->rv = rv;
    if (r->stats.lists++)
        r->stats.relists++;
    r->stats.synced = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    set_health(r, 1, NULL);
    return KUBE_OK;
}

/* Open a watch from the current RV and wait for it to end (or stop). */
static kube_code do_watch(struct rt_reflector *r, double *lasted)
{
    struct kube_error err = KUBE_ERROR_INIT;
    char *rv = rt_reflector_resource_version(r);
    long timeout = (long)jitter(r, (double)r->o.watch_timeout_s);
    const struct kube_watch_options wo = {
        .resource_version = rv,
        .label_selector = r->label_selector,
        .field_selector = r->field_selector,
        .allow_bookmarks = 1,
        .timeout_seconds = timeout,
        .idle_timeout_ms = r->o.idle_timeout_ms,
    };
    struct kube_watch *w = NULL;
    pthread_mutex_lock(&r->mu);
    r->watch_done = 0;
    r->stats.watches++;
    pthread_mutex_unlock(&r->mu);
    double start = ew_now_mono();
    kube_code rc = kube_watch_start(r->o.client, r->o.resource, r->ns, &wo, on_watch_event,
                                    on_watch_done, r, &w, &err);
    free(rv);
    if (rc != KUBE_OK) {
        set_health(r, 0, err.message);
        kube_error_clear(&err);
        *lasted = 0;
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->watch_done && !r->stopping)
        pthread_cond_wait(&r->cond, &r->mu);
    rc = r->watch_done ? r->watch_result : KUBE_E_CANCELLED;
    pthread_mutex_unlock(&r->mu);
    kube_watch_stop(w);
    *lasted = ew_now_mono() - start;
    return rc;
}

static int is_stopping(struct rt_reflector *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return s;
}

static void *reflector_main(void *arg)
{
    struct rt_reflector *r = arg;
    double backoff = r->o.backoff_initial;
    int need_list = 1;
    while (!is_stopping(r)) {
        kube_code rc;
        double lasted = 0;
        if (need_list) {
            rc = do_list(r);
            if (rc == KUBE_OK)
                need_list = 0;
        } else {
            rc = do_watch(r, &lasted);
            if (lasted >= HEALTHY_RESET)
                backoff = r->o.backoff_initial;
            if (rc == KUBE_E_GONE) {
                need_list = 1;
                continue; /* relist at once */
            }
            if (rc == KUBE_OK)
                continue; /* normal end of a watch: re-watch from the last RV */
            if (rc == KUBE_E_CANCELLED)
                break;
            pthread_mutex_lock(&r->mu);
            r->stats.watch_errors++;
            pthread_mutex_unlock(&r->mu);
        }
        if (rc == KUBE_OK)
            continue;
        if (sleep_or_stop(r, jitter(r, backoff)))
            break;
        backoff = backoff * 2 > r->o.backoff_max ? r->o.backoff_max : backoff * 2;
    }
    return NULL;
}

struct rt_reflector *rt_reflector_start(const struct rt_reflector_options *opts)
{
    struct rt_reflector *r = ew_calloc(1, sizeof(*r));
    r->o = *opts;
    r->ns = ew_strdup(opts->namespace_);
    r->label_selector = ew_strdup(opts->label_selector);
    r->owner = ew_strdup(opts->owner);
    r->field_selector = ew_strdup(opts->field_selector);
    if (r->o.page_size <= 0)
        r->o.page_size = 500;
    if (r->o.watch_timeout_s <= 0)
        r->o.watch_timeout_s = 300;
    if (r->o.idle_timeout_ms <= 0)
        r->o.idle_timeout_ms = 180000;
    if (r->o.backoff_initial <= 0)
        r->o.backoff_initial = 0.8;
    if (r->o.backoff_max <= 0)
        r->o.backoff_max = 30;
    /* through uint64_t: past 71 minutes of uptime the microseconds exceed an unsigned int,
     * and a double out of the target type's range is undefined behaviour */
    r->seed = (unsigned int)(uint64_t)(ew_now_mono() * 1e6) ^ (unsigned int)(uintptr_t)r;
    r->store = rt_store_new(opts->index_labels, opts->nindex);
    register_cache_metrics(r);
    for (size_t i = 0; i < opts->nindexes; i++)
        if (opts->indexes[i].values)
            rt_store_add_index_values(r->store, opts->indexes[i].name, opts->indexes[i].values);
        else
            rt_store_add_index(r->store, opts->indexes[i].name, opts->indexes[i].value);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&r->thread, NULL, reflector_main, r);
    r->started = e == 0;
    if (e != 0) {
        r->last_error = ew_strdup("cannot start the reflector thread");
        ew_log(r->o.log, EW_LOG_ERROR, "cannot start a reflector thread: its cache stays empty",
               "cluster", kube_client_name(r->o.client), "resource", r->o.resource->plural, "error",
               strerror(e), NULL);
    }
    return r;
}

void rt_reflector_stop(struct rt_reflector *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->thread, NULL);
    if (r->o.metrics) {
        rt_metrics_remove_collector(r->o.metrics, collect_cache, r);
        const char *lv[] = {kube_client_name(r->o.client), r->o.resource->plural,
                            r->label_selector ? r->label_selector : "", r->owner ? r->owner : ""};
        /* removed, not zeroed: a deleted mesh's selector would stay as a series for
         * good; a live reflector with the same labels sets it again at the next render */
        rt_metric_remove(r->m_objects, lv);
        rt_metric_remove(r->m_bytes, lv);
    }
    rt_store_free(r->store);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r->ns);
    free(r->label_selector);
    free(r->field_selector);
    free(r->owner);
    free(r->rv);
    free(r->last_error);
    free(r);
}

struct rt_store *rt_reflector_store(struct rt_reflector *r)
{
    return r->store;
}

void rt_reflector_written(struct rt_reflector *r, cJSON *obj)
{
    if (!obj)
        return;
    if (r->o.transform && !(obj = r->o.transform(obj)))
        return;
    rt_store_upsert_if_newer(r->store, obj);
}

int rt_reflector_synced(struct rt_reflector *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stats.synced;
    pthread_mutex_unlock(&r->mu);
    return s;
}

int rt_reflector_wait_synced(struct rt_reflector *r, double timeout)
{
    double end = ew_now_mono() + timeout;
    while (!rt_reflector_synced(r) && ew_now_mono() < end)
        ew_sleep(0.01);
    return rt_reflector_synced(r);
}

void rt_reflector_get_stats(struct rt_reflector *r, struct rt_reflector_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}
