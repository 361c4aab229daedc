/*
 * test_bad_input.c: objects that an API server admits but that make no sense, fed to
 * the functions the reconcilers decide with. Each must give a problem with a reason
 * (the condition's) and a message that names the object and the field, never a
 * crash, and never a Secret's bytes in the message:
 *   - a backing Service with no selector (ExternalName, hand-made endpoints) or with
 *     no ports; Pods without a service account;
 *   - a gateway Service not there yet, with no ingress, with an ingress entry that has
 *     neither ip nor hostname, without the tls port 15443;
 *   - a kubeconfig Secret without the key, with data that is not base64, empty, or not
 *     a kubeconfig;
 *   - a root CA Secret whose certificate is expired, not yet valid, not a CA
 *     (CA:FALSE, or keyUsage without keyCertSign), whose key does not match or is
 *     encrypted, or that is not PEM at all;
 *   - a cacerts Secret full of garbage, ours or foreign; istiod's root bundle garbage;
 *   - istiod's mesh config that is not YAML, or not a map;
 *   - an exec plugin's output and a list response that are not what they claim.
 */
#include "harness.h"
#include "kube/internal.h"
#include "mesh/cacerts.h"
#include "mesh/ccs_objects.h"
#include "mesh/gateway_addresses.h"
#include "mesh/istio_check.h"
#include "mesh/members.h"
#include "mesh/objects.h"
#include "base/base64.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY (24L * 3600)

static const char *MESH_JSON =
    "{\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u-1\",\"generation\":1},"
    "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
    "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\",\"kubeconfigSecretRef\":{\"name\":\"eu-kc\"}}]}}";

static void parse_mesh(struct test_ctx *t, struct mesh_network *n)
{
    cJSON *j = cJSON_Parse(MESH_JSON);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(j, n, &p) == MESH_OK);
    mesh_problem_release(&p);
    cJSON_Delete(j);
}

static cJSON *parse(struct test_ctx *t, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    REQUIREF(t, j != NULL, "bad test JSON: %s", json);
    return j;
}

/* ---- backing Services and Pods ---- */

static void test_service_without_selector(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *desc = "cluster eu: Service echo/no-selector";
    /* ports, no selector: admitted (its endpoints would be made by hand) */
    cJSON *svc = parse(t, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"no-selector\","
                          "\"namespace\":\"echo\"},\"spec\":{\"type\":\"ClusterIP\","
                          "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}");
    CHECK(t, mesh_service_selector(svc, desc, &p) == NULL);
    CHECK_STR(t, p.reason, "ServiceHasNoSelector");
    CHECK_CONTAINS(t, p.message.buf, "cluster eu: Service echo/no-selector");
    CHECK_CONTAINS(t, p.message.buf, "spec.selector");
    cJSON_Delete(svc);
    /* ExternalName: says which type */
    svc = parse(t, "{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"echo.example.com\"}}");
    CHECK(t, mesh_service_selector(svc, desc, &p) == NULL);
    CHECK_CONTAINS(t, p.message.buf, "ExternalName");
    cJSON_Delete(svc);
    /* an empty selector, or one with nothing but non-strings, selects nothing either */
    const char *empty[] = {"{\"spec\":{\"selector\":{}}}",
                           "{\"spec\":{\"selector\":{\"a\":1}}}",
                           "{\"spec\":{\"selector\":[\"app\",\"echo\"]}}",
                           "{\"spec\":{\"selector\":\"app=echo\"}}",
                           "{}",
                           "[]"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        svc = parse(t, empty[i]);
        mesh_problem_release(&p);
        mesh_problem_init(&p);
        CHECKF(t, mesh_service_selector(svc, desc, &p) == NULL, "%s", empty[i]);
        CHECKF(t, strcmp(p.reason, "ServiceHasNoSelector") == 0, "%s: %s", empty[i], p.reason);
        cJSON_Delete(svc);
    }
    CHECK(t, mesh_service_selector(NULL, desc, &p) == NULL);
    /* a good one: a copy of the string labels, and the pod list's label selector */
    svc = parse(t, "{\"spec\":{\"selector\":{\"app\":\"echo\",\"version\":\"v1\",\"n\":3}}}");
    cJSON *sel = mesh_service_selector(svc, desc, &p);
    REQUIRE(t, sel != NULL);
    CHECK(t, cJSON_GetArraySize(sel) == 2);
    char *ls = mesh_label_selector(sel);
    CHECK_STR(t, ls, "app=echo,version=v1");
    free(ls);
    CHECK(t, mesh_label_selector(NULL) == NULL);
    cJSON_Delete(sel);
    cJSON_Delete(svc);
    mesh_problem_release(&p);
}

static void free_ports(struct mesh_port *ports, size_t n)
{
    mesh_service_ports_free(ports, n);
}

static void test_service_without_ports(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *desc = "cluster eu: Service echo/headless";
    struct mesh_port *ports = NULL;
    /* headless with no ports: admitted; nothing to export unless the spec names ports */
    cJSON *svc = parse(t, "{\"spec\":{\"clusterIP\":\"None\",\"selector\":{\"app\":\"echo\"}}}");
    CHECK(t, mesh_service_ports(svc, NULL, 0, desc, &ports, &p) == 0);
    CHECK_STR(t, p.reason, "ServiceHasNoPorts");
    CHECK_CONTAINS(t, p.message.buf, "cluster eu: Service echo/headless");
    CHECK_CONTAINS(t, p.message.buf, "spec.ports");
    free_ports(ports, 0);
    struct mesh_port spec[] = {
        {.number = 80, .name = "http", .protocol = "HTTP", .target_port = 0}};
    CHECK(t, mesh_service_ports(svc, spec, 1, desc, &ports, &p) == 1);
    CHECK(t,
          ports[0].number == 80 && ports[0].target_port == 0 && strcmp(ports[0].name, "http") == 0);
    free_ports(ports, 1);
    cJSON_Delete(svc);
    /* ports that are no ports (0, too big, not numbers, not a list) are skipped */
    const char *bad[] = {"{\"spec\":{\"ports\":[{\"port\":0},{\"port\":70000},{\"port\":\"80\"}]}}",
                         "{\"spec\":{\"ports\":{\"http\":{\"port\":80}}}}",
                         "{\"spec\":{\"ports\":[null,7,\"x\"]}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        svc = parse(t, bad[i]);
        CHECKF(t, mesh_service_ports(svc, NULL, 0, desc, &ports, &p) == 0, "%s", bad[i]);
        free_ports(ports, 0);
        cJSON_Delete(svc);
    }
    /* a real one: names, protocols, target ports (a named targetPort is kept as a name, never
     * replaced by the port's number: the pods' container port of that name) */
    svc = parse(t, "{\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080},"
                   "{\"name\":\"grpc-api\",\"port\":9090,\"targetPort\":\"grpc\","
                   "\"appProtocol\":\"grpc\"},{\"port\":6379,\"targetPort\":99999}]}}");
    size_t n = mesh_service_ports(svc, NULL, 0, desc, &ports, &p);
    REQUIRE(t, n == 3);
    CHECK(t, ports[0].target_port == 8080 && strcmp(ports[0].protocol, "HTTP") == 0);
    CHECK(t, ports[1].target_port == 0 && strcmp(ports[1].protocol, "GRPC") == 0);
    CHECK_STR(t, ports[1].target_name, "grpc");
    CHECK(t, ports[0].target_name == NULL && ports[2].target_name == NULL);
    CHECK(t, ports[2].target_port == 6379 && strcmp(ports[2].name, "port-6379") == 0);
    free_ports(ports, n);
    n = mesh_service_ports(svc, spec, 1, desc, &ports, &p);
    CHECK(t, n == 1 && ports[0].target_port == 8080);
    free_ports(ports, n);
    cJSON_Delete(svc);
    mesh_problem_release(&p);
}

static void test_pod_identity(struct test_ctx *t)
{
    cJSON *pod = parse(t, "{\"spec\":{\"serviceAccountName\":\"echo\"}}");
    char *id = mesh_pod_identity(pod, "corp.local", "echo");
    CHECK_STR(t, id, "spiffe://corp.local/ns/echo/sa/echo");
    free(id);
    cJSON_Delete(pod);
    const char *dflt[] = {"{\"spec\":{}}", "{\"spec\":{\"serviceAccountName\":\"\"}}",
                          "{\"spec\":{\"serviceAccountName\":7}}", "[]", "{}"};
    for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++) {
        pod = parse(t, dflt[i]);
        id = mesh_pod_identity(pod, "corp.local", "echo");
        CHECKF(t, id && strcmp(id, "spiffe://corp.local/ns/echo/sa/default") == 0, "%s: %s",
               dflt[i], id ? id : "(null)");
        free(id);
        cJSON_Delete(pod);
    }
    pod = parse(t, "{\"metadata\":{\"deletionTimestamp\":\"2026-11-24T00:00:00Z\"},"
                   "\"spec\":{\"serviceAccountName\":\"echo\"}}");
    CHECK(t, mesh_pod_identity(pod, "corp.local", "echo") == NULL);
    cJSON_Delete(pod);
}

/* ---- the gateway Service ---- */

static void addresses(struct test_ctx *t, const char *json, mesh_code want, const char *reason,
                      const char *needle, size_t want_n)
{
    cJSON *svc = json ? parse(t, json) : NULL;
    struct mesh_problem p;
    mesh_problem_init(&p);
    char **a = NULL;
    size_t n = 99;
    mesh_code rc = mesh_gateway_addresses(
        svc, "cluster eu: Service istio-system/istio-eastwestgateway", &a, &n, &p);
    CHECKF(t, rc == want, "%s: rc %d", json ? json : "(none)", rc);
    CHECKF(t, n == want_n, "%s: %zu addresses", json ? json : "(none)", n);
    CHECK(t, a != NULL);
    if (reason) {
        CHECKF(t, strcmp(p.reason, reason) == 0, "%s: reason %s", json ? json : "(none)", p.reason);
        CHECK_CONTAINS(t, p.message.buf, "cluster eu: Service istio-system/istio-eastwestgateway");
        CHECK_CONTAINS(t, p.message.buf, needle);
    }
    for (size_t i = 0; a && i < n; i++)
        free(a[i]);
    free(a);
    mesh_problem_release(&p);
    cJSON_Delete(svc);
}

#define GW_PORTS                                                                                   \
    "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"name\":\"tls\",\"port\":15443}]}"

static void test_gateway_service(struct test_ctx *t)
{
    addresses(t, NULL, MESH_E_INVALID, "NoGatewayAddress", "not created yet", 0);
    addresses(t, "{" GW_PORTS "}", MESH_E_INVALID, "NoGatewayAddress",
              "status.loadBalancer.ingress is empty", 0);
    addresses(t, "{" GW_PORTS ",\"status\":{\"loadBalancer\":{}}}", MESH_E_INVALID,
              "NoGatewayAddress", "status.loadBalancer.ingress is empty", 0);
    /* admitted by kube-apiserver 1.36: entries with neither ip nor hostname */
    addresses(t, "{" GW_PORTS ",\"status\":{\"loadBalancer\":{\"ingress\":[{}]}}}", MESH_E_INVALID,
              "NoGatewayAddress", "status.loadBalancer.ingress[0] has neither ip nor hostname", 0);
    addresses(t,
              "{" GW_PORTS ",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ports\":[{\"port\":"
              "15443,\"protocol\":\"TCP\"}]},{\"ip\":\"\"}]}}}",
              MESH_E_INVALID, "NoGatewayAddress", "neither ip nor hostname", 0);
    /* no tls port (someone edited spec.ports; the next apply puts it back) */
    addresses(t,
              "{\"spec\":{\"ports\":[{\"name\":\"status-port\",\"port\":15021}]},"
              "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.10\"}]}}}",
              MESH_E_INVALID, "GatewayPortMissing", "port 15443 (spec.ports)", 1);
    addresses(t, "{\"spec\":{}}", MESH_E_INVALID, "GatewayPortMissing", "spec.ports", 0);
    addresses(t, "{\"spec\":{\"ports\":{\"tls\":15443}}}", MESH_E_INVALID, "GatewayPortMissing",
              "spec.ports", 0);
    /* not a LoadBalancer: says so */
    addresses(t, "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":15443}]}}", MESH_E_INVALID,
              "NoGatewayAddress", "spec.type is NodePort", 0);
    /* regression (heap overflow found by fuzz_objects): ingress an object, not a list */
    addresses(t,
              "{" GW_PORTS ",\"status\":{\"loadBalancer\":{\"ingress\":{\"a\":{\"ip\":\"1.2.3.4\"},"
              "\"b\":{\"ip\":\"1.2.3.5\"}}}}}",
              MESH_E_INVALID, "NoGatewayAddress", "status.loadBalancer.ingress", 0);
    /* good: every entry with an address, in order */
    addresses(t,
              "{" GW_PORTS ",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.10\"},"
              "{},{\"hostname\":\"a1.elb.amazonaws.com\"}]}}}",
              MESH_OK, NULL, NULL, 2);
}

/* ---- kubeconfig Secrets ---- */

static cJSON *secret_with(const char *key, const char *value, int encode)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(md, "name", "eu-kc");
    cJSON_AddStringToObject(md, "resourceVersion", "42");
    cJSON *data = cJSON_AddObjectToObject(s, "data");
    if (key) {
        struct strbuf b = STRBUF_INIT;
        if (encode)
            base64_encode(&b, value, strlen(value));
        else
            strbuf_adds(&b, value);
        cJSON_AddStringToObject(data, key, b.buf);
        strbuf_release(&b);
    }
    return s;
}

#define KC_TOKEN "sekrit-token-do-not-print"

static void kubeconfig(struct test_ctx *t, const cJSON *secret, const char *reason,
                       const char *needle)
{
    struct mesh_network net;
    parse_mesh(t, &net);
    struct kube_rest_config cfg;
    struct mesh_problem p;
    mesh_problem_init(&p);
    char *version = (char *)"unset";
    mesh_code rc = mesh_member_config_from_secret(secret, "Secret eastwest-system/eu-kc",
                                                  &net.clusters[1], &cfg, &version, &p);
    if (!reason) {
        CHECKF(t, rc == MESH_OK, "%s: %s", p.reason, p.message.buf);
        CHECK_CONTAINS(t, version, "42@");
        CHECK_STR(t, cfg.server, "https://a.example:6443");
    } else {
        CHECK(t, rc == MESH_E_INVALID && version == NULL);
        CHECKF(t, strcmp(p.reason, reason) == 0, "reason %s, want %s (%s)", p.reason, reason,
               p.message.buf);
        CHECK_CONTAINS(t, p.message.buf, "cluster eu");
        CHECK_CONTAINS(t, p.message.buf, "Secret eastwest-system/eu-kc");
        CHECK_CONTAINS(t, p.message.buf, needle);
        /* where, not the message: it would print the token */
        CHECKF(t, !strstr(p.message.buf, KC_TOKEN),
               "the message shows the token (at byte %td of %zu)",
               strstr(p.message.buf, KC_TOKEN) - p.message.buf, strlen(p.message.buf));
    }
    kube_rest_config_free(&cfg);
    free(version);
    mesh_problem_release(&p);
    mesh_network_release(&net);
}

static void test_kubeconfig_secret(struct test_ctx *t)
{
    const char *good = "apiVersion: v1\nkind: Config\n"
                       "clusters: [{name: c, cluster: {server: \"https://a.example:6443\"}}]\n"
                       "users: [{name: u, user: {token: " KC_TOKEN "}}]\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                       "current-context: x\n";
    cJSON *s = secret_with("kubeconfig", good, 1);
    kubeconfig(t, s, NULL, NULL);
    cJSON_Delete(s);
    kubeconfig(t, NULL, "KubeconfigSecretNotFound", "(kubeconfigSecretRef) not found");
    /* the wrong key: says which one it wanted and which it found */
    s = secret_with("config", good, 1);
    kubeconfig(t, s, "KubeconfigKeyMissing", "has no data key kubeconfig");
    kubeconfig(t, s, "KubeconfigKeyMissing", "it has: config");
    cJSON_Delete(s);
    s = secret_with(NULL, NULL, 0);
    kubeconfig(t, s, "KubeconfigKeyMissing", "it has: no data");
    cJSON_Delete(s);
    s = parse(t, "{\"data\":[\"kubeconfig\"]}");
    kubeconfig(t, s, "KubeconfigKeyMissing", "no data");
    cJSON_Delete(s);
    /* data that is no kubeconfig: not base64, empty, a certificate, YAML of something else */
    s = secret_with("kubeconfig", "apiVersion: v1 <- not base64", 0);
    kubeconfig(t, s, "KubeconfigInvalid", "data.kubeconfig is not base64");
    cJSON_Delete(s);
    s = secret_with("kubeconfig", "", 1);
    kubeconfig(t, s, "KubeconfigInvalid", "data.kubeconfig is empty");
    cJSON_Delete(s);
    s = secret_with("kubeconfig", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                    1);
    kubeconfig(t, s, "KubeconfigInvalid", "not a usable kubeconfig");
    kubeconfig(t, s, "KubeconfigInvalid", "key kubeconfig");
    cJSON_Delete(s);
    s = secret_with("kubeconfig", "users: [{name: u, user: {token: " KC_TOKEN "}}]\n", 1);
    kubeconfig(t, s, "KubeconfigInvalid", "current-context");
    cJSON_Delete(s);
    s = secret_with("kubeconfig", "\x01\x02\xff binary", 1);
    kubeconfig(t, s, "KubeconfigInvalid", "not a usable kubeconfig");
    cJSON_Delete(s);
    /* issue 31: a member's Secret may not read the operator's files or run a program; the
     * problem names the Secret, its key and the field */
    static const struct {
        const char *user, *field;
    } refused[] = {
        {"{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}",
         "users[\"u\"].user.tokenFile"},
        {"{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/touch, args: [/tmp/"
         "pwned]}}",
         "users[\"u\"].user.exec"},
        {"{client-certificate: /etc/ssl/c.pem, client-key: /etc/ssl/k.pem}",
         "users[\"u\"].user.client-certificate"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct strbuf doc = STRBUF_INIT;
        strbuf_addf(&doc,
                    "clusters: [{name: c, cluster: {server: \"https://elsewhere.example\"}}]\n"
                    "users: [{name: u, user: %s}]\n"
                    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                    "current-context: x\n",
                    refused[i].user);
        s = secret_with("kubeconfig", doc.buf, 1);
        kubeconfig(t, s, "KubeconfigRefused", refused[i].field);
        kubeconfig(t, s, "KubeconfigRefused", "key kubeconfig");
        cJSON_Delete(s);
        strbuf_release(&doc);
    }
}

/* ---- certificates ---- */

struct cert_opts {
    int ca;               /* basicConstraints CA:TRUE (else CA:FALSE) */
    int key_cert_sign;    /* keyUsage keyCertSign (with digitalSignature) */
    long from, to;        /* validity, seconds from now */
    EVP_PKEY *signer_key; /* NULL: self-signed with its own key */
};

static char *pem_of_cert(X509 *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, c);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = ew_strndup(data, (size_t)len);
    BIO_free(b);
    return s;
}

static char *pem_of_key(EVP_PKEY *k, const char *passphrase)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (passphrase)
        PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)passphrase);
    else
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = ew_strndup(data, (size_t)len);
    BIO_free(b);
    return s;
}

/* A self-signed certificate (EC P-256) as a keypair of PEM strings. */
static void make_cert(struct test_ctx *t, const struct cert_opts *o, struct mesh_keypair *out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *c = X509_new();
    REQUIRE(t, key && c);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_gmtime_adj(X509_getm_notBefore(c), o->from);
    X509_gmtime_adj(X509_getm_notAfter(c), o->to);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"Test Root", -1,
                               -1, 0);
    X509_set_issuer_name(c, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                             o->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    X509_EXTENSION *ku = X509V3_EXT_conf_nid(
        NULL, &ctx, NID_key_usage,
        o->key_cert_sign ? "critical,keyCertSign,digitalSignature" : "critical,digitalSignature");
    X509_add_ext(c, bc, -1);
    X509_add_ext(c, ku, -1);
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ku);
    REQUIRE(t, X509_sign(c, o->signer_key ? o->signer_key : key, EVP_sha256()) > 0);
    out->cert_pem = pem_of_cert(c);
    out->key_pem = pem_of_key(key, NULL);
    X509_free(c);
    EVP_PKEY_free(key);
}

static cJSON *tls_secret(const char *crt, const char *key)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "kubernetes.io/tls");
    cJSON *d = cJSON_AddObjectToObject(s, "data");
    struct strbuf b = STRBUF_INIT;
    base64_encode(&b, crt, strlen(crt));
    cJSON_AddStringToObject(d, "tls.crt", b.buf);
    strbuf_reset(&b);
    base64_encode(&b, key, strlen(key));
    cJSON_AddStringToObject(d, "tls.key", b.buf);
    strbuf_release(&b);
    return s;
}

static void root_refused(struct test_ctx *t, const char *crt, const char *key, const char *field,
                         const char *needle)
{
    cJSON *s = tls_secret(crt, key);
    struct mesh_keypair kp;
    struct mesh_cert_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    CHECK(t, mesh_root_from_secret(s, "Secret eastwest-system/my-root", &kp, &info, &p) ==
                 MESH_E_INVALID);
    CHECK(t, kp.cert_pem == NULL && kp.key_pem == NULL);
    CHECK_STR(t, p.reason, "RootSecretInvalid");
    CHECK_CONTAINS(t, p.message.buf, "Secret eastwest-system/my-root");
    CHECK_CONTAINS(t, p.message.buf, field);
    CHECK_CONTAINS(t, p.message.buf, needle);
    CHECKF(t, !strstr(p.message.buf, "PRIVATE KEY") && !strstr(p.message.buf, "BEGIN"),
           "a PEM body in the message: %s", p.message.buf);
    mesh_problem_release(&p);
    cJSON_Delete(s);
}

static void test_root_secret(struct test_ctx *t)
{
    struct mesh_keypair good, expired, future, leaf, noks, other;
    struct cert_opts o = {1, 1, -300, 3650 * DAY, NULL};
    make_cert(t, &o, &good);
    o = (struct cert_opts){1, 1, -10 * DAY, -DAY, NULL};
    make_cert(t, &o, &expired);
    o = (struct cert_opts){1, 1, 10 * DAY, 20 * DAY, NULL};
    make_cert(t, &o, &future);
    o = (struct cert_opts){0, 1, -300, 3650 * DAY, NULL};
    make_cert(t, &o, &leaf);
    o = (struct cert_opts){1, 0, -300, 3650 * DAY, NULL};
    make_cert(t, &o, &noks);
    o = (struct cert_opts){1, 1, -300, 3650 * DAY, NULL};
    make_cert(t, &o, &other);
    /* the good one is taken */
    cJSON *s = tls_secret(good.cert_pem, good.key_pem);
    struct mesh_keypair kp;
    struct mesh_cert_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    CHECKF(t, mesh_root_from_secret(s, "Secret eastwest-system/my-root", &kp, &info, &p) == MESH_OK,
           "%s", p.message.buf);
    mesh_keypair_release(&kp);
    mesh_problem_release(&p);
    cJSON_Delete(s);
    root_refused(t, expired.cert_pem, expired.key_pem, "data.tls.crt", "expired (notAfter ");
    root_refused(t, future.cert_pem, future.key_pem, "data.tls.crt", "not valid yet");
    root_refused(t, leaf.cert_pem, leaf.key_pem, "data.tls.crt",
                 "is not a CA (basicConstraints CA:TRUE missing)");
    root_refused(t, noks.cert_pem, noks.key_pem, "data.tls.crt", "keyUsage lacks keyCertSign");
    root_refused(t, good.cert_pem, other.key_pem, "data.tls.key", "does not match");
    root_refused(t, "garbage", good.key_pem, "data.tls.crt", "not a PEM certificate");
    root_refused(t, good.cert_pem, "garbage", "data.tls.key", "not a PEM private key");
    /* an encrypted key: refused at once (OpenSSL would otherwise ask a terminal for the
     * passphrase and block the reconcile) */
    EVP_PKEY *k = NULL;
    BIO *kb = BIO_new_mem_buf(good.key_pem, -1);
    k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    BIO_free(kb);
    REQUIRE(t, k != NULL);
    char *enc = pem_of_key(k, "passphrase");
    EVP_PKEY_free(k);
    CHECK_SECRET_CONTAINS(t, enc, "ENCRYPTED PRIVATE KEY");
    root_refused(t, good.cert_pem, enc, "data.tls.key", "or an encrypted one: not supported");
    free(enc);
    /* the same checks hold for an intermediate in cacerts (mesh_ca_inspect directly) */
    struct mesh_cert_info ci;
    mesh_problem_init(&p);
    CHECK(t, mesh_ca_inspect(expired.cert_pem, NULL, &ci, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "CertificateExpired");
    CHECK(t, mesh_ca_inspect(leaf.cert_pem, NULL, &ci, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "NotACertificateAuthority");
    CHECK(t, mesh_ca_inspect(NULL, NULL, &ci, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "InvalidCertificate");
    mesh_problem_release(&p);
    /* tls.crt missing, or not base64 */
    s = parse(t, "{\"data\":{\"tls.key\":\"eA==\"}}");
    mesh_problem_init(&p);
    CHECK(t, mesh_root_from_secret(s, "Secret eastwest-system/my-root", &kp, &info, &p) ==
                 MESH_E_INVALID);
    CHECK_STR(t, p.reason, "RootSecretInvalid");
    CHECK_CONTAINS(t, p.message.buf, "tls.crt");
    cJSON_Delete(s);
    s = parse(t, "{\"data\":{\"tls.crt\":\"%%%\",\"tls.key\":\"eA==\"}}");
    CHECK(t, mesh_root_from_secret(s, "Secret eastwest-system/my-root", &kp, &info, &p) ==
                 MESH_E_INVALID);
    CHECK_CONTAINS(t, p.message.buf, "tls.crt");
    cJSON_Delete(s);
    mesh_problem_release(&p);
    struct mesh_keypair *all[] = {&good, &expired, &future, &leaf, &noks, &other};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mesh_keypair_release(all[i]);
}

/* ---- cacerts ---- */

static cJSON *cacerts(const struct mesh_network *net, int ours, const char *root, const char *cert,
                      const char *key, int encode)
{
    struct mesh_owner owner = {net->name, NULL, net->uid};
    cJSON *s = mesh_object_new("v1", "Secret", "istio-system", "cacerts", ours ? &owner : NULL);
    cJSON *d = cJSON_AddObjectToObject(s, "data");
    const char *keys[] = {"root-cert.pem", "ca-cert.pem", "ca-key.pem"};
    const char *vals[] = {root, cert, key};
    for (size_t i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        struct strbuf b = STRBUF_INIT;
        if (encode)
            base64_encode(&b, vals[i], strlen(vals[i]));
        else
            strbuf_adds(&b, vals[i]);
        cJSON_AddStringToObject(d, keys[i], b.buf);
        strbuf_release(&b);
    }
    if (root && cert) { /* cert-chain.pem as eastwest writes it: the intermediate, the root */
        struct strbuf chain = STRBUF_INIT, b = STRBUF_INIT;
        strbuf_addf(&chain, "%s%s%s", cert, cert[0] && cert[strlen(cert) - 1] != '\n' ? "\n" : "",
                    root);
        if (encode)
            base64_encode(&b, chain.buf, chain.len);
        else
            strbuf_adds(&b, chain.buf);
        cJSON_AddStringToObject(d, "cert-chain.pem", b.buf);
        strbuf_release(&b);
        strbuf_release(&chain);
    }
    return s;
}

static void decided(struct test_ctx *t, const struct mesh_network *net, const cJSON *live,
                    const struct mesh_keypair *root, const struct mesh_cert_info *ri,
                    enum mesh_cacerts_verdict want, const char *needle)
{
    struct mesh_cacerts_decision d;
    mesh_cacerts_decide(live, net, "eu", root->cert_pem, ri, time(NULL), &d);
    CHECKF(t, d.verdict == want, "verdict %d, want %d (%s: %s)", d.verdict, want, d.why.reason,
           d.why.message.buf);
    if (needle)
        CHECK_CONTAINS(t, d.why.message.buf, needle);
    if (want == MESH_CACERTS_ISSUE)
        CHECK_STR(t, d.why.reason, "Invalid");
    if (want == MESH_CACERTS_FOREIGN)
        CHECK_STR(t, d.why.reason, "ForeignCACerts");
    /* where, not the message: it would print the PEM */
    CHECKF(t, !strstr(d.why.message.buf, "BEGIN"), "a PEM body in the message (at byte %td of %zu)",
           strstr(d.why.message.buf, "BEGIN") - d.why.message.buf, strlen(d.why.message.buf));
    mesh_cacerts_decision_release(&d);
}

static void test_cacerts_garbage(struct test_ctx *t)
{
    struct mesh_network net;
    parse_mesh(t, &net);
    struct mesh_keypair root, inter, other;
    struct mesh_problem p;
    struct mesh_cert_info ri;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650.0 * DAY, "training-mesh", &root,
                                     &p) == MESH_OK);
    REQUIRE(t, mesh_ca_inspect(root.cert_pem, root.key_pem, &ri, &p) == MESH_OK);
    REQUIRE(t, mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, 365.0 * DAY, "eu", &inter,
                                          &p) == MESH_OK);
    REQUIRE(t,
            mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650.0 * DAY, "x", &other, &p) == MESH_OK);
    mesh_problem_release(&p);
    /* ours and sound: kept */
    cJSON *s = cacerts(&net, 1, root.cert_pem, inter.cert_pem, inter.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_KEEP, NULL);
    cJSON_Delete(s);
    /* eastwest's labels and annotation, but garbage for the root: nothing shows it is ours
     * (the mesh root is one of the marks), so it is left alone, naming the key */
    s = cacerts(&net, 1, root.cert_pem, inter.cert_pem, inter.key_pem, 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(s, "data"), "root-cert.pem",
                              cJSON_CreateString("%%% not base64 %%%"));
    decided(t, &net, s, &root, &ri, MESH_CACERTS_FOREIGN,
            "data.root-cert.pem is missing or not base64");
    cJSON_Delete(s);
    s = cacerts(&net, 1, "not PEM at all", inter.cert_pem, inter.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_FOREIGN,
            "data.root-cert.pem is not the mesh root");
    cJSON_Delete(s);
    /* ours, but garbage in each other place: reissued, naming the key */
    s = cacerts(&net, 1, root.cert_pem, NULL, inter.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_ISSUE, "data.ca-cert.pem is missing");
    cJSON_Delete(s);
    s = cacerts(&net, 1, root.cert_pem, "not PEM at all", inter.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_ISSUE, "data.ca-cert.pem: not a PEM certificate");
    cJSON_Delete(s);
    s = cacerts(&net, 1, root.cert_pem, inter.cert_pem, "garbage key", 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_ISSUE, "data.ca-key.pem: not a PEM private key");
    cJSON_Delete(s);
    s = cacerts(&net, 1, root.cert_pem, inter.cert_pem, other.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_ISSUE,
            "data.ca-key.pem: the private key does not");
    cJSON_Delete(s);
    /* a CA of another root, next to the mesh root: does not chain */
    s = cacerts(&net, 1, root.cert_pem, other.cert_pem, other.key_pem, 1);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_ISSUE, "data.ca-cert.pem: does not chain");
    cJSON_Delete(s);
    s = parse(t,
              "{\"metadata\":{\"labels\":{\"app.kubernetes.io/managed-by\":\"eastwest-operator\","
              "\"eastwest.io/mesh\":\"training-mesh\"},"
              "\"annotations\":{\"eastwest.io/owner-uid\":\"u-1\"}},\"data\":\"garbage\"}");
    decided(t, &net, s, &root, &ri, MESH_CACERTS_FOREIGN, "missing or not base64");
    cJSON_Delete(s);
    /* foreign garbage is never touched */
    s = cacerts(&net, 0, "garbage", "garbage", "garbage", 0);
    decided(t, &net, s, &root, &ri, MESH_CACERTS_FOREIGN, "was not written by eastwest");
    cJSON_Delete(s);
    s = parse(t, "[1,2,3]");
    decided(t, &net, s, &root, &ri, MESH_CACERTS_FOREIGN, "cluster eu");
    cJSON_Delete(s);
    /* istiod's published root: garbage never matches the mesh root */
    CHECK(t, !mesh_ca_pem_contains("garbage", ri.sha256));
    CHECK(t, !mesh_ca_pem_contains("-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
                                   ri.sha256));
    CHECK(t, !mesh_ca_pem_contains(NULL, ri.sha256));
    struct strbuf bundle = STRBUF_INIT;
    strbuf_addf(&bundle, "garbage\n%s%s", other.cert_pem, root.cert_pem);
    CHECK(t, mesh_ca_pem_contains(bundle.buf, ri.sha256));
    strbuf_release(&bundle);
    mesh_keypair_release(&root);
    mesh_keypair_release(&inter);
    mesh_keypair_release(&other);
    mesh_network_release(&net);
}

/* ---- istiod's mesh config ---- */

static cJSON *istio_cm(const char *mesh_yaml)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "metadata"), "name", "istio");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "mesh", mesh_yaml);
    return cm;
}

static void test_istio_mesh_config(struct test_ctx *t)
{
    struct mesh_network net;
    parse_mesh(t, &net);
    struct mesh_istio_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    cJSON *cm = istio_cm("trustDomain: [unclosed\n  meshId: {");
    CHECK(t, mesh_istio_read(cm, NULL, NULL, &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "IstioMeshConfigInvalid");
    CHECK_CONTAINS(t, p.message.buf, "ConfigMap istio, key mesh");
    mesh_istio_info_release(&info);
    cJSON_Delete(cm);
    /* YAML, but a list or a scalar: istiod's defaults, then a clear mismatch */
    const char *odd[] = {"- a\n- b\n", "just a string", "trustDomain: 7\n", ""};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        cm = istio_cm(odd[i]);
        CHECKF(t, mesh_istio_read(cm, NULL, NULL, &info, &p) == MESH_OK, "%s", odd[i]);
        CHECK(t, mesh_istio_check(&info, &net, &net.clusters[1], 0, &p) == MESH_E_INVALID);
        CHECK_STR(t, p.reason, "TrustDomainMismatch");
        CHECK_CONTAINS(t, p.message.buf, "cluster eu");
        CHECK_CONTAINS(t, p.message.buf, "cluster.local");
        CHECK_CONTAINS(t, p.message.buf, "corp.local");
        mesh_istio_info_release(&info);
        cJSON_Delete(cm);
    }
    /* injector values that are not JSON are ignored: the namespace label decides */
    cm = istio_cm("trustDomain: corp.local\ndefaultConfig: {meshId: training-mesh}\n");
    cJSON *inj = parse(t, "{\"data\":{\"values\":\"{not json\"}}");
    cJSON *ns = parse(t, "{\"metadata\":{\"labels\":{\"topology.istio.io/network\":\"eu-net\"}}}");
    CHECK(t, mesh_istio_read(cm, inj, ns, &info, &p) == MESH_OK);
    CHECK_STR(t, info.network, "eu-net");
    CHECK(t, mesh_istio_check(&info, &net, &net.clusters[1], 0, &p) == MESH_OK);
    mesh_istio_info_release(&info);
    cJSON_Delete(cm);
    cJSON_Delete(inj);
    cJSON_Delete(ns);
    mesh_problem_release(&p);
    mesh_network_release(&net);
}

/* ---- exec plugin output and list responses ---- */

static void test_exec_output_and_lists(struct test_ctx *t)
{
    char api[] = "client.authentication.k8s.io/v1", cmd[] = "aws";
    struct kube_exec_config ec;
    memset(&ec, 0, sizeof(ec));
    ec.api_version = api;
    ec.command = cmd;
    struct {
        const char *out, *needle;
    } bad[] = {
        {"", "not a JSON object"},
        {"[]", "not a JSON object"},
        {"{\"kind\":\"Pod\"}", "not ExecCredential"},
        {"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
         "\"status\":{\"token\":\"t\"}}",
         "does not match"},
        {"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}",
         "no status"},
        {"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
         "\"status\":{\"token\":\"" KC_TOKEN "\",\"expirationTimestamp\":\"tomorrow\"}}",
         "RFC 3339"},
        {"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
         "\"status\":{\"clientKeyData\":\"k\"}}",
         "neither token"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kube_exec_result r;
        struct kube_error err = KUBE_ERROR_INIT;
        CHECKF(t,
               kube_exec_parse_credential(&ec, bad[i].out, strlen(bad[i].out), &r, &err) != KUBE_OK,
               "%s", bad[i].out);
        CHECK_CONTAINS(t, err.message, "exec plugin aws");
        CHECK_CONTAINS(t, err.message, bad[i].needle);
        CHECK(t, !strstr(err.message, KC_TOKEN));
        CHECK(t, !r.token && !r.cert.data && !r.key.data);
        kube_error_clear(&err);
    }
    struct kube_list_page page;
    struct kube_error err = KUBE_ERROR_INIT;
    const char *lists[] = {"{\"items\":{}}", "{\"items\":\"x\"}", "[]", "<html>", ""};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        CHECKF(t,
               kube_list_page_parse(lists[i], strlen(lists[i]), "/api/v1/services", &page, &err) ==
                   KUBE_E_PROTOCOL,
               "%s", lists[i]);
        CHECK_CONTAINS(t, err.message, "/api/v1/services");
        CHECK(t, page.items == NULL);
        kube_error_clear(&err);
    }
    const char *ok = "{\"metadata\":{\"resourceVersion\":\"9\",\"continue\":\"\"},\"items\":null}";
    CHECK(t, kube_list_page_parse(ok, strlen(ok), "/api/v1/services", &page, &err) == KUBE_OK);
    CHECK(t, cJSON_IsArray(page.items) && cJSON_GetArraySize(page.items) == 0);
    CHECK_STR(t, page.resource_version, "9");
    CHECK(t, page.continue_token == NULL);
    kube_list_page_release(&page);
}

/* ---- the ownership rule (api.h): a failure leaves nothing to release ---- */

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Each reader fails on bad input, and nothing is released afterwards (as the reconcilers
 * do): the out-parameters must be empty, and under ASan (detect_leaks=1) or valgrind a
 * reader that kept what it had read makes this binary report a leak. Each out-parameter
 * starts as garbage, which the reader clears first. */
static void test_failure_leaves_nothing_to_release(struct test_ctx *t)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    /* istiod's mesh config that is not YAML */
    cJSON *cm = istio_cm("trustDomain: [unclosed\n  meshId: {");
    struct mesh_istio_info info;
    memset(&info, 0xa5, sizeof(info));
    CHECK(t, mesh_istio_read(cm, NULL, NULL, &info, &p) == MESH_E_INVALID);
    CHECK(t, all_zero(&info, sizeof(info)));
    cJSON_Delete(cm);
    /* a backing Service without ports, and ports that are no ports */
    const char *noports[] = {"{\"spec\":{\"clusterIP\":\"None\"}}",
                             "{\"spec\":{\"ports\":[{\"port\":0},{\"port\":\"80\"},null]}}"};
    for (size_t i = 0; i < sizeof(noports) / sizeof(noports[0]); i++) {
        cJSON *svc = parse(t, noports[i]);
        struct mesh_port junk, *ports = &junk;
        CHECKF(t, mesh_service_ports(svc, NULL, 0, "Service echo/x", &ports, &p) == 0, "%s",
               noports[i]);
        CHECKF(t, ports == NULL, "%s: ports left set", noports[i]);
        cJSON_Delete(svc);
    }
    /* Secret data that is missing or not base64 */
    cJSON *s = parse(t, "{\"data\":{\"a\":\"%%% not base64, but long enough to need a buffer "
                        "of its own %%%\",\"b\":7}}");
    const char *keys[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        struct strbuf out = STRBUF_INIT;
        strbuf_adds(&out, "what was there before");
        CHECKF(t, mesh_secret_data(s, keys[i], &out) == 0, "data.%s", keys[i]);
        CHECKF(t, out.alloc == 0 && out.len == 0, "data.%s: %zu bytes kept", keys[i], out.alloc);
    }
    cJSON_Delete(s);
    /* a root Secret that is refused: neither keypair nor certificate info are left */
    struct mesh_keypair leaf;
    struct cert_opts o = {0, 1, -300, 3650 * DAY, NULL};
    make_cert(t, &o, &leaf);
    const char *crts[] = {leaf.cert_pem, "garbage"};
    for (size_t i = 0; i < 2; i++) {
        s = tls_secret(crts[i], leaf.key_pem);
        struct mesh_keypair kp;
        struct mesh_cert_info ci;
        memset(&kp, 0xa5, sizeof(kp));
        memset(&ci, 0xa5, sizeof(ci));
        CHECK(t,
              mesh_root_from_secret(s, "Secret eastwest-system/r", &kp, &ci, &p) == MESH_E_INVALID);
        CHECK(t, all_zero(&kp, sizeof(kp)) && all_zero(&ci, sizeof(ci)));
        cJSON_Delete(s);
    }
    /* an intermediate from a root that is not one */
    struct mesh_keypair inter;
    memset(&inter, 0xa5, sizeof(inter));
    struct mesh_keypair bad_root = {(char *)"garbage", leaf.key_pem};
    CHECK(t, mesh_ca_issue_intermediate(&bad_root, MESH_KEY_ECDSA_P256, 3600, "eu", &inter, &p) ==
                 MESH_E_INVALID);
    CHECK(t, all_zero(&inter, sizeof(inter)));
    mesh_keypair_release(&leaf);
    /* kubeconfig Secrets that are not one */
    struct mesh_network net;
    parse_mesh(t, &net);
    const char *kcs[] = {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                         ("clusters: [{name: c, cluster: {server: \"https://a.example:6443\"}}]\n"
                          "users: [{name: u, user: {token: t}}]\n")};
    for (size_t i = 0; i < 2; i++) {
        s = secret_with("kubeconfig", kcs[i], 1);
        struct kube_rest_config cfg;
        char *version = (char *)"garbage";
        memset(&cfg, 0xa5, sizeof(cfg));
        CHECK(t, mesh_member_config_from_secret(s, "Secret eastwest-system/eu-kc", &net.clusters[1],
                                                &cfg, &version, &p) == MESH_E_INVALID);
        CHECK(t, all_zero(&cfg, sizeof(cfg)) && version == NULL);
        cJSON_Delete(s);
    }
    mesh_network_release(&net);
    mesh_problem_release(&p);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"service_without_selector", test_service_without_selector},
        {"service_without_ports", test_service_without_ports},
        {"pod_identity", test_pod_identity},
        {"gateway_service", test_gateway_service},
        {"kubeconfig_secret", test_kubeconfig_secret},
        {"root_secret", test_root_secret},
        {"cacerts_garbage", test_cacerts_garbage},
        {"istio_mesh_config", test_istio_mesh_config},
        {"exec_output_and_lists", test_exec_output_and_lists},
        {"failure_leaves_nothing_to_release", test_failure_leaves_nothing_to_release},
    };
    return TEST_MAIN(cases, argc, argv);
}
