/*
 * test_ca.c: the mesh CA: a root and per-cluster intermediates that chain to
 * it (OpenSSL's verifier), carry the extensions istiod needs, differ per
 * cluster, never outlive the root; and inspection catches what is not a CA,
 * expired, or paired with the wrong key.
 */
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

static const struct test_case cases[] = {
    {"root_and_intermediates_chain", test_root_and_intermediates_chain},
    {"intermediate_extensions", test_intermediate_extensions},
    {"rsa_and_capped_validity", test_rsa_and_capped_validity},
    {"inspect_problems", test_inspect_problems},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
