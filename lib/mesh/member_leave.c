/*
 * member_leave: a member leaving its mesh, because it was removed from
 * spec.clusters or because the MeshNetwork is being deleted.
 *
 * The rule: eastwest lets go of a member only when nothing it wrote there for
 * the mesh is left. Leaving goes in three steps:
 *   1. the member leaves the mesh's group in the cluster set
 *      (rt_clusterset_leave): from then on the CrossClusterService controller
 *      cannot write there for this mesh, and no write of its is in flight;
 *   2. everything labelled with the mesh is deleted: the gateway kinds and
 *      cacerts (unless retained) in the Istio namespace, and the
 *      CrossClusterServices' ServiceEntries and DestinationRules in every
 *      namespace (member_cleanup in member_sync.c);
 *   3. only when that pass found and deleted everything is the member
 *      disconnected (and a deleted MeshNetwork's finalizer released).
 * A member that does not answer stays connected and pending: named in the
 * status (CleanupPending), retried with backoff, and woken by its watches'
 * health. So that a restart of the operator does not forget a removed member
 * whose cleanup is pending, status.removedClusters records it with its
 * kubeconfigSecretRef; the next reconcile connects it again from there. The one
 * way out without a cleanup is deleting that kubeconfig Secret: the member is
 * then gone for good, and an Event says what was left there.
 */
#include "member_leave.h"

#include "json_path.h"
#include "member_claim.h"
#include "member_sync.h"
#include "mesh_state.h"

#include <stdlib.h>
#include <string.h>

int member_leave_and_clean(struct mesh_ctx *ctx, struct mesh_member *m, struct strbuf *why)
{
    rt_clusterset_leave(ctx->mc->clusters, ctx->net->name, m->cluster);
    if (!mesh_member_synced(m)) {
        char *e = NULL;
        int healthy = mesh_member_healthy(m, &e);
        strbuf_addf(why, "%scluster %s: %s", why->len ? "; " : "", m->cluster,
                    healthy ? "reading its objects (caches are syncing)" : e);
        free(e);
        return healthy ? 1 : -1;
    }
    return member_cleanup(ctx, m, why) ? -1 : 0;
}

static struct removed_member *removed_add(struct removed_set *rm, const char *name,
                                          const char *secret_name, const char *secret_key)
{
    struct removed_member *r = &rm->items[rm->n++];
    memset(r, 0, sizeof(*r));
    r->spec.name = ew_strdup(name);
    r->spec.network = ew_strdup("");
    r->spec.secret_name = secret_name ? ew_strdup(secret_name) : NULL;
    r->spec.secret_key = ew_strdup(secret_key ? secret_key : "kubeconfig");
    member_result_init(&r->res, &r->spec);
    strbuf_init(&r->why, 0);
    return r;
}

static int removed_has(const struct removed_set *rm, const char *name)
{
    for (size_t i = 0; i < rm->n; i++)
        if (strcmp(rm->items[i].spec.name, name) == 0)
            return 1;
    return 0;
}

/* The cleanup of a removed member is given up: its kubeconfig Secret is gone. */
static void record_abandoned(struct mesh_ctx *ctx, const struct removed_member *r)
{
    state_forget_metrics(ctx->mc, ctx->net->name, r->spec.name);
    rt_record(&ctx->events, "Warning", "CleanupAbandoned", "Delete",
              "cluster %s left the mesh and its kubeconfig Secret %s/%s is gone: what eastwest "
              "wrote there is left as it is (the objects labelled %s=%s)",
              r->spec.name, ctx->mc->namespace_, r->spec.secret_name ? r->spec.secret_name : "",
              MESH_LABEL_MESH, ctx->net->name);
}

static int secret_gone(struct mesh_ctx *ctx, const char *name)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", ctx->mc->namespace_, name);
    cJSON *secret = rt_store_get_copy(rt_reflector_store(ctx->mc->secrets), key.buf);
    strbuf_release(&key);
    cJSON_Delete(secret);
    return secret == NULL;
}

static int recorded_pending(const cJSON *recorded, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, recorded)
    {
        const char *n = mesh_json_str(e, "name", NULL);
        if (n && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

/* A member recorded in status.removedClusters that this process has not connected (it
 * restarted): connect it again from the recorded kubeconfigSecretRef. */
static void reconnect_recorded(struct mesh_ctx *ctx, struct removed_set *rm, const cJSON *e)
{
    const char *name = mesh_json_str(e, "name", NULL);
    if (!name || mesh_network_cluster(ctx->net, name) || state_member(ctx->state, name, NULL) ||
        removed_has(rm, name))
        return;
    const cJSON *ref = mesh_json_get(e, "kubeconfigSecretRef", NULL);
    struct removed_member *r =
        removed_add(rm, name, mesh_json_str(ref, "name", NULL), mesh_json_str(ref, "key", NULL));
    member_connect(ctx, &r->res);
    if (!r->res.member && strcmp(r->res.reach.reason, "KubeconfigSecretNotFound") == 0) {
        r->abandoned = 1;
        record_abandoned(ctx, r);
    }
}

void removed_collect(struct mesh_ctx *ctx, struct removed_set *rm)
{
    const cJSON *recorded = mesh_json_get(ctx->obj, "status", "removedClusters");
    size_t cap = (size_t)cJSON_GetArraySize(recorded) + ctx->state->nmembers;
    memset(rm, 0, sizeof(*rm));
    rm->items = ew_calloc(cap + 1, sizeof(*rm->items));
    const cJSON *e;
    cJSON_ArrayForEach(e, recorded) reconnect_recorded(ctx, rm, e);
    for (size_t i = 0; i < ctx->state->nmembers; i++) {
        struct mesh_member *m = ctx->state->members[i];
        /* in the spec, unless another mesh has it now: then cleaned as if removed */
        if ((mesh_network_cluster(ctx->net, m->cluster) &&
             !member_claim_refused(ctx, m->cluster, NULL)) ||
            removed_has(rm, m->cluster))
            continue;
        struct removed_member *r = removed_add(rm, m->cluster, m->secret_name, m->secret_key);
        r->res.member = m;
        if (m->secret_name && recorded_pending(recorded, m->cluster) &&
            secret_gone(ctx, m->secret_name)) {
            /* a pending cleanup given up while this process holds the connection: close
             * the write gate, disconnect, and clean nothing (a member removed together
             * with its Secret is still cleaned while the connection lasts) */
            rt_clusterset_leave(ctx->mc->clusters, ctx->net->name, m->cluster);
            state_drop_member(ctx->mc, ctx->state, i--);
            r->res.member = NULL;
            r->abandoned = 1;
            record_abandoned(ctx, r);
        }
    }
}

void removed_clean(struct mesh_ctx *ctx, struct removed_set *rm)
{
    for (size_t i = 0; i < rm->n; i++) {
        struct removed_member *r = &rm->items[i];
        if (r->abandoned)
            continue;
        if (!r->res.member) {
            strbuf_addf(&r->why, "%s", r->res.reach.message.buf);
            ctx->failed = 1;
            continue;
        }
        int rc = member_leave_and_clean(ctx, r->res.member, &r->why);
        if (rc == 1)
            rm->syncing = 1;
        else if (rc != 0)
            ctx->failed = 1;
        if (rc != 0)
            continue;
        r->done = 1;
        size_t idx = 0;
        if (state_member(ctx->state, r->spec.name, &idx))
            state_drop_member(ctx->mc, ctx->state, idx);
        member_claim_released(ctx->mc, ctx->net->name, &r->spec.name, 1);
        state_forget_metrics(ctx->mc, ctx->net->name, r->spec.name);
        r->res.member = NULL;
        rt_record(&ctx->events, "Normal", "ClusterRemoved", "Delete",
                  "cluster %s left the mesh: everything eastwest wrote there is removed",
                  r->spec.name);
    }
}

size_t removed_pending(const struct removed_set *rm, struct strbuf *why)
{
    size_t n = 0;
    for (size_t i = 0; i < rm->n; i++) {
        const struct removed_member *r = &rm->items[i];
        if (r->done || r->abandoned)
            continue;
        n++;
        if (why)
            strbuf_addf(why, "%s%s", why->len ? "; " : "", r->why.buf);
    }
    return n;
}

void removed_add_status(cJSON *st, const cJSON *old_conds, const struct removed_set *rm,
                        int64_t gen)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < rm->n; i++) {
        const struct removed_member *r = &rm->items[i];
        if (r->done || r->abandoned)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", r->spec.name);
        if (r->spec.secret_name) {
            cJSON *ref = cJSON_AddObjectToObject(e, "kubeconfigSecretRef");
            cJSON_AddStringToObject(ref, "name", r->spec.secret_name);
            cJSON_AddStringToObject(ref, "key", r->spec.secret_key);
        }
        cJSON_AddStringToObject(e, "message", r->why.buf);
        cJSON_AddItemToArray(list, e);
    }
    struct strbuf why = STRBUF_INIT, msg = STRBUF_INIT;
    size_t n = removed_pending(rm, &why);
    cJSON_DeleteItemFromObjectCaseSensitive(st, "removedClusters"); /* as copied: replaced */
    if (n) {
        strbuf_addf(&msg, "removed from spec.clusters, waiting to clean up before letting go: %s",
                    why.buf);
        cJSON_AddItemToObject(st, "removedClusters", list);
    } else {
        cJSON_Delete(list);
    }
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
    if (conds)
        mesh_condition_add(conds, old_conds, "CleanupPending", n ? MESH_COND_TRUE : MESH_COND_FALSE,
                           n ? "ClustersLeaving" : "NoCleanup", msg.buf, gen);
    strbuf_release(&why);
    strbuf_release(&msg);
}

void removed_release(struct removed_set *rm)
{
    for (size_t i = 0; i < rm->n; i++) {
        struct removed_member *r = &rm->items[i];
        member_result_release(&r->res);
        strbuf_release(&r->why);
        free(r->spec.name);
        free(r->spec.network);
        free(r->spec.secret_name);
        free(r->spec.secret_key);
    }
    free(rm->items);
    memset(rm, 0, sizeof(*rm));
}
