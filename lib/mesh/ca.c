/*
 * ca.c: root and intermediate generation and checks with OpenSSL 3 (see ca.h).
 *
 * Key generation uses EVP_PKEY_Q_keygen; certificates are built with the X509
 * API and signed with SHA-256. Serial numbers are 128 random bits. Every
 * OpenSSL object is freed on every path; PEM output goes through a memory BIO
 * into a malloc'd string the caller owns.
 */
#include "ca.h"

#include "base/timeutil.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mesh_keypair_release(struct mesh_keypair *kp)
{
    free(kp->cert_pem);
    if (kp->key_pem) {
        OPENSSL_cleanse(kp->key_pem, strlen(kp->key_pem));
        free(kp->key_pem);
    }
    kp->cert_pem = kp->key_pem = NULL;
}

static mesh_code ssl_problem(struct mesh_problem *p, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return mesh_problem_set(p, "CertificateError", "%s: %s", what, e ? buf : "failed");
}

static EVP_PKEY *generate_key(enum mesh_key_algorithm alg)
{
    switch (alg) {
    case MESH_KEY_RSA_3072:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    case MESH_KEY_RSA_4096:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    case MESH_KEY_ECDSA_P256:
    default:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
}

static char *bio_string(BIO *b)
{
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = ew_malloc((size_t)len + 1);
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    return s;
}

static int to_pem(X509 *cert, EVP_PKEY *key, struct mesh_keypair *out)
{
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_secmem());
    int ok = cb && kb && PEM_write_bio_X509(cb, cert) &&
             PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    if (ok) {
        out->cert_pem = bio_string(cb);
        out->key_pem = bio_string(kb);
    }
    BIO_free(cb);
    BIO_free(kb);
    return ok;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_serial_and_validity(X509 *cert, double validity)
{
    unsigned char rnd[16];
    BIGNUM *bn = NULL;
    int ok = RAND_bytes(rnd, sizeof(rnd)) == 1;
    rnd[0] &= 0x7f; /* positive */
    if (ok)
        bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
         X509_gmtime_adj(X509_getm_notAfter(cert), (long)validity);
    BN_free(bn);
    return ok;
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, const char *ou, const char *locality,
                      double validity)
{
    X509 *cert = X509_new();
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    int ok = cert && X509_set_version(cert, 2) && set_serial_and_validity(cert, validity) &&
             X509_set_pubkey(cert, key) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Istio",
                                        -1, -1, 0);
    if (ok && ou)
        ok = X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1,
                                        -1, 0);
    if (ok && locality)
        ok = X509_NAME_add_entry_by_txt(name, "L", MBSTRING_UTF8, (const unsigned char *)locality,
                                        -1, -1, 0);
    if (ok)
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

mesh_code mesh_ca_generate_root(enum mesh_key_algorithm alg, double validity_seconds,
                                const char *mesh_name, struct mesh_keypair *out,
                                struct mesh_problem *p)
{
    memset(out, 0, sizeof(*out));
    EVP_PKEY *key = generate_key(alg);
    X509 *cert = key ? new_cert(key, "Root CA", mesh_name, NULL, validity_seconds) : NULL;
    int ok = cert && X509_set_issuer_name(cert, X509_get_subject_name(cert)) &&
             add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
             add_ext(cert, cert, NID_subject_key_identifier, "hash") &&
             X509_sign(cert, key, EVP_sha256()) > 0 && to_pem(cert, key, out);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok ? MESH_OK : ssl_problem(p, "generating the mesh root CA");
}

/* Passphrase callback for every PEM read: there is none. Without it OpenSSL's default
 * callback prompts on the controlling terminal for an encrypted key (or any PEM block
 * with a "Proc-Type: 4,ENCRYPTED" header) and blocks the reconcile: a user's
 * rootSecretRef may hold one, and istio-ca-root-cert is writable in every member.
 * With it the read simply fails. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static X509 *read_cert(const char *pem)
{
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *c = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    return c;
}

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    return k;
}

static int load_pair(const struct mesh_keypair *kp, X509 **cert, EVP_PKEY **key)
{
    *cert = read_cert(kp->cert_pem);
    *key = read_key(kp->key_pem);
    return *cert && *key && X509_check_private_key(*cert, *key) == 1;
}

mesh_code mesh_ca_issue_intermediate(const struct mesh_keypair *root, enum mesh_key_algorithm alg,
                                     double validity_seconds, const char *cluster,
                                     struct mesh_keypair *out, struct mesh_problem *p)
{
    X509 *rcert = NULL, *cert = NULL;
    EVP_PKEY *rkey = NULL, *key = NULL;
    memset(out, 0, sizeof(*out));
    if (!load_pair(root, &rcert, &rkey)) {
        X509_free(rcert);
        EVP_PKEY_free(rkey);
        return ssl_problem(p, "reading the mesh root CA");
    }
    key = generate_key(alg);
    cert = key ? new_cert(key, "Intermediate CA", NULL, cluster, validity_seconds) : NULL;
    /* never outlive the root */
    if (cert && ASN1_TIME_compare(X509_get0_notAfter(rcert), X509_get0_notAfter(cert)) < 0)
        X509_set1_notAfter(cert, X509_get0_notAfter(rcert));
    int ok = cert && X509_set_issuer_name(cert, X509_get_subject_name(rcert)) &&
             add_ext(cert, rcert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(cert, rcert, NID_key_usage, "critical,keyCertSign,digitalSignature") &&
             add_ext(cert, rcert, NID_subject_alt_name, "DNS:istiod.istio-system.svc") &&
             add_ext(cert, rcert, NID_subject_key_identifier, "hash") &&
             /* the root's keyid; a user's root without subjectKeyIdentifier gets its
              * issuer and serial instead of failing every issue ("keyid:always") */
             add_ext(cert, rcert, NID_authority_key_identifier, "keyid,issuer") &&
             X509_sign(cert, rkey, EVP_sha256()) > 0 && to_pem(cert, key, out);
    X509_free(cert);
    X509_free(rcert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(rkey);
    return ok ? MESH_OK : ssl_problem(p, "issuing an intermediate CA");
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static void fingerprint(X509 *cert, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * (n < 32 ? n : 32)] = '\0';
}

/* Why X509_check_ca's answer (kind) is not a CA by basicConstraints: the defect named. */
static const char *not_ca_defect(X509 *cert, int kind)
{
    uint32_t flags = X509_get_extension_flags(cert);
    if (X509_get_version(cert) == 0)
        return "an X.509 v1 certificate, which has no basicConstraints CA:TRUE";
    if (kind == 4)
        return "keyUsage keyCertSign but no basicConstraints CA:TRUE";
    if (kind == 5)
        return "a Netscape CA type but no basicConstraints CA:TRUE";
    return flags & EXFLAG_CA ? "its keyUsage lacks keyCertSign"
                             : "basicConstraints CA:TRUE missing";
}

mesh_code mesh_ca_inspect(const char *cert_pem, const char *key_pem, struct mesh_cert_info *info,
                          struct mesh_problem *p)
{
    memset(info, 0, sizeof(*info));
    X509 *cert = read_cert(cert_pem);
    if (!cert) {
        ERR_clear_error();
        return mesh_problem_set(p, "InvalidCertificate", "not a PEM certificate");
    }
    info->not_before = asn1_to_time(X509_get0_notBefore(cert));
    info->not_after = asn1_to_time(X509_get0_notAfter(cert));
    /* 1 only for basicConstraints CA:TRUE (and keyCertSign when keyUsage is present):
     * X509_check_ca also says yes to a self-signed v1 certificate (3), and to keyUsage
     * keyCertSign or a Netscape CA type without basicConstraints (4, 5); istiod's
     * intermediate and a strict verifier (RFC 5280 4.2.1.9) want CA:TRUE. */
    int ca_kind = X509_check_ca(cert);
    info->is_ca = ca_kind == 1;
    fingerprint(cert, info->sha256);
    X509_NAME_oneline(X509_get_subject_name(cert), info->subject, sizeof(info->subject));
    mesh_code rc = MESH_OK;
    time_t now = time(NULL);
    char when[32];
    if (!info->is_ca) {
        rc = mesh_problem_set(p, "NotACertificateAuthority", "certificate %s is not a CA (%s)",
                              info->subject, not_ca_defect(cert, ca_kind));
    } else if (info->not_after <= now) {
        ew_time_format_rfc3339(info->not_after, when, sizeof(when));
        rc = mesh_problem_set(p, "CertificateExpired", "certificate %s expired (notAfter %s)",
                              info->subject, when);
    } else if (info->not_before > now) {
        ew_time_format_rfc3339(info->not_before, when, sizeof(when));
        rc =
            mesh_problem_set(p, "CertificateNotYetValid",
                             "certificate %s is not valid yet (notBefore %s)", info->subject, when);
    }
    if (rc == MESH_OK && key_pem) {
        EVP_PKEY *key = read_key(key_pem);
        if (!key)
            rc = mesh_problem_set(p, "InvalidKey",
                                  "not a PEM private key (or an encrypted one: not supported)");
        else if (X509_check_private_key(cert, key) != 1)
            rc = mesh_problem_set(p, "KeyMismatch", "the private key does not match %s",
                                  info->subject);
        EVP_PKEY_free(key);
    }
    ERR_clear_error();
    X509_free(cert);
    return rc;
}

/* Every certificate of a PEM bundle into store; how many. */
static int add_bundle(X509_STORE *store, const char *bundle_pem)
{
    BIO *b = bundle_pem ? BIO_new_mem_buf(bundle_pem, -1) : NULL;
    int n = 0;
    X509 *c;
    while (b && (c = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        n += X509_STORE_add_cert(store, c) == 1;
        X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return n;
}

mesh_code mesh_ca_verify_chain(const char *cert_pem, const char *root_pem, struct mesh_problem *p)
{
    X509 *cert = read_cert(cert_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    mesh_code rc = MESH_OK;
    if (!cert || !store || !ctx || add_bundle(store, root_pem) == 0) {
        rc = mesh_problem_set(p, "InvalidCertificate", "cannot read the certificates to verify");
    } else {
        X509_STORE_CTX_init(ctx, store, cert, NULL);
        if (X509_verify_cert(ctx) != 1)
            rc = mesh_problem_set(p, "ChainInvalid", "does not chain to the mesh root: %s",
                                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
    return rc;
}

char *mesh_ca_pem_find(const char *bundle_pem, const char *sha256)
{
    BIO *b = bundle_pem ? BIO_new_mem_buf(bundle_pem, -1) : NULL;
    char *out = NULL;
    X509 *c;
    while (b && !out && (c = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        char hex[65];
        fingerprint(c, hex);
        BIO *w = strcmp(hex, sha256) == 0 ? BIO_new(BIO_s_mem()) : NULL;
        char *pem;
        long len;
        if (w && PEM_write_bio_X509(w, c) == 1 && (len = BIO_get_mem_data(w, &pem)) > 0) {
            out = ew_malloc((size_t)len + 1);
            memcpy(out, pem, (size_t)len);
            out[len] = '\0';
        }
        BIO_free(w);
        X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return out;
}

int mesh_ca_pem_contains(const char *bundle_pem, const char *sha256)
{
    BIO *b = bundle_pem ? BIO_new_mem_buf(bundle_pem, -1) : NULL;
    int found = 0;
    X509 *c;
    while (b && !found && (c = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        char hex[65];
        fingerprint(c, hex);
        found = strcmp(hex, sha256) == 0;
        X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return found;
}

/* The certificate as canonical PEM (caller frees), or NULL. */
static char *cert_pem(X509 *c)
{
    BIO *w = BIO_new(BIO_s_mem());
    char *out = w && PEM_write_bio_X509(w, c) == 1 ? bio_string(w) : NULL;
    BIO_free(w);
    return out;
}

mesh_code mesh_ca_check_root(const char *cert_pem_in, char **canonical, struct mesh_problem *p)
{
    *canonical = NULL;
    X509 *cert = read_cert(cert_pem_in);
    char subject[256] = "", issuer[256] = "";
    mesh_code rc = MESH_OK;
    if (!cert) {
        ERR_clear_error();
        return mesh_problem_set(p, "InvalidCertificate", "not a PEM certificate");
    }
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
    X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof(issuer));
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    if (X509_check_issued(cert, cert) != X509_V_OK || !pub || X509_verify(cert, pub) != 1)
        rc = mesh_problem_set(
            p, "RootNotSelfSigned",
            "certificate %s is not self-signed (its issuer is %s): the mesh root must be a "
            "self-signed root CA, which every member's cacerts root-cert.pem holds as its trust "
            "anchor; an intermediate of another PKI is not supported as the mesh root",
            subject, issuer);
    else if (X509_get_pathlen(cert) == 0)
        rc = mesh_problem_set(p, "RootPathLenZero",
                              "certificate %s has basicConstraints pathlen:0, which allows no "
                              "intermediate CA below it; every member's istiod signs with one",
                              subject);
    else if ((*canonical = cert_pem(cert)) == NULL)
        rc = ssl_problem(p, "writing the mesh root CA");
    ERR_clear_error();
    X509_free(cert);
    return rc;
}

int mesh_ca_pem_count(const char *bundle_pem)
{
    BIO *b = bundle_pem ? BIO_new_mem_buf(bundle_pem, -1) : NULL;
    int n = 0;
    X509 *c;
    while (b && (c = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        n++;
        X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return n;
}
