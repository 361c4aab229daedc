/*
 * test_ca.c: the mesh CA: a root and per-cluster intermediates that chain to
 * it (OpenSSL's verifier), carry the extensions istiod needs, differ per
 * cluster, never outlive the root; and inspection catches what is not a CA
 * (a v1 certificate, keyCertSign without basicConstraints: issue 32), expired, or
 * paired with the wrong key; and what cannot be the mesh root (not self-signed,
 * pathlen:0) is told apart.
 */
#include "certgen.h"
#include "harness.h"
#include "mesh/ca.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define YEAR (365.0 * 24 * 3600)

static X509 *parse(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return c;
}

static void test_root_and_intermediates_chain(struct test_ctx *t)
{
    struct mesh_keypair root, us, eu;
    struct mesh_problem p;
    struct mesh_cert_info ri, ui, ei;
    mesh_problem_init(&p);
    REQUIREF(t,
             mesh_ca_generate_root(MESH_KEY_ECDSA_P256, 10 * YEAR, "training-mesh", &root, &p) ==
                 MESH_OK,
             "%s", p.message.buf);
    REQUIRE(t,
            mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, YEAR, "us", &us, &p) == MESH_OK);
    REQUIRE(t,
            mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, YEAR, "eu", &eu, &p) == MESH_OK);
    CHECKF(t, mesh_ca_verify_chain(us.cert_pem, root.cert_pem, &p) == MESH_OK, "%s", p.message.buf);
    CHECKF(t, mesh_ca_verify_chain(eu.cert_pem, root.cert_pem, &p) == MESH_OK, "%s", p.message.buf);
    CHECK(t, mesh_ca_inspect(root.cert_pem, root.key_pem, &ri, &p) == MESH_OK);
    CHECK(t, mesh_ca_inspect(us.cert_pem, us.key_pem, &ui, &p) == MESH_OK);
    CHECK(t, mesh_ca_inspect(eu.cert_pem, eu.key_pem, &ei, &p) == MESH_OK);
    CHECK(t, strcmp(ui.sha256, ei.sha256) != 0 && strcmp(us.key_pem, eu.key_pem) != 0);
    CHECK(t, strlen(ri.sha256) == 64);
    CHECK_CONTAINS(t, ui.subject, "O=Istio");
    CHECK_CONTAINS(t, ui.subject, "L=us");
    CHECK_CONTAINS(t, ui.subject, "CN=Intermediate CA");
    CHECK(t, ui.not_after - time(NULL) > YEAR - 3600 && ui.not_after <= ri.not_after);
    /* another mesh's root does not verify these */
    struct mesh_keypair other;
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, YEAR, "other", &other, &p) == MESH_OK);
    CHECK(t, mesh_ca_verify_chain(us.cert_pem, other.cert_pem, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "ChainInvalid");
    mesh_keypair_release(&other);
    mesh_keypair_release(&root);
    mesh_keypair_release(&us);
    mesh_keypair_release(&eu);
    mesh_problem_release(&p);
}

static void test_intermediate_extensions(struct test_ctx *t)
{
    struct mesh_keypair root, in;
    struct mesh_problem p;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, YEAR, "m", &root, &p) == MESH_OK);
    REQUIRE(t,
            mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, YEAR, "eu", &in, &p) == MESH_OK);
    X509 *c = parse(in.cert_pem);
    REQUIRE(t, c != NULL);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(c, NID_basic_constraints, &crit, NULL);
    CHECK(t, bc && bc->ca && crit == 1);
    CHECK(t, bc && bc->pathlen && ASN1_INTEGER_get(bc->pathlen) == 0);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(c, NID_key_usage, &crit, NULL);
    CHECK(t, ku && crit == 1);
    CHECK(t, X509_get_key_usage(c) == (KU_KEY_CERT_SIGN | KU_DIGITAL_SIGNATURE));
    ASN1_BIT_STRING_free(ku);
    GENERAL_NAMES *san = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
    REQUIRE(t, san && sk_GENERAL_NAME_num(san) == 1);
    GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, 0);
    CHECK(t, gn->type == GEN_DNS);
    CHECK_STR(t, (const char *)ASN1_STRING_get0_data(gn->d.dNSName), "istiod.istio-system.svc");
    GENERAL_NAMES_free(san);
    /* the root has a subjectKeyIdentifier: the intermediate names it by keyid */
    AUTHORITY_KEYID *akid = X509_get_ext_d2i(c, NID_authority_key_identifier, NULL, NULL);
    CHECK(t, akid && akid->keyid && !akid->issuer);
    AUTHORITY_KEYID_free(akid);
    X509_free(c);
    mesh_keypair_release(&root);
    mesh_keypair_release(&in);
    mesh_problem_release(&p);
}

static void test_rsa_and_capped_validity(struct test_ctx *t)
{
    struct mesh_keypair root, in;
    struct mesh_problem p;
    struct mesh_cert_info ri, ii;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_RSA_3072, YEAR, "m", &root, &p) == MESH_OK);
    /* asks for 10 years under a 1-year root: capped at the root's expiry */
    REQUIRE(t, mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, 10 * YEAR, "us", &in, &p) ==
                   MESH_OK);
    CHECK(t, mesh_ca_inspect(root.cert_pem, root.key_pem, &ri, &p) == MESH_OK);
    CHECK(t, mesh_ca_inspect(in.cert_pem, NULL, &ii, &p) == MESH_OK);
    CHECK(t, ii.not_after == ri.not_after);
    CHECK(t, mesh_ca_verify_chain(in.cert_pem, root.cert_pem, &p) == MESH_OK);
    CHECK_SECRET_CONTAINS(t, root.key_pem, "BEGIN PRIVATE KEY");
    mesh_keypair_release(&root);
    mesh_keypair_release(&in);
    mesh_problem_release(&p);
}

static void test_inspect_problems(struct test_ctx *t)
{
    struct mesh_keypair a, b;
    struct mesh_problem p;
    struct mesh_cert_info info;
    mesh_problem_init(&p);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, YEAR, "a", &a, &p) == MESH_OK);
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, YEAR, "b", &b, &p) == MESH_OK);
    CHECK(t, mesh_ca_inspect(a.cert_pem, b.key_pem, &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "KeyMismatch");
    CHECK(t, mesh_ca_inspect("garbage", NULL, &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "InvalidCertificate");
    CHECK(t, mesh_ca_inspect(a.cert_pem, "not a key", &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "InvalidKey");
    /* a truncated certificate */
    const char *truncated = "-----BEGIN CERTIFICATE-----\n"
                            "MIIBeDCCAR6gAwIBAgIUJ8n3fGgQ9l3oB0Yd6tAJHm6ZSUswCgYIKoZIzj0EAwIw\n"
                            "-----END CERTIFICATE-----\n";
    CHECK(t, mesh_ca_inspect(truncated, NULL, &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "InvalidCertificate");
    /* an expired CA: generated with a validity in the past */
    struct mesh_keypair old;
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, -3600, "old", &old, &p) == MESH_OK);
    CHECK(t, mesh_ca_inspect(old.cert_pem, NULL, &info, &p) == MESH_E_INVALID);
    CHECK_STR(t, p.reason, "CertificateExpired");
    mesh_keypair_release(&old);
    mesh_keypair_release(&a);
    mesh_keypair_release(&b);
    mesh_problem_release(&p);
}

/* Issue 32: X509_check_ca says yes to a self-signed v1 certificate and to keyUsage
 * keyCertSign without basicConstraints; neither is a CA to eastwest, and the problem
 * names the defect. */
static void test_inspect_wants_basic_constraints(struct test_ctx *t)
{
    struct mesh_keypair v1, ku, bc;
    struct mesh_problem p;
    struct mesh_cert_info info;
    mesh_problem_init(&p);
    const char *const ku_only[] = {"keyUsage=critical,keyCertSign,cRLSign", NULL};
    const char *const bc_ok[] = {"basicConstraints=critical,CA:TRUE", NULL};
    REQUIRE(t, certgen_make(&(struct certgen_spec){.cn = "v1 root", .v1 = 1, .validity = YEAR},
                            &v1) == 0);
    REQUIRE(t,
            certgen_make(&(struct certgen_spec){.cn = "ku root", .exts = ku_only, .validity = YEAR},
                         &ku) == 0);
    REQUIRE(t,
            certgen_make(&(struct certgen_spec){.cn = "bc root", .exts = bc_ok, .validity = YEAR},
                         &bc) == 0);
    CHECKF(t, mesh_ca_inspect(v1.cert_pem, v1.key_pem, &info, &p) == MESH_E_INVALID,
           "a v1 certificate accepted as a CA");
    CHECK_STR(t, p.reason, "NotACertificateAuthority");
    CHECK_CONTAINS(t, p.message.buf, "v1");
    CHECK_CONTAINS(t, p.message.buf, "CN=v1 root");
    CHECKF(t, mesh_ca_inspect(ku.cert_pem, ku.key_pem, &info, &p) == MESH_E_INVALID,
           "keyCertSign without basicConstraints accepted as a CA");
    CHECK_STR(t, p.reason, "NotACertificateAuthority");
    CHECK_CONTAINS(t, p.message.buf, "keyCertSign but no basicConstraints CA:TRUE");
    /* basicConstraints CA:TRUE without keyUsage is a CA */
    CHECKF(t, mesh_ca_inspect(bc.cert_pem, bc.key_pem, &info, &p) == MESH_OK, "%s", p.message.buf);
    CHECK(t, info.is_ca);
    mesh_keypair_release(&v1);
    mesh_keypair_release(&ku);
    mesh_keypair_release(&bc);
    mesh_problem_release(&p);
}

/* Issue 32: the mesh root must be self-signed and allow an intermediate below it. */
static void test_check_root(struct test_ctx *t)
{
    struct mesh_keypair root, corp, inter, pl0;
    struct mesh_problem p;
    char *canon = NULL;
    mesh_problem_init(&p);
    const char *const ca[] = {"basicConstraints=critical,CA:TRUE",
                              "keyUsage=critical,keyCertSign,cRLSign", NULL};
    const char *const ca0[] = {"basicConstraints=critical,CA:TRUE,pathlen:0",
                               "keyUsage=critical,keyCertSign,cRLSign", NULL};
    REQUIRE(t, mesh_ca_generate_root(MESH_KEY_ECDSA_P256, YEAR, "m", &root, &p) == MESH_OK);
    CHECKF(t, mesh_ca_check_root(root.cert_pem, &canon, &p) == MESH_OK, "%s", p.message.buf);
    CHECK(t, canon && strcmp(canon, root.cert_pem) == 0);
    free(canon);
    /* the user's PKI: a corporate root and an intermediate of it */
    REQUIRE(t, certgen_make(&(struct certgen_spec){.cn = "corp root", .exts = ca, .validity = YEAR},
                            &corp) == 0);
    REQUIRE(t, certgen_make(
                   &(struct certgen_spec){
                       .cn = "corp mesh CA", .exts = ca, .issuer = &corp, .validity = YEAR},
                   &inter) == 0);
    CHECK(t, mesh_ca_check_root(inter.cert_pem, &canon, &p) == MESH_E_INVALID && !canon);
    CHECK_STR(t, p.reason, "RootNotSelfSigned");
    CHECK_CONTAINS(t, p.message.buf, "CN=corp mesh CA is not self-signed");
    CHECK_CONTAINS(t, p.message.buf, "its issuer is /O=Test/CN=corp root");
    REQUIRE(t, certgen_make(&(struct certgen_spec){.cn = "pathlen0", .exts = ca0, .validity = YEAR},
                            &pl0) == 0);
    CHECK(t, mesh_ca_check_root(pl0.cert_pem, &canon, &p) == MESH_E_INVALID && !canon);
    CHECK_STR(t, p.reason, "RootPathLenZero");
    /* a bundle: the first certificate, canonical */
    char *two = malloc(strlen(corp.cert_pem) + strlen(inter.cert_pem) + 1);
    strcpy(two, corp.cert_pem);
    strcat(two, inter.cert_pem);
    CHECK(t, mesh_ca_pem_count(two) == 2 && mesh_ca_pem_count("junk") == 0);
    CHECK(t, mesh_ca_check_root(two, &canon, &p) == MESH_OK && canon &&
                 strcmp(canon, corp.cert_pem) == 0);
    free(canon);
    free(two);
    mesh_keypair_release(&root);
    mesh_keypair_release(&corp);
    mesh_keypair_release(&inter);
    mesh_keypair_release(&pl0);
    mesh_problem_release(&p);
}

static const struct test_case cases[] = {
    {"root_and_intermediates_chain", test_root_and_intermediates_chain},
    {"intermediate_extensions", test_intermediate_extensions},
    {"rsa_and_capped_validity", test_rsa_and_capped_validity},
    {"inspect_problems", test_inspect_problems},
    {"inspect_wants_basic_constraints", test_inspect_wants_basic_constraints},
    {"check_root", test_check_root},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
