/*
 * workqueue.c: dedup/dirty/processing queue with delays and rate limiting
 * (see workqueue.h for the semantics).
 *
 * State under q->mu:
 *   fifo        keys in hand-out order (owned strings)
 *   dirty       keys that must be processed (queued, or to requeue after done);
 *               value: struct pending with the time it was first added
 *   processing  keys handed to a worker
 *   waiting     key -> due time for delayed adds; heap orders the due times,
 *               stale heap entries (superseded by an earlier due) are skipped
 *   failures    key -> consecutive failure count for the backoff
 */
#include "workqueue.h"
#include "../base/strbuf.h"
#include "../base/strmap.h"
#include "../base/timeutil.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pending {
    double added_at;
};

struct delayed {
    double due;
    char *key;
};

struct rt_queue {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct rt_queue_options opts;
    char **fifo;
    size_t head, tail, cap;
    struct strmap dirty;
    struct strmap processing;
    struct strmap waiting; /* value: double* due */
    struct delayed *heap;
    size_t nheap, heap_cap;
    struct strmap failures; /* value: (void*)(intptr_t)count */
    double tokens;
    double tokens_at;
    int shutting_down; /* no more adds */
    int stopped;       /* and no more hand-outs */
    unsigned long adds, retries;
};

struct rt_queue *rt_queue_new(const struct rt_queue_options *opts)
{
    struct rt_queue *q = ew_calloc(1, sizeof(*q));
    if (opts)
        q->opts = *opts;
    if (q->opts.base_delay <= 0)
        q->opts.base_delay = 0.005;
    if (q->opts.max_delay <= 0)
        q->opts.max_delay = 300;
    if (q->opts.qps <= 0)
        q->opts.qps = 10;
    if (q->opts.burst <= 0)
        q->opts.burst = 100;
    q->tokens = q->opts.burst;
    q->tokens_at = ew_now_mono();
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

static void free_map_values(struct strmap *m)
{
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(m, &i, &k, &v);)
        free(v);
    strmap_clear(m);
}

void rt_queue_free(struct rt_queue *q)
{
    if (!q)
        return;
    for (size_t i = q->head; i < q->tail; i++)
        free(q->fifo[i]);
    free(q->fifo);
    for (size_t i = 0; i < q->nheap; i++)
        free(q->heap[i].key);
    free(q->heap);
    free_map_values(&q->dirty);
    free_map_values(&q->waiting);
    strmap_clear(&q->processing);
    strmap_clear(&q->failures);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond);
    free(q);
}

static void fifo_push(struct rt_queue *q, const char *key)
{
    if (q->tail == q->cap) {
        if (q->head > 0) {
            memmove(q->fifo, q->fifo + q->head, (q->tail - q->head) * sizeof(char *));
            q->tail -= q->head;
            q->head = 0;
        }
        if (q->tail == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 16;
            q->fifo = ew_realloc(q->fifo, q->cap * sizeof(char *));
        }
    }
    q->fifo[q->tail++] = ew_strdup(key);
}

/* Must hold mu. */
static void add_locked(struct rt_queue *q, const char *key)
{
    if (q->shutting_down || strmap_contains(&q->dirty, key))
        return;
    struct pending *p = ew_malloc(sizeof(*p));
    p->added_at = ew_now_mono();
    strmap_put(&q->dirty, key, p);
    q->adds++;
    if (strmap_contains(&q->processing, key))
        return; /* requeued by rt_queue_done */
    fifo_push(q, key);
    pthread_cond_signal(&q->cond);
}

void rt_queue_add(struct rt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

/* ---- delayed adds: a binary min-heap on due time ---- */

static void heap_swap(struct delayed *a, struct delayed *b)
{
    struct delayed t = *a;
    *a = *b;
    *b = t;
}

static void heap_push(struct rt_queue *q, double due, const char *key)
{
    if (q->nheap == q->heap_cap) {
        q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 16;
        q->heap = ew_realloc(q->heap, q->heap_cap * sizeof(*q->heap));
    }
    size_t i = q->nheap++;
    q->heap[i].due = due;
    q->heap[i].key = ew_strdup(key);
    while (i > 0 && q->heap[(i - 1) / 2].due > q->heap[i].due) {
        heap_swap(&q->heap[(i - 1) / 2], &q->heap[i]);
        i = (i - 1) / 2;
    }
}

static void heap_pop(struct rt_queue *q)
{
    free(q->heap[0].key);
    q->heap[0] = q->heap[--q->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l].due < q->heap[m].due)
            m = l;
        if (r < q->nheap && q->heap[r].due < q->heap[m].due)
            m = r;
        if (m == i)
            break;
        heap_swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
}

/* Must hold mu. */
static void add_after_locked(struct rt_queue *q, const char *key, double seconds)
{
    if (q->shutting_down)
        return;
    if (seconds <= 0) {
        add_locked(q, key);
        return;
    }
    double due = ew_now_mono() + seconds;
    double *cur = strmap_get(&q->waiting, key);
    if (cur && *cur <= due)
        return;
    if (!cur) {
        cur = ew_malloc(sizeof(*cur));
        strmap_put(&q->waiting, key, cur);
    }
    *cur = due;
    heap_push(q, due, key);
    pthread_cond_signal(&q->cond);
}

void rt_queue_add_after(struct rt_queue *q, const char *key, double seconds)
{
    pthread_mutex_lock(&q->mu);
    add_after_locked(q, key, seconds);
    pthread_mutex_unlock(&q->mu);
}

/* Move due delayed keys into the queue; return the next due time (or 0). Must hold mu. */
static double promote_due(struct rt_queue *q)
{
    double now = ew_now_mono();
    while (q->nheap > 0) {
        struct delayed *top = &q->heap[0];
        double *cur = strmap_get(&q->waiting, top->key);
        if (!cur || *cur != top->due) {
            heap_pop(q); /* superseded */
            continue;
        }
        if (top->due > now)
            return top->due;
        free(strmap_remove(&q->waiting, top->key));
        add_locked(q, top->key);
        heap_pop(q);
    }
    return 0;
}

/* ---- rate limiting ---- */

static double bucket_delay(struct rt_queue *q)
{
    double now = ew_now_mono();
    q->tokens += (now - q->tokens_at) * q->opts.qps;
    if (q->tokens > q->opts.burst)
        q->tokens = q->opts.burst;
    q->tokens_at = now;
    q->tokens -= 1;
    return q->tokens >= 0 ? 0 : -q->tokens / q->opts.qps;
}

double rt_queue_add_rate_limited(struct rt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    intptr_t n = (intptr_t)strmap_get(&q->failures, key);
    double backoff = q->opts.base_delay * pow(2.0, (double)(n > 60 ? 60 : n));
    if (backoff > q->opts.max_delay)
        backoff = q->opts.max_delay;
    strmap_put(&q->failures, key, (void *)(n + 1));
    double bucket = bucket_delay(q);
    double delay = backoff > bucket ? backoff : bucket;
    q->retries++;
    add_after_locked(q, key, delay);
    pthread_mutex_unlock(&q->mu);
    return delay;
}

void rt_queue_forget(struct rt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_remove(&q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int rt_queue_failures(struct rt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    intptr_t n = (intptr_t)strmap_get(&q->failures, key);
    pthread_mutex_unlock(&q->mu);
    return (int)n;
}

/* ---- hand-out ---- */

static void wait_until(struct rt_queue *q, double due)
{
    if (due <= 0) {
        pthread_cond_wait(&q->cond, &q->mu);
        return;
    }
    struct timespec ts;
    ew_monotonic_deadline(&ts, due - ew_now_mono());
    pthread_cond_timedwait(&q->cond, &q->mu, &ts);
}

int rt_queue_get(struct rt_queue *q, char **key, double *queued_for)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stopped) {
            pthread_mutex_unlock(&q->mu);
            return 0;
        }
        double next_due = q->shutting_down ? 0 : promote_due(q);
        if (q->head < q->tail)
            break;
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->mu);
            return 0;
        }
        wait_until(q, next_due);
    }
    char *k = q->fifo[q->head++];
    struct pending *p = strmap_remove(&q->dirty, k);
    if (queued_for)
        *queued_for = p ? ew_now_mono() - p->added_at : 0;
    free(p);
    strmap_put(&q->processing, k, NULL);
    pthread_mutex_unlock(&q->mu);
    *key = k;
    return 1;
}

void rt_queue_done(struct rt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_remove(&q->processing, key);
    if (strmap_contains(&q->dirty, key))
        fifo_push(q, key);
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void rt_queue_shutdown(struct rt_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void rt_queue_stop(struct rt_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = 1;
    q->stopped = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

/* Bounded, because after rt_queue_stop processing only shrinks: no key is handed out
 * between two checks (with rt_queue_shutdown the workers took the next queued key
 * each time and the set was never seen empty until the queue was). */
int rt_queue_shutdown_drain(struct rt_queue *q, double grace_seconds)
{
    double end = ew_now_mono() + grace_seconds;
    rt_queue_stop(q);
    pthread_mutex_lock(&q->mu);
    while (strmap_size(&q->processing) > 0 && ew_now_mono() < end)
        wait_until(q, end);
    int drained = strmap_size(&q->processing) == 0;
    pthread_mutex_unlock(&q->mu);
    return drained;
}

int rt_queue_is_shutdown(struct rt_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int s = q->shutting_down;
    pthread_mutex_unlock(&q->mu);
    return s;
}

void rt_queue_get_stats(struct rt_queue *q, struct rt_queue_stats *out)
{
    pthread_mutex_lock(&q->mu);
    out->depth = q->tail - q->head;
    out->processing = strmap_size(&q->processing);
    out->waiting = strmap_size(&q->waiting);
    out->adds = q->adds;
    out->retries = q->retries;
    pthread_mutex_unlock(&q->mu);
}
