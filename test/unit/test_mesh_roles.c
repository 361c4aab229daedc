/*
 * test_mesh_roles.c: the one rule for who exports and who imports a
 * CrossClusterService (docs/design.md section 2), and the hosts each member's
 * Gateway passes through (section 3), as the MeshNetwork controller, the
 * CrossClusterService controller and `kubectl eastwest plan` all compute them
 * (lib/mesh/roles.h).
 */
#include "harness.h"
#include "mesh/ccs_desired.h"
#include "mesh/ccs_status.h"
#include "mesh/objects.h"
#include "mesh/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *MESH_JSON =
    "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
    "\"metadata\":{\"name\":\"m\",\"uid\":\"u-1\"},"
    "\"spec\":{\"meshID\":\"m\",\"trustDomain\":\"corp.local\",\"clusters\":["
    "{\"name\":\"us\",\"network\":\"us-net\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\",\"kubeconfigSecretRef\":{\"name\":\"eu\"}},"
    "{\"name\":\"ap\",\"network\":\"ap-net\",\"kubeconfigSecretRef\":{\"name\":\"ap\"}}],"
    /* the hosts the tests claim (claims.h: a refused claim opens no gateway) */
    "\"serviceClaims\":{\"hosts\":[\"*.{namespace}.{meshID}.global\",\"*.example\"]}}}";

static void parse_mesh(struct test_ctx *t, struct mesh_network *n)
{
    cJSON *j = cJSON_Parse(MESH_JSON);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, j && mesh_network_parse(j, n, &p) == MESH_OK, "%s", p.message.buf);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

/* A CrossClusterService object; import_to NULL leaves spec.importTo unset, extra is
 * added to spec (a leading comma, or ""). */
static cJSON *ccs_json(const char *name, const char *mesh, const char *export_from,
                       const char *import_to, const char *extra)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\"},"
             "\"spec\":{\"meshNetwork\":\"%s\",\"exportFrom\":%s%s%s%s}}",
             name, mesh, export_from, import_to ? ",\"importTo\":" : "", import_to ? import_to : "",
             extra);
    return cJSON_Parse(buf);
}

static void parse_ccs(struct test_ctx *t, const char *export_from, const char *import_to,
                      struct mesh_ccs *c)
{
    cJSON *j = ccs_json("echo", "m", export_from, import_to, "");
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, j && mesh_ccs_parse(j, c, &p) == MESH_OK, "%s", p.message.buf);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

/* importTo unset: every member that does not export imports; exporters only export. */
static void test_role_import_to_unset(struct test_ctx *t)
{
    struct mesh_ccs c;
    parse_ccs(t, "[{\"cluster\":\"eu\"}]", NULL, &c);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_IMPORTS);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_IMPORTS);
    mesh_ccs_release(&c);
    /* two exporters: neither imports the other's endpoints */
    parse_ccs(t, "[{\"cluster\":\"eu\"},{\"cluster\":\"ap\"}]", NULL, &c);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_IMPORTS);
    mesh_ccs_release(&c);
}

/* importTo listed: only the members it names import; the others hold nothing. */
static void test_role_import_to_listed(struct test_ctx *t)
{
    struct mesh_ccs c;
    parse_ccs(t, "[{\"cluster\":\"eu\"}]", "[\"us\"]", &c);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_IMPORTS);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_NONE);
    CHECK(t, mesh_ccs_role(&c, "not-a-member") == MESH_ROLE_NONE);
    mesh_ccs_release(&c);
}

/* An exporter named in importTo does both (active-active); one not named only exports. */
static void test_role_active_active(struct test_ctx *t)
{
    struct mesh_ccs c;
    parse_ccs(t, "[{\"cluster\":\"eu\"},{\"cluster\":\"us\"}]", "[\"eu\",\"us\"]", &c);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_BOTH);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_BOTH);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_NONE);
    mesh_ccs_release(&c);
    parse_ccs(t, "[{\"cluster\":\"eu\"},{\"cluster\":\"us\"}]", "[\"eu\",\"ap\"]", &c);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_BOTH);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_IMPORTS);
    mesh_ccs_release(&c);
}

/* importTo: [] is refused by the parser (the CRD says minItems 1); a struct that
 * has it anyway (set, empty) imports nowhere rather than everywhere. */
static void test_role_import_to_empty(struct test_ctx *t)
{
    cJSON *j = ccs_json("echo", "m", "[{\"cluster\":\"eu\"}]", "[]", "");
    struct mesh_ccs c;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, j);
    CHECK(t, mesh_ccs_parse(j, &c, &p) == MESH_E_INVALID);
    CHECK_CONTAINS(t, p.message.buf, "spec.importTo");
    CHECK(t, c.name == NULL && c.nexports == 0); /* released and zeroed */
    mesh_problem_release(&p);
    cJSON_Delete(j);
    parse_ccs(t, "[{\"cluster\":\"eu\"}]", "[\"us\"]", &c);
    free(c.import_to[0]);
    c.import_to[0] = NULL;
    c.nimport_to = 0;
    CHECK(t, c.import_to_set);
    CHECK(t, mesh_ccs_role(&c, "eu") == MESH_ROLE_EXPORTS);
    CHECK(t, mesh_ccs_role(&c, "us") == MESH_ROLE_NONE);
    CHECK(t, mesh_ccs_role(&c, "ap") == MESH_ROLE_NONE);
    mesh_ccs_release(&c);
}

static void test_export_of(struct test_ctx *t)
{
    struct mesh_ccs c;
    parse_ccs(t, "[{\"cluster\":\"eu\",\"service\":\"echo-v2\"},{\"cluster\":\"us\"}]", NULL, &c);
    const struct mesh_export *e = mesh_ccs_export_of(&c, "eu");
    REQUIRE(t, e);
    CHECK_STR(t, e->service, "echo-v2");
    e = mesh_ccs_export_of(&c, "us");
    REQUIRE(t, e);
    CHECK_STR(t, e->service, "echo"); /* defaults to the resource's name */
    CHECK(t, mesh_ccs_export_of(&c, "ap") == NULL);
    mesh_ccs_release(&c);
}

/* Only the live, valid CrossClusterServices of the mesh count. */
static void test_parse_live(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, &n);
    struct mesh_ccs c;
    cJSON *j = ccs_json("echo", "m", "[{\"cluster\":\"eu\"}]", NULL, "");
    CHECK(t, mesh_ccs_parse_live(j, &n, &c) == MESH_OK && strcmp(c.name, "echo") == 0);
    mesh_ccs_release(&c);
    cJSON_AddStringToObject(cJSON_GetObjectItem(j, "metadata"), "deletionTimestamp",
                            "2026-11-24T20:00:00Z");
    CHECK(t, mesh_ccs_parse_live(j, &n, &c) == MESH_E_INVALID && c.name == NULL);
    cJSON_Delete(j);
    j = ccs_json("echo", "other", "[{\"cluster\":\"eu\"}]", NULL, "");
    CHECK(t, mesh_ccs_parse_live(j, &n, &c) == MESH_E_INVALID && c.name == NULL);
    cJSON_Delete(j);
    j = ccs_json("echo", "m", "[]", NULL, "");
    CHECK(t, mesh_ccs_parse_live(j, &n, &c) == MESH_E_INVALID && c.name == NULL);
    cJSON_Delete(j);
    CHECK(t, mesh_ccs_parse_live(NULL, &n, &c) == MESH_E_INVALID);
    mesh_network_release(&n);
}

static void add_ccs(struct test_ctx *t, struct mesh_gateway_hosts *g, const char *name,
                    const char *export_from, const char *extra)
{
    cJSON *j = ccs_json(name, "m", export_from, NULL, extra);
    struct mesh_ccs c;
    REQUIRE(t, j && mesh_ccs_parse_live(j, g->net, &c) == MESH_OK);
    mesh_gateway_hosts_add(g, &c);
    mesh_ccs_release(&c);
    cJSON_Delete(j);
}

/* Each member's hosts: those exported from it, sorted, each once. */
static void test_gateway_hosts_sorted_unique(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, &n);
    struct mesh_gateway_hosts g;
    mesh_gateway_hosts_init(&g, &n);
    for (size_t i = 0; i < n.nclusters; i++)
        CHECK(t, g.members[i].n == 0);
    add_ccs(t, &g, "zeta", "[{\"cluster\":\"eu\"}]", "");
    add_ccs(t, &g, "alpha", "[{\"cluster\":\"eu\"},{\"cluster\":\"ap\"}]", "");
    add_ccs(t, &g, "mid", "[{\"cluster\":\"eu\"}]", "");
    /* two services, one host: the Gateway lists it once */
    add_ccs(t, &g, "a1", "[{\"cluster\":\"eu\"}]", ",\"host\":\"shared.example\"");
    add_ccs(t, &g, "a2", "[{\"cluster\":\"eu\"}]", ",\"host\":\"shared.example\"");
    add_ccs(t, &g, "alpha", "[{\"cluster\":\"eu\"}]", ""); /* the same again */
    const struct mesh_host_list *us = &g.members[0], *eu = &g.members[1], *ap = &g.members[2];
    CHECK(t, us->n == 0);
    REQUIRE(t, eu->n == 4);
    CHECK_STR(t, eu->hosts[0], "alpha.ns.m.global");
    CHECK_STR(t, eu->hosts[1], "mid.ns.m.global");
    CHECK_STR(t, eu->hosts[2], "shared.example");
    CHECK_STR(t, eu->hosts[3], "zeta.ns.m.global");
    REQUIRE(t, ap->n == 1);
    CHECK_STR(t, ap->hosts[0], "alpha.ns.m.global");
    /* no cap: a member exporting more than 64 services lists them all */
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "svc-%03d", 99 - i);
        add_ccs(t, &g, name, "[{\"cluster\":\"us\"}]", "");
    }
    REQUIRE(t, us->n == 100);
    CHECK_STR(t, us->hosts[0], "svc-000.ns.m.global");
    CHECK_STR(t, us->hosts[99], "svc-099.ns.m.global");
    for (size_t i = 1; i < us->n; i++)
        CHECK(t, strcmp(us->hosts[i - 1], us->hosts[i]) < 0);
    mesh_gateway_hosts_release(&g);
    CHECK(t, g.members == NULL && g.net == NULL);
    mesh_gateway_hosts_release(&g); /* released twice: nothing happens */
    mesh_network_release(&n);
}

static const cJSON *gateway_hosts_of(const struct mesh_desired_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const cJSON *k = cJSON_GetObjectItem(s->items[i].obj, "kind");
        if (cJSON_IsString(k) && strcmp(k->valuestring, "Gateway") == 0)
            return cJSON_GetObjectItem(
                cJSON_GetArrayItem(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(s->items[i].obj, "spec"), "servers"),
                    0),
                "hosts");
    }
    return NULL;
}

/* The hosts as the Gateway lists them: ExportedOnly, the computed ones (none: no
 * Gateway); AllLocal, "*" alone whatever is exported. */
static void test_gateway_hosts_exposure(struct test_ctx *t)
{
    struct mesh_network n;
    parse_mesh(t, &n);
    struct mesh_gateway_hosts g;
    mesh_gateway_hosts_init(&g, &n);
    add_ccs(t, &g, "b", "[{\"cluster\":\"eu\"}]", "");
    add_ccs(t, &g, "a", "[{\"cluster\":\"eu\"}]", "");
    struct mesh_desired_set s = {0};
    mesh_build_gateway(&n, &n.clusters[1], g.members[1].hosts, g.members[1].n, &s);
    const cJSON *h = gateway_hosts_of(&s);
    REQUIRE(t, cJSON_GetArraySize(h) == 2);
    CHECK_STR(t, cJSON_GetArrayItem(h, 0)->valuestring, "a.ns.m.global");
    CHECK_STR(t, cJSON_GetArrayItem(h, 1)->valuestring, "b.ns.m.global");
    mesh_desired_release(&s);
    mesh_build_gateway(&n, &n.clusters[0], g.members[0].hosts, g.members[0].n, &s);
    CHECK(t, gateway_hosts_of(&s) == NULL);
    mesh_desired_release(&s);
    n.gateway.exposure = MESH_EXPOSE_ALL_LOCAL;
    for (size_t i = 0; i < 2; i++) {
        mesh_build_gateway(&n, &n.clusters[i], g.members[i].hosts, g.members[i].n, &s);
        h = gateway_hosts_of(&s);
        REQUIRE(t, cJSON_GetArraySize(h) == 1);
        CHECK_STR(t, cJSON_GetArrayItem(h, 0)->valuestring, "*");
        mesh_desired_release(&s);
    }
    mesh_gateway_hosts_release(&g);
    mesh_network_release(&n);
}

/* ---- what each member gets (ccs_desired.h), the decision both the controller and plan
 * use ---- */

struct desired_env {
    struct mesh_network net;
    struct mesh_ccs ccs;
    struct mesh_ccs_facts f;
    struct mesh_ccs_member_facts m[3];
    char *us_addr[1], *eu_addr[1], *ap_addr[1];
    cJSON *sel;
};

static void desired_env(struct test_ctx *t, struct desired_env *e, const char *export_from,
                        const char *import_to, const char *extra)
{
    memset(e, 0, sizeof(*e));
    parse_mesh(t, &e->net);
    cJSON *j = ccs_json("echo", "m", export_from, import_to, extra);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, j && mesh_ccs_parse(j, &e->ccs, &p) == MESH_OK, "%s", p.message.buf);
    mesh_problem_release(&p);
    cJSON_Delete(j);
    e->f = (struct mesh_ccs_facts){.ccs = &e->ccs,
                                   .net = &e->net,
                                   .host = "echo.mesh",
                                   .address = "240.0.0.2",
                                   .ports = e->ccs.ports,
                                   .nports = e->ccs.nports};
    e->us_addr[0] = "192.0.2.10";
    e->eu_addr[0] = "192.0.2.20";
    e->ap_addr[0] = "192.0.2.30";
    char **addrs[] = {e->us_addr, e->eu_addr, e->ap_addr};
    e->sel = cJSON_Parse("{\"app\":\"echo\"}");
    for (size_t i = 0; i < 3; i++)
        e->m[i] = (struct mesh_ccs_member_facts){.spec = &e->net.clusters[i],
                                                 .reachable = 1,
                                                 .addresses = addrs[i],
                                                 .naddresses = 1,
                                                 .selector = e->sel};
}

static void desired_env_release(struct desired_env *e)
{
    cJSON_Delete(e->sel);
    mesh_ccs_release(&e->ccs);
    mesh_network_release(&e->net);
}

static const char *endpoint(const cJSON *se, int i)
{
    const cJSON *ep =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "endpoints"), i);
    const cJSON *a = cJSON_GetObjectItem(ep, "address");
    return cJSON_IsString(a) ? a->valuestring : NULL;
}

#define PORTS ",\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]"

/* eu exports to us: us gets an entry at eu's gateway and a rule; eu its workload entry
 * and no rule; ap nothing (both removed if there). */
static void test_desired_one_way(struct test_ctx *t)
{
    struct desired_env e;
    desired_env(t, &e, "[{\"cluster\":\"eu\"}]", "[\"us\"]", PORTS);
    struct mesh_ccs_member_desired us, eu, ap;
    mesh_ccs_desired_member(&e.f, e.m, 3, 0, &us);
    mesh_ccs_desired_member(&e.f, e.m, 3, 1, &eu);
    mesh_ccs_desired_member(&e.f, e.m, 3, 2, &ap);
    CHECK(t, us.entry == MESH_INTENT_WRITE && us.rule == MESH_INTENT_WRITE);
    CHECK(t, us.nendpoints == 1);
    CHECK_STR(t, endpoint(us.service_entry, 0), "192.0.2.20");
    CHECK(t, eu.entry == MESH_INTENT_WRITE && eu.rule == MESH_INTENT_REMOVE);
    CHECK(t, cJSON_GetObjectItem(cJSON_GetObjectItem(eu.service_entry, "spec"),
                                 "workloadSelector") != NULL);
    CHECK(t, ap.entry == MESH_INTENT_REMOVE && ap.rule == MESH_INTENT_REMOVE);
    CHECK(t, !ap.service_entry && !ap.destination_rule);
    mesh_ccs_member_desired_release(&us);
    mesh_ccs_member_desired_release(&eu);
    mesh_ccs_member_desired_release(&ap);
    desired_env_release(&e);
}

/* Active-active: an importer that exports lists its own Service first, then the others'
 * gateways; without a usable Service of its own (no selector), the others only. */
static void test_desired_active_active_local_first(struct test_ctx *t)
{
    struct desired_env e;
    desired_env(t, &e, "[{\"cluster\":\"us\"},{\"cluster\":\"eu\",\"service\":\"echo-eu\"}]",
                "[\"us\",\"eu\"]", PORTS);
    struct mesh_ccs_member_desired eu;
    mesh_ccs_desired_member(&e.f, e.m, 3, 1, &eu);
    CHECK(t, eu.nendpoints == 2);
    CHECK_STR(t, endpoint(eu.service_entry, 0), "echo-eu.ns.svc.cluster.local");
    CHECK_STR(t, endpoint(eu.service_entry, 1), "192.0.2.10");
    mesh_ccs_member_desired_release(&eu);
    e.m[1].selector = NULL;
    mesh_ccs_desired_member(&e.f, e.m, 3, 1, &eu);
    CHECK(t, eu.nendpoints == 1);
    CHECK_STR(t, endpoint(eu.service_entry, 0), "192.0.2.10");
    mesh_ccs_member_desired_release(&eu);
    desired_env_release(&e);
}

/* An unreachable exporter: KeepLastKnown keeps its last addresses in the importers,
 * Withdraw drops them (the entry is still written: it exists, and routes nowhere). */
static void test_desired_partition_policy(struct test_ctx *t)
{
    struct desired_env keep, withdraw;
    desired_env(t, &keep, "[{\"cluster\":\"eu\"}]", "[\"us\"]", PORTS);
    desired_env(t, &withdraw, "[{\"cluster\":\"eu\"}]", "[\"us\"]",
                PORTS ",\"partitionPolicy\":\"Withdraw\"");
    keep.m[1].reachable = withdraw.m[1].reachable = 0;
    struct mesh_ccs_member_desired a, b;
    mesh_ccs_desired_member(&keep.f, keep.m, 3, 0, &a);
    mesh_ccs_desired_member(&withdraw.f, withdraw.m, 3, 0, &b);
    CHECK(t, a.nendpoints == 1);
    CHECK_STR(t, endpoint(a.service_entry, 0), "192.0.2.20");
    CHECK(t, b.nendpoints == 0 && b.entry == MESH_INTENT_WRITE);
    mesh_ccs_member_desired_release(&a);
    mesh_ccs_member_desired_release(&b);
    desired_env_release(&keep);
    desired_env_release(&withdraw);
}

/* An exporter whose backing Service is not usable keeps what it has. */
static void test_desired_exporter_without_service_keeps(struct test_ctx *t)
{
    struct desired_env e;
    desired_env(t, &e, "[{\"cluster\":\"eu\"}]", "[\"us\"]", PORTS);
    e.m[1].selector = NULL;
    struct mesh_ccs_member_desired eu;
    mesh_ccs_desired_member(&e.f, e.m, 3, 1, &eu);
    CHECK(t, eu.entry == MESH_INTENT_KEEP && !eu.service_entry);
    CHECK(t, eu.rule == MESH_INTENT_REMOVE);
    mesh_ccs_member_desired_release(&eu);
    desired_env_release(&e);
}

/* No identity known (issue 31): the importer gets no entry and no rule, removed when
 * the exporters' pods were read, kept when they could not be; the exporter is written. */
static void test_desired_no_identity_no_importer_entry(struct test_ctx *t)
{
    struct desired_env e;
    desired_env(t, &e, "[{\"cluster\":\"eu\"}]", "[\"us\"]", PORTS);
    e.f.no_identity = 1;
    struct mesh_ccs_member_desired us, eu;
    mesh_ccs_desired_member(&e.f, e.m, 3, 0, &us);
    mesh_ccs_desired_member(&e.f, e.m, 3, 1, &eu);
    CHECK(t, us.no_identity && us.entry == MESH_INTENT_REMOVE && us.rule == MESH_INTENT_REMOVE);
    CHECK(t, !us.service_entry && !us.destination_rule);
    CHECK(t, !eu.no_identity && eu.entry == MESH_INTENT_WRITE);
    mesh_ccs_member_desired_release(&us);
    mesh_ccs_member_desired_release(&eu);
    e.f.identity_unread = 1;
    mesh_ccs_desired_member(&e.f, e.m, 3, 0, &us);
    CHECK(t, us.no_identity && us.entry == MESH_INTENT_KEEP && us.rule == MESH_INTENT_KEEP);
    mesh_ccs_member_desired_release(&us);
    desired_env_release(&e);
}

static const char *cond_field(const cJSON *st, const char *type, const char *field)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "conditions"))
    {
        const cJSON *ty = cJSON_GetObjectItem(c, "type");
        const cJSON *v = cJSON_GetObjectItem(c, field);
        if (cJSON_IsString(ty) && strcmp(ty->valuestring, type) == 0)
            return cJSON_IsString(v) ? v->valuestring : "";
    }
    return "";
}

/* The CrossClusterService's status from one reconcile's views (ccs_status.h): roles,
 * the importer's gateways, and why Imported is False. */
static void test_ccs_status(struct test_ctx *t)
{
    struct mesh_network net;
    parse_mesh(t, &net);
    char *eu_addr[] = {"192.0.2.20"};
    struct member_view v[3] = {
        {.spec = &net.clusters[0], .reachable = 1, .importer = 1},
        {.spec = &net.clusters[1],
         .reachable = 1,
         .exporter = 1,
         .ready = 1,
         .endpoints = 2,
         .addresses = eu_addr,
         .naddresses = 1},
        {.spec = &net.clusters[2], .reachable = 1},
    };
    for (int i = 0; i < 3; i++)
        strbuf_init(&v[i].problem, 0);
    struct mesh_ccs_outcome o = {.generation = 2,
                                 .host = "echo.ns.mesh",
                                 .address = "240.0.0.1",
                                 .members = v,
                                 .nmembers = 3,
                                 .write_problem = ""};
    cJSON *st = mesh_ccs_status(NULL, &o);
    CHECK_STR(t, cJSON_GetObjectItem(st, "from")->valuestring, "eu");
    CHECK_STR(t, cJSON_GetObjectItem(st, "to")->valuestring, "us");
    CHECK_STR(t, cond_field(st, "Ready", "status"), "True");
    const cJSON *clusters = cJSON_GetObjectItem(st, "clusters");
    CHECK(t, cJSON_GetArraySize(clusters) == 2); /* ap has no role */
    const cJSON *us = cJSON_GetArrayItem(clusters, 0);
    CHECK_STR(t, cJSON_GetObjectItem(us, "role")->valuestring, "Importer");
    CHECK_STR(t, cJSON_GetArrayItem(cJSON_GetObjectItem(us, "gateways"), 0)->valuestring,
              "192.0.2.20:15443");
    CHECK(t, cJSON_GetObjectItem(cJSON_GetArrayItem(clusters, 1), "endpoints")->valueint == 2);
    cJSON_Delete(st);
    o.unreachable = 1;
    o.write_problem = "cluster us: unreachable (what it has is kept)";
    st = mesh_ccs_status(NULL, &o);
    CHECK_STR(t, cond_field(st, "Imported", "reason"), "ClusterUnreachable");
    CHECK_STR(t, cond_field(st, "Ready", "reason"), "ClusterUnreachable");
    CHECK_CONTAINS(t, cond_field(st, "Ready", "message"), "cluster us");
    cJSON_Delete(st);
    strbuf_addf(&v[1].problem, "cluster eu: Service ns/echo has no selector");
    st = mesh_ccs_status(NULL, &o);
    CHECK_STR(t, cond_field(st, "Exported", "status"), "False");
    CHECK_STR(t, cond_field(st, "Ready", "reason"), "BackingServiceNotReady");
    cJSON_Delete(st);
    for (int i = 0; i < 3; i++)
        strbuf_release(&v[i].problem);
    mesh_network_release(&net);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"role_import_to_unset", test_role_import_to_unset},
        {"role_import_to_listed", test_role_import_to_listed},
        {"role_active_active", test_role_active_active},
        {"role_import_to_empty", test_role_import_to_empty},
        {"export_of", test_export_of},
        {"parse_live", test_parse_live},
        {"gateway_hosts_sorted_unique", test_gateway_hosts_sorted_unique},
        {"gateway_hosts_exposure", test_gateway_hosts_exposure},
        {"desired_one_way", test_desired_one_way},
        {"desired_active_active_local_first", test_desired_active_active_local_first},
        {"desired_partition_policy", test_desired_partition_policy},
        {"desired_exporter_without_service_keeps", test_desired_exporter_without_service_keeps},
        {"desired_no_identity_no_importer_entry", test_desired_no_identity_no_importer_entry},
        {"ccs_status", test_ccs_status},
    };
    return TEST_MAIN(cases, argc, argv);
}
