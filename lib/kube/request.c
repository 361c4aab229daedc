/*
 * request.c: the client object and one synchronous HTTP exchange.
 *
 * kube_request builds a curl easy handle for the current connection settings
 * and credentials, hands it to the transport thread, and sleeps until it
 * completes. A non-2xx answer becomes a typed error from the Status body.
 * Retries happen here and only here: 429 and retryable 5xx answers wait for
 * Retry-After (or a doubling backoff) and go again, bounded by max_retries and
 * max_retry_wait (and by the caller's deadline, kube_request_by: no attempt runs or
 * waits past it); a 401 with refreshable credentials (token file, exec plugin)
 * refreshes them and goes again once. Transport errors (connection refused,
 * TLS failure) are returned at once: the caller's backoff decides.
 */
#include "internal.h"
#include "../base/timeutil.h"

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_REQUEST_TIMEOUT_MS 60000L
#define DEFAULT_MAX_RETRIES        5
#define DEFAULT_MAX_RETRY_WAIT     30.0
#define ERROR_BODY_MAX             (64 * 1024)

/* ---- connection settings ---- */

static char *url_with_host(const char *server, const char *host, char **connect_to)
{
    /* server is scheme://authority[/prefix]; replace the host of the authority */
    const char *auth = strstr(server, "://");
    if (!auth)
        return NULL;
    auth += 3;
    const char *end = auth + strcspn(auth, "/?#");
    /* userinfo (user:password@) stays in the URL as it was; the host starts after it */
    for (const char *at = auth; at < end; at++)
        if (*at == '@')
            auth = at + 1;
    const char *colon = NULL;
    if (*auth == '[') {
        const char *rb = memchr(auth, ']', (size_t)(end - auth));
        colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(auth, ':', (size_t)(end - auth));
    }
    const char *host_end = colon ? colon : end;
    const char *port = colon ? colon + 1 : (strncmp(server, "https", 5) == 0 ? "443" : "80");
    size_t port_len = colon ? (size_t)(end - colon - 1) : strlen(port);
    struct strbuf url = STRBUF_INIT, ct = STRBUF_INIT;
    strbuf_add(&url, server, (size_t)(auth - server));
    strbuf_adds(&url, host);
    strbuf_add(&url, host_end, strlen(host_end));
    strbuf_addf(&ct, "%s:%.*s:", host, (int)port_len, port);
    strbuf_add(&ct, auth, (size_t)(host_end - auth));
    strbuf_addf(&ct, ":%.*s", (int)port_len, port);
    *connect_to = strbuf_detach(&ct, NULL);
    return strbuf_detach(&url, NULL);
}

static kube_code conn_new(const struct kube_rest_config *cfg, struct ew_logger *log,
                          const char *name, struct kube_conn **out, struct kube_error *err)
{
    if (!cfg->server || !*cfg->server)
        return kube_error_set(err, KUBE_E_CONFIG, "%s: no server", cfg->source ? cfg->source : "");
    struct kube_conn *conn = ew_calloc(1, sizeof(*conn));
    atomic_init(&conn->refs, 1);
    conn->server = kube_url_redacted(cfg->server); /* shown only: userinfo redacted */
    if (cfg->tls_server_name && *cfg->tls_server_name)
        conn->url_base = url_with_host(cfg->server, cfg->tls_server_name, &conn->connect_to);
    if (!conn->url_base)
        conn->url_base = ew_strdup(cfg->server);
    if (cfg->ca.len) {
        conn->ca.data = ew_malloc(cfg->ca.len + 1);
        memcpy(conn->ca.data, cfg->ca.data, cfg->ca.len);
        conn->ca.data[cfg->ca.len] = '\0';
        conn->ca.len = cfg->ca.len;
    }
    conn->insecure = cfg->insecure_skip_tls_verify;
    if (conn->insecure)
        ew_log(log, EW_LOG_WARN,
               "insecure-skip-tls-verify is set: the server's certificate is NOT verified",
               "cluster", name, "server", conn->server, "source", cfg->source, NULL);
    kube_code rc = kube_auth_new(cfg, log, &conn->auth, err);
    if (rc != KUBE_OK) {
        kube_conn_put(conn);
        return rc;
    }
    *out = conn;
    return KUBE_OK;
}

void kube_conn_put(struct kube_conn *conn)
{
    if (!conn || atomic_fetch_sub(&conn->refs, 1) != 1)
        return;
    free(conn->server);
    free(conn->url_base);
    free(conn->connect_to);
    free(conn->ca.data);
    kube_auth_free(conn->auth);
    free(conn);
}

struct kube_conn *kube_client_conn_get(struct kube_client *c)
{
    pthread_mutex_lock(&c->mu);
    struct kube_conn *conn = c->conn;
    atomic_fetch_add(&conn->refs, 1);
    pthread_mutex_unlock(&c->mu);
    return conn;
}

/* ---- client ---- */

void kube_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void kube_global_cleanup(void)
{
    curl_global_cleanup();
}

kube_code kube_client_new(const struct kube_rest_config *cfg,
                          const struct kube_client_options *opts, struct kube_client **out,
                          struct kube_error *err)
{
    struct kube_client *c = ew_calloc(1, sizeof(*c));
    if (opts)
        c->opts = *opts;
    c->log = c->opts.log;
    c->name = c->opts.name        ? ew_strdup(c->opts.name)
              : cfg->context_name ? ew_strdup(cfg->context_name)
                                  : kube_url_redacted(cfg->server);
    c->opts.name = c->name;
    if (!c->opts.connect_timeout_ms)
        c->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (!c->opts.request_timeout_ms)
        c->opts.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
    if (!c->opts.max_retries)
        c->opts.max_retries = DEFAULT_MAX_RETRIES;
    if (c->opts.max_retry_wait <= 0)
        c->opts.max_retry_wait = DEFAULT_MAX_RETRY_WAIT;
    pthread_mutex_init(&c->mu, NULL);
    kube_code rc = conn_new(cfg, c->log, c->name, &c->conn, err);
    if (rc == KUBE_OK)
        rc = kube_transport_new(&c->tp, err);
    if (rc != KUBE_OK) {
        kube_conn_put(c->conn);
        pthread_mutex_destroy(&c->mu);
        free(c->name);
        free(c);
        return rc;
    }
    *out = c;
    return KUBE_OK;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    if (c->ops && c->ops->release)
        c->ops->release(c->impl);
    kube_transport_free(c->tp);
    kube_conn_put(c->conn);
    pthread_mutex_destroy(&c->mu);
    free(c->name);
    free(c);
}

kube_code kube_client_set_config(struct kube_client *c, const struct kube_rest_config *cfg,
                                 struct kube_error *err)
{
    if (c->ops)
        return c->ops->set_config ? c->ops->set_config(c->impl, cfg, err) : KUBE_OK;
    struct kube_conn *conn;
    kube_code rc = conn_new(cfg, c->log, c->name, &conn, err);
    if (rc != KUBE_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    struct kube_conn *old = c->conn;
    c->conn = conn;
    pthread_mutex_unlock(&c->mu);
    kube_conn_put(old);
    return KUBE_OK;
}

const char *kube_client_name(const struct kube_client *c)
{
    return c->name;
}

static const long counted_statuses[] = {200, 201, 204, 400, 401, 403, 404,
                                        409, 410, 422, 429, 500, 503, 504};
#define SLOT_OTHER 14
#define SLOT_ERROR 15

int kube_status_slot(long http_status)
{
    if (http_status <= 0)
        return SLOT_ERROR;
    for (int i = 0; i < SLOT_OTHER; i++)
        if (counted_statuses[i] == http_status)
            return i;
    return SLOT_OTHER;
}

const char *kube_status_slot_name(int slot)
{
    static const char *names[] = {"200", "201", "204", "400", "401", "403", "404",   "409",
                                  "410", "422", "429", "500", "503", "504", "other", "error"};
    return slot >= 0 && slot < KUBE_STATUS_SLOTS ? names[slot] : "other";
}

void kube_client_count_answer(struct kube_client *c, enum kube_verb verb, long http_status)
{
    atomic_fetch_add(&c->codes[verb][kube_status_slot(http_status)], 1);
}

void kube_client_get_stats(struct kube_client *c, struct kube_client_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->requests = atomic_load(&c->requests);
    out->requests_sent = atomic_load(&c->requests_sent);
    for (int i = 0; i < 8; i++)
        out->by_verb[i] = atomic_load(&c->by_verb[i]);
    out->errors = atomic_load(&c->errors);
    out->watches_started = atomic_load(&c->watches_started);
    out->retries = atomic_load(&c->retries);
    for (int v = 0; v < 8; v++)
        for (int k = 0; k < KUBE_STATUS_SLOTS; k++)
            out->codes[v][k] = atomic_load(&c->codes[v][k]);
}

/* ---- easy handles ---- */

kube_code kube_error_from_curl(struct kube_error *err, CURLcode rc, const char *errbuf,
                               const char *method, const char *url)
{
    kube_code code;
    const char *what;
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        code = KUBE_E_TLS;
        what = "TLS failure";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        code = KUBE_E_TIMEOUT;
        what = "timed out";
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        code = KUBE_E_CANCELLED;
        what = "cancelled";
        break;
    default:
        code = KUBE_E_CONNECT;
        what = "connection failed";
        break;
    }
    return kube_error_set(err, code, "%s %s: %s: %s", method, url, what,
                          errbuf && *errbuf ? errbuf : curl_easy_strerror(rc));
}

static void add_header(struct curl_slist **list, const char *h)
{
    struct curl_slist *n = curl_slist_append(*list, h);
    if (!n)
        ew_oom(strlen(h));
    *list = n;
}

void kube_easy_lists_release(struct kube_easy_lists *l)
{
    curl_slist_free_all(l->headers);
    curl_slist_free_all(l->connect_to);
    l->headers = NULL;
    l->connect_to = NULL;
}

static void setup_tls(CURL *easy, const struct kube_conn *conn, const struct kube_creds *creds)
{
    if (conn->ca.len) {
        struct curl_blob b = {conn->ca.data, conn->ca.len, CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &b);
    }
    if (conn->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (creds->cert.len && creds->key.len) {
        struct curl_blob cb = {creds->cert.data, creds->cert.len, CURL_BLOB_COPY};
        struct curl_blob kb = {creds->key.data, creds->key.len, CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

void kube_easy_setup(struct kube_client *c, const struct kube_conn *conn,
                     const struct kube_creds *creds, const char *method, const char *path,
                     const char *content_type, CURL *easy, struct kube_easy_lists *lists)
{
    struct strbuf url = STRBUF_INIT;
    strbuf_addf(&url, "%s%s", conn->url_base, path);
    curl_easy_setopt(easy, CURLOPT_URL, url.buf);
    strbuf_release(&url);
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "eastwest/0.1");
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    if (conn->connect_to) {
        add_header(&lists->connect_to, conn->connect_to);
        curl_easy_setopt(easy, CURLOPT_CONNECT_TO, lists->connect_to);
    }
    setup_tls(easy, conn, creds);
    add_header(&lists->headers, "Accept: application/json");
    if (content_type) {
        struct strbuf ct = STRBUF_INIT;
        strbuf_addf(&ct, "Content-Type: %s", content_type);
        add_header(&lists->headers, ct.buf);
        strbuf_release(&ct);
    }
    if (creds->bearer) {
        struct strbuf auth = STRBUF_INIT;
        strbuf_addf(&auth, "Authorization: Bearer %s", creds->bearer);
        add_header(&lists->headers, auth.buf);
        OPENSSL_cleanse(auth.buf, auth.len);
        strbuf_release(&auth);
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, lists->headers);
}

/* ---- synchronous exchange ---- */

struct sync_call {
    struct kube_xfer x;
    struct strbuf body;
    char retry_after[32];
    char errbuf[CURL_ERROR_SIZE];
    CURLcode rc;
    long status;
    long sent; /* bytes of request sent */
};

static size_t sync_write(char *p, size_t size, size_t n, void *ud)
{
    struct sync_call *call = ud;
    strbuf_add(&call->body, p, size * n);
    return size * n;
}

static size_t sync_header(char *p, size_t size, size_t n, void *ud)
{
    struct sync_call *call = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, k = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (i < len && p[i] != '\r' && p[i] != '\n' && k + 1 < sizeof(call->retry_after))
            call->retry_after[k++] = p[i++];
        call->retry_after[k] = '\0';
    }
    return len;
}

static void sync_done(struct kube_xfer *x, CURLcode rc)
{
    struct sync_call *call = (struct sync_call *)x;
    call->rc = rc;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &call->status);
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &call->sent);
}

/* One attempt: fills call. Returns KUBE_OK when an HTTP answer arrived. */
static kube_code attempt(struct kube_client *c, const struct kube_request *req,
                         struct kube_conn *conn, const struct kube_creds *creds, long timeout_ms,
                         struct sync_call *call, struct kube_error *err)
{
    struct kube_easy_lists lists = {0};
    CURL *easy = curl_easy_init();
    if (!easy)
        ew_oom(0);
    memset(call, 0, sizeof(*call));
    strbuf_init(&call->body, 0);
    call->rc = CURLE_ABORTED_BY_CALLBACK;
    const char *ctype = req->content_type;
    if (!ctype && req->body)
        ctype = "application/json";
    kube_easy_setup(c, conn, creds, req->method, req->path, ctype, easy, &lists);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sync_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, sync_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->errbuf);
    if (req->body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    call->x.easy = easy;
    call->x.on_done = sync_done;
    atomic_fetch_add(&c->requests, 1);
    atomic_fetch_add(&c->by_verb[req->verb], 1);
    kube_transport_submit(c->tp, &call->x);
    kube_transport_wait(c->tp, &call->x);
    curl_easy_cleanup(easy);
    kube_easy_lists_release(&lists);
    if (call->sent > 0)
        atomic_fetch_add(&c->requests_sent, 1);
    kube_client_count_answer(c, req->verb, call->status);
    /* An error status that arrived whole in its headers is the server's answer even if the
     * stream then broke (an HTTP/2 server may reset a POST it refused before reading it). */
    if (call->rc != CURLE_OK && call->status >= 400 && call->rc != CURLE_ABORTED_BY_CALLBACK)
        call->rc = CURLE_OK;
    if (call->rc != CURLE_OK) {
        atomic_fetch_add(&c->errors, 1);
        struct strbuf url = STRBUF_INIT;
        strbuf_addf(&url, "%s%s", conn->server, req->path);
        kube_error_from_curl(err, call->rc, call->errbuf, req->method, url.buf);
        strbuf_release(&url);
        return err ? err->code : KUBE_E_CONNECT;
    }
    return KUBE_OK;
}

static double retry_wait(const struct kube_client *c, const struct kube_error *e, double backoff)
{
    double w = e->retry_after > 0 ? e->retry_after : backoff;
    return w > c->opts.max_retry_wait ? c->opts.max_retry_wait : w;
}

/* The timeout of the next attempt: the client's, or what is left before deadline when
 * that is shorter; 0 when the deadline has passed (nothing is to be sent). */
static long attempt_timeout_ms(const struct kube_client *c, double deadline)
{
    if (deadline <= 0)
        return c->opts.request_timeout_ms;
    double left_ms = (deadline - ew_now_mono()) * 1000.0;
    if (left_ms < 1)
        return 0;
    return left_ms < (double)c->opts.request_timeout_ms ? (long)left_ms
                                                        : c->opts.request_timeout_ms;
}

kube_code kube_request(struct kube_client *c, const struct kube_request *req,
                       struct kube_response *resp, struct kube_error *err)
{
    return kube_request_by(c, req, 0, resp, err);
}

kube_code kube_request_by(struct kube_client *c, const struct kube_request *req, double deadline,
                          struct kube_response *resp, struct kube_error *err)
{
    struct kube_error local = KUBE_ERROR_INIT;
    struct kube_error *e = err ? err : &local;
    int refreshed = 0, retries = 0;
    double backoff = 0.2;
    kube_error_clear(e);
    if (c->ops)
        return kube_error_set(err, KUBE_E_ARG, "%s %s: client %s takes typed verbs only",
                              req->method, req->path, c->name);
    for (;;) {
        long timeout_ms = attempt_timeout_ms(c, deadline);
        if (timeout_ms == 0) {
            kube_code late = kube_error_set(e, KUBE_E_TIMEOUT, "%s %s: deadline passed, not sent",
                                            req->method, req->path);
            kube_error_clear(&local);
            return late;
        }
        struct kube_conn *conn = kube_client_conn_get(c);
        struct kube_creds creds;
        kube_code rc = kube_auth_get(conn->auth, &creds, e);
        struct sync_call call;
        if (rc == KUBE_OK)
            rc = attempt(c, req, conn, &creds, timeout_ms, &call, e);
        unsigned long gen = creds.generation;
        kube_creds_release(&creds);
        if (rc != KUBE_OK) {
            kube_conn_put(conn);
            kube_error_clear(&local);
            return rc;
        }
        if (call.status >= 200 && call.status < 300) {
            kube_conn_put(conn);
            if (resp) {
                resp->status = call.status;
                strbuf_release(&resp->body);
                resp->body = call.body;
            } else {
                strbuf_release(&call.body);
            }
            return KUBE_OK;
        }
        atomic_fetch_add(&c->errors, 1);
        rc = kube_status_parse(e, call.status, call.body.buf, call.body.len,
                               call.retry_after[0] ? call.retry_after : NULL);
        strbuf_release(&call.body);
        int again = 0;
        if (rc == KUBE_E_UNAUTHORIZED && !refreshed && kube_auth_invalidate(conn->auth, gen)) {
            refreshed = again = 1;
        } else if (kube_error_retryable(e) && retries < c->opts.max_retries &&
                   (deadline <= 0 || ew_now_mono() + retry_wait(c, e, backoff) < deadline)) {
            double w = retry_wait(c, e, backoff);
            ew_log(c->log, EW_LOG_DEBUG, "retrying request", "cluster", c->name, "method",
                   req->method, "reason", e->reason ? e->reason : "", NULL);
            ew_sleep(w);
            backoff *= 2;
            retries++;
            again = 1;
        }
        kube_conn_put(conn);
        if (!again) {
            kube_error_prefix(e, "%s %s", req->method, req->path);
            kube_error_clear(&local);
            return rc;
        }
        atomic_fetch_add(&c->retries, 1);
        kube_error_clear(e);
    }
}

void kube_response_release(struct kube_response *resp)
{
    strbuf_release(&resp->body);
}
