/*
 * meshnetwork: the MeshNetwork controller: watches, the reconcile flow, the
 * mesh root, deletion and status (see meshnetwork.h; the members each mesh
 * keeps are in mesh_state.c, the work inside one member in member_sync.c, a
 * member leaving in member_leave.c).
 */
#include "member_claim.h"
#include "member_leave.h"
#include "member_sync.h"
#include "mesh_state.h"
#include "network_recorded.h"
#include "network_status.h"

#include "cacerts.h"
#include "root_rotate.h"
#include "conditions.h"
#include "foreign.h"
#include "json_path.h"
#include "objects.h"
#include "roles.h"
#include "base/timeutil.h"
#include "runtime/finalizer.h"
#include "runtime/status_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUEUE 3600.0

/* ---- the mesh root ---- */

/* The mesh root into ctx->root (root_ok), from the cache; generated (and created at
 * home) when may_generate and the mesh names no root Secret of its own. */
static void load_root(struct mesh_ctx *ctx, int may_generate)
{
    struct mesh_network_controller *mc = ctx->mc;
    struct mesh_network *net = ctx->net;
    char *name = net->ca.root_secret ? ew_strdup(net->ca.root_secret) : mesh_root_secret_name(net);
    struct strbuf key = STRBUF_INIT, desc = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", mc->namespace_, name);
    strbuf_addf(&desc, "Secret %s", key.buf);
    cJSON *secret = rt_store_get_copy(rt_reflector_store(mc->secrets), key.buf);
    const char *version =
        mesh_json_str(mesh_json_get(secret, "metadata", NULL), "resourceVersion", NULL);
    struct strbuf rv = STRBUF_INIT; /* which Secret, at which version */
    if (version)
        strbuf_addf(&rv, "%s@%s", key.buf, version);
    struct mesh_state *st = ctx->state;
    if (secret && version && st && st->root_rv && strcmp(rv.buf, st->root_rv) == 0) {
        /* the Secret read last time: its key and certificate are not parsed again */
        ctx->root =
            (struct mesh_keypair){ew_strdup(st->root.cert_pem), ew_strdup(st->root.key_pem)};
        ctx->root_info = st->root_info;
        ctx->root_ok = 1;
    } else if (secret) {
        ctx->root_ok = mesh_root_from_secret(secret, desc.buf, &ctx->root, &ctx->root_info,
                                             &ctx->root_problem) == MESH_OK;
        if (ctx->root_ok && version && st)
            state_keep_root(st, rv.buf, &ctx->root, &ctx->root_info);
    } else if (net->ca.root_secret) {
        mesh_problem_set(&ctx->root_problem, "RootSecretNotFound",
                         "%s (certificateAuthority.rootSecretRef) not found", desc.buf);
    } else if (!may_generate) {
        mesh_problem_set(&ctx->root_problem, "RootSecretNotFound", "%s not found", desc.buf);
    } else if (mesh_ca_generate_root(net->ca.key_algorithm, net->ca.root_validity, net->name,
                                     &ctx->root, &ctx->root_problem) == MESH_OK) {
        cJSON *obj = mesh_build_root_secret(net, mc->namespace_, &ctx->root);
        rotation_mark_new_root(net, obj); /* a request made before it existed is answered */
        struct kube_error err = KUBE_ERROR_INIT;
        /* create, not apply: two replicas racing must not replace each other's root */
        kube_code rc =
            kube_create(mc->o.home, &KUBE_RES_SECRETS, mc->namespace_, obj, NULL, NULL, &err);
        if (rc == KUBE_OK) {
            cJSON_Delete(secret);
            secret = obj;
            obj = NULL;
            ctx->root_ok =
                mesh_ca_inspect(ctx->root.cert_pem, NULL, &ctx->root_info, NULL) == MESH_OK;
            rt_record(&ctx->events, "Normal", "RootGenerated", "Create",
                      "generated the mesh root CA (sha256 %s) in %s", ctx->root_info.sha256,
                      desc.buf);
        } else {
            mesh_problem_set(&ctx->root_problem, "RootSecretWriteFailed", "creating %s: %s",
                             desc.buf, err.message);
            ctx->failed = 1;
        }
        cJSON_Delete(obj);
        kube_error_clear(&err);
    }
    if (!ctx->root_ok)
        mesh_keypair_release(&ctx->root);
    cJSON_Delete(ctx->root_secret);
    ctx->root_secret = secret;
    strbuf_release(&rv);
    strbuf_release(&key);
    strbuf_release(&desc);
    free(name);
}

/* ---- what the CrossClusterServices of this mesh ask of each member (roles.h) ---- */

struct host_scan {
    struct mesh_gateway_hosts hosts;
    struct member_result *res; /* res[i] for net->clusters[i] */
};

/* The CrossClusterServices of this mesh as map_ccs parsed them when they changed (not
 * once per reconcile: issue 16's profile had the parse of every one in every MeshNetwork
 * reconcile as a quarter of the operator's CPU). */
static void scan_ccs(struct mesh_network_controller *mc, struct host_scan *s)
{
    const char *k;
    void *v;
    pthread_mutex_lock(&mc->mu);
    /* first who wins each address, so that a conflict's loser adds no host */
    for (size_t it = 0; strmap_next(&mc->ccs_seen, &it, &k, &v);) {
        const struct ccs_seen *seen = v;
        if (seen->parsed && !seen->deleting &&
            strcmp(seen->ccs.mesh_network, s->hosts.net->name) == 0)
            mesh_gateway_hosts_claim(&s->hosts, &seen->ccs);
    }
    for (size_t it = 0; strmap_next(&mc->ccs_seen, &it, &k, &v);) {
        const struct ccs_seen *seen = v;
        if (!seen->parsed || seen->deleting || strcmp(seen->ccs.mesh_network, s->hosts.net->name))
            continue;
        mesh_gateway_hosts_add(&s->hosts, &seen->ccs);
        for (size_t i = 0; i < s->hosts.net->nclusters; i++)
            if (mesh_ccs_role(&seen->ccs, s->res[i].spec->name) & MESH_ROLE_IMPORTS)
                s->res[i].importing = 1;
    }
    pthread_mutex_unlock(&mc->mu);
}

static int write_status(struct mesh_ctx *ctx, cJSON *status)
{
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc =
        rt_status_write(ctx->mc->o.home, &MESH_RES_MESHNETWORKS, ctx->obj, status, NULL, &err);
    if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND) {
        ew_log(ctx->mc->o.log, EW_LOG_WARN, "status write failed", "meshnetwork", ctx->net->name,
               "error", err.message, NULL);
        kube_error_clear(&err);
        return -1;
    }
    kube_error_clear(&err);
    return 0;
}

static void set_cert_metrics(struct mesh_ctx *ctx, const struct member_result *res, size_t n)
{
    struct rt_metric *g = ctx->mc->m_cert_expiry;
    if (!g)
        return;
    if (ctx->root_ok) {
        const char *lv[] = {ctx->net->name, "", "root"};
        rt_metric_set(g, lv, (double)ctx->root_info.not_after);
        const char *mesh[] = {ctx->net->name};
        rt_metric_set(ctx->mc->m_rotation_phase, mesh, (double)ctx->rot.phase);
    }
    for (size_t i = 0; i < n; i++) {
        if (!res[i].intermediate_not_after)
            continue;
        const char *lv[] = {ctx->net->name, res[i].spec->name, "intermediate"};
        rt_metric_set(g, lv, (double)res[i].intermediate_not_after);
    }
}

/* ---- deletion ---- */

static void drop_state(struct mesh_network_controller *mc, const char *name)
{
    state_forget_metrics(mc, name, NULL); /* also when no state is held for it */
    pthread_mutex_lock(&mc->mu);
    struct mesh_state *s = strmap_remove(&mc->states, name);
    pthread_mutex_unlock(&mc->mu);
    if (!s)
        return;
    char **held = ew_calloc(s->nmembers + 1, sizeof(char *));
    size_t nheld = s->nmembers;
    for (size_t i = 0; i < s->nmembers; i++) { /* no write for a mesh that is gone */
        rt_clusterset_leave(mc->clusters, name, s->members[i]->cluster);
        held[i] = ew_strdup(s->members[i]->cluster);
    }
    while (s->nmembers)
        state_drop_member(mc, s, s->nmembers - 1);
    member_claim_released(mc, name, held, nheld); /* a newer mesh waiting for them */
    for (size_t i = 0; i < nheld; i++)
        free(held[i]);
    free(held);
    state_release_root(s);
    free(s->members);
    free(s);
}

/* Deleting: every member (and every removed one still pending) leaves the mesh and is
 * cleaned; the root Secret goes when asked; the finalizer only when all that is done. */
static struct rt_result finish_deletion(struct mesh_ctx *ctx, struct member_result *res, size_t n,
                                        struct removed_set *rm)
{
    struct strbuf why = STRBUF_INIT;
    int syncing = 0;
    for (size_t i = 0; i < n; i++) {
        struct member_result *r = &res[i];
        if (member_claim_is_refusal(&r->reach))
            continue; /* another mesh's: never connected for this one (a connection it had
                         is cleaned as a removed member's, in rm) */
        if (!r->member && strcmp(r->reach.reason, "KubeconfigSecretNotFound") == 0 &&
            !state_member(ctx->state, r->spec->name, NULL)) {
            /* as for a removed member: deleting its Secret is the way out without a
             * cleanup (a Secret refused for its credentials is fixed or deleted) */
            rt_record(&ctx->events, "Warning", "CleanupAbandoned", "Delete",
                      "cluster %s: its kubeconfig Secret %s/%s is gone and no connection is "
                      "held: what eastwest wrote there is left as it is (the objects labelled "
                      "%s=%s)",
                      r->spec->name, ctx->mc->namespace_, r->spec->secret_name, MESH_LABEL_MESH,
                      ctx->net->name);
            continue;
        }
        if (!r->member || !member_check_reachable(ctx, r)) {
            strbuf_addf(&why, "%s%s", why.len ? "; " : "", r->reach.message.buf);
            continue;
        }
        if (member_leave_and_clean(ctx, r->member, &why) == 1)
            syncing = 1;
    }
    removed_clean(ctx, rm);
    removed_pending(rm, &why);
    syncing = syncing || rm->syncing;
    /* the root, and a new root a rotation was making (root_rotate.h) */
    for (int k = 0; k < 2 && !why.len && ctx->net->ca.on_delete == MESH_CA_DELETE; k++) {
        if (k == 0 && ctx->net->ca.root_secret)
            continue; /* the root is the user's; a rotation's state is still ours */
        char *name = k ? rotation_next_secret_name(ctx->net) : mesh_root_secret_name(ctx->net);
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code rc =
            kube_delete(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, name, NULL, &err);
        if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND)
            strbuf_addf(&why, "deleting Secret %s/%s: %s", ctx->mc->namespace_, name, err.message);
        kube_error_clear(&err);
        free(name);
    }
    if (why.len) {
        struct strbuf msg = STRBUF_INIT;
        strbuf_addf(&msg, "waiting to clean up before removing finalizer %s: %s", MESH_FINALIZER,
                    why.buf);
        cJSON *st = mesh_network_simple_status(mesh_json_get(ctx->obj, "status", NULL),
                                               "CleanupPending", msg.buf, ctx->net->generation);
        removed_add_status(st, NULL, rm, ctx->net->generation);
        write_status(ctx, st);
        if (!syncing)
            rt_record(&ctx->events, "Warning", "CleanupPending", "Delete", "%s", msg.buf);
        strbuf_release(&msg);
        strbuf_release(&why);
        /* caches still listing: look again soon, not after a backoff */
        return syncing ? (struct rt_result){RT_REQUEUE_AFTER, 0.5}
                       : (struct rt_result){RT_ERROR, 0};
    }
    strbuf_release(&why);
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = rt_finalizer_set(ctx->mc->o.home, &MESH_RES_MESHNETWORKS, ctx->obj,
                                    MESH_FINALIZER, 0, NULL, &err);
    kube_error_clear(&err);
    if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND)
        return (struct rt_result){RT_ERROR, 0};
    drop_state(ctx->mc, ctx->net->name);
    ctx->state = NULL;
    return (struct rt_result){RT_DONE, 0};
}

/* ---- the reconcile ---- */

static struct mesh_state *get_state(struct mesh_network_controller *mc, const char *name)
{
    pthread_mutex_lock(&mc->mu);
    struct mesh_state *s = strmap_get(&mc->states, name);
    if (!s) {
        s = ew_calloc(1, sizeof(*s));
        strmap_put(&mc->states, name, s);
    }
    pthread_mutex_unlock(&mc->mu);
    return s;
}

/* Members of the spec may be written to by the CrossClusterService controller. */
static void join_members(struct mesh_ctx *ctx, const struct member_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (res[i].member)
            rt_clusterset_join(ctx->mc->clusters, ctx->net->name, res[i].spec->name);
}

static double next_look(const struct mesh_ctx *ctx, const struct member_result *res, size_t n)
{
    double after = MAX_REQUEUE, now = (double)time(NULL);
    for (size_t i = 0; i < n; i++) {
        if (!res[i].intermediate_not_after)
            continue;
        double due = (double)res[i].intermediate_not_after - ctx->net->ca.renew_before - now;
        if (due <= 0) {
            /* Kept though due: the root expires within renewBefore (RootExpiring), and a
             * new intermediate would be due at once. Nothing changes until one of them
             * expires (or the root is rotated: its Secret is watched). */
            double end = (double)res[i].intermediate_not_after;
            if (ctx->root_ok && (double)ctx->root_info.not_after < end)
                end = (double)ctx->root_info.not_after;
            due = end - now;
        }
        if (due < after)
            after = due < 1 ? 1 : due;
    }
    for (size_t i = 0; i < n; i++) /* their removal wakes no cache (foreign.h) */
        if (res[i].foreign.len && MESH_FOREIGN_LOOK < after)
            after = MESH_FOREIGN_LOOK;
    return after;
}

static struct rt_result reconcile_members(struct mesh_ctx *ctx)
{
    size_t n = ctx->net->nclusters;
    struct member_result *res = ew_calloc(n, sizeof(*res));
    for (size_t i = 0; i < n; i++) {
        member_result_init(&res[i], &ctx->net->clusters[i]);
        if (member_claim_refused(ctx, res[i].spec->name, &res[i].reach))
            rt_record(&ctx->events, "Warning", MESH_REASON_CLUSTER_IN_OTHER_MESH, "Connect", "%s",
                      res[i].reach.message.buf);
        else
            member_connect(ctx, &res[i]);
    }
    struct removed_set rm;
    removed_collect(ctx, &rm);
    if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ctx->obj, "metadata"),
                                         "deletionTimestamp")) {
        load_root(ctx, 0); /* to tell our cacerts from another's, with onDelete: Delete */
        struct rt_result r = finish_deletion(ctx, res, n, &rm);
        for (size_t i = 0; i < n; i++)
            member_result_release(&res[i]);
        free(res);
        removed_release(&rm);
        return r;
    }
    removed_clean(ctx, &rm);
    join_members(ctx, res, n);
    load_root(ctx, 1);
    struct host_scan hs = {.res = res};
    mesh_gateway_hosts_init(&hs.hosts, ctx->net);
    scan_ccs(ctx->mc, &hs);
    int syncing = 0;
    for (size_t i = 0; i < n; i++) {
        struct member_result *r = &res[i];
        if (r->member && member_check_reachable(ctx, r)) {
            r->synced = mesh_member_synced(r->member);
            syncing = syncing || !r->synced;
        } else {
            ctx->failed = 1;
        }
    }
    /* a root rotation decides from every member before any is written (root_rotate.h) */
    rotation_run(ctx, res, n);
    for (size_t i = 0; i < n; i++)
        if (res[i].reachable && res[i].synced)
            member_sync(ctx, &res[i], hs.hosts.members[i].hosts, hs.hosts.members[i].n);
    mesh_gateway_hosts_release(&hs.hosts);
    set_cert_metrics(ctx, res, n);
    const struct mesh_network_root root = {
        .ok = ctx->root_ok,
        .cert_pem = ctx->root.cert_pem,
        .info = &ctx->root_info,
        .problem = &ctx->root_problem,
        .rotating =
            ctx->rot.active ? (ctx->rot.message ? ctx->rot.message : "root rotation") : NULL,
        .rotation = ctx->rot.status,
        .last_rotation = ctx->rot.last,
        .keep_reported = ctx->rot.keep_reported_root,
    };
    cJSON *st =
        mesh_network_status(mesh_json_get(ctx->obj, "status", NULL), ctx->net, &root, res, n);
    removed_add_status(st, mesh_json_get(ctx->obj, "status", "conditions"), &rm,
                       ctx->net->generation);
    if (write_status(ctx, st) != 0)
        ctx->failed = 1;
    struct rt_result out = {RT_REQUEUE_AFTER, next_look(ctx, res, n)};
    /* a rotation's next look, or when the root enters rootRenewBefore */
    if (ctx->rot.requeue_after > 0 && ctx->rot.requeue_after < out.after)
        out.after = ctx->rot.requeue_after < 1 ? 1 : ctx->rot.requeue_after;
    if (syncing || rm.syncing)
        out = (struct rt_result){RT_REQUEUE_AFTER, 0.5};
    if (ctx->failed)
        out = (struct rt_result){RT_ERROR, 0};
    for (size_t i = 0; i < n; i++)
        member_result_release(&res[i]);
    free(res);
    removed_release(&rm);
    return out;
}

static void set_event_target(struct mesh_ctx *ctx)
{
    ctx->ref = (struct rt_object_ref){"eastwest.io/v1alpha1", "MeshNetwork", NULL, ctx->net->name,
                                      ctx->net->uid};
    ctx->events = (struct rt_event_target){
        .recorder = ctx->mc->o.events,
        .log = ctx->mc->o.log,
        .log_key = "meshnetwork",
        .regarding = &ctx->ref,
    };
}

/* A MeshNetwork being deleted whose spec cannot be parsed: cleaned by what it wrote
 * (network_recorded.h), never let go without that. */
static struct rt_result delete_unreadable(struct mesh_ctx *ctx, const char *key,
                                          const struct mesh_problem *p)
{
    struct mesh_network rec;
    struct strbuf unknown = STRBUF_INIT;
    mesh_network_recorded(ctx->obj, &rec, &unknown);
    ctx->net = &rec;
    set_event_target(ctx);
    rt_record(&ctx->events, "Warning", "SpecUnreadable", "Delete",
              "the spec cannot be read (%s): cleaning the members recorded in its status by "
              "the label %s=%s",
              p->message.buf, MESH_LABEL_MESH, key);
    struct rt_result out = {RT_ERROR, 0};
    if (unknown.len) {
        struct strbuf msg = STRBUF_INIT;
        strbuf_addf(&msg,
                    "waiting to clean up before removing finalizer %s: the spec cannot be read "
                    "(%s) and the status does not record where cluster(s) %s are (their "
                    "kubeconfigSecretRef): fix the spec, or remove the finalizer by hand once "
                    "their objects labelled %s=%s are gone",
                    MESH_FINALIZER, p->message.buf, unknown.buf, MESH_LABEL_MESH, key);
        write_status(ctx, mesh_network_simple_status(mesh_json_get(ctx->obj, "status", NULL),
                                                     "CleanupPending", msg.buf, rec.generation));
        rt_record(&ctx->events, "Warning", "CleanupPending", "Delete", "%s", msg.buf);
        strbuf_release(&msg);
    } else {
        ctx->state = get_state(ctx->mc, key);
        out = reconcile_members(ctx);
    }
    strbuf_release(&unknown);
    mesh_network_release(&rec);
    ctx->net = NULL;
    return out;
}

static struct rt_result reconcile(void *ud, const char *key)
{
    struct mesh_network_controller *mc = ud;
    cJSON *obj = rt_store_get_copy(rt_reflector_store(mc->meshes), key);
    if (!obj) { /* gone: the finalizer already cleaned up, or it was never ours */
        drop_state(mc, key);
        return (struct rt_result){RT_DONE, 0};
    }
    struct mesh_network net;
    struct mesh_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.mc = mc;
    ctx.obj = obj;
    ctx.net = &net;
    mesh_problem_init(&ctx.root_problem);
    struct mesh_problem p;
    mesh_problem_init(&p);
    struct rt_result out = {RT_DONE, 0};
    int deleting =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                         "deletionTimestamp") != NULL;
    if (mesh_network_parse(obj, &net, &p) != MESH_OK) {
        /* Nothing can be computed; what was written stays as it is. */
        ctx.net = NULL;
        struct mesh_network stub = {0};
        stub.name = (char *)key;
        ctx.net = &stub;
        if (deleting && rt_finalizer_present(obj, MESH_FINALIZER)) {
            out = delete_unreadable(&ctx, key, &p);
            goto out_noparse;
        }
        write_status(&ctx, mesh_network_simple_status(mesh_json_get(obj, "status", NULL), p.reason,
                                                      p.message.buf, mesh_object_generation(obj)));
        if (deleting) /* no finalizer: nothing more to do for it */
            drop_state(mc, key);
        goto out_noparse;
    }
    set_event_target(&ctx);
    if (deleting && !rt_finalizer_present(obj, MESH_FINALIZER)) {
        drop_state(mc, key);
        goto out;
    }
    if (!deleting && !rt_finalizer_present(obj, MESH_FINALIZER)) {
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code rc = rt_finalizer_set(mc->o.home, &MESH_RES_MESHNETWORKS, obj, MESH_FINALIZER, 1,
                                        NULL, &err);
        kube_error_clear(&err);
        /* the update comes back through the watch and queues the key again */
        out = (struct rt_result){rc == KUBE_OK ? RT_DONE : RT_ERROR, 0};
        goto out;
    }
    ctx.state = get_state(mc, key);
    out = reconcile_members(&ctx);
out:
    mesh_network_release(&net);
out_noparse:
    mesh_keypair_release(&ctx.root);
    mesh_problem_release(&ctx.root_problem);
    cJSON_Delete(ctx.root_secret);
    rotation_release(&ctx.rot);
    mesh_problem_release(&p);
    cJSON_Delete(obj);
    return out;
}

/* ---- watches in the home cluster ---- */

struct secret_scan {
    const char *secret;
    void (*emit)(void *q, const char *key);
    void *q;
};

static void scan_mesh_for_secret(void *ud, const char *key, const cJSON *obj)
{
    struct secret_scan *s = ud;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *c;
    size_t len = strlen(key);
    if (strncmp(s->secret, key, len) == 0 && (strcmp(s->secret + len, "-root-ca") == 0 ||
                                              strcmp(s->secret + len, "-root-ca-next") == 0)) {
        s->emit(s->q, key);
        return;
    }
    const cJSON *rootref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(spec, "certificateAuthority"), "rootSecretRef"),
        "name");
    if (cJSON_IsString(rootref) && strcmp(rootref->valuestring, s->secret) == 0) {
        s->emit(s->q, key);
        return;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "clusters"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(c, "kubeconfigSecretRef"), "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, s->secret) == 0) {
            s->emit(s->q, key);
            return;
        }
    }
}

static void map_secret(void *ud, enum rt_change change, const char *key, const cJSON *obj,
                       void (*emit)(void *q, const char *primary_key), void *q)
{
    struct mesh_network_controller *mc = ud;
    (void)obj;
    const char *slash = strchr(key, '/');
    struct secret_scan s = {slash ? slash + 1 : key, emit, q};
    rt_store_foreach(rt_reflector_store(mc->meshes), scan_mesh_for_secret, &s);
}

/* What this controller's cache keeps of a CrossClusterService: no status (map_ccs reads
 * the spec and metadata; the status is the other controller's, and half the object). */
static cJSON *ccs_without_status(cJSON *obj)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    return obj;
}

static void ccs_seen_free(struct ccs_seen *s)
{
    if (!s)
        return;
    if (s->parsed)
        mesh_ccs_release(&s->ccs);
    free(s);
}

/* A CrossClusterService's change queues its MeshNetwork only when what the mesh reads
 * of it can have changed: its spec (generation) or its deletion, and its parse is kept
 * for the reconcile (scan_ccs); a status write or its
 * finalizer does not (issue 16: a bulk create queued the mesh, which reads every
 * CrossClusterService, four times per service). A deletion always does. The mesh is
 * queued MESH_CCS_BATCH seconds later, so that the changes of a burst (a bulk create
 * of N services) are one reconcile: each rewrites the members' Gateways, which list
 * every exported host (at 3,000 services a 380 KB object, written 600 times in eu
 * during such a create without the wait). */
#define MESH_CCS_BATCH 0.5

static void map_ccs(void *ud, enum rt_change change, const char *key, const cJSON *obj,
                    void (*emit)(void *q, const char *primary_key), void *q)
{
    struct mesh_network_controller *mc = ud;
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "spec"), "meshNetwork");
    int gone = change == RT_DELETE;
    int64_t gen = mesh_object_generation(obj);
    int deleting = mesh_json_get(obj, "metadata", "deletionTimestamp") != NULL;
    pthread_mutex_lock(&mc->mu);
    struct ccs_seen *was = gone ? NULL : strmap_get(&mc->ccs_seen, key);
    int changed = gone || !was || was->generation != gen || was->deleting != deleting;
    /* moved to another mesh: the old one's Gateways stop passing its host */
    char *left = changed && was && was->parsed && cJSON_IsString(mn) &&
                         strcmp(was->ccs.mesh_network, mn->valuestring) != 0
                     ? ew_strdup(was->ccs.mesh_network)
                     : NULL;
    if (gone) {
        ccs_seen_free(strmap_remove(&mc->ccs_seen, key));
    } else if (changed) {
        struct ccs_seen *now = ew_calloc(1, sizeof(*now));
        now->generation = gen;
        now->deleting = deleting;
        now->parsed = mesh_ccs_parse(obj, &now->ccs, NULL) == MESH_OK;
        ccs_seen_free(strmap_put(&mc->ccs_seen, key, now));
    }
    pthread_mutex_unlock(&mc->mu);
    (void)emit;
    (void)q;
    if (changed && cJSON_IsString(mn))
        rt_controller_enqueue_after(mc->ctl, mn->valuestring, MESH_CCS_BATCH);
    if (left)
        rt_controller_enqueue_after(mc->ctl, left, MESH_CCS_BATCH);
    free(left);
}

struct mesh_network_controller *
mesh_network_controller_new(const struct mesh_network_controller_options *o)
{
    struct mesh_network_controller *mc = ew_calloc(1, sizeof(*mc));
    mc->o = *o;
    mc->namespace_ = ew_strdup(o->namespace_);
    mc->o.namespace_ = mc->namespace_;
    pthread_mutex_init(&mc->mu, NULL);
    strmap_init(&mc->states);
    strmap_init(&mc->ccs_seen);
    mc->clusters = o->clusters;
    if (o->metrics) {
        mc->m_cert_expiry = rt_metrics_register(
            o->metrics, RT_GAUGE, "eastwest_certificate_expiry_timestamp_seconds",
            "When the mesh root (kind=root) or a member's intermediate CA (kind=intermediate) "
            "expires, as a Unix time.",
            "mesh,cluster,kind", NULL, 0);
        mc->m_rotation_phase = rt_metrics_register(
            o->metrics, RT_GAUGE, "eastwest_root_rotation_phase",
            "The mesh root's rotation phase: 0 none, 1 TrustBoth, 2 SignWithNew, 3 Overlap, "
            "4 DropOld.",
            "mesh", NULL, 0);
    }
    const struct rt_controller_options co = {
        .name = "meshnetwork",
        .workers = o->workers,
        .reconcile = reconcile,
        .ud = mc,
        .metrics = o->metrics,
        .log = o->log,
        .queue = {.base_delay = o->retry_initial > 0 ? o->retry_initial : MESH_RETRY_INITIAL,
                  .max_delay = o->retry_max > 0 ? o->retry_max : MESH_RETRY_MAX},
    };
    mc->ctl = rt_controller_new(&co);
    const struct rt_reflector_options meshes = {
        .client = o->home,
        .resource = &MESH_RES_MESHNETWORKS,
        .log = o->log,
        .metrics = o->metrics,
        .owner = "meshnetwork",
    };
    mc->meshes = rt_controller_watch_primary(mc->ctl, &meshes);
    const struct rt_reflector_options secrets = {
        .client = o->home,
        .resource = &KUBE_RES_SECRETS,
        .namespace_ = mc->namespace_,
        .log = o->log,
        .metrics = o->metrics,
        .owner = "meshnetwork",
    };
    mc->secrets = rt_controller_watch(mc->ctl, &secrets, map_secret, mc);
    const struct rt_reflector_options services = {
        .client = o->home,
        .resource = &MESH_RES_CROSSCLUSTERSERVICES,
        .transform = ccs_without_status,
        .log = o->log,
        .metrics = o->metrics,
        .owner = "meshnetwork",
    };
    mc->services = rt_controller_watch(mc->ctl, &services, map_ccs, mc);
    return mc;
}

struct rt_controller *mesh_network_controller_runtime(struct mesh_network_controller *mc)
{
    return mc->ctl;
}

void mesh_network_controller_free(struct mesh_network_controller *mc)
{
    if (!mc)
        return;
    const char *k;
    void *v;
    /* members first: their reflectors queue into the controller */
    for (size_t i = 0; strmap_next(&mc->states, &i, &k, &v);) {
        struct mesh_state *s = v;
        for (size_t j = 0; j < s->nmembers; j++)
            mesh_member_stop(s->members[j], mc->clusters);
        state_release_root(s);
        free(s->members);
        free(s);
    }
    strmap_clear(&mc->states);
    for (size_t i = 0; strmap_next(&mc->ccs_seen, &i, &k, &v);)
        ccs_seen_free(v);
    strmap_clear(&mc->ccs_seen);
    rt_controller_free(mc->ctl);
    pthread_mutex_destroy(&mc->mu);
    free(mc->namespace_);
    free(mc);
}
