/*
 * root_rotation: the phases of replacing a mesh's root CA in every member without a
 * moment of broken trust (issue 17), as a pure function of what is known. No I/O, no
 * clock of its own: the MeshNetwork controller is to fill the facts from the home
 * cluster (the recorded phase and when it began, the old and the new root) and from
 * each member's caches (which roots its cacerts bundle holds, which root signed its
 * intermediate, which roots its istiod publishes), write what is decided, and record
 * the phase in the MeshNetwork's status so that a rotation survives a restart.
 *
 * The phases, each entered only when every member finished the previous one:
 *   TRUST_BOTH  every cacerts bundle holds the old and the new root; intermediates
 *               unchanged (signed by the old). Done for a member when its istiod
 *               publishes both roots.
 *   SIGN_NEW    intermediates from the new root, the bundle still both. Done for a
 *               member when its cacerts intermediate chains to the new root, its
 *               istiod still publishes both and issues from the new intermediate.
 *   OVERLAP     nothing is written; wait `overlap` seconds from the phase's start, so
 *               every workload holds a certificate from the new chain.
 *   DROP_OLD    the bundle holds the new root alone, the old root's key is retired at
 *               home. Done when every istiod publishes the new root alone: the rotation
 *               ends (phase NONE) with the old fingerprint recorded as retired.
 * A member that is unreachable, or not yet done, holds the phase where it is and is
 * named in `waiting`; no member is ever written for a phase its peers would not trust
 * (a member reached late gets the current phase's cacerts, which its peers already
 * trust, because every phase's bundle holds the root the previous phase signed with).
 */
#ifndef EW_MESH_ROOT_ROTATION_H
#define EW_MESH_ROOT_ROTATION_H

#include "base/strbuf.h"

#include <stddef.h>
#include <time.h>

enum mesh_rotation_phase {
    MESH_ROTATION_NONE,
    MESH_ROTATION_TRUST_BOTH,
    MESH_ROTATION_SIGN_NEW,
    MESH_ROTATION_OVERLAP,
    MESH_ROTATION_DROP_OLD,
};

/* "None", "TrustBoth", "SignWithNew", "Overlap", "DropOld" (status.rootCA.rotation.phase). */
const char *mesh_rotation_phase_name(enum mesh_rotation_phase p);
/* The phase named so, or -1. */
int mesh_rotation_phase_parse(const char *name);

/* What one member's objects say. */
struct mesh_rotation_member_facts {
    const char *cluster;
    int reachable;
    int bundle_has_old, bundle_has_new; /* its cacerts root-cert.pem */
    int signed_by_new;                  /* its cacerts intermediate chains to the new root */
    int istiod_has_old, istiod_has_new; /* istio-ca-root-cert as its istiod publishes it */
    int istiod_signs_with_new;          /* its istiod issues from the new intermediate (the
                                           controller reads it from the bundle istiod
                                           publishes: root_rotate.h) */
};

struct mesh_rotation_facts {
    enum mesh_rotation_phase phase; /* as recorded at home */
    time_t phase_started;           /* when the recorded phase began */
    time_t now;
    /* what starts one (phase NONE): the root inside rootRenewBefore, a rotationRequest
     * not handled yet, or rootSecretRef naming another root */
    time_t root_not_after;
    double root_renew_before;
    const char *rotation_request, *handled_request;
    int root_ref_changed;
    double overlap; /* seconds */
    const struct mesh_rotation_member_facts *members;
    size_t nmembers;
};

/* What each member's cacerts must be in the decided phase. */
struct mesh_rotation_member_plan {
    int bundle_old, bundle_new; /* the roots root-cert.pem holds */
    int sign_with_new;          /* the intermediate's issuer */
};

struct mesh_rotation_decision {
    enum mesh_rotation_phase phase; /* to be in (and record) after this reconcile */
    int phase_changed;              /* entered now: record phase_started = now */
    const char *trigger;            /* phase changed from NONE: "RootRenewal",
                                       "RotationRequest" or "RootSecretRefChanged" */
    int make_new_root;              /* entering TRUST_BOTH: make (or take) the new root */
    int retire_old_root;            /* DROP_OLD (entered now or before): delete the old
                                       root's key at home */
    int finished;                   /* DROP_OLD done: record the retirement, phase NONE */
    struct mesh_rotation_member_plan *members; /* one per fact, in their order */
    struct strbuf waiting;                     /* "cluster: what it waits for; ..." (empty: none) */
    double requeue_after;                      /* OVERLAP: seconds left; else 0 */
};

/* Why a rotation would start now (phase NONE): "RootSecretRefChanged",
 * "RotationRequest", "RootRenewal", or NULL (none would). */
const char *mesh_rotation_trigger(const struct mesh_rotation_facts *f);
/* Decide; out is released with mesh_rotation_decision_release. */
void mesh_rotation_decide(const struct mesh_rotation_facts *f, struct mesh_rotation_decision *out);
void mesh_rotation_decision_release(struct mesh_rotation_decision *d);

#endif
