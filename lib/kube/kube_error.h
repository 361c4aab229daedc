/*
 * kube_error: typed results of every Kubernetes client call.
 *
 * Every function in lib/kube returns a kube_code. When it is not KUBE_OK and the
 * caller passed a struct kube_error, that struct holds the detail: the HTTP
 * status, the Status object's reason and message, its causes (field errors of
 * an Invalid answer), and Retry-After. The message is meant for a person: it
 * says what was asked, of which server, and what came back.
 *
 * Ownership: a struct kube_error starts zeroed (KUBE_ERROR_INIT) and owns its
 * strings; kube_error_clear frees them and makes it reusable.
 */
#ifndef EW_KUBE_ERROR_H
#define EW_KUBE_ERROR_H

#include <stddef.h>

typedef enum kube_code {
    KUBE_OK = 0,
    /* local failures */
    KUBE_E_ARG,      /* a caller passed something invalid */
    KUBE_E_CONFIG,   /* kubeconfig or in-cluster configuration is unusable */
    KUBE_E_IO,       /* a file could not be read */
    KUBE_E_EXEC,     /* an exec credential plugin failed */
    KUBE_E_PROTOCOL, /* the server's answer could not be understood */
    KUBE_E_CANCELLED,
    /* transport failures (no HTTP answer) */
    KUBE_E_TLS,     /* TLS handshake or certificate verification failed */
    KUBE_E_CONNECT, /* could not connect / connection dropped */
    KUBE_E_TIMEOUT,
    /* HTTP answers, read from the Status object */
    KUBE_E_BAD_REQUEST,       /* 400 */
    KUBE_E_UNAUTHORIZED,      /* 401 */
    KUBE_E_FORBIDDEN,         /* 403 */
    KUBE_E_NOT_FOUND,         /* 404 */
    KUBE_E_METHOD,            /* 405 */
    KUBE_E_ALREADY_EXISTS,    /* 409, reason AlreadyExists */
    KUBE_E_CONFLICT,          /* 409, any other reason (stale resourceVersion, apply conflict) */
    KUBE_E_GONE,              /* 410, reason Expired or Gone: relist */
    KUBE_E_INVALID,           /* 422 */
    KUBE_E_TOO_MANY_REQUESTS, /* 429 */
    KUBE_E_SERVER,            /* 5xx */
    KUBE_E_HTTP,              /* any other non-2xx */
} kube_code;

struct kube_cause {
    char *field;   /* e.g. "spec.ports[0].port"; may be NULL */
    char *reason;  /* e.g. "FieldValueInvalid"; may be NULL */
    char *message; /* never NULL */
};

struct kube_error {
    kube_code code;
    long http_status; /* 0 when no HTTP answer was received */
    char *reason;     /* Status.reason ("AlreadyExists", "Expired", ...) or NULL */
    char *message;    /* one line for a person; NULL only when code == KUBE_OK */
    struct kube_cause *causes;
    size_t ncauses;
    double retry_after; /* seconds from Retry-After / details.retryAfterSeconds; 0 = none */
};

#define KUBE_ERROR_INIT                                                                            \
    {                                                                                              \
        KUBE_OK, 0, NULL, NULL, NULL, 0, 0.0                                                       \
    }

const char *kube_code_name(kube_code code);
void kube_error_clear(struct kube_error *err);
/* Set code and a formatted message (replacing what was there); returns code. err may be NULL. */
kube_code kube_error_set(struct kube_error *err, kube_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "prefix: " (formatted). */
void kube_error_prefix(struct kube_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Map an HTTP status and Status.reason to a code. */
kube_code kube_code_from_http(long http_status, const char *reason);
/* True for answers worth retrying as they are: 429, 500 (with Retry-After), 502, 503, 504. */
int kube_error_retryable(const struct kube_error *err);

/*
 * Read a non-2xx answer: body is the server's Status object (JSON) or anything
 * else (an HTML error page from a proxy, an empty body). Fills err with the code,
 * reason, message and causes. A body that is not a Status still yields a
 * message naming the HTTP status and the start of the body.
 * retry_after_header is the Retry-After header value or NULL.
 */
kube_code kube_status_parse(struct kube_error *err, long http_status, const char *body, size_t len,
                            const char *retry_after_header);

/* Same, from an already parsed Status object (the object of a watch ERROR event). */
struct cJSON;
kube_code kube_status_from_json(struct kube_error *err, const struct cJSON *status);

#endif
