/*
 * promises_world: the world of test_promises_status.c and test_promises_events.c, the
 * tests of what docs/meshnetwork.md, docs/crossclusterservice.md and docs/design.md
 * promise: the tutorial's clusters of reconcile_world.h and fake clusters of its own
 * ("extras") for promises that need more members than two, reached through kubeconfig
 * Secrets <name>-kubeconfig in the operator's namespace, their load balancer and istiod
 * played too; and readers of Events for the checks.
 *
 * Every wait is for a condition, bounded by a deadline (scaled under valgrind).
 */
#ifndef EW_TEST_PROMISES_WORLD_H
#define EW_TEST_PROMISES_WORLD_H

#include "harness.h"
#include "reconcile_world.h"

#define MAX_EXTRA 8

struct pworld {
    struct world w;
    size_t n;
    struct fake_cluster *fc[MAX_EXTRA];
    char name[MAX_EXTRA][64];
};

/* A deadline in seconds, longer under valgrind (test_time_scale()). */
double T(double s);

/* The tutorial's clusters, Namespace default in us (where a MeshNetwork's Events go),
 * and no extra member yet. */
void pw_init(struct pworld *p);
/* One more cluster with istiod's namespace and ConfigMap, as the tutorial's have, and
 * its kubeconfig Secret. */
struct fake_cluster *pw_add(struct pworld *p, const char *name);
/* Secret <cluster>-kubeconfig in the operator's namespace, with this token. */
void put_kubeconfig_secret(struct pworld *p, const char *cluster, const char *token);
/* world_start, with a cluster set that also reaches the extras. */
void pw_start(struct pworld *p);
void pw_free(struct pworld *p);
/* What the cloud and istiod do in the extras (reconcile_world does it in us and eu). */
void pw_play(struct pworld *p);
/* Writes to the extras. */
unsigned long extra_writes(struct pworld *p);

typedef int (*pw_cond)(struct pworld *p, void *ud);
/* world_settle over every cluster: done holds, nothing written in any cluster and both
 * queues idle. 1 when settled within timeout seconds. */
int pw_settle(struct pworld *p, pw_cond done, void *ud, double timeout);
/* Until cond holds (no quiet needed: for states where the operator keeps retrying). */
int pw_wait(struct pworld *p, pw_cond cond, void *ud, double timeout);
int tutorial_ready(struct pworld *p, void *ud);
/* pw_init, the tutorial applied, pw_start, settled Ready (REQUIRE). */
void start_tutorial(struct test_ctx *t, struct pworld *p);

/* obj's data.<key> (keys have dots: world_str_at cannot name them), or NULL. */
const char *data_str(const cJSON *obj, const char *key);
/* The MeshNetwork training-mesh (caller frees), or NULL. */
cJSON *get_mesh(struct pworld *p);
/* Put obj back with metadata.generation one higher: a spec change as the API server
 * counts it (fake_cluster_put keeps what it is given). */
void put_spec_change(struct fake_cluster *fc, const struct kube_resource *r, cJSON *obj);
/* The MeshNetwork's spec.clusters: us, eu and the extras named. */
void set_members(struct pworld *p, const char *const *extras, size_t n);
int present(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
            const char *name);

/* Events in namespace ns of us (NULL: all) with this reason about the object kind/name;
 * the first one's copy in *first when asked (caller frees). */
int events_about(struct pworld *p, const char *ns, const char *kind, const char *name,
                 const char *reason, cJSON **first);
/* Events about the MeshNetwork training-mesh (cluster-scoped: in namespace default). */
int mesh_events(struct pworld *p, const char *reason, cJSON **first);

struct want_event {
    const char *reason;
    int at_least;
};
/* ud a struct want_event: that many MeshNetwork Events of its reason (at_least 0: 1). */
int mesh_event_seen(struct pworld *p, void *ud);
/* ud a reason: an Event of it about echo/echo. */
int ccs_event_seen(struct pworld *p, void *ud);

/* Check an Event's type, reason, regarding object (its uid too) and that its note
 * contains each of the NULL-terminated strings. */
#define CHECK_EVENT(t, ev, type, reason, obj, ...)                                                 \
    check_event(t, __FILE__, __LINE__, ev, type, reason, obj, (const char *[]){__VA_ARGS__, NULL})
void check_event(struct test_ctx *t, const char *file, int line, const cJSON *ev, const char *type,
                 const char *reason, const cJSON *obj, const char *const *note_has);

#endif
