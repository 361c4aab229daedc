/*
 * test_strbuf.c: lib/base: strbuf (growth, formatting, detach/release,
 * remove_prefix, a cut at a UTF-8 boundary, URL encoding), the checked allocators, base64 (RFC 4648
 * vectors, round trips of every length, PEM line breaks, invalid input and
 * padding), and the small strmap and RFC 3339 time checks.
 */
#include "harness.h"
#include "base/base64.h"
#include "base/fileutil.h"
#include "base/strbuf.h"
#include "base/strmap.h"
#include "base/timeutil.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_strbuf_basics(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    CHECK(t, sb.len == 0 && sb.alloc == 0 && sb.buf[0] == '\0');
    strbuf_adds(&sb, "hello");
    strbuf_addch(&sb, ' ');
    strbuf_addf(&sb, "%s %d", "world", 42);
    CHECK_STR(t, sb.buf, "hello world 42");
    CHECK(t, sb.len == 14 && sb.alloc > sb.len);
    strbuf_adds(&sb, "");
    strbuf_add(&sb, NULL, 0);
    CHECK(t, sb.len == 14);
    for (int i = 0; i < 10000; i++)
        strbuf_addch(&sb, (char)('a' + i % 26));
    CHECK(t, sb.len == 10014 && sb.buf[10014] == '\0' && sb.buf[14] == 'a');
    /* binary content: NUL bytes are kept, len counts them */
    strbuf_reset(&sb);
    strbuf_add(&sb, "a\0b", 3);
    CHECK(t, sb.len == 3 && sb.buf[1] == '\0' && sb.buf[2] == 'b' && sb.buf[3] == '\0');
    strbuf_release(&sb);
    strbuf_release(&sb); /* twice is harmless */
    CHECK(t, sb.len == 0 && sb.alloc == 0 && sb.buf[0] == '\0');
}

static void test_strbuf_init_reset(struct test_ctx *t)
{
    struct strbuf sb;
    strbuf_init(&sb, 0);
    CHECK(t, sb.alloc == 0 && sb.len == 0 && sb.buf[0] == '\0');
    strbuf_reset(&sb); /* on the shared empty buffer: writes nothing */
    strbuf_init(&sb, 1000);
    CHECK(t, sb.alloc >= 1001 && sb.len == 0 && sb.buf[0] == '\0');
    char *before = sb.buf;
    strbuf_adds(&sb, "keep the allocation");
    strbuf_reset(&sb);
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0' && sb.buf == before);
    size_t alloc = sb.alloc;
    strbuf_grow(&sb, 10); /* enough room already: nothing moves */
    CHECK(t, sb.alloc == alloc && sb.buf == before);
    strbuf_grow(&sb, 5000);
    CHECK(t, sb.alloc >= 5001);
    strbuf_release(&sb);
}

static void test_strbuf_addf(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s", "");
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    /* longer than the first allocation, formatted in one go */
    char big[300];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    strbuf_addf(&sb, "<%s|%05d|%.3s>", big, 42, "abcdef");
    CHECK(t, sb.len == 1 + 299 + 1 + 5 + 1 + 3 + 1);
    CHECK(t, strcmp(sb.buf + 300, "|00042|abc>") == 0);
    /* appends to what is there */
    strbuf_reset(&sb);
    for (int i = 0; i < 1000; i++)
        strbuf_addf(&sb, "%d,", i);
    CHECK(t, strncmp(sb.buf, "0,1,2,", 6) == 0);
    CHECK(t, strcmp(sb.buf + sb.len - 4, "999,") == 0);
    CHECK(t, strlen(sb.buf) == sb.len);
    strbuf_release(&sb);
}

static void test_strbuf_detach(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    size_t len = 99;
    /* an empty buffer detaches to an owned "" */
    char *s = strbuf_detach(&sb, &len);
    CHECK(t, s != NULL && s != strbuf_empty && s[0] == '\0' && len == 0);
    free(s);
    strbuf_adds(&sb, "owned by the caller");
    s = strbuf_detach(&sb, &len);
    CHECK_STR(t, s, "owned by the caller");
    CHECK(t, len == 19);
    CHECK(t, sb.len == 0 && sb.alloc == 0 && sb.buf == strbuf_empty);
    /* the buffer is reusable after detach, and independent of the detached bytes */
    strbuf_adds(&sb, "new");
    CHECK_STR(t, s, "owned by the caller");
    free(s);
    s = strbuf_detach(&sb, NULL);
    CHECK_STR(t, s, "new");
    free(s);
    strbuf_release(&sb);
}

/* A cut by bytes never splits a character: "\xc3\xa9" is e-acute (2 bytes), "\xe2\x82\xac"
 * the euro sign (3 bytes). A split one would reach the API server as invalid UTF-8, which
 * it replaces with U+FFFD (3 bytes): a note cut to 1024 bytes would then exceed 1024. */
static void test_strbuf_truncate_utf8(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "ab\xc3\xa9\xe2\x82\xac");
    strbuf_truncate_utf8(&sb, 100); /* fits: unchanged */
    CHECK_STR(t, sb.buf, "ab\xc3\xa9\xe2\x82\xac");
    strbuf_truncate_utf8(&sb, 6); /* inside the euro sign: cut before it */
    CHECK_STR(t, sb.buf, "ab\xc3\xa9");
    CHECK(t, sb.len == 4);
    strbuf_truncate_utf8(&sb, 3); /* inside e-acute */
    CHECK_STR(t, sb.buf, "ab");
    strbuf_truncate_utf8(&sb, 1); /* ASCII: exactly max */
    CHECK_STR(t, sb.buf, "a");
    strbuf_reset(&sb);
    strbuf_adds(&sb, "\xe2\x82\xac");
    strbuf_truncate_utf8(&sb, 2); /* nothing whole fits */
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    strbuf_release(&sb);
}

static void test_strbuf_remove_prefix(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_remove_prefix(&sb, 0); /* empty, unallocated */
    strbuf_remove_prefix(&sb, 5);
    CHECK(t, sb.len == 0 && sb.alloc == 0);
    strbuf_adds(&sb, "hello world");
    strbuf_remove_prefix(&sb, 0);
    CHECK_STR(t, sb.buf, "hello world");
    strbuf_remove_prefix(&sb, 6);
    CHECK_STR(t, sb.buf, "world");
    CHECK(t, sb.len == 5);
    strbuf_remove_prefix(&sb, 4);
    CHECK_STR(t, sb.buf, "d");
    strbuf_remove_prefix(&sb, 1); /* exactly all */
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    strbuf_adds(&sb, "abc");
    strbuf_remove_prefix(&sb, 100); /* more than all */
    CHECK(t, sb.len == 0 && sb.buf[0] == '\0');
    /* binary data moves intact */
    strbuf_add(&sb, "xx\0y\0z", 6);
    strbuf_remove_prefix(&sb, 2);
    CHECK(t, sb.len == 4 && memcmp(sb.buf, "\0y\0z", 5) == 0);
    /* used as a queue: append and consume, the content stays right */
    strbuf_reset(&sb);
    size_t consumed = 0;
    for (int i = 0; i < 1000; i++) {
        strbuf_addf(&sb, "%04d", i);
        if (i % 3 == 2) {
            char want[5];
            snprintf(want, sizeof(want), "%04zu", consumed++);
            CHECK(t, strncmp(sb.buf, want, 4) == 0);
            strbuf_remove_prefix(&sb, 4);
        }
    }
    CHECK(t, sb.len == (1000 - consumed) * 4 && strlen(sb.buf) == sb.len);
    strbuf_release(&sb);
}

static void test_urlencode(struct test_ctx *t)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_add_urlencoded(&sb, "app=a,tier in (x y)/\xc3\xa9");
    CHECK_STR(t, sb.buf, "app%3Da%2Ctier%20in%20%28x%20y%29%2F%C3%A9");
    strbuf_reset(&sb);
    /* RFC 3986 unreserved characters are kept */
    strbuf_add_urlencoded(&sb, "AZaz09-._~");
    CHECK_STR(t, sb.buf, "AZaz09-._~");
    strbuf_reset(&sb);
    strbuf_add_urlencoded(&sb, "");
    CHECK(t, sb.len == 0);
    /* what the client puts in queries: selectors, resourceVersions, field managers */
    strbuf_adds(&sb, "?labelSelector=");
    strbuf_add_urlencoded(&sb, "eastwest.io/mesh=training-mesh,!eastwest.io/ignored");
    strbuf_adds(&sb, "&fieldSelector=");
    strbuf_add_urlencoded(&sb, "metadata.name!=x+y");
    CHECK_STR(t, sb.buf,
              "?labelSelector=eastwest.io%2Fmesh%3Dtraining-mesh%2C%21eastwest.io%2Fignored"
              "&fieldSelector=metadata.name%21%3Dx%2By");
    strbuf_reset(&sb);
    /* every byte outside the unreserved set is %XX, upper case */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    strbuf_add_urlencoded(&sb, all);
    CHECK(t, sb.len == 66 + (255 - 66) * 3);
    CHECK(t, strstr(sb.buf, "%01%02") == sb.buf && strstr(sb.buf, "%FF") != NULL);
    CHECK(t, strstr(sb.buf, "%7E") == NULL && strstr(sb.buf, "%20") != NULL);
    strbuf_release(&sb);
}

static void test_allocators(struct test_ctx *t)
{
    char *s = ew_strdup("abc");
    CHECK_STR(t, s, "abc");
    free(s);
    CHECK(t, ew_strdup(NULL) == NULL);
    s = ew_strndup("abcdef", 3);
    CHECK_STR(t, s, "abc");
    free(s);
    s = ew_strndup("abc", 10); /* like strndup: stops at the NUL, reads no further */
    CHECK_STR(t, s, "abc");
    free(s);
    s = ew_strndup("abc", 0);
    CHECK_STR(t, s, "");
    free(s);
    int *z = ew_calloc(16, sizeof(int));
    int zero = 1;
    for (int i = 0; i < 16; i++)
        zero &= z[i] == 0;
    CHECK(t, zero);
    z = ew_realloc(z, 64 * sizeof(int));
    CHECK(t, z[15] == 0);
    free(z);
    free(ew_malloc(0));
    free(ew_calloc(0, 0));
}

/* Run fn in a child; true if it failed at once instead of returning: ew_oom
 * aborts (under ASan the allocator may report and exit 1 instead). Hanging
 * (killed by the alarm) does not count. */
static int dies(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fclose(stderr); /* the child's "out of memory" report is expected */
        alarm(10);
        fn();
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 0;
    if (WIFSIGNALED(st))
        return WTERMSIG(st) != SIGALRM;
    return WIFEXITED(st) && WEXITSTATUS(st) != 0;
}

static void grow_overflow(void)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "x");
    strbuf_grow(&sb, SIZE_MAX); /* len + SIZE_MAX + 1 wraps: must not "fit" */
    _exit(0);
}

static void grow_huge(void)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "x");
    strbuf_grow(&sb, SIZE_MAX / 2); /* the growth arithmetic must not wrap either */
    _exit(0);
}

static void test_strbuf_size_overflow(struct test_ctx *t)
{
    CHECK(t, dies(grow_overflow));
    CHECK(t, dies(grow_huge));
}

static void test_base64_vectors(struct test_ctx *t)
{
    /* RFC 4648 section 10 */
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
    /* both ends of the alphabet */
    struct strbuf e = STRBUF_INIT;
    base64_encode(&e, "\xfb\xff\xbf\x00\x10\x83", 6);
    CHECK_STR(t, e.buf, "+/+/ABCD");
    strbuf_release(&e);
}

/* Every byte value, every length 0..100: encode then decode gives the input back. */
static void test_base64_round_trip(struct test_ctx *t)
{
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= 100; n++) {
        struct strbuf e = STRBUF_INIT, d = STRBUF_INIT;
        base64_encode(&e, bin + 256 - n - 50 + 50 * (n > 200), n);
        int ok = e.len == (n + 2) / 3 * 4 && base64_decode(&d, e.buf, e.len) == 0 && d.len == n &&
                 memcmp(d.buf, bin + 256 - n - 50 + 50 * (n > 200), n) == 0;
        strbuf_release(&e);
        strbuf_release(&d);
        if (!ok) {
            CHECKF(t, 0, "round trip of %zu bytes", n);
            break;
        }
    }
    struct strbuf e = STRBUF_INIT, d = STRBUF_INIT;
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    base64_encode(&e, bin, sizeof(bin));
    CHECK(t, base64_decode(&d, e.buf, e.len) == 0);
    CHECK(t, d.len == 256 && memcmp(d.buf, bin, 256) == 0);
    /* decoding appends to what out holds */
    strbuf_reset(&d);
    strbuf_adds(&d, "prefix:");
    CHECK(t, base64_decode(&d, "Zm9v", 4) == 0);
    CHECK_STR(t, d.buf, "prefix:foo");
    strbuf_release(&e);
    strbuf_release(&d);
}

static void test_base64_whitespace(struct test_ctx *t)
{
    struct strbuf d = STRBUF_INIT;
    CHECK(t, base64_decode(&d, "Zm9v\nYmFy\r\n", 11) == 0);
    CHECK_STR(t, d.buf, "foobar");
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, " \tZ m 9 v Y g = = \n", 19) == 0);
    CHECK_STR(t, d.buf, "foob");
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "\n\r\t ", 4) == 0);
    CHECK(t, d.len == 0);
    strbuf_reset(&d);
    /* a PEM certificate: 64-column lines, decoded to DER and back */
    struct strbuf pem = STRBUF_INIT, joined = STRBUF_INIT, again = STRBUF_INIT;
    REQUIRE(t, ew_read_file(&pem, TEST_DATA_DIR "/kubeconfig/ca.crt", 1 << 16) == 0);
    const char *b = strstr(pem.buf, "-----\n"), *end = strstr(pem.buf, "-----END");
    REQUIRE(t, b && end && end > b);
    b += 6;
    CHECK(t, base64_decode(&d, b, (size_t)(end - b)) == 0);
    CHECK(t, d.len > 300 && (unsigned char)d.buf[0] == 0x30); /* DER SEQUENCE */
    for (const char *p = b; p < end; p++)
        if (*p != '\n')
            strbuf_addch(&joined, *p);
    base64_encode(&again, d.buf, d.len);
    CHECK_STR(t, again.buf, joined.buf);
    strbuf_release(&pem);
    strbuf_release(&joined);
    strbuf_release(&again);
    strbuf_release(&d);
}

static void test_base64_invalid(struct test_ctx *t)
{
    struct {
        const char *in;
        int rc;
    } cases[] = {
        {"Zm9vYg", 0},     /* missing padding is accepted */
        {"Zm9vYmE", 0},    /* (Kubernetes never omits it; people do) */
        {"Zg=", 0},        /* part of the padding */
        {"Zm8=\n", 0},     /* padding then whitespace */
        {"Zm9v!", -1},     /* not in the alphabet */
        {"Zm9v-_", -1},    /* the URL-safe alphabet is not this one */
        {"Zm9v\x80", -1},  /* 8-bit */
        {"Z", -1},         /* a lone character carries no byte */
        {"Zm9vY", -1},     /* ... nor at the end of a longer input */
        {"Zg==Zg==", -1},  /* data after padding */
        {"Zg=a", -1},      /* ... even inside the last quantum */
        {"Zm9v=", -1},     /* padding after a complete quantum */
        {"Zm8==", -1},     /* too much padding */
        {"Zg===", -1},     /* too much padding */
        {"=", -1},         /* padding alone */
        {"====", -1},      /* padding alone */
        {"Zm9v\fYmFy", -1} /* form feed is not whitespace we accept */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf d = STRBUF_INIT;
        int rc = base64_decode(&d, cases[i].in, strlen(cases[i].in));
        CHECKF(t, rc == cases[i].rc, "base64_decode(\"%s\") = %d, want %d", cases[i].in, rc,
               cases[i].rc);
        strbuf_release(&d);
    }
    /* the length is what counts, not a NUL */
    struct strbuf d = STRBUF_INIT;
    CHECK(t, base64_decode(&d, "Zm9v\0YmFy", 9) == -1);
    strbuf_reset(&d);
    CHECK(t, base64_decode(&d, "Zm9vYmFy", 4) == 0);
    CHECK_STR(t, d.buf, "foo");
    strbuf_release(&d);
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
    {"strbuf_init_reset", test_strbuf_init_reset},
    {"strbuf_addf", test_strbuf_addf},
    {"strbuf_detach", test_strbuf_detach},
    {"strbuf_remove_prefix", test_strbuf_remove_prefix},
    {"strbuf_truncate_utf8", test_strbuf_truncate_utf8},
    {"strbuf_size_overflow", test_strbuf_size_overflow},
    {"urlencode", test_urlencode},
    {"allocators", test_allocators},
    {"base64_vectors", test_base64_vectors},
    {"base64_round_trip", test_base64_round_trip},
    {"base64_whitespace", test_base64_whitespace},
    {"base64_invalid", test_base64_invalid},
    {"strmap", test_strmap},
    {"time", test_time},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
