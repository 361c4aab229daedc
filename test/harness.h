/*
 * harness: the project's small test framework.
 *
 * A test binary defines test functions and a table, then calls test_main:
 *
 *   static void test_parse(struct test_ctx *t) { CHECK(t, 1 + 1 == 2); }
 *   static const struct test_case cases[] = {{"parse", test_parse}};
 *   int main(int argc, char **argv) { return TEST_MAIN(cases, argc, argv); }
 *
 * Each test prints "PASS suite/name", "FAIL suite/name: file:line: what", or
 * "SKIP suite/name: why". The last line of the binary is
 * "# suite: N passed, N failed, N skipped", which hack/test.sh adds up. A test
 * stops at its first failed REQUIRE; CHECK records the failure and goes on.
 * argv[1], when given, runs only the tests whose name contains it.
 *
 * Time. Tests synchronise on conditions (test_wait_until: poll the product's own
 * observable state with a generous deadline that fails clearly rather than hangs), not on
 * sleeps. A bound that is itself the check (a delay, a grace) is multiplied by
 * test_time_scale(), which is 1 except under valgrind (EW_TEST_UNDER_VALGRIND=1, set by
 * the test command for its valgrind stage) or when EW_TEST_TIME_SCALE says otherwise;
 * such a bound must stay below what the failure it guards against would take.
 */
#ifndef EW_TEST_HARNESS_H
#define EW_TEST_HARNESS_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct test_ctx {
    const char *name;
    int failed;
    int skipped;
    jmp_buf abort_to;
};

struct test_case {
    const char *name;
    void (*fn)(struct test_ctx *t);
};

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void test_abort(struct test_ctx *t);
_Noreturn void test_skip(struct test_ctx *t, const char *why);
/* 1, or 10 under valgrind (EW_TEST_UNDER_VALGRIND=1); EW_TEST_TIME_SCALE=N (N >= 1) wins. */
double test_time_scale(void);
/* Call cond(ud) every 5 ms until it returns nonzero (then 1) or timeout seconds (times
 * test_time_scale()) passed (then 0, after one last try). */
int test_wait_until(int (*cond)(void *ud), void *ud, double timeout);
/* What a failure may say of key, token or certificate material s, never s itself:
 * "(null)" or "<N bytes, sha256 0123456789ab>" (of the text as given), in buf. */
const char *test_describe_secret(const char *s, char buf[64]);
int test_main(const char *suite, const struct test_case *cases, size_t n, int argc, char **argv);

#define TEST_MAIN(cases, argc, argv)                                                               \
    test_main(TEST_SUITE, cases, sizeof(cases) / sizeof((cases)[0]), argc, argv)

#define CHECK(t, cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(t, __FILE__, __LINE__, "%s", #cond);                                         \
    } while (0)
#define CHECKF(t, cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(t, __FILE__, __LINE__, __VA_ARGS__);                                         \
    } while (0)
#define REQUIRE(t, cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(t, __FILE__, __LINE__, "%s", #cond);                                         \
            test_abort(t);                                                                         \
        }                                                                                          \
    } while (0)
#define REQUIREF(t, cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(t, __FILE__, __LINE__, __VA_ARGS__);                                         \
            test_abort(t);                                                                         \
        }                                                                                          \
    } while (0)
#define CHECK_STR(t, a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            test_fail(t, __FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #a, a_ ? a_ : "(null)",  \
                      b_ ? b_ : "(null)");                                                         \
    } while (0)
/* CHECK_STR and CHECK_CONTAINS for key, token or certificate material: a failure names
 * it by length and sha256 prefix (test_describe_secret), never prints it; the needle is
 * a marker ("BEGIN PRIVATE KEY"), printed. */
#define CHECK_SECRET_STR(t, a, b)                                                                  \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        char da_[64], db_[64];                                                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            test_fail(t, __FILE__, __LINE__, "%s is %s, want %s", #a,                              \
                      test_describe_secret(a_, da_), test_describe_secret(b_, db_));               \
    } while (0)
#define CHECK_SECRET_CONTAINS(t, hay, needle)                                                      \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        char dh_[64];                                                                              \
        if (!h_ || !strstr(h_, n_))                                                                \
            test_fail(t, __FILE__, __LINE__, "%s (%s) lacks \"%s\"", #hay,                         \
                      test_describe_secret(h_, dh_), n_);                                          \
    } while (0)
#define CHECK_CONTAINS(t, hay, needle)                                                             \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            test_fail(t, __FILE__, __LINE__, "%s = \"%s\" lacks \"%s\"", #hay, h_ ? h_ : "(null)", \
                      n_);                                                                         \
    } while (0)

#endif
