/*
 * kube_error.c: typed errors and the Kubernetes Status object (see kube_error.h).
 *
 * A Status ({"kind":"Status","status":"Failure","message":..,"reason":..,
 * "details":{"causes":[..],"retryAfterSeconds":n},"code":422}) is how the API
 * server explains a failure, in a non-2xx answer and in a watch ERROR event.
 * We keep its reason, message and causes, and make the message one line a
 * person can act on: the server's words, then "(HTTP <code> <reason>)". A body
 * that is not a Status (a proxy's HTML page, nothing at all) still yields a
 * message with the HTTP status and the start of the body.
 */
#include "kube_error.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BODY_EXCERPT 200

static const char *const code_names[] = {
    [KUBE_OK] = "OK",
    [KUBE_E_ARG] = "InvalidArgument",
    [KUBE_E_CONFIG] = "ConfigError",
    [KUBE_E_IO] = "IOError",
    [KUBE_E_EXEC] = "ExecPluginError",
    [KUBE_E_PROTOCOL] = "ProtocolError",
    [KUBE_E_CANCELLED] = "Cancelled",
    [KUBE_E_TLS] = "TLSError",
    [KUBE_E_CONNECT] = "ConnectionError",
    [KUBE_E_TIMEOUT] = "Timeout",
    [KUBE_E_BAD_REQUEST] = "BadRequest",
    [KUBE_E_UNAUTHORIZED] = "Unauthorized",
    [KUBE_E_FORBIDDEN] = "Forbidden",
    [KUBE_E_NOT_FOUND] = "NotFound",
    [KUBE_E_METHOD] = "MethodNotAllowed",
    [KUBE_E_ALREADY_EXISTS] = "AlreadyExists",
    [KUBE_E_CONFLICT] = "Conflict",
    [KUBE_E_GONE] = "Expired",
    [KUBE_E_INVALID] = "Invalid",
    [KUBE_E_TOO_MANY_REQUESTS] = "TooManyRequests",
    [KUBE_E_SERVER] = "ServerError",
    [KUBE_E_HTTP] = "HTTPError",
};

const char *kube_code_name(kube_code code)
{
    if ((size_t)code < sizeof(code_names) / sizeof(code_names[0]) && code_names[code])
        return code_names[code];
    return "Unknown";
}

void kube_error_clear(struct kube_error *err)
{
    if (!err)
        return;
    free(err->reason);
    free(err->message);
    for (size_t i = 0; i < err->ncauses; i++) {
        free(err->causes[i].field);
        free(err->causes[i].reason);
        free(err->causes[i].message);
    }
    free(err->causes);
    memset(err, 0, sizeof(*err));
}

kube_code kube_error_set(struct kube_error *err, kube_code code, const char *fmt, ...)
{
    if (!err)
        return code;
    kube_error_clear(err);
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    err->code = code;
    err->message = strbuf_detach(&sb, NULL);
    return code;
}

void kube_error_prefix(struct kube_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    if (err->message) {
        strbuf_adds(&sb, ": ");
        strbuf_adds(&sb, err->message);
        free(err->message);
    }
    err->message = strbuf_detach(&sb, NULL);
}

kube_code kube_code_from_http(long status, const char *reason)
{
    switch (status) {
    case 400:
        return KUBE_E_BAD_REQUEST;
    case 401:
        return KUBE_E_UNAUTHORIZED;
    case 403:
        return KUBE_E_FORBIDDEN;
    case 404:
        return KUBE_E_NOT_FOUND;
    case 405:
        return KUBE_E_METHOD;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? KUBE_E_ALREADY_EXISTS
                                                              : KUBE_E_CONFLICT;
    case 410:
        return KUBE_E_GONE;
    case 422:
        return KUBE_E_INVALID;
    case 429:
        return KUBE_E_TOO_MANY_REQUESTS;
    default:
        break;
    }
    if (status >= 500 && status <= 599)
        return KUBE_E_SERVER;
    if (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0))
        return KUBE_E_GONE;
    return KUBE_E_HTTP;
}

int kube_error_retryable(const struct kube_error *err)
{
    switch (err->http_status) {
    case 429:
    case 502:
    case 503:
    case 504:
        return 1;
    case 500:
        return err->retry_after > 0;
    default:
        return 0;
    }
}

static const char *json_str(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_causes(struct kube_error *err, const cJSON *details)
{
    const cJSON *causes = cJSON_GetObjectItemCaseSensitive(details, "causes");
    int n = cJSON_GetArraySize(causes);
    if (!cJSON_IsArray(causes) || n <= 0)
        return;
    err->causes = ew_calloc((size_t)n, sizeof(*err->causes));
    const cJSON *c;
    cJSON_ArrayForEach(c, causes)
    {
        const char *msg = json_str(c, "message");
        if (!cJSON_IsObject(c) || (size_t)n <= err->ncauses)
            continue;
        struct kube_cause *kc = &err->causes[err->ncauses++];
        kc->field = ew_strdup(json_str(c, "field"));
        kc->reason = ew_strdup(json_str(c, "reason"));
        kc->message = ew_strdup(msg ? msg : "");
    }
}

/* Printable excerpt of a body that is not a Status. */
static void add_excerpt(struct strbuf *sb, const char *body, size_t len)
{
    size_t n = len < BODY_EXCERPT ? len : BODY_EXCERPT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)body[i];
        strbuf_addch(sb, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    if (len > n)
        strbuf_adds(sb, "...");
}

static double parse_retry_after(const char *header)
{
    if (!header || !*header)
        return 0;
    char *end;
    long v = strtol(header, &end, 10);
    if (end != header && *end == '\0' && v >= 0)
        return (double)v;
    return 1; /* an HTTP-date, or junk: wait a little */
}

/* Fill err from a Status object; status_code is the HTTP status (or the Status's code). */
static kube_code fill_from_status(struct kube_error *err, long status_code, const cJSON *st)
{
    const char *reason = json_str(st, "reason");
    const char *message = json_str(st, "message");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(st, "details");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds");
    struct strbuf sb = STRBUF_INIT;
    kube_code code = kube_code_from_http(status_code, reason);
    strbuf_adds(&sb, message && *message ? message : "no message");
    strbuf_addf(&sb, " (HTTP %ld%s%s)", status_code, reason ? " " : "", reason ? reason : "");
    kube_error_set(err, code, "%s", sb.buf);
    strbuf_release(&sb);
    err->http_status = status_code;
    err->reason = ew_strdup(reason);
    if (cJSON_IsNumber(ra) && ra->valuedouble > 0)
        err->retry_after = ra->valuedouble;
    add_causes(err, details);
    return code;
}

kube_code kube_status_parse(struct kube_error *err, long http_status, const char *body, size_t len,
                            const char *retry_after_header)
{
    struct kube_error local = KUBE_ERROR_INIT;
    struct kube_error *e = err ? err : &local;
    cJSON *st = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const char *kind = json_str(st, "kind");
    kube_code code;
    if (cJSON_IsObject(st) && kind && strcmp(kind, "Status") == 0) {
        code = fill_from_status(e, http_status, st);
    } else {
        struct strbuf sb = STRBUF_INIT;
        code = kube_code_from_http(http_status, NULL);
        if (len) {
            strbuf_addf(&sb, "HTTP %ld from server: ", http_status);
            add_excerpt(&sb, body, len);
        } else {
            strbuf_addf(&sb, "HTTP %ld with empty body", http_status);
        }
        kube_error_set(e, code, "%s", sb.buf);
        strbuf_release(&sb);
        e->http_status = http_status;
    }
    double ra = parse_retry_after(retry_after_header);
    if (ra > 0)
        e->retry_after = ra;
    cJSON_Delete(st);
    kube_error_clear(&local);
    return code;
}

kube_code kube_status_from_json(struct kube_error *err, const cJSON *status)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(status, "code");
    long code = cJSON_IsNumber(c) ? (long)c->valuedouble : 500;
    if (!cJSON_IsObject(status))
        return kube_error_set(err, KUBE_E_PROTOCOL, "watch ERROR event without a Status");
    struct kube_error local = KUBE_ERROR_INIT;
    kube_code rc = fill_from_status(err ? err : &local, code, status);
    kube_error_clear(&local);
    return rc;
}
