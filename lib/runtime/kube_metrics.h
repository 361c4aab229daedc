/*
 * kube_metrics: Prometheus series for what lib/kube counts per cluster.
 *
 *   eastwest_api_requests_total{cluster,verb,code}   requests by verb and HTTP status
 *   eastwest_api_retries_total{cluster}              429/5xx retries
 *   eastwest_watches_started_total{cluster}          watch streams opened
 *
 * The values live in the client (atomics); a collector copies them at scrape
 * time. Call rt_kube_metrics_remove before freeing the client.
 */
#ifndef EW_RT_KUBE_METRICS_H
#define EW_RT_KUBE_METRICS_H

#include "metrics.h"
#include "kube/client.h"

struct rt_kube_metrics;

struct rt_kube_metrics *rt_kube_metrics_add(struct rt_metrics *m, struct kube_client *c,
                                            const char *cluster);
void rt_kube_metrics_remove(struct rt_kube_metrics *km);

#endif
