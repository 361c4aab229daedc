/*
 * test_exec_auth.c: an exec credential plugin never holds up a member's other
 * requests (issue 32). A loopback server answers every request 200 with the bearer
 * token it was sent; the plugin is a shell script that, from its second run on,
 * blocks until the test creates a "release" file, so "while the plugin runs" is a
 * state the test holds, not a sleep.
 *
 *  - A refresh under way: the credential it replaces has not expired (a refresh starts
 *    10 s before the expiry), so another request goes on with it at once.
 *  - Nothing to send yet: requests wait for the one run under way and take its
 *    outcome; a failing plugin runs once for all of them.
 */
#include "harness.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "kube/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a server that echoes the bearer token ---- */

struct server {
    int fd, port;
    pthread_t thread;
};

static void answer(int c, const char *req)
{
    const char *h = strstr(req, "Authorization: Bearer ");
    char tok[64] = "";
    if (h)
        sscanf(h + 22, "%63[^\r\n]", tok);
    char body[128], resp[256];
    int n = snprintf(body, sizeof(body), "{\"kind\":\"Lease\",\"seen\":\"%s\"}", tok);
    int m = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     n, body);
    if (write(c, resp, (size_t)m) < 0)
        return;
}

static void *serve_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    char buf[8192];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (!strstr(buf, "\r\n\r\n"))
            continue;
        answer(c, buf);
        got = 0;
    }
    close(c);
    return NULL;
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t th;
        if (pthread_create(&th, NULL, serve_conn, (void *)(intptr_t)c) == 0)
            pthread_detach(th);
        else
            close(c);
    }
}

static int server_start(struct server *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, serve, s) == 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* ---- the plugin ---- */

struct world {
    char dir[64];
    char calls[128];
    char release[128];
    struct server srv;
    struct kube_client *client;
};

/* Run 1 hands out token "first", expiring in 9 s (inside the refresh margin: the next
 * request starts a refresh, and "first" is still good meanwhile). Later runs wait for
 * the release file, then hand out "second" (fail=0) or fail (fail=1). */
static const char plugin_sh[] =
    "#!/bin/sh\n"
    "echo call >> \"$1/calls\"\n"
    "n=$(wc -l < \"$1/calls\")\n"
    "tok=first\n"
    "exp=$(date -u -d \"@$(( $(date +%s) + 9 ))\" +%Y-%m-%dT%H:%M:%SZ)\n"
    "if [ \"$n\" -gt \"$3\" ]; then\n"
    "  i=0\n"
    "  while [ ! -e \"$1/release\" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n"
    "  [ \"$2\" = fail ] && { echo 'plugin says: denied' >&2; exit 3; }\n"
    "  tok=second; exp=2099-01-01T00:00:00Z\n"
    "fi\n"
    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
    "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}' \"$tok\" \"$exp\"\n";

/* quick_runs: how many runs answer at once (the rest wait for the release file). */
static void world_start(struct test_ctx *t, struct world *w, const char *mode, const char *quick)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/ew-exec-auth-XXXXXX");
    REQUIRE(t, mkdtemp(w->dir) != NULL);
    snprintf(w->calls, sizeof(w->calls), "%s/calls", w->dir);
    snprintf(w->release, sizeof(w->release), "%s/release", w->dir);
    char script[128];
    snprintf(script, sizeof(script), "%s/plugin.sh", w->dir);
    FILE *f = fopen(script, "w");
    REQUIRE(t, f != NULL);
    fputs(plugin_sh, f);
    fclose(f);
    chmod(script, 0700);
    REQUIRE(t, server_start(&w->srv) == 0);
    char server[64];
    snprintf(server, sizeof(server), "http://127.0.0.1:%d", w->srv.port);
    char *args[] = {w->dir, (char *)mode, (char *)quick};
    struct kube_exec_config ec = {
        .api_version = "client.authentication.k8s.io/v1",
        .command = script,
        .args = args,
        .nargs = 3,
    };
    struct kube_rest_config cfg = {.server = server, .source = "test kubeconfig", .exec = &ec};
    struct kube_client_options o = {.name = "exec-auth"};
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_client_new(&cfg, &o, &w->client, &err) == KUBE_OK, "client: %s", err.message);
}

static void world_stop(struct world *w)
{
    kube_client_free(w->client);
    server_stop(&w->srv);
    unlink(w->calls);
    unlink(w->release);
    char script[128];
    snprintf(script, sizeof(script), "%s/plugin.sh", w->dir);
    unlink(script);
    rmdir(w->dir);
}

static void release(struct world *w)
{
    FILE *f = fopen(w->release, "w");
    if (f)
        fclose(f);
}

static int count_calls(const struct world *w)
{
    FILE *f = fopen(w->calls, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* ---- requests on threads ---- */

struct call {
    struct world *w;
    pthread_t thread;
    atomic_int done;
    kube_code rc;
    char seen[64];
    char message[256];
};

static void *do_call(void *arg)
{
    struct call *c = arg;
    cJSON *out = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    c->rc = kube_get(c->w->client, &KUBE_RES_LEASES, "ns", "l", &out, &err);
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(out, "seen");
    snprintf(c->seen, sizeof(c->seen), "%s", cJSON_IsString(seen) ? seen->valuestring : "");
    snprintf(c->message, sizeof(c->message), "%s", err.message ? err.message : "");
    cJSON_Delete(out);
    kube_error_clear(&err);
    atomic_store(&c->done, 1);
    return NULL;
}

static void call_start(struct call *c, struct world *w)
{
    memset(c, 0, sizeof(*c));
    c->w = w;
    pthread_create(&c->thread, NULL, do_call, c);
}

static int call_done(void *ud)
{
    return atomic_load(&((struct call *)ud)->done);
}

struct calls_at_least {
    struct world *w;
    int n;
};

static int calls_reached(void *ud)
{
    struct calls_at_least *c = ud;
    return count_calls(c->w) >= c->n;
}

/* A refresh under way does not hold up a request while the credential it replaces is
 * still good: the request goes out with it at once. */
static void test_refresh_does_not_block(struct test_ctx *t)
{
    struct world w;
    world_start(t, &w, "ok", "1");
    struct call first, refresher, other;
    call_start(&first, &w);
    pthread_join(first.thread, NULL);
    CHECKF(t, first.rc == KUBE_OK, "first request: %s", first.message);
    CHECK_STR(t, first.seen, "first");
    /* "first" expires within the refresh margin: this request starts the plugin, which
     * now waits for the release file */
    call_start(&refresher, &w);
    struct calls_at_least two = {&w, 2};
    CHECK(t, test_wait_until(calls_reached, &two, 10));
    call_start(&other, &w);
    int other_done = test_wait_until(call_done, &other, 3);
    CHECKF(t, other_done,
           "a request waited for the exec plugin's refresh although its "
           "current credential had not expired");
    CHECK(t, !atomic_load(&refresher.done)); /* the plugin was still running */
    release(&w);
    pthread_join(other.thread, NULL);
    pthread_join(refresher.thread, NULL);
    CHECKF(t, other.rc == KUBE_OK, "other request: %s", other.message);
    if (other_done)
        CHECK_STR(t, other.seen, "first");
    CHECKF(t, refresher.rc == KUBE_OK, "refreshing request: %s", refresher.message);
    CHECK_STR(t, refresher.seen, "second");
    CHECKF(t, count_calls(&w) == 2, "plugin runs: %d (want 2)", count_calls(&w));
    world_stop(&w);
}

/* Nothing to send: requests wait for the one run under way; when it fails they all
 * take its error, and the plugin ran once. */
static void test_waiters_share_one_run(struct test_ctx *t)
{
    struct world w;
    world_start(t, &w, "fail", "0");
    struct call a, b;
    call_start(&a, &w);
    struct calls_at_least one = {&w, 1};
    CHECK(t, test_wait_until(calls_reached, &one, 10));
    call_start(&b, &w);
    /* b is waiting (for the run, or on main for the lock): nothing to observe but time */
    usleep((useconds_t)(300000 * test_time_scale()));
    CHECK(t, !atomic_load(&a.done) && !atomic_load(&b.done));
    release(&w);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    CHECKF(t, a.rc == KUBE_E_EXEC, "a: %s %s", kube_code_name(a.rc), a.message);
    CHECKF(t, b.rc == KUBE_E_EXEC, "b: %s %s", kube_code_name(b.rc), b.message);
    CHECK_CONTAINS(t, a.message, "plugin says: denied");
    CHECK_CONTAINS(t, b.message, "plugin says: denied");
    CHECKF(t, count_calls(&w) == 1, "plugin runs: %d (want 1: the waiter takes the run's outcome)",
           count_calls(&w));
    world_stop(&w);
}

static const struct test_case cases[] = {
    {"refresh-does-not-block", test_refresh_does_not_block},
    {"waiters-share-one-run", test_waiters_share_one_run},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
