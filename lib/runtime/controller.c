/*
 * controller.c: workers, reflectors and the queue between them (see controller.h).
 *
 * Worker lifecycle: rt_controller_run counts each worker it starts in `live` (under
 * c->mu); a worker decrements it as the last thing it does and signals c->cond. So
 * "live == 0" means no worker will touch the controller again, and joining them is
 * then immediate; the shutdown waits on that count with a deadline instead of joining
 * (a join cannot time out). Stopping the queue (rt_queue_stop) is what makes the wait
 * short: a worker that finishes its reconcile gets no further key.
 */
#include "controller.h"
#include "../base/timeutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WATCHES 32

struct watch_slot {
    struct rt_controller *c;
    struct rt_reflector *r;
    char cluster[64];
    char resource[64];
    rt_mapper_fn mapper; /* NULL for the primary */
    void *mapper_ud;
};

struct rt_controller {
    struct rt_controller_options o;
    char *name;
    struct rt_queue *q;
    struct watch_slot watches[MAX_WATCHES];
    size_t nwatches;
    pthread_t *threads;
    int nthreads; /* started and not joined */
    int running;
    pthread_mutex_t mu; /* guards live */
    pthread_cond_t cond;
    int live; /* workers that have not ended yet */
    struct rt_metric *m_total, *m_duration, *m_depth, *m_queue_wait;
    struct rt_metric *m_watches, *m_relists, *m_watch_errors;
};

static void collect_depth(void *ud, struct rt_metrics *m)
{
    struct rt_controller *c = ud;
    struct rt_queue_stats st;
    (void)m;
    rt_queue_get_stats(c->q, &st);
    const char *lv[] = {c->name};
    rt_metric_set(c->m_depth, lv, (double)(st.depth + st.waiting));
    for (size_t i = 0; i < c->nwatches; i++) {
        struct rt_reflector_stats rs;
        rt_reflector_get_stats(c->watches[i].r, &rs);
        const char *wl[] = {c->name, c->watches[i].cluster, c->watches[i].resource};
        rt_metric_set(c->m_watches, wl, (double)rs.watches);
        rt_metric_set(c->m_relists, wl, (double)rs.relists);
        rt_metric_set(c->m_watch_errors, wl, (double)rs.watch_errors);
    }
}

struct rt_controller *rt_controller_new(const struct rt_controller_options *opts)
{
    struct rt_controller *c = ew_calloc(1, sizeof(*c));
    c->o = *opts;
    c->name = ew_strdup(opts->name ? opts->name : "controller");
    c->o.name = c->name;
    if (c->o.workers <= 0)
        c->o.workers = 2;
    c->q = rt_queue_new(&opts->queue);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (opts->metrics) {
        struct rt_metrics *m = opts->metrics;
        c->m_total = rt_metrics_register(m, RT_COUNTER, "eastwest_reconcile_total",
                                         "Reconciles by controller and result.",
                                         "controller,result", NULL, 0);
        c->m_duration = rt_metrics_register(m, RT_HISTOGRAM, "eastwest_reconcile_duration_seconds",
                                            "Time spent in one reconcile.", "controller", NULL, 0);
        c->m_depth = rt_metrics_register(m, RT_GAUGE, "eastwest_workqueue_depth",
                                         "Keys waiting in the work queue (including delayed).",
                                         "controller", NULL, 0);
        c->m_queue_wait = rt_metrics_register(
            m, RT_HISTOGRAM, "eastwest_workqueue_queue_duration_seconds",
            "Time a key waited in the queue before a worker took it.", "controller", NULL, 0);
        c->m_watches = rt_metrics_register(m, RT_COUNTER, "eastwest_watch_streams_total",
                                           "Watch streams opened (restarts included).",
                                           "controller,cluster,resource", NULL, 0);
        c->m_relists = rt_metrics_register(m, RT_COUNTER, "eastwest_relists_total",
                                           "Relists after a watch expired (410).",
                                           "controller,cluster,resource", NULL, 0);
        c->m_watch_errors = rt_metrics_register(m, RT_COUNTER, "eastwest_watch_errors_total",
                                                "Watch streams that ended in an error.",
                                                "controller,cluster,resource", NULL, 0);
        rt_metrics_add_collector(m, collect_depth, c);
    }
    return c;
}

static void emit_key(void *q, const char *key)
{
    rt_queue_add(q, key);
}

static void on_change(void *ud, enum rt_change change, const char *key, const cJSON *obj)
{
    struct watch_slot *w = ud;
    if (!w->mapper)
        rt_queue_add(w->c->q, key);
    else
        w->mapper(w->mapper_ud, change, key, obj, emit_key, w->c->q);
}

static struct rt_reflector *add_watch(struct rt_controller *c,
                                      const struct rt_reflector_options *opts, rt_mapper_fn mapper,
                                      void *mapper_ud)
{
    if (c->nwatches == MAX_WATCHES)
        return NULL;
    struct watch_slot *w = &c->watches[c->nwatches++];
    struct rt_reflector_options o = *opts;
    w->c = c;
    w->mapper = mapper;
    w->mapper_ud = mapper_ud;
    snprintf(w->cluster, sizeof(w->cluster), "%s", kube_client_name(opts->client));
    snprintf(w->resource, sizeof(w->resource), "%s", opts->resource->plural);
    o.on_change = on_change;
    o.ud = w;
    if (!o.log)
        o.log = c->o.log;
    w->r = rt_reflector_start(&o);
    return w->r;
}

struct rt_reflector *rt_controller_watch_primary(struct rt_controller *c,
                                                 const struct rt_reflector_options *opts)
{
    return add_watch(c, opts, NULL, NULL);
}

struct rt_reflector *rt_controller_watch(struct rt_controller *c,
                                         const struct rt_reflector_options *opts,
                                         rt_mapper_fn mapper, void *mapper_ud)
{
    return add_watch(c, opts, mapper, mapper_ud);
}

void rt_controller_enqueue(struct rt_controller *c, const char *key)
{
    rt_queue_add(c->q, key);
}

void rt_controller_enqueue_after(struct rt_controller *c, const char *key, double seconds)
{
    rt_queue_add_after(c->q, key, seconds);
}

static const char *result_name(enum rt_result_kind k)
{
    return k == RT_DONE ? "success" : k == RT_REQUEUE_AFTER ? "requeue" : "error";
}

static void process(struct rt_controller *c, const char *key, double waited)
{
    const char *lv[] = {c->name, NULL};
    if (c->m_queue_wait)
        rt_metric_observe(c->m_queue_wait, lv, waited);
    double start = ew_now_mono();
    struct rt_result res = c->o.reconcile_waited ? c->o.reconcile_waited(c->o.ud, key, waited)
                                                 : c->o.reconcile(c->o.ud, key);
    double took = ew_now_mono() - start;
    if (c->m_duration) {
        rt_metric_observe(c->m_duration, lv, took);
        lv[1] = result_name(res.kind);
        rt_metric_add(c->m_total, lv, 1);
    }
    switch (res.kind) {
    case RT_DONE:
        rt_queue_forget(c->q, key);
        break;
    case RT_REQUEUE_AFTER:
        rt_queue_forget(c->q, key);
        rt_queue_add_after(c->q, key, res.after);
        break;
    case RT_ERROR: {
        char delay[32];
        snprintf(delay, sizeof(delay), "%.3f", rt_queue_add_rate_limited(c->q, key));
        ew_log(c->o.log, EW_LOG_WARN, "reconcile failed; retrying", "controller", c->name, "key",
               key, "retry-after-seconds", delay, NULL);
        break;
    }
    }
}

/* A reconcile computes the whole desired state from the controller's caches, so one
 * that runs before they are synced sees a partial world and would write (or delete)
 * by it: at start-up the MeshNetwork controller saw no CrossClusterService yet and
 * emptied every exporter's Gateway. Workers wait for the caches first (the watches
 * added before the workers start: the home cluster's; members' caches are checked by
 * the reconcilers, since one unreachable member must not stop the others). */
static int wait_for_caches(struct rt_controller *c)
{
    while (!rt_controller_synced(c)) {
        if (rt_queue_is_shutdown(c->q))
            return 0;
        ew_sleep(0.02);
    }
    return 1;
}

static void add_live(struct rt_controller *c, int n)
{
    pthread_mutex_lock(&c->mu);
    c->live += n;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

static void *worker_main(void *arg)
{
    struct rt_controller *c = arg;
    char *key;
    double waited;
    if (wait_for_caches(c)) {
        while (rt_queue_get(c->q, &key, &waited)) {
            process(c, key, waited);
            rt_queue_done(c->q, key);
            free(key);
        }
    }
    add_live(c, -1); /* the last touch of c */
    return NULL;
}

int rt_controller_run(struct rt_controller *c)
{
    if (c->running)
        return 0;
    c->running = 1;
    c->threads = ew_calloc((size_t)c->o.workers, sizeof(pthread_t));
    for (int i = 0; i < c->o.workers; i++) {
        add_live(c, 1); /* before the thread exists, so its decrement cannot come first */
        int e = pthread_create(&c->threads[c->nthreads], NULL, worker_main, c);
        if (e != 0) {
            add_live(c, -1);
            char n[16];
            snprintf(n, sizeof(n), "%d", c->nthreads);
            ew_log(c->o.log, EW_LOG_ERROR, "cannot start a worker thread", "controller", c->name,
                   "error", strerror(e), "workers-running", n, NULL);
            return -1;
        }
        c->nthreads++;
    }
    return 0;
}

int rt_controller_synced(struct rt_controller *c)
{
    for (size_t i = 0; i < c->nwatches; i++)
        if (!rt_reflector_synced(c->watches[i].r))
            return 0;
    return 1;
}

void rt_controller_shutdown(struct rt_controller *c)
{
    rt_queue_stop(c->q);
}

/* Wait for live == 0 until deadline (INFINITY: no limit). Returns 1 when reached. */
static int wait_workers_ended(struct rt_controller *c, double deadline)
{
    pthread_mutex_lock(&c->mu);
    while (c->live > 0) {
        if (isinf(deadline)) {
            pthread_cond_wait(&c->cond, &c->mu);
            continue;
        }
        double left = deadline - ew_now_mono();
        if (left <= 0)
            break;
        struct timespec ts;
        ew_monotonic_deadline(&ts, left);
        pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    }
    int ended = c->live == 0;
    pthread_mutex_unlock(&c->mu);
    return ended;
}

int rt_controller_wait(struct rt_controller *c, double deadline)
{
    if (!wait_workers_ended(c, deadline)) {
        ew_log(c->o.log, EW_LOG_WARN, "reconciles still running after the grace period",
               "controller", c->name, NULL);
        return 0;
    }
    for (int i = 0; i < c->nthreads; i++) /* each has ended its work: no wait */
        pthread_join(c->threads[i], NULL);
    c->nthreads = 0;
    c->running = 0;
    return 1;
}

static void stop_watches(struct rt_controller *c)
{
    if (c->o.metrics) /* the collector reads the reflectors stopped below */
        rt_metrics_remove_collector(c->o.metrics, collect_depth, c);
    for (size_t i = 0; i < c->nwatches; i++) {
        rt_reflector_stop(c->watches[i].r);
        c->watches[i].r = NULL;
    }
    c->nwatches = 0;
}

int rt_controller_stop(struct rt_controller *c, double grace)
{
    rt_controller_shutdown(c);
    if (!rt_controller_wait(c, ew_now_mono() + grace))
        return 0; /* the workers still read the caches: the watches stay */
    stop_watches(c);
    return 1;
}

void rt_controller_free(struct rt_controller *c)
{
    if (!c)
        return;
    rt_controller_shutdown(c);
    wait_workers_ended(c, INFINITY); /* never free under a running reconcile */
    rt_controller_wait(c, 0);        /* joins them */
    stop_watches(c);
    free(c->threads);
    rt_queue_free(c->q);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c->name);
    free(c);
}

struct rt_queue *rt_controller_queue(struct rt_controller *c)
{
    return c->q;
}
