/*
 * fuzz_watch_parser.c: the watch-stream parser and Status parsing on arbitrary
 * bytes. Must never crash, hang or leak, and must not depend on how the
 * stream is split into reads.
 *
 * Input layout: byte 0 is a control byte, the rest is the stream.
 *   bits 0-2: the stream is fed in 1..8 reads;
 *   bits 3-4: seed of the split points;
 *   bits 5-7: event size limit, 256 << n bytes.
 * The stream is parsed twice: in one read, and in the reads the control byte
 * picks. Both must deliver the same events (type, resourceVersion, object) and
 * end the same way, or the target aborts: that is the parser's central
 * promise (watch.h). The handler steals every third object and asks to stop at
 * every fifth event; a stopped parser is resumed with an empty feed. Parsing
 * stops at the first error, since after a framing error what follows depends
 * on where the reads ended.
 *
 * The stream bytes also go through kube_watch_event_decode, kube_status_parse
 * (HTTP status and Retry-After taken from the input) and, for ERROR events,
 * kube_status_from_json.
 *
 * For coverage of cJSON itself, link an instrumented cJSON.c instead of the
 * system library when fuzzing by hand.
 */
#include "kube/kube_error.h"
#include "kube/watch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_READS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_log {
    struct strbuf events; /* one line per event */
    size_t count;
};

static void fuzz_status(const cJSON *obj)
{
    struct kube_error e = KUBE_ERROR_INIT;
    kube_status_from_json(&e, obj);
    kube_error_retryable(&e);
    kube_error_prefix(&e, "watch %s", "configmaps");
    kube_error_clear(&e);
}

static int fuzz_on_event(void *ud, struct kube_watch_event *ev)
{
    struct fuzz_log *log = ud;
    char *json = cJSON_PrintUnformatted(ev->object);
    log->count++;
    strbuf_addf(&log->events, "%s %s %s\n", kube_event_type_name(ev->type),
                ev->resource_version ? ev->resource_version : "-", json ? json : "?");
    free(json);
    if (ev->type == KUBE_EVENT_ERROR)
        fuzz_status(ev->object);
    if (log->count % 3 == 0) { /* take ownership, as the reflector does */
        cJSON_Delete(ev->object);
        ev->object = NULL;
    }
    return log->count % 5 == 0;
}

/* Feed one read; resume while the handler asked to stop. */
static kube_code fuzz_feed(struct kube_watch_parser *p, const char *buf, size_t len,
                           struct fuzz_log *log, struct kube_error *err)
{
    kube_code rc = kube_watch_parser_feed(p, buf, len, fuzz_on_event, log, err);
    while (rc == KUBE_E_CANCELLED)
        rc = kube_watch_parser_feed(p, NULL, 0, fuzz_on_event, log, err);
    return rc;
}

/* Parse the stream in the given reads; append the outcome to log. */
static void fuzz_parse(const char *buf, size_t len, const size_t *cuts, size_t ncuts, size_t limit,
                       struct fuzz_log *log)
{
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = KUBE_OK;
    size_t prev = 0;
    kube_watch_parser_init(&p, limit);
    for (size_t i = 0; i <= ncuts && rc == KUBE_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = fuzz_feed(&p, buf + prev, end - prev, log, &err);
        prev = end;
    }
    strbuf_addf(&log->events, "= %s partial=%d\n", kube_code_name(rc),
                rc == KUBE_OK ? kube_watch_parser_has_partial(&p) : -1);
    if (rc != KUBE_OK && (!err.message || err.code != rc))
        abort(); /* every error comes with its message */
    kube_watch_parser_release(&p);
    kube_error_clear(&err);
}

/* Ascending split points in [0, len], from the control byte. */
static size_t fuzz_cuts(uint8_t control, size_t len, size_t *cuts)
{
    size_t n = control & 7;
    uint32_t x = 0x9e3779b9u * (uint32_t)(((control >> 3) & 3) + 1);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        cuts[i] = len ? (size_t)(x >> 8) % (len + 1) : 0;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: n <= 7 */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t tmp = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = tmp;
        }
    return n;
}

static void fuzz_framing(uint8_t control, const char *buf, size_t len)
{
    struct fuzz_log whole = {STRBUF_INIT, 0}, split = {STRBUF_INIT, 0};
    size_t cuts[FUZZ_MAX_READS];
    size_t ncuts = fuzz_cuts(control, len, cuts);
    size_t limit = (size_t)256 << (control >> 5);
    fuzz_parse(buf, len, NULL, 0, limit, &whole);
    fuzz_parse(buf, len, cuts, ncuts, limit, &split);
    if (whole.events.len != split.events.len ||
        memcmp(whole.events.buf, split.events.buf, whole.events.len) != 0)
        abort(); /* the split changed the events */
    strbuf_release(&whole.events);
    strbuf_release(&split.events);
}

static void fuzz_decode(const char *buf, size_t len)
{
    struct kube_watch_event ev;
    struct kube_error err = KUBE_ERROR_INIT;
    if (kube_watch_event_decode(buf, len, &ev, &err) == KUBE_OK) {
        if (ev.type == KUBE_EVENT_ERROR)
            fuzz_status(ev.object);
        cJSON_Delete(ev.object);
    } else if (ev.object || !err.message) {
        abort();
    }
    kube_error_clear(&err);
}

static void fuzz_http_status(uint8_t control, const char *buf, size_t len)
{
    struct kube_error err = KUBE_ERROR_INIT;
    char header[32];
    size_t hl = len < sizeof(header) - 1 ? len : sizeof(header) - 1;
    memcpy(header, buf, hl);
    header[hl] = '\0';
    kube_status_parse(&err, 300 + (long)control % 300, buf, len, control & 1 ? header : NULL);
    if (!err.message || strchr(err.message, '\n'))
        abort(); /* always a message, always one line */
    kube_error_retryable(&err);
    kube_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strbuf body = STRBUF_INIT;
    if (size == 0)
        return 0;
    fuzz_framing(data[0], (const char *)data + 1, size - 1);
    /* response bodies reach the parsers in a strbuf, NUL-terminated (cJSON
     * before 1.7.18 may read the byte after a document cut after a ',') */
    strbuf_add(&body, data + 1, size - 1);
    fuzz_decode(body.buf, body.len);
    fuzz_http_status(data[0], body.buf, body.len);
    strbuf_release(&body);
    return 0;
}
