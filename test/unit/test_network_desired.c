/*
 * test_network_desired.c: what a MeshNetwork wants in one member, and the status
 * it reports, as the pure functions decide them from facts (network_desired.h,
 * network_status.h): no cluster, no fake, no clock but the one passed in.
 */
#include "harness.h"
#include "mesh/network_desired.h"
#include "mesh/network_status.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *MESH_JSON =
    "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
    "\"metadata\":{\"name\":\"m\",\"uid\":\"u-1\",\"generation\":3},"
    "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\",\"clusters\":["
    "{\"name\":\"us\",\"network\":\"us-net\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\",\"kubeconfigSecretRef\":{\"name\":\"eu\"}}]}}";

static const char *ISTIO_CM =
    "{\"metadata\":{\"name\":\"istio\",\"namespace\":\"istio-system\"},"
    "\"data\":{\"mesh\":\"trustDomain: corp.local\\ndefaultConfig:\\n  meshId: training-mesh\\n"
    "  proxyMetadata:\\n    ISTIO_META_DNS_CAPTURE: \\\"true\\\"\\n\"}}";

static const char *GATEWAY_SVC =
    "{\"metadata\":{\"name\":\"" MESH_GATEWAY_NAME "\",\"namespace\":\"istio-system\"},"
    "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"name\":\"tls\",\"port\":15443}]},"
    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"}]}}}";

/* A mesh, a root, and the objects of a member that has Istio and a ready gateway. */
struct env {
    struct mesh_network net;
    struct mesh_keypair root_kp;
    struct mesh_cert_info root_info;
    struct mesh_problem no_problem;
    struct mesh_network_root root;
    cJSON *ns, *istio, *gateway_service, *istiod_root;
    char *hosts[2];
    struct mesh_network_member_facts f;
};

static void env_init(struct test_ctx *t, struct env *e, double root_validity)
{
    memset(e, 0, sizeof(*e));
    cJSON *j = cJSON_Parse(MESH_JSON);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIREF(t, j && mesh_network_parse(j, &e->net, &p) == MESH_OK, "%s", p.message.buf);
    cJSON_Delete(j);
    REQUIREF(t,
             mesh_ca_generate_root(e->net.ca.key_algorithm, root_validity, "m", &e->root_kp, &p) ==
                 MESH_OK,
             "%s", p.message.buf);
    REQUIRE(t, mesh_ca_inspect(e->root_kp.cert_pem, NULL, &e->root_info, NULL) == MESH_OK);
    mesh_problem_release(&p);
    mesh_problem_init(&e->no_problem);
    e->root = (struct mesh_network_root){
        .ok = 1, .cert_pem = e->root_kp.cert_pem, .info = &e->root_info, .problem = &e->no_problem};
    e->ns = cJSON_Parse("{\"metadata\":{\"name\":\"istio-system\"}}");
    e->istio = cJSON_Parse(ISTIO_CM);
    e->gateway_service = cJSON_Parse(GATEWAY_SVC);
    e->istiod_root = cJSON_Parse("{\"metadata\":{\"name\":\"istio-ca-root-cert\"},\"data\":{}}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(e->istiod_root, "data"), "root-cert.pem",
                            e->root_kp.cert_pem);
    e->hosts[0] = "a.echo.svc.cluster.local";
    e->hosts[1] = "b.echo.svc.cluster.local";
    e->f = (struct mesh_network_member_facts){
        .spec = &e->net.clusters[1],
        .istio_namespace = e->ns,
        .istio_config = e->istio,
        .gateway_service = e->gateway_service,
        .istiod_root = e->istiod_root,
        .hosts = e->hosts,
        .nhosts = 2,
    };
}

static void env_release(struct env *e)
{
    cJSON_Delete(e->ns);
    cJSON_Delete(e->istio);
    cJSON_Delete(e->gateway_service);
    cJSON_Delete(e->istiod_root);
    mesh_keypair_release(&e->root_kp);
    mesh_problem_release(&e->no_problem);
    mesh_network_release(&e->net);
}

static const char *label(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels"),
        key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *gateway_object(const struct mesh_network_member_desired *d, const char *kind)
{
    for (size_t i = 0; i < d->gateway.n; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(d->gateway.items[i].obj, "kind");
        if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0)
            return d->gateway.items[i].obj;
    }
    return NULL;
}

/* A member with Istio, a ready gateway and istiod on the mesh root: everything is True,
 * the gateway passes the hosts given, the namespace gets the member's network. */
static void test_ready_member(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, !d.namespace_missing);
    CHECK_STR(t, label(d.network_label, "topology.istio.io/network"), "eu-net");
    CHECKF(t, d.istio_ok, "%s", d.istio_problem.message.buf);
    CHECKF(t, d.gateway_ok, "%s", d.gateway_problem.message.buf);
    REQUIRE(t, d.naddresses == 1);
    CHECK_STR(t, d.addresses[0], "192.0.2.10");
    CHECK(t, gateway_object(&d, "Deployment") && gateway_object(&d, "Service"));
    const cJSON *gw = gateway_object(&d, "Gateway");
    REQUIRE(t, gw != NULL);
    char *text = cJSON_PrintUnformatted(gw);
    CHECK_CONTAINS(t, text, "a.echo.svc.cluster.local");
    CHECK_CONTAINS(t, text, "b.echo.svc.cluster.local");
    cJSON_free(text);
    /* no cacerts yet: issue one; istiod already publishes the root */
    CHECK(t, d.cacerts.verdict == MESH_CACERTS_ISSUE);
    CHECK_STR(t, d.cacerts.why.reason, "Missing");
    CHECKF(t, d.certs_ok, "%s", d.certs_problem.message.buf);
    mesh_network_member_desired_release(&d);
    env_release(&e);
}

/* No Istio namespace: nothing to write, one reason on both conditions. */
static void test_namespace_missing_writes_nothing(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    e.f.istio_namespace = NULL;
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, d.namespace_missing);
    CHECK(t, d.network_label == NULL && d.gateway.n == 0);
    CHECK_STR(t, d.gateway_problem.reason, "IstioNamespaceMissing");
    CHECK_STR(t, d.certs_problem.reason, "IstioNamespaceMissing");
    CHECK_CONTAINS(t, d.certs_problem.message.buf, "cluster eu");
    mesh_network_member_desired_release(&d);
    env_release(&e);
}

/* The gateway's Service without an address yet: the objects are still written, the
 * condition names the field. */
static void test_gateway_without_address(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    cJSON_DeleteItemFromObject(e.gateway_service, "status");
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, !d.gateway_ok && d.naddresses == 0);
    CHECK_STR(t, d.gateway_problem.reason, "NoGatewayAddress");
    CHECK_CONTAINS(t, d.gateway_problem.message.buf, "status.loadBalancer.ingress");
    CHECK(t, gateway_object(&d, "Service") != NULL);
    mesh_network_member_desired_release(&d);
    env_release(&e);
}

/* Someone else's cacerts is never overwritten; a root that cannot be read writes none. */
static void test_cacerts_foreign_and_root_unread(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    cJSON *foreign = cJSON_Parse("{\"metadata\":{\"name\":\"cacerts\",\"namespace\":"
                                 "\"istio-system\"},\"data\":{\"ca-cert.pem\":\"eA==\"}}");
    e.f.cacerts = foreign;
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, d.cacerts.verdict == MESH_CACERTS_FOREIGN && !d.certs_ok);
    CHECK_STR(t, d.certs_problem.reason, "ForeignCACerts");
    CHECK_CONTAINS(t, d.certs_problem.message.buf, "adoptExisting");
    mesh_network_member_desired_release(&d);

    struct mesh_problem why;
    mesh_problem_init(&why);
    mesh_problem_set(&why, "RootSecretNotFound", "Secret eastwest-system/m-root-ca not found");
    const struct mesh_network_root unread = {.ok = 0, .problem = &why};
    e.f.cacerts = NULL;
    mesh_network_desired_member(&e.net, &unread, &e.f, time(NULL), &d);
    CHECK(t, d.cacerts.verdict == MESH_CACERTS_KEEP && !d.certs_ok);
    CHECK_STR(t, d.certs_problem.reason, "RootSecretNotFound");
    mesh_network_member_desired_release(&d);
    mesh_problem_release(&why);
    cJSON_Delete(foreign);
    env_release(&e);
}

/* istiod still on another root: cacerts may be right, the certificates are not ready. */
static void test_istiod_on_another_root(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(e.istiod_root, "data"), "root-cert.pem",
                              cJSON_CreateString("-----BEGIN CERTIFICATE-----\n"));
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, !d.certs_ok);
    CHECK_STR(t, d.certs_problem.reason, "IstiodNotUsingMeshRoot");
    CHECK_CONTAINS(t, d.certs_problem.message.buf, "another root");
    mesh_network_member_desired_release(&d);
    env_release(&e);
}

/* A root inside its renew window: the member is told (RootExpiring), once per turn. */
static void test_root_expiring(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 3600); /* well inside any renewBefore */
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, !d.certs_ok && d.root_expiring);
    CHECK_STR(t, d.certs_problem.reason, "RootExpiring");
    mesh_network_member_desired_release(&d);
    env_release(&e);
}

/* istiod configured for another trust domain: IstioConfigured is False, naming both. */
static void test_istio_mismatch(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    cJSON *other = cJSON_Parse("{\"metadata\":{\"name\":\"istio\"},"
                               "\"data\":{\"mesh\":\"trustDomain: other.local\\n\"}}");
    e.f.istio_config = other;
    struct mesh_network_member_desired d;
    mesh_network_desired_member(&e.net, &e.root, &e.f, time(NULL), &d);
    CHECK(t, !d.istio_ok && d.istio_problem.reason[0]);
    CHECK_CONTAINS(t, d.istio_problem.message.buf, "other.local");
    mesh_network_member_desired_release(&d);
    cJSON_Delete(other);
    env_release(&e);
}

static const cJSON *condition(const cJSON *conds, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        const cJSON *ty = cJSON_GetObjectItem(c, "type");
        if (cJSON_IsString(ty) && strcmp(ty->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

static const char *str(const cJSON *o, const char *f)
{
    const cJSON *v = cJSON_GetObjectItem(o, f);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* One member ready, one unreachable: the status names the unreachable one, keeps what
 * was last known of it, and counts 1/2. */
static void test_status_names_failing_member(struct test_ctx *t)
{
    struct env e;
    env_init(t, &e, 10.0 * 365 * 86400);
    struct member_result res[2];
    memset(res, 0, sizeof(res));
    for (int i = 0; i < 2; i++) {
        res[i].spec = &e.net.clusters[i];
        mesh_problem_init(&res[i].reach);
        mesh_problem_init(&res[i].istio_problem);
        mesh_problem_init(&res[i].certs_problem);
        mesh_problem_init(&res[i].gateway_problem);
    }
    res[0].reachable = res[0].synced = res[0].istio_ok = res[0].certs_ok = res[0].gateway_ok = 1;
    char *addr = "192.0.2.10";
    res[0].addresses = &addr;
    res[0].naddresses = 1;
    mesh_problem_set(&res[1].reach, "ClusterUnreachable", "cluster eu: connection refused");
    cJSON *old = cJSON_Parse("{\"clusters\":[{\"name\":\"eu\",\"gatewayAddresses\":"
                             "[\"192.0.2.20\"]}]}");
    cJSON *st = mesh_network_status(old, &e.net, &e.root, res, 2);
    CHECK_STR(t, str(st, "readyClusters"), "1/2");
    CHECK(t, cJSON_GetObjectItem(st, "observedGeneration")->valuedouble == 3);
    const cJSON *conds = cJSON_GetObjectItem(st, "conditions");
    CHECK_STR(t, str(condition(conds, "Ready"), "status"), "False");
    CHECK_STR(t, str(condition(conds, "Ready"), "reason"), "ClusterUnreachable");
    CHECK_CONTAINS(t, str(condition(conds, "ClustersReachable"), "message"), "cluster eu");
    CHECK_STR(t, str(condition(conds, "GatewaysReady"), "status"), "True");
    const cJSON *eu = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "clusters"), 1);
    CHECK_STR(t, str(eu, "name"), "eu");
    CHECK_STR(t, cJSON_GetArrayItem(cJSON_GetObjectItem(eu, "gatewayAddresses"), 0)->valuestring,
              "192.0.2.20");
    CHECK_STR(t, str(cJSON_GetObjectItem(st, "rootCA"), "sha256Fingerprint"), e.root_info.sha256);
    cJSON_Delete(st);
    cJSON_Delete(old);
    for (int i = 0; i < 2; i++) {
        mesh_problem_release(&res[i].reach);
        mesh_problem_release(&res[i].istio_problem);
        mesh_problem_release(&res[i].certs_problem);
        mesh_problem_release(&res[i].gateway_problem);
    }
    env_release(&e);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"ready_member", test_ready_member},
        {"namespace_missing_writes_nothing", test_namespace_missing_writes_nothing},
        {"gateway_without_address", test_gateway_without_address},
        {"cacerts_foreign_and_root_unread", test_cacerts_foreign_and_root_unread},
        {"istiod_on_another_root", test_istiod_on_another_root},
        {"root_expiring", test_root_expiring},
        {"istio_mismatch", test_istio_mismatch},
        {"status_names_failing_member", test_status_names_failing_member},
    };
    return TEST_MAIN(cases, argc, argv);
}
