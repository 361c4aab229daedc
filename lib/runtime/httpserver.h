/*
 * httpserver: the operator's health and metrics endpoints on libwebsockets.
 *
 *   GET /healthz  200 "ok" while the process is alive and its loop turns
 *   GET /readyz   200 "ok" once the caches have synced; 503 with the reason before
 *   GET /metrics  Prometheus text exposition (version 0.0.4) of a registry
 *
 * One lws service thread; handlers run on it, so they must be quick (they read
 * counters and flags).
 */
#ifndef EW_RT_HTTPSERVER_H
#define EW_RT_HTTPSERVER_H

#include "metrics.h"
#include "../base/log.h"
#include "../base/strbuf.h"

struct rt_http_options {
    const char *bind_address; /* NULL = all interfaces */
    int port;
    struct rt_metrics *metrics;
    /* Return 1 when ready; otherwise append the reason to why. */
    int (*ready)(void *ud, struct strbuf *why);
    void *ud;
    struct ew_logger *log;
};

struct rt_http;

/* Returns NULL (and logs) when the port cannot be bound or the thread not started. */
struct rt_http *rt_http_start(const struct rt_http_options *opts);
void rt_http_stop(struct rt_http *h);

#endif
