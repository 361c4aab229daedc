/*
 * events: Kubernetes Events (events.k8s.io/v1) about the operator's objects.
 *
 * What kubectl describe shows under "Events". Like client-go's recorder:
 *  - an event identical to one recorded in the last 6 minutes (same object,
 *    type, reason, action and note) is folded into that Event's series
 *    (series.count, series.lastObservedTime) instead of creating another;
 *  - each object has a token bucket (burst 25, one more every 5 minutes) so a
 *    reconcile loop gone wrong cannot flood the API server;
 *  - failures to record are logged, never returned: events are best effort.
 * Events for cluster-scoped objects go to the "default" namespace.
 *
 * A controller records through rt_record: the Event and a log line with the
 * same note, so that what kubectl describe shows is in the operator's log too.
 */
#ifndef EW_RT_EVENTS_H
#define EW_RT_EVENTS_H

#include "kube/client.h"

struct rt_object_ref {
    const char *api_version;
    const char *kind;
    const char *namespace_; /* NULL for cluster-scoped */
    const char *name;
    const char *uid;
};

struct rt_recorder_options {
    struct kube_client *client;
    const char *controller; /* reportingController, e.g. "eastwest.io/eastwest-operator" */
    const char *instance;   /* reportingInstance: this process */
    struct ew_logger *log;
    int burst;       /* 0 = 25 */
    double refill_s; /* 0 = 300: seconds per token */
};

struct rt_recorder;

struct rt_recorder *rt_recorder_new(const struct rt_recorder_options *opts);
void rt_recorder_free(struct rt_recorder *r);

/* type: "Normal" or "Warning". Returns 1 if created, 2 if folded into a series,
 * 0 if dropped by the rate limit or failed. */
int rt_event(struct rt_recorder *r, const struct rt_object_ref *regarding, const char *type,
             const char *reason, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Where a controller's Events about one object go: the recorder (NULL: log only) and
 * a log line "<log_key>=<name> [namespace=<ns>] reason=<reason>". */
struct rt_event_target {
    struct rt_recorder *recorder;
    struct ew_logger *log;
    const char *log_key; /* e.g. "meshnetwork" */
    const struct rt_object_ref *regarding;
};

/* Log the note (warn for "Warning", else info) and record it as an Event on
 * t->regarding. Best effort, like rt_event. */
void rt_record(const struct rt_event_target *t, const char *type, const char *reason,
               const char *action, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
