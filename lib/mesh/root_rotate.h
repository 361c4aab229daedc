/*
 * root_rotate: the MeshNetwork controller's step that carries out a root rotation
 * (root_rotation.h decides; this reads the facts and writes what is decided).
 *
 * Its state is at home, not in memory, so that a restart or a kill -9 resumes it:
 *   - Secret <mesh>-root-ca-next (operator namespace) holds the new root while a
 *     rotation runs, and in its annotations the phase, when the phase and the
 *     rotation began, what started it, the request handled and the old root's
 *     fingerprint;
 *   - on entering DropOld the mesh root Secret <mesh>-root-ca is rewritten with the
 *     new root (the old key is gone from then on), annotated with the request it
 *     handled and the root it retired, and when; when every member's istiod
 *     publishes the new root alone, the -next Secret is deleted: the rotation ends.
 * A phase is recorded before any member is written for it; a home write that fails
 * holds every member where it is.
 *
 * A member's cacerts in a rotation (Istio's multi-root mesh: istiod must run with
 * ISTIO_MULTIROOT_MESH=true, and takes a new root-cert.pem only when it contains, or
 * is contained in, the one it holds, as a set of DER certificates):
 *   TrustBoth          root-cert.pem = old + new, the intermediate unchanged
 *   SignWithNew, Overlap  root-cert.pem = a marker line + old + new, an intermediate
 *                      from the new root, cert-chain.pem ending in the new root
 *   DropOld            root-cert.pem = new
 * The marker ("eastwest: signing with root sha256:<new>") is text before the PEM
 * blocks, which PEM readers skip (RFC 7468). istiod loads root-cert.pem and the signing
 * key together and publishes the former in ConfigMap istio-ca-root-cert; so the marker
 * there says that istiod issues from the new intermediate, which no API object shows
 * otherwise.
 *
 * A rotation of a generated root starts on a new rotationRequest or when the root
 * enters rootRenewBefore; outside one, the root Secret read by the controller is all
 * this reads, and the next look is due when the root enters that window.
 *
 * A change of root (rootSecretRef set, changed or removed; trigger RootSecretRefChanged)
 * rotates too: the old root is the one status.rootCA last reported, still held by a
 * member's cacerts that is eastwest's by its labels (that report is the third mark of
 * cacerts.h for a root no longer at home; another root stays foreign). The new root is
 * the mesh root from the start; the -next Secret holds the new root's certificate and
 * the old one's (data old-root.pem), never a key; the old root's key is not needed (a
 * member keeps its intermediate in TrustBoth; one without gets one from the new root).
 * At DropOld a generated root Secret still holding the old root is deleted; a root of
 * the user's stays theirs. The user's roots are not renewed here otherwise.
 */
#ifndef EW_MESH_ROOT_ROTATE_H
#define EW_MESH_ROOT_ROTATE_H

#include "mesh_state.h"

/* Decide this reconcile's phase from the home Secrets and every member's caches
 * (res[i] for net->clusters[i], reachability known), and write what is home's part.
 * Then ctx->rot says whether the members' cacerts follow the rotation. */
void rotation_run(struct mesh_ctx *ctx, struct member_result *res, size_t n);
/* Member res's cacerts as the rotation has it; live: its cacerts Secret or NULL. */
void rotation_write_member(struct mesh_ctx *ctx, struct member_result *res, const cJSON *live);
void rotation_release(struct mesh_rotation_run *r);
/* Annotate a root Secret about to be created as having answered net's rotationRequest
 * (if any): a mesh created with one set does not rotate its brand-new root. */
void rotation_mark_new_root(const struct mesh_network *net, cJSON *root_secret);

/* A member's cacerts with eastwest's labels and owner annotation for this mesh (the
 * root it holds is the third mark: cacerts.h). */
int rotation_cacerts_labelled(const struct mesh_ctx *ctx, const cJSON *live);
/* The marker line before the roots in SignWithNew and Overlap; the new root's
 * fingerprint follows it. */
#define ROTATION_MARKER_PREFIX "eastwest: signing with root sha256:"

/* "<mesh>-root-ca-next". Caller frees. */
char *rotation_next_secret_name(const struct mesh_network *net);

#endif
