/*
 * watch_parser.c: incremental framing of a watch stream (see watch.h).
 *
 * The API server writes one JSON object per event. We find where each object
 * ends by scanning: depth counts '{' and '[' outside strings, a backslash
 * escapes the next byte inside a string. Bytes already scanned are never
 * scanned again (p->scanned), so feeding one byte at a time is linear. A
 * complete event is decoded with cJSON and handed to the callback; consumed
 * bytes are dropped from the front of the buffer.
 */
#include "watch.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_EVENT (16u * 1024 * 1024)

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *kube_event_type_name(enum kube_event_type t)
{
    return (unsigned)t < 5 ? type_names[t] : "UNKNOWN";
}

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof(*p));
    strbuf_init(&p->pending, 0);
    p->max_event_bytes = max_event_bytes ? max_event_bytes : DEFAULT_MAX_EVENT;
}

void kube_watch_parser_release(struct kube_watch_parser *p)
{
    strbuf_release(&p->pending);
    p->scanned = 0;
    p->depth = 0;
    p->in_string = 0;
    p->escape = 0;
}

int kube_watch_parser_has_partial(const struct kube_watch_parser *p)
{
    for (size_t i = 0; i < p->pending.len; i++) {
        char c = p->pending.buf[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            return 1;
    }
    return 0;
}

kube_code kube_watch_event_decode(const char *json, size_t len, struct kube_watch_event *ev,
                                  struct kube_error *err)
{
    memset(ev, 0, sizeof(*ev));
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return kube_error_set(err, KUBE_E_PROTOCOL, "watch event: invalid JSON");
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    kube_code rc = KUBE_OK;
    int t = -1;
    if (!cJSON_IsString(type)) {
        rc = kube_error_set(err, KUBE_E_PROTOCOL, "watch event: missing \"type\"");
    } else {
        for (int i = 0; i < 5; i++)
            if (strcmp(type->valuestring, type_names[i]) == 0)
                t = i;
        if (t < 0)
            rc = kube_error_set(err, KUBE_E_PROTOCOL, "watch event: unknown type \"%.40s\"",
                                type->valuestring);
    }
    cJSON *obj = rc == KUBE_OK ? cJSON_DetachItemFromObjectCaseSensitive(root, "object") : NULL;
    if (rc == KUBE_OK && !cJSON_IsObject(obj))
        rc = kube_error_set(err, KUBE_E_PROTOCOL, "watch event %s: \"object\" is not an object",
                            type_names[t]);
    cJSON_Delete(root);
    if (rc != KUBE_OK) {
        cJSON_Delete(obj);
        return rc;
    }
    ev->type = (enum kube_event_type)t;
    ev->object = obj;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    ev->resource_version = cJSON_IsString(rv) ? rv->valuestring : NULL;
    return KUBE_OK;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Scan from p->scanned; return the end offset (exclusive) of a complete top-level
 * object, 0 when more bytes are needed, or (size_t)-1 on a framing error. */
static size_t scan(struct kube_watch_parser *p, struct kube_error *err)
{
    const char *b = p->pending.buf;
    for (size_t i = p->scanned; i < p->pending.len; i++) {
        char c = b[i];
        if (p->in_string) {
            if (p->escape)
                p->escape = 0;
            else if (c == '\\')
                p->escape = 1;
            else if (c == '"')
                p->in_string = 0;
            continue;
        }
        if (p->depth == 0) {
            if (is_space(c))
                continue;
            if (c != '{') {
                kube_error_set(err, KUBE_E_PROTOCOL,
                               "watch stream: expected '{' at byte %zu, got 0x%02x", i,
                               (unsigned char)c);
                return (size_t)-1;
            }
        }
        if (c == '"') {
            p->in_string = 1;
        } else if (c == '{' || c == '[') {
            p->depth++;
        } else if (c == '}' || c == ']') {
            if (--p->depth == 0) {
                p->scanned = i + 1;
                return i + 1;
            }
        }
    }
    p->scanned = p->pending.len;
    return 0;
}

static kube_code deliver(struct kube_watch_parser *p, size_t end, kube_watch_event_fn fn, void *ud,
                         struct kube_error *err)
{
    struct kube_watch_event ev;
    kube_code rc = kube_watch_event_decode(p->pending.buf, end, &ev, err);
    strbuf_remove_prefix(&p->pending, end);
    p->scanned = 0;
    if (rc != KUBE_OK)
        return rc;
    int stop = fn(ud, &ev);
    cJSON_Delete(ev.object);
    if (stop)
        return kube_error_set(err, KUBE_E_CANCELLED, "watch stream: stopped by the handler");
    return KUBE_OK;
}

kube_code kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len,
                                 kube_watch_event_fn fn, void *ud, struct kube_error *err)
{
    size_t off = 0;
    while (off < len) {
        /* take input up to and including the next newline, so the buffer stays small
         * and events are delivered as soon as they are complete */
        const char *nl = memchr(data + off, '\n', len - off);
        size_t take = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
        strbuf_add(&p->pending, data + off, take);
        off += take;
        for (;;) {
            size_t end = scan(p, err);
            if (end == (size_t)-1)
                return KUBE_E_PROTOCOL;
            if (end == 0)
                break;
            kube_code rc = deliver(p, end, fn, ud, err);
            if (rc != KUBE_OK)
                return rc;
        }
        if (p->pending.len > p->max_event_bytes)
            return kube_error_set(err, KUBE_E_PROTOCOL,
                                  "watch stream: an event is larger than %zu bytes",
                                  p->max_event_bytes);
    }
    return KUBE_OK;
}
