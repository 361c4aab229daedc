/*
 * kube_metrics.c: collector copying a client's counters into the registry
 * (see kube_metrics.h).
 */
#include "kube_metrics.h"

#include <stdlib.h>

struct rt_kube_metrics {
    struct rt_metrics *m;
    struct kube_client *c;
    char *cluster;
    struct rt_metric *requests, *retries, *watches;
};

static const char *const verb_names[] = {"get",    "list",  "watch",  "create",
                                         "update", "patch", "delete", "other"};

static void collect(void *ud, struct rt_metrics *m)
{
    struct rt_kube_metrics *km = ud;
    struct kube_client_stats st;
    (void)m;
    kube_client_get_stats(km->c, &st);
    for (int v = 0; v < 8; v++) {
        for (int k = 0; k < KUBE_STATUS_SLOTS; k++) {
            if (!st.codes[v][k])
                continue;
            const char *lv[] = {km->cluster, verb_names[v], kube_status_slot_name(k)};
            rt_metric_set(km->requests, lv, (double)st.codes[v][k]);
        }
    }
    const char *lc[] = {km->cluster};
    rt_metric_set(km->retries, lc, (double)st.retries);
    rt_metric_set(km->watches, lc, (double)st.watches_started);
}

struct rt_kube_metrics *rt_kube_metrics_add(struct rt_metrics *m, struct kube_client *c,
                                            const char *cluster)
{
    struct rt_kube_metrics *km = ew_calloc(1, sizeof(*km));
    km->m = m;
    km->c = c;
    km->cluster = ew_strdup(cluster);
    km->requests = rt_metrics_register(m, RT_COUNTER, "eastwest_api_requests_total",
                                       "Kubernetes API requests by cluster, verb and HTTP status "
                                       "(code \"error\": no answer).",
                                       "cluster,verb,code", NULL, 0);
    km->retries =
        rt_metrics_register(m, RT_COUNTER, "eastwest_api_retries_total",
                            "Requests retried after 429 or 5xx answers.", "cluster", NULL, 0);
    km->watches = rt_metrics_register(m, RT_COUNTER, "eastwest_watches_started_total",
                                      "Watch streams opened.", "cluster", NULL, 0);
    rt_metrics_add_collector(m, collect, km);
    return km;
}

void rt_kube_metrics_remove(struct rt_kube_metrics *km)
{
    if (!km)
        return;
    rt_metrics_remove_collector(km->m, collect, km);
    free(km->cluster);
    free(km);
}
