/*
 * test_json_alloc.c: cJSON allocates through the project's out-of-memory rule
 * (issue 32), the way SQLite's tests prove theirs: with an allocator that fails.
 *
 * This binary is linked with -Wl,--wrap=malloc, so the project's own calls to
 * malloc (ew_malloc's among them) go through __wrap_malloc below, which fails once
 * fail_mallocs is set; libcjson's own default allocator (inside the shared library)
 * is not wrapped. In a child, with the allocator failing, a cJSON call must end the
 * process through ew_oom ("eastwest: out of memory", abort): that happens only if
 * cJSON allocates through the hook lib/base installs. Without the hook cJSON
 * allocates with its own malloc and the call returns: the check fails.
 *
 * The hook is a constructor in lib/base/strbuf.c, the file of ew_malloc: linked into
 * every program that allocates the project's way, as this one does (round-trip).
 */
#include "harness.h"
#include "base/strbuf.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static int fail_mallocs; /* this test binary's switch, set only in a child */

void *__wrap_malloc(size_t size)
{
    return fail_mallocs ? NULL : __real_malloc(size);
}

enum json_call { CALL_CREATE, CALL_PARSE, CALL_PRINT };

static void run_call(enum json_call call)
{
    cJSON *obj = call == CALL_PRINT ? cJSON_CreateObject() : NULL;
    if (obj)
        cJSON_AddStringToObject(obj, "k", "v");
    fail_mallocs = 1;
    void *got = NULL;
    if (call == CALL_CREATE)
        got = cJSON_CreateObject();
    else if (call == CALL_PARSE)
        got = cJSON_Parse("{\"a\":[1,2,3]}");
    else
        got = cJSON_PrintUnformatted(obj);
    fail_mallocs = 0;
    /* still here: cJSON did not allocate through ew_malloc */
    _exit(got ? 10 : 11);
}

/* Run call in a child with the allocator failing; its stderr into errbuf. */
static int child_status(enum json_call call, char *errbuf, size_t len)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        run_call(call);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = read(p[0], errbuf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    errbuf[got] = '\0';
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void check_call(struct test_ctx *t, enum json_call call, const char *what)
{
    char err[4096];
    int st = child_status(call, err, sizeof(err));
    CHECKF(t, WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
           "%s with a failing allocator: %s %d (want the abort of ew_oom; 10: it returned an "
           "object, 11: it returned NULL)",
           what, WIFSIGNALED(st) ? "signal" : "exit status",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    CHECK_CONTAINS(t, err, "eastwest: out of memory");
}

static void test_create(struct test_ctx *t)
{
    check_call(t, CALL_CREATE, "cJSON_CreateObject");
}

static void test_parse(struct test_ctx *t)
{
    check_call(t, CALL_PARSE, "cJSON_Parse");
}

static void test_print(struct test_ctx *t)
{
    check_call(t, CALL_PRINT, "cJSON_PrintUnformatted");
}

/* The hook allocates, and cJSON_free/cJSON_Delete free, with the same allocator. */
static void test_round_trip(struct test_ctx *t)
{
    char *text = ew_strdup("{\"a\":\"b\"}");
    cJSON *o = cJSON_Parse(text);
    REQUIRE(t, o != NULL);
    char *s = cJSON_PrintUnformatted(o);
    CHECK_STR(t, s, text);
    cJSON_free(s);
    cJSON_Delete(o);
    free(text);
}

static const struct test_case cases[] = {
    {"create-aborts-through-ew-oom", test_create},
    {"parse-aborts-through-ew-oom", test_parse},
    {"print-aborts-through-ew-oom", test_print},
    {"round-trip", test_round_trip},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
