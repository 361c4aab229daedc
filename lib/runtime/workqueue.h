/*
 * workqueue: the controller's queue of keys to reconcile.
 *
 * Semantics (client-go's workqueue, which operators rely on):
 *  - a key is handed to at most one worker at a time;
 *  - adding a key that is already queued does nothing (bursts coalesce);
 *  - adding a key while a worker processes it marks it dirty: it is queued
 *    again, once, when the worker calls rt_queue_done;
 *  - rt_queue_add_after queues a key after a delay (the earliest wins);
 *  - rt_queue_add_rate_limited queues after the larger of a per-key
 *    exponential backoff (base 5 ms doubling, capped) and an overall token
 *    bucket (qps, burst); rt_queue_forget resets the key's backoff;
 *  - rt_queue_shutdown stops new adds; workers get what is queued, then 0;
 *  - rt_queue_stop stops new adds and the hand-out: workers get 0 at once, and
 *    what was still queued is dropped with the queue (level-triggered
 *    controllers see every object again when they next start). A process that
 *    is shutting down stops taking work this way, and rt_queue_shutdown_drain
 *    then waits only for the keys already handed out.
 *
 * Thread-safe: one mutex and one condition variable; get blocks.
 */
#ifndef EW_RT_WORKQUEUE_H
#define EW_RT_WORKQUEUE_H

#include <stddef.h>

struct rt_queue_options {
    double base_delay; /* first failure backoff; 0 = 0.005 s */
    double max_delay;  /* cap of the per-key backoff; 0 = 300 s */
    double qps;        /* overall rate limit of rate-limited adds; 0 = 10 */
    int burst;         /* bucket size; 0 = 100 */
};

struct rt_queue_stats {
    size_t depth;      /* keys waiting to be handed out */
    size_t processing; /* keys being processed */
    size_t waiting;    /* keys waiting for a delay */
    unsigned long adds;
    unsigned long retries; /* rate-limited adds */
};

struct rt_queue;

struct rt_queue *rt_queue_new(const struct rt_queue_options *opts);
void rt_queue_free(struct rt_queue *q);

void rt_queue_add(struct rt_queue *q, const char *key);
void rt_queue_add_after(struct rt_queue *q, const char *key, double seconds);
/* Returns the delay chosen. */
double rt_queue_add_rate_limited(struct rt_queue *q, const char *key);
void rt_queue_forget(struct rt_queue *q, const char *key);
int rt_queue_failures(struct rt_queue *q, const char *key);

/* Block until a key is available: returns 1 and sets *key (caller frees it after
 * rt_queue_done) and *queued_for (seconds it waited in the queue, may be NULL).
 * Returns 0 after shutdown once nothing is left. */
int rt_queue_get(struct rt_queue *q, char **key, double *queued_for);
void rt_queue_done(struct rt_queue *q, const char *key);

void rt_queue_shutdown(struct rt_queue *q);
void rt_queue_stop(struct rt_queue *q);
/* Stop (rt_queue_stop), then wait until no key is being processed or the grace period
 * ends. Returns 1 if drained in time. */
int rt_queue_shutdown_drain(struct rt_queue *q, double grace_seconds);
/* 1 after rt_queue_shutdown or rt_queue_stop. */
int rt_queue_is_shutdown(struct rt_queue *q);

void rt_queue_get_stats(struct rt_queue *q, struct rt_queue_stats *out);

#endif
