/*
 * transport.c: one thread per client driving a curl multi handle.
 *
 * Why a thread per client and not one global event loop: the reconcilers are
 * written as plain sequential code (read the cache, compute, apply), which
 * needs blocking calls; the network side needs many long-lived watches at
 * once. So every request and watch of a client becomes a transfer on that
 * client's multi handle, serviced by its transport thread, and a caller that
 * wants an answer sleeps on a condition variable until its transfer is done.
 * All transfers of a client share the multi's connection pool: with HTTP/2
 * (CURLPIPE_MULTIPLEX, and PIPEWAIT on each transfer) one TLS connection
 * carries every watch and request; with HTTP/1.1, connections are reused.
 *
 * Only the transport thread touches the multi handle. Other threads talk to it
 * through two lists under t->mu (to add, to cancel) and curl_multi_wakeup.
 *
 * Transfer states: PENDING (queued to add) -> ACTIVE (in the multi) -> DONE.
 * Cancellation of an ACTIVE transfer is done by the transport thread between
 * curl_multi_perform calls, so no callback of it is running at that moment,
 * and the cancelling thread waits for DONE.
 */
#include "internal.h"

#include <stdlib.h>

enum { XFER_PENDING = 1, XFER_ACTIVE, XFER_DONE };

struct kube_transport {
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* signalled whenever a transfer becomes DONE */
    struct kube_xfer *to_add; /* PENDING, under mu */
    struct kube_xfer *active; /* ACTIVE, touched only by the transport thread */
    int cancels_pending;
    int stopping;
};

static void finish(struct kube_transport *t, struct kube_xfer *x)
{
    pthread_mutex_lock(&t->mu);
    x->state = XFER_DONE;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static void add_pending(struct kube_transport *t)
{
    pthread_mutex_lock(&t->mu);
    struct kube_xfer *list = t->to_add;
    t->to_add = NULL;
    for (struct kube_xfer *x = list; x; x = x->next)
        x->state = XFER_ACTIVE;
    pthread_mutex_unlock(&t->mu);
    while (list) {
        struct kube_xfer *next = list->next;
        list->next = NULL;
        curl_easy_setopt(list->easy, CURLOPT_PRIVATE, list);
        if (curl_multi_add_handle(t->multi, list->easy) != CURLM_OK) {
            list->on_done(list, CURLE_FAILED_INIT);
            finish(t, list);
        } else {
            list->next = t->active;
            t->active = list;
        }
        list = next;
    }
}

static void unlink_active(struct kube_transport *t, struct kube_xfer *x)
{
    for (struct kube_xfer **pp = &t->active; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            x->next = NULL;
            return;
        }
    }
}

/* Remove every ACTIVE transfer flagged for cancellation. */
static void process_cancels(struct kube_transport *t)
{
    pthread_mutex_lock(&t->mu);
    int pending = t->cancels_pending;
    t->cancels_pending = 0;
    pthread_mutex_unlock(&t->mu);
    if (!pending)
        return;
    struct kube_xfer **pp = &t->active;
    while (*pp) {
        struct kube_xfer *x = *pp;
        pthread_mutex_lock(&t->mu);
        int cancel = x->cancel_requested;
        pthread_mutex_unlock(&t->mu);
        if (!cancel) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        x->next = NULL;
        curl_multi_remove_handle(t->multi, x->easy);
        finish(t, x);
    }
}

static void process_done(struct kube_transport *t)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct kube_xfer *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(t->multi, easy);
        if (x) {
            unlink_active(t, x);
            x->on_done(x, rc);
            finish(t, x);
        }
    }
}

static void *transport_main(void *arg)
{
    struct kube_transport *t = arg;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        int stop = t->stopping;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            break;
        add_pending(t);
        process_cancels(t);
        int running = 0;
        curl_multi_perform(t->multi, &running);
        process_done(t);
        curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
    }
    /* Remove what is left without callbacks: their owners are going away. */
    while (t->active) {
        struct kube_xfer *x = t->active;
        t->active = x->next;
        x->next = NULL;
        curl_multi_remove_handle(t->multi, x->easy);
        finish(t, x);
    }
    return NULL;
}

kube_code kube_transport_new(struct kube_transport **out, struct kube_error *err)
{
    struct kube_transport *t = ew_calloc(1, sizeof(*t));
    t->multi = curl_multi_init();
    if (!t->multi) {
        free(t);
        return kube_error_set(err, KUBE_E_ARG, "curl_multi_init failed");
    }
    curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* Over HTTP/2 everything shares one connection (PIPEWAIT). Over HTTP/1.1 (a server, or
     * a proxy in front of it, that does not speak h2) every watch holds a connection of its
     * own: a member has 13 watches, and a cap of 8 left its other requests queued until
     * they timed out ("timed out after 0 ms"), found by test_runtime_promises' proxy. */
    curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    /* the API server allows 100+ streams per h2 connection; watches are long-lived */
    curl_multi_setopt(t->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cond, NULL);
    if (pthread_create(&t->thread, NULL, transport_main, t) != 0) {
        curl_multi_cleanup(t->multi);
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cond);
        free(t);
        return kube_error_set(err, KUBE_E_ARG, "cannot start the transport thread");
    }
    *out = t;
    return KUBE_OK;
}

void kube_transport_free(struct kube_transport *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_mutex_unlock(&t->mu);
    curl_multi_wakeup(t->multi);
    pthread_join(t->thread, NULL);
    curl_multi_cleanup(t->multi);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
    free(t);
}

void kube_transport_submit(struct kube_transport *t, struct kube_xfer *x)
{
    pthread_mutex_lock(&t->mu);
    x->state = XFER_PENDING;
    x->cancel_requested = 0;
    x->next = t->to_add;
    t->to_add = x;
    pthread_mutex_unlock(&t->mu);
    curl_multi_wakeup(t->multi);
}

static void unlink_pending(struct kube_transport *t, struct kube_xfer *x)
{
    for (struct kube_xfer **pp = &t->to_add; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            x->next = NULL;
            return;
        }
    }
}

void kube_transport_cancel(struct kube_transport *t, struct kube_xfer *x)
{
    pthread_mutex_lock(&t->mu);
    if (x->state == XFER_PENDING) {
        unlink_pending(t, x);
        x->state = XFER_DONE;
    } else if (x->state == XFER_ACTIVE) {
        x->cancel_requested = 1;
        t->cancels_pending = 1;
        curl_multi_wakeup(t->multi);
        while (x->state != XFER_DONE)
            pthread_cond_wait(&t->cond, &t->mu);
    }
    pthread_mutex_unlock(&t->mu);
}

void kube_transport_wait(struct kube_transport *t, struct kube_xfer *x)
{
    pthread_mutex_lock(&t->mu);
    while (x->state != XFER_DONE)
        pthread_cond_wait(&t->cond, &t->mu);
    pthread_mutex_unlock(&t->mu);
}
