/*
 * test_request_deadline.c: kube_request_by's deadline (issue 31), against loopback
 * servers: one that never answers (a connection that hangs), one that answers every
 * request 503 with Retry-After: 1. The leader elector's renewal relies on it: a call
 * ends by its deadline whatever the server does, and no retry runs or waits past it.
 */
#include "harness.h"
#include "base/timeutil.h"
#include "kube/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct server {
    int fd, port;
    int answer; /* 0: never answer; 1: 503 with Retry-After: 1 to every request */
    pthread_t thread;
    int running;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t got = 0;
        for (;;) { /* requests on this connection, one at a time */
            ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (!strstr(buf, "\r\n\r\n"))
                continue;
            got = 0;
            static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                       "Retry-After: 1\r\nContent-Type: application/json\r\n"
                                       "Content-Length: 2\r\n\r\n{}";
            if (write(c, resp, sizeof(resp) - 1) < 0)
                break;
        }
        close(c);
    }
}

/* A loopback listener; answering ones get a thread. */
static int server_start(struct server *s, int answer)
{
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    if (answer && pthread_create(&s->thread, NULL, serve, s) == 0)
        s->running = 1;
    return 0;
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    if (s->running)
        pthread_join(s->thread, NULL);
}

static struct kube_client *client_for(struct test_ctx *t, int port)
{
    char server[64];
    snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
    struct kube_rest_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.server = server;
    cfg.source = "test";
    struct kube_client_options o = {.name = "deadline"};
    struct kube_client *c = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    CHECKF(t, kube_client_new(&cfg, &o, &c, &err) == KUBE_OK, "client: %s", err.message);
    kube_error_clear(&err);
    return c;
}

static unsigned long requests(struct kube_client *c)
{
    struct kube_client_stats st;
    kube_client_get_stats(c, &st);
    return st.requests;
}

/* A server that never answers: the call ends at its deadline (0.5 s), not after the
 * client's 60 s request timeout. */
static void test_hung_server_ends_at_deadline(struct test_ctx *t)
{
    struct server s;
    REQUIRE(t, server_start(&s, 0) == 0);
    struct kube_client *c = client_for(t, s.port);
    REQUIRE(t, c != NULL);
    cJSON *out = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    double t0 = ew_now_mono();
    kube_code rc = kube_get_by(c, &KUBE_RES_LEASES, "ns", "l", t0 + 0.5, &out, &err);
    double took = ew_now_mono() - t0;
    CHECKF(t, rc == KUBE_E_TIMEOUT, "code %s: %s", kube_code_name(rc), err.message);
    CHECKF(t, took >= 0.4 && took < 3.0, "took %.2f s (deadline 0.5 s)", took);
    CHECK(t, out == NULL);
    kube_error_clear(&err);
    kube_client_free(c);
    server_stop(&s);
}

/* A call made past its deadline sends nothing. */
static void test_past_deadline_sends_nothing(struct test_ctx *t)
{
    struct server s;
    REQUIRE(t, server_start(&s, 1) == 0);
    struct kube_client *c = client_for(t, s.port);
    REQUIRE(t, c != NULL);
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *out = NULL;
    kube_code rc = kube_get_by(c, &KUBE_RES_LEASES, "ns", "l", ew_now_mono() - 1, &out, &err);
    CHECKF(t, rc == KUBE_E_TIMEOUT, "code %s", kube_code_name(rc));
    CHECK_CONTAINS(t, err.message, "deadline passed");
    CHECKF(t, requests(c) == 0, "%lu requests made", requests(c));
    kube_error_clear(&err);
    kube_client_free(c);
    server_stop(&s);
}

/* 503 with Retry-After: 1 and a deadline 2.8 s away: attempts at 0, 1 and 2 s; the next
 * wait would end past the deadline, so the call ends there with the server's answer
 * (without a deadline: six attempts over five seconds). */
static void test_no_retry_past_deadline(struct test_ctx *t)
{
    struct server s;
    REQUIRE(t, server_start(&s, 1) == 0);
    struct kube_client *c = client_for(t, s.port);
    REQUIRE(t, c != NULL);
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *out = NULL;
    struct kube_write_options wo = {.deadline = ew_now_mono() + 2.8};
    cJSON *obj = cJSON_Parse("{\"metadata\":{\"name\":\"l\"}}");
    double t0 = ew_now_mono();
    kube_code rc = kube_update(c, &KUBE_RES_LEASES, "ns", "l", obj, &wo, &out, &err);
    double took = ew_now_mono() - t0;
    CHECKF(t, rc == KUBE_E_SERVER, "code %s: %s", kube_code_name(rc), err.message);
    CHECKF(t, requests(c) == 3, "%lu attempts (want 3: at 0, 1 and 2 s)", requests(c));
    CHECKF(t, took >= 1.9 && took < 2.8, "took %.2f s (deadline 2.8 s)", took);
    cJSON_Delete(obj);
    kube_error_clear(&err);
    kube_client_free(c);
    server_stop(&s);
}

static const struct test_case cases[] = {
    {"hung-server-ends-at-deadline", test_hung_server_ends_at_deadline},
    {"past-deadline-sends-nothing", test_past_deadline_sends_nothing},
    {"no-retry-past-deadline", test_no_retry_past_deadline},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
