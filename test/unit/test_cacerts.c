/*
 * test_cacerts.c: the decisions about a member's cacerts Secret (issue, keep,
 * renew, leave a foreign one alone, adopt it when asked) and the root Secret
 * round trip; and (issue 32) that a root eastwest accepts never makes a write loop
 * (an intermediate of the user's PKI, a v1 or keyCertSign-only certificate are
 * refused, naming the Secret), that cert-chain.pem is checked against the root, and
 * that root-cert.pem must be the mesh root alone. The one thing whose loss breaks every workload's
 * identity gets each of its branches checked.
 */
#include "certgen.h"
#include "harness.h"
#include "mesh/cacerts.h"
#include "mesh/objects.h"
#include "base/base64.h"
#include "base/timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY (24.0 * 3600)

struct fixture {
    struct mesh_network net;
    struct mesh_keypair root;
    struct mesh_cert_info root_info;
};

static void setup(struct test_ctx *t, struct fixture *f)
{
    const char *json =
        "{\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u-1\",\"generation\":1},"
        "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
        "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\"},"
        "{\"name\":\"eu\",\"network\":\"eu-net\"}]}}";
    cJSON *j = cJSON_Parse(json);
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_network_parse(j, &f->net, &p) == MESH_OK);
    cJSON_Delete(j);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650 * DAY, "training-mesh", &f->root,
                                     &p) == MESH_OK);
    REQUIRE(t, mesh_ca_inspect(f->root.cert_pem, f->root.key_pem, &f->root_info, &p) == MESH_OK);
    mesh_problem_release(&p);
}

static void teardown(struct fixture *f)
{
    mesh_network_release(&f->net);
    mesh_keypair_release(&f->root);
}

static cJSON *issued(struct test_ctx *t, struct fixture *f, const struct mesh_keypair *root,
                     double validity)
{
    struct mesh_keypair inter;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_issue_intermediate(root, MESH_KEY_ECDSA_P256, validity, "eu", &inter, &p) ==
                   MESH_OK);
    mesh_problem_release(&p);
    cJSON *s = mesh_build_cacerts(&f->net, root->cert_pem, &inter);
    mesh_keypair_release(&inter);
    return s;
}

static void decide(struct fixture *f, const cJSON *live, struct mesh_cacerts_decision *d)
{
    mesh_cacerts_decide(live, &f->net, "eu", f->root.cert_pem, &f->root_info, time(NULL), d);
}

static void test_missing_is_issued(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_cacerts_decision d;
    decide(&f, NULL, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Missing") == 0);
    mesh_cacerts_decision_release(&d);
    teardown(&f);
}

static void test_ours_is_kept_then_renewed(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    cJSON *s = issued(t, &f, &f.root, 365 * DAY);
    struct mesh_cacerts_decision d;
    decide(&f, s, &d);
    CHECKF(t, d.verdict == MESH_CACERTS_KEEP, "%s: %s", d.why.reason, d.why.message.buf);
    CHECK(t, d.not_after > time(NULL) + 364 * 24 * 3600);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* valid for 10 days, renewBefore 30 days (720h default): renew */
    s = issued(t, &f, &f.root, 10 * DAY);
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Renewal") == 0);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    teardown(&f);
}

static void test_ours_but_broken_is_reissued(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_keypair other;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650 * DAY, "x", &other, &p) == MESH_OK);
    /* the mesh root in root-cert.pem, but an intermediate of another root */
    struct mesh_keypair inter;
    REQUIRE(t, mesh_ca_issue_intermediate(&other, MESH_KEY_ECDSA_P256, 365 * DAY, "eu", &inter,
                                          &p) == MESH_OK);
    cJSON *s = mesh_build_cacerts(&f.net, f.root.cert_pem, &inter);
    mesh_keypair_release(&inter);
    struct mesh_cacerts_decision d;
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Invalid") == 0);
    CHECK(t, strstr(d.why.message.buf, "does not chain to the mesh root") != NULL);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* broken data in a Secret of ours */
    s = issued(t, &f, &f.root, 365 * DAY);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(s, "data"), "ca-key.pem",
                              cJSON_CreateString("!!not base64!!"));
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Invalid") == 0);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    mesh_keypair_release(&other);
    mesh_problem_release(&p);
    teardown(&f);
}

static void test_foreign_left_alone_unless_adopted(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    cJSON *s = cJSON_Parse("{\"metadata\":{\"name\":\"cacerts\",\"namespace\":\"istio-system\"},"
                           "\"data\":{\"ca-cert.pem\":\"bm90IGEgY2VydA==\"}}");
    struct mesh_cacerts_decision d;
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_FOREIGN && strcmp(d.why.reason, "ForeignCACerts") == 0);
    CHECK(t, strstr(d.why.message.buf, "cluster eu") && strstr(d.why.message.buf, "adoptExisting"));
    mesh_cacerts_decision_release(&d);
    /* ours for another mesh is foreign too */
    cJSON *other = issued(t, &f, &f.root, 365 * DAY);
    mesh_object_set_label(other, MESH_LABEL_MESH, "another-mesh");
    decide(&f, other, &d);
    CHECK(t, d.verdict == MESH_CACERTS_FOREIGN);
    mesh_cacerts_decision_release(&d);
    f.net.ca.adopt_existing = 1;
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Adopt") == 0);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(other);
    cJSON_Delete(s);
    teardown(&f);
}

/* A root inside its last renewBefore: an intermediate can never outlive it, so any new one
 * would be due for renewal at once. Reissuing on every reconcile was a cacerts write per
 * second in every member; the intermediate is kept and the expiring root reported. */
static void test_root_expiring_is_reported_not_reissued(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_keypair root;
    struct mesh_cert_info ri;
    struct mesh_problem p;
    mesh_problem_init(&p);
    /* 10 days left, renewBefore 30 days (720h default) */
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 10 * DAY, "training-mesh", &root, &p) ==
                   MESH_OK);
    REQUIRE(t, mesh_ca_inspect(root.cert_pem, root.key_pem, &ri, &p) == MESH_OK);
    mesh_problem_release(&p);
    char until[32];
    ew_time_format_rfc3339(ri.not_after, until, sizeof(until));
    CHECK(t, mesh_root_expiring(&f.net, "eu", &ri, time(NULL), NULL));
    CHECK(t, !mesh_root_expiring(&f.net, "eu", &f.root_info, time(NULL), NULL));
    struct mesh_cacerts_decision d;
    /* nothing there yet: one is issued (capped at the root's expiry) */
    mesh_cacerts_decide(NULL, &f.net, "eu", root.cert_pem, &ri, time(NULL), &d);
    CHECKF(t, d.verdict == MESH_CACERTS_ISSUE, "verdict %d (%s)", d.verdict, d.why.reason);
    mesh_cacerts_decision_release(&d);
    /* the one just issued: kept, and the root reported with its expiry */
    cJSON *s = issued(t, &f, &root, 365 * DAY);
    mesh_cacerts_decide(s, &f.net, "eu", root.cert_pem, &ri, time(NULL), &d);
    CHECKF(t, d.verdict == MESH_CACERTS_KEEP, "verdict %d (%s: %s)", d.verdict, d.why.reason,
           d.why.message.buf);
    CHECK_STR(t, d.why.reason, "RootExpiring");
    CHECK_CONTAINS(t, d.why.message.buf, until);
    CHECK_CONTAINS(t, d.why.message.buf, "cluster eu");
    CHECK(t, d.not_after == ri.not_after);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* an older one of ours that expires before the root stays too (still valid) */
    s = issued(t, &f, &root, 5 * DAY);
    mesh_cacerts_decide(s, &f.net, "eu", root.cert_pem, &ri, time(NULL), &d);
    CHECKF(t, d.verdict == MESH_CACERTS_KEEP, "verdict %d (%s: %s)", d.verdict, d.why.reason,
           d.why.message.buf);
    CHECK_STR(t, d.why.reason, "RootExpiring");
    CHECK(t, d.not_after < ri.not_after);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* with renewBefore 5 days the same root is not expiring yet: the usual renewal */
    f.net.ca.renew_before = 5 * DAY;
    s = issued(t, &f, &root, 2 * DAY);
    mesh_cacerts_decide(s, &f.net, "eu", root.cert_pem, &ri, time(NULL), &d);
    CHECKF(t, d.verdict == MESH_CACERTS_ISSUE, "verdict %d (%s)", d.verdict, d.why.reason);
    CHECK_STR(t, d.why.reason, "Renewal");
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    mesh_keypair_release(&root);
    teardown(&f);
}

/* Labels are easy to copy: a cacerts is eastwest's when it also carries the owner
 * annotation and holds the mesh root. One written for an earlier MeshNetwork of the same
 * name (onDelete: Retain, then created again: another UID, the same root) is still ours. */
static void test_foreign_with_our_labels_left_alone(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_keypair other;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650 * DAY, "x", &other, &p) == MESH_OK);
    mesh_problem_release(&p);
    struct mesh_cacerts_decision d;
    /* eastwest's labels and owner annotation, another root */
    cJSON *s = issued(t, &f, &other, 365 * DAY);
    decide(&f, s, &d);
    CHECKF(t, d.verdict == MESH_CACERTS_FOREIGN, "verdict %d (%s: %s)", d.verdict, d.why.reason,
           d.why.message.buf);
    CHECK_STR(t, d.why.reason, "ForeignCACerts");
    CHECK_CONTAINS(t, d.why.message.buf, "cluster eu");
    CHECK_CONTAINS(t, d.why.message.buf, "root-cert.pem");
    CHECK_CONTAINS(t, d.why.message.buf, "adoptExisting");
    mesh_cacerts_decision_release(&d);
    /* adoptExisting still takes it over */
    f.net.ca.adopt_existing = 1;
    decide(&f, s, &d);
    CHECK(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Adopt") == 0);
    mesh_cacerts_decision_release(&d);
    f.net.ca.adopt_existing = 0;
    cJSON_Delete(s);
    /* the mesh root and a sound intermediate, the labels, but no owner annotation */
    s = issued(t, &f, &f.root, 365 * DAY);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(s, "metadata"), "annotations");
    decide(&f, s, &d);
    CHECKF(t, d.verdict == MESH_CACERTS_FOREIGN, "verdict %d (%s: %s)", d.verdict, d.why.reason,
           d.why.message.buf);
    CHECK_CONTAINS(t, d.why.message.buf, MESH_ANNOTATION_OWNER);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* written for an earlier MeshNetwork training-mesh (another UID), same root: kept */
    s = issued(t, &f, &f.root, 365 * DAY);
    mesh_object_set_annotation(s, MESH_ANNOTATION_OWNER, "u-0-an-earlier-one");
    decide(&f, s, &d);
    CHECKF(t, d.verdict == MESH_CACERTS_KEEP, "verdict %d (%s: %s)", d.verdict, d.why.reason,
           d.why.message.buf);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    mesh_keypair_release(&other);
    teardown(&f);
}

static void test_layout_and_root_secret(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    cJSON *s = issued(t, &f, &f.root, 365 * DAY);
    const char *keys[] = {"root-cert.pem", "ca-cert.pem", "ca-key.pem", "cert-chain.pem"};
    struct strbuf v = STRBUF_INIT, inter = STRBUF_INIT;
    for (size_t i = 0; i < 4; i++)
        CHECKF(t, mesh_secret_data(s, keys[i], &v), "no %s", keys[i]);
    /* cert-chain.pem: the intermediate, then the root */
    CHECK(t, mesh_secret_data(s, "ca-cert.pem", &inter));
    CHECK(t, mesh_secret_data(s, "cert-chain.pem", &v));
    CHECK(t, strncmp(v.buf, inter.buf, inter.len) == 0);
    CHECK(t, strstr(v.buf, f.root.cert_pem) != NULL);
    CHECK(t, mesh_ca_pem_contains(v.buf, f.root_info.sha256));
    mesh_secret_wipe(&v);
    strbuf_release(&inter);
    cJSON_Delete(s);
    /* the root Secret reads back; a broken one is named in the problem */
    cJSON *rs = mesh_build_root_secret(&f.net, "eastwest-system", &f.root);
    struct mesh_keypair back;
    struct mesh_cert_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    CHECK(t, mesh_root_from_secret(rs, "Secret eastwest-system/training-mesh-root-ca", &back, &info,
                                   &p) == MESH_OK);
    CHECK(t, strcmp(info.sha256, f.root_info.sha256) == 0);
    mesh_keypair_release(&back);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(rs, "data"), "tls.key");
    CHECK(t, mesh_root_from_secret(rs, "Secret eastwest-system/mine", &back, &info, &p) != MESH_OK);
    CHECK(t, strcmp(p.reason, "RootSecretInvalid") == 0 &&
                 strstr(p.message.buf, "eastwest-system/mine") && strstr(p.message.buf, "tls.key"));
    mesh_problem_release(&p);
    cJSON_Delete(rs);
    teardown(&f);
}

static void set_rv(cJSON *obj, const char *rv)
{
    cJSON *meta = cJSON_GetObjectItem(obj, "metadata");
    cJSON_DeleteItemFromObject(meta, "resourceVersion");
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
}

/* The memo answers for the same Secret version, root and settings until the verdict could
 * turn with time; any of them changing asks for a new decision; an ISSUE is not kept. */
static void test_memo_answers_only_for_what_it_read(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    cJSON *s = issued(t, &f, &f.root, 365 * DAY);
    set_rv(s, "41");
    struct mesh_cacerts_decision d, got;
    decide(&f, s, &d);
    REQUIRE(t, d.verdict == MESH_CACERTS_KEEP);
    struct mesh_cacerts_memo m = {0};
    time_t now = time(NULL);
    mesh_cacerts_memo_put(&m, s, &f.net, &f.root_info, now, &d);
    REQUIRE(t, mesh_cacerts_memo_get(&m, s, &f.net, &f.root_info, now + 10, &got) == 1);
    CHECK(t, got.verdict == MESH_CACERTS_KEEP && got.not_after == d.not_after);
    mesh_cacerts_decision_release(&got);
    CHECK(t, mesh_cacerts_memo_get(&m, s, &f.net, &f.root_info, now + 301, &got) == 0);
    f.net.ca.adopt_existing = 1;
    CHECK(t, mesh_cacerts_memo_get(&m, s, &f.net, &f.root_info, now, &got) == 0);
    f.net.ca.adopt_existing = 0;
    struct mesh_cert_info other = f.root_info;
    other.sha256[0] = other.sha256[0] == 'a' ? 'b' : 'a';
    CHECK(t, mesh_cacerts_memo_get(&m, s, &f.net, &other, now, &got) == 0);
    set_rv(s, "42");
    CHECK(t, mesh_cacerts_memo_get(&m, s, &f.net, &f.root_info, now, &got) == 0);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    /* due for renewal in 5 days' time (valid 35 days, renewBefore 30): kept until then */
    s = issued(t, &f, &f.root, 35 * DAY);
    set_rv(s, "43");
    decide(&f, s, &d);
    REQUIRE(t, d.verdict == MESH_CACERTS_KEEP);
    mesh_cacerts_memo_put(&m, s, &f.net, &f.root_info, now, &d);
    CHECK(t, m.until <= d.not_after - (time_t)f.net.ca.renew_before);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    s = issued(t, &f, &f.root, 10 * DAY); /* Renewal: ISSUE, never kept */
    set_rv(s, "44");
    decide(&f, s, &d);
    REQUIRE(t, d.verdict == MESH_CACERTS_ISSUE);
    mesh_cacerts_memo_put(&m, s, &f.net, &f.root_info, now, &d);
    CHECK(t, mesh_cacerts_memo_get(&m, s, &f.net, &f.root_info, now, &got) == 0);
    mesh_cacerts_decision_release(&d);
    mesh_cacerts_memo_release(&m);
    cJSON_Delete(s);
    teardown(&f);
}

/* Replace data[key] of a Secret with text, base64. */
static void set_data(cJSON *secret, const char *key, const char *text)
{
    struct strbuf b = STRBUF_INIT;
    base64_encode(&b, text, strlen(text));
    cJSON *data = cJSON_GetObjectItem(secret, "data");
    cJSON_DeleteItemFromObject(data, key);
    cJSON_AddStringToObject(data, key, b.buf);
    strbuf_release(&b);
}

static char *concat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

/* Read a root as rootSecretRef would; if accepted, a cacerts issued from it and written as
 * eastwest writes it must be kept on the next reconcile: no root may make a write loop. */
static mesh_code root_then_decide(struct test_ctx *t, struct fixture *f, const char *desc,
                                  const char *cert_pem, const char *key_pem, struct mesh_problem *p)
{
    const struct mesh_keypair given = {(char *)cert_pem, (char *)key_pem};
    cJSON *rs = mesh_build_root_secret(&f->net, "eastwest-system", &given);
    struct mesh_keypair root;
    struct mesh_cert_info info;
    mesh_code rc = mesh_root_from_secret(rs, desc, &root, &info, p);
    cJSON_Delete(rs);
    if (rc != MESH_OK)
        return rc;
    struct mesh_keypair inter;
    REQUIREF(t,
             mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, 365 * DAY, "eu", &inter, p) ==
                 MESH_OK,
             "%s: %s", desc, p->message.buf);
    cJSON *s = mesh_build_cacerts(&f->net, root.cert_pem, &inter);
    struct mesh_cacerts_decision d;
    mesh_cacerts_decide(s, &f->net, "eu", root.cert_pem, &info, time(NULL), &d);
    CHECKF(t, d.verdict == MESH_CACERTS_KEEP,
           "%s accepted as the root, but its own cacerts is not kept (a write loop): %s: %s", desc,
           d.why.reason, d.why.message.buf);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    mesh_keypair_release(&inter);
    mesh_keypair_release(&root);
    return rc;
}

static void test_root_secret_refuses_what_is_no_root(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_problem p;
    mesh_problem_init(&p);
    const char *const ca[] = {"basicConstraints=critical,CA:TRUE",
                              "keyUsage=critical,keyCertSign,cRLSign", NULL};
    const char *const ca_ids[] = {
        "basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid", NULL};
    const char *const ku_only[] = {"keyUsage=critical,keyCertSign,cRLSign", NULL};
    struct mesh_keypair corp, inter, v1, ku, bare;
    REQUIRE(t,
            certgen_make(
                &(struct certgen_spec){.cn = "corp root", .exts = ca_ids, .validity = 3650 * DAY},
                &corp) == 0);
    REQUIRE(t, certgen_make(&(struct certgen_spec){.cn = "corp mesh CA",
                                                   .exts = ca_ids,
                                                   .issuer = &corp,
                                                   .validity = 3650 * DAY},
                            &inter) == 0);
    /* a root without subjectKeyIdentifier: intermediates name it by issuer and serial */
    REQUIRE(t, certgen_make(
                   &(struct certgen_spec){.cn = "bare root", .exts = ca, .validity = 3650 * DAY},
                   &bare) == 0);
    REQUIRE(t, certgen_make(&(struct certgen_spec){.cn = "v1", .v1 = 1, .validity = 3650 * DAY},
                            &v1) == 0);
    REQUIRE(
        t, certgen_make(&(struct certgen_spec){.cn = "ku", .exts = ku_only, .validity = 3650 * DAY},
                        &ku) == 0);
    /* a self-signed root of the user's: accepted, and no loop */
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/corp-root", corp.cert_pem, corp.key_pem,
                            &p) == MESH_OK,
           "%s", p.message.buf);
    /* the same with more after it in tls.crt: the first certificate alone is the root */
    char *two = concat(corp.cert_pem, inter.cert_pem);
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/corp-two", two, corp.key_pem, &p) ==
               MESH_OK,
           "%s", p.message.buf);
    free(two);
    /* an intermediate of the user's PKI: refused, naming the Secret and why */
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/corp-int", inter.cert_pem, inter.key_pem,
                            &p) == MESH_E_INVALID,
           "an intermediate (not self-signed) accepted as the mesh root");
    CHECK_STR(t, p.reason, "RootSecretInvalid");
    CHECK_CONTAINS(t, p.message.buf, "Secret eastwest-system/corp-int: data.tls.crt: ");
    CHECK_CONTAINS(t, p.message.buf, "is not self-signed");
    /* a v1 certificate, and keyCertSign without basicConstraints */
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/v1", v1.cert_pem, v1.key_pem, &p) ==
               MESH_E_INVALID,
           "a v1 certificate accepted as the mesh root");
    CHECK_STR(t, p.reason, "RootSecretInvalid");
    CHECK_CONTAINS(t, p.message.buf, "Secret eastwest-system/v1: data.tls.crt: ");
    CHECK_CONTAINS(t, p.message.buf, "X.509 v1");
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/ku", ku.cert_pem, ku.key_pem, &p) ==
               MESH_E_INVALID,
           "keyCertSign without basicConstraints accepted as the mesh root");
    CHECK_STR(t, p.reason, "RootSecretInvalid");
    CHECK_CONTAINS(t, p.message.buf, "Secret eastwest-system/ku: data.tls.crt: ");
    CHECK_CONTAINS(t, p.message.buf, "keyCertSign but no basicConstraints CA:TRUE");
    CHECKF(t,
           root_then_decide(t, &f, "Secret eastwest-system/bare-root", bare.cert_pem, bare.key_pem,
                            &p) == MESH_OK,
           "%s", p.message.buf);
    mesh_keypair_release(&corp);
    mesh_keypair_release(&inter);
    mesh_keypair_release(&v1);
    mesh_keypair_release(&ku);
    mesh_keypair_release(&bare);
    mesh_problem_release(&p);
    teardown(&f);
}

/* cert-chain.pem must lead from ca-cert.pem to the mesh root. */
static void test_cert_chain_checked(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_keypair other;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650 * DAY, "x", &other, &p) == MESH_OK);
    struct strbuf inter = STRBUF_INIT;
    struct mesh_cacerts_decision d;
    const char *what[] = {"to another root", "the intermediate alone", "another root alone"};
    for (size_t i = 0; i < 3; i++) {
        cJSON *s = issued(t, &f, &f.root, 365 * DAY);
        REQUIRE(t, mesh_secret_data(s, "ca-cert.pem", &inter));
        char *chain = i == 0   ? concat(inter.buf, other.cert_pem)
                      : i == 1 ? concat(inter.buf, "")
                               : concat(other.cert_pem, "");
        set_data(s, "cert-chain.pem", chain);
        free(chain);
        decide(&f, s, &d);
        CHECKF(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Invalid") == 0,
               "cert-chain.pem %s: %s %s", what[i], d.why.reason, d.why.message.buf);
        CHECK_CONTAINS(t, d.why.message.buf, "data.cert-chain.pem");
        mesh_cacerts_decision_release(&d);
        cJSON_Delete(s);
    }
    cJSON *s = issued(t, &f, &f.root, 365 * DAY);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(s, "data"), "cert-chain.pem");
    decide(&f, s, &d);
    CHECKF(t, d.verdict == MESH_CACERTS_ISSUE, "no cert-chain.pem: %s", d.why.reason);
    mesh_cacerts_decision_release(&d);
    cJSON_Delete(s);
    strbuf_release(&inter);
    mesh_keypair_release(&other);
    mesh_problem_release(&p);
    teardown(&f);
}

/* Outside a root rotation root-cert.pem is the mesh root alone: an extra trust anchor in
 * a cacerts of ours is removed (the Secret is rewritten), not kept because the bundle
 * also holds the mesh root. */
static void test_extra_trust_anchor_removed(struct test_ctx *t)
{
    struct fixture f;
    setup(t, &f);
    struct mesh_keypair other;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 3650 * DAY, "x", &other, &p) == MESH_OK);
    const char *order[2][2] = {{f.root.cert_pem, other.cert_pem},
                               {other.cert_pem, f.root.cert_pem}};
    for (size_t i = 0; i < 2; i++) {
        cJSON *s = issued(t, &f, &f.root, 365 * DAY);
        char *bundle = concat(order[i][0], order[i][1]);
        set_data(s, "root-cert.pem", bundle);
        free(bundle);
        struct mesh_cacerts_decision d;
        decide(&f, s, &d);
        CHECKF(t, d.verdict == MESH_CACERTS_ISSUE && strcmp(d.why.reason, "Invalid") == 0,
               "a bundle with an extra root (%zu): %s %s", i, d.why.reason, d.why.message.buf);
        CHECK_CONTAINS(t, d.why.message.buf, "data.root-cert.pem holds 2 certificates");
        mesh_cacerts_decision_release(&d);
        cJSON_Delete(s);
    }
    mesh_keypair_release(&other);
    mesh_problem_release(&p);
    teardown(&f);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"missing_is_issued", test_missing_is_issued},
        {"ours_is_kept_then_renewed", test_ours_is_kept_then_renewed},
        {"ours_but_broken_is_reissued", test_ours_but_broken_is_reissued},
        {"foreign_left_alone_unless_adopted", test_foreign_left_alone_unless_adopted},
        {"root_expiring_is_reported_not_reissued", test_root_expiring_is_reported_not_reissued},
        {"foreign_with_our_labels_left_alone", test_foreign_with_our_labels_left_alone},
        {"layout_and_root_secret", test_layout_and_root_secret},
        {"memo_answers_only_for_what_it_read", test_memo_answers_only_for_what_it_read},
        {"root_secret_refuses_what_is_no_root", test_root_secret_refuses_what_is_no_root},
        {"cert_chain_checked", test_cert_chain_checked},
        {"extra_trust_anchor_removed", test_extra_trust_anchor_removed},
    };
    return TEST_MAIN(cases, argc, argv);
}
