/*
 * member_claim.c: a cluster listed by two MeshNetworks (see member_claim.h).
 */
#include "member_claim.h"

#include "json_path.h"

#include <stdlib.h>
#include <string.h>

struct claim_scan {
    const char *self, *self_ts, *cluster;
    char *older, *older_ts; /* the oldest other mesh listing cluster, if older than self */
};

/* (ts, name) < (ts2, name2): created earlier, or at the same second with a smaller name.
 * RFC 3339 times in UTC ("...Z", as the API server writes them) sort as strings. */
static int before(const char *ts, const char *name, const char *ts2, const char *name2)
{
    int c = strcmp(ts ? ts : "", ts2 ? ts2 : "");
    return c < 0 || (c == 0 && strcmp(name, name2) < 0);
}

static int lists_cluster(const cJSON *mesh, const char *cluster)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, mesh_json_get(mesh, "spec", "clusters"))
    {
        const char *n = mesh_json_str(c, "name", NULL);
        if (n && strcmp(n, cluster) == 0)
            return 1;
    }
    return 0;
}

static void scan_mesh(void *ud, const char *key, const cJSON *obj)
{
    struct claim_scan *s = ud;
    const char *ts = mesh_json_str(obj, "metadata", "creationTimestamp");
    /* a mesh being deleted claims nothing more: what it still holds, holder() sees */
    if (strcmp(key, s->self) == 0 || mesh_json_get(obj, "metadata", "deletionTimestamp") ||
        !lists_cluster(obj, s->cluster) || !before(ts, key, s->self_ts, s->self))
        return;
    if (s->older && !before(ts, key, s->older_ts, s->older))
        return;
    free(s->older);
    free(s->older_ts);
    s->older = ew_strdup(key);
    s->older_ts = ew_strdup(ts);
}

/* Another mesh whose state holds a member named cluster (caller frees), or NULL. */
static char *holder(struct mesh_network_controller *mc, const char *self, const char *cluster)
{
    char *who = NULL;
    const char *k;
    void *v;
    pthread_mutex_lock(&mc->mu);
    for (size_t i = 0; !who && strmap_next(&mc->states, &i, &k, &v);)
        if (strcmp(k, self) != 0 && state_member(v, cluster, NULL))
            who = ew_strdup(k);
    pthread_mutex_unlock(&mc->mu);
    return who;
}

int member_claim_refused(struct mesh_ctx *ctx, const char *cluster, struct mesh_problem *p)
{
    struct mesh_network_controller *mc = ctx->mc;
    struct claim_scan s = {
        .self = ctx->net->name,
        .self_ts = mesh_json_str(ctx->obj, "metadata", "creationTimestamp"),
        .cluster = cluster,
    };
    rt_store_foreach(rt_reflector_store(mc->meshes), scan_mesh, &s);
    char *held = s.older ? NULL : holder(mc, ctx->net->name, cluster);
    if (s.older && p)
        mesh_problem_set(p, MESH_REASON_CLUSTER_IN_OTHER_MESH,
                         "cluster %s is listed by MeshNetwork %s too, which is older (created "
                         "%s): a cluster belongs to one mesh, so MeshNetwork %s does nothing "
                         "there; remove the cluster from one of them",
                         cluster, s.older, s.older_ts ? s.older_ts : "?", ctx->net->name);
    else if (held && p)
        mesh_problem_set(p, MESH_REASON_CLUSTER_IN_OTHER_MESH,
                         "cluster %s is still connected for MeshNetwork %s, which lists it too: "
                         "waiting for it to let go before connecting it for MeshNetwork %s",
                         cluster, held, ctx->net->name);
    int refused = s.older || held;
    free(s.older);
    free(s.older_ts);
    free(held);
    return refused;
}

/* One API server under two names, in two meshes: names alone would not see it. Only the
 * servers connected now are known (another mesh's Secrets are not parsed here), so the
 * mesh that connected it first keeps it, whichever is older. */
int member_claim_server_taken(struct mesh_ctx *ctx, const char *cluster, const char *server,
                              struct mesh_problem *p)
{
    /* this mesh holds it on that server already: the first to connect keeps it */
    if (state_member(ctx->state, cluster, NULL) &&
        rt_clusterset_server_is(ctx->mc->clusters, cluster, server))
        return 0;
    char *other = rt_clusterset_name_of_server(ctx->mc->clusters, server, cluster);
    char *held = other ? holder(ctx->mc, ctx->net->name, other) : NULL;
    if (held && p) {
        char *shown = kube_url_redacted(server);
        mesh_problem_set(p, MESH_REASON_CLUSTER_IN_OTHER_MESH,
                         "cluster %s: its server %s is cluster %s of MeshNetwork %s: a cluster "
                         "belongs to one mesh, so MeshNetwork %s does nothing there",
                         cluster, shown, other, held, ctx->net->name);
        free(shown);
    }
    int taken = held != NULL;
    free(other);
    free(held);
    return taken;
}

int member_claim_is_refusal(const struct mesh_problem *p)
{
    return p && strcmp(p->reason, MESH_REASON_CLUSTER_IN_OTHER_MESH) == 0;
}

struct wake_scan {
    struct mesh_network_controller *mc;
    const char *self;
    char *const *clusters;
    size_t n;
};

static void wake_mesh(void *ud, const char *key, const cJSON *obj)
{
    struct wake_scan *w = ud;
    if (strcmp(key, w->self) == 0)
        return;
    for (size_t i = 0; i < w->n; i++)
        if (lists_cluster(obj, w->clusters[i])) {
            rt_controller_enqueue(w->mc->ctl, key);
            return;
        }
}

void member_claim_released(struct mesh_network_controller *mc, const char *self,
                           char *const *clusters, size_t n)
{
    struct wake_scan w = {mc, self, clusters, n};
    if (n)
        rt_store_foreach(rt_reflector_store(mc->meshes), wake_mesh, &w);
}
