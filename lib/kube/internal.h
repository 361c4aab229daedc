/*
 * internal.h: pieces of lib/kube shared between its files, not part of the API.
 *
 *   auth.c        credentials: static token, token file (re-read), exec plugin
 *                 (cached until expiry), client certificate
 *   exec_plugin.c running an ExecCredential plugin without a shell
 *   transport.c   the per-client thread that drives a curl multi handle
 *   request.c     one HTTP exchange: easy-handle setup, sync wait, retries
 *   verbs.c       get/list/create/update/patch/delete/discovery on top of request.c
 *   watch.c       streaming watches on the transport
 *   client_ops.c  clients whose verbs are another implementation's (client_ops.h)
 */
#ifndef EW_KUBE_INTERNAL_H
#define EW_KUBE_INTERNAL_H

#include "client.h"
#include "client_ops.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* ---- credentials ---- */

struct kube_creds {
    char *bearer;             /* token, or NULL; secret */
    struct kube_blob cert;    /* PEM or empty */
    struct kube_blob key;     /* PEM or empty; secret */
    unsigned long generation; /* to invalidate exactly what failed */
};

struct kube_auth;

kube_code kube_auth_new(const struct kube_rest_config *cfg, struct ew_logger *log,
                        struct kube_auth **out, struct kube_error *err);
void kube_auth_free(struct kube_auth *a);
/* Current credentials (copies owned by out; release with kube_creds_release). May run
 * an exec plugin (without the lock: others meanwhile send the credential it replaces if
 * that has not expired, or wait for its outcome) or read the token file. */
kube_code kube_auth_get(struct kube_auth *a, struct kube_creds *out, struct kube_error *err);
void kube_creds_release(struct kube_creds *c);
/* A 401 came back for credentials of this generation: forget cached ones.
 * Returns 1 when fetching again may give different credentials. */
int kube_auth_invalidate(struct kube_auth *a, unsigned long generation);

/* ---- exec plugin ---- */

struct kube_exec_result {
    char *token;
    struct kube_blob cert;
    struct kube_blob key;
    time_t expires; /* 0 = no expiry given */
};

kube_code kube_exec_run(const struct kube_exec_config *ec, const struct kube_rest_config *cfg,
                        struct kube_exec_result *out, struct kube_error *err);
void kube_exec_result_release(struct kube_exec_result *r);
/* Read a plugin's output (an ExecCredential of ec's apiVersion) into out (cleared
 * first; released again on error). The output is outside input: fuzzed. */
kube_code kube_exec_parse_credential(const struct kube_exec_config *ec, const char *json,
                                     size_t len, struct kube_exec_result *out,
                                     struct kube_error *err);

/* ---- verbs ---- */

/* A list response body (outside input: fuzzed) into page (cleared first): its items (a
 * list; absent or null is an empty one), resourceVersion and continue token. path names
 * the request in errors. */
kube_code kube_list_page_parse(const char *body, size_t len, const char *path,
                               struct kube_list_page *page, struct kube_error *err);

/* ---- transport ---- */

struct kube_transport;
struct kube_xfer;

/* Called on the transport thread when a transfer ends (after it left the multi). */
typedef void (*kube_xfer_done_fn)(struct kube_xfer *x, CURLcode rc);

struct kube_xfer {
    CURL *easy;
    kube_xfer_done_fn on_done;
    /* owned by transport.c */
    struct kube_xfer *next;
    int state;
    int cancel_requested;
};

kube_code kube_transport_new(struct kube_transport **out, struct kube_error *err);
/* Stops the thread. Transfers still active are removed without on_done. */
void kube_transport_free(struct kube_transport *t);
void kube_transport_submit(struct kube_transport *t, struct kube_xfer *x);
/* Sleep until x is DONE (synchronous requests). */
void kube_transport_wait(struct kube_transport *t, struct kube_xfer *x);
/* Remove x if active; after return no callback of x runs. Not from the transport thread. */
void kube_transport_cancel(struct kube_transport *t, struct kube_xfer *x);

/* ---- client internals ---- */

/* What one request needs of the connection settings; refcounted so a config
 * swap (rotation) does not disturb transfers under way. */
struct kube_conn {
    atomic_int refs;
    char *server;     /* for messages only: userinfo redacted (kube_url_redacted) */
    char *connect_to; /* CURLOPT_CONNECT_TO entry for tls-server-name, or NULL */
    char *url_base;   /* server, with the host replaced by tls-server-name when set */
    struct kube_blob ca;
    int insecure;
    struct kube_auth *auth;
};

struct kube_client {
    char *name;
    struct ew_logger *log;
    struct kube_client_options opts;
    pthread_mutex_t mu;
    struct kube_conn *conn;
    struct kube_transport *tp;
    atomic_ulong requests;
    atomic_ulong requests_sent; /* requests whose bytes reached the server */
    atomic_ulong by_verb[8];
    atomic_ulong errors;
    atomic_ulong watches_started;
    atomic_ulong retries;
    atomic_ulong codes[8][KUBE_STATUS_SLOTS];
    /* set for a client made with kube_client_new_with_ops: conn and tp are NULL */
    const struct kube_client_ops *ops;
    void *impl;
};

/* Count one call handed to ops (its answer as an HTTP status: 200, or err's). */
void kube_client_count_ops_call(struct kube_client *c, enum kube_verb verb, kube_code rc,
                                const struct kube_error *err);

struct kube_conn *kube_client_conn_get(struct kube_client *c);
void kube_client_count_answer(struct kube_client *c, enum kube_verb verb, long http_status);
void kube_conn_put(struct kube_conn *conn);

/* Header lists of one transfer, freed after it. */
struct kube_easy_lists {
    struct curl_slist *headers;
    struct curl_slist *connect_to;
};
void kube_easy_lists_release(struct kube_easy_lists *l);

/* Prepare an easy handle for method+path with conn and creds. */
void kube_easy_setup(struct kube_client *c, const struct kube_conn *conn,
                     const struct kube_creds *creds, const char *method, const char *path,
                     const char *content_type, CURL *easy, struct kube_easy_lists *lists);
/* Map a curl failure to a typed error with a message naming method and URL. */
kube_code kube_error_from_curl(struct kube_error *err, CURLcode rc, const char *errbuf,
                               const char *method, const char *url);

#endif
