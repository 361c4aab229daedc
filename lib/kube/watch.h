/*
 * watch: Kubernetes watch streams.
 *
 * The framing parser (kube_watch_parser) is pure and incremental: feed it the
 * bytes of a watch response in whatever pieces the network delivers, and it
 * calls back once per complete event. It finds object boundaries by scanning
 * JSON (braces outside strings, escapes), so it does not depend on the newline
 * the API server puts after each event, and a split at any byte (inside a
 * string, an escape, a multibyte character) changes nothing.
 *
 * kube_watch_start opens a streaming GET ?watch=1 on a client; events are
 * delivered on the client's transport thread (see client.h).
 */
#ifndef EW_KUBE_WATCH_H
#define EW_KUBE_WATCH_H

#include "kube_error.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <stddef.h>

enum kube_event_type {
    KUBE_EVENT_ADDED,
    KUBE_EVENT_MODIFIED,
    KUBE_EVENT_DELETED,
    KUBE_EVENT_BOOKMARK,
    KUBE_EVENT_ERROR,
};

struct kube_watch_event {
    enum kube_event_type type;
    /* The event's object (a Status for ERROR). Owned by the library; a callback
     * that wants to keep it sets this field to NULL and then owns it. */
    cJSON *object;
    /* metadata.resourceVersion of the object, or NULL; points into object. */
    const char *resource_version;
};

const char *kube_event_type_name(enum kube_event_type t);

/* Called once per complete event. Return 0 to go on, non-zero to stop feeding. */
typedef int (*kube_watch_event_fn)(void *ud, struct kube_watch_event *ev);

struct kube_watch_parser {
    struct strbuf pending; /* bytes of an incomplete event */
    size_t scanned;        /* bytes of pending already scanned */
    int depth;             /* brace/bracket depth at scanned */
    int in_string;
    int escape;
    size_t max_event_bytes; /* an event larger than this is a protocol error */
};

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_event_bytes);
void kube_watch_parser_release(struct kube_watch_parser *p);
/*
 * Feed bytes. For each complete event, decode it and call fn. Returns KUBE_OK,
 * KUBE_E_PROTOCOL (bad JSON, unknown event type, oversize event: err says which),
 * or KUBE_E_CANCELLED when fn asked to stop.
 */
kube_code kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len,
                                 kube_watch_event_fn fn, void *ud, struct kube_error *err);
/* True when bytes of an incomplete event are pending (stream ended mid-event). */
int kube_watch_parser_has_partial(const struct kube_watch_parser *p);

/* Decode one event document {"type":...,"object":{...}}. On success ev->object is owned by
 * the caller. */
kube_code kube_watch_event_decode(const char *json, size_t len, struct kube_watch_event *ev,
                                  struct kube_error *err);

#endif
