/*
 * httpserver.c: /healthz, /readyz and /metrics on libwebsockets (see httpserver.h).
 *
 * Each request is answered whole: the body is rendered into the session's
 * strbuf on LWS_CALLBACK_HTTP, headers are written at once, and the body on
 * the following LWS_CALLBACK_HTTP_WRITEABLE (lws_write needs LWS_PRE bytes of
 * headroom before the data, which the buffer reserves).
 */
#include "httpserver.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_http {
    struct rt_http_options o;
    struct lws_context *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    int stopping;
};

struct session {
    struct strbuf body; /* LWS_PRE bytes of headroom, then the body */
    unsigned int status;
    const char *content_type;
};

static void render(struct rt_http *h, const char *uri, struct session *s)
{
    strbuf_init(&s->body, 0);
    strbuf_grow(&s->body, LWS_PRE);
    memset(s->body.buf, 0, LWS_PRE);
    s->body.len = LWS_PRE;
    s->content_type = "text/plain; charset=utf-8";
    s->status = HTTP_STATUS_OK;
    if (strcmp(uri, "/healthz") == 0 || strcmp(uri, "/livez") == 0) {
        strbuf_adds(&s->body, "ok\n");
    } else if (strcmp(uri, "/readyz") == 0) {
        struct strbuf why = STRBUF_INIT;
        if (!h->o.ready || h->o.ready(h->o.ud, &why)) {
            strbuf_adds(&s->body, "ok\n");
        } else {
            s->status = HTTP_STATUS_SERVICE_UNAVAILABLE;
            strbuf_addf(&s->body, "not ready: %s\n", why.buf);
        }
        strbuf_release(&why);
    } else if (strcmp(uri, "/metrics") == 0 && h->o.metrics) {
        s->content_type = "text/plain; version=0.0.4; charset=utf-8";
        rt_metrics_render(h->o.metrics, &s->body);
    } else {
        s->status = HTTP_STATUS_NOT_FOUND;
        strbuf_adds(&s->body, "not found\n");
    }
}

static int write_headers(struct lws *wsi, struct session *s)
{
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    size_t len = s->body.len - LWS_PRE;
    if (lws_add_http_common_headers(wsi, s->status, s->content_type, (lws_filepos_t)len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct session *s = user;
    struct rt_http *h = lws_context_user(lws_get_context(wsi));
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        render(h, (const char *)in, s);
        return write_headers(wsi, s);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        size_t n = s->body.len - LWS_PRE;
        if (lws_write(wsi, (unsigned char *)s->body.buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) !=
            (int)n)
            return -1;
        strbuf_release(&s->body);
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        strbuf_release(&s->body);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    struct rt_http *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        int stop = h->stopping;
        pthread_mutex_unlock(&h->mu);
        if (stop || lws_service(h->ctx, 0) < 0)
            break;
    }
    return NULL;
}

struct rt_http *rt_http_start(const struct rt_http_options *opts)
{
    struct rt_http *h = ew_calloc(1, sizeof(*h));
    struct lws_context_creation_info info;
    h->o = *opts;
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.port = opts->port;
    info.iface = opts->bind_address;
    info.protocols = protocols;
    info.user = h;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        char port[16];
        snprintf(port, sizeof(port), "%d", opts->port);
        ew_log(opts->log, EW_LOG_ERROR, "cannot start the health/metrics server", "address",
               opts->bind_address ? opts->bind_address : "0.0.0.0", "port", port, NULL);
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    int e = pthread_create(&h->thread, NULL, service_main, h);
    if (e != 0) {
        ew_log(opts->log, EW_LOG_ERROR, "cannot start the health/metrics server thread", "error",
               strerror(e), NULL);
        lws_context_destroy(h->ctx);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    return h;
}

void rt_http_stop(struct rt_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    lws_cancel_service(h->ctx);
    pthread_join(h->thread, NULL);
    lws_context_destroy(h->ctx);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
