/*
 * test_strbuf.c: lib/base: strbuf, base64, strmap, RFC 3339 time.
 */
#include "harness.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/strmap.h"
#include "base/timeutil.h"

#include <stdlib.h>
#include <string.h>

static void test_strbuf_basics(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    strbuf_adds(&sb, "hello");
    strbuf_addch(&sb, ' ');
    strbuf_addf(&sb, "%s %d", "world", 42);
    CHECK_STR(t, sb.buf, "hello world 42");
    strbuf_remove_prefix(&sb, 6);
    CHECK_STR(t, sb.buf, "world 42");
    strbuf_remove_prefix(&sb, 100);
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    for (int i = 0; i < 10000; i++)
        strbuf_addch(&sb, (char)('a' + i % 26));
    CHECK(t, sb.len == 10000 && sb.buf[10000] == '\0');
    size_t len;
    char *s = strbuf_detach(&sb, &len);
    CHECK(t, len == 10000 && s[0] == 'a');
    CHECK(t, sb.len == 0 && sb.alloc == 0);
    free(s);
    s = strbuf_detach(&sb, NULL); /* an empty buffer detaches to an owned "" */
    CHECK_STR(t, s, "");
    free(s);
    strbuf_add(&sb, "a\0b", 3);
    CHECK(t, sb.len == 3 && sb.buf[2] == 'b');
    strbuf_reset(&sb);
    CHECK(t, sb.len == 0);
    strbuf_release(&sb);
    strbuf_release(&sb);
}

static void test_urlencode(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_add_urlencoded(&sb, "app=a,tier in (x y)/é");
    CHECK_STR(t, sb.buf, "app%3Da%2Ctier%20in%20%28x%20y%29%2F%C3%A9");
    strbuf_release(&sb);
}

static void test_base64(struct test_ctx *t)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        struct strbuf e = STRBUF_INIT, d = STRBUF_INIT;
        base64_encode(&e, in[i], strlen(in[i]));
        CHECK_STR(t, e.buf, out[i]);
        CHECK(t, base64_decode(&d, e.buf, e.len) == 0);
        CHECK_STR(t, d.buf, in[i]);
        strbuf_release(&e);
        strbuf_release(&d);
    }
    struct strbuf d = STRBUF_INIT;
    CHECK(t, base64_decode(&d, "Zm9v\nYmFy\r\n", 11) == 0);
    CHECK_STR(t, d.buf, "foobar");
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "Zm9vYg", 6) == 0); /* missing padding accepted */
    CHECK_STR(t, d.buf, "foob");
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "Zm9v!", 5) == -1);
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "Zg==Zg==", 8) == -1);
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "Z", 1) == -1);
    strbuf_release(&d);
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    struct strbuf e = STRBUF_INIT, back = STRBUF_INIT;
    base64_encode(&e, bin, sizeof(bin));
    CHECK(t, base64_decode(&back, e.buf, e.len) == 0);
    CHECK(t, back.len == 256 && memcmp(back.buf, bin, 256) == 0);
    strbuf_release(&e);
    strbuf_release(&back);
}

static void test_strmap(struct test_ctx *t)
{
    struct strmap m = STRMAP_INIT;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "ns/obj-%d", i);
        CHECK(t, strmap_put(&m, key, (void *)(long)(i + 1)) == NULL);
    }
    CHECK(t, strmap_size(&m) == 1000);
    CHECK(t, strmap_get(&m, "ns/obj-500") == (void *)501L);
    CHECK(t, strmap_put(&m, "ns/obj-500", (void *)7L) == (void *)501L);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof(key), "ns/obj-%d", i);
        CHECK(t, strmap_remove(&m, key) != NULL);
    }
    CHECK(t, strmap_size(&m) == 500);
    CHECK(t, !strmap_contains(&m, "ns/obj-0") && strmap_contains(&m, "ns/obj-1"));
    /* churn: many inserts and removes must not grow the table without bound */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof(key), "churn-%d-%d", round, i);
            strmap_put(&m, key, NULL);
            strmap_remove(&m, key);
        }
    }
    CHECKF(t, m.cap <= 4096, "table capacity after churn: %zu", m.cap);
    size_t n = 0;
    const char *k;
    for (size_t it = 0; strmap_next(&m, &it, &k, NULL);)
        n++;
    CHECK(t, n == 500);
    strmap_clear(&m);
    CHECK(t, strmap_size(&m) == 0 && strmap_get(&m, "x") == NULL);
}

static void test_time(struct test_ctx *t)
{
    time_t v;
    char buf[32];
    CHECK(t, ew_time_parse_rfc3339("2026-11-24T20:00:00Z", &v) == 0);
    ew_time_format_rfc3339(v, buf, sizeof(buf));
    CHECK_STR(t, buf, "2026-11-24T20:00:00Z");
    time_t w;
    CHECK(t, ew_time_parse_rfc3339("2026-11-24T21:30:00.123456+01:30", &w) == 0);
    CHECK(t, w == v);
    CHECK(t, ew_time_parse_rfc3339("2026-11-24", &v) == -1);
    CHECK(t, ew_time_parse_rfc3339("2026-13-24T20:00:00Z", &v) == -1);
    CHECK(t, ew_time_parse_rfc3339("2026-11-24T20:00:00", &v) == -1);
    CHECK(t, ew_time_parse_rfc3339("2026-11-24T20:00:00Zjunk", &v) == -1);
    CHECK(t, ew_time_parse_rfc3339(NULL, &v) == -1);
}

static const struct test_case cases[] = {
    {"strbuf_basics", test_strbuf_basics},
    {"urlencode", test_urlencode},
    {"base64", test_base64},
    {"strmap", test_strmap},
    {"time", test_time},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
