/*
 * test_limits.c: input at the limits (issue 32). A host Istio refuses (a label longer
 * than 63 characters, an all-digit last label, more than 253 characters) is refused
 * with a condition naming the field, and never reaches the Gateway that every exported
 * host of a member shares (one bad host there would block all of them); a condition
 * message longer than the CRDs' 32,768 characters is cut, at a UTF-8 boundary, with a
 * marker, so the status write that carries it is not refused.
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/strbuf.h"
#include "mesh/claims.h"
#include "mesh/conditions.h"
#include "mesh/host_name.h"
#include "mesh/objects.h"
#include "mesh/roles.h"

#include <stdlib.h>
#include <string.h>

/* A string of n copies of ch (caller frees). */
static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- host names ---- */

static void expect_host(struct test_ctx *t, const char *host, int ok, const char *want)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    mesh_code rc = mesh_host_check(host, &p);
    CHECKF(t, (rc == MESH_OK) == ok, "%.80s: %s", host, ok ? p.message.buf : "accepted");
    if (!ok) {
        CHECK_STR(t, p.reason, "InvalidHost");
        CHECK_CONTAINS(t, p.message.buf, want);
    }
    mesh_problem_release(&p);
}

static void test_host_rules(struct test_ctx *t)
{
    char *l63 = repeat('a', 63), *l64 = repeat('b', 64);
    struct strbuf h = STRBUF_INIT;
    expect_host(t, "echo.echo.training-mesh.global", 1, NULL);
    expect_host(t, "echo.eu.mesh.local", 1, NULL);
    expect_host(t, "v1.api-2.example.com", 1, NULL);
    expect_host(t, "svc.1a", 1, NULL);
    strbuf_addf(&h, "%s.ns.mesh.global", l63);
    expect_host(t, h.buf, 1, NULL);
    strbuf_reset(&h);
    strbuf_addf(&h, "%s.ns.mesh.global", l64);
    expect_host(t, h.buf, 0, "is 64 characters long (a DNS label has at most 63)");
    strbuf_reset(&h);
    strbuf_addf(&h, "web.%s.global", l64); /* a label in the middle */
    expect_host(t, h.buf, 0, "is 64 characters long");
    strbuf_reset(&h);
    /* 4 labels of 63 and a fifth: 260 characters, every label fine */
    strbuf_addf(&h, "%s.%s.%s.%s.global", l63, l63, l63, l63);
    expect_host(t, h.buf, 0, "is 262 characters long (a DNS name has at most 253)");
    expect_host(t, "echo.123", 0, "last label \"123\" is all digits");
    expect_host(t, "10.0.0.1", 0, "is all digits");
    expect_host(t, "a..b", 0, "empty label");
    expect_host(t, "echo.", 0, "empty label");
    expect_host(t, "-a.b", 0, "starts or ends with '-'");
    expect_host(t, "Echo.b", 0, "a character other than");
    expect_host(t, "*.b", 0, "a character other than");
    expect_host(t, "", 0, "empty");
    strbuf_release(&h);
    free(l63);
    free(l64);
}

static cJSON *mesh_json(void)
{
    return cJSON_Parse("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"meshID\":\"mesh1\","
                       "\"trustDomain\":\"corp.local\",\"clusters\":[{\"name\":\"us\","
                       "\"network\":\"a\"},{\"name\":\"eu\",\"network\":\"b\"}]}}");
}

/* The default host of a CrossClusterService whose name has a 64-character label:
 * allowed by the default serviceClaims, refused as a host, naming metadata.name. */
static void test_default_host_names_the_field(struct test_ctx *t)
{
    char *l64 = repeat('n', 64);
    struct strbuf j = STRBUF_INIT;
    strbuf_addf(&j,
                "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"team-a\"},\"spec\":{"
                "\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}]}}",
                l64);
    cJSON *mo = mesh_json(), *co = cJSON_Parse(j.buf);
    struct mesh_network n;
    struct mesh_ccs c;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(mo, &n, &p) == MESH_OK);
    REQUIRE(t, mesh_ccs_parse(co, &c, &p) == MESH_OK);
    char *host = mesh_ccs_host(&c, &n);
    CHECK(t, mesh_ccs_host_check(&c, &n, host, &p) != MESH_OK);
    CHECK_STR(t, p.reason, "InvalidHost");
    CHECK_CONTAINS(t, p.message.buf, "metadata.name");
    CHECK_CONTAINS(t, p.message.buf, "set spec.host");
    CHECK_CONTAINS(t, p.message.buf, "MeshNetwork m");
    /* the claims check refuses it too (a claim of it claims nothing) */
    CHECK(t, mesh_claims_check(&n, "team-a", host, NULL, &p) != MESH_OK);
    CHECK_STR(t, p.reason, "InvalidHost");
    free(host);
    mesh_ccs_release(&c);
    mesh_network_release(&n);
    mesh_problem_release(&p);
    cJSON_Delete(mo);
    cJSON_Delete(co);
    strbuf_release(&j);
    free(l64);
}

/* The exporter's Gateway lists the valid hosts only: a bad one next to them is left out. */
static void test_gateway_hosts_skip_invalid_hosts(struct test_ctx *t)
{
    char *l70 = repeat('x', 70);
    cJSON *mo = mesh_json();
    struct mesh_network n;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(mo, &n, &p) == MESH_OK);
    struct strbuf bad = STRBUF_INIT;
    strbuf_addf(&bad,
                "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"team-a\"},\"spec\":{"
                "\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}]}}",
                l70);
    const char *ccs[] = {
        bad.buf,
        "{\"metadata\":{\"name\":\"web\",\"namespace\":\"team-a\"},\"spec\":{"
        "\"meshNetwork\":\"m\",\"exportFrom\":[{\"cluster\":\"eu\"}]}}",
    };
    struct mesh_gateway_hosts g;
    mesh_gateway_hosts_init(&g, &n);
    for (size_t i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(ccs[i]);
        struct mesh_ccs c;
        REQUIRE(t, mesh_ccs_parse(j, &c, &p) == MESH_OK);
        mesh_gateway_hosts_add(&g, &c);
        mesh_ccs_release(&c);
        cJSON_Delete(j);
    }
    CHECKF(t, g.members[1].n == 1, "eu's gateway has %zu hosts, want 1", g.members[1].n);
    for (size_t i = 0; i < g.members[1].n; i++)
        CHECK_STR(t, g.members[1].hosts[i], "web.team-a.mesh1.global");
    mesh_gateway_hosts_release(&g);
    mesh_network_release(&n);
    mesh_problem_release(&p);
    strbuf_release(&bad);
    cJSON_Delete(mo);
    free(l70);
}

/* ---- the controllers: the bad service refused, the good one beside it served ---- */

static void put_ccs(struct world *w, const char *name)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b,
                "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                "\"metadata\":{\"name\":\"%s\",\"namespace\":\"echo\"},"
                "\"spec\":{\"meshNetwork\":\"training-mesh\","
                "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],\"importTo\":[\"us\"],"
                "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}",
                name);
    world_put_json(w->us, &MESH_RES_CROSSCLUSTERSERVICES, b.buf);
    strbuf_release(&b);
}

struct two {
    const char *bad;
};

/* The bad one judged (Ready for its generation) and eu's Gateway lists web's host. */
static int judged(struct world *w, void *ud)
{
    struct two *two = ud;
    cJSON *c = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", two->bad);
    const char *st = world_condition(c, "Ready", NULL, NULL);
    int ok = st && strcmp(st, "False") == 0;
    cJSON_Delete(c);
    cJSON *g = fake_cluster_get(w->eu, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME);
    const cJSON *hosts = world_at(g, "spec.servers.0.hosts"), *h;
    int web = 0;
    cJSON_ArrayForEach(h, hosts) web |=
        cJSON_IsString(h) && strcmp(h->valuestring, "web.echo.training-mesh.global") == 0;
    cJSON_Delete(g);
    return ok && web;
}

static void test_bad_host_blocks_no_other(struct test_ctx *t)
{
    struct world w;
    REQUIREF(t, world_start_tutorial(&w), "the tutorial did not converge: %s", world_describe(&w));
    char *bad = repeat('b', 70);
    put_ccs(&w, bad);
    put_ccs(&w, "web");
    struct two two = {bad};
    CHECKF(t, world_settle(&w, judged, &two, 20),
           "the long-named service was not refused, or web not served: %s", world_describe(&w));
    cJSON *c = fake_cluster_get(w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", bad);
    const char *reason = NULL, *msg = NULL;
    world_condition(c, "Ready", &reason, &msg);
    CHECK_STR(t, reason ? reason : "(none)", "InvalidHost");
    CHECK_CONTAINS(t, msg ? msg : "", "metadata.name");
    CHECK_CONTAINS(t, msg ? msg : "", "is 70 characters long");
    cJSON_Delete(c);
    struct fake_cluster *members[] = {w.us, w.eu};
    for (int i = 0; i < 2; i++) {
        cJSON *se = fake_cluster_get(members[i], &MESH_RES_SERVICEENTRIES, "echo", bad);
        CHECKF(t, !se, "the refused service's ServiceEntry is written in %s", i ? "eu" : "us");
        cJSON_Delete(se);
    }
    /* eu's Gateway: the tutorial's echo and web, never the bad host */
    cJSON *g = fake_cluster_get(w.eu, &MESH_RES_GATEWAYS, "istio-system", MESH_ISTIO_GATEWAY_NAME);
    const cJSON *hosts = world_at(g, "spec.servers.0.hosts"), *h;
    int n = 0;
    cJSON_ArrayForEach(h, hosts)
    {
        n++;
        CHECKF(t, cJSON_IsString(h) && !strstr(h->valuestring, bad),
               "eu's Gateway lists the refused host %.90s",
               cJSON_IsString(h) ? h->valuestring : "?");
    }
    CHECKF(t, n == 2, "eu's Gateway lists %d hosts, want echo's and web's", n);
    cJSON_Delete(g);
    cJSON *se = fake_cluster_get(w.us, &MESH_RES_SERVICEENTRIES, "echo", "web");
    CHECKF(t, se != NULL, "web is not imported into us");
    cJSON_Delete(se);
    free(bad);
    world_free(&w);
}

/* ---- condition messages ---- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int utf8_valid(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = *p < 0x80             ? 1
                  : (*p & 0xE0) == 0xC0 ? 2
                  : (*p & 0xF0) == 0xE0 ? 3
                  : (*p & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!len)
            return 0;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += len;
    }
    return 1;
}

/* The message mesh_condition_add writes for message. Caller frees. */
static char *written(const char *message)
{
    cJSON *arr = cJSON_CreateArray();
    mesh_condition_add(arr, NULL, "Ready", MESH_COND_FALSE, "Why", message, 1);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "message");
    char *out = strdup(cJSON_IsString(m) ? m->valuestring : "");
    cJSON_Delete(arr);
    return out;
}

static void test_long_message_is_cut(struct test_ctx *t)
{
    /* ASCII, one past the limit */
    char *a = repeat('a', MESH_COND_MESSAGE_MAX + 1);
    char *m = written(a);
    CHECKF(t, strlen(m) <= MESH_COND_MESSAGE_MAX, "%zu bytes", strlen(m));
    size_t ml = strlen(m), tl = strlen(MESH_COND_TRUNCATED);
    CHECK(t, ml >= tl && strcmp(m + ml - tl, MESH_COND_TRUNCATED) == 0);
    free(m);
    /* exactly the limit: kept whole */
    a[MESH_COND_MESSAGE_MAX] = '\0';
    m = written(a);
    CHECK(t, strcmp(m, a) == 0);
    free(m);
    free(a);
    /* two-, three- and four-byte characters: the cut never splits one */
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8c\x8d"};
    for (size_t k = 0; k < 3; k++)
        for (size_t shift = 0; shift < 4; shift++) {
            struct strbuf b = STRBUF_INIT;
            for (size_t i = 0; i < shift; i++)
                strbuf_adds(&b, "x");
            while (b.len < 3 * MESH_COND_MESSAGE_MAX)
                strbuf_adds(&b, chars[k]);
            m = written(b.buf);
            CHECKF(t, strlen(m) <= MESH_COND_MESSAGE_MAX && utf8_chars(m) <= MESH_COND_MESSAGE_MAX,
                   "%zu bytes", strlen(m));
            CHECKF(t, utf8_valid(m), "char %zu shift %zu: the cut split a character", k, shift);
            ml = strlen(m);
            CHECK(t, ml > tl && strcmp(m + ml - tl, MESH_COND_TRUNCATED) == 0);
            CHECKF(t, ml + 4 > MESH_COND_MESSAGE_MAX, "cut to %zu bytes: more than needed", ml);
            free(m);
            strbuf_release(&b);
        }
    CHECK(t, mesh_condition_fit("short", 3) == 0);
    CHECK(t, mesh_condition_fit("short", 5) == 5);
}

static const struct test_case cases[] = {
    {"host-rules", test_host_rules},
    {"default-host-names-the-field", test_default_host_names_the_field},
    {"gateway-hosts-skip-invalid-hosts", test_gateway_hosts_skip_invalid_hosts},
    {"bad-host-blocks-no-other", test_bad_host_blocks_no_other},
    {"long-message-is-cut", test_long_message_is_cut},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
