/*
 * ca: the mesh's certificate authority with OpenSSL: one root per mesh, one
 * intermediate per member cluster, in the layout of Istio's plug-in CA
 * (Secret cacerts: root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem).
 *
 * Intermediates carry what istiod needs to sign workload certificates:
 * basicConstraints critical CA:true, pathlen:0; keyUsage critical keyCertSign,
 * digitalSignature; SAN DNS:istiod.istio-system.svc; subject O=Istio,
 * CN=Intermediate CA, L=<cluster> (istio/istio tools/certs). Keys and
 * certificates travel as PEM strings; private keys are wiped when released
 * and never logged.
 */
#ifndef EW_MESH_CA_H
#define EW_MESH_CA_H

#include "api.h"

#include <time.h>

struct mesh_keypair {
    char *cert_pem;
    char *key_pem; /* secret */
};

void mesh_keypair_release(struct mesh_keypair *kp);

/* A new self-signed root for the mesh. This and the next fill out only on success; on
 * failure it is zeroed and there is nothing to release (api.h). */
mesh_code mesh_ca_generate_root(enum mesh_key_algorithm alg, double validity_seconds,
                                const char *mesh_name, struct mesh_keypair *out,
                                struct mesh_problem *p);
/* An intermediate for one member, signed by the root. */
mesh_code mesh_ca_issue_intermediate(const struct mesh_keypair *root, enum mesh_key_algorithm alg,
                                     double validity_seconds, const char *cluster,
                                     struct mesh_keypair *out, struct mesh_problem *p);

/* What a certificate is, for status and for deciding to reissue. */
struct mesh_cert_info {
    time_t not_before;
    time_t not_after;
    int is_ca;
    char sha256[65]; /* hex of the DER */
    char subject[256];
};

/* Parse and check a root or intermediate: a CA certificate by basicConstraints CA:TRUE (a
 * v1 certificate, or keyUsage keyCertSign without basicConstraints, is not), currently
 * valid, whose key matches (key_pem may be NULL to skip that check). Problems name what is
 * wrong. */
mesh_code mesh_ca_inspect(const char *cert_pem, const char *key_pem, struct mesh_cert_info *info,
                          struct mesh_problem *p);
/* Can this certificate (already inspected as a CA) be the mesh root? It must be
 * self-signed (issuer and subject the same, its signature made by its own key): an
 * intermediate of another PKI would need its chain in every cacerts, and a verify against
 * it alone never passes (a cacerts write loop). And its pathlen must not be 0: every member
 * signs with an intermediate below it. MESH_OK and *canonical (caller frees) its first
 * certificate as canonical PEM, what root-cert.pem carries; else *canonical is NULL and p
 * says what is wrong, naming the certificate's subject and issuer (never its content). */
mesh_code mesh_ca_check_root(const char *cert_pem, char **canonical, struct mesh_problem *p);
/* How many certificates the PEM bundle holds. */
int mesh_ca_pem_count(const char *bundle_pem);
/* Does cert_pem chain to one of the roots in root_pem, a PEM bundle (signature, validity,
 * CA constraints)? */
mesh_code mesh_ca_verify_chain(const char *cert_pem, const char *root_pem, struct mesh_problem *p);
/* Is a certificate with this SHA-256 fingerprint (hex of the DER) in the PEM bundle? */
int mesh_ca_pem_contains(const char *bundle_pem, const char *sha256);
/* That certificate alone, as PEM (caller frees), or NULL when the bundle has none. */
char *mesh_ca_pem_find(const char *bundle_pem, const char *sha256);

#endif
