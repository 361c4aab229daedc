/*
 * client: a connection to one Kubernetes API server.
 *
 * Concurrency model (see transport.c): each client owns one transport thread
 * running a curl multi handle. Every request and every watch of the client is
 * a transfer on that multi handle, so they share connections (one HTTP/2
 * connection multiplexes them when the server offers h2 over TLS; otherwise
 * HTTP/1.1 connections are reused). Calls below are synchronous and
 * thread-safe: the calling thread hands the transfer to the transport thread
 * and sleeps until it completes. Watch callbacks run on the transport thread:
 * they must be quick and must not make synchronous calls on the same client.
 *
 * Objects are cJSON trees. Functions that return an object give the caller
 * ownership (cJSON_Delete). Errors: see kube_error.h.
 *
 * Retries: 429 and retryable 5xx answers are retried inside kube_request,
 * honouring Retry-After, at most opts.max_retries times. A 401 refreshes
 * credentials that can be refreshed (tokenFile, exec plugin) and retries once.
 */
#ifndef EW_KUBE_CLIENT_H
#define EW_KUBE_CLIENT_H

#include "kube_error.h"
#include "rest_config.h"
#include "watch.h"
#include "../base/log.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>

struct kube_client;

/* Once per process, before any thread makes a client (libcurl's global state). */
void kube_global_init(void);
void kube_global_cleanup(void);

struct kube_client_options {
    struct ew_logger *log;   /* may be NULL */
    const char *name;        /* cluster name for logs and messages; may be NULL */
    long connect_timeout_ms; /* 0 = 10 s */
    long request_timeout_ms; /* 0 = 60 s; watches are not limited by it */
    int max_retries;         /* for 429/5xx; <0 = none, 0 = default 5 */
    double max_retry_wait;   /* seconds one Retry-After may make us wait; 0 = 30 s */
};

kube_code kube_client_new(const struct kube_rest_config *cfg,
                          const struct kube_client_options *opts, struct kube_client **out,
                          struct kube_error *err);
/* Stops every watch (their done callbacks are not called), joins the thread, frees. */
void kube_client_free(struct kube_client *c);
/* Replace the server/credentials (rotated kubeconfig). New requests use them;
 * transfers under way finish with the old ones. */
kube_code kube_client_set_config(struct kube_client *c, const struct kube_rest_config *cfg,
                                 struct kube_error *err);
const char *kube_client_name(const struct kube_client *c);

#define KUBE_STATUS_SLOTS 16

/* Counters for metrics and benchmarks: requests made, by verb and HTTP code. */
struct kube_client_stats {
    unsigned long requests;      /* every HTTP request attempted, retries included */
    unsigned long requests_sent; /* of those, the ones whose bytes reached the server */
    unsigned long by_verb[8];    /* indexed by enum kube_verb */
    unsigned long errors;        /* transport failures and non-2xx answers */
    unsigned long watches_started;
    unsigned long retries;
    /* answers by verb and HTTP status: codes[verb][slot], slot from kube_status_slot() */
    unsigned long codes[8][KUBE_STATUS_SLOTS];
};

/* HTTP statuses counted one by one; anything else falls in "other", and requests with no
 * HTTP answer (connection or TLS failure) in "error". */
int kube_status_slot(long http_status);
/* "200", "404", ..., "other", "error" */
const char *kube_status_slot_name(int slot);
void kube_client_get_stats(struct kube_client *c, struct kube_client_stats *out);

/* ---- raw requests ---- */

enum kube_verb {
    KUBE_VERB_GET,
    KUBE_VERB_LIST,
    KUBE_VERB_WATCH,
    KUBE_VERB_CREATE,
    KUBE_VERB_UPDATE,
    KUBE_VERB_PATCH,
    KUBE_VERB_DELETE,
    KUBE_VERB_OTHER,
};

struct kube_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;         /* "/api/v1/namespaces/x/configmaps?limit=5" */
    const char *content_type; /* NULL = none / application/json when body is set */
    const char *body;
    size_t body_len;
    enum kube_verb verb; /* for stats */
};

struct kube_response {
    long status;
    struct strbuf body;
};

/* Send and wait. A non-2xx answer is returned as an error (the body parsed as a
 * Status); resp (may be NULL) receives the body of a 2xx answer. */
kube_code kube_request(struct kube_client *c, const struct kube_request *req,
                       struct kube_response *resp, struct kube_error *err);
/* The same, ended by deadline (ew_now_mono() seconds; 0 = none) whatever happens: each
 * attempt's timeout is the client's request timeout or the time left, whichever is
 * shorter; no retry is made (nor waited for) past it; a call made past it fails at once
 * with KUBE_E_TIMEOUT, sending nothing. For the leader elector, whose renewal must end
 * within its renew deadline (client-go bounds it by a context). */
kube_code kube_request_by(struct kube_client *c, const struct kube_request *req, double deadline,
                          struct kube_response *resp, struct kube_error *err);
void kube_response_release(struct kube_response *resp);

/* ---- resources ---- */

struct kube_resource {
    const char *group;   /* "" for the core group */
    const char *version; /* "v1" */
    const char *plural;  /* "configmaps" */
    int namespaced;
};

extern const struct kube_resource KUBE_RES_NAMESPACES;
extern const struct kube_resource KUBE_RES_CONFIGMAPS;
extern const struct kube_resource KUBE_RES_SECRETS;
extern const struct kube_resource KUBE_RES_SERVICES;
extern const struct kube_resource KUBE_RES_SERVICEACCOUNTS;
extern const struct kube_resource KUBE_RES_PODS;
extern const struct kube_resource KUBE_RES_DEPLOYMENTS;
extern const struct kube_resource KUBE_RES_ROLES;
extern const struct kube_resource KUBE_RES_ROLEBINDINGS;
extern const struct kube_resource KUBE_RES_LEASES;
extern const struct kube_resource KUBE_RES_EVENTS;

/* Append the path of a collection (name NULL) or object, optionally a subresource. */
void kube_resource_path(struct strbuf *out, const struct kube_resource *r, const char *ns,
                        const char *name, const char *subresource);

/* ---- typed verbs ---- */

kube_code kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const char *name, cJSON **out, struct kube_error *err);
/* kube_get ended by deadline, as kube_request_by (a client with ops ignores it). */
kube_code kube_get_by(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, double deadline, cJSON **out, struct kube_error *err);

struct kube_list_options {
    const char *label_selector;
    const char *field_selector;
    long limit;                   /* page size; 0 = server default (no paging) */
    const char *continue_token;   /* for kube_list_page */
    const char *resource_version; /* NULL = most recent (quorum read) */
};

struct kube_list_page {
    cJSON *items;           /* array, owned */
    char *resource_version; /* of the list */
    char *continue_token;   /* NULL or "" on the last page */
};

kube_code kube_list_page(struct kube_client *c, const struct kube_resource *r, const char *ns,
                         const struct kube_list_options *opts, struct kube_list_page *page,
                         struct kube_error *err);
void kube_list_page_release(struct kube_list_page *page);
/* Every page, following continue tokens. *items is an array owned by the caller;
 * *resource_version (may be NULL) receives the first page's list resourceVersion.
 * A continue token that expires mid-way (410) restarts the list once from scratch. */
kube_code kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
                    const struct kube_list_options *opts, cJSON **items, char **resource_version,
                    struct kube_error *err);

struct kube_write_options {
    const char *field_manager; /* NULL = none (apply defaults it to "eastwest-operator") */
    int dry_run;               /* server-side dry run */
    const char *subresource;   /* "status", or NULL */
    double deadline;           /* as kube_request_by's (0 = none); a client with ops ignores it */
};

kube_code kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const cJSON *obj, const struct kube_write_options *opts, cJSON **out,
                      struct kube_error *err);
/* PUT. The object's metadata.resourceVersion, when set, must match: else KUBE_E_CONFLICT. */
kube_code kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, const cJSON *obj, const struct kube_write_options *opts,
                      cJSON **out, struct kube_error *err);

enum kube_patch_type {
    KUBE_PATCH_MERGE,     /* application/merge-patch+json */
    KUBE_PATCH_JSON,      /* application/json-patch+json */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
    KUBE_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply */
};

struct kube_patch_options {
    enum kube_patch_type type;
    const char *field_manager; /* required for APPLY */
    int force;                 /* APPLY: take over conflicting fields */
    int dry_run;
    const char *subresource;
};

kube_code kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const char *name, const char *patch, size_t len,
                     const struct kube_patch_options *opts, cJSON **out, struct kube_error *err);
/* Server-side apply of obj (must carry apiVersion, kind, metadata.name). */
kube_code kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const cJSON *obj, const char *field_manager, int force, cJSON **out,
                     struct kube_error *err);

struct kube_delete_options {
    const char *precondition_uid;              /* NULL = none */
    const char *precondition_resource_version; /* NULL = none */
    const char *propagation_policy;            /* Foreground, Background, Orphan, or NULL */
};

kube_code kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, const struct kube_delete_options *opts,
                      struct kube_error *err);

/* ---- discovery ---- */

struct kube_group_versions {
    char **versions; /* served versions, server's order (preferred first) */
    size_t n;
    char *preferred;
};

/* Which versions of an API group the server serves. Unknown group: KUBE_E_NOT_FOUND. */
kube_code kube_discover_group(struct kube_client *c, const char *group,
                              struct kube_group_versions *out, struct kube_error *err);
void kube_group_versions_release(struct kube_group_versions *gv);

/* ---- watches ---- */

struct kube_watch;

struct kube_watch_options {
    const char *resource_version; /* start after this; NULL/"" = from now (server chooses) */
    const char *label_selector;
    const char *field_selector;
    int allow_bookmarks;
    long timeout_seconds; /* server-side timeoutSeconds; 0 = server default */
    long idle_timeout_ms; /* no byte for this long = dead connection; 0 = none */
};

/* Stream ended: code KUBE_OK when the server closed it normally (timeoutSeconds),
 * KUBE_E_GONE for a 410 ERROR event (relist), else the failure. err is only
 * valid during the call. */
typedef void (*kube_watch_done_fn)(void *ud, kube_code code, const struct kube_error *err);

/* Start a watch. Events and the final done call arrive on the transport thread.
 * An ERROR event is not passed to on_event: it ends the watch with its Status. */
kube_code kube_watch_start(struct kube_client *c, const struct kube_resource *r, const char *ns,
                           const struct kube_watch_options *opts, kube_watch_event_fn on_event,
                           kube_watch_done_fn on_done, void *ud, struct kube_watch **out,
                           struct kube_error *err);
/* Stop and free. After it returns no callback of this watch runs. Must not be
 * called from this watch's own callbacks (use the return value of on_event). */
void kube_watch_stop(struct kube_watch *w);

#endif
