/*
 * fuzz_watch_parser.c: the watch-stream parser and Status parsing on arbitrary
 * bytes. The first byte picks how the rest is split into reads, so the fuzzer
 * explores split points too. Must never crash, hang or leak.
 */
#include "kube/kube_error.h"
#include "kube/watch.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ud, struct kube_watch_event *ev)
{
    size_t *count = ud;
    (*count)++;
    if (ev->type == KUBE_EVENT_ERROR) {
        struct kube_error e = KUBE_ERROR_INIT;
        kube_status_from_json(&e, ev->object);
        kube_error_clear(&e);
    }
    if (*count % 3 == 0) { /* take ownership sometimes, as the reflector does */
        cJSON_Delete(ev->object);
        ev->object = NULL;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1, count = 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    struct kube_watch_parser parser;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_watch_parser_init(&parser, 4096);
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        if (kube_watch_parser_feed(&parser, p + off, n, on_event, &count, &err) != KUBE_OK)
            break;
    }
    kube_watch_parser_has_partial(&parser);
    kube_watch_parser_release(&parser);
    kube_error_clear(&err);
    kube_status_parse(&err, 400 + (long)(data[0] % 200), p, len, len > 2 ? "3" : NULL);
    kube_error_clear(&err);
    return 0;
}
