/*
 * test_workqueue.c: lib/runtime/workqueue semantics: dedup, dirty requeue,
 * one worker per key, delays, per-key backoff, rate limit, shutdown/drain; and the
 * shutdown of lib/runtime/controller's workers over it (issue #13): once stopping, no
 * queued key is taken, and the wait for in-flight reconciles is bounded by the grace.
 * Controllers here have no watches (so they are synced at once) and no metrics.
 * A loaded 2-core machine under ASan or valgrind: the tests wait on the queue's own state
 * (is_shutdown, counts of keys taken), not on sleeps; what a bound checks is scaled by
 * test_time_scale() and stays below what the failure it guards against would take.
 */
#include "harness.h"
#include "base/timeutil.h"
#include "runtime/controller.h"
#include "runtime/workqueue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_adds_coalesce(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    for (int i = 0; i < 100; i++)
        rt_queue_add(q, "ns/a");
    rt_queue_add(q, "ns/b");
    struct rt_queue_stats st;
    rt_queue_get_stats(q, &st);
    CHECK(t, st.depth == 2);
    char *k;
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    CHECK_STR(t, k, "ns/a");
    rt_queue_done(q, k);
    free(k);
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    CHECK_STR(t, k, "ns/b");
    rt_queue_done(q, k);
    free(k);
    rt_queue_get_stats(q, &st);
    CHECK(t, st.depth == 0 && st.processing == 0);
    rt_queue_free(q);
}

static void test_add_during_processing_requeues_once(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    char *k, *k2;
    rt_queue_add(q, "x");
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    rt_queue_add(q, "x");
    rt_queue_add(q, "x");
    struct rt_queue_stats st;
    rt_queue_get_stats(q, &st);
    CHECKF(t, st.depth == 0, "a key being processed must not be handed out: depth %zu", st.depth);
    rt_queue_done(q, k);
    rt_queue_get_stats(q, &st);
    CHECK(t, st.depth == 1);
    REQUIRE(t, rt_queue_get(q, &k2, NULL) == 1);
    CHECK_STR(t, k2, "x");
    rt_queue_done(q, k2);
    rt_queue_get_stats(q, &st);
    CHECK(t, st.depth == 0);
    free(k);
    free(k2);
    rt_queue_free(q);
}

static void test_add_after_earliest_wins(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    double start = ew_now_mono();
    /* the others are far enough that the bound, scaled under valgrind, tells them apart */
    rt_queue_add_after(q, "late", 30.0);
    rt_queue_add_after(q, "late", 0.05); /* earlier: wins */
    rt_queue_add_after(q, "late", 20.0); /* later: ignored */
    char *k;
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    double took = ew_now_mono() - start, bound = 1.0 * test_time_scale();
    CHECK_STR(t, k, "late");
    CHECKF(t, took >= 0.04 && took < bound && took < 15,
           "delayed add arrived after %.3f s (want 0.05 s; bound %.1f s)", took, bound);
    rt_queue_done(q, k);
    free(k);
    struct rt_queue_stats st;
    rt_queue_get_stats(q, &st);
    CHECK(t, st.waiting == 0);
    rt_queue_free(q);
}

static void test_backoff_doubles_and_forget_resets(struct test_ctx *t)
{
    struct rt_queue_options o = {0.005, 1.0, 1000, 1000};
    struct rt_queue *q = rt_queue_new(&o);
    double d[10];
    for (int i = 0; i < 10; i++)
        d[i] = rt_queue_add_rate_limited(q, "k");
    CHECKF(t, d[0] > 0.0049 && d[0] < 0.0051, "first delay %.4f", d[0]);
    CHECKF(t, d[1] > 0.0099 && d[1] < 0.0101, "second delay %.4f", d[1]);
    CHECKF(t, d[4] > 0.079 && d[4] < 0.081, "fifth delay %.4f", d[4]);
    CHECKF(t, d[9] == 1.0, "capped delay %.4f", d[9]);
    CHECK(t, rt_queue_failures(q, "k") == 10);
    rt_queue_forget(q, "k");
    CHECK(t, rt_queue_failures(q, "k") == 0);
    CHECK(t, rt_queue_add_rate_limited(q, "k") < 0.0051);
    rt_queue_free(q);
}

static void test_overall_rate_limit(struct test_ctx *t)
{
    struct rt_queue_options o = {0.001, 1.0, 10, 5};
    /* burst 5 at 10 qps: the 8th distinct key waits 0.3 s less the time the 8 adds took
     * (the bucket refills meanwhile): measured, so that a slow machine does not move it */
    double last = 0, took = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        double start = ew_now_mono();
        struct rt_queue *q = rt_queue_new(&o);
        char key[16];
        for (int i = 0; i < 8; i++) {
            snprintf(key, sizeof(key), "k%d", i);
            last = rt_queue_add_rate_limited(q, key);
        }
        took = ew_now_mono() - start;
        rt_queue_free(q);
        if (took < 0.01)
            break; /* else descheduled in between: the bound below is looser, try again */
    }
    CHECKF(t, last > 0.295 - took && last < 0.305,
           "8th key delay %.3f s, want 0.3 s less the %.3f s the adds took", last, took);
}

struct worker_ctx {
    struct rt_queue *q;
    pthread_mutex_t mu;
    int running_x;
    int max_concurrent_x;
    int processed_x;
};

static void *worker(void *arg)
{
    struct worker_ctx *w = arg;
    char *k;
    while (rt_queue_get(w->q, &k, NULL)) {
        pthread_mutex_lock(&w->mu);
        w->running_x++;
        if (w->running_x > w->max_concurrent_x)
            w->max_concurrent_x = w->running_x;
        w->processed_x++;
        pthread_mutex_unlock(&w->mu);
        ew_sleep(0.002);
        pthread_mutex_lock(&w->mu);
        w->running_x--;
        pthread_mutex_unlock(&w->mu);
        rt_queue_done(w->q, k);
        free(k);
    }
    return NULL;
}

static void test_burst_one_key_never_concurrent(struct test_ctx *t)
{
    struct worker_ctx w = {rt_queue_new(NULL), PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        REQUIRE(t, pthread_create(&th[i], NULL, worker, &w) == 0);
    for (int i = 0; i < 100; i++) {
        rt_queue_add(w.q, "hot/key");
        ew_sleep(0.0002);
    }
    ew_sleep(0.05);
    CHECK(t, rt_queue_shutdown_drain(w.q, 5.0));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECKF(t, w.max_concurrent_x == 1, "max concurrent reconciles of one key: %d",
           w.max_concurrent_x);
    CHECKF(t, w.processed_x >= 1 && w.processed_x < 50, "100 adds caused %d reconciles",
           w.processed_x);
    rt_queue_free(w.q);
}

static void test_shutdown_hands_out_rest_then_stops(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    char *k;
    rt_queue_add(q, "a");
    rt_queue_add(q, "b");
    rt_queue_add_after(q, "delayed", 10);
    rt_queue_shutdown(q);
    rt_queue_add(q, "ignored");
    CHECK(t, rt_queue_get(q, &k, NULL) == 1);
    rt_queue_done(q, k);
    free(k);
    CHECK(t, rt_queue_get(q, &k, NULL) == 1);
    rt_queue_done(q, k);
    free(k);
    CHECK(t, rt_queue_get(q, &k, NULL) == 0);
    CHECK(t, rt_queue_is_shutdown(q));
    rt_queue_free(q);
}

static void test_drain_waits_for_in_flight(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    char *k;
    rt_queue_add(q, "busy");
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    double start = ew_now_mono();
    CHECK(t, rt_queue_shutdown_drain(q, 0.1) == 0); /* still processing: not drained */
    CHECK(t, ew_now_mono() - start >= 0.09);
    rt_queue_done(q, k);
    CHECK(t, rt_queue_shutdown_drain(q, 0.1) == 1);
    free(k);
    rt_queue_free(q);
}

static void test_stop_hands_out_nothing_more(struct test_ctx *t)
{
    struct rt_queue *q = rt_queue_new(NULL);
    char *k;
    rt_queue_add(q, "a");
    rt_queue_add(q, "b");
    rt_queue_add(q, "c");
    REQUIRE(t, rt_queue_get(q, &k, NULL) == 1);
    rt_queue_add(q, k); /* dirty while in flight: rt_queue_done queues it again */
    rt_queue_stop(q);
    rt_queue_add(q, "ignored");
    char *k2 = NULL;
    CHECKF(t, rt_queue_get(q, &k2, NULL) == 0, "a queued key was handed out after stop: %s",
           k2 ? k2 : "?");
    CHECK(t, rt_queue_is_shutdown(q));
    rt_queue_done(q, k);
    CHECK(t, rt_queue_get(q, &k2, NULL) == 0); /* nor the requeued one */
    struct rt_queue_stats st;
    rt_queue_get_stats(q, &st);
    CHECK(t, st.processing == 0);
    free(k);
    rt_queue_free(q); /* frees the dropped keys */
}

struct slow_worker {
    struct rt_queue *q;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int taken;
    int hold; /* workers wait after taking a key while set */
};

static void *slow_worker_main(void *arg)
{
    struct slow_worker *w = arg;
    char *k;
    while (rt_queue_get(w->q, &k, NULL)) {
        pthread_mutex_lock(&w->mu);
        w->taken++;
        pthread_cond_broadcast(&w->cond);
        while (w->hold)
            pthread_cond_wait(&w->cond, &w->mu);
        pthread_mutex_unlock(&w->mu);
        ew_sleep(0.02);
        rt_queue_done(w->q, k);
        free(k);
    }
    return NULL;
}

static int slow_taken(struct slow_worker *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->taken;
    pthread_mutex_unlock(&w->mu);
    return n;
}

static int two_taken(void *ud)
{
    return slow_taken(ud) >= 2;
}

static int queue_stopped(void *ud)
{
    return rt_queue_is_shutdown(ud);
}

struct drainer {
    struct rt_queue *q;
    double grace;
    int drained;
    double returned_at;
};

static void *drain_main(void *arg)
{
    struct drainer *d = arg;
    d->drained = rt_queue_shutdown_drain(d->q, d->grace);
    d->returned_at = ew_now_mono();
    return NULL;
}

/* The drain used to hand out the rest of the queue: with 500 keys of 20 ms each it
 * waited its whole grace and the workers went on for 10 s more. */
static void test_drain_takes_no_queued_key(struct test_ctx *t)
{
    struct slow_worker w = {rt_queue_new(NULL), PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                            0, 1};
    char key[16];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rt_queue_add(w.q, key);
    }
    pthread_t th[2], dt;
    for (int i = 0; i < 2; i++)
        REQUIRE(t, pthread_create(&th[i], NULL, slow_worker_main, &w) == 0);
    /* each worker holds one key: exactly two are in flight when the drain begins */
    REQUIRE(t, test_wait_until(two_taken, &w, 10));
    struct drainer d = {w.q, 30, -1, 0};
    REQUIRE(t, pthread_create(&dt, NULL, drain_main, &d) == 0);
    REQUIRE(t, test_wait_until(queue_stopped, w.q, 10));
    double start = ew_now_mono();
    pthread_mutex_lock(&w.mu);
    w.hold = 0;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    pthread_join(dt, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double took = d.returned_at - start, bound = 2.0 * test_time_scale();
    CHECK(t, d.drained == 1);
    struct rt_queue_stats st;
    rt_queue_get_stats(w.q, &st);
    CHECKF(t, w.taken == 2 && st.depth == 498,
           "%d of 500 keys taken, %zu left: keys were taken after the drain began", w.taken,
           st.depth);
    /* the rest of the queue would take 5 s; under valgrind the count above decides */
    CHECKF(t, took < bound, "drain took %.3f s for two 20 ms reconciles (bound %.1f s)", took,
           bound);
    rt_queue_free(w.q);
}

/* ---- the controller's workers ---- */

struct recon {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int started;  /* reconciles begun */
    int finished; /* reconciles ended */
    int block;    /* reconciles wait while set */
    double sleep; /* seconds each reconcile takes */
};

static struct rt_result recon_fn(void *ud, const char *key)
{
    struct recon *r = ud;
    (void)key;
    pthread_mutex_lock(&r->mu);
    r->started++;
    pthread_cond_broadcast(&r->cond);
    while (r->block)
        pthread_cond_wait(&r->cond, &r->mu);
    pthread_mutex_unlock(&r->mu);
    ew_sleep(r->sleep);
    pthread_mutex_lock(&r->mu);
    r->finished++;
    pthread_mutex_unlock(&r->mu);
    return (struct rt_result){RT_DONE, 0};
}

static int recon_count(struct recon *r, int finished)
{
    pthread_mutex_lock(&r->mu);
    int n = finished ? r->finished : r->started;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static struct rt_controller *queued_controller(struct recon *r, int workers, int keys)
{
    struct rt_controller_options o = {
        .name = "test", .workers = workers, .reconcile = recon_fn, .ud = r};
    struct rt_controller *c = rt_controller_new(&o);
    char key[16];
    for (int i = 0; i < keys; i++) {
        snprintf(key, sizeof(key), "ns/k%d", i);
        rt_controller_enqueue(c, key);
    }
    return c;
}

static int wait_started(struct recon *r, int n, double timeout)
{
    double end = ew_now_mono() + timeout * test_time_scale();
    while (recon_count(r, 0) < n && ew_now_mono() < end)
        ew_sleep(0.005);
    return recon_count(r, 0) >= n;
}

static void recon_release(struct recon *r)
{
    pthread_mutex_lock(&r->mu);
    r->block = 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

struct stopper {
    struct rt_controller *c;
    double grace;
    int stopped;
    double returned_at;
    int returned; /* atomic */
};

static void *stop_main(void *arg)
{
    struct stopper *s = arg;
    s->stopped = rt_controller_stop(s->c, s->grace);
    s->returned_at = ew_now_mono();
    __atomic_store_n(&s->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int stop_returned(void *ud)
{
    return __atomic_load_n(&((struct stopper *)ud)->returned, __ATOMIC_SEQ_CST);
}

/* The one worker is held in its first reconcile until stop has begun (the queue says
 * so): exactly one reconcile may have started, whatever the load. */
static void test_controller_stop_takes_no_queued_key(struct test_ctx *t)
{
    struct recon r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 1, 0.01};
    struct rt_controller *c = queued_controller(&r, 1, 500);
    REQUIRE(t, rt_controller_run(c) == 0);
    REQUIRE(t, wait_started(&r, 1, 10));
    struct stopper s = {c, 60, -1, 0, 0};
    pthread_t th;
    REQUIRE(t, pthread_create(&th, NULL, stop_main, &s) == 0);
    REQUIREF(t, test_wait_until(queue_stopped, rt_controller_queue(c), 10),
             "stop did not stop the queue within 10 s");
    double start = ew_now_mono();
    recon_release(&r);
    pthread_join(th, NULL);
    double took = s.returned_at - start, bound = 2.0 * test_time_scale();
    int done = recon_count(&r, 1);
    CHECK(t, s.stopped == 1);
    CHECKF(t, recon_count(&r, 0) == 1 && done == 1,
           "%d of 500 queued keys reconciled (%d begun): taken after stop began", done,
           recon_count(&r, 0));
    /* the rest of the queue would take 5 s; under valgrind the count above decides */
    CHECKF(t, took < bound, "stop took %.3f s with one 10 ms reconcile in flight (bound %.1f s)",
           took, bound);
    ew_sleep(0.05);
    CHECKF(t, recon_count(&r, 0) == done, "a reconcile began after stop returned");
    rt_controller_free(c);
}

/* A reconcile that outlives the grace: stop returns when the grace ends (it used to
 * join the worker without a limit), and free still waits for the worker. */
static void test_controller_stop_bounded_by_grace(struct test_ctx *t)
{
    struct recon r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 1, 0};
    struct rt_controller *c = queued_controller(&r, 2, 10);
    REQUIRE(t, rt_controller_run(c) == 0);
    REQUIRE(t, wait_started(&r, 2, 10));
    /* stop runs in a thread: a stop that ignored its grace would wait for the blocked
     * reconciles for ever; they are let go once the bound has passed, so it fails. */
    double bound = 0.3 + 1.2 * test_time_scale();
    double start = ew_now_mono();
    struct stopper s = {c, 0.3, -1, 0, 0};
    pthread_t th;
    REQUIRE(t, pthread_create(&th, NULL, stop_main, &s) == 0);
    test_wait_until(stop_returned, &s, (bound + 1) / test_time_scale());
    recon_release(&r);
    pthread_join(th, NULL);
    double took = s.returned_at - start;
    CHECK(t, s.stopped == 0); /* two reconciles still running */
    CHECKF(t, took >= 0.25 && took < bound, "stop with a 0.3 s grace took %.3f s (bound %.1f s)",
           took, bound);
    rt_controller_free(c); /* joins the two workers before freeing what they use */
    CHECK(t, recon_count(&r, 1) == 2);
    CHECK(t, recon_count(&r, 0) == 2);
}

/* Stop before the controller ever ran (a standby), and a run after stop starts nothing. */
static void test_controller_stop_before_run(struct test_ctx *t)
{
    struct recon r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};
    struct rt_controller *c = queued_controller(&r, 2, 5);
    CHECK(t, rt_controller_stop(c, 0) == 1);
    CHECK(t, rt_controller_run(c) == 0);
    CHECK(t, rt_controller_stop(c, 5) == 1);
    CHECK(t, recon_count(&r, 0) == 0);
    rt_controller_free(c);
}

static const struct test_case cases[] = {
    {"adds_coalesce", test_adds_coalesce},
    {"add_during_processing_requeues_once", test_add_during_processing_requeues_once},
    {"add_after_earliest_wins", test_add_after_earliest_wins},
    {"backoff_doubles_and_forget_resets", test_backoff_doubles_and_forget_resets},
    {"overall_rate_limit", test_overall_rate_limit},
    {"burst_one_key_never_concurrent", test_burst_one_key_never_concurrent},
    {"shutdown_hands_out_rest_then_stops", test_shutdown_hands_out_rest_then_stops},
    {"drain_waits_for_in_flight", test_drain_waits_for_in_flight},
    {"stop_hands_out_nothing_more", test_stop_hands_out_nothing_more},
    {"drain_takes_no_queued_key", test_drain_takes_no_queued_key},
    {"controller_stop_takes_no_queued_key", test_controller_stop_takes_no_queued_key},
    {"controller_stop_bounded_by_grace", test_controller_stop_bounded_by_grace},
    {"controller_stop_before_run", test_controller_stop_before_run},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
