/*
 * reflector: keeps a store equal to the server's state of one
 * (cluster, resource, namespace, label selector), and reports changes.
 *
 * The state machine (kube-rs' watcher, client-go's Reflector):
 *
 *   LIST ──ok──> WATCH(from the list's resourceVersion, with bookmarks)
 *    ^              │ every event (bookmarks too) advances the resourceVersion
 *    │              ├─ server closed the stream (timeoutSeconds) ──> WATCH again at once
 *    │              ├─ stream dropped / API server down ──> backoff, WATCH from the last RV
 *    └─ 410 Expired/Gone ───────────────────────────────────────┘ (relist and replace:
 *                                       objects gone meanwhile are reported deleted)
 *
 * Failures back off 0.8 s doubling to 30 s with jitter; the backoff resets after
 * two minutes of healthy watching. Lists are paged. Each reflector runs one
 * thread for list/backoff decisions; events arrive on the client's transport
 * thread and are applied to the store there, then passed to the handler.
 */
#ifndef EW_RT_REFLECTOR_H
#define EW_RT_REFLECTOR_H

#include "metrics.h"
#include "store.h"
#include "kube/client.h"

enum rt_change { RT_UPSERT, RT_DELETE };

/* Called after the store changed. obj is the new object (UPSERT) or the last
 * known one (DELETE); valid only during the call. Runs on the transport thread or
 * the reflector thread: be quick (enqueue keys). */
typedef void (*rt_change_fn)(void *ud, enum rt_change change, const char *key, const cJSON *obj);

/* A computed index of the store: one value (rt_store_add_index) or several
 * (rt_store_add_index_values); set one of the two. */
struct rt_index {
    const char *name;
    rt_index_fn value;
    rt_index_values_fn values;
};

struct rt_reflector_options {
    struct kube_client *client;
    const struct kube_resource *resource;
    const char *namespace_;     /* NULL = all namespaces */
    const char *label_selector; /* may be NULL */
    const char *field_selector; /* may be NULL */
    const char *const *index_labels;
    size_t nindex;
    /* Indexes by a value computed from each object (store.h), queried by name. */
    const struct rt_index *indexes;
    size_t nindexes;
    /* What the store keeps of each object (client-go's transform functions): called on
     * every object listed or watched (a deleted one too) before the store and on_change
     * see it. Takes obj; returns the object to keep, obj changed in place or a new one
     * (then it frees obj), or NULL to ignore that object. What it returns must keep
     * metadata.name, metadata.namespace (the key) and metadata.resourceVersion (how the
     * store tells a change). For caches of large, numerous objects (pods) of which a
     * controller reads a few fields. NULL: objects are kept whole (trimmed, store.h).
     * Same threads as on_change: be quick. */
    cJSON *(*transform)(cJSON *obj);
    rt_change_fn on_change;
    void *ud;
    /* Called when the reflector starts or stops failing (a list or watch error; a
     * successful list or any watch event ends it). May be NULL. Same threads as
     * on_change: be quick. */
    void (*on_health)(void *ud, int healthy);
    struct ew_logger *log;
    /* Gauges of what the cache holds (objects, estimated heap bytes) by cluster,
     * resource, selector and owner (the controller that reads it), set when metrics
     * are rendered. May be NULL. */
    struct rt_metrics *metrics;
    const char *owner;
    long page_size;         /* 0 = 500 */
    long watch_timeout_s;   /* 0 = 300 (jittered up to +20%) */
    long idle_timeout_ms;   /* 0 = 180000 */
    double backoff_initial; /* 0 = 0.8 */
    double backoff_max;     /* 0 = 30 */
};

struct rt_reflector_stats {
    unsigned long lists;   /* initial list included */
    unsigned long relists; /* lists after the first */
    unsigned long watches; /* watch streams opened */
    unsigned long watch_errors;
    unsigned long events;
    int synced;
};

struct rt_reflector;

/* Never NULL. If its thread cannot be created (logged), the reflector never lists:
 * its store stays empty, rt_reflector_synced stays 0 and rt_reflector_healthy reports
 * the error, so nothing reconciles on a cache that will not fill (a controller's
 * workers wait for sync, /readyz stays 503), and every caller's handling of an
 * unsynced cache applies unchanged. */
struct rt_reflector *rt_reflector_start(const struct rt_reflector_options *opts);
/* Stop the thread and the watch; after return no handler call runs. Frees. */
void rt_reflector_stop(struct rt_reflector *r);
struct rt_store *rt_reflector_store(struct rt_reflector *r);
/* The object a write of ours returned (takes it; NULL is nothing): into the store when
 * newer than what it holds (rt_store_upsert_if_newer), through the transform, without
 * on_change: the controller that wrote it knows. The watch event that brings it later
 * is then no change, and queues nothing. */
void rt_reflector_written(struct rt_reflector *r, cJSON *obj);
/* True once the first list has been stored. */
int rt_reflector_synced(struct rt_reflector *r);
/* Wait until synced or timeout; returns synced. */
int rt_reflector_wait_synced(struct rt_reflector *r, double timeout);
void rt_reflector_get_stats(struct rt_reflector *r, struct rt_reflector_stats *out);
/* 1 when the last list or watch worked, 0 after a failure (then *error, if not NULL,
 * gets a copy of its message: caller frees). Not synced yet counts as not healthy. */
int rt_reflector_healthy(struct rt_reflector *r, char **error);
/* Copy of the last resourceVersion seen (caller frees). */
char *rt_reflector_resource_version(struct rt_reflector *r);

#endif
