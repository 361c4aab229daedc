/*
 * test_clusterset.c: lib/runtime/clusterset: references outlive removal, a
 * re-added member gets a new client (is_current tells a stale one), and the
 * write gate: begin_write only while joined, leave waits for writers in flight
 * and nothing gets through after it.
 */
#include "harness.h"
#include "base/timeutil.h"
#include "runtime/clusterset.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct kube_rest_config config(void)
{
    /* nothing connects in these tests: a client is made, never used */
    struct kube_rest_config cfg = {0};
    cfg.source = "test";
    cfg.server = "https://127.0.0.1:1";
    return cfg;
}

static struct rt_clusterset *set_with(const char *name)
{
    struct rt_clusterset *cs = rt_clusterset_new(&(struct rt_clusterset_options){0});
    struct kube_rest_config cfg = config();
    struct kube_error err = KUBE_ERROR_INIT;
    int rc = rt_clusterset_apply(cs, name, &cfg, &err);
    kube_error_clear(&err);
    return rc == 1 ? cs : (rt_clusterset_free(cs), NULL);
}

static void test_readded_member_is_a_new_client(struct test_ctx *t)
{
    struct rt_clusterset *cs = set_with("eu");
    REQUIRE(t, cs);
    struct kube_client *old = rt_clusterset_acquire(cs, "eu");
    REQUIRE(t, old);
    CHECK(t, rt_clusterset_is_current(cs, "eu", old));
    CHECK(t, rt_clusterset_remove(cs, "eu") == 1);
    CHECKF(t, !rt_clusterset_is_current(cs, "eu", old), "a removed member's client is stale");
    struct kube_rest_config cfg = config();
    struct kube_error err = KUBE_ERROR_INIT;
    CHECK(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 1);
    kube_error_clear(&err);
    struct kube_client *now = rt_clusterset_acquire(cs, "eu");
    CHECK(t, now && now != old);
    CHECKF(t, !rt_clusterset_is_current(cs, "eu", old), "re-added: the old client is stale");
    CHECK(t, rt_clusterset_is_current(cs, "eu", now));
    rt_clusterset_release(cs, old); /* the retired member is freed here (ASan/valgrind) */
    rt_clusterset_release(cs, now);
    rt_clusterset_free(cs);
}

static void test_gate_open_only_while_joined(struct test_ctx *t)
{
    struct rt_clusterset *cs = set_with("eu");
    REQUIRE(t, cs);
    CHECKF(t, !rt_clusterset_begin_write(cs, "mesh-a", "eu"), "not joined yet: gate closed");
    CHECK(t, rt_clusterset_join(cs, "mesh-a", "eu") == 1);
    CHECK(t, rt_clusterset_join(cs, "mesh-a", "nowhere") == 0);
    CHECK(t, rt_clusterset_joined(cs, "mesh-a", "eu"));
    CHECK(t, !rt_clusterset_joined(cs, "mesh-b", "eu"));
    struct kube_client *w = rt_clusterset_begin_write(cs, "mesh-a", "eu");
    CHECK(t, w != NULL);
    CHECKF(t, !rt_clusterset_begin_write(cs, "mesh-b", "eu"), "joined to another mesh only");
    rt_clusterset_end_write(cs, w);
    rt_clusterset_leave(cs, "mesh-a", "eu");
    CHECKF(t, !rt_clusterset_begin_write(cs, "mesh-a", "eu"), "left: gate closed");
    CHECK(t, rt_clusterset_join(cs, "mesh-a", "eu") == 1);
    rt_clusterset_remove(cs, "eu");
    CHECKF(t, !rt_clusterset_begin_write(cs, "mesh-a", "eu"), "removed: gate closed");
    rt_clusterset_free(cs);
}

struct leaver {
    struct rt_clusterset *cs;
    int returned; /* atomic */
};

static void *leave_thread(void *arg)
{
    struct leaver *l = arg;
    rt_clusterset_leave(l->cs, "mesh-a", "eu");
    __atomic_store_n(&l->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int leave_began(void *ud)
{
    struct leaver *l = ud;
    /* leave takes the member out of the group first, then waits for its writers */
    return !rt_clusterset_joined(l->cs, "mesh-a", "eu") ||
           __atomic_load_n(&l->returned, __ATOMIC_SEQ_CST);
}

static int leave_returned(void *ud)
{
    return __atomic_load_n(&((struct leaver *)ud)->returned, __ATOMIC_SEQ_CST);
}

/* Synchronised on the set's own state, not on a sleep: the check runs once leave has
 * begun (the member is no longer joined), whatever the load. A leave that does not wait
 * for the writer returns within the window below (it has nothing to wait for); one that
 * does never returns before end_write, so the window cannot make it fail. */
static void test_leave_waits_for_writes_in_flight(struct test_ctx *t)
{
    struct rt_clusterset *cs = set_with("eu");
    REQUIRE(t, cs);
    rt_clusterset_join(cs, "mesh-a", "eu");
    struct kube_client *w = rt_clusterset_begin_write(cs, "mesh-a", "eu");
    REQUIRE(t, w);
    struct leaver l = {cs, 0};
    pthread_t th;
    REQUIRE(t, pthread_create(&th, NULL, leave_thread, &l) == 0);
    /* on failure below the thread may still be blocked in leave: cs is left allocated */
    REQUIREF(t, test_wait_until(leave_began, &l, 10),
             "leave did not take eu out of mesh-a within 10 s");
    test_wait_until(leave_returned, &l, 0.2);
    CHECKF(t, !leave_returned(&l), "leave returned while a write was in flight");
    struct kube_client *w2 = rt_clusterset_begin_write(cs, "mesh-a", "eu");
    CHECKF(t, !w2, "a new writer got through while leaving");
    if (w2)
        rt_clusterset_end_write(cs, w2); /* else leave would wait for it for ever */
    rt_clusterset_end_write(cs, w);
    REQUIREF(t, test_wait_until(leave_returned, &l, 10),
             "leave still waiting 10 s after the last writer ended");
    pthread_join(th, NULL);
    rt_clusterset_free(cs);
}

static void test_writer_keeps_removed_member_alive(struct test_ctx *t)
{
    struct rt_clusterset *cs = set_with("eu");
    REQUIRE(t, cs);
    rt_clusterset_join(cs, "mesh-a", "eu");
    struct kube_client *w = rt_clusterset_begin_write(cs, "mesh-a", "eu");
    REQUIRE(t, w);
    rt_clusterset_remove(cs, "eu");
    /* the client must still be usable: ASan reports a use after free otherwise */
    CHECK(t, kube_client_name(w) != NULL);
    rt_clusterset_end_write(cs, w);
    rt_clusterset_free(cs);
}

/* A kubeconfig that names another server (or CA) is another cluster for the caches: a
 * new client, the old one stale (its caches are dropped and relisted), the groups kept;
 * new credentials for the same server keep the client (issue 31). */
static void test_new_server_is_a_new_client(struct test_ctx *t)
{
    struct rt_clusterset *cs = set_with("eu");
    REQUIRE(t, cs);
    CHECK(t, rt_clusterset_join(cs, "mesh-a", "eu") == 1);
    struct kube_client *old = rt_clusterset_acquire(cs, "eu");
    struct kube_rest_config cfg = config();
    struct kube_error err = KUBE_ERROR_INIT;
    cfg.token = "rotated";
    CHECKF(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 0, "new credentials: in place");
    CHECK(t, rt_clusterset_is_current(cs, "eu", old));
    cfg.server = "https://127.0.0.1:2";
    CHECKF(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 2, "new server: replaced");
    CHECKF(t, !rt_clusterset_is_current(cs, "eu", old), "the old server's client is stale");
    struct kube_client *now = rt_clusterset_acquire(cs, "eu");
    CHECK(t, now && now != old);
    CHECKF(t, rt_clusterset_joined(cs, "mesh-a", "eu"), "the groups carry over");
    cfg.ca = (struct kube_blob){(unsigned char *)"-----BEGIN CERTIFICATE-----", 27};
    CHECKF(t, rt_clusterset_apply(cs, "eu", &cfg, &err) == 2, "new CA: replaced");
    CHECK(t, !rt_clusterset_is_current(cs, "eu", now));
    kube_error_clear(&err);
    rt_clusterset_release(cs, old);
    rt_clusterset_release(cs, now);
    rt_clusterset_free(cs);
}

static const struct test_case cases[] = {
    {"readded-member-is-a-new-client", test_readded_member_is_a_new_client},
    {"gate-open-only-while-joined", test_gate_open_only_while_joined},
    {"leave-waits-for-writes-in-flight", test_leave_waits_for_writes_in_flight},
    {"writer-keeps-removed-member-alive", test_writer_keeps_removed_member_alive},
    {"new-server-is-a-new-client", test_new_server_is_a_new_client},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
