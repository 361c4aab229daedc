/*
 * test_root_rotation.c: the root rotation's phases (mesh/root_rotation.h) as the pure
 * decision gives them, driven through a small world of members whose cacerts follow
 * the decision and whose istiods load it late: member i's istiod reloads its cacerts
 * (publishes its roots, signs with its intermediate) only every lag[i] reconciles. At
 * every step, every member's istiod must trust what every other member's signs with.
 */
#include "harness.h"
#include "mesh/root_rotation.h"

#include <stdio.h>
#include <string.h>

#define NMEMBERS 3
#define OVERLAP  3600.0

struct world {
    struct mesh_rotation_member_facts m[NMEMBERS];
    enum mesh_rotation_phase phase;
    time_t started, now;
    const char *request, *handled;
    int steps;
    int retired_seen[NMEMBERS]; /* at the finish: its istiod published the new root alone */
};

static void world_init(struct world *w)
{
    static const char *const names[NMEMBERS] = {"us", "eu", "ap"};
    memset(w, 0, sizeof(*w));
    w->now = 1000000;
    for (int i = 0; i < NMEMBERS; i++)
        w->m[i] = (struct mesh_rotation_member_facts){
            .cluster = names[i], .reachable = 1, .bundle_has_old = 1, .istiod_has_old = 1};
}

static struct mesh_rotation_facts facts(struct world *w)
{
    return (struct mesh_rotation_facts){
        .phase = w->phase,
        .phase_started = w->started,
        .now = w->now,
        .root_not_after = w->now + 10 * 365 * 86400,
        .root_renew_before = 365 * 86400,
        .rotation_request = w->request,
        .handled_request = w->handled,
        .overlap = OVERLAP,
        .members = w->m,
        .nmembers = NMEMBERS,
    };
}

/* Does a member whose trust is (old, new) accept what member s signs with? */
static int trusts(const struct mesh_rotation_member_facts *t,
                  const struct mesh_rotation_member_facts *s)
{
    return s->istiod_signs_with_new ? t->istiod_has_new : t->istiod_has_old;
}

static void check_mutual_trust(struct test_ctx *t, const struct world *w, int step)
{
    for (int a = 0; a < NMEMBERS; a++)
        for (int b = 0; b < NMEMBERS; b++)
            CHECKF(t, trusts(&w->m[a], &w->m[b]), "step %d: %s does not trust what %s signs with",
                   step, w->m[a].cluster, w->m[b].cluster);
}

/* One reconcile: the istiods whose turn it is reload their cacerts; then decide,
 * record, and write each reachable member's cacerts. */
static void step(struct world *w, struct mesh_rotation_decision *d)
{
    w->steps++;
    for (int i = 0; i < NMEMBERS; i++) {
        struct mesh_rotation_member_facts *m = &w->m[i];
        static const int lag[NMEMBERS] = {1, 2, 5};
        if (!m->reachable || w->steps % lag[i] != 0)
            continue;
        m->istiod_has_old = m->bundle_has_old;
        m->istiod_has_new = m->bundle_has_new;
        m->istiod_signs_with_new = m->signed_by_new;
    }
    struct mesh_rotation_facts f = facts(w);
    mesh_rotation_decide(&f, d);
    if (d->phase_changed) {
        w->phase = d->phase;
        w->started = w->now;
    }
    if (d->finished) { /* the new root is now the root: "old" names it again */
        w->phase = MESH_ROTATION_NONE;
        for (int i = 0; i < NMEMBERS; i++)
            w->retired_seen[i] = w->m[i].istiod_has_new && !w->m[i].istiod_has_old;
        for (int i = 0; i < NMEMBERS; i++)
            w->m[i] = (struct mesh_rotation_member_facts){.cluster = w->m[i].cluster,
                                                          .reachable = w->m[i].reachable,
                                                          .bundle_has_old = 1,
                                                          .istiod_has_old = 1};
        return;
    }
    for (int i = 0; i < NMEMBERS; i++) {
        struct mesh_rotation_member_facts *m = &w->m[i];
        if (!m->reachable)
            continue;
        m->bundle_has_old = d->members[i].bundle_old;
        m->bundle_has_new = d->members[i].bundle_new;
        m->signed_by_new = d->members[i].sign_with_new;
    }
}

/* A requested rotation goes through the four phases in order, in a bounded number of
 * reconciles, with every member trusting every other's signer at every step; it ends
 * once, and the old root's key is retired only in the last phase. */
static void test_rotation_never_breaks_trust(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    w.request = "2026-12-03";
    enum mesh_rotation_phase seen[8];
    int nseen = 0, finished = 0, retire_before_last = 0;
    for (int s = 0; s < 40 && !finished; s++) {
        struct mesh_rotation_decision d;
        step(&w, &d);
        if (s == 0) {
            CHECK_STR(t, d.trigger, "RotationRequest");
            CHECK(t, d.make_new_root);
            w.handled = w.request; /* recorded with the phase */
        }
        if (d.phase_changed && nseen < 8)
            seen[nseen++] = d.phase;
        if (d.retire_old_root && d.phase != MESH_ROTATION_DROP_OLD && !d.finished)
            retire_before_last = 1;
        for (int i = 0; d.finished && i < NMEMBERS; i++) /* (step has reset them) */
            CHECKF(t, w.retired_seen[i], "finished while %s's istiod still publishes the old root",
                   w.m[i].cluster);
        finished = d.finished;
        if (d.requeue_after > 0)
            w.now += (time_t)d.requeue_after; /* the overlap passes */
        else
            w.now += 1;
        mesh_rotation_decision_release(&d);
        check_mutual_trust(t, &w, s);
    }
    CHECKF(t, finished, "the rotation did not finish in 40 reconciles (phase %s)",
           mesh_rotation_phase_name(w.phase));
    CHECK(t, !retire_before_last);
    REQUIRE(t, nseen == 5);
    CHECK(t, seen[0] == MESH_ROTATION_TRUST_BOTH);
    CHECK(t, seen[1] == MESH_ROTATION_SIGN_NEW);
    CHECK(t, seen[2] == MESH_ROTATION_OVERLAP);
    CHECK(t, seen[3] == MESH_ROTATION_DROP_OLD);
    CHECK(t, seen[4] == MESH_ROTATION_NONE);
    struct mesh_rotation_decision d; /* the request is handled: no second rotation */
    step(&w, &d);
    CHECK(t, d.phase == MESH_ROTATION_NONE && !d.phase_changed && !d.make_new_root);
    mesh_rotation_decision_release(&d);
}

/* An unreachable member holds the rotation in its phase, named; its peers are not
 * moved on without it, and it is not skipped when it returns. */
static void test_unreachable_member_pauses(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    w.request = "now";
    struct mesh_rotation_decision d;
    step(&w, &d); /* enters TRUST_BOTH */
    mesh_rotation_decision_release(&d);
    w.handled = w.request;
    w.m[1].reachable = 0;
    for (int s = 0; s < 5; s++) {
        step(&w, &d);
        CHECK(t, d.phase == MESH_ROTATION_TRUST_BOTH && !d.phase_changed);
        CHECKF(t, strstr(d.waiting.buf, "eu: unreachable") != NULL, "waiting: \"%s\"",
               d.waiting.buf);
        mesh_rotation_decision_release(&d);
        check_mutual_trust(t, &w, s);
    }
    w.m[1].reachable = 1;
    for (int s = 0; s < 12 && w.phase == MESH_ROTATION_TRUST_BOTH; s++) {
        step(&w, &d);
        mesh_rotation_decision_release(&d);
        check_mutual_trust(t, &w, s);
    }
    CHECK(t, w.phase == MESH_ROTATION_SIGN_NEW);
}

/* The overlap is waited in full from the phase's start; the decision says how long is
 * left, and nothing changes before. */
static void test_overlap_is_waited(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    w.phase = MESH_ROTATION_OVERLAP;
    w.started = w.now;
    for (int i = 0; i < NMEMBERS; i++)
        w.m[i] = (struct mesh_rotation_member_facts){w.m[i].cluster, 1, 1, 1, 1, 1, 1, 1};
    w.now += 600;
    struct mesh_rotation_decision d;
    struct mesh_rotation_facts f = facts(&w);
    mesh_rotation_decide(&f, &d);
    CHECK(t, d.phase == MESH_ROTATION_OVERLAP && !d.phase_changed);
    CHECKF(t, d.requeue_after == OVERLAP - 600, "requeue after %g", d.requeue_after);
    CHECK(t, d.members[0].bundle_old && d.members[0].bundle_new && d.members[0].sign_with_new);
    mesh_rotation_decision_release(&d);
    w.now = w.started + (time_t)OVERLAP;
    f = facts(&w);
    mesh_rotation_decide(&f, &d);
    CHECK(t, d.phase == MESH_ROTATION_DROP_OLD && d.phase_changed && d.retire_old_root);
    CHECK(t, !d.members[2].bundle_old && d.members[2].bundle_new);
    mesh_rotation_decision_release(&d);
}

/* What starts a rotation, and what does not. */
static void test_triggers(struct test_ctx *t)
{
    struct world w;
    world_init(&w);
    struct mesh_rotation_facts f = facts(&w);
    struct mesh_rotation_decision d;
    mesh_rotation_decide(&f, &d);
    CHECKF(t, d.phase == MESH_ROTATION_NONE && !d.trigger, "a root far from expiry, no request");
    CHECK(t, d.members[0].bundle_old && !d.members[0].bundle_new && !d.members[0].sign_with_new);
    mesh_rotation_decision_release(&d);
    f.root_not_after = w.now + 364 * 86400;
    mesh_rotation_decide(&f, &d);
    CHECK_STR(t, d.trigger, "RootRenewal");
    mesh_rotation_decision_release(&d);
    f = facts(&w);
    f.rotation_request = "a";
    f.handled_request = "a";
    mesh_rotation_decide(&f, &d);
    CHECKF(t, !d.trigger, "a request already handled starts nothing");
    mesh_rotation_decision_release(&d);
    f.rotation_request = "b";
    mesh_rotation_decide(&f, &d);
    CHECK_STR(t, d.trigger, "RotationRequest");
    mesh_rotation_decision_release(&d);
    f = facts(&w);
    f.root_ref_changed = 1;
    mesh_rotation_decide(&f, &d);
    CHECK_STR(t, d.trigger, "RootSecretRefChanged");
    CHECK(t, d.make_new_root && d.members[1].bundle_old && d.members[1].bundle_new &&
                 !d.members[1].sign_with_new);
    mesh_rotation_decision_release(&d);
}

static void test_phase_names(struct test_ctx *t)
{
    for (int p = MESH_ROTATION_NONE; p <= MESH_ROTATION_DROP_OLD; p++)
        CHECK(t, mesh_rotation_phase_parse(mesh_rotation_phase_name(p)) == p);
    CHECK(t, mesh_rotation_phase_parse("Rotating") == -1);
    CHECK(t, mesh_rotation_phase_parse(NULL) == -1);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"rotation_never_breaks_trust", test_rotation_never_breaks_trust},
        {"unreachable_member_pauses", test_unreachable_member_pauses},
        {"overlap_is_waited", test_overlap_is_waited},
        {"triggers", test_triggers},
        {"phase_names", test_phase_names},
    };
    return TEST_MAIN(cases, argc, argv);
}
