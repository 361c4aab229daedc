/*
 * test_metrics.c: the Prometheus registry renders the text exposition format
 * exactly (HELP/TYPE, escaping, cumulative histogram buckets, collectors), and
 * the health server answers /healthz, /readyz and /metrics over real HTTP.
 */
#include "harness.h"
#include "netutil.h"
#include "base/timeutil.h"
#include "runtime/httpserver.h"
#include "runtime/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_counter_and_gauge(struct test_ctx *t)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *c =
        rt_metrics_register(m, RT_COUNTER, "eastwest_api_requests_total",
                            "API requests by verb and code.", "verb,code", NULL, 0);
    const char *a[] = {"get", "200"}, *b[] = {"list", "a\"b\\c\nd"};
    rt_metric_add(c, a, 1);
    rt_metric_add(c, a, 2);
    rt_metric_add(c, b, 1);
    struct rt_metric *g =
        rt_metrics_register(m, RT_GAUGE, "eastwest_leader", "1 when leading.", NULL, NULL, 0);
    rt_metric_set(g, NULL, 1);
    CHECK(t, rt_metric_value(c, a) == 3);
    CHECK(t, rt_metrics_register(m, RT_COUNTER, "eastwest_api_requests_total", "", "verb,code",
                                 NULL, 0) == c);
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    CHECK_CONTAINS(t, out.buf,
                   "# HELP eastwest_api_requests_total API requests by verb and "
                   "code.\n# TYPE eastwest_api_requests_total counter\n");
    CHECK_CONTAINS(t, out.buf, "eastwest_api_requests_total{verb=\"get\",code=\"200\"} 3\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_api_requests_total{verb=\"list\",code=\"a\\\"b\\\\c\\nd\"} 1\n");
    CHECK_CONTAINS(t, out.buf, "# TYPE eastwest_leader gauge\neastwest_leader 1\n");
    strbuf_release(&out);
    rt_metrics_free(m);
}

static void test_histogram(struct test_ctx *t)
{
    struct rt_metrics *m = rt_metrics_new();
    const double buckets[] = {0.1, 1, 10};
    struct rt_metric *h =
        rt_metrics_register(m, RT_HISTOGRAM, "eastwest_propagation_seconds",
                            "CR change to last member write.", "kind", buckets, 3);
    const char *k[] = {"CrossClusterService"};
    rt_metric_observe(h, k, 0.05);
    rt_metric_observe(h, k, 0.5);
    rt_metric_observe(h, k, 0.5);
    rt_metric_observe(h, k, 100);
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    CHECK_CONTAINS(t, out.buf, "# TYPE eastwest_propagation_seconds histogram\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_propagation_seconds_bucket{kind=\"CrossClusterService\","
                   "le=\"0.1\"} 1\n");
    CHECK_CONTAINS(t, out.buf, "le=\"1\"} 3\n");
    CHECK_CONTAINS(t, out.buf, "le=\"10\"} 3\n");
    CHECK_CONTAINS(t, out.buf, "le=\"+Inf\"} 4\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_propagation_seconds_sum{kind=\"CrossClusterService\"} 101.05\n");
    CHECK_CONTAINS(t, out.buf,
                   "eastwest_propagation_seconds_count{kind=\"CrossClusterService\"} 4\n");
    strbuf_release(&out);
    rt_metrics_free(m);
}

static void collect(void *ud, struct rt_metrics *m)
{
    int *calls = ud;
    (*calls)++;
    rt_metric_set(
        rt_metrics_register(m, RT_GAUGE, "eastwest_workqueue_depth", "Depth.", NULL, NULL, 0), NULL,
        *calls * 10);
}

static void test_collector(struct test_ctx *t)
{
    struct rt_metrics *m = rt_metrics_new();
    int calls = 0;
    rt_metrics_add_collector(m, collect, &calls);
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    strbuf_reset(&out);
    rt_metrics_render(m, &out);
    CHECK(t, calls == 2);
    CHECK_CONTAINS(t, out.buf, "eastwest_workqueue_depth 20\n");
    strbuf_release(&out);
    rt_metrics_free(m);
}

static int ready_flag;

static int is_ready(void *ud, struct strbuf *why)
{
    (void)ud;
    if (!ready_flag)
        strbuf_adds(why, "caches not synced");
    return ready_flag;
}

static void test_http_server(struct test_ctx *t)
{
    struct rt_metrics *m = rt_metrics_new();
    rt_metric_add(rt_metrics_register(m, RT_COUNTER, "eastwest_test_total", "T.", NULL, NULL, 0),
                  NULL, 5);
    int port = test_free_port();
    struct rt_http_options o = {"127.0.0.1", port, m, is_ready, NULL, NULL};
    struct rt_http *h = rt_http_start(&o);
    REQUIRE(t, h != NULL);
    char *r = test_http_get(port, "/healthz");
    CHECK_CONTAINS(t, r, "HTTP/1.1 200");
    free(r);
    ready_flag = 0;
    r = test_http_get(port, "/readyz");
    CHECK_CONTAINS(t, r, "HTTP/1.1 503");
    CHECK_CONTAINS(t, r, "not ready: caches not synced");
    free(r);
    ready_flag = 1;
    r = test_http_get(port, "/readyz");
    CHECK_CONTAINS(t, r, "HTTP/1.1 200");
    free(r);
    r = test_http_get(port, "/metrics");
    CHECK_CONTAINS(t, r, "text/plain; version=0.0.4");
    CHECK_CONTAINS(t, r, "eastwest_test_total 5\n");
    free(r);
    r = test_http_get(port, "/nope");
    CHECK_CONTAINS(t, r, "HTTP/1.1 404");
    free(r);
    rt_http_stop(h);
    rt_metrics_free(m);
}

/* rt_metric_remove: the series matching a pattern go (NULL matches any value), the
 * others stay, and a family without series renders no sample. */
static void test_remove_series(struct test_ctx *t)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *g = rt_metrics_register(m, RT_GAUGE, "eastwest_certificate_expiry", "x",
                                              "mesh,cluster,kind", NULL, 0);
    const char *a[] = {"m1", "us", "intermediate"}, *b[] = {"m1", "", "root"},
               *c[] = {"m2", "us", "intermediate"};
    rt_metric_set(g, a, 1);
    rt_metric_set(g, b, 2);
    rt_metric_set(g, c, 3);
    const char *one[] = {"m1", "us", "intermediate"};
    CHECK(t, rt_metric_remove(g, one) == 1);
    const char *none[] = {"m3", NULL, NULL};
    CHECK(t, rt_metric_remove(g, none) == 0);
    struct strbuf out = STRBUF_INIT;
    rt_metrics_render(m, &out);
    CHECK(t, strstr(out.buf, "cluster=\"us\",kind=\"intermediate\"} 3") != NULL);
    CHECK(t, strstr(out.buf, "mesh=\"m1\",cluster=\"us\"") == NULL);
    CHECK(t, strstr(out.buf, "mesh=\"m1\",cluster=\"\",kind=\"root\"} 2") != NULL);
    const char *mesh1[] = {"m1", NULL, NULL};
    CHECK(t, rt_metric_remove(g, mesh1) == 1);
    CHECK(t, rt_metric_remove(g, NULL) == 1);
    CHECK(t, rt_metric_remove(NULL, mesh1) == 0);
    strbuf_reset(&out);
    rt_metrics_render(m, &out);
    CHECKF(t, strstr(out.buf, "eastwest_certificate_expiry{") == NULL, "left: %s", out.buf);
    strbuf_release(&out);
    rt_metrics_free(m);
}

static const struct test_case cases[] = {
    {"remove_series", test_remove_series}, {"counter_and_gauge", test_counter_and_gauge},
    {"histogram", test_histogram},         {"collector", test_collector},
    {"http_server", test_http_server},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
