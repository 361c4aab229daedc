/*
 * controller: reconcile loop over a work queue, fed by reflectors.
 *
 * A controller has a primary resource (its keys are the queue's keys) and any
 * number of secondary watches in any member cluster, each with a mapper from a
 * changed object to the primary keys it affects. Workers take keys from the
 * queue (never two workers on one key) and call reconcile, which computes the
 * whole desired state for that key (level-triggered) and answers:
 *   RT_DONE            forget the key's backoff
 *   RT_REQUEUE_AFTER   look again after `after` seconds (no backoff)
 *   RT_ERROR           requeue with the per-key exponential backoff
 * Metrics: eastwest_reconcile_total{controller,result},
 * eastwest_reconcile_duration_seconds{controller}, eastwest_workqueue_depth,
 * eastwest_workqueue_queue_duration_seconds.
 */
#ifndef EW_RT_CONTROLLER_H
#define EW_RT_CONTROLLER_H

#include "metrics.h"
#include "reflector.h"
#include "workqueue.h"

enum rt_result_kind { RT_DONE, RT_REQUEUE_AFTER, RT_ERROR };

struct rt_result {
    enum rt_result_kind kind;
    double after; /* RT_REQUEUE_AFTER */
};

typedef struct rt_result (*rt_reconcile_fn)(void *ud, const char *key);
/* Append the primary keys affected by a change of obj (key is the secondary's key;
 * change says whether it was deleted, obj then its last known state). */
typedef void (*rt_mapper_fn)(void *ud, enum rt_change change, const char *key, const cJSON *obj,
                             void (*emit)(void *q, const char *primary_key), void *q);

/* The same, told how long the key waited in the queue (for propagation latency). */
typedef struct rt_result (*rt_reconcile_waited_fn)(void *ud, const char *key, double queued_for);

struct rt_controller_options {
    const char *name;
    int workers; /* 0 = 2 */
    rt_reconcile_fn reconcile;
    void *ud;
    struct rt_queue_options queue;
    struct rt_metrics *metrics; /* may be NULL */
    struct ew_logger *log;
    rt_reconcile_waited_fn reconcile_waited; /* used instead of reconcile when set */
};

struct rt_controller;

struct rt_controller *rt_controller_new(const struct rt_controller_options *opts);
/* Watch the primary resource: every change queues its key. The controller owns the
 * reflector. opts->on_change/ud are replaced. */
struct rt_reflector *rt_controller_watch_primary(struct rt_controller *c,
                                                 const struct rt_reflector_options *opts);
/* Watch a secondary resource; mapper turns its changes into primary keys. */
struct rt_reflector *rt_controller_watch(struct rt_controller *c,
                                         const struct rt_reflector_options *opts,
                                         rt_mapper_fn mapper, void *mapper_ud);
void rt_controller_enqueue(struct rt_controller *c, const char *key);
/* Queue key in seconds (the earliest wins when it is already waiting): changes that
 * come in a burst within that time are one reconcile. */
void rt_controller_enqueue_after(struct rt_controller *c, const char *key, double seconds);
/* Start the workers (call when leading). Returns 0, or -1 (logged) when a worker thread
 * could not be created; those that were keep running. */
int rt_controller_run(struct rt_controller *c);
/* True when every reflector has synced. */
int rt_controller_synced(struct rt_controller *c);

/* Shutdown, in steps, so that one process can give all its controllers one grace:
 *   rt_controller_shutdown  stop taking work at once: no queued key is taken any
 *                           more; workers end after the reconcile they are in;
 *   rt_controller_wait      wait for the workers until `deadline` (ew_now_mono()
 *                           seconds); 1 when none is left (they are joined), 0 (logged)
 *                           when reconciles still run: then the controller, its caches
 *                           and whatever its reconciler uses must stay allocated;
 *   rt_controller_stop      both, with deadline now + grace, then the watches are
 *                           stopped if the workers are gone (not otherwise: a running
 *                           reconcile reads their caches). Returns what wait returned.
 * rt_controller_free waits for running workers without a limit before it frees: a
 * caller that must be bounded checks rt_controller_stop/wait and does not free. */
void rt_controller_shutdown(struct rt_controller *c);
int rt_controller_wait(struct rt_controller *c, double deadline);
int rt_controller_stop(struct rt_controller *c, double grace);
void rt_controller_free(struct rt_controller *c);
struct rt_queue *rt_controller_queue(struct rt_controller *c);

#endif
