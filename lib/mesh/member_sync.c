/*
 * member_sync: the MeshNetwork's work inside one member cluster: read istiod's
 * configuration, write the network label, the east-west gateway and cacerts
 * where they differ from the member's caches, remove what is no longer wanted,
 * and read the gateway's addresses. Nothing here deletes because a read
 * failed: it runs only for a member whose caches are synced and reachable.
 */
#include "member_sync.h"

#include "cacerts.h"
#include "foreign.h"
#include "root_rotate.h"
#include "network_desired.h"
#include "json_path.h"
#include "objects.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void member_result_init(struct member_result *res, const struct mesh_cluster *spec)
{
    memset(res, 0, sizeof(*res));
    res->spec = spec;
    mesh_problem_init(&res->reach);
    mesh_problem_init(&res->istio_problem);
    mesh_problem_init(&res->certs_problem);
    mesh_problem_init(&res->gateway_problem);
    strbuf_init(&res->foreign, 0);
}

void member_result_release(struct member_result *res)
{
    mesh_problem_release(&res->reach);
    mesh_problem_release(&res->istio_problem);
    mesh_problem_release(&res->certs_problem);
    mesh_problem_release(&res->gateway_problem);
    strbuf_release(&res->foreign);
    mesh_istio_info_release(&res->istio);
    for (size_t i = 0; i < res->naddresses; i++)
        free(res->addresses[i]);
    free(res->addresses);
}

int member_check_reachable(struct mesh_ctx *ctx, struct member_result *res)
{
    char *why = NULL;
    struct mesh_member *m = res->member;
    if (mesh_member_healthy(m, &why)) {
        res->reachable = 1;
        rt_clusterset_set_reachable(ctx->mc->clusters, m->cluster, 1, NULL);
        return 1;
    }
    /* A cache may be failing for a reason of its own (Istio's CRDs missing) while the
     * API server answers: ask it directly. */
    cJSON *ns = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc =
        kube_get(m->client, &KUBE_RES_NAMESPACES, NULL, ctx->net->istio_namespace, &ns, &err);
    cJSON_Delete(ns);
    if (rc == KUBE_OK || rc == KUBE_E_NOT_FOUND) {
        res->reachable = 1;
    } else {
        mesh_problem_set(&res->reach,
                         rc == KUBE_E_UNAUTHORIZED || rc == KUBE_E_FORBIDDEN ? "ClusterUnauthorized"
                                                                             : "ClusterUnreachable",
                         "cluster %s: %s", m->cluster, err.message);
        res->reachable = 0;
    }
    /* what eastwest_cluster_reachable{cluster} reports (it stayed 1 before: nothing set it) */
    rt_clusterset_set_reachable(ctx->mc->clusters, m->cluster, res->reachable,
                                res->reachable ? NULL : err.message);
    kube_error_clear(&err);
    free(why);
    return res->reachable;
}

static const char *obj_kind(const cJSON *o)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
    return cJSON_IsString(k) ? k->valuestring : "object";
}

static const char *obj_meta(const cJSON *o, const char *f)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), f);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static kube_code merge_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
                             const cJSON *desired, cJSON **written, struct kube_error *err)
{
    char *text = cJSON_PrintUnformatted(desired);
    if (!text)
        ew_oom(0);
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE,
                                          .field_manager = MESH_FIELD_MANAGER};
    kube_code rc =
        kube_patch(c, r, ns, obj_meta(desired, "name"), text, strlen(text), &po, written, err);
    cJSON_free(text);
    return rc;
}

/* The member's cache of resource r, or NULL. */
static struct rt_reflector *member_cache(struct mesh_member *m, const struct kube_resource *r)
{
    for (int w = 0; w < MESH_W_COUNT; w++)
        if (mesh_watch_resource((enum mesh_watch)w) == r)
            return m->watches[w];
    return NULL;
}

/* Server-side apply desired if live differs. 0 on success (written or not). The
 * answer goes into the member's cache (rt_reflector_written), so that the watch event
 * of our own write queues no reconcile: during a bulk create each such event made the
 * mesh reconcile at once and rewrite the Gateway with the hosts added meanwhile, past
 * the batching delay (issue 16: 0.3 Gateway writes, and their Events, per service). */
static int apply_if_needed(struct mesh_ctx *ctx, struct mesh_member *m,
                           const struct kube_resource *r, const cJSON *desired, const cJSON *live,
                           struct mesh_problem *p)
{
    if (!mesh_object_needs_apply(desired, live))
        return 0;
    struct kube_error err = KUBE_ERROR_INIT;
    const char *ns = r->namespaced ? obj_meta(desired, "namespace") : NULL;
    cJSON *written = NULL;
    kube_code rc = kube_apply(m->client, r, ns, desired, MESH_FIELD_MANAGER, 1, &written, &err);
    if (rc == KUBE_E_INVALID && live) {
        /* Someone else's manager owns list items next to ours (kubectl edited a port:
         * apply then keeps their item beside ours and the server refuses the
         * duplicate). A merge patch replaces whole lists: it puts ours back. */
        kube_error_clear(&err);
        cJSON_Delete(written);
        written = NULL;
        rc = merge_patch(m->client, r, ns, desired, &written, &err);
    }
    struct rt_reflector *cache = rc == KUBE_OK ? member_cache(m, r) : NULL;
    if (cache)
        rt_reflector_written(cache, written);
    else
        cJSON_Delete(written);
    const char *kind = obj_kind(desired), *name = obj_meta(desired, "name");
    if (rc != KUBE_OK) {
        mesh_problem_set(p, "ApplyFailed", "cluster %s: writing %s %s%s%s: %s", m->cluster, kind,
                         ns ? ns : "", ns ? "/" : "", name, err.message);
        rt_record(&ctx->events, "Warning", "ApplyFailed", "Apply", "%s", p->message.buf);
        kube_error_clear(&err);
        ctx->failed = 1;
        return -1;
    }
    rt_record(&ctx->events, "Normal", live ? "Updated" : "Created", live ? "Update" : "Create",
              "%s %s %s%s%s in cluster %s", live ? "updated" : "created", kind, ns ? ns : "",
              ns ? "/" : "", name, m->cluster);
    return 0;
}

static int delete_object(struct mesh_ctx *ctx, struct mesh_member *m, const struct kube_resource *r,
                         const char *ns, const char *name, const char *kind, struct strbuf *why)
{
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = kube_delete(m->client, r, ns, name, NULL, &err);
    if (rc == KUBE_OK)
        rt_record(&ctx->events, "Normal", "Deleted", "Delete", "deleted %s %s/%s in cluster %s",
                  kind, ns, name, m->cluster);
    else if (rc != KUBE_E_NOT_FOUND && why)
        strbuf_addf(why, "%scluster %s: deleting %s %s/%s: %s", why->len ? "; " : "", m->cluster,
                    kind, ns, name, err.message);
    kube_error_clear(&err);
    return rc == KUBE_OK || rc == KUBE_E_NOT_FOUND ? 0 : -1;
}

struct stale_scan {
    const struct mesh_desired_set *want;
    const struct kube_resource *r;
    char **names;
    size_t n;
};

static void collect_stale(void *ud, const char *key, const cJSON *obj)
{
    struct stale_scan *s = ud;
    (void)key;
    if (!mesh_desired_find(s->want, s->r, obj_meta(obj, "namespace"), obj_meta(obj, "name"))) {
        s->names = ew_realloc(s->names, (s->n + 1) * sizeof(char *));
        s->names[s->n++] = ew_strdup(obj_meta(obj, "name"));
    }
}

/* Delete objects of the gateway kinds that carry the mesh's labels but are not wanted. */
static void delete_unwanted(struct mesh_ctx *ctx, struct member_result *res,
                            const struct mesh_desired_set *want)
{
    struct mesh_member *m = res->member;
    for (int w = MESH_W_SERVICES; w <= MESH_W_GATEWAYS; w++) {
        struct stale_scan s = {want, mesh_watch_resource((enum mesh_watch)w), NULL, 0};
        rt_store_foreach(mesh_member_store(m, (enum mesh_watch)w), collect_stale, &s);
        for (size_t i = 0; i < s.n; i++) {
            struct strbuf why = STRBUF_INIT;
            if (delete_object(ctx, m, s.r, m->istio_ns, s.names[i], s.r->plural, &why) != 0) {
                mesh_problem_set(&res->gateway_problem, "DeleteFailed", "%s", why.buf);
                res->gateway_ok = 0;
                ctx->failed = 1;
            }
            strbuf_release(&why);
            free(s.names[i]);
        }
        free(s.names);
    }
}

/* Did the last status already say message in this member's ForeignObjects condition? */
static int foreign_reported(const struct mesh_ctx *ctx, const char *cluster, const char *message)
{
    const cJSON *member =
        mesh_json_find(mesh_json_get(ctx->obj, "status", "clusters"), "name", cluster);
    const cJSON *cond =
        mesh_json_find(mesh_json_get(member, "conditions", NULL), "type", "ForeignObjects");
    const char *was = mesh_json_str(cond, "message", NULL);
    return was && strcmp(was, message) == 0;
}

/* The gateway object d, not in the member's (label-selected) cache: absent, ours and not
 * seen yet (*live set), or foreign (*live set; listed in res->foreign unless the mesh
 * adopts, then *adopt). -1 when it could not be read: the problem says so. */
static int find_by_name(struct mesh_ctx *ctx, struct member_result *res,
                        const struct mesh_desired *d, cJSON **live, int *adopt)
{
    struct mesh_member *m = res->member;
    const char *ns = d->resource->namespaced ? obj_meta(d->obj, "namespace") : NULL;
    const char *name = obj_meta(d->obj, "name"), *kind = obj_kind(d->obj);
    struct kube_error err = KUBE_ERROR_INIT;
    enum mesh_found f =
        mesh_object_lookup(m->client, d->resource, ns, name, ctx->net->name, NULL, live, &err);
    if (f == MESH_FOUND_ERROR) {
        mesh_problem_set(&res->gateway_problem, "ApplyFailed",
                         "cluster %s: writing %s %s%s%s: reading it first: %s", m->cluster, kind,
                         ns ? ns : "", ns ? "/" : "", name, err.message);
        rt_record(&ctx->events, "Warning", "ApplyFailed", "Apply", "%s",
                  res->gateway_problem.message.buf);
        kube_error_clear(&err);
        ctx->failed = 1;
        return -1;
    }
    if (f == MESH_FOUND_FOREIGN && ctx->net->adopt_existing_objects)
        *adopt = 1;
    else if (f == MESH_FOUND_FOREIGN)
        mesh_foreign_add(&res->foreign, kind, ns, name);
    return 0;
}

/* Foreign objects where the gateway goes: nothing of the gateway is written (half of one
 * beside someone else's would serve neither), GatewayReady is False, one Warning Event
 * each time the list changes, and a look again in MESH_FOREIGN_LOOK. */
static void report_foreign(struct mesh_ctx *ctx, struct member_result *res)
{
    const char *cluster = res->member->cluster;
    struct strbuf msg = STRBUF_INIT;
    mesh_foreign_message(&msg, cluster, res->foreign.buf);
    mesh_problem_set(&res->gateway_problem, "ForeignObject", "%s", msg.buf);
    if (!foreign_reported(ctx, cluster, msg.buf))
        rt_record(&ctx->events, "Warning", "ForeignObject", "Skip", "%s", msg.buf);
    strbuf_release(&msg);
}

/* Apply the gateway's objects where the member's differ, and delete the gateway-kind
 * objects with the mesh's labels that are not among them. An object the cache does not
 * hold is looked up by name first: a foreign one is never written (foreign.h). 0 when
 * every write worked. */
static int write_gateway(struct mesh_ctx *ctx, struct member_result *res,
                         const struct mesh_desired_set *want)
{
    struct mesh_member *m = res->member;
    int ok = 1;
    cJSON **live = ew_calloc(want->n ? want->n : 1, sizeof(*live));
    int *adopt = ew_calloc(want->n ? want->n : 1, sizeof(*adopt));
    for (size_t i = 0; i < want->n; i++) {
        const struct mesh_desired *d = &want->items[i];
        enum mesh_watch w = MESH_W_SERVICES;
        while (w < MESH_W_GATEWAYS && mesh_watch_resource(w) != d->resource)
            w++;
        live[i] = mesh_member_get(m, w, obj_meta(d->obj, "name"));
        if (!live[i] && find_by_name(ctx, res, d, &live[i], &adopt[i]) != 0)
            ok = 0;
    }
    if (res->foreign.len) {
        report_foreign(ctx, res);
        ok = 0;
    }
    for (size_t i = 0; ok && i < want->n; i++) {
        const struct mesh_desired *d = &want->items[i];
        if (apply_if_needed(ctx, m, d->resource, d->obj, live[i], &res->gateway_problem) != 0)
            ok = 0;
        else if (adopt[i])
            rt_record(&ctx->events, "Normal", "Adopted", "Adopt",
                      "adopted %s %s/%s in cluster %s (spec.adoptExistingObjects)",
                      obj_kind(d->obj), obj_meta(d->obj, "namespace"), obj_meta(d->obj, "name"),
                      m->cluster);
    }
    for (size_t i = 0; i < want->n; i++)
        cJSON_Delete(live[i]);
    free(live);
    free(adopt);
    res->gateway_ok = ok;
    delete_unwanted(ctx, res, want);
    return res->gateway_ok ? 0 : -1;
}

/* Issue an intermediate and write cacerts. 0 when written; else the condition says why. */
static int issue_cacerts(struct mesh_ctx *ctx, struct member_result *res,
                         const struct mesh_cacerts_decision *d, const cJSON *live)
{
    struct mesh_keypair inter = {0};
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (mesh_ca_issue_intermediate(&ctx->root, ctx->net->ca.key_algorithm,
                                   ctx->net->ca.intermediate_validity, res->spec->name, &inter,
                                   &p) != MESH_OK) {
        mesh_problem_set(&res->certs_problem, "IssueFailed", "cluster %s: %s", res->spec->name,
                         p.message.buf);
        res->certs_ok = 0;
        ctx->failed = 1;
        mesh_problem_release(&p);
        return -1;
    }
    mesh_problem_release(&p);
    cJSON *secret = mesh_build_cacerts(ctx->net, ctx->root.cert_pem, &inter);
    struct mesh_cert_info info;
    mesh_ca_inspect(inter.cert_pem, NULL, &info, NULL);
    mesh_keypair_release(&inter);
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = kube_apply(res->member->client, &KUBE_RES_SECRETS, ctx->net->istio_namespace,
                              secret, MESH_FIELD_MANAGER, 1, NULL, &err);
    cJSON_Delete(secret);
    if (rc != KUBE_OK) {
        mesh_problem_set(&res->certs_problem, "ApplyFailed", "cluster %s: writing Secret %s/%s: %s",
                         res->spec->name, ctx->net->istio_namespace, MESH_CACERTS_NAME,
                         err.message);
        rt_record(&ctx->events, "Warning", "ApplyFailed", "Apply", "%s",
                  res->certs_problem.message.buf);
        kube_error_clear(&err);
        res->certs_ok = 0;
        ctx->failed = 1;
        return -1;
    }
    char until[32];
    ew_time_format_rfc3339(info.not_after, until, sizeof(until));
    rt_record(&ctx->events, "Normal", live ? "CertificateReissued" : "CertificateIssued", "Issue",
              "issued the intermediate CA of cluster %s (Secret %s/%s, valid until %s): %s",
              res->spec->name, ctx->net->istio_namespace, MESH_CACERTS_NAME, until,
              d->why.message.buf);
    res->intermediate_not_after = info.not_after;
    return 0;
}

/* Did the last status already say CertificatesReady=False for this reason in this member? */
static int certs_reported(const struct mesh_ctx *ctx, const char *cluster, const char *reason)
{
    const cJSON *member =
        mesh_json_find(mesh_json_get(ctx->obj, "status", "clusters"), "name", cluster);
    const cJSON *cond =
        mesh_json_find(mesh_json_get(member, "conditions", NULL), "type", "CertificatesReady");
    const char *was = mesh_json_str(cond, "reason", NULL);
    return was && strcmp(was, reason) == 0;
}

static void take_problem(struct mesh_problem *to, const struct mesh_problem *from)
{
    if (from->reason[0])
        mesh_problem_set(to, from->reason, "%s", from->message.buf);
}

/* cacerts as decided; the decided condition stands unless the write fails. */
static void write_cacerts(struct mesh_ctx *ctx, struct member_result *res,
                          const struct mesh_network_member_desired *d, const cJSON *live)
{
    if (ctx->rot.active) { /* a root rotation has the member's cacerts (root_rotate.h) */
        rotation_write_member(ctx, res, live);
        return;
    }
    res->certs_ok = d->certs_ok;
    take_problem(&res->certs_problem, &d->certs_problem);
    if (!ctx->root_ok || d->cacerts.verdict == MESH_CACERTS_FOREIGN)
        return;
    if (d->cacerts.verdict == MESH_CACERTS_ISSUE) {
        if (issue_cacerts(ctx, res, &d->cacerts, live) != 0)
            return; /* the failed write is the condition */
    } else {
        res->intermediate_not_after = d->cacerts.not_after;
    }
    /* The root's renew window: a warning Event when the condition turns so (not on every
     * reconcile); no write (cacerts.h). */
    if (d->root_expiring && !certs_reported(ctx, res->spec->name, d->certs_problem.reason))
        rt_record(&ctx->events, "Warning", d->certs_problem.reason, "Renew", "%s",
                  d->certs_problem.message.buf);
}

/* The member's objects the decision reads, copied out of its caches. */
struct member_objects {
    cJSON *ns, *istio, *injector, *cacerts, *istiod_root, *gateway_service;
};

static void read_member_objects(struct mesh_ctx *ctx, struct mesh_member *m,
                                struct member_objects *o)
{
    o->ns = mesh_member_get(m, MESH_W_NAMESPACE, ctx->net->istio_namespace);
    o->istio = mesh_member_get(m, MESH_W_CONFIGMAPS, "istio");
    o->injector = mesh_member_get(m, MESH_W_CONFIGMAPS, "istio-sidecar-injector");
    o->istiod_root = mesh_member_get(m, MESH_W_CONFIGMAPS, "istio-ca-root-cert");
    o->cacerts = mesh_member_get(m, MESH_W_CACERTS, MESH_CACERTS_NAME);
    o->gateway_service = mesh_member_get(m, MESH_W_SERVICES, MESH_GATEWAY_NAME);
}

static void release_member_objects(struct member_objects *o)
{
    cJSON_Delete(o->ns);
    cJSON_Delete(o->istio);
    cJSON_Delete(o->injector);
    cJSON_Delete(o->istiod_root);
    cJSON_Delete(o->cacerts);
    cJSON_Delete(o->gateway_service);
}

/* The decision's conditions and facts into res; ownership of istio and addresses moves. */
static void take_decision(struct member_result *res, struct mesh_network_member_desired *d)
{
    res->istio = d->istio;
    memset(&d->istio, 0, sizeof(d->istio));
    res->istio_ok = d->istio_ok;
    take_problem(&res->istio_problem, &d->istio_problem);
    res->addresses = d->addresses;
    res->naddresses = d->naddresses;
    d->addresses = NULL;
    d->naddresses = 0;
}

void member_sync(struct mesh_ctx *ctx, struct member_result *res, char *const *hosts, size_t nhosts)
{
    struct member_objects o;
    read_member_objects(ctx, res->member, &o);
    struct mesh_network_member_facts facts = {
        .spec = res->spec,
        .istio_namespace = o.ns,
        .istio_config = o.istio,
        .injector_config = o.injector,
        .cacerts = o.cacerts,
        .istiod_root = o.istiod_root,
        .gateway_service = o.gateway_service,
        .importing = res->importing,
        .hosts = hosts,
        .nhosts = nhosts,
    };
    const struct mesh_network_root root = {
        .ok = ctx->root_ok,
        .cert_pem = ctx->root.cert_pem,
        .info = &ctx->root_info,
        .problem = &ctx->root_problem,
    };
    time_t now = time(NULL);
    struct mesh_cacerts_memo *memo = &res->member->cacerts_memo;
    struct mesh_cacerts_decision kept;
    int have = ctx->root_ok &&
               mesh_cacerts_memo_get(memo, o.cacerts, ctx->net, &ctx->root_info, now, &kept);
    facts.cacerts_decided = have ? &kept : NULL;
    struct mesh_network_member_desired d;
    mesh_network_desired_member(ctx->net, &root, &facts, now, &d);
    if (have)
        mesh_cacerts_decision_release(&kept);
    else if (ctx->root_ok && o.ns)
        mesh_cacerts_memo_put(memo, o.cacerts, ctx->net, &ctx->root_info, now, &d.cacerts);
    take_decision(res, &d);
    if (d.namespace_missing) {
        take_problem(&res->gateway_problem, &d.gateway_problem);
        take_problem(&res->certs_problem, &d.certs_problem);
    } else {
        int label_ok = apply_if_needed(ctx, res->member, &KUBE_RES_NAMESPACES, d.network_label,
                                       o.ns, &res->gateway_problem) == 0;
        if (write_gateway(ctx, res, &d.gateway) == 0 && label_ok) {
            res->gateway_ok = d.gateway_ok;
            take_problem(&res->gateway_problem, &d.gateway_problem);
        } else {
            res->gateway_ok = 0;
        }
        write_cacerts(ctx, res, &d, o.cacerts);
    }
    mesh_network_member_desired_release(&d);
    release_member_objects(&o);
}

/* A cacerts Secret (a list item) is deleted with onDelete: Delete only when it is
 * eastwest's for this mesh: the owner annotation, and the mesh root in root-cert.pem.
 * Labels alone are easy to copy. */
static int cacerts_is_ours(struct mesh_ctx *ctx, const cJSON *secret)
{
    const char *owner = mesh_json_str(mesh_json_get(secret, "metadata", "annotations"),
                                      MESH_ANNOTATION_OWNER, NULL);
    if (!owner || !*owner || !ctx->root_ok)
        return 0;
    struct strbuf pem = STRBUF_INIT;
    int ours = mesh_secret_data(secret, "root-cert.pem", &pem) &&
               mesh_ca_pem_contains(pem.buf, ctx->root_info.sha256);
    mesh_secret_wipe(&pem);
    return ours;
}

/* Delete the objects of kind r labelled with the mesh, in ns (NULL: every namespace). */
static int cleanup_kind(struct mesh_ctx *ctx, struct mesh_member *m, const struct kube_resource *r,
                        const char *ns, struct strbuf *why)
{
    char *selector = mesh_selector_for_mesh(ctx->net->name);
    /* Secrets: only cacerts, named in a field selector, which is what a member's
     * credentials may list (their rule has resourceNames: [cacerts]). */
    const struct kube_list_options lo = {
        .label_selector = selector,
        .field_selector = r == &KUBE_RES_SECRETS ? "metadata.name=" MESH_CACERTS_NAME : NULL,
    };
    cJSON *items = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc = kube_list(m->client, r, ns, &lo, &items, NULL, &err);
    free(selector);
    if (rc == KUBE_E_NOT_FOUND && strcmp(r->group, "networking.istio.io") == 0) {
        kube_error_clear(&err); /* Istio's CRDs are not there: no such object either */
        return 0;
    }
    if (rc != KUBE_OK) {
        strbuf_addf(why, "%scluster %s: listing %s: %s", why->len ? "; " : "", m->cluster,
                    r->plural, err.message);
        kube_error_clear(&err);
        return -1;
    }
    int failed = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        /* list items carry no kind: go by the resource */
        if (r == &KUBE_RES_SECRETS && strcmp(obj_meta(it, "name"), MESH_CACERTS_NAME) == 0 &&
            (ctx->net->ca.on_delete == MESH_CA_RETAIN || !cacerts_is_ours(ctx, it)))
            continue;
        if (delete_object(ctx, m, r, obj_meta(it, "namespace"), obj_meta(it, "name"), r->plural,
                          why))
            failed = 1;
    }
    cJSON_Delete(items);
    return failed ? -1 : 0;
}

static int cleanup_network_label(struct mesh_ctx *ctx, struct mesh_member *m, struct strbuf *why)
{
    /* Applying the namespace without the label gives up eastwest's ownership of it, so
     * the API server removes it (unless another manager also set it). */
    cJSON *ns = mesh_object_new("v1", "Namespace", NULL, ctx->net->istio_namespace, NULL);
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc =
        kube_apply(m->client, &KUBE_RES_NAMESPACES, NULL, ns, MESH_FIELD_MANAGER, 1, NULL, &err);
    cJSON_Delete(ns);
    if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND) {
        strbuf_addf(why, "%scluster %s: removing the network label of namespace %s: %s",
                    why->len ? "; " : "", m->cluster, ctx->net->istio_namespace, err.message);
        kube_error_clear(&err);
        return -1;
    }
    kube_error_clear(&err);
    return 0;
}

int member_cleanup(struct mesh_ctx *ctx, struct mesh_member *m, struct strbuf *why)
{
    /* The CrossClusterServices' objects first (routes go before the gateway), in every
     * namespace; then the mesh's own in the Istio namespace. */
    static const struct kube_resource *const ccs_kinds[] = {
        &MESH_RES_SERVICEENTRIES,
        &MESH_RES_DESTINATIONRULES,
    };
    static const struct kube_resource *const kinds[] = {
        &MESH_RES_GATEWAYS,     &KUBE_RES_SERVICES, &KUBE_RES_DEPLOYMENTS,
        &KUBE_RES_ROLEBINDINGS, &KUBE_RES_ROLES,    &KUBE_RES_SERVICEACCOUNTS,
        &KUBE_RES_SECRETS,
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(ccs_kinds) / sizeof(ccs_kinds[0]); i++)
        if (cleanup_kind(ctx, m, ccs_kinds[i], NULL, why))
            failed = 1;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (cleanup_kind(ctx, m, kinds[i], ctx->net->istio_namespace, why))
            failed = 1;
    cJSON *ns = mesh_member_get(m, MESH_W_NAMESPACE, ctx->net->istio_namespace);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ns, "metadata"), "labels");
    if (cJSON_GetObjectItemCaseSensitive(labels, MESH_LABEL_NETWORK) &&
        cleanup_network_label(ctx, m, why))
        failed = 1;
    cJSON_Delete(ns);
    return failed ? -1 : 0;
}
