/*
 * watch.c: streaming watches on the client's transport.
 *
 * A watch is one long GET ?watch=1 transfer. Its write callback feeds the
 * framing parser (watch_parser.c), which calls the user's on_event for each
 * ADDED/MODIFIED/DELETED/BOOKMARK event, on the transport thread. An ERROR
 * event ends the watch: its Status becomes the result (KUBE_E_GONE for 410
 * Expired/Gone, which tells the caller to relist). When the transfer ends the
 * user's on_done is called once with the outcome: KUBE_OK for a normal close
 * by the server (timeoutSeconds), the Status error, a non-2xx answer, or the
 * transport failure. A 401 invalidates the credentials that were used, so the
 * caller's re-watch refreshes them.
 *
 * The idle timeout uses curl's low-speed limit (fewer than 1 byte/s over the
 * period aborts), which catches half-dead connections that TCP keepalive
 * would take long to notice. Choose it above the server's bookmark interval.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define WATCH_ERROR_BODY_MAX (64 * 1024)
#define WATCH_EVENT_MAX      (64 * 1024 * 1024)

struct kube_watch {
    struct kube_xfer x; /* first: the transport hands back &x */
    struct kube_client *client;
    struct kube_conn *conn;
    unsigned long cred_generation;
    struct kube_easy_lists lists;
    struct kube_watch_parser parser;
    kube_watch_event_fn on_event;
    kube_watch_done_fn on_done;
    void *ud;
    struct strbuf error_body; /* body of a non-2xx answer */
    struct kube_error result; /* set by an ERROR event or a parse failure */
    int have_result;
    char errbuf[CURL_ERROR_SIZE];
    char *url;        /* for messages */
    void *ops_handle; /* the implementation's watch, for a client with ops */
};

static int forward_event(void *ud, struct kube_watch_event *ev)
{
    struct kube_watch *w = ud;
    if (ev->type == KUBE_EVENT_ERROR) {
        kube_status_from_json(&w->result, ev->object);
        kube_error_prefix(&w->result, "watch %s", w->url);
        w->have_result = 1;
        return 1;
    }
    return w->on_event(w->ud, ev);
}

static size_t watch_write(char *p, size_t size, size_t n, void *ud)
{
    struct kube_watch *w = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        if (w->error_body.len < WATCH_ERROR_BODY_MAX)
            strbuf_add(&w->error_body, p, len);
        return len;
    }
    struct kube_error perr = KUBE_ERROR_INIT;
    kube_code rc = kube_watch_parser_feed(&w->parser, p, len, forward_event, w, &perr);
    if (rc == KUBE_OK)
        return len;
    if (!w->have_result) {
        /* a framing error, or the handler asked to stop (an ERROR event set the result) */
        kube_error_clear(&w->result);
        w->result = perr;
        kube_error_prefix(&w->result, "watch %s", w->url);
        w->have_result = 1;
    } else {
        kube_error_clear(&perr);
    }
    return 0; /* abort the transfer */
}

static void watch_done(struct kube_xfer *x, CURLcode crc)
{
    struct kube_watch *w = (struct kube_watch *)x;
    struct kube_error e = KUBE_ERROR_INIT;
    long status = 0;
    kube_code rc = KUBE_OK;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    kube_client_count_answer(w->client, KUBE_VERB_WATCH, status);
    if (w->have_result) {
        rc = w->result.code;
        w->on_done(w->ud, rc, &w->result);
        return;
    }
    if (status && (status < 200 || status >= 300)) {
        rc = kube_status_parse(&e, status, w->error_body.buf, w->error_body.len, NULL);
        kube_error_prefix(&e, "watch %s", w->url);
        if (rc == KUBE_E_UNAUTHORIZED)
            kube_auth_invalidate(w->conn->auth, w->cred_generation);
    } else if (crc != CURLE_OK) {
        rc = kube_error_from_curl(&e, crc, w->errbuf, "watch", w->url);
    } else if (kube_watch_parser_has_partial(&w->parser)) {
        rc = kube_error_set(&e, KUBE_E_PROTOCOL, "watch %s: stream ended inside an event", w->url);
    }
    if (rc != KUBE_OK)
        atomic_fetch_add(&w->client->errors, 1);
    w->on_done(w->ud, rc, rc == KUBE_OK ? NULL : &e);
    kube_error_clear(&e);
}

static void watch_path(struct strbuf *path, const struct kube_resource *r, const char *ns,
                       const struct kube_watch_options *o)
{
    kube_resource_path(path, r, ns, NULL, NULL);
    strbuf_adds(path, "?watch=1");
    if (o->allow_bookmarks)
        strbuf_adds(path, "&allowWatchBookmarks=true");
    if (o->resource_version && *o->resource_version) {
        strbuf_adds(path, "&resourceVersion=");
        strbuf_add_urlencoded(path, o->resource_version);
    }
    if (o->label_selector && *o->label_selector) {
        strbuf_adds(path, "&labelSelector=");
        strbuf_add_urlencoded(path, o->label_selector);
    }
    if (o->field_selector && *o->field_selector) {
        strbuf_adds(path, "&fieldSelector=");
        strbuf_add_urlencoded(path, o->field_selector);
    }
    if (o->timeout_seconds > 0)
        strbuf_addf(path, "&timeoutSeconds=%ld", o->timeout_seconds);
}

static void watch_free(struct kube_watch *w)
{
    if (w->x.easy)
        curl_easy_cleanup(w->x.easy);
    kube_easy_lists_release(&w->lists);
    kube_watch_parser_release(&w->parser);
    strbuf_release(&w->error_body);
    kube_error_clear(&w->result);
    kube_conn_put(w->conn);
    free(w->url);
    free(w);
}

/* A client with ops: the implementation runs the watch; w only remembers its handle. */
static kube_code watch_start_ops(struct kube_client *c, const struct kube_resource *r,
                                 const char *ns, const struct kube_watch_options *opts,
                                 kube_watch_event_fn on_event, kube_watch_done_fn on_done, void *ud,
                                 struct kube_watch **out, struct kube_error *err)
{
    void *handle = NULL;
    kube_code rc = c->ops->watch_start(c->impl, r, ns, opts, on_event, on_done, ud, &handle, err);
    kube_client_count_ops_call(c, KUBE_VERB_WATCH, rc, err);
    if (rc != KUBE_OK)
        return rc;
    struct kube_watch *w = ew_calloc(1, sizeof(*w));
    w->client = c;
    w->ops_handle = handle;
    *out = w;
    return KUBE_OK;
}

kube_code kube_watch_start(struct kube_client *c, const struct kube_resource *r, const char *ns,
                           const struct kube_watch_options *opts, kube_watch_event_fn on_event,
                           kube_watch_done_fn on_done, void *ud, struct kube_watch **out,
                           struct kube_error *err)
{
    if (c->ops)
        return watch_start_ops(c, r, ns, opts, on_event, on_done, ud, out, err);
    struct kube_watch_options o = opts ? *opts : (struct kube_watch_options){0};
    struct kube_watch *w = ew_calloc(1, sizeof(*w));
    struct kube_creds creds;
    w->client = c;
    w->on_event = on_event;
    w->on_done = on_done;
    w->ud = ud;
    w->conn = kube_client_conn_get(c);
    strbuf_init(&w->error_body, 0);
    kube_watch_parser_init(&w->parser, WATCH_EVENT_MAX);
    kube_code rc = kube_auth_get(w->conn->auth, &creds, err);
    if (rc != KUBE_OK) {
        watch_free(w);
        return rc;
    }
    w->cred_generation = creds.generation;
    struct strbuf path = STRBUF_INIT;
    watch_path(&path, r, ns, &o);
    struct strbuf url = STRBUF_INIT;
    strbuf_addf(&url, "%s%s", w->conn->server, path.buf);
    w->url = strbuf_detach(&url, NULL);
    w->x.easy = curl_easy_init();
    if (!w->x.easy)
        ew_oom(0);
    kube_easy_setup(c, w->conn, &creds, "GET", path.buf, NULL, w->x.easy, &w->lists);
    kube_creds_release(&creds);
    strbuf_release(&path);
    curl_easy_setopt(w->x.easy, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(w->x.easy, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->x.easy, CURLOPT_ERRORBUFFER, w->errbuf);
    if (o.idle_timeout_ms > 0) {
        long secs = (o.idle_timeout_ms + 999) / 1000;
        curl_easy_setopt(w->x.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(w->x.easy, CURLOPT_LOW_SPEED_TIME, secs);
    }
    w->x.on_done = watch_done;
    atomic_fetch_add(&c->requests, 1);
    atomic_fetch_add(&c->by_verb[KUBE_VERB_WATCH], 1);
    atomic_fetch_add(&c->watches_started, 1);
    kube_transport_submit(c->tp, &w->x);
    *out = w;
    return KUBE_OK;
}

void kube_watch_stop(struct kube_watch *w)
{
    if (!w)
        return;
    if (w->client->ops) {
        w->client->ops->watch_stop(w->client->impl, w->ops_handle);
        free(w);
        return;
    }
    kube_transport_cancel(w->client->tp, &w->x);
    watch_free(w);
}
