/*
 * test_watch_parser.c: the watch-stream framing parser, fed a stream recorded
 * from a real kube-apiserver (test/data/watch-stream.json: ConfigMap events with
 * escaped quotes, backslashes, braces inside strings and UTF-8, a bookmark, and
 * the 410 ERROR event of a watch from a compacted resourceVersion) split at
 * every possible point.
 */
#include "harness.h"
#include "base/fileutil.h"
#include "kube/watch.h"

#include <stdlib.h>
#include <string.h>

#define EXPECTED_EVENTS 6

struct seen {
    struct strbuf log; /* "TYPE rv name|" per event + the object's canonical JSON */
    int count;
    int steal;
    int stop_after;
};

static int record(void *ud, struct kube_watch_event *ev)
{
    struct seen *s = ud;
    const cJSON *meta = cJSON_GetObjectItem(ev->object, "metadata");
    const cJSON *name = cJSON_GetObjectItem(meta, "name");
    char *json = cJSON_PrintUnformatted(ev->object);
    strbuf_addf(&s->log, "%s %s %s %s|", kube_event_type_name(ev->type),
                ev->resource_version ? ev->resource_version : "-",
                cJSON_IsString(name) ? name->valuestring : "-", json);
    free(json);
    s->count++;
    if (s->steal) {
        cJSON_Delete(ev->object);
        ev->object = NULL;
    }
    return s->stop_after && s->count >= s->stop_after;
}

static void load(struct test_ctx *t, struct strbuf *sb)
{
    REQUIREF(t, ew_read_file(sb, TEST_DATA_DIR "/watch-stream.json", 1 << 20) == 0,
             "cannot read %s", TEST_DATA_DIR "/watch-stream.json");
}

/* Feed data in the pieces given by split points; return the log. */
static kube_code feed_split(const char *data, size_t len, const size_t *splits, size_t nsplits,
                            struct seen *s)
{
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_watch_parser_init(&p, 0);
    size_t prev = 0;
    kube_code rc = KUBE_OK;
    for (size_t i = 0; i <= nsplits && rc == KUBE_OK; i++) {
        size_t end = i < nsplits ? splits[i] : len;
        rc = kube_watch_parser_feed(&p, data + prev, end - prev, record, s, &err);
        prev = end;
    }
    if (rc == KUBE_OK && kube_watch_parser_has_partial(&p))
        rc = KUBE_E_PROTOCOL;
    kube_watch_parser_release(&p);
    kube_error_clear(&err);
    return rc;
}

static void test_whole_stream(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen s = {STRBUF_INIT, 0, 0, 0};
    load(t, &data);
    CHECK(t, feed_split(data.buf, data.len, NULL, 0, &s) == KUBE_OK);
    CHECK(t, s.count == EXPECTED_EVENTS);
    CHECK_CONTAINS(t, s.log.buf, "ADDED 459 weird");
    CHECK_CONTAINS(t, s.log.buf,
                   "donn\xc3\xa9"
                   "es \xe2\x98\x83");
    CHECK_CONTAINS(t, s.log.buf, "MODIFIED");
    CHECK_CONTAINS(t, s.log.buf, "DELETED");
    CHECK_CONTAINS(t, s.log.buf, "BOOKMARK 475 -");
    CHECK_CONTAINS(t, s.log.buf, "ERROR - - {\"kind\":\"Status\"");
    strbuf_release(&s.log);
    strbuf_release(&data);
}

static void test_every_single_split(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen whole = {STRBUF_INIT, 0, 0, 0};
    load(t, &data);
    REQUIRE(t, feed_split(data.buf, data.len, NULL, 0, &whole) == KUBE_OK);
    for (size_t i = 0; i <= data.len; i++) {
        struct seen s = {STRBUF_INIT, 0, 0, 0};
        kube_code rc = feed_split(data.buf, data.len, &i, 1, &s);
        int same = rc == KUBE_OK && strcmp(s.log.buf, whole.log.buf) == 0;
        strbuf_release(&s.log);
        if (!same) {
            CHECKF(t, 0, "split at byte %zu changed the events (rc %s)", i, kube_code_name(rc));
            break;
        }
    }
    strbuf_release(&whole.log);
    strbuf_release(&data);
}

/* The last two events (bookmark, 410 ERROR) split at every pair of points. */
static void test_every_pair_of_splits(struct test_ctx *t)
{
    struct strbuf all = STRBUF_INIT;
    load(t, &all);
    size_t start = all.len - 1, lines = 0;
    while (start > 0 && !(all.buf[start - 1] == '\n' && ++lines == 2))
        start--;
    const char *data = all.buf + start;
    size_t len = all.len - start;
    struct seen whole = {STRBUF_INIT, 0, 0, 0};
    REQUIRE(t, feed_split(data, len, NULL, 0, &whole) == KUBE_OK);
    REQUIREF(t, whole.count == 2, "events in the tail: %d", whole.count);
    size_t bad = 0;
    for (size_t i = 0; i <= len && !bad; i++) {
        for (size_t j = i; j <= len; j++) {
            size_t sp[2] = {i, j};
            struct seen s = {STRBUF_INIT, 0, 0, 0};
            kube_code rc = feed_split(data, len, sp, 2, &s);
            if (rc != KUBE_OK || strcmp(s.log.buf, whole.log.buf) != 0)
                bad = i * 100000 + j + 1;
            strbuf_release(&s.log);
            if (bad)
                break;
        }
    }
    CHECKF(t, !bad, "splits at %zu and %zu changed the events", (bad - 1) / 100000,
           (bad - 1) % 100000);
    strbuf_release(&whole.log);
    strbuf_release(&all);
}

static void test_one_byte_at_a_time(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    load(t, &data);
    struct seen whole = {STRBUF_INIT, 0, 0, 0}, s = {STRBUF_INIT, 0, 0, 0};
    REQUIRE(t, feed_split(data.buf, data.len, NULL, 0, &whole) == KUBE_OK);
    size_t *splits = malloc(data.len * sizeof(size_t));
    for (size_t i = 0; i < data.len; i++)
        splits[i] = i;
    CHECK(t, feed_split(data.buf, data.len, splits, data.len, &s) == KUBE_OK);
    CHECK_STR(t, s.log.buf, whole.log.buf);
    free(splits);
    strbuf_release(&whole.log);
    strbuf_release(&s.log);
    strbuf_release(&data);
}

static kube_code feed_str(const char *text, struct seen *s, struct kube_error *err)
{
    struct kube_watch_parser p;
    kube_watch_parser_init(&p, 256);
    kube_code rc = kube_watch_parser_feed(&p, text, strlen(text), record, s, err);
    kube_watch_parser_release(&p);
    return rc;
}

#define EV(type, name) "{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\"}}}"

static void test_whitespace_and_no_newlines(struct test_ctx *t)
{
    struct seen s = {STRBUF_INIT, 0, 0, 0};
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, feed_str("\n  \r\n\t" EV("ADDED", "a") EV("MODIFIED", "a") "  " EV("DELETED", "a"), &s,
                      &err) == KUBE_OK);
    CHECK(t, s.count == 3);
    CHECK(t, feed_str("   \n\n", &s, &err) == KUBE_OK);
    CHECK(t, s.count == 3);
    strbuf_release(&s.log);
    kube_error_clear(&err);
}

static void test_errors(struct test_ctx *t)
{
    struct seen s = {STRBUF_INIT, 0, 0, 0};
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, feed_str(EV("ADDED", "a") "x" EV("ADDED", "b"), &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "expected '{'");
    CHECK(t, s.count == 1);
    CHECK(t, feed_str("{\"type\":\"ADDED\",\"object\":{\"a\":tru}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "invalid JSON");
    CHECK(t, feed_str(EV("FOO", "a"), &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "unknown type \"FOO\"");
    CHECK(t, feed_str("{\"object\":{}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "missing \"type\"");
    CHECK(t, feed_str("{\"type\":\"ADDED\",\"object\":[1]}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "is not an object");
    CHECK(t, feed_str("[1,2]", &s, &err) == KUBE_E_PROTOCOL);
    char big[600];
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"type\":\"ADDED\",\"object\":{\"x\":\"", 31);
    big[sizeof(big) - 1] = '\0';
    CHECK(t, feed_str(big, &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "larger than 256 bytes");
    strbuf_release(&s.log);
    kube_error_clear(&err);
}

static void test_steal_stop_and_partial(struct test_ctx *t)
{
    struct seen s = {STRBUF_INIT, 0, 1, 2};
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, feed_str(EV("ADDED", "a") EV("ADDED", "b") EV("ADDED", "c"), &s, &err) ==
                 KUBE_E_CANCELLED);
    CHECK(t, s.count == 2);
    struct kube_watch_parser p;
    kube_watch_parser_init(&p, 0);
    const char *half = "{\"type\":\"ADDED\",\"obj";
    CHECK(t, kube_watch_parser_feed(&p, half, strlen(half), record, &s, &err) == KUBE_OK);
    CHECK(t, kube_watch_parser_has_partial(&p));
    kube_watch_parser_release(&p);
    strbuf_release(&s.log);
    kube_error_clear(&err);
}

static const struct test_case cases[] = {
    {"whole_stream", test_whole_stream},
    {"every_single_split", test_every_single_split},
    {"every_pair_of_splits", test_every_pair_of_splits},
    {"one_byte_at_a_time", test_one_byte_at_a_time},
    {"whitespace_and_no_newlines", test_whitespace_and_no_newlines},
    {"errors", test_errors},
    {"steal_stop_and_partial", test_steal_stop_and_partial},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
