/*
 * kube_error.c: typed errors and the Kubernetes Status object (see kube_error.h).
 *
 * A Status is how the API server explains a failure, both in a non-2xx answer
 * and as the object of a watch ERROR event:
 *
 *   {"kind":"Status","apiVersion":"v1","status":"Failure","message":"...",
 *    "reason":"Invalid","details":{"name":"x","kind":"ServiceEntry",
 *    "causes":[{"reason":..,"message":..,"field":..}],"retryAfterSeconds":3},
 *    "code":422}
 *
 * Design:
 *  - The code comes from the HTTP status (kube_code_from_http); only 409 looks
 *    at the reason (AlreadyExists vs. any other conflict). A watch ERROR event
 *    arrives in an HTTP 200 answer, so kube_status_from_json uses the Status's
 *    own "code" (or, when that is missing, the code its reason implies).
 *  - The message is one line a person can act on: the server's words, then
 *    " (HTTP <status> <reason>)". A body that is not a Status (a proxy's HTML
 *    page, garbage, nothing) yields "HTTP <status> from server: <excerpt>" or
 *    "HTTP <status> with empty body". Text from the server is made safe before
 *    it goes into a message: control characters become one space, bytes that
 *    are not UTF-8 become '?', and its length is capped (kube_text_add), so a
 *    message can go into a log line or a status condition as it is.
 *  - Fields of the wrong JSON type are treated as absent: a Status is input
 *    from the network and must never crash us.
 *  - Ownership: struct kube_error owns every string in it. kube_error_set
 *    formats the new message before it frees the old one, so
 *    kube_error_set(err, c, "...: %s", err->message) is safe.
 */
#include "kube_error.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KUBE_BODY_EXCERPT   200  /* bytes of a non-Status body quoted in a message */
#define KUBE_MESSAGE_MAX    4096 /* bytes of a server message kept in ours */
#define KUBE_STATUS_DEFAULT 500  /* a Status without a usable code */

static const char *const kube_code_names[] = {
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

/* metav1.StatusReason -> the HTTP code the API server sends with it. Used only
 * for a Status whose "code" is missing. */
static const struct {
    const char *reason;
    long status;
} kube_reason_codes[] = {
    {"BadRequest", 400},
    {"Unauthorized", 401},
    {"Forbidden", 403},
    {"NotFound", 404},
    {"MethodNotAllowed", 405},
    {"NotAcceptable", 406},
    {"AlreadyExists", 409},
    {"Conflict", 409},
    {"Gone", 410},
    {"Expired", 410},
    {"RequestEntityTooLarge", 413},
    {"UnsupportedMediaType", 415},
    {"Invalid", 422},
    {"TooManyRequests", 429},
    {"InternalError", 500},
    {"ServerTimeout", 500},
    {"ServiceUnavailable", 503},
    {"Timeout", 504},
};

const char *kube_code_name(kube_code code)
{
    size_t n = sizeof(kube_code_names) / sizeof(kube_code_names[0]);
    if ((size_t)code < n && kube_code_names[code])
        return kube_code_names[code];
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
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    if (!err)
        return code;
    /* format first: the arguments may point into the message being replaced */
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    kube_error_clear(err);
    err->code = code;
    err->message = strbuf_detach(&sb, NULL);
    return code;
}

void kube_error_prefix(struct kube_error *err, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    if (!err)
        return;
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
        if (reason && strcmp(reason, "AlreadyExists") == 0)
            return KUBE_E_ALREADY_EXISTS;
        return KUBE_E_CONFLICT;
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
    return KUBE_E_HTTP;
}

int kube_error_retryable(const struct kube_error *err)
{
    if (!err)
        return 0;
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

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t kube_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t need;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0; /* overlong */
    else if (s[0] == 0xed)
        hi = 0x9f; /* surrogates */
    else if (s[0] == 0xf0)
        lo = 0x90; /* overlong */
    else if (s[0] == 0xf4)
        hi = 0x8f; /* beyond U+10FFFF */
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

/*
 * Append text from the server as (part of) one safe line: runs of control
 * characters and whitespace become one space (none at the ends), invalid UTF-8
 * bytes become '?', and at most max bytes are appended (cut at a character
 * boundary, then "..."). Returns the number of bytes appended.
 */
static size_t kube_text_add(struct strbuf *sb, const char *text, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t before = sb->len, out = 0, i = 0;
    int space = 0;
    while (i < len) {
        size_t n = kube_utf8_len(s + i, len - i);
        if (n == 1 && (s[i] <= 0x20 || s[i] == 0x7f)) {
            space = out > 0;
            i++;
            continue;
        }
        if (out + space + (n ? n : 1) > max) {
            strbuf_adds(sb, "...");
            break;
        }
        if (space)
            strbuf_addch(sb, ' ');
        if (n)
            strbuf_add(sb, s + i, n);
        else
            strbuf_addch(sb, '?');
        out += (size_t)space + (n ? n : 1);
        space = 0;
        i += n ? n : 1;
    }
    return sb->len - before;
}

static const char *kube_json_str(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A string field as one safe line, owned by the caller; NULL when absent. */
static char *kube_json_line(const cJSON *obj, const char *field)
{
    const char *s = kube_json_str(obj, field);
    struct strbuf sb = STRBUF_INIT;
    if (!s)
        return NULL;
    kube_text_add(&sb, s, strlen(s), KUBE_MESSAGE_MAX);
    return strbuf_detach(&sb, NULL);
}

/* Copy details.causes[] (objects only) into err->causes. */
static void kube_causes_read(struct kube_error *err, const cJSON *details)
{
    const cJSON *causes = cJSON_GetObjectItemCaseSensitive(details, "causes");
    const cJSON *c;
    size_t n = 0;
    if (!cJSON_IsArray(causes))
        return;
    cJSON_ArrayForEach(c, causes)
    {
        if (cJSON_IsObject(c))
            n++;
    }
    if (n == 0)
        return;
    err->causes = ew_calloc(n, sizeof(*err->causes));
    cJSON_ArrayForEach(c, causes)
    {
        struct kube_cause *kc;
        if (!cJSON_IsObject(c))
            continue;
        kc = &err->causes[err->ncauses++];
        kc->field = kube_json_line(c, "field");
        kc->reason = kube_json_line(c, "reason");
        kc->message = kube_json_line(c, "message");
        if (!kc->message)
            kc->message = ew_strdup("");
    }
}

/* The words of a Status without a message: its causes, else a plain fallback. */
static void kube_message_from_causes(struct strbuf *sb, const struct kube_error *err)
{
    for (size_t i = 0; i < err->ncauses && sb->len < KUBE_MESSAGE_MAX; i++) {
        const struct kube_cause *c = &err->causes[i];
        if (i)
            strbuf_adds(sb, "; ");
        if (c->field)
            strbuf_addf(sb, "%s: ", c->field);
        strbuf_adds(sb, c->message[0] ? c->message : (c->reason ? c->reason : "invalid"));
    }
    if (sb->len == 0)
        strbuf_adds(sb, "the server gave no message");
}

/* Fill err from a Status object; status is the HTTP status (or the Status's code). */
static kube_code kube_status_fill(struct kube_error *err, long status, const cJSON *st)
{
    const char *message = kube_json_str(st, "message");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(st, "details");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds");
    struct strbuf sb = STRBUF_INIT;
    kube_error_clear(err);
    err->reason = kube_json_line(st, "reason");
    err->code = kube_code_from_http(status, err->reason);
    err->http_status = status;
    if (cJSON_IsNumber(ra) && ra->valuedouble > 0)
        err->retry_after = ra->valuedouble;
    kube_causes_read(err, details);
    if (!message || kube_text_add(&sb, message, strlen(message), KUBE_MESSAGE_MAX) == 0)
        kube_message_from_causes(&sb, err);
    strbuf_addf(&sb, " (HTTP %ld%s%s)", status, err->reason ? " " : "",
                err->reason ? err->reason : "");
    err->message = strbuf_detach(&sb, NULL);
    return err->code;
}

/* Fill err for a body that is not a Status: quote the start of it. */
static kube_code kube_body_fill(struct kube_error *err, long status, const char *body, size_t len)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "HTTP %ld from server: ", status);
    if (!body || kube_text_add(&sb, body, len, KUBE_BODY_EXCERPT) == 0) {
        strbuf_reset(&sb);
        strbuf_addf(&sb, "HTTP %ld with empty body", status);
    }
    kube_error_clear(err);
    err->code = kube_code_from_http(status, NULL);
    err->http_status = status;
    err->message = strbuf_detach(&sb, NULL);
    return err->code;
}

/* An HTTP-date (RFC 9110 IMF-fixdate) as seconds from now, at least 1. */
static double kube_retry_after_date(const char *value)
{
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof(tm));
    end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return 1;
    double delta = difftime(timegm(&tm), time(NULL));
    return delta > 1 ? delta : 1;
}

/* Retry-After: delay-seconds or an HTTP-date; 0 when absent, 1 when unparsable. */
static double kube_retry_after_parse(const char *header)
{
    char *end;
    size_t len;
    long v;
    if (!header)
        return 0;
    while (isspace((unsigned char)*header))
        header++;
    len = strlen(header);
    while (len && isspace((unsigned char)header[len - 1]))
        len--;
    if (len == 0)
        return 0;
    if (!isdigit((unsigned char)header[0]))
        return kube_retry_after_date(header);
    errno = 0;
    v = strtol(header, &end, 10);
    if ((size_t)(end - header) != len)
        return 1;
    return errno == ERANGE ? (double)LONG_MAX : (double)v;
}

static int kube_is_status(const cJSON *st)
{
    const char *kind = kube_json_str(st, "kind");
    return cJSON_IsObject(st) && kind && strcmp(kind, "Status") == 0;
}

kube_code kube_status_parse(struct kube_error *err, long http_status, const char *body, size_t len,
                            const char *retry_after_header)
{
    struct kube_error local = KUBE_ERROR_INIT;
    struct kube_error *e = err ? err : &local;
    cJSON *st = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    double ra = kube_retry_after_parse(retry_after_header);
    kube_code code;
    if (kube_is_status(st))
        code = kube_status_fill(e, http_status, st);
    else
        code = kube_body_fill(e, http_status, body, len);
    if (ra > 0)
        e->retry_after = ra; /* the header wins over details.retryAfterSeconds */
    cJSON_Delete(st);
    kube_error_clear(&local);
    return code;
}

/* The HTTP code a Status stands for: its "code", else what its reason implies. */
static long kube_status_code(const cJSON *st)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code");
    const char *reason = kube_json_str(st, "reason");
    if (cJSON_IsNumber(c) && c->valuedouble >= 100 && c->valuedouble <= 599)
        return (long)c->valuedouble;
    for (size_t i = 0; reason && i < sizeof(kube_reason_codes) / sizeof(kube_reason_codes[0]); i++)
        if (strcmp(reason, kube_reason_codes[i].reason) == 0)
            return kube_reason_codes[i].status;
    return KUBE_STATUS_DEFAULT;
}

kube_code kube_status_from_json(struct kube_error *err, const cJSON *status)
{
    struct kube_error local = KUBE_ERROR_INIT;
    kube_code code;
    if (!cJSON_IsObject(status))
        return kube_error_set(err, KUBE_E_PROTOCOL,
                              "watch ERROR event: the object is not a Status");
    code = kube_status_fill(err ? err : &local, kube_status_code(status), status);
    kube_error_clear(&local);
    return code;
}
