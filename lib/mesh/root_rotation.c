/*
 * root_rotation.c: the rotation's phases as a pure decision (see root_rotation.h).
 */
#include "root_rotation.h"

#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {"None", "TrustBoth", "SignWithNew", "Overlap", "DropOld"};

const char *mesh_rotation_phase_name(enum mesh_rotation_phase p)
{
    return (size_t)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "Unknown";
}

int mesh_rotation_phase_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
        if (strcmp(phase_names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *mesh_rotation_trigger(const struct mesh_rotation_facts *f)
{
    if (f->root_ref_changed)
        return "RootSecretRefChanged";
    if (f->rotation_request && *f->rotation_request &&
        (!f->handled_request || strcmp(f->rotation_request, f->handled_request) != 0))
        return "RotationRequest";
    if (f->root_not_after && (double)(f->root_not_after - f->now) <= f->root_renew_before)
        return "RootRenewal";
    return NULL;
}

/* What a member's cacerts is in phase p. */
static struct mesh_rotation_member_plan plan_for(enum mesh_rotation_phase p)
{
    switch (p) {
    case MESH_ROTATION_NONE:
        return (struct mesh_rotation_member_plan){.bundle_old = 1};
    case MESH_ROTATION_TRUST_BOTH:
        return (struct mesh_rotation_member_plan){.bundle_old = 1, .bundle_new = 1};
    case MESH_ROTATION_SIGN_NEW:
    case MESH_ROTATION_OVERLAP:
        return (struct mesh_rotation_member_plan){
            .bundle_old = 1, .bundle_new = 1, .sign_with_new = 1};
    case MESH_ROTATION_DROP_OLD:
        break;
    }
    return (struct mesh_rotation_member_plan){.bundle_new = 1, .sign_with_new = 1};
}

/* Has member m finished phase p? Else 0 and what it waits for. */
static int member_done(const struct mesh_rotation_member_facts *m, enum mesh_rotation_phase p,
                       const char **waits)
{
    const struct mesh_rotation_member_plan want = plan_for(p);
    *waits = NULL;
    if (!m->reachable)
        *waits = "unreachable";
    else if (m->bundle_has_old != want.bundle_old || m->bundle_has_new != want.bundle_new ||
             m->signed_by_new != want.sign_with_new)
        *waits = "cacerts not written for this phase yet";
    else if (m->istiod_has_old != want.bundle_old || m->istiod_has_new != want.bundle_new)
        *waits = want.bundle_old && want.bundle_new ? "istiod does not publish both roots yet"
                                                    : "istiod still publishes the old root";
    else if (want.sign_with_new && !m->istiod_signs_with_new)
        *waits = "istiod does not issue from the new intermediate yet";
    return *waits == NULL;
}

/* Every member done with phase p; else 0, each waiting one named in out->waiting. */
static int all_done(const struct mesh_rotation_facts *f, enum mesh_rotation_phase p,
                    struct mesh_rotation_decision *out)
{
    int done = 1;
    for (size_t i = 0; i < f->nmembers; i++) {
        const char *waits;
        if (member_done(&f->members[i], p, &waits))
            continue;
        strbuf_addf(&out->waiting, "%s%s: %s", out->waiting.len ? "; " : "", f->members[i].cluster,
                    waits);
        done = 0;
    }
    return done;
}

static void enter(struct mesh_rotation_decision *out, enum mesh_rotation_phase p)
{
    out->phase = p;
    out->phase_changed = 1;
}

void mesh_rotation_decide(const struct mesh_rotation_facts *f, struct mesh_rotation_decision *out)
{
    memset(out, 0, sizeof(*out));
    strbuf_init(&out->waiting, 0);
    out->phase = f->phase;
    switch (f->phase) {
    case MESH_ROTATION_NONE:
        if ((out->trigger = mesh_rotation_trigger(f))) {
            enter(out, MESH_ROTATION_TRUST_BOTH);
            out->make_new_root = 1;
        }
        break;
    case MESH_ROTATION_TRUST_BOTH:
        if (all_done(f, MESH_ROTATION_TRUST_BOTH, out))
            enter(out, MESH_ROTATION_SIGN_NEW);
        break;
    case MESH_ROTATION_SIGN_NEW:
        if (all_done(f, MESH_ROTATION_SIGN_NEW, out))
            enter(out, MESH_ROTATION_OVERLAP);
        break;
    case MESH_ROTATION_OVERLAP: {
        double left = f->overlap - (double)(f->now - f->phase_started);
        if (left <= 0)
            enter(out, MESH_ROTATION_DROP_OLD);
        else
            out->requeue_after = left;
        break;
    }
    case MESH_ROTATION_DROP_OLD:
        if (all_done(f, MESH_ROTATION_DROP_OLD, out)) {
            out->finished = 1;
            enter(out, MESH_ROTATION_NONE);
        }
        break;
    }
    out->retire_old_root = out->phase == MESH_ROTATION_DROP_OLD; /* entered now, or in it */
    /* the cacerts each member gets: the phase decided (a phase entered now is written
     * now; its peers trust it, the previous phase's gate saw to that) */
    out->members = ew_calloc(f->nmembers ? f->nmembers : 1, sizeof(*out->members));
    for (size_t i = 0; i < f->nmembers; i++)
        out->members[i] = plan_for(out->finished ? MESH_ROTATION_DROP_OLD : out->phase);
}

void mesh_rotation_decision_release(struct mesh_rotation_decision *d)
{
    free(d->members);
    strbuf_release(&d->waiting);
    memset(d, 0, sizeof(*d));
}
