/*
 * certgen.c: see certgen.h. Every OpenSSL object is freed on every path.
 */
#include "certgen.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static char *bio_text(BIO *b)
{
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)len + 1);
    if (s) {
        memcpy(s, data, (size_t)len);
        s[len] = '\0';
    }
    return s;
}

static X509 *read_pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return c;
}

static EVP_PKEY *read_pem_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

static int add_exts(X509 *cert, X509 *issuer, const char *const *exts)
{
    for (size_t i = 0; exts && exts[i]; i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s", exts[i]);
        char *eq = strchr(line, '=');
        if (!eq)
            return 0;
        *eq = '\0';
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, line, eq + 1);
        int ok = e && X509_add_ext(cert, e, -1);
        X509_EXTENSION_free(e);
        if (!ok)
            return 0;
    }
    return 1;
}

static int to_pair(X509 *cert, EVP_PKEY *key, struct mesh_keypair *out)
{
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    int ok = cb && kb && PEM_write_bio_X509(cb, cert) &&
             PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    if (ok) {
        out->cert_pem = bio_text(cb);
        out->key_pem = bio_text(kb);
        ok = out->cert_pem && out->key_pem;
    }
    BIO_free(cb);
    BIO_free(kb);
    return ok;
}

int certgen_make(const struct certgen_spec *s, struct mesh_keypair *out)
{
    memset(out, 0, sizeof(*out));
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = X509_new(), *icert = s->issuer ? read_pem_cert(s->issuer->cert_pem) : NULL;
    EVP_PKEY *ikey = s->issuer ? read_pem_key(s->issuer->key_pem) : NULL;
    unsigned char rnd[4];
    long serial = RAND_bytes(rnd, sizeof(rnd)) == 1
                      ? 1 + (long)(((unsigned)rnd[0] << 16) | (rnd[1] << 8) | rnd[2])
                      : 1;
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    int ok = key && cert && (!s->issuer || (icert && ikey)) &&
             X509_set_version(cert, s->v1 ? 0 : 2) &&
             ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) &&
             X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
             X509_gmtime_adj(X509_getm_notAfter(cert), (long)s->validity) &&
             X509_set_pubkey(cert, key) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Test", -1,
                                        -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1,
                                        -1, 0) &&
             X509_set_issuer_name(cert, icert ? X509_get_subject_name(icert) : name) &&
             (s->v1 || add_exts(cert, icert ? icert : cert, s->exts)) &&
             X509_sign(cert, ikey ? ikey : key, EVP_sha256()) > 0 && to_pair(cert, key, out);
    X509_free(cert);
    X509_free(icert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ikey);
    if (!ok)
        mesh_keypair_release(out);
    return ok ? 0 : -1;
}
