/*
 * test_reconcile_faults.c: SQLite's way with failure paths, for the reconcilers.
 *
 * A clean run of the tutorial (reconcile_world.h: both controllers from start to
 * Ready, the load balancer and istiod played) makes K API calls. Then, for each
 * error kind (409, 422, 429, 500, a timeout after the server committed, a reset
 * before it saw anything) and each N in 1..K, a fresh world runs the same
 * tutorial with call N failing once. Every run must converge (both CRs Ready) to
 * the very objects of the clean run, object for object after what differs
 * between any two runs is masked (uids, timestamps, key material: see
 * world_normalized), and both members must trust the one mesh root at home. So
 * no failure of any one call loses an object, duplicates one, or leaves a
 * member with another root.
 *
 * The call order between threads is not fixed, so "call N" names a different
 * call in different runs, and the number of calls varies by a few: K is the
 * fewest calls of a few clean runs (each must converge to the same objects).
 * Every planned N must actually fail once: a run that ends before its call N
 * (so nothing failed) is run again, and an N that never fails is a failure,
 * not a converged run. Each failure line says which call failed, and the
 * summary counts the distinct calls failed per kind.
 * Under valgrind (EW_TEST_UNDER_VALGRIND set by hack/test.sh) every tenth N is
 * run: the full sweep runs in the ASan build.
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/strbuf.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "mesh/objects.h"

#include <stdlib.h>
#include <string.h>

struct baseline {
    unsigned long calls;
    cJSON *objects;
};

/* The first path at which a and b differ, for the failure message. */
static void first_difference(const cJSON *a, const cJSON *b, struct strbuf *path)
{
    if (cJSON_Compare(a, b, 1))
        return;
    if (!a || !b || (a->type & 0xff) != (b->type & 0xff) ||
        !(cJSON_IsObject(a) || cJSON_IsArray(a))) {
        char *x = a ? cJSON_PrintUnformatted(a) : NULL, *y = b ? cJSON_PrintUnformatted(b) : NULL;
        strbuf_addf(path, ": clean run %.300s, this run %.300s", x ? x : "(absent)",
                    y ? y : "(absent)");
        free(x);
        free(y);
        return;
    }
    int n = cJSON_GetArraySize(a) > cJSON_GetArraySize(b) ? cJSON_GetArraySize(a)
                                                          : cJSON_GetArraySize(b);
    for (int i = 0; i < n; i++) {
        const cJSON *ca = cJSON_GetArrayItem(a, i);
        const cJSON *cb = cJSON_IsObject(a) && ca ? cJSON_GetObjectItemCaseSensitive(b, ca->string)
                                                  : cJSON_GetArrayItem(b, i);
        if (!ca && cJSON_IsObject(b)) {
            cb = cJSON_GetArrayItem(b, i);
            ca = cJSON_GetObjectItemCaseSensitive(a, cb->string);
        }
        if (cJSON_Compare(ca, cb, 1))
            continue;
        if (cJSON_IsObject(a))
            strbuf_addf(path, ".%s", ca ? ca->string : cb->string);
        else
            strbuf_addf(path, "[%d]", i);
        first_difference(ca, cb, path);
        return;
    }
}

static const char *data_of(const cJSON *secret, const char *key)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(secret, "data"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Both members' cacerts carry the root kept at home. NULL when so, else what is wrong. */
static const char *one_root(struct world *w)
{
    cJSON *root =
        fake_cluster_get(w->us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "training-mesh-root-ca");
    cJSON *us = fake_cluster_get(w->us, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    cJSON *eu = fake_cluster_get(w->eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    const char *home = data_of(root, "tls.crt");
    const char *why = !home                                             ? "no root at home"
                      : !data_of(us, "root-cert.pem")                   ? "no cacerts in us"
                      : !data_of(eu, "root-cert.pem")                   ? "no cacerts in eu"
                      : strcmp(data_of(us, "root-cert.pem"), home) != 0 ? "us trusts another root"
                      : strcmp(data_of(eu, "root-cert.pem"), home) != 0 ? "eu trusts another root"
                                                                        : NULL;
    cJSON_Delete(root);
    cJSON_Delete(us);
    cJSON_Delete(eu);
    return why;
}

/* One run of the tutorial with call nth failing with kind (nth 0: none). 1 when it converged
 * to the baseline (the first clean run sets it), 0 when not (why says so). *fired: whether
 * call nth failed (the run may end before its call nth: see the top). *calls: the calls
 * the run made. */
static int run_once(unsigned long nth, enum fake_fault kind, struct baseline *base,
                    struct strbuf *why, char **what, int *fired, unsigned long *calls)
{
    struct world w;
    world_init(&w);
    world_apply_tutorial(&w);
    fake_faults_arm(w.faults, nth, kind);
    world_start(&w);
    int ok = world_settle(&w, world_tutorial_ready, NULL, 30);
    *what = ew_strdup(nth ? fake_faults_what(w.faults) : "");
    *fired = fake_faults_fired(w.faults);
    *calls = fake_faults_calls(w.faults);
    if (!ok) {
        strbuf_addf(why, "did not converge in %g s", 30 * test_time_scale());
    } else {
        const char *root = one_root(&w);
        cJSON *objects = world_normalized(&w);
        if (root) {
            strbuf_adds(why, root);
            ok = 0;
        } else if (!base->objects) {
            base->objects = objects;
            objects = NULL;
        } else if (!cJSON_Compare(base->objects, objects, 1)) {
            strbuf_adds(why, "objects differ from the clean run at ");
            first_difference(base->objects, objects, why);
            ok = 0;
        }
        cJSON_Delete(objects);
    }
    world_free(&w);
    return ok;
}

static struct baseline clean;

/* Clean runs: the baseline objects, and K, the fewest calls any of them made (the planned
 * calls are 1..K, so that every planned call comes in every run, as far as these runs
 * tell; a run that ends sooner is run again). Under valgrind, where every tenth N is
 * run and the last is several calls short of K, two. */
#define CLEAN_RUNS          5
#define CLEAN_RUNS_VALGRIND 2

static void test_clean_run(struct test_ctx *t)
{
    if (clean.objects)
        return;
    unsigned long most = 0;
    int runs = getenv("EW_TEST_UNDER_VALGRIND") ? CLEAN_RUNS_VALGRIND : CLEAN_RUNS;
    for (int i = 0; i < runs; i++) {
        struct strbuf why = STRBUF_INIT;
        char *what = NULL;
        int fired = 0;
        unsigned long calls = 0;
        int ok = run_once(0, FAKE_FAULT_NONE, &clean, &why, &what, &fired, &calls);
        free(what);
        REQUIREF(t, ok, "clean run %d: %s", i + 1, why.buf);
        strbuf_release(&why);
        REQUIREF(t, !fired, "clean run %d: a call failed with no fault armed", i + 1);
        clean.calls = i == 0 || calls < clean.calls ? calls : clean.calls;
        most = calls > most ? calls : most;
    }
    printf("# the tutorial's reconcile from start to Ready: %lu..%lu API calls in %d clean runs "
           "(the same objects each time)\n",
           clean.calls, most, runs);
    REQUIRE(t, clean.calls > 10);
}

/* Tries at one N before it counts as a call that never failed. */
#define TRIES_PER_CALL 3

static void sweep(struct test_ctx *t, enum fake_fault kind)
{
    test_clean_run(t); /* when run alone (argv[1]) */
    unsigned long step = getenv("EW_TEST_UNDER_VALGRIND") ? 10 : 1;
    struct strmap failed;
    strmap_init(&failed);
    unsigned long runs = 0, converged = 0, fired_runs = 0, reruns = 0, never = 0;
    double slowest = 0, started = ew_now_mono();
    char *slowest_what = NULL;
    for (unsigned long n = 1; n <= clean.calls; n += step) {
        int fired = 0, tries = 0;
        unsigned long calls = 0;
        while (!fired && tries < TRIES_PER_CALL) {
            struct strbuf why = STRBUF_INIT;
            char *what = NULL;
            runs++;
            reruns += tries > 0;
            tries++;
            double t0 = ew_now_mono();
            int ok = run_once(n, kind, &clean, &why, &what, &fired, &calls);
            if (ew_now_mono() - t0 > slowest) {
                slowest = ew_now_mono() - t0;
                free(slowest_what);
                slowest_what = ew_strdup(what ? what : "");
            }
            if (ok)
                converged++;
            else
                test_fail(t, __FILE__, __LINE__, "call %lu (%s) failed with %s: %s", n,
                          fired ? what : "none: it never came", fake_fault_name(kind), why.buf);
            if (fired) {
                fired_runs++;
                strmap_put(&failed, what, NULL);
            }
            free(what);
            strbuf_release(&why);
        }
        if (!fired) {
            never++;
            test_fail(t, __FILE__, __LINE__,
                      "call %lu never failed with %s: %d runs, the last made %lu calls", n,
                      fake_fault_name(kind), tries, calls);
        }
    }
    printf("# %s: %lu runs (N = 1..%lu, step %lu; %lu runs again because call N never came), "
           "%lu converged to the clean run's objects, %lu with call N failed, %lu N never "
           "failed, %zu distinct calls failed\n",
           fake_fault_name(kind), runs, clean.calls, step, reruns, converged, fired_runs, never,
           strmap_size(&failed));
    printf("# %s: %.1f s in all, the slowest run %.2f s (%s failed)\n", fake_fault_name(kind),
           ew_now_mono() - started, slowest, slowest_what ? slowest_what : "");
    free(slowest_what);
    strmap_clear(&failed);
}

static void test_conflict(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_CONFLICT);
}
static void test_invalid(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_INVALID);
}
static void test_throttled(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_THROTTLED);
}
static void test_server(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_SERVER);
}
static void test_timeout(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_TIMEOUT);
}
static void test_reset(struct test_ctx *t)
{
    sweep(t, FAKE_FAULT_RESET);
}

static const struct test_case cases[] = {
    {"clean-run", test_clean_run},    {"every-call-409", test_conflict},
    {"every-call-422", test_invalid}, {"every-call-429", test_throttled},
    {"every-call-500", test_server},  {"every-call-timeout-after-commit", test_timeout},
    {"every-call-reset", test_reset},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    cJSON_Delete(clean.objects);
    kube_global_cleanup();
    return rc;
}
