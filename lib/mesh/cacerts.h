/*
 * cacerts: the decisions about the mesh root and each member's cacerts Secret,
 * kept apart from the API calls so they can be tested on their own.
 *
 * The root lives in the home cluster only: Secret <mesh>-root-ca in the
 * operator namespace (tls.crt, tls.key), generated once, or the user's own
 * Secret named by certificateAuthority.rootSecretRef (never written).
 *
 * A member's cacerts Secret (istio/istio tools/certs layout) is, in order:
 *   - absent: issue one;
 *   - not eastwest's for this mesh: FOREIGN, left untouched, unless
 *     certificateAuthority.adoptExisting, then issue one over it. Labels are
 *     easy to copy, so eastwest's is what carries all three marks that
 *     mesh_build_cacerts has always written: the labels managed-by and
 *     eastwest.io/mesh=<mesh>, an eastwest.io/owner-uid annotation, and the mesh
 *     root in root-cert.pem. The UID is not compared: a MeshNetwork deleted with
 *     onDelete: Retain and created again has another UID, and the cacerts it
 *     retained (same name, same root) is still its own;
 *   - ours but unusable (the intermediate does not chain to the root, the key
 *     does not match, unreadable PEM) or not as eastwest writes it (root-cert.pem
 *     not exactly the mesh root: an extra trust anchor; cert-chain.pem not exactly
 *     ca-cert.pem then the root; issue 32): reissue. A root rotation writes two
 *     roots on purpose, and decides its cacerts itself (root_rotate.h);
 *   - ours and valid, and the root itself expires within renewBefore: keep it
 *     (it is still valid) and report RootExpiring. An intermediate cannot
 *     outlive its root (ca.h), so a new one would be due for renewal at once:
 *     reissuing would rewrite cacerts on every reconcile until the root is
 *     rotated;
 *   - ours and valid, but expiring within renewBefore: reissue;
 *   - else keep it, and report its notAfter.
 */
#ifndef EW_MESH_CACERTS_H
#define EW_MESH_CACERTS_H

#include "ca.h"

#include <cjson/cJSON.h>

enum mesh_cacerts_verdict { MESH_CACERTS_KEEP, MESH_CACERTS_ISSUE, MESH_CACERTS_FOREIGN };

struct mesh_cacerts_decision {
    enum mesh_cacerts_verdict verdict;
    time_t not_after;        /* KEEP: the intermediate's expiry */
    struct mesh_problem why; /* ISSUE: why (reason Missing, Renewal, Invalid, Adopt);
                                FOREIGN: reason ForeignCACerts and a message;
                                KEEP: reason RootExpiring (mesh_root_expiring), or empty */
};

void mesh_cacerts_decision_release(struct mesh_cacerts_decision *d);

/* live: the member's cacerts Secret or NULL. root: the mesh root's certificate. */
void mesh_cacerts_decide(const cJSON *live, const struct mesh_network *net, const char *cluster,
                         const char *root_cert_pem, const struct mesh_cert_info *root, time_t now,
                         struct mesh_cacerts_decision *out);

/* A decision kept while nothing it reads has changed: the Secret's resourceVersion, the
 * root, adoptExisting and renewBefore; and only until the verdict could turn with time
 * alone (the intermediate or the root entering the renew window), five minutes at most.
 * Reading the key and verifying the chain on every reconcile was most of a MeshNetwork
 * reconcile's CPU. An ISSUE is never kept (the write makes a new version). */
struct mesh_cacerts_memo {
    int valid;
    char *rv;
    char root[65];
    int adopt;
    double renew_before;
    time_t until;
    struct mesh_cacerts_decision d;
};
/* 1 and *out (released by the caller) when the memo answers for live, else 0. */
int mesh_cacerts_memo_get(const struct mesh_cacerts_memo *m, const cJSON *live,
                          const struct mesh_network *net, const struct mesh_cert_info *root,
                          time_t now, struct mesh_cacerts_decision *out);
/* Keep d (copied) as the answer for live. */
void mesh_cacerts_memo_put(struct mesh_cacerts_memo *m, const cJSON *live,
                           const struct mesh_network *net, const struct mesh_cert_info *root,
                           time_t now, const struct mesh_cacerts_decision *d);
void mesh_cacerts_memo_release(struct mesh_cacerts_memo *m);

/* Does the mesh root expire within renewBefore of now, so that no intermediate issued
 * from it could last past renewBefore? Then 1, and p (may be NULL) gets reason
 * RootExpiring and a message naming the cluster and the root's expiry. */
int mesh_root_expiring(const struct mesh_network *net, const char *cluster,
                       const struct mesh_cert_info *root, time_t now, struct mesh_problem *p);

/* The cacerts Secret for one member from the root certificate and its intermediate. */
cJSON *mesh_build_cacerts(const struct mesh_network *net, const char *root_cert_pem,
                          const struct mesh_keypair *intermediate);
/* The same with root-cert.pem a bundle of roots (a rotation, root_rotation.h) and
 * cert-chain.pem ending in the root that signed the intermediate. */
cJSON *mesh_build_cacerts_with(const struct mesh_network *net, const char *root_bundle_pem,
                               const char *signing_root_pem,
                               const struct mesh_keypair *intermediate);

/* Name of the Secret that holds a generated root: "<mesh>-root-ca". Caller frees. */
char *mesh_root_secret_name(const struct mesh_network *net);
/* The Secret (type kubernetes.io/tls) that stores a generated root in the home cluster. */
cJSON *mesh_build_root_secret(const struct mesh_network *net, const char *ns,
                              const struct mesh_keypair *root);
/* Read a root from a Secret's tls.crt and tls.key, and check it (a CA, currently valid,
 * key matching, self-signed, not pathlen:0: mesh_ca_check_root); out->cert_pem is the
 * first certificate of tls.crt as canonical PEM. secret_desc names it in problems
 * ("Secret eastwest-system/x"), reason RootSecretInvalid. On failure out and info are
 * zeroed: nothing to release (api.h). */
mesh_code mesh_root_from_secret(const cJSON *secret, const char *secret_desc,
                                struct mesh_keypair *out, struct mesh_cert_info *info,
                                struct mesh_problem *p);

/* Decode data[key] of a Secret into out (cleared first). 1 if present and valid base64;
 * 0: out wiped and released (api.h), so a caller that only wipes after 1 leaks nothing. */
int mesh_secret_data(const cJSON *secret, const char *key, struct strbuf *out);
/* Free a strbuf that held secret bytes, wiping them first. */
void mesh_secret_wipe(struct strbuf *sb);

#endif
