/*
 * test_watch_parser.c: the watch-stream framing parser (lib/kube/watch_parser.c).
 *
 * test/data/watch-stream.json was recorded with curl from a real kube-apiserver
 * (v1.36, hack/cluster.sh): a ConfigMap watch with sendInitialEvents (so it opens
 * with the initial-events-end BOOKMARK), then kubectl apply/create/patch/
 * annotate/delete of two ConfigMaps whose data holds escaped quotes,
 * backslashes (one at the very end of a string), braces and brackets inside
 * strings, a newline and a tab, and 2-, 3- and 4-byte UTF-8. It ends with the
 * ERROR event of a watch from a compacted resourceVersion (410 Expired, text of
 * k8s.io/apiserver's etcd3 watcher), appended by hand: the test cluster had
 * not compacted yet.
 *
 * The central property: however the bytes are split into reads, the parser
 * yields the same events. Every event is logged as "TYPE rv name" plus the
 * cJSON_Print of its object, and the logs must be identical.
 */
#include "harness.h"
#include "base/fileutil.h"
#include "kube/watch.h"

#include <stdlib.h>
#include <string.h>

#define STREAM_FILE TEST_DATA_DIR "/watch-stream.json"

static const char expected_summary[] = "BOOKMARK 1340 -\n"
                                       "ADDED 1341 weird\n"
                                       "ADDED 1342 plain\n"
                                       "MODIFIED 1343 plain\n"
                                       "MODIFIED 1344 weird\n"
                                       "DELETED 1345 plain\n"
                                       "DELETED 1346 weird\n"
                                       "ERROR - -\n";

/* A short stream with every hard case, small enough to split at every pair of points. */
static const char small_stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"7\"},"
    "\"data\":{\"a\":\"q\\\"}{\\\\\",\"b\":\"\\\\\",\"c\":[\"]\",{\"d\":\"\\u00e9 "
    "\xc3\xa9\xe2\x98\x83\xf0\x9d\x84\x9e\"}]}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
    "{\"resourceVersion\":\"9\"}}}";

struct seen {
    struct strbuf summary; /* "TYPE rv name\n" per event */
    struct strbuf log;     /* summary line + cJSON_Print(object) per event */
    int count;
    int steal;      /* take ev->object into kept */
    int stop_after; /* ask to stop at this event (1-based); 0 = never */
    cJSON *kept;    /* stolen objects */
};

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    strbuf_init(&s->summary, 0);
    strbuf_init(&s->log, 0);
}

static void seen_release(struct seen *s)
{
    strbuf_release(&s->summary);
    strbuf_release(&s->log);
    cJSON_Delete(s->kept);
    s->kept = NULL;
}

static int record(void *ud, struct kube_watch_event *ev)
{
    struct seen *s = ud;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(ev->object, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    char *json = cJSON_Print(ev->object);
    const char *rv = ev->resource_version ? ev->resource_version : "-";
    const char *nm = cJSON_IsString(name) ? name->valuestring : "-";
    strbuf_addf(&s->summary, "%s %s %s\n", kube_event_type_name(ev->type), rv, nm);
    strbuf_addf(&s->log, "%s %s %s\n%s\n", kube_event_type_name(ev->type), rv, nm, json);
    free(json);
    s->count++;
    if (s->steal) {
        if (!s->kept)
            s->kept = cJSON_CreateArray();
        cJSON_AddItemToArray(s->kept, ev->object);
        ev->object = NULL;
    }
    return s->stop_after && s->count == s->stop_after;
}

static void load(struct test_ctx *t, struct strbuf *sb)
{
    REQUIREF(t, ew_read_file(sb, STREAM_FILE, 1 << 20) == 0, "cannot read %s", STREAM_FILE);
}

/* Feed data in pieces ending at the given split points (ascending), then the
 * rest. A complete stream must leave nothing pending. */
static kube_code feed_split(const char *data, size_t len, const size_t *splits, size_t nsplits,
                            struct seen *s)
{
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    size_t prev = 0;
    kube_code rc = KUBE_OK;
    kube_watch_parser_init(&p, 0);
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

/* Feed a NUL-terminated text in one piece to a parser with a 512-byte limit. */
static kube_code feed_text(const char *text, struct seen *s, struct kube_error *err)
{
    struct kube_watch_parser p;
    kube_code rc;
    kube_watch_parser_init(&p, 512);
    rc = kube_watch_parser_feed(&p, text, strlen(text), record, s, err);
    kube_watch_parser_release(&p);
    return rc;
}

static const cJSON *get_path(const cJSON *obj, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
}

static void test_whole_stream(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen s;
    seen_init(&s);
    s.steal = 1;
    load(t, &data);
    CHECK(t, feed_split(data.buf, data.len, NULL, 0, &s) == KUBE_OK);
    CHECK_STR(t, s.summary.buf, expected_summary);
    REQUIRE(t, cJSON_GetArraySize(s.kept) == 8);
    /* the decoded strings are exactly what kubectl wrote */
    const cJSON *weird = cJSON_GetArrayItem(s.kept, 1);
    const cJSON *text = get_path(weird, "data", "text");
    CHECK(t, cJSON_IsString(text));
    CHECK_STR(t, cJSON_GetStringValue(text),
              "donn\xc3\xa9"
              "es \xe2\x98\x83 \"quoted\" back\\slash {braces} [brackets] }{ \xf0\x9d\x84\x9e");
    CHECK_STR(t, cJSON_GetStringValue(get_path(weird, "data", "trailing-backslash")),
              "ends with \\");
    CHECK_STR(t, cJSON_GetStringValue(get_path(weird, "data", "multiline")),
              "line one\n\ttab \"two\" }\n");
    CHECK_STR(t, cJSON_GetStringValue(get_path(weird, "data", "json")),
              "{\"nested\": {\"a\": [1, 2, {\"b\": \"}\"}]}}");
    /* the last event is the 410 ERROR: its object is a Status */
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, kube_status_from_json(&err, cJSON_GetArrayItem(s.kept, 7)) == KUBE_E_GONE);
    CHECK_CONTAINS(t, err.message, "(HTTP 410 Expired)");
    kube_error_clear(&err);
    seen_release(&s);
    strbuf_release(&data);
}

static void test_one_byte_at_a_time(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen whole, s;
    seen_init(&whole);
    seen_init(&s);
    load(t, &data);
    REQUIRE(t, feed_split(data.buf, data.len, NULL, 0, &whole) == KUBE_OK);
    size_t *splits = ew_calloc(data.len, sizeof(*splits));
    for (size_t i = 0; i < data.len; i++)
        splits[i] = i;
    CHECK(t, feed_split(data.buf, data.len, splits, data.len, &s) == KUBE_OK);
    CHECK(t, s.count == 8);
    CHECK(t, strcmp(s.log.buf, whole.log.buf) == 0);
    free(splits);
    seen_release(&whole);
    seen_release(&s);
    strbuf_release(&data);
}

static void test_every_single_split(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen whole;
    seen_init(&whole);
    load(t, &data);
    REQUIRE(t, feed_split(data.buf, data.len, NULL, 0, &whole) == KUBE_OK);
    for (size_t i = 0; i <= data.len; i++) {
        struct seen s;
        seen_init(&s);
        kube_code rc = feed_split(data.buf, data.len, &i, 1, &s);
        int same = rc == KUBE_OK && strcmp(s.log.buf, whole.log.buf) == 0;
        seen_release(&s);
        if (!same) {
            CHECKF(t, 0, "split at byte %zu changed the events (rc %s)", i, kube_code_name(rc));
            break;
        }
    }
    seen_release(&whole);
    strbuf_release(&data);
}

static void test_every_pair_of_splits(struct test_ctx *t)
{
    size_t len = strlen(small_stream), bad_i = 0, bad_j = 0;
    int bad = 0;
    struct seen whole;
    seen_init(&whole);
    REQUIRE(t, feed_split(small_stream, len, NULL, 0, &whole) == KUBE_OK);
    CHECK_STR(t, whole.summary.buf, "ADDED 7 s\nBOOKMARK 9 -\n");
    for (size_t i = 0; i <= len && !bad; i++) {
        for (size_t j = i; j <= len && !bad; j++) {
            size_t sp[2] = {i, j};
            struct seen s;
            seen_init(&s);
            kube_code rc = feed_split(small_stream, len, sp, 2, &s);
            bad = rc != KUBE_OK || strcmp(s.log.buf, whole.log.buf) != 0;
            bad_i = i;
            bad_j = j;
            seen_release(&s);
        }
    }
    CHECKF(t, !bad, "splits at %zu and %zu changed the events", bad_i, bad_j);
    seen_release(&whole);
}

/* Reads of pseudo-random sizes (a fixed LCG, so failures reproduce). */
static void test_random_reads(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen whole;
    unsigned long long x = 42;
    seen_init(&whole);
    load(t, &data);
    REQUIRE(t, feed_split(data.buf, data.len, NULL, 0, &whole) == KUBE_OK);
    size_t *splits = ew_calloc(data.len, sizeof(*splits));
    for (int round = 0; round < 200; round++) {
        size_t n = 0, at = 0;
        for (;;) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            at += 1 + (size_t)(x >> 33) % (round % 5 == 0 ? 7 : 700);
            if (at >= data.len)
                break;
            splits[n++] = at;
        }
        struct seen s;
        seen_init(&s);
        kube_code rc = feed_split(data.buf, data.len, splits, n, &s);
        int same = rc == KUBE_OK && strcmp(s.log.buf, whole.log.buf) == 0;
        seen_release(&s);
        if (!same) {
            CHECKF(t, 0, "round %d (%zu reads) changed the events", round, n + 1);
            break;
        }
    }
    free(splits);
    seen_release(&whole);
    strbuf_release(&data);
}

#define EV(type, name) "{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\"}}}"

static void test_whitespace_and_no_newlines(struct test_ctx *t)
{
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    struct seen s;
    seen_init(&s);
    kube_watch_parser_init(&p, 0);
    const char *pieces[] = {
        "\n  \r\n\t",       "",     " ",   EV("ADDED", "a") EV("MODIFIED", "a"), "\n\n", "   ",
        EV("DELETED", "a"), "\r\n", " \t "};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        CHECK(t, kube_watch_parser_feed(&p, pieces[i], strlen(pieces[i]), record, &s, &err) ==
                     KUBE_OK);
        CHECK(t, !kube_watch_parser_has_partial(&p));
    }
    CHECK_STR(t, s.summary.buf, "ADDED - a\nMODIFIED - a\nDELETED - a\n");
    /* a last event without a newline after it is delivered at once */
    CHECK(t, kube_watch_parser_feed(&p, EV("ADDED", "z"), strlen(EV("ADDED", "z")), record, &s,
                                    &err) == KUBE_OK);
    CHECK(t, s.count == 4 && !kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, NULL, 0, record, &s, &err) == KUBE_OK);
    kube_watch_parser_release(&p);
    seen_release(&s);
    kube_error_clear(&err);
}

static void test_garbage_between_events(struct test_ctx *t)
{
    struct seen s;
    struct kube_error err = KUBE_ERROR_INIT;
    seen_init(&s);
    CHECK(t, feed_text(EV("ADDED", "a") "\nx" EV("ADDED", "b"), &s, &err) == KUBE_E_PROTOCOL);
    char want[80];
    snprintf(want, sizeof(want), "watch stream: expected '{' at byte %zu, got 'x'",
             strlen(EV("ADDED", "a")) + 1);
    CHECK_STR(t, err.message, want);
    CHECK(t, s.count == 1);
    CHECK(t, feed_text("[1,2]", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "got '['");
    CHECK(t, feed_text("\"str\"", &s, &err) == KUBE_E_PROTOCOL);
    CHECK(t, feed_text("\x01{}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "got byte 0x01");
    CHECK(t, feed_text("}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK(t, s.count == 1);
    /* a bad event, then a stray '}': the bad event is reported first, the '}' on the
     * next feed; after a framing error the parser starts afresh */
    struct kube_watch_parser p;
    kube_watch_parser_init(&p, 0);
    CHECK(t, kube_watch_parser_feed(&p, "{\"ty", 4, record, &s, &err) == KUBE_OK);
    CHECK(t, kube_watch_parser_feed(&p, "pe\":1}} ", 9, record, &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: \"type\" is not a string");
    CHECK(t, kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, NULL, 0, record, &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch stream: expected '{' at byte 0, got '}'");
    CHECK(t, !kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, EV("ADDED", "c"), strlen(EV("ADDED", "c")), record, &s,
                                    &err) == KUBE_OK);
    CHECK(t, s.count == 2);
    kube_watch_parser_release(&p);
    seen_release(&s);
    kube_error_clear(&err);
}

static void test_bad_events(struct test_ctx *t)
{
    struct seen s;
    struct kube_error err = KUBE_ERROR_INIT;
    seen_init(&s);
    CHECK(t, feed_text("{\"type\":\"ADDED\",\"object\":{\"a\":tru}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: invalid JSON near byte 30");
    CHECK(t, feed_text("{\"type\":\"ADDED\",\"object\":{\"a\":1,}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "invalid JSON");
    CHECK(t, feed_text(EV("FOO", "a"), &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: unknown type \"FOO\"");
    CHECK(t, feed_text(EV("added", "a"), &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: unknown type \"added\"");
    CHECK(t, feed_text(EV("A\\nB\\\"", "a"), &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: unknown type \"A\\x0aB\\x22\"");
    CHECK(t, feed_text("{\"object\":{}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: missing \"type\"");
    CHECK(t, feed_text("{\"type\":3,\"object\":{}}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: \"type\" is not a string");
    CHECK(t, feed_text("{\"type\":\"ADDED\"}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: missing \"object\" in event \"ADDED\"");
    CHECK(t, feed_text("{\"type\":\"DELETED\",\"object\":[1]}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: \"object\" is not an object in event \"DELETED\"");
    CHECK(t, feed_text("{\"type\":\"ERROR\",\"object\":null}", &s, &err) == KUBE_E_PROTOCOL);
    CHECK(t, s.count == 0);
    /* a bad event is consumed; the events after it stay pending and come out next */
    struct kube_watch_parser p;
    const char *two = EV("NOPE", "a") "\n" EV("ADDED", "b") "\n";
    kube_watch_parser_init(&p, 0);
    CHECK(t, kube_watch_parser_feed(&p, two, strlen(two), record, &s, &err) == KUBE_E_PROTOCOL);
    CHECK(t, s.count == 0 && kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, NULL, 0, record, &s, &err) == KUBE_OK);
    CHECK_STR(t, s.summary.buf, "ADDED - b\n");
    CHECK(t, !kube_watch_parser_has_partial(&p));
    kube_watch_parser_release(&p);
    seen_release(&s);
    kube_error_clear(&err);
}

static void test_decode(struct test_ctx *t)
{
    struct kube_watch_event ev;
    struct kube_error err = KUBE_ERROR_INIT;
    const char *bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":"
                     "\"v1\",\"metadata\":{\"resourceVersion\":\"12\",\"annotations\":"
                     "{\"k8s.io/initial-events-end\":\"true\"}}}}\n";
    REQUIRE(t, kube_watch_event_decode(bm, strlen(bm), &ev, &err) == KUBE_OK);
    CHECK(t, ev.type == KUBE_EVENT_BOOKMARK);
    CHECK_STR(t, ev.resource_version, "12");
    CHECK_STR(t, cJSON_GetStringValue(cJSON_GetObjectItem(ev.object, "kind")), "ConfigMap");
    CHECK(t, ev.object->next == NULL && ev.object->prev == NULL && ev.object->string == NULL);
    cJSON_Delete(ev.object);
    const char *norv = "{\"object\":{\"metadata\":{\"resourceVersion\":5}},\"type\":\"MODIFIED\"}";
    REQUIRE(t, kube_watch_event_decode(norv, strlen(norv), &ev, &err) == KUBE_OK);
    CHECK(t, ev.type == KUBE_EVENT_MODIFIED && ev.resource_version == NULL);
    cJSON_Delete(ev.object);
    CHECK(t, kube_watch_event_decode("", 0, &ev, &err) == KUBE_E_PROTOCOL);
    CHECK(t, ev.object == NULL);
    CHECK(t, kube_watch_event_decode("{} {}", 5, &ev, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: unexpected data at byte 3");
    CHECK(t, kube_watch_event_decode("[]", 2, &ev, &err) == KUBE_E_PROTOCOL);
    CHECK_STR(t, err.message, "watch event: not a JSON object");
    CHECK(t, kube_watch_event_decode("{\"type\":\"ADDED\"", 15, &ev, &err) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, err.message, "invalid JSON near byte");
    CHECK(t, kube_watch_event_decode(bm, strlen(bm), &ev, NULL) == KUBE_OK);
    cJSON_Delete(ev.object);
    CHECK(t, kube_watch_event_decode("{}", 2, &ev, NULL) == KUBE_E_PROTOCOL);
    for (int i = 0; i <= 4; i++)
        CHECK(t, strcmp(kube_event_type_name((enum kube_event_type)i), "UNKNOWN") != 0);
    CHECK_STR(t, kube_event_type_name(KUBE_EVENT_ERROR), "ERROR");
    CHECK_STR(t, kube_event_type_name((enum kube_event_type)99), "UNKNOWN");
    kube_error_clear(&err);
}

/* An event of exactly the limit passes and one byte more fails, however split. */
static void test_event_size_limit(struct test_ctx *t)
{
    enum { LIMIT = 300 };
    char ok[LIMIT + 1], big[LIMIT + 2];
    const char *head = "{\"type\":\"ADDED\",\"object\":{\"x\":\"";
    size_t hl = strlen(head);
    memset(ok, 'a', sizeof(ok));
    memcpy(ok, head, hl);
    memcpy(ok + LIMIT - 3, "\"}}", 3);
    memset(big, 'a', sizeof(big));
    memcpy(big, head, hl);
    memcpy(big + LIMIT - 2, "\"}}", 3);
    for (size_t cut = 0; cut <= LIMIT + 1; cut++) {
        struct kube_watch_parser p;
        struct kube_error err = KUBE_ERROR_INIT;
        struct seen s;
        seen_init(&s);
        kube_watch_parser_init(&p, LIMIT);
        size_t c1 = cut < LIMIT ? cut : LIMIT;
        kube_code r1 = kube_watch_parser_feed(&p, "\n\n", 2, record, &s, &err);
        kube_code r2 = kube_watch_parser_feed(&p, ok, c1, record, &s, &err);
        kube_code r3 = kube_watch_parser_feed(&p, ok + c1, LIMIT - c1, record, &s, &err);
        int ok_pass = r1 == KUBE_OK && r2 == KUBE_OK && r3 == KUBE_OK && s.count == 1;
        r1 = kube_watch_parser_feed(&p, big, cut, record, &s, &err);
        r2 = r1 == KUBE_OK
                 ? kube_watch_parser_feed(&p, big + cut, LIMIT + 1 - cut, record, &s, &err)
                 : r1;
        int big_fails = r2 == KUBE_E_PROTOCOL && s.count == 1 && err.message &&
                        strstr(err.message, "larger than the limit of 300 bytes");
        kube_watch_parser_release(&p);
        kube_error_clear(&err);
        seen_release(&s);
        if (!ok_pass || !big_fails) {
            CHECKF(t, 0, "cut at %zu: event of the limit %s, one byte more %s", cut,
                   ok_pass ? "passed" : "FAILED", big_fails ? "failed" : "PASSED");
            break;
        }
    }
    /* an event that never ends fails as soon as it passes the limit, not at its end */
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    struct seen s;
    size_t fed = 0;
    kube_code rc = KUBE_OK;
    seen_init(&s);
    kube_watch_parser_init(&p, LIMIT);
    for (; rc == KUBE_OK && fed < 10 * LIMIT; fed++)
        rc = kube_watch_parser_feed(&p, fed < hl ? head + fed : "a", 1, record, &s, &err);
    CHECK(t, rc == KUBE_E_PROTOCOL);
    CHECKF(t, fed == LIMIT + 1, "unterminated event failed after %zu bytes", fed);
    CHECK(t, !kube_watch_parser_has_partial(&p) && p.pending.len == 0);
    kube_watch_parser_release(&p);
    kube_error_clear(&err);
    seen_release(&s);
    kube_watch_parser_init(&p, 0);
    CHECK(t, p.max_event_bytes == 16u * 1024 * 1024);
    kube_watch_parser_release(&p);
}

static void test_steal_objects(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct seen s, all;
    seen_init(&s);
    seen_init(&all);
    load(t, &data);
    s.steal = 1;
    CHECK(t, feed_split(data.buf, data.len, NULL, 0, &s) == KUBE_OK);
    CHECK(t, feed_split(data.buf, data.len, NULL, 0, &all) == KUBE_OK);
    CHECK(t, strcmp(s.log.buf, all.log.buf) == 0);
    REQUIRE(t, cJSON_GetArraySize(s.kept) == 8);
    const cJSON *plain = cJSON_GetArrayItem(s.kept, 3);
    CHECK_STR(t, cJSON_GetStringValue(get_path(plain, "data", "k")),
              "v2 \xc3\xbcn\xc3\xaf"
              "c\xc3\xb6"
              "d\xc3\xa9");
    seen_release(&s); /* frees the stolen objects: valgrind/ASan see no leak, no double free */
    seen_release(&all);
    strbuf_release(&data);
}

static void test_stop_and_resume(struct test_ctx *t)
{
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    struct seen s;
    const char *three = EV("ADDED", "a") "\n" EV("ADDED", "b") "\n" EV("ADDED", "c") "\n";
    seen_init(&s);
    s.stop_after = 2;
    kube_watch_parser_init(&p, 0);
    CHECK(t,
          kube_watch_parser_feed(&p, three, strlen(three), record, &s, &err) == KUBE_E_CANCELLED);
    CHECK(t, err.code == KUBE_E_CANCELLED);
    CHECK_CONTAINS(t, err.message, "stopped");
    CHECK(t, s.count == 2);
    CHECK(t, kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, NULL, 0, record, &s, &err) == KUBE_OK);
    CHECK_STR(t, s.summary.buf, "ADDED - a\nADDED - b\nADDED - c\n");
    CHECK(t, !kube_watch_parser_has_partial(&p));
    /* stopping at the last event leaves nothing pending but the newline */
    s.stop_after = 4;
    CHECK(t, kube_watch_parser_feed(&p, EV("DELETED", "a") "\n", strlen(EV("DELETED", "a")) + 1,
                                    record, &s, &err) == KUBE_E_CANCELLED);
    CHECK(t, !kube_watch_parser_has_partial(&p));
    CHECK(t, kube_watch_parser_feed(&p, "x", 1, NULL, &s, &err) == KUBE_E_ARG);
    kube_watch_parser_release(&p);
    seen_release(&s);
    kube_error_clear(&err);
}

static void test_partial_stream(struct test_ctx *t)
{
    struct strbuf data = STRBUF_INIT;
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    struct seen s;
    seen_init(&s);
    load(t, &data);
    kube_watch_parser_init(&p, 0);
    CHECK(t, !kube_watch_parser_has_partial(&p));
    size_t half = data.len / 2;
    CHECK(t, kube_watch_parser_feed(&p, data.buf, half, record, &s, &err) == KUBE_OK);
    CHECK(t, kube_watch_parser_has_partial(&p));
    int before = s.count;
    CHECK(t, before > 0 && before < 8);
    CHECK(t, kube_watch_parser_feed(&p, data.buf + half, data.len - half - 2, record, &s, &err) ==
                 KUBE_OK);
    CHECK(t, s.count == 7 && kube_watch_parser_has_partial(&p)); /* "}\n" still missing */
    CHECK(t, kube_watch_parser_feed(&p, "}", 1, record, &s, &err) == KUBE_OK);
    CHECK(t, s.count == 8 && !kube_watch_parser_has_partial(&p));
    /* only the start of an event: '{' and an open string */
    CHECK(t, kube_watch_parser_feed(&p, " {\"type\":\"AD", 12, record, &s, &err) == KUBE_OK);
    CHECK(t, kube_watch_parser_has_partial(&p));
    kube_watch_parser_release(&p);
    CHECK(t, !kube_watch_parser_has_partial(&p));
    kube_watch_parser_release(&p); /* twice is harmless */
    seen_release(&s);
    strbuf_release(&data);
    kube_error_clear(&err);
}

/* Many small events in one read: linear, every one delivered in order. */
static void test_many_events_in_one_read(struct test_ctx *t)
{
    enum { N = 50000 };
    struct strbuf data = STRBUF_INIT;
    struct kube_watch_parser p;
    struct kube_error err = KUBE_ERROR_INIT;
    struct seen s;
    seen_init(&s);
    for (int i = 0; i < N; i++)
        strbuf_addf(
            &data, "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":\"%d\"}}}",
            i);
    kube_watch_parser_init(&p, 0);
    CHECK(t, kube_watch_parser_feed(&p, data.buf, data.len, record, &s, &err) == KUBE_OK);
    CHECK(t, s.count == N);
    char last[64];
    snprintf(last, sizeof(last), "MODIFIED %d -\n", N - 1);
    CHECK(t, s.summary.len > strlen(last) &&
                 strcmp(s.summary.buf + s.summary.len - strlen(last), last) == 0);
    CHECK(t, !kube_watch_parser_has_partial(&p));
    kube_watch_parser_release(&p);
    seen_release(&s);
    strbuf_release(&data);
    kube_error_clear(&err);
}

static const struct test_case cases[] = {
    {"whole_stream", test_whole_stream},
    {"one_byte_at_a_time", test_one_byte_at_a_time},
    {"every_single_split", test_every_single_split},
    {"every_pair_of_splits", test_every_pair_of_splits},
    {"random_reads", test_random_reads},
    {"whitespace_and_no_newlines", test_whitespace_and_no_newlines},
    {"garbage_between_events", test_garbage_between_events},
    {"bad_events", test_bad_events},
    {"decode", test_decode},
    {"event_size_limit", test_event_size_limit},
    {"steal_objects", test_steal_objects},
    {"stop_and_resume", test_stop_and_resume},
    {"partial_stream", test_partial_stream},
    {"many_events_in_one_read", test_many_events_in_one_read},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
