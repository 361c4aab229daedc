/*
 * test_url_redacted.c: a server URL's userinfo (https://user:pass@host) is never shown
 * (issue 32): not by kube_url_redacted's callers in logs, not in a client's errors or
 * name, not in a kubeconfig's error. The Events and conditions that name a member's
 * server are checked in test_member_identity.c (server_userinfo_redacted).
 */
#include "harness.h"
#include "base/log.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASSWORD "pa55-in-url"

static void test_redacted_forms(struct test_ctx *t)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"https://user:" PASSWORD "@host:6443", "https://REDACTED@host:6443"},
        {"https://user@host", "https://REDACTED@host"},
        {"https://u:p@ss@host/prefix?q=a@b", "https://REDACTED@host/prefix?q=a@b"},
        {"http://host:8080/api", "http://host:8080/api"},
        {"https://host/p@th", "https://host/p@th"},
        {"ftp://a:b@host", "ftp://REDACTED@host"},
        {"user:pw@host", "REDACTED@host"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = kube_url_redacted(cases[i].in);
        CHECK_STR(t, got, cases[i].want);
        free(got);
    }
    CHECK(t, kube_url_redacted(NULL) == NULL);
}

/* A kubeconfig whose server is not http(s) is refused naming the server, redacted. */
static void test_kubeconfig_error(struct test_ctx *t)
{
    const char *doc = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                      "clusters: [{name: c, cluster: {server: 'ftp://me:" PASSWORD "@host'}}]\n"
                      "users: [{name: u, user: {token: t}}]\n"
                      "contexts: [{name: c, context: {cluster: c, user: u}}]\n";
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, kube_config_from_memory(doc, strlen(doc), "test", NULL, NULL, &cfg, &err) ==
                 KUBE_E_CONFIG);
    CHECKF(t, err.message && !strstr(err.message, PASSWORD), "error shows the password: %s",
           err.message);
    CHECK_CONTAINS(t, err.message, "ftp://REDACTED@host");
    kube_error_clear(&err);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd); /* never listened: connections are refused */
    return port;
}

/* A client of such a server: its log line (insecure-skip-tls-verify), its name (no
 * context, no name given) and a failed request's error show the server redacted. */
static void test_client(struct test_ctx *t)
{
    int port = closed_port();
    REQUIRE(t, port > 0);
    char server[128];
    snprintf(server, sizeof(server), "http://me:" PASSWORD "@127.0.0.1:%d", port);
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&logbuf, &loglen);
    REQUIRE(t, logf != NULL);
    struct ew_logger lg;
    ew_logger_init(&lg, logf, EW_LOG_DEBUG, EW_LOG_TEXT);
    struct kube_rest_config cfg = {
        .server = server, .source = "test", .insecure_skip_tls_verify = 1};
    struct kube_client_options o = {.log = &lg, .max_retries = 1};
    struct kube_client *c = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_client_new(&cfg, &o, &c, &err) == KUBE_OK, "client: %s", err.message);
    CHECKF(t, !strstr(kube_client_name(c), PASSWORD), "client name: %s", kube_client_name(c));
    cJSON *out = NULL;
    CHECK(t, kube_get(c, &KUBE_RES_LEASES, "ns", "l", &out, &err) != KUBE_OK);
    CHECKF(t, err.message && !strstr(err.message, PASSWORD), "error shows the password: %s",
           err.message);
    CHECK_CONTAINS(t, err.message, "http://REDACTED@127.0.0.1:");
    kube_error_clear(&err);
    kube_client_free(c);
    fflush(logf);
    CHECK_CONTAINS(t, logbuf, "insecure-skip-tls-verify");
    CHECKF(t, logbuf && !strstr(logbuf, PASSWORD), "the log shows the password: %s", logbuf);
    ew_logger_destroy(&lg);
    fclose(logf);
    free(logbuf);
}

/* One loopback listener that answers every request 200 with a Lease, and keeps the
 * last request's Host header. */
struct answering {
    int fd, port;
    pthread_t thread;
    char host[256];
};

static void *answer(void *arg)
{
    struct answering *a = arg;
    int c;
    while ((c = accept(a->fd, NULL, NULL)) >= 0) {
        char buf[4096];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof(buf) - 1 && (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[got] = '\0';
        const char *h = strstr(buf, "\r\nHost: ");
        if (h)
            snprintf(a->host, sizeof(a->host), "%.*s", (int)strcspn(h + 8, "\r"), h + 8);
        static const char body[] = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                                   "\"metadata\":{\"name\":\"l\",\"namespace\":\"ns\"}}";
        char resp[512];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           sizeof(body) - 1, body);
        if (write(c, resp, (size_t)len) < 0) {
            /* the test sees no answer */
        }
        close(c);
    }
    return NULL;
}

static int answering_start(struct answering *a)
{
    memset(a, 0, sizeof(*a));
    a->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(a->fd, 4) != 0 || getsockname(a->fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    a->port = ntohs(sa.sin_port);
    return pthread_create(&a->thread, NULL, answer, a) == 0 ? 0 : -1;
}

static void answering_stop(struct answering *a)
{
    shutdown(a->fd, SHUT_RDWR);
    close(a->fd);
    pthread_join(a->thread, NULL);
}

/* tls-server-name with a server URL that has userinfo: the request goes to the server's
 * address (not to a "host" parsed out of the userinfo) with the name given. */
static void test_server_name_with_userinfo(struct test_ctx *t)
{
    struct answering a;
    REQUIRE(t, answering_start(&a) == 0);
    char server[128];
    snprintf(server, sizeof(server), "http://me:" PASSWORD "@127.0.0.1:%d", a.port);
    struct kube_rest_config cfg = {
        .server = server, .source = "test", .tls_server_name = "kubernetes.default.svc"};
    struct kube_client_options o = {.max_retries = 1};
    struct kube_client *c = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_client_new(&cfg, &o, &c, &err) == KUBE_OK, "client: %s", err.message);
    cJSON *out = NULL;
    kube_code rc = kube_get(c, &KUBE_RES_LEASES, "ns", "l", &out, &err);
    CHECKF(t, rc == KUBE_OK, "the request did not reach 127.0.0.1:%d: %s", a.port,
           err.message ? err.message : "");
    char want[64];
    snprintf(want, sizeof(want), "kubernetes.default.svc:%d", a.port);
    CHECK_STR(t, a.host, want);
    cJSON_Delete(out);
    kube_error_clear(&err);
    kube_client_free(c);
    answering_stop(&a);
}

static const struct test_case cases[] = {
    {"redacted_forms", test_redacted_forms},
    {"kubeconfig_error", test_kubeconfig_error},
    {"client", test_client},
    {"server_name_with_userinfo", test_server_name_with_userinfo},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
