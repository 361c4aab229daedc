/*
 * metrics: a small Prometheus registry and its text exposition format.
 *
 * Families are counters, gauges or histograms with fixed label names. A
 * series is addressed by its label values (an array, in label-name order).
 * Updates take the registry mutex: they are cheap next to the API calls they
 * count. Collectors are callbacks run at scrape time for values that live
 * elsewhere (queue depth, reachability), so nothing has to be kept in sync.
 *
 * Rendering follows the exposition format 0.0.4: # HELP and # TYPE lines,
 * label values escaped (\\, \", \n), histogram _bucket{le=...} cumulative with
 * +Inf, _sum and _count.
 */
#ifndef EW_RT_METRICS_H
#define EW_RT_METRICS_H

#include "../base/strbuf.h"

#include <stddef.h>

enum rt_metric_type { RT_COUNTER, RT_GAUGE, RT_HISTOGRAM };

struct rt_metrics;
struct rt_metric;

struct rt_metrics *rt_metrics_new(void);
void rt_metrics_free(struct rt_metrics *m);

/* label_names: comma-separated ("verb,code") or NULL. buckets: upper bounds for
 * histograms (ascending), NULL for the default latency buckets. Registering a
 * name twice returns the existing family. */
struct rt_metric *rt_metrics_register(struct rt_metrics *m, enum rt_metric_type type,
                                      const char *name, const char *help, const char *label_names,
                                      const double *buckets, size_t nbuckets);

/* values: one per label name (NULL when the family has none). */
void rt_metric_add(struct rt_metric *f, const char *const *values, double delta);
void rt_metric_set(struct rt_metric *f, const char *const *values, double v);
void rt_metric_observe(struct rt_metric *f, const char *const *values, double v);
/* Current value of a counter/gauge series (0 when absent), for tests. */
double rt_metric_value(struct rt_metric *f, const char *const *values);
/* Remove the series whose label values match pattern, one per label name, where a
 * NULL value matches any (a pattern NULL: all). A gauge of something gone (a deleted
 * MeshNetwork, a member that left) goes with it: a stale series is a false reading.
 * f may be NULL (no metrics). Returns how many were removed. */
size_t rt_metric_remove(struct rt_metric *f, const char *const *pattern);
/* Remove every series of a family (for gauges rebuilt by a collector). */
void rt_metric_reset(struct rt_metric *f);

/* A collector runs before each render, outside the registry lock, to set gauges. */
void rt_metrics_add_collector(struct rt_metrics *m, void (*fn)(void *ud, struct rt_metrics *m),
                              void *ud);

/* Remove a collector added with the same fn and ud (before ud goes away). */
void rt_metrics_remove_collector(struct rt_metrics *m, void (*fn)(void *ud, struct rt_metrics *m),
                                 void *ud);

void rt_metrics_render(struct rt_metrics *m, struct strbuf *out);

#endif
