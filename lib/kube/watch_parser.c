/*
 * watch_parser.c: incremental framing of a watch stream (see watch.h).
 *
 * The API server writes one JSON object per event ({"type":..,"object":{..}}),
 * usually followed by a newline; we do not rely on the newline. We find where
 * each object ends by scanning bytes: depth counts '{' and '[' (minus '}' and
 * ']') outside strings, a '"' toggles in_string, and inside a string a
 * backslash escapes the next byte. The scanner only needs to be right about
 * where the object ends; cJSON then checks the object itself. Multibyte UTF-8
 * never contains bytes below 0x80, so it needs no special case.
 *
 * Design:
 *  - State (depth, in_string, escape, scanned) lives in the parser, so a split
 *    at any byte resumes exactly, and no byte is scanned twice: feeding one
 *    byte at a time is linear.
 *  - A feed appends the input to p->pending and walks it with a local offset
 *    (start: the first byte not yet consumed). Complete events are decoded in
 *    place; the consumed prefix is dropped once, at the end of the feed
 *    (kube_watch_compact), so a chunk holding many small events costs one
 *    memmove, not one per event.
 *  - Invariant between feeds: pending holds no leading whitespace, so
 *    has_partial is just pending.len > 0.
 *  - Between events only whitespace may appear; anything else is a framing
 *    error, after which the parser is reset (it cannot find the next event).
 *    Its "at byte N" counts from the first byte the parser held when the
 *    read began (bytes kept from earlier reads, then this read), which for a
 *    stream fed in one read is the offset in the stream.
 *    An event that fails to decode (bad JSON, unknown type) is consumed and
 *    reported; so is an event whose callback asked to stop (KUBE_E_CANCELLED).
 *    In both cases the bytes after it stay pending and a later feed (even of
 *    zero bytes) goes on from there.
 *  - An event longer than max_event_bytes is an error as soon as that many
 *    bytes of it have been seen, so a broken stream cannot use more memory
 *    than the limit plus one read.
 *  - Ownership: kube_watch_event_decode detaches "object" from the parsed
 *    document, so an event owns just its object. The callback may steal it
 *    (set ev->object to NULL); whatever is left is freed after the callback.
 */
#include "watch.h"

#include <stdlib.h>
#include <string.h>

#define KUBE_WATCH_DEFAULT_MAX (16u * 1024 * 1024)
#define KUBE_WATCH_KEEP_ALLOC  (1024u * 1024) /* free a larger empty buffer */
#define KUBE_WATCH_QUOTE_MAX   64             /* bytes of a bad value quoted in errors */

static const char *const kube_event_names[] = {
    [KUBE_EVENT_ADDED] = "ADDED",     [KUBE_EVENT_MODIFIED] = "MODIFIED",
    [KUBE_EVENT_DELETED] = "DELETED", [KUBE_EVENT_BOOKMARK] = "BOOKMARK",
    [KUBE_EVENT_ERROR] = "ERROR",
};

#define KUBE_EVENT_NTYPES (sizeof(kube_event_names) / sizeof(kube_event_names[0]))

const char *kube_event_type_name(enum kube_event_type t)
{
    return (size_t)t < KUBE_EVENT_NTYPES ? kube_event_names[t] : "UNKNOWN";
}

static int kube_is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Forget all pending bytes and scanning state (keeps the limit). */
static void kube_watch_reset(struct kube_watch_parser *p)
{
    strbuf_reset(&p->pending);
    p->scanned = 0;
    p->depth = 0;
    p->in_string = 0;
    p->escape = 0;
}

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof(*p));
    strbuf_init(&p->pending, 0);
    p->max_event_bytes = max_event_bytes ? max_event_bytes : KUBE_WATCH_DEFAULT_MAX;
}

void kube_watch_parser_release(struct kube_watch_parser *p)
{
    if (!p)
        return;
    strbuf_release(&p->pending);
    kube_watch_reset(p);
}

int kube_watch_parser_has_partial(const struct kube_watch_parser *p)
{
    return p && p->pending.len > 0;
}

/* Append s (len bytes) to sb as a short quoted excerpt safe for one line. */
static void kube_quote_add(struct strbuf *sb, const char *s, size_t len)
{
    size_t n = len < KUBE_WATCH_QUOTE_MAX ? len : KUBE_WATCH_QUOTE_MAX;
    strbuf_addch(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            strbuf_addf(sb, "\\x%02x", c);
        else
            strbuf_addch(sb, (char)c);
    }
    strbuf_addch(sb, '"');
    if (len > n)
        strbuf_adds(sb, "...");
}

/* Error for a decoded event: "watch event: <what>" plus an optional quoted value. */
static kube_code kube_event_error(struct kube_error *err, const char *what, const char *value)
{
    struct strbuf sb = STRBUF_INIT;
    if (!err)
        return KUBE_E_PROTOCOL;
    strbuf_adds(&sb, what);
    if (value) {
        strbuf_addch(&sb, ' ');
        kube_quote_add(&sb, value, strlen(value));
    }
    kube_error_set(err, KUBE_E_PROTOCOL, "watch event: %s", sb.buf);
    strbuf_release(&sb);
    return KUBE_E_PROTOCOL;
}

static kube_code kube_event_type_parse(const cJSON *root, enum kube_event_type *t,
                                       struct kube_error *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!type)
        return kube_event_error(err, "missing \"type\"", NULL);
    if (!cJSON_IsString(type))
        return kube_event_error(err, "\"type\" is not a string", NULL);
    for (size_t i = 0; i < KUBE_EVENT_NTYPES; i++) {
        if (strcmp(type->valuestring, kube_event_names[i]) == 0) {
            *t = (enum kube_event_type)i;
            return KUBE_OK;
        }
    }
    return kube_event_error(err, "unknown type", type->valuestring);
}

/* Take the event's type and object out of a parsed event document. */
static kube_code kube_event_take(cJSON *root, struct kube_watch_event *ev, struct kube_error *err)
{
    enum kube_event_type t = KUBE_EVENT_ADDED;
    kube_code rc = kube_event_type_parse(root, &t, err);
    const cJSON *meta, *rv;
    cJSON *obj;
    if (rc != KUBE_OK)
        return rc;
    obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (!obj)
        return kube_event_error(err, "missing \"object\" in event", kube_event_names[t]);
    if (!cJSON_IsObject(obj))
        return kube_event_error(err, "\"object\" is not an object in event", kube_event_names[t]);
    ev->type = t;
    ev->object = cJSON_DetachItemViaPointer(root, obj);
    if (!(ev->object->type & cJSON_StringIsConst))
        cJSON_free(ev->object->string); /* its key in the event: not part of the object */
    ev->object->string = NULL;
    meta = cJSON_GetObjectItemCaseSensitive(ev->object, "metadata");
    rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    ev->resource_version = cJSON_IsString(rv) ? rv->valuestring : NULL;
    return KUBE_OK;
}

kube_code kube_watch_event_decode(const char *json, size_t len, struct kube_watch_event *ev,
                                  struct kube_error *err)
{
    const char *end = NULL;
    cJSON *root;
    kube_code rc;
    memset(ev, 0, sizeof(*ev));
    if (!json || len == 0)
        return kube_event_error(err, "empty", NULL);
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return kube_error_set(err, KUBE_E_PROTOCOL, "watch event: invalid JSON near byte %zu", at);
    }
    while (end < json + len && kube_is_space((unsigned char)*end))
        end++;
    if (end < json + len)
        rc = kube_error_set(err, KUBE_E_PROTOCOL, "watch event: unexpected data at byte %zu",
                            (size_t)(end - json));
    else if (!cJSON_IsObject(root))
        rc = kube_event_error(err, "not a JSON object", NULL);
    else
        rc = kube_event_take(root, ev, err);
    cJSON_Delete(root);
    return rc;
}

/* A byte between events that cannot start one: reset, since we cannot resync. */
static kube_code kube_watch_framing_error(struct kube_watch_parser *p, size_t *start, size_t at,
                                          unsigned char c, struct kube_error *err)
{
    kube_code rc;
    if (c > 0x20 && c < 0x7f && c != '\'')
        rc = kube_error_set(err, KUBE_E_PROTOCOL,
                            "watch stream: expected '{' at byte %zu, got '%c'", at, c);
    else
        rc = kube_error_set(err, KUBE_E_PROTOCOL,
                            "watch stream: expected '{' at byte %zu, got byte 0x%02x", at, c);
    kube_watch_reset(p);
    *start = 0;
    return rc;
}

static kube_code kube_watch_oversize(struct kube_watch_parser *p, size_t *start,
                                     struct kube_error *err)
{
    kube_watch_reset(p);
    *start = 0;
    return kube_error_set(err, KUBE_E_PROTOCOL,
                          "watch stream: an event is larger than the limit of %zu bytes",
                          p->max_event_bytes);
}

/*
 * Scan pending from p->scanned. Whitespace before an event is consumed by
 * moving *start past it. On return *end is one past the '}' that completes the
 * event starting at *start, or 0 when more bytes are needed.
 */
static kube_code kube_watch_scan(struct kube_watch_parser *p, size_t *start, size_t *end,
                                 struct kube_error *err)
{
    const unsigned char *b = (const unsigned char *)p->pending.buf;
    size_t i = p->scanned, len = p->pending.len;
    int depth = p->depth, in_string = p->in_string, escape = p->escape;
    *end = 0;
    for (; i < len && !*end; i++) {
        unsigned char c = b[i];
        if (in_string) {
            if (escape)
                escape = 0;
            else if (c == '\\')
                escape = 1;
            else if (c == '"')
                in_string = 0;
        } else if (depth == 0) {
            if (c != '{' && !kube_is_space(c))
                return kube_watch_framing_error(p, start, i, c, err);
            if (c == '{')
                depth = 1;
            else
                *start = i + 1;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            *end = i + 1;
        }
    }
    p->scanned = i;
    p->depth = depth;
    p->in_string = in_string;
    p->escape = escape;
    if ((*end ? *end : i) - *start > p->max_event_bytes)
        return kube_watch_oversize(p, start, err);
    return KUBE_OK;
}

/* Decode one complete event, hand it to fn, free what fn left. */
static kube_code kube_watch_deliver(const char *json, size_t len, kube_watch_event_fn fn, void *ud,
                                    struct kube_error *err)
{
    struct kube_watch_event ev;
    kube_code rc = kube_watch_event_decode(json, len, &ev, err);
    int stop;
    if (rc != KUBE_OK)
        return rc;
    stop = fn(ud, &ev);
    cJSON_Delete(ev.object);
    if (stop)
        return kube_error_set(err, KUBE_E_CANCELLED, "watch stream: stopped by the event handler");
    return KUBE_OK;
}

/* Drop the consumed prefix and any whitespace after it; free a big empty buffer. */
static void kube_watch_compact(struct kube_watch_parser *p, size_t start)
{
    while (start < p->pending.len && kube_is_space((unsigned char)p->pending.buf[start]))
        start++;
    if (start > p->scanned) /* only whitespace at depth 0 was skipped */
        p->scanned = start;
    strbuf_remove_prefix(&p->pending, start);
    p->scanned -= start;
    if (p->pending.len == 0 && p->pending.alloc > KUBE_WATCH_KEEP_ALLOC)
        strbuf_release(&p->pending);
}

kube_code kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len,
                                 kube_watch_event_fn fn, void *ud, struct kube_error *err)
{
    size_t start = 0, end = 0;
    kube_code rc;
    if (!p || !fn || (!data && len))
        return kube_error_set(err, KUBE_E_ARG, "watch stream: invalid arguments to feed");
    if (len)
        strbuf_add(&p->pending, data, len);
    for (;;) {
        rc = kube_watch_scan(p, &start, &end, err);
        if (rc != KUBE_OK || end == 0)
            break;
        rc = kube_watch_deliver(p->pending.buf + start, end - start, fn, ud, err);
        start = end;
        if (rc != KUBE_OK)
            break;
    }
    kube_watch_compact(p, start);
    return rc;
}
