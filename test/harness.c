/*
 * harness.c: runner for test/harness.h.
 */
#include "harness.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (!t->failed)
        printf("FAIL %s: ", t->name);
    else
        printf("     %s: ", t->name);
    printf("%s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    t->failed++;
}

_Noreturn void test_abort(struct test_ctx *t)
{
    longjmp(t->abort_to, 1);
}

_Noreturn void test_skip(struct test_ctx *t, const char *why)
{
    printf("SKIP %s: %s\n", t->name, why);
    t->skipped = 1;
    longjmp(t->abort_to, 1);
}

double test_time_scale(void)
{
    const char *s = getenv("EW_TEST_TIME_SCALE");
    if (s && *s) {
        char *end;
        double v = strtod(s, &end);
        if (*end == '\0' && v >= 1)
            return v;
    }
    s = getenv("EW_TEST_UNDER_VALGRIND");
    return s && strcmp(s, "1") == 0 ? 10 : 1;
}

const char *test_describe_secret(const char *s, char buf[64])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!s)
        return "(null)";
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) || n < 6) {
        snprintf(buf, 64, "<%zu bytes>", strlen(s));
        return buf;
    }
    snprintf(buf, 64, "<%zu bytes, sha256 %02x%02x%02x%02x%02x%02x>", strlen(s), md[0], md[1],
             md[2], md[3], md[4], md[5]);
    return buf;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int test_wait_until(int (*cond)(void *ud), void *ud, double timeout)
{
    double end = mono_now() + timeout * test_time_scale();
    while (mono_now() < end) {
        if (cond(ud))
            return 1;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    return cond(ud) ? 1 : 0;
}

/* setjmp lives in its own frame so the runner's locals are never clobbered */
static void run_one(const struct test_case *c, struct test_ctx *t)
{
    if (setjmp(t->abort_to) == 0)
        c->fn(t);
}

int test_main(const char *suite, const struct test_case *cases, size_t n, int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    char full[256];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        struct test_ctx t = {0};
        snprintf(full, sizeof(full), "%s/%s", suite, cases[i].name);
        t.name = full;
        run_one(&cases[i], &t);
        if (t.skipped) {
            skipped++;
        } else if (t.failed) {
            failed++;
        } else {
            printf("PASS %s\n", full);
            passed++;
        }
    }
    printf("# %s: %d passed, %d failed, %d skipped\n", suite, passed, failed, skipped);
    return failed ? 1 : 0;
}
