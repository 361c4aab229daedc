/*
 * test_kubeconfig.c: kubeconfig variants (data and file fields, tokens, token
 * files, exec plugins, contexts, KUBECONFIG merging, precedence, JSON, memory,
 * in-cluster) and malformed kubeconfigs with the error each must give.
 */
#include "harness.h"
#include "base/base64.h"
#include "base/fileutil.h"
#include "kube/kubeconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KC_DIR TEST_DATA_DIR "/kubeconfig"

static char *b64_file(struct test_ctx *t, const char *name)
{
    struct strbuf raw = STRBUF_INIT, enc = STRBUF_INIT, path = STRBUF_INIT;
    strbuf_addf(&path, "%s/%s", KC_DIR, name);
    REQUIREF(t, ew_read_file(&raw, path.buf, 1 << 20) == 0, "read %s", path.buf);
    base64_encode(&enc, raw.buf, raw.len);
    strbuf_release(&raw);
    strbuf_release(&path);
    return strbuf_detach(&enc, NULL);
}

static kube_code from_mem(const char *yaml, const char *context, struct kube_rest_config *cfg,
                          struct kube_error *err)
{
    return kube_config_from_memory(yaml, strlen(yaml), "kubeconfig T", "/nonexistent", context, cfg,
                                   err);
}

static void test_data_fields(struct test_ctx *t)
{
    char *ca = b64_file(t, "ca.crt"), *cert = b64_file(t, "client.crt");
    char *key = b64_file(t, "client.key");
    struct strbuf doc = STRBUF_INIT;
    strbuf_addf(&doc,
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                "    server: https://10.0.0.1:6443\n    certificate-authority-data: %s\n"
                "users:\n- name: u\n  user:\n    client-certificate-data: %s\n"
                "    client-key-data: %s\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
                "    user: u\n    namespace: prod\ncurrent-context: x\n",
                ca, cert, key);
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = from_mem(doc.buf, NULL, &cfg, &err);
    REQUIREF(t, rc == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.server, "https://10.0.0.1:6443");
    CHECK_STR(t, cfg.context_name, "x");
    CHECK_STR(t, cfg.namespace_, "prod");
    CHECK(t, strstr((char *)cfg.ca.data, "BEGIN CERTIFICATE") != NULL);
    CHECK(t, strstr((char *)cfg.client_key.data, "PRIVATE KEY") != NULL);
    CHECK(t, cfg.token == NULL && cfg.exec == NULL);
    struct kube_rest_config copy;
    CHECK(t, kube_rest_config_copy(&copy, &cfg) == KUBE_OK);
    CHECK(t, copy.client_key.len == cfg.client_key.len &&
                 memcmp(copy.client_key.data, cfg.client_key.data, cfg.client_key.len) == 0);
    kube_rest_config_free(&copy);
    kube_rest_config_free(&cfg);
    strbuf_release(&doc);
    free(ca);
    free(cert);
    free(key);
}

static void test_file_fields_relative(struct test_ctx *t)
{
    struct kube_config_options o = {KC_DIR "/files.yaml", NULL, NULL, NULL};
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.server, "https://127.0.0.1:6443"); /* trailing slash dropped */
    CHECK_STR(t, cfg.tls_server_name, "kubernetes.default.svc");
    CHECK_STR(t, cfg.namespace_, "team-a");
    CHECK(t, cfg.ca.len > 0 && cfg.client_cert.len > 0 && cfg.client_key.len > 0);
    CHECK_CONTAINS(t, cfg.source, "files.yaml");
    kube_rest_config_free(&cfg);
    o.context = "tokfile";
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_CONTAINS(t, cfg.token_file, "/kubeconfig/token");
    CHECK(t, cfg.token_file[0] == '/' || strncmp(cfg.token_file, TEST_DATA_DIR, 4) == 0);
    CHECK(t, cfg.token == NULL); /* read by the client, not here */
    kube_rest_config_free(&cfg);
}

static void test_token_and_exec(struct test_ctx *t)
{
    const char *doc =
        "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://h', "
        "insecure-skip-tls-verify: true}\nusers:\n- name: tok\n  user: {token: abc.def}\n"
        "- name: ex\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: aws\n      args: [eks, get-token, --cluster-name, prod]\n"
        "      env: [{name: AWS_PROFILE, value: prod}, {name: EMPTY}]\n"
        "      provideClusterInfo: true\n      interactiveMode: Never\n"
        "      installHint: install the aws cli\n"
        "- name: ex1b\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
        "command: gke-gcloud-auth-plugin}\n"
        "contexts:\n- {name: t, context: {cluster: c, user: tok}}\n"
        "- {name: e, context: {cluster: c, user: ex}}\n"
        "- {name: e1b, context: {cluster: c, user: ex1b}}\n"
        "- {name: anon, context: {cluster: c}}\n";
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, from_mem(doc, "t", &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_SECRET_STR(t, cfg.token, "abc.def");
    CHECK(t, cfg.insecure_skip_tls_verify == 1);
    kube_rest_config_free(&cfg);
    REQUIREF(t, from_mem(doc, "e", &cfg, &err) == KUBE_OK, "%s", err.message);
    REQUIRE(t, cfg.exec != NULL);
    CHECK_STR(t, cfg.exec->command, "aws");
    CHECK(t, cfg.exec->nargs == 4);
    CHECK_STR(t, cfg.exec->args[3], "prod");
    CHECK(t, cfg.exec->nenv == 2);
    CHECK_STR(t, cfg.exec->env[0].value, "prod");
    CHECK_STR(t, cfg.exec->env[1].value, "");
    CHECK(t, cfg.exec->provide_cluster_info == 1);
    CHECK_STR(t, cfg.exec->install_hint, "install the aws cli");
    kube_rest_config_free(&cfg);
    REQUIREF(t, from_mem(doc, "e1b", &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.exec->api_version, "client.authentication.k8s.io/v1beta1");
    kube_rest_config_free(&cfg);
    REQUIREF(t, from_mem(doc, "anon", &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK(t, !cfg.token && !cfg.exec && !cfg.client_cert.len);
    kube_rest_config_free(&cfg);
}

static void test_kubeconfig_env_merge(struct test_ctx *t)
{
    struct kube_config_options o = {
        NULL, NULL, KC_DIR "/missing.yaml:" KC_DIR "/merge-a.yaml::" KC_DIR "/merge-b.yaml", NULL};
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    /* current-context from b (a sets none); ctx-b uses cluster only-b; user from a wins */
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.context_name, "ctx-b");
    CHECK_STR(t, cfg.server, "https://only-b.example");
    CHECK_SECRET_STR(t, cfg.token, "token-from-a");
    kube_rest_config_free(&cfg);
    o.context = "ctx-a";
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.server, "https://a.example:6443"); /* first file wins for "shared" */
    kube_rest_config_free(&cfg);
    o.context = NULL;
    o.kubeconfig_env = KC_DIR "/merge-c.json:" KC_DIR "/merge-b.yaml";
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.context_name, "ctx-c"); /* JSON works; first current-context wins */
    kube_rest_config_free(&cfg);
}

static void test_precedence_and_home(struct test_ctx *t)
{
    struct kube_config_options o = {KC_DIR "/merge-c.json", NULL, KC_DIR "/merge-b.yaml", NULL};
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_config_load(&o, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.context_name, "ctx-c"); /* --kubeconfig beats $KUBECONFIG */
    kube_rest_config_free(&cfg);
    char home[] = "/tmp/ew-home-XXXXXX", path[256];
    REQUIRE(t, mkdtemp(home) != NULL);
    snprintf(path, sizeof(path), "%s/.kube", home);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.kube/config", home);
    FILE *f = fopen(path, "w");
    REQUIRE(t, f != NULL);
    fputs("apiVersion: v1\nclusters: [{name: h, cluster: {server: 'https://home', "
          "insecure-skip-tls-verify: true}}]\ncontexts: [{name: h, context: {cluster: h}}]\n"
          "current-context: h\n",
          f);
    fclose(f);
    struct kube_config_options h = {NULL, NULL, "", home};
    REQUIREF(t, kube_config_load(&h, &cfg, &err) == KUBE_OK, "%s", err.message);
    CHECK_STR(t, cfg.server, "https://home");
    kube_rest_config_free(&cfg);
    unlink(path);
}

static void test_in_cluster(struct test_ctx *t)
{
    char dir[] = "/tmp/ew-sa-XXXXXX", path[256];
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIRE(t, mkdtemp(dir) != NULL);
    CHECK(t, kube_config_in_cluster(dir, NULL, NULL, &cfg, &err) == KUBE_E_CONFIG);
    CHECK_CONTAINS(t, err.message, "KUBERNETES_SERVICE_HOST");
    CHECK(t, kube_config_in_cluster(dir, "10.96.0.1", "443", &cfg, &err) == KUBE_E_IO);
    CHECK_CONTAINS(t, err.message, "/token");
    const char *files[][2] = {{"token", "sa-token\n"}, {"namespace", "eastwest-system\n"}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        REQUIRE(t, f != NULL);
        fputs(files[i][1], f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "cp %s/ca.crt %s/ca.crt", KC_DIR, dir);
    REQUIRE(t, system(path) == 0);
    REQUIREF(t, kube_config_in_cluster(dir, "10.96.0.1", "443", &cfg, &err) == KUBE_OK, "%s",
             err.message);
    CHECK_STR(t, cfg.server, "https://10.96.0.1:443");
    CHECK_STR(t, cfg.namespace_, "eastwest-system");
    CHECK_CONTAINS(t, cfg.token_file, "/token");
    CHECK(t, cfg.ca.len > 0);
    kube_rest_config_free(&cfg);
    REQUIREF(t, kube_config_in_cluster(dir, "fd00::1", "443", &cfg, &err) == KUBE_OK, "%s",
             err.message);
    CHECK_STR(t, cfg.server, "https://[fd00::1]:443");
    kube_rest_config_free(&cfg);
    kube_error_clear(&err);
}

/* ---- malformed ---- */

struct bad_case {
    const char *what;
    const char *yaml;
    const char *want[3]; /* substrings of the error */
};

#define HEAD "apiVersion: v1\nkind: Config\n"
#define CL                                                                                         \
    "clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: true}\n"
#define CTX "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"

static const struct bad_case bad_cases[] = {
    {"yaml syntax",
     HEAD "clusters:\n- name: c\n  cluster: {server: [}\n",
     {"kubeconfig T", "line 5 column 22: did not find expected node content", NULL}},
    {"clusters not a list",
     HEAD "clusters: oops\n",
     {"kubeconfig T", "clusters: expected a list, got a string", NULL}},
    {"missing server",
     HEAD "clusters:\n- name: c\n  cluster: {certificate-authority-data: eA==}\n" CTX
          "users: [{name: u}]\n",
     {"clusters[\"c\"]", "server: missing", NULL}},
    {"server not a URL",
     HEAD "clusters:\n- name: c\n  cluster: {server: 'h:6443'}\n" CTX "users: [{name: u}]\n",
     {"clusters[\"c\"]", "server: \"h:6443\" is not an https:// or http:// URL", NULL}},
    {"bad base64 CA",
     HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority-data: "
          "'***'}\n" CTX "users: [{name: u}]\n",
     {"clusters[\"c\"]", "certificate-authority-data: not valid base64", NULL}},
    {"CA not PEM",
     HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority-data: "
          "aGVsbG8=}\n" CTX "users: [{name: u}]\n",
     {"clusters[\"c\"]", "certificate-authority-data: not a PEM certificate", NULL}},
    {"cert without key",
     HEAD CL CTX "users:\n- name: u\n  user: {client-certificate: /x.crt}\n",
     {"users[\"u\"]", "client-certificate", NULL}},
    {"cert twice",
     HEAD CL CTX
     "users:\n- name: u\n  user: {client-certificate: /x.crt, client-certificate-data: eA==}\n",
     {"users[\"u\"]", "client-certificate and client-certificate-data are both set", NULL}},
    {"unknown context",
     HEAD CL "contexts:\n- name: a\n  context: {cluster: c}\n- name: b\n  context: {cluster: "
             "c}\ncurrent-context: prod\n",
     {"kubeconfig T", "context \"prod\" not found", "known contexts: \"a\", \"b\""}},
    {"missing cluster",
     HEAD CL "contexts:\n- name: x\n  context: {cluster: gone}\ncurrent-context: x\n",
     {"contexts[\"x\"]", "cluster \"gone\" not found", NULL}},
    {"missing user", HEAD CL CTX, {"contexts[\"x\"]", "user \"u\" not found", NULL}},
    {"exec without command",
     HEAD CL CTX
     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1}\n",
     {"users[\"u\"]", "exec: command: missing", NULL}},
    {"exec v1alpha1",
     HEAD CL CTX "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                 "client.authentication.k8s.io/v1alpha1, command: x}\n",
     {"users[\"u\"]",
      "exec: apiVersion: \"client.authentication.k8s.io/v1alpha1\" is not supported", NULL}},
    {"exec args not strings",
     HEAD CL CTX "users:\n- name: u\n  user:\n    exec: {apiVersion: "
                 "client.authentication.k8s.io/v1, command: x, args: [1]}\n",
     {"users[\"u\"]", "exec: args[0]: expected a string", NULL}},
    {"basic auth",
     HEAD CL CTX "users:\n- name: u\n  user: {username: admin, password: secret}\n",
     {"users[\"u\"]", "basic authentication", NULL}},
    {"auth provider",
     HEAD CL CTX "users:\n- name: u\n  user: {auth-provider: {name: gcp}}\n",
     {"users[\"u\"]", "auth-provider is not supported", NULL}},
    {"insecure with CA",
     HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: true, "
          "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==}\n" CTX
          "users: [{name: u}]\n",
     {"clusters[\"c\"]", "insecure-skip-tls-verify cannot be combined", NULL}},
    {"duplicate key",
     HEAD "current-context: a\ncurrent-context: b\n",
     {"kubeconfig T", "duplicate key \"current-context\"", NULL}},
    {"yaml alias",
     HEAD "clusters:\n- &x {name: c, cluster: {server: 'https://h'}}\n- *x\n",
     {"kubeconfig T", "aliases are not supported", NULL}},
    {"empty", "", {"kubeconfig T", "no current-context", NULL}},
    {"top is a list", "- a\n- b\n", {"kubeconfig T", "expected a mapping at the top", NULL}},
    {"server wrong type",
     HEAD "clusters:\n- name: c\n  cluster: {server: 42}\n" CTX "users: [{name: u}]\n",
     {"clusters[\"c\"]", "server: expected a string, got a number", NULL}},
    {"entry without name",
     HEAD "clusters:\n- cluster: {server: 'https://h'}\n",
     {"clusters[0]", "name: missing", NULL}},
    {"client key file missing",
     HEAD CL CTX "users:\n- name: u\n  user: {client-certificate: c.crt, client-key: k.key}\n",
     {"users[\"u\"]", "client-certificate: cannot read /nonexistent/c.crt", NULL}},
};

static void test_malformed(struct test_ctx *t)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];
        struct kube_rest_config cfg;
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code rc = from_mem(b->yaml, NULL, &cfg, &err);
        CHECKF(t, rc == KUBE_E_CONFIG || rc == KUBE_E_IO, "%s: accepted (%s)", b->what,
               kube_code_name(rc));
        for (int k = 0; k < 3 && b->want[k] && rc != KUBE_OK; k++)
            CHECKF(t, err.message && strstr(err.message, b->want[k]),
                   "%s: message \"%s\" lacks \"%s\"", b->what, err.message, b->want[k]);
        if (rc == KUBE_OK)
            kube_rest_config_free(&cfg);
        kube_error_clear(&err);
    }
}

static void test_missing_files(struct test_ctx *t)
{
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    struct kube_config_options o = {"/nonexistent/kubeconfig", NULL, NULL, NULL};
    CHECK(t, kube_config_load(&o, &cfg, &err) == KUBE_E_IO);
    CHECK_CONTAINS(t, err.message, "kubeconfig /nonexistent/kubeconfig: No such file");
    struct kube_config_options e = {NULL, NULL, "/nonexistent/a:/nonexistent/b", NULL};
    CHECK(t, kube_config_load(&e, &cfg, &err) == KUBE_E_IO);
    CHECK_CONTAINS(t, err.message, "none of these files exists");
    struct kube_config_options n = {NULL, NULL, NULL, NULL};
    CHECK(t, kube_config_load(&n, &cfg, &err) == KUBE_E_CONFIG);
    const char *mem =
        HEAD CL "users:\n- name: u\n  user: {client-certificate: c.crt, client-key: k}\n" CTX;
    CHECK(t, kube_config_from_memory(mem, strlen(mem), "secret ns/s key kubeconfig", NULL, NULL,
                                     &cfg, &err) == KUBE_E_CONFIG);
    CHECK_CONTAINS(t, err.message,
                   "secret ns/s key kubeconfig: users[\"u\"]: client-certificate: "
                   "file references are not allowed here");
    kube_error_clear(&err);
}

static void test_secrets_not_in_messages(struct test_ctx *t)
{
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    const char *doc = HEAD CL CTX "users:\n- name: u\n  user: {token: sup3r-s3cret, "
                                  "client-key-data: c3VwM3ItczNjcmV0LWtleQ==}\n";
    CHECK(t, from_mem(doc, NULL, &cfg, &err) == KUBE_E_CONFIG);
    CHECK(t, err.message && !strstr(err.message, "sup3r") && !strstr(err.message, "c3VwM3I"));
    kube_error_clear(&err);
}

/* A member's kubeconfig Secret is data: every field that reads one of the operator's
 * files or runs a program is refused unless allowed, the message names the Secret and
 * the field, and inline data stays fine (issue 31). */
static void test_untrusted_refusals(struct test_ctx *t)
{
    static const struct {
        const char *user, *cluster_extra, *field;
        unsigned allow; /* what allows it */
    } cases[] = {
        {"{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}", "",
         "users[\"u\"].user.tokenFile", KUBE_CONFIG_ALLOW_FILES},
        {"{exec: {apiVersion: client.authentication.k8s.io/v1, command: /tmp/x}}", "",
         "users[\"u\"].user.exec", KUBE_CONFIG_ALLOW_EXEC},
        {"{client-certificate: /etc/c.crt, client-key: /etc/c.key}", "",
         "users[\"u\"].user.client-certificate", KUBE_CONFIG_ALLOW_FILES},
        {"{client-certificate-data: eA==, client-key: /etc/c.key}", "",
         "users[\"u\"].user.client-key", KUBE_CONFIG_ALLOW_FILES},
        {"{token: abc}", ", certificate-authority: /etc/ca.crt",
         "clusters[\"c\"].cluster.certificate-authority", KUBE_CONFIG_ALLOW_FILES},
        {"{auth-provider: {name: gcp}}", "", "users[\"u\"].user.auth-provider", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf doc = STRBUF_INIT;
        strbuf_addf(&doc,
                    HEAD "clusters:\n- name: c\n  cluster: {server: 'https://elsewhere'%s}\n"
                         "users:\n- name: u\n  user: %s\n" CTX,
                    cases[i].cluster_extra, cases[i].user);
        struct kube_rest_config cfg;
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code rc = kube_config_from_untrusted(
            doc.buf, doc.len, "Secret eastwest-system/eu-kc key kubeconfig", 0, NULL, &cfg, &err);
        CHECKF(t, rc == KUBE_E_CONFIG, "case %zu: refused by default (got %d)", i, rc);
        CHECKF(t, err.reason && strcmp(err.reason, KUBE_CONFIG_REFUSED) == 0, "case %zu: reason %s",
               i, err.reason ? err.reason : "(none)");
        CHECK_CONTAINS(t, err.message, "Secret eastwest-system/eu-kc key kubeconfig");
        CHECK_CONTAINS(t, err.message, cases[i].field);
        CHECK(t, cfg.token_file == NULL && cfg.exec == NULL && cfg.server == NULL);
        kube_error_clear(&err);
        /* allowed by its flag: the file field is then read (and missing), or accepted */
        rc = kube_config_from_untrusted(doc.buf, doc.len, "s", cases[i].allow, NULL, &cfg, &err);
        if (cases[i].allow)
            CHECKF(t, !err.reason || strcmp(err.reason, KUBE_CONFIG_REFUSED) != 0,
                   "case %zu: allowed, not refused: %s", i, err.message);
        kube_rest_config_free(&cfg);
        kube_error_clear(&err);
        strbuf_release(&doc);
    }
    /* allowed: the token file and the plugin are taken as before */
    const char *tok = HEAD CL "users:\n- name: u\n  user: {tokenFile: /run/t}\n" CTX;
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t,
             kube_config_from_untrusted(tok, strlen(tok), "s", KUBE_CONFIG_ALLOW_FILES, NULL, &cfg,
                                        &err) == KUBE_OK,
             "%s", err.message);
    CHECK_STR(t, cfg.token_file, "/run/t");
    kube_rest_config_free(&cfg);
    /* a relative path has no directory to be relative to */
    const char *rel = HEAD CL "users:\n- name: u\n  user: {tokenFile: token}\n" CTX;
    CHECK(t, kube_config_from_untrusted(rel, strlen(rel), "s", KUBE_CONFIG_ALLOW_FILES, NULL, &cfg,
                                        &err) == KUBE_E_CONFIG);
    CHECK_CONTAINS(t, err.message, "relative path");
    kube_error_clear(&err);
    /* inline data is always fine */
    const char *inl = HEAD CL "users:\n- name: u\n  user: {token: abc}\n" CTX;
    REQUIREF(t, kube_config_from_untrusted(inl, strlen(inl), "s", 0, NULL, &cfg, &err) == KUBE_OK,
             "%s", err.message);
    CHECK_SECRET_STR(t, cfg.token, "abc");
    kube_rest_config_free(&cfg);
}

static const struct test_case cases[] = {
    {"data_fields", test_data_fields},
    {"file_fields_relative", test_file_fields_relative},
    {"token_and_exec", test_token_and_exec},
    {"kubeconfig_env_merge", test_kubeconfig_env_merge},
    {"precedence_and_home", test_precedence_and_home},
    {"in_cluster", test_in_cluster},
    {"malformed", test_malformed},
    {"missing_files", test_missing_files},
    {"secrets_not_in_messages", test_secrets_not_in_messages},
    {"untrusted_refusals", test_untrusted_refusals},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
