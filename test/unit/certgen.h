/*
 * certgen: certificates shaped as a test needs them, with OpenSSL: an X.509 v1
 * certificate, any extensions, self-signed or signed by any issuer. The product's
 * ca.c only makes well-formed roots and intermediates, so the checks of what a user's
 * PKI may hand eastwest (an intermediate as the root, a v1 root, keyCertSign without
 * basicConstraints, pathlen:0) need these. EC P-256 keys; PEM strings in a
 * mesh_keypair (release with mesh_keypair_release).
 */
#ifndef EW_TEST_CERTGEN_H
#define EW_TEST_CERTGEN_H

#include "mesh/ca.h"

struct certgen_spec {
    const char *cn;                    /* subject O=Test, CN=<cn> */
    int v1;                            /* an X.509 v1 certificate: no extensions at all */
    const char *const *exts;           /* NULL-terminated "name=value" lines (openssl x509v3) */
    const struct mesh_keypair *issuer; /* NULL: self-signed */
    double validity;                   /* seconds */
};

/* 0 and *out, or -1 (out zeroed). */
int certgen_make(const struct certgen_spec *s, struct mesh_keypair *out);

#endif
