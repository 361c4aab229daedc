/*
 * ccs: the CrossClusterService controller (see ccs.h for the flow).
 */
#include "ccs.h"

#include "ccs_desired.h"
#include "ccs_ports.h"
#include "ccs_status.h"
#include "ccs_objects.h"
#include "claims.h"
#include "host_name.h"
#include "conditions.h"
#include "foreign.h"
#include "json_path.h"
#include "objects.h"
#include "roles.h"
#include "vip_table.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "runtime/finalizer.h"
#include "runtime/status_write.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One member cluster's caches, on the client the cluster set had when they started. When
 * the member is removed from the set, or re-added with a new client, the caches are
 * evicted (the watches stop, the client reference goes back) and started again on the
 * new client at first use. Workers hold a reference while they use one. */
struct ccs_cluster {
    char *name;
    struct kube_client *client;
    struct rt_reflector *services, *entries, *rules;
    /* Pods in all namespaces, kept as mesh_pod_project's small form: only in a member
     * that exports (started by cluster_pods at first use; set under cc->mu). */
    struct rt_reflector *pods;
    /* Each pod's labels as last seen (pod key -> its POD_LABEL_INDEX values, packed):
     * when a pod changes, the Services that selected it before are found from these,
     * so that a pod relabelled out of a selector still queues their exports. */
    pthread_mutex_t pods_mu;
    struct strmap pod_labels;
    struct mesh_ccs_controller *cc;
    double started; /* monotonic: when its caches started */
    int refs;       /* the map's own counts one while it is in the map; cc->mu */
};

struct mesh_ccs_controller {
    struct mesh_ccs_controller_options o;
    struct rt_controller *ctl;
    struct rt_reflector *ccs;
    struct rt_reflector *meshes; /* read the MeshNetwork from the cache whose events queue
                                    us: another cache may not have the change yet */
    struct rt_clusterset *clusters;
    struct rt_metric *m_propagation;
    pthread_mutex_t mu;
    struct strmap caches;        /* cluster name -> struct ccs_cluster */
    struct mesh_vip_table *vips; /* allocation of addresses is serialised on it */
    double started;              /* monotonic: when the controller was made */
};

/* ---- member caches and what their changes queue ----
 *
 * Three indexes make a member's event cost what it touches, not a scan of every
 * CrossClusterService (issue 16):
 *   EXPORT_INDEX, on the CrossClusterService cache: "<cluster>\n<ns>\n<service>" for
 *     each spec.exportFrom entry (the Service named, or the CR's own name);
 *   SELECTOR_INDEX, on a member's Services: "<ns>\n<key>=<value>" for each pair of
 *     spec.selector;
 *   POD_LABEL_INDEX, on a member's pods: "<ns>\n<key>=<value>" for each label.
 * A Service's change queues the CrossClusterServices exporting it; a pod's queues those
 * exporting a Service that selects it now or selected its labels before. */

#define EXPORT_INDEX    "eastwest.io/exported-service"
#define SELECTOR_INDEX  "eastwest.io/selector-pair"
#define POD_LABEL_INDEX "eastwest.io/label-pair"
/* On a member's Services: each of spec.clusterIPs (and spec.clusterIP), so that an
 * address a CrossClusterService claims is checked against the importers' Services
 * without a scan (issue 31). */
#define CLUSTER_IP_INDEX "eastwest.io/cluster-ip"

static void index_exports(const cJSON *obj, struct strbuf *values)
{
    const char *ns = mesh_json_str(obj, "metadata", "namespace"),
               *name = mesh_json_str(obj, "metadata", "name");
    const cJSON *e;
    struct strbuf v = STRBUF_INIT;
    cJSON_ArrayForEach(e, mesh_json_get(obj, "spec", "exportFrom"))
    {
        const char *c = mesh_json_str(e, "cluster", NULL), *svc = mesh_json_str(e, "service", NULL);
        if (!c || !ns || !name)
            continue;
        strbuf_reset(&v);
        strbuf_addf(&v, "%s\n%s\n%s", c, ns, svc ? svc : name);
        rt_index_value_add(values, v.buf);
    }
    strbuf_release(&v);
}

/* "<ns>\n<key>=<value>" for each string pair of pairs (a selector or labels). */
static void index_pairs(const char *ns, const cJSON *pairs, struct strbuf *values)
{
    const cJSON *kv;
    struct strbuf v = STRBUF_INIT;
    if (!ns || !cJSON_IsObject(pairs))
        return;
    cJSON_ArrayForEach(kv, pairs)
    {
        if (!kv->string || !*kv->string || !cJSON_IsString(kv))
            continue;
        strbuf_reset(&v);
        strbuf_addf(&v, "%s\n%s=%s", ns, kv->string, kv->valuestring);
        rt_index_value_add(values, v.buf);
    }
    strbuf_release(&v);
}

static void index_selector(const cJSON *svc, struct strbuf *values)
{
    index_pairs(mesh_json_str(svc, "metadata", "namespace"), mesh_json_get(svc, "spec", "selector"),
                values);
}

static void index_cluster_ips(const cJSON *svc, struct strbuf *values)
{
    const char *ip = mesh_json_str(svc, "spec", "clusterIP");
    if (ip && *ip && strcmp(ip, "None") != 0)
        rt_index_value_add(values, ip);
    const cJSON *it;
    cJSON_ArrayForEach(it, mesh_json_get(svc, "spec", "clusterIPs"))
    {
        if (cJSON_IsString(it) && *it->valuestring && strcmp(it->valuestring, "None") != 0 &&
            (!ip || strcmp(ip, it->valuestring) != 0))
            rt_index_value_add(values, it->valuestring);
    }
}

static void index_pod_labels(const cJSON *pod, struct strbuf *values)
{
    index_pairs(mesh_json_str(pod, "metadata", "namespace"),
                mesh_json_get(pod, "metadata", "labels"), values);
}

/* A copy of a packed list of index values (values->len bytes and the final NUL). */
static char *packed_dup(const struct strbuf *values)
{
    char *p = ew_malloc(values->len + 1);
    memcpy(p, values->buf, values->len + 1);
    return p;
}

static int packed_equal(const char *p, const struct strbuf *values)
{
    const char *q = p;
    while (*q)
        q += strlen(q) + 1;
    return (size_t)(q - p) == values->len && memcmp(p, values->buf, values->len) == 0;
}

static void enqueue_found(void *ud, const char *key, const cJSON *obj)
{
    struct mesh_ccs_controller *cc = ud;
    (void)obj;
    rt_controller_enqueue(cc->ctl, key);
}

/* Queue the CrossClusterServices that export Service ns/svc of this member. */
static void queue_exports_of(struct ccs_cluster *cl, const char *ns, const char *svc)
{
    struct strbuf v = STRBUF_INIT;
    strbuf_addf(&v, "%s\n%s\n%s", cl->name, ns, svc);
    rt_store_foreach_indexed(rt_reflector_store(cl->cc->ccs), EXPORT_INDEX, v.buf, enqueue_found,
                             cl->cc);
    strbuf_release(&v);
}

static void on_service(void *ud, enum rt_change ch, const char *key, const cJSON *obj)
{
    struct ccs_cluster *cl = ud;
    (void)ch;
    (void)key;
    const char *ns = mesh_json_str(obj, "metadata", "namespace"),
               *name = mesh_json_str(obj, "metadata", "name");
    if (ns && name)
        queue_exports_of(cl, ns, name);
}

struct selecting {
    const cJSON *labels; /* NULL: any Service found by a pair */
    struct strbuf *names;
};

static void add_if_selects(void *ud, const char *key, const cJSON *svc)
{
    struct selecting *s = ud;
    (void)key;
    if (!s->labels || mesh_labels_match(mesh_json_get(svc, "spec", "selector"), s->labels))
        rt_index_value_add(s->names, mesh_json_str(svc, "metadata", "name"));
}

/* Queue the exports of the Services of ns that select labels (NULL: of any Service with
 * one of pairs in its selector); pairs are labels' POD_LABEL_INDEX values, packed. */
static void queue_selecting(struct ccs_cluster *cl, const char *ns, const char *pairs,
                            const cJSON *labels)
{
    struct strbuf names = STRBUF_INIT;
    struct selecting s = {labels, &names};
    for (const char *p = pairs; p && *p; p += strlen(p) + 1)
        rt_store_foreach_indexed(rt_reflector_store(cl->services), SELECTOR_INDEX, p,
                                 add_if_selects, &s);
    for (const char *n = names.len ? names.buf : NULL; n && *n; n += strlen(n) + 1)
        queue_exports_of(cl, ns, n); /* a name twice is queued once: the queue dedups */
    strbuf_release(&names);
}

/* A pod changed in an exporting member: queue the CrossClusterServices whose exported
 * Service selects it now (their subjectAltNames and endpoint counts come from the
 * pods), and those whose Service had one of its previous labels in its selector (a pod
 * relabelled out of a selector must leave their pinning too). */
static void on_pod(void *ud, enum rt_change ch, const char *key, const cJSON *obj)
{
    struct ccs_cluster *cl = ud;
    const char *ns = mesh_json_str(obj, "metadata", "namespace");
    const cJSON *labels = mesh_json_get(obj, "metadata", "labels");
    if (!ns)
        return;
    struct strbuf now = STRBUF_INIT;
    index_pod_labels(obj, &now);
    pthread_mutex_lock(&cl->pods_mu);
    char *before = ch == RT_UPSERT && now.len ? strmap_put(&cl->pod_labels, key, packed_dup(&now))
                                              : strmap_remove(&cl->pod_labels, key);
    pthread_mutex_unlock(&cl->pods_mu);
    queue_selecting(cl, ns, now.len ? now.buf : NULL, labels);
    if (before && !packed_equal(before, &now))
        queue_selecting(cl, ns, before, NULL);
    free(before);
    strbuf_release(&now);
}

static void on_written(void *ud, enum rt_change ch, const char *key, const cJSON *obj)
{
    struct ccs_cluster *cl = ud;
    (void)ch;
    (void)key;
    const char *svc =
        mesh_json_str(mesh_json_get(obj, "metadata", "labels"), MESH_LABEL_SERVICE, NULL);
    const char *dot = svc ? strchr(svc, '.') : NULL;
    if (!dot)
        return;
    struct strbuf k = STRBUF_INIT;
    strbuf_add(&k, svc, (size_t)(dot - svc));
    strbuf_addf(&k, "/%s", dot + 1);
    rt_controller_enqueue(cl->cc->ctl, k.buf);
    strbuf_release(&k);
}

static struct rt_reflector *start_cache(struct ccs_cluster *cl, const struct kube_resource *r,
                                        const char *selector, rt_change_fn fn,
                                        cJSON *(*transform)(cJSON *obj),
                                        const struct rt_index *index, size_t nindex)
{
    struct rt_reflector_options ro = {
        .indexes = index,
        .nindexes = nindex,
        .client = cl->client,
        .resource = r,
        .label_selector = selector,
        .transform = transform,
        .on_change = fn,
        .ud = cl,
        .log = cl->cc->o.log,
        .metrics = cl->cc->o.metrics,
        .owner = "crossclusterservice",
        .backoff_max = MESH_MEMBER_RECONNECT_MAX,
    };
    return rt_reflector_start(&ro);
}

static void cluster_free(struct ccs_cluster *cl)
{
    rt_reflector_stop(cl->pods);
    rt_reflector_stop(cl->services);
    rt_reflector_stop(cl->entries);
    rt_reflector_stop(cl->rules);
    rt_clusterset_release(cl->cc->clusters, cl->client);
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&cl->pod_labels, &i, &k, &v);)
        free(v);
    strmap_clear(&cl->pod_labels);
    pthread_mutex_destroy(&cl->pods_mu);
    free(cl->name);
    free(cl);
}

/* Must hold cc->mu. Drop a reference; returns the cluster when it is to be freed (after
 * unlocking: stopping its watches joins their threads). */
static struct ccs_cluster *cluster_unref_locked(struct ccs_cluster *cl)
{
    return --cl->refs == 0 ? cl : NULL;
}

/* Must hold cc->mu. Take a cluster out of the map whose client is no longer the cluster
 * set's for that name; returns it when it is to be freed. */
static struct ccs_cluster *evict_if_stale_locked(struct mesh_ccs_controller *cc,
                                                 struct ccs_cluster *cl)
{
    if (rt_clusterset_is_current(cc->clusters, cl->name, cl->client))
        return NULL;
    strmap_remove(&cc->caches, cl->name);
    return cluster_unref_locked(cl);
}

/* Evict the caches of every member that left the cluster set (or was re-added). */
static void evict_stale_clusters(struct mesh_ccs_controller *cc)
{
    struct ccs_cluster *dead[16];
    size_t ndead = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&cc->mu);
    for (size_t i = 0; ndead < 16 && strmap_next(&cc->caches, &i, &k, &v);) {
        struct ccs_cluster *d = evict_if_stale_locked(cc, v);
        if (d)
            dead[ndead++] = d;
    }
    pthread_mutex_unlock(&cc->mu);
    for (size_t i = 0; i < ndead; i++)
        cluster_free(dead[i]);
}

/* The caches of a member (a reference: cluster_put it), started on first use; NULL
 * while the MeshNetwork controller has not connected it. */
static struct ccs_cluster *cluster_get(struct mesh_ccs_controller *cc, const char *name)
{
    struct ccs_cluster *dead = NULL;
    pthread_mutex_lock(&cc->mu);
    struct ccs_cluster *cl = strmap_get(&cc->caches, name);
    if (cl && !rt_clusterset_is_current(cc->clusters, name, cl->client)) {
        strmap_remove(&cc->caches, name); /* freed by its last user */
        dead = cluster_unref_locked(cl);
        cl = NULL;
    }
    if (!cl) {
        struct kube_client *client = rt_clusterset_acquire(cc->clusters, name);
        if (client) {
            cl = ew_calloc(1, sizeof(*cl));
            cl->name = ew_strdup(name);
            cl->client = client;
            cl->cc = cc;
            cl->started = ew_now_mono();
            cl->refs = 1;
            pthread_mutex_init(&cl->pods_mu, NULL);
            strmap_init(&cl->pod_labels);
            static const struct rt_index svc_indexes[] = {
                {.name = SELECTOR_INDEX, .values = index_selector},
                {.name = CLUSTER_IP_INDEX, .values = index_cluster_ips},
            };
            cl->services =
                start_cache(cl, &KUBE_RES_SERVICES, NULL, on_service, NULL, svc_indexes, 2);
            const char *sel = MESH_LABEL_MANAGED_BY "=" MESH_FIELD_MANAGER;
            cl->entries = start_cache(cl, &MESH_RES_SERVICEENTRIES, sel, on_written, NULL, NULL, 0);
            cl->rules = start_cache(cl, &MESH_RES_DESTINATIONRULES, sel, on_written, NULL, NULL, 0);
            strmap_put(&cc->caches, name, cl);
        }
    }
    if (cl)
        cl->refs++;
    pthread_mutex_unlock(&cc->mu);
    if (dead)
        cluster_free(dead);
    return cl;
}

static void cluster_put(struct mesh_ccs_controller *cc, struct ccs_cluster *cl)
{
    if (!cl)
        return;
    pthread_mutex_lock(&cc->mu);
    struct ccs_cluster *dead = cluster_unref_locked(cl);
    pthread_mutex_unlock(&cc->mu);
    if (dead)
        cluster_free(dead);
}

/* The pod cache of a member that exports, started at first use (importers need none). */
static struct rt_reflector *cluster_pods(struct mesh_ccs_controller *cc, struct ccs_cluster *cl)
{
    pthread_mutex_lock(&cc->mu);
    static const struct rt_index labels = {.name = POD_LABEL_INDEX, .values = index_pod_labels};
    if (!cl->pods)
        cl->pods = start_cache(cl, &KUBE_RES_PODS, NULL, on_pod, mesh_pod_project, &labels, 1);
    struct rt_reflector *pods = cl->pods;
    pthread_mutex_unlock(&cc->mu);
    return pods;
}

static int cluster_synced(struct ccs_cluster *cl)
{
    return rt_reflector_synced(cl->services) && rt_reflector_synced(cl->entries) &&
           rt_reflector_synced(cl->rules);
}

/* ---- one reconcile ---- */

enum change_kind { CHANGE_CREATED, CHANGE_UPDATED, CHANGE_DELETED };

struct ccs_ctx {
    struct mesh_ccs_controller *cc;
    const cJSON *obj;
    struct mesh_ccs *ccs;
    struct mesh_network *net;
    struct rt_object_ref ref;
    struct rt_event_target events; /* Events on the CrossClusterService, and log lines */
    char *host, *address;
    struct mesh_port *ports;
    size_t nports;
    char **sans;
    size_t nsans;
    struct member_view *members;
    size_t nmembers;
    struct mesh_ccs_member_desired *desired; /* one per member, decided before any write */
    int failed, writes;
    int sans_unknown; /* an exporter's pods could not be read: keep the SANs in place */
    int no_identity;  /* no identity known at all: importers get no ServiceEntry */
    int waiting;      /* importers left without their entry for it (write_member) */
    int pods_syncing; /* an exporter's pod cache has not listed yet: look again soon */
    int write_errors, unreachable, empty; /* why Imported is False, by kind */
    int foreign;                          /* members with a foreign object of its name */
    int namespace_missing; /* in an importer, and serviceClaims.createNamespaces is false */
    struct strbuf exported, imported;
    struct strbuf changes; /* "created ServiceEntry in us, ...", for one Event */
    int nchanges[3];       /* by enum change_kind */
    int changes_left_out;  /* past CHANGES_MAX */
    /* issue 32: the ports (ccs_ports.h) */
    int ports_unknown;                 /* none known: importers keep what they have */
    const struct member_view *definer; /* the exporter whose Service gave the ports */
    struct strbuf port_conflict;       /* the exporters' Services disagree: Conflict */
    int gone;                          /* exporters whose Service is known gone */
};

static void read_mesh_status(struct ccs_ctx *x, const cJSON *mesh_obj)
{
    x->nmembers = x->net->nclusters;
    x->members = ew_calloc(x->nmembers, sizeof(*x->members));
    const cJSON *clusters = mesh_json_get(mesh_obj, "status", "clusters");
    for (size_t i = 0; i < x->nmembers; i++) {
        struct member_view *m = &x->members[i];
        m->spec = &x->net->clusters[i];
        strbuf_init(&m->problem, 0);
        strbuf_init(&m->conflict, 0);
        const cJSON *c;
        cJSON_ArrayForEach(c, clusters)
        {
            const char *n = mesh_json_str(c, "name", NULL);
            if (!n || strcmp(n, m->spec->name) != 0)
                continue;
            m->reachable = cJSON_IsTrue(mesh_json_get(c, "reachable", NULL));
            const cJSON *a;
            cJSON_ArrayForEach(a, mesh_json_get(c, "gatewayAddresses", NULL))
            {
                if (!cJSON_IsString(a))
                    continue;
                m->addresses = ew_realloc(m->addresses, (m->naddresses + 1) * sizeof(char *));
                m->addresses[m->naddresses++] = ew_strdup(a->valuestring);
            }
        }
        enum mesh_role role = mesh_ccs_role(x->ccs, m->spec->name);
        m->exporter = (role & MESH_ROLE_EXPORTS) != 0;
        m->importer = (role & MESH_ROLE_IMPORTS) != 0;
    }
}

static void release_ctx(struct ccs_ctx *x)
{
    for (size_t i = 0; i < x->nmembers; i++) {
        for (size_t j = 0; j < x->members[i].naddresses; j++)
            free(x->members[i].addresses[j]);
        free(x->members[i].addresses);
        cJSON_Delete(x->members[i].selector);
        strbuf_release(&x->members[i].problem);
        cJSON_Delete(x->members[i].service);
        mesh_service_ports_free(x->members[i].ports, x->members[i].nports);
        strbuf_release(&x->members[i].conflict);
    }
    free(x->members);
    for (size_t i = 0; x->desired && i < x->nmembers; i++)
        mesh_ccs_member_desired_release(&x->desired[i]);
    free(x->desired);
    mesh_service_ports_free(x->ports, x->nports);
    for (size_t i = 0; i < x->nsans; i++)
        free(x->sans[i]);
    free(x->sans);
    free(x->host);
    free(x->address);
    strbuf_release(&x->exported);
    strbuf_release(&x->imported);
    strbuf_release(&x->changes);
    strbuf_release(&x->port_conflict);
}

/* ---- conflicts and the address ---- */

struct claim_scan {
    struct ccs_ctx *x;
    const char *host, *address;
    char *winner; /* the older claimant: "ns/name" */
    const char *what;
    int taken_only; /* address probe: is it used by another? */
    const char *probe;
    int probe_taken;
    int probe_older; /* an older CrossClusterService claims the probed address */
    int collect_newer;
    char **newer; /* younger ones claiming it: queued again to move off it */
    size_t nnewer;
};

static int older(const cJSON *a, const char *akey, const cJSON *b, const char *bkey)
{
    const char *ta = mesh_json_str(a, "metadata", "creationTimestamp");
    const char *tb = mesh_json_str(b, "metadata", "creationTimestamp");
    int c = strcmp(ta ? ta : "", tb ? tb : "");
    return c < 0 || (c == 0 && strcmp(akey, bkey) < 0);
}

static const char *claimed_address(const cJSON *o)
{
    const char *a = mesh_json_str(o, "spec", "address");
    return a ? a : mesh_json_str(o, "status", "address");
}

/* A claim outside the MeshNetwork's serviceClaims claims nothing: a squatter, older
 * but refused, must not block the service the name or address is for. */
static int within_claims(const struct ccs_ctx *x, const cJSON *obj)
{
    const char *ns = mesh_json_str(obj, "metadata", "namespace"),
               *name = mesh_json_str(obj, "metadata", "name"),
               *host = mesh_json_str(obj, "spec", "host");
    if (!ns || !name)
        return 0;
    struct strbuf dflt = STRBUF_INIT;
    if (!host) {
        strbuf_addf(&dflt, "%s.%s.%s.global", name, ns, x->net->mesh_id);
        host = dflt.buf;
    }
    int ok =
        mesh_claims_check(x->net, ns, host, mesh_json_str(obj, "spec", "address"), NULL) == MESH_OK;
    strbuf_release(&dflt);
    return ok;
}

static void scan_claims(void *ud, const char *key, const cJSON *obj)
{
    struct claim_scan *s = ud;
    struct ccs_ctx *x = s->x;
    const char *me_ns = x->ccs->namespace_, *me = x->ccs->name;
    const char *ns = mesh_json_str(obj, "metadata", "namespace"),
               *name = mesh_json_str(obj, "metadata", "name");
    if (!ns || !name || (strcmp(ns, me_ns) == 0 && strcmp(name, me) == 0))
        return;
    const char *mn = mesh_json_str(obj, "spec", "meshNetwork");
    if (!mn || strcmp(mn, x->net->name) != 0 || mesh_json_get(obj, "metadata", "deletionTimestamp"))
        return;
    if (s->probe) {
        const char *a = claimed_address(obj);
        if (!a || strcmp(a, s->probe) != 0 || !within_claims(x, obj))
            return;
        s->probe_taken = 1;
        char mykey[600];
        snprintf(mykey, sizeof(mykey), "%s/%s", me_ns, me);
        if (older(obj, key, x->obj, mykey)) {
            s->probe_older = 1;
        } else if (s->collect_newer && !mesh_json_str(obj, "spec", "address")) {
            s->newer = ew_realloc(s->newer, (s->nnewer + 1) * sizeof(char *));
            s->newer[s->nnewer++] = ew_strdup(key);
        }
        return;
    }
    const char *h = mesh_json_str(obj, "spec", "host");
    char *dflt = NULL;
    if (!h) {
        struct strbuf b = STRBUF_INIT;
        strbuf_addf(&b, "%s.%s.%s.global", name, ns, x->net->mesh_id);
        dflt = strbuf_detach(&b, NULL);
        h = dflt;
    }
    if (!within_claims(x, obj)) {
        free(dflt);
        return;
    }
    const char *a = claimed_address(obj);
    const char *what = strcmp(h, s->host) == 0                           ? "host"
                       : (a && s->address && strcmp(a, s->address) == 0) ? "address"
                                                                         : NULL;
    char mykey[600];
    snprintf(mykey, sizeof(mykey), "%s/%s", me_ns, me);
    if (what && older(obj, key, x->obj, mykey) && !s->winner) {
        s->winner = ew_strdup(key);
        s->what = what;
    }
    free(dflt);
}

/* ---- the claims index ----
 *
 * Who else claims a host or an address is asked of two indexes of the
 * CrossClusterService cache, kept as objects come and go, so that a reconcile costs
 * its own claimants rather than a scan of every CrossClusterService (issue 16). Values
 * are "<mesh>\n<host>" (spec.host, or "=<name>.<ns>" for the default host, whose
 * meshID only the MeshNetwork knows) and "<mesh>\n<address>" (spec.address, else
 * status.address). Objects being deleted claim nothing. scan_claims then applies the
 * same rule to each candidate as it did to every object. */

#define CLAIMED_HOST_INDEX    "eastwest.io/claimed-host"
#define CLAIMED_ADDRESS_INDEX "eastwest.io/claimed-address"

static char *claim_value(const cJSON *obj, const char *prefix, const char *a, const char *b)
{
    const char *mesh = mesh_json_str(obj, "spec", "meshNetwork");
    if (!mesh || !a || mesh_json_get(obj, "metadata", "deletionTimestamp"))
        return NULL;
    struct strbuf v = STRBUF_INIT;
    strbuf_addf(&v, "%s\n%s%s%s%s", mesh, prefix, a, b ? "." : "", b ? b : "");
    return strbuf_detach(&v, NULL);
}

static char *index_claimed_host(const cJSON *obj)
{
    const char *host = mesh_json_str(obj, "spec", "host");
    if (host)
        return claim_value(obj, "", host, NULL);
    return claim_value(obj, "=", mesh_json_str(obj, "metadata", "name"),
                       mesh_json_str(obj, "metadata", "namespace"));
}

static char *index_claimed_address(const cJSON *obj)
{
    return claim_value(obj, "", claimed_address(obj), NULL);
}

static void add_candidates(struct rt_store *st, const char *index, const char *value, char ***keys,
                           size_t *n)
{
    size_t m = 0;
    char **found = rt_store_keys(st, index, value, &m);
    for (size_t i = 0; i < m; i++) {
        int dup = 0;
        for (size_t j = 0; j < *n && !dup; j++)
            dup = strcmp((*keys)[j], found[i]) == 0;
        if (dup) {
            free(found[i]);
            continue;
        }
        *keys = ew_realloc(*keys, (*n + 1) * sizeof(char *));
        (*keys)[(*n)++] = found[i];
    }
    free(found);
}

/* scan_claims over the CrossClusterServices of this mesh that claim host or address
 * (either may be NULL). */
static void scan_claimants(struct claim_scan *s, const char *host, const char *address)
{
    struct ccs_ctx *x = s->x;
    struct rt_store *st = rt_reflector_store(x->cc->ccs);
    char **keys = NULL;
    size_t n = 0;
    struct strbuf v = STRBUF_INIT;
    if (host) {
        strbuf_addf(&v, "%s\n%s", x->net->name, host);
        add_candidates(st, CLAIMED_HOST_INDEX, v.buf, &keys, &n);
        /* a default host "<name>.<ns>.<meshID>.global" is indexed as "=<name>.<ns>" */
        struct strbuf suffix = STRBUF_INIT;
        strbuf_addf(&suffix, ".%s.global", x->net->mesh_id);
        size_t hl = strlen(host);
        if (hl > suffix.len && strcmp(host + hl - suffix.len, suffix.buf) == 0) {
            strbuf_reset(&v);
            strbuf_addf(&v, "%s\n=%.*s", x->net->name, (int)(hl - suffix.len), host);
            add_candidates(st, CLAIMED_HOST_INDEX, v.buf, &keys, &n);
        }
        strbuf_release(&suffix);
    }
    if (address) {
        strbuf_reset(&v);
        strbuf_addf(&v, "%s\n%s", x->net->name, address);
        add_candidates(st, CLAIMED_ADDRESS_INDEX, v.buf, &keys, &n);
    }
    strbuf_release(&v);
    for (size_t i = 0; i < n; i++) {
        cJSON *obj = rt_store_get_copy(st, keys[i]);
        if (obj)
            scan_claims(s, keys[i], obj);
        cJSON_Delete(obj);
        free(keys[i]);
    }
    free(keys);
}

/* ---- the address ----
 *
 * Allocation is serialised on the reservation table (vip_table.h), and every allocated
 * address is reserved for its owner before the lock is let go, so two workers never
 * pick one address for two CrossClusterServices before either status is written. For
 * addresses found in status (a restart, or a collision left by an earlier version), the
 * oldest claimant keeps the address and younger ones move: the same rule as for hosts. */

struct vip_probe {
    struct claim_scan scan;
    const char *me; /* "ns/name" */
};

/* Where an importing member already uses ip: "cluster C: Service ns/name has clusterIP
 * ip" (caller frees), or NULL. A claim there would capture that Service's traffic in
 * that cluster. Members whose Services have not listed are not asked (nothing is written
 * to them until they have). */
static char *address_used(struct ccs_ctx *x, const char *ip)
{
    char *where = NULL;
    for (size_t i = 0; i < x->nmembers && !where; i++) {
        if (!x->members[i].importer)
            continue;
        struct ccs_cluster *cl = cluster_get(x->cc, x->members[i].spec->name);
        if (cl && rt_reflector_synced(cl->services)) {
            size_t n = 0;
            char **keys = rt_store_keys(rt_reflector_store(cl->services), CLUSTER_IP_INDEX, ip, &n);
            if (n) {
                struct strbuf w = STRBUF_INIT;
                strbuf_addf(&w, "cluster %s: Service %s has clusterIP %s", cl->name, keys[0], ip);
                where = strbuf_detach(&w, NULL);
            }
            for (size_t k = 0; k < n; k++)
                free(keys[k]);
            free(keys);
        }
        cluster_put(x->cc, cl);
    }
    return where;
}

/* Is ip reserved by, or in the status or spec of, another CrossClusterService, or a
 * Service's clusterIP in an importing member? */
static int address_taken(void *ud, const char *ip)
{
    struct vip_probe *v = ud;
    struct claim_scan *s = &v->scan;
    const char *owner = mesh_vip_table_owner(s->x->cc->vips, s->x->net->name, ip);
    if (owner && strcmp(owner, v->me) != 0)
        return 1;
    char *used = address_used(s->x, ip);
    free(used);
    if (used)
        return 1;
    s->probe = ip;
    s->probe_taken = 0;
    s->probe_older = 0;
    scan_claimants(s, NULL, ip);
    return s->probe_taken;
}

/* Queue the younger claimants found (enqueue 0: only forget them). */
static void requeue_newer(struct ccs_ctx *x, struct claim_scan *s, int enqueue)
{
    for (size_t i = 0; i < s->nnewer; i++) {
        if (enqueue)
            rt_controller_enqueue(x->cc->ctl, s->newer[i]);
        free(s->newer[i]);
    }
    free(s->newer);
    s->newer = NULL;
    s->nnewer = 0;
}

/* May this one keep addr (from its status or an earlier reservation)? Younger
 * claimants found on the way are left in v->scan.newer. */
static int may_keep(struct vip_probe *v, const char *addr)
{
    struct ccs_ctx *x = v->scan.x;
    if (!addr || !mesh_vip_in_range(x->net, addr))
        return 0;
    const char *owner = mesh_vip_table_owner(x->cc->vips, x->net->name, addr);
    if (owner && strcmp(owner, v->me) != 0)
        return 0;
    v->scan.collect_newer = 1;
    address_taken(v, addr);
    v->scan.collect_newer = 0;
    if (v->scan.probe_older)
        requeue_newer(v->scan.x, &v->scan, 0); /* an older one wins: not ours to move */
    return !v->scan.probe_older;
}

/* Pick the address; 0, or -1 with a problem (range exhausted). */
static int choose_address(struct ccs_ctx *x, struct mesh_problem *p)
{
    char me[600];
    snprintf(me, sizeof(me), "%s/%s", x->ccs->namespace_, x->ccs->name);
    if (x->ccs->address) {
        mesh_vip_table_lock(x->cc->vips);
        mesh_vip_table_release(x->cc->vips, me);
        mesh_vip_table_unlock(x->cc->vips);
        char *used = address_used(x, x->ccs->address);
        if (used) {
            mesh_problem_set(p, "AddressInUse",
                             "address %s (spec.address) is already used in an importing "
                             "cluster: %s; this one writes nothing",
                             x->ccs->address, used);
            free(used);
            return -1;
        }
        x->address = ew_strdup(x->ccs->address);
        return 0;
    }
    struct vip_probe v = {.scan = {.x = x, .taken_only = 1}, .me = me};
    mesh_vip_table_lock(x->cc->vips);
    const char *prev = mesh_json_str(x->obj, "status", "address");
    const char *held = mesh_vip_table_held(x->cc->vips, me, x->net->name);
    if (may_keep(&v, prev))
        x->address = ew_strdup(prev);
    else if (held && may_keep(&v, held))
        x->address = ew_strdup(held); /* its status is not back from the watch yet */
    else
        x->address = mesh_vip_allocate(x->net, x->host, address_taken, &v);
    if (x->address)
        mesh_vip_table_reserve(x->cc->vips, me, x->net->name, x->address);
    mesh_vip_table_unlock(x->cc->vips);
    requeue_newer(x, &v.scan, 1);
    if (!x->address) {
        mesh_problem_set(p, "AddressRangeExhausted",
                         "no free address left in MeshNetwork %s's vipRange %s", x->net->name,
                         x->net->vip_range);
        return -1;
    }
    return 0;
}

/* ---- exporters: ports, selector, identities ---- */

/* Add a SPIFFE ID (taken) unless it is there already. */
static void add_id(struct ccs_ctx *x, char *id)
{
    for (size_t i = 0; i < x->nsans; i++)
        if (strcmp(x->sans[i], id) == 0) {
            free(id);
            return;
        }
    x->sans = ew_realloc(x->sans, (x->nsans + 1) * sizeof(char *));
    x->sans[x->nsans++] = id;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pod_scan {
    struct ccs_ctx *x;
    struct member_view *m;
};

static void scan_pod(void *ud, const char *key, const cJSON *pod)
{
    struct pod_scan *s = ud;
    const char *ns = mesh_json_str(pod, "metadata", "namespace");
    (void)key;
    if (!ns || strcmp(ns, s->x->ccs->namespace_) != 0 ||
        !mesh_labels_match(s->m->selector, mesh_json_get(pod, "metadata", "labels")))
        return;
    char *id = mesh_pod_identity(pod, s->x->net->trust_domain, ns);
    if (!id)
        return;
    s->m->endpoints++;
    add_id(s->x, id);
}

/* Longest a reconcile waits for an exporter's pod cache to list (its first use: a list
 * takes milliseconds), and when to look again if it has not (a list that fails, say for
 * want of RBAC, must not hold a worker for long). */
#define PODS_SYNC_WAIT  1.0
#define PODS_SYNC_RETRY 2.0

/* The identities of the pods the exporter's Service selects, from the member's pod
 * cache (a watch: a pod added, replaced or gone queues the service, on_pod). */
static void read_pods(struct ccs_ctx *x, struct ccs_cluster *cl, struct member_view *m)
{
    struct rt_reflector *pods = cluster_pods(x->cc, cl);
    if (!rt_reflector_wait_synced(pods, PODS_SYNC_WAIT)) {
        x->sans_unknown = 1;
        x->pods_syncing = 1;
        return;
    }
    /* the pods with the selector's first pair (all must match: scan_pod checks) */
    const cJSON *first = m->selector ? m->selector->child : NULL;
    if (!first || !first->string || !cJSON_IsString(first))
        return;
    struct pod_scan s = {x, m};
    struct strbuf pair = STRBUF_INIT;
    strbuf_addf(&pair, "%s\n%s=%s", x->ccs->namespace_, first->string, first->valuestring);
    rt_store_foreach_indexed(rt_reflector_store(pods), POD_LABEL_INDEX, pair.buf, scan_pod, &s);
    strbuf_release(&pair);
}

static struct member_view *member_named(struct ccs_ctx *x, const char *name)
{
    for (size_t i = 0; i < x->nmembers; i++)
        if (strcmp(x->members[i].spec->name, name) == 0)
            return &x->members[i];
    return NULL;
}

/* "cluster eu's Service echo/echo": an exporter's backing Service, for messages. */
static void service_desc(struct ccs_ctx *x, const struct mesh_export *ex, struct strbuf *out)
{
    strbuf_addf(out, "cluster %s's Service %s/%s", ex->cluster, x->ccs->namespace_,
                ex->service ? ex->service : x->ccs->name);
}

/* Each exporter's backing Service from its member's cache: found (m->service), known
 * gone (NotFound in a synced cache: m->gone) or unknown (its caches have not listed). */
static void read_services(struct ccs_ctx *x)
{
    for (size_t e = 0; e < x->ccs->nexports; e++) {
        const struct mesh_export *ex = &x->ccs->exports[e];
        struct member_view *m = member_named(x, ex->cluster);
        if (!m)
            continue;
        const char *svcname = ex->service ? ex->service : x->ccs->name;
        struct ccs_cluster *cl = cluster_get(x->cc, ex->cluster);
        if (cl)
            cluster_pods(x->cc, cl); /* listing while the other caches sync */
        if (!cl || !cluster_synced(cl)) {
            strbuf_addf(&m->problem, "cluster %s: connecting", ex->cluster);
            snprintf(m->reason, sizeof(m->reason), "%s", "BackingServiceUnknown");
            x->sans_unknown = 1;
            cluster_put(x->cc, cl);
            continue;
        }
        if (!m->reachable) {
            /* Last known: its cached Service still gives the ports and selector. */
            strbuf_addf(&m->problem, "cluster %s: unreachable (see its MeshNetwork)", ex->cluster);
            snprintf(m->reason, sizeof(m->reason), "%s", "ClusterUnreachable");
            x->sans_unknown = 1;
        }
        struct strbuf key = STRBUF_INIT;
        strbuf_addf(&key, "%s/%s", x->ccs->namespace_, svcname);
        m->service = rt_store_get_copy(rt_reflector_store(cl->services), key.buf);
        if (!m->service) {
            m->gone = 1;
            x->gone++;
            snprintf(m->reason, sizeof(m->reason), "%s", "BackingServiceNotFound");
            strbuf_addf(&m->problem,
                        "%scluster %s: Service %s not found (spec.exportFrom): its endpoints are "
                        "withdrawn from the importers",
                        m->problem.len ? "; " : "", ex->cluster, key.buf);
        }
        strbuf_release(&key);
        cluster_put(x->cc, cl);
    }
}

/* The ports an importer already has (the first reachable importer's entry that has some):
 * what is kept while the defining exporter's Service is unknown. 1 when found. */
static int keep_known_ports(struct ccs_ctx *x)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", x->ccs->namespace_, x->ccs->name);
    for (size_t i = 0; i < x->nmembers && !x->nports; i++) {
        struct ccs_cluster *cl = x->members[i].importer && x->members[i].reachable
                                     ? cluster_get(x->cc, x->members[i].spec->name)
                                     : NULL;
        cJSON *live = cl ? rt_store_get_copy(rt_reflector_store(cl->entries), key.buf) : NULL;
        x->nports = mesh_ccs_entry_ports(live, &x->ports);
        cJSON_Delete(live);
        cluster_put(x->cc, cl);
    }
    strbuf_release(&key);
    return x->nports != 0;
}

/* The service's ports, by ccs_ports.h's rule: spec.ports; else the first exporter (in
 * spec.exportFrom) not known gone: its Service's, or while that is unknown what the
 * importers have; else (every exporter gone or unusable) what the importers have; else
 * x->ports_unknown. */
static void define_ports(struct ccs_ctx *x)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (x->ccs->nports) {
        x->nports =
            mesh_service_ports(NULL, x->ccs->ports, x->ccs->nports, "spec.ports", &x->ports, &p);
        mesh_problem_release(&p);
        x->ports_unknown = x->nports == 0;
        return;
    }
    for (size_t e = 0; e < x->ccs->nexports && !x->nports; e++) {
        struct member_view *m = member_named(x, x->ccs->exports[e].cluster);
        if (!m || m->gone)
            continue;
        if (!m->service) { /* unknown: keep what is written, if anything is */
            keep_known_ports(x);
            continue;
        }
        mesh_problem_release(&p);
        mesh_problem_init(&p);
        x->nports = mesh_service_ports(m->service, NULL, 0, "", &x->ports, &p);
        if (x->nports)
            x->definer = m;
    }
    mesh_problem_release(&p);
    if (!x->nports) /* every exporter gone or unusable: the importers keep their ports */
        keep_known_ports(x);
    x->ports_unknown = x->nports == 0;
}

/* Another exporter's Service against the definer's (ports from Services only): the
 * differences go into the Conflict message and that member's status. */
static void compare_ports(struct ccs_ctx *x, const struct mesh_export *ex, struct member_view *m)
{
    const struct mesh_export *dex = mesh_ccs_export_of(x->ccs, x->definer->spec->name);
    struct strbuf wd = STRBUF_INIT, od = STRBUF_INIT;
    service_desc(x, dex, &wd);
    service_desc(x, ex, &od);
    struct mesh_port *own = NULL;
    struct mesh_problem p;
    mesh_problem_init(&p);
    size_t n = mesh_service_ports(m->service, NULL, 0, od.buf, &own, &p);
    if (mesh_ccs_ports_compare(x->ports, x->nports, wd.buf, own, n, od.buf, &m->conflict)) {
        strbuf_addf(&x->port_conflict,
                    "%s%s (cluster %s's ports are exported: the first exporter in "
                    "spec.exportFrom wins)",
                    x->port_conflict.len ? "; " : "", m->conflict.buf, x->definer->spec->name);
        if (!m->reason[0])
            snprintf(m->reason, sizeof(m->reason), "%s", MESH_CCS_PORT_CONFLICT);
    }
    mesh_service_ports_free(own, n);
    mesh_problem_release(&p);
    strbuf_release(&wd);
    strbuf_release(&od);
}

static void read_exporters(struct ccs_ctx *x)
{
    read_services(x);
    define_ports(x);
    for (size_t e = 0; e < x->ccs->nexports; e++) {
        const struct mesh_export *ex = &x->ccs->exports[e];
        struct member_view *m = member_named(x, ex->cluster);
        if (!m || !m->service)
            continue;
        struct strbuf desc = STRBUF_INIT;
        struct mesh_problem p;
        mesh_problem_init(&p);
        strbuf_addf(&desc, "cluster %s: Service %s/%s", ex->cluster, x->ccs->namespace_,
                    ex->service ? ex->service : x->ccs->name);
        /* its own ServiceEntry: the service's ports (spec.ports with the target ports it
         * gives), the target ports not given from its own Service */
        m->nports = x->ccs->nports ? mesh_service_ports(m->service, x->ccs->ports, x->ccs->nports,
                                                        desc.buf, &m->ports, &p)
                                   : mesh_ccs_exporter_ports(m->service, x->ports, x->nports,
                                                             desc.buf, &m->ports, &p);
        if (x->definer && m != x->definer && !x->ccs->nports)
            compare_ports(x, ex, m);
        if (!m->nports || !(m->selector = mesh_service_selector(m->service, desc.buf, &p))) {
            /* admitted but unusable: say so, and write nothing for this exporter */
            strbuf_addf(&m->problem, "%s%s", m->problem.len ? "; " : "", p.message.buf);
            snprintf(m->reason, sizeof(m->reason), "%s", p.reason);
        } else if (m->reachable) {
            struct ccs_cluster *cl = cluster_get(x->cc, ex->cluster);
            if (cl)
                read_pods(x, cl, m);
            else
                x->sans_unknown = 1;
            m->ready = cl != NULL;
            cluster_put(x->cc, cl);
        }
        mesh_problem_release(&p);
        strbuf_release(&desc);
    }
}

/* An exporter's identities could not be read: keep those the importers already pin,
 * so a partition does not change what clients accept. */
static void keep_known_sans(struct ccs_ctx *x)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", x->ccs->namespace_, x->ccs->name);
    for (size_t i = 0; i < x->nmembers; i++) {
        struct ccs_cluster *cl = x->members[i].importer && x->members[i].reachable
                                     ? cluster_get(x->cc, x->members[i].spec->name)
                                     : NULL;
        cJSON *live = cl ? rt_store_get_copy(rt_reflector_store(cl->entries), key.buf) : NULL;
        const cJSON *san;
        cJSON_ArrayForEach(san, mesh_json_get(live, "spec", "subjectAltNames"))
        {
            const char *pfx = "/sa/",
                       *sa = cJSON_IsString(san) ? strstr(san->valuestring, pfx) : NULL;
            if (sa)
                add_id(x,
                       mesh_spiffe_id(x->net->trust_domain, x->ccs->namespace_, sa + strlen(pfx)));
        }
        cJSON_Delete(live);
        cluster_put(x->cc, cl);
    }
    strbuf_release(&key);
}

/* ---- writes in one member ---- */

/* ---- what one reconcile changed: one Event for all of it ---- */

/* The note up to " (and N more)": an Event's note is at most 1 kB (1024 bytes), and the
 * count must fit after it. */
#define CHANGES_MAX 900

static const char *const change_verb[] = {"created", "updated", "deleted"};

/* One written object, for the reconcile's Event (flush_changes). Named while the note,
 * "<ns>/<name>: " and whole entries, stays within CHANGES_MAX; counted after that. */
static void note_change(struct ccs_ctx *x, enum change_kind k, const char *kind,
                        const char *cluster)
{
    x->nchanges[k]++;
    if (!kind)
        kind = "object";
    size_t prefix = strlen(x->ccs->namespace_) + 1 + strlen(x->ccs->name) + 2;
    size_t entry =
        (x->changes.len ? 2 : 0) + strlen(change_verb[k]) + 1 + strlen(kind) + 4 + strlen(cluster);
    if (x->changes_left_out || prefix + x->changes.len + entry > CHANGES_MAX) {
        x->changes_left_out++;
        return;
    }
    strbuf_addf(&x->changes, "%s%s %s in %s", x->changes.len ? ", " : "", change_verb[k], kind,
                cluster);
}

/* One Normal Event naming what this reconcile wrote (errors have their own, Warning):
 * Created, Updated or Deleted when all changes were of one kind, else Changed. */
static void flush_changes(struct ccs_ctx *x)
{
    int kinds = 0, total = 0;
    enum change_kind only = CHANGE_CREATED;
    for (int k = 0; k < 3; k++)
        if (x->nchanges[k]) {
            kinds++;
            total += x->nchanges[k];
            only = (enum change_kind)k;
        }
    if (!total)
        return;
    static const char *const reason[] = {"Created", "Updated", "Deleted"};
    const char *why = kinds == 1 ? reason[only] : "Changed";
    if (x->changes_left_out)
        rt_record(&x->events, "Normal", why, why, "%s/%s: %s (and %d more)", x->ccs->namespace_,
                  x->ccs->name, x->changes.buf, x->changes_left_out);
    else
        rt_record(&x->events, "Normal", why, why, "%s/%s: %s", x->ccs->namespace_, x->ccs->name,
                  x->changes.buf);
    strbuf_reset(&x->changes);
    memset(x->nchanges, 0, sizeof(x->nchanges));
    x->changes_left_out = 0;
}

/* Apply desired over live (the member's copy, NULL: none) when it differs. */
static int apply_object(struct ccs_ctx *x, struct ccs_cluster *cl, const struct kube_resource *r,
                        struct rt_reflector *cache, cJSON *desired, const cJSON *live,
                        struct strbuf *why)
{
    int rc = 0;
    if (mesh_object_needs_apply(desired, live)) {
        struct kube_error err = KUBE_ERROR_INIT;
        cJSON *written = NULL;
        kube_code kc = kube_apply(cl->client, r, x->ccs->namespace_, desired, MESH_FIELD_MANAGER, 1,
                                  &written, &err);
        if (kc == KUBE_E_NOT_FOUND && !x->net->claims.create_namespaces) {
            /* the namespace is missing, and the MeshNetwork does not let us create it */
            x->namespace_missing++;
        } else if (kc == KUBE_E_NOT_FOUND) { /* missing: create it (allowed), never delete */
            cJSON *ns = mesh_object_new("v1", "Namespace", NULL, x->ccs->namespace_, NULL);
            struct kube_error e2 = KUBE_ERROR_INIT;
            kube_create(cl->client, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL, &e2);
            kube_error_clear(&e2);
            cJSON_Delete(ns);
            kube_error_clear(&err);
            kc = kube_apply(cl->client, r, x->ccs->namespace_, desired, MESH_FIELD_MANAGER, 1,
                            &written, &err);
        }
        const char *kind = mesh_json_str(desired, "kind", NULL);
        if (kc == KUBE_E_NOT_FOUND && !x->net->claims.create_namespaces) {
            strbuf_addf(why,
                        "%scluster %s: writing %s %s/%s: namespace %s not found there (%s), and "
                        "MeshNetwork %s's spec.serviceClaims.createNamespaces is false: create "
                        "the namespace in cluster %s",
                        why->len ? "; " : "", cl->name, kind, x->ccs->namespace_, x->ccs->name,
                        x->ccs->namespace_, err.message, x->net->name, cl->name);
            rt_record(&x->events, "Warning", "NamespaceMissing", "NamespaceMissing",
                      "cluster %s: namespace %s not found, and MeshNetwork %s does not allow "
                      "creating it (spec.serviceClaims.createNamespaces)",
                      cl->name, x->ccs->namespace_, x->net->name);
            x->write_errors++;
            rc = -1;
        } else if (kc != KUBE_OK) {
            strbuf_addf(why, "%scluster %s: writing %s %s/%s: %s", why->len ? "; " : "", cl->name,
                        kind, x->ccs->namespace_, x->ccs->name, err.message);
            rt_record(&x->events, "Warning", "ApplyFailed", "ApplyFailed",
                      "cluster %s: writing %s: %s", cl->name, kind, err.message);
            x->write_errors++;
            rc = -1;
        } else {
            x->writes++;
            note_change(x, live ? CHANGE_UPDATED : CHANGE_CREATED, kind, cl->name);
            /* the next reconcile sees it before the watch brings it (no second apply) */
            rt_reflector_written(cache, written);
            written = NULL;
        }
        cJSON_Delete(written);
        kube_error_clear(&err);
    }
    return rc;
}

static int delete_if_present(struct ccs_ctx *x, struct ccs_cluster *cl,
                             const struct kube_resource *r, struct rt_reflector *cache,
                             struct strbuf *why)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", x->ccs->namespace_, x->ccs->name);
    cJSON *live = rt_store_get_copy(rt_reflector_store(cache), key.buf);
    strbuf_release(&key);
    int rc = 0;
    const char *svc =
        mesh_json_str(mesh_json_get(live, "metadata", "labels"), MESH_LABEL_SERVICE, NULL);
    struct strbuf want = STRBUF_INIT;
    strbuf_addf(&want, "%s.%s", x->ccs->namespace_, x->ccs->name);
    if (live && svc && strcmp(svc, want.buf) == 0) {
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code kc = kube_delete(cl->client, r, x->ccs->namespace_, x->ccs->name, NULL, &err);
        if (kc == KUBE_OK) {
            x->writes++;
            note_change(x, CHANGE_DELETED,
                        r == &MESH_RES_SERVICEENTRIES ? "ServiceEntry" : "DestinationRule",
                        cl->name);
        } else if (kc != KUBE_E_NOT_FOUND) {
            strbuf_addf(why, "%scluster %s: deleting %s: %s", why->len ? "; " : "", cl->name,
                        r->plural, err.message);
            x->write_errors++;
            rc = -1;
        }
        kube_error_clear(&err);
    }
    strbuf_release(&want);
    cJSON_Delete(live);
    return rc;
}

static void write_member(struct ccs_ctx *x, struct ccs_cluster *cl, size_t i, struct strbuf *why);

/* The writes in one member, through the cluster set's write gate: only while the
 * MeshNetwork controller has the member joined to this mesh (it leaves it before it
 * cleans a member that leaves the mesh, and that waits for the writes here). */
static void sync_member(struct ccs_ctx *x, size_t i, struct strbuf *why)
{
    struct member_view *m = &x->members[i];
    struct ccs_cluster *cl = m->reachable ? cluster_get(x->cc, m->spec->name) : NULL;
    struct kube_client *gate =
        cl ? rt_clusterset_begin_write(x->cc->clusters, x->net->name, m->spec->name) : NULL;
    if (!m->reachable || !cl || !cluster_synced(cl) || gate != cl->client) {
        if (m->exporter || m->importer) {
            strbuf_addf(why, "%scluster %s: %s (what it has is kept)", why->len ? "; " : "",
                        m->spec->name, m->reachable ? "caches are syncing" : "unreachable");
            x->unreachable++;
        }
        /* Unreachable by the MeshNetwork's status: not a failure to retry. Every
         * CrossClusterService of the mesh is queued again when that status says the
         * member is back (map_mesh); retrying each one meanwhile only stormed the home
         * API server with status and Event writes, and queued a user's change behind
         * hundreds of retries. Syncing caches (or a member not joined yet) are retried. */
        if (m->reachable)
            x->failed = 1;
    } else {
        write_member(x, cl, i, why);
    }
    rt_clusterset_end_write(x->cc->clusters, gate);
    cluster_put(x->cc, cl);
}

/* Write, delete or keep one object as ccs_desired decided. */
static int put_object(struct ccs_ctx *x, struct ccs_cluster *cl, const struct kube_resource *r,
                      struct rt_reflector *cache, enum mesh_ccs_intent intent, cJSON *obj,
                      const cJSON *live, struct strbuf *why)
{
    if (intent == MESH_INTENT_WRITE)
        return apply_object(x, cl, r, cache, obj, live, why);
    if (intent == MESH_INTENT_REMOVE)
        return delete_if_present(x, cl, r, cache, why);
    return 0;
}

/* What the members' views say, for ccs_desired: a member's selector only when its
 * backing Service is usable and it is reachable (ready). */
static struct mesh_ccs_member_facts *member_facts(const struct ccs_ctx *x)
{
    struct mesh_ccs_member_facts *f = ew_calloc(x->nmembers ? x->nmembers : 1, sizeof(*f));
    for (size_t i = 0; i < x->nmembers; i++) {
        const struct member_view *m = &x->members[i];
        f[i] = (struct mesh_ccs_member_facts){
            .spec = m->spec,
            .reachable = m->reachable,
            .addresses = m->addresses,
            .naddresses = m->naddresses,
            .selector = m->ready ? m->selector : NULL,
            .gone = m->gone,
            .ports = m->nports ? m->ports : NULL,
            .nports = m->nports,
        };
    }
    return f;
}

/* The whole decision, before any write: what ccs_desired wants in every member. */
static void decide_members(struct ccs_ctx *x)
{
    const struct mesh_ccs_facts f = {
        .ccs = x->ccs,
        .net = x->net,
        .host = x->host,
        .address = x->address,
        .ports = x->ports,
        .nports = x->nports,
        .sans = x->sans,
        .nsans = x->nsans,
        .no_identity = x->no_identity,
        .identity_unread = x->sans_unknown,
        .ports_unknown = x->ports_unknown,
    };
    struct mesh_ccs_member_facts *facts = member_facts(x);
    x->desired = ew_calloc(x->nmembers ? x->nmembers : 1, sizeof(*x->desired));
    for (size_t i = 0; i < x->nmembers; i++)
        mesh_ccs_desired_member(&f, facts, x->nmembers, i, &x->desired[i]);
    free(facts);
}

/* The object of kind r named like the CrossClusterService in cl, to be written: from the
 * cache (label-selected), else asked by name (foreign.h). A foreign one goes into foreign
 * (*adopt instead when the MeshNetwork adopts). -1 when it could not be read. */
static int find_object(struct ccs_ctx *x, struct ccs_cluster *cl, const struct kube_resource *r,
                       struct rt_reflector *cache, const char *kind, cJSON **live, int *adopt,
                       struct strbuf *foreign, struct strbuf *why)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", x->ccs->namespace_, x->ccs->name);
    *live = rt_store_get_copy(rt_reflector_store(cache), key.buf);
    strbuf_release(&key);
    struct strbuf service = STRBUF_INIT;
    strbuf_addf(&service, "%s.%s", x->ccs->namespace_, x->ccs->name);
    struct kube_error err = KUBE_ERROR_INIT;
    /* the cache selects managed-by only: an entry with another service's label (copied
     * labels) is not this service's either */
    enum mesh_found f = *live ? (mesh_object_is_ours(*live, NULL, service.buf) ? MESH_FOUND_OURS
                                                                               : MESH_FOUND_FOREIGN)
                              : mesh_object_lookup(cl->client, r, x->ccs->namespace_, x->ccs->name,
                                                   NULL, service.buf, live, &err);
    strbuf_release(&service);
    if (f == MESH_FOUND_ERROR) {
        strbuf_addf(why, "%scluster %s: writing %s %s/%s: reading it first: %s",
                    why->len ? "; " : "", cl->name, kind, x->ccs->namespace_, x->ccs->name,
                    err.message);
        rt_record(&x->events, "Warning", "ApplyFailed", "ApplyFailed",
                  "cluster %s: writing %s %s/%s: reading it first: %s", cl->name, kind,
                  x->ccs->namespace_, x->ccs->name, err.message);
        kube_error_clear(&err);
        x->write_errors++;
        return -1;
    }
    if (f == MESH_FOUND_FOREIGN && x->net->adopt_existing_objects)
        *adopt = 1;
    else if (f == MESH_FOUND_FOREIGN)
        mesh_foreign_add(foreign, kind, x->ccs->namespace_, x->ccs->name);
    return 0;
}

/* Foreign objects of its name in one member: neither is written there (an entry beside
 * someone else's rule, or the reverse, would serve neither); Imported says so, and a
 * Warning Event when its message does not say it yet. */
static void report_foreign(struct ccs_ctx *x, struct ccs_cluster *cl, const char *list,
                           struct strbuf *why)
{
    struct strbuf msg = STRBUF_INIT;
    mesh_foreign_message(&msg, cl->name, list);
    strbuf_addf(why, "%s%s", why->len ? "; " : "", msg.buf);
    const cJSON *old =
        mesh_json_find(mesh_json_get(x->obj, "status", "conditions"), "type", "Imported");
    const char *was = mesh_json_str(old, "message", NULL);
    if (!was || !strstr(was, msg.buf))
        rt_record(&x->events, "Warning", "ForeignObject", "Skip", "%s", msg.buf);
    strbuf_release(&msg);
    x->foreign++;
}

static void note_adopted(struct ccs_ctx *x, struct ccs_cluster *cl, int adopted, const char *kind)
{
    if (adopted)
        rt_record(&x->events, "Normal", "Adopted", "Adopt",
                  "adopted %s %s/%s in cluster %s (spec.adoptExistingObjects of MeshNetwork %s)",
                  kind, x->ccs->namespace_, x->ccs->name, cl->name, x->net->name);
}

/* One member: what was decided for it, where the member's copy differs. Both objects
 * are attempted even when the first fails (the reconcile is retried either way); none
 * when one of them is foreign. */
static void write_member(struct ccs_ctx *x, struct ccs_cluster *cl, size_t i, struct strbuf *why)
{
    struct mesh_ccs_member_desired *d = &x->desired[i];
    if (d->ports_unknown)
        strbuf_addf(why,
                    "%scluster %s: no port known (spec.ports is not set, and no exporter's "
                    "backing Service is known): what it has is kept",
                    why->len ? "; " : "", x->members[i].spec->name);
    else if (d->no_identity && ++x->waiting)
        strbuf_addf(why, "%scluster %s: no ServiceEntry until an identity is known",
                    why->len ? "; " : "", x->members[i].spec->name);
    else if ((d->role & MESH_ROLE_IMPORTS) && d->nendpoints == 0 && ++x->empty)
        /* written anyway: the entry exists, traffic has nowhere to go */
        strbuf_addf(why, "%scluster %s: no endpoint yet (no exporter has a gateway address%s)",
                    why->len ? "; " : "", x->members[i].spec->name,
                    x->ccs->partition_policy == MESH_WITHDRAW ? " or is reachable" : "");
    cJSON *se = NULL, *dr = NULL;
    int adopt_se = 0, adopt_dr = 0, failed = 0;
    struct strbuf foreign = STRBUF_INIT;
    if (d->entry == MESH_INTENT_WRITE)
        failed |= find_object(x, cl, &MESH_RES_SERVICEENTRIES, cl->entries, "ServiceEntry", &se,
                              &adopt_se, &foreign, why);
    if (d->rule == MESH_INTENT_WRITE)
        failed |= find_object(x, cl, &MESH_RES_DESTINATIONRULES, cl->rules, "DestinationRule", &dr,
                              &adopt_dr, &foreign, why);
    if (foreign.len) {
        report_foreign(x, cl, foreign.buf, why);
    } else if (!failed) {
        int f = put_object(x, cl, &MESH_RES_SERVICEENTRIES, cl->entries, d->entry, d->service_entry,
                           se, why);
        if (!f)
            note_adopted(x, cl, adopt_se, "ServiceEntry");
        int g = put_object(x, cl, &MESH_RES_DESTINATIONRULES, cl->rules, d->rule,
                           d->destination_rule, dr, why);
        if (!g)
            note_adopted(x, cl, adopt_dr, "DestinationRule");
        failed = f || g;
    }
    strbuf_release(&foreign);
    cJSON_Delete(se);
    cJSON_Delete(dr);
    if (failed)
        x->failed = 1;
}

/* ---- status ---- */

/* A Warning Event when importers start waiting for an identity (not on every reconcile
 * while they wait: Ready says so meanwhile). */
static void note_waiting(struct ccs_ctx *x)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, mesh_json_get(x->obj, "status", "conditions"))
    {
        const char *type = mesh_json_str(c, "type", NULL),
                   *reason = mesh_json_str(c, "reason", NULL);
        if (type && reason && strcmp(type, "Imported") == 0 &&
            strcmp(reason, MESH_CCS_WAITING_FOR_IDENTITY) == 0)
            return;
    }
    struct strbuf from = STRBUF_INIT;
    for (size_t i = 0; i < x->nmembers; i++)
        if (x->members[i].exporter)
            strbuf_addf(&from, "%s%s", from.len ? "," : "", x->members[i].spec->name);
    rt_record(&x->events, "Warning", MESH_CCS_WAITING_FOR_IDENTITY, MESH_CCS_WAITING_FOR_IDENTITY,
              "%s/%s: no identity known for the workloads exported from %s: no importer "
              "ServiceEntry is written until a pod the backing Service selects has one",
              x->ccs->namespace_, x->ccs->name, from.buf);
    strbuf_release(&from);
}

/* A Warning Event when the exporters' ports start to disagree, or disagree otherwise. */
static void note_port_conflict(struct ccs_ctx *x)
{
    const cJSON *old =
        mesh_json_find(mesh_json_get(x->obj, "status", "conditions"), "type", "Conflict");
    const char *was = mesh_json_str(old, "message", NULL);
    if (!was || strcmp(was, x->port_conflict.buf) != 0)
        rt_record(&x->events, "Warning", MESH_CCS_PORT_CONFLICT, MESH_CCS_PORT_CONFLICT,
                  "%s/%s: %s", x->ccs->namespace_, x->ccs->name, x->port_conflict.buf);
}

/* The status, when it changed; what the server answers goes into the cache at once, so
 * that a reconcile before the watch brings it does not write the same status again.
 * 0, or -1 when it failed: the reconcile is then retried with backoff (no watch event
 * would bring it back: the writes' own events are no change once their answers are
 * cached). A CrossClusterService that is gone needs no status. */
static int write_status(struct mesh_ccs_controller *cc, const cJSON *obj, cJSON *st)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *written = NULL;
    kube_code rc =
        rt_status_write(cc->o.home, &MESH_RES_CROSSCLUSTERSERVICES, obj, st, &written, &err);
    if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND)
        ew_log(cc->o.log, EW_LOG_WARN, "status write failed", "crossclusterservice",
               mesh_json_str(obj, "metadata", "name"), "error", err.message, NULL);
    rt_reflector_written(cc->ccs, written);
    kube_error_clear(&err);
    return rc == KUBE_OK || rc == KUBE_E_NOT_FOUND ? 0 : -1;
}

/* What a reconcile that only wrote its status returns. */
static struct rt_result status_only(int written)
{
    return (struct rt_result){written == 0 ? RT_DONE : RT_ERROR, 0};
}

/* ---- finalizer and deletion ---- */

static kube_code set_finalizer(struct mesh_ccs_controller *cc, const cJSON *obj, int present)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *written = NULL;
    kube_code rc = rt_finalizer_set(cc->o.home, &MESH_RES_CROSSCLUSTERSERVICES, obj, MESH_FINALIZER,
                                    present, present ? &written : NULL, &err);
    rt_reflector_written(cc->ccs, written); /* adding: its reconcile goes on (removing: it goes) */
    kube_error_clear(&err);
    return rc;
}

/* Remove its objects from one member of its mesh, through the write gate. */
static int cleanup_member(struct ccs_ctx *x, const char *mesh, const char *name, struct strbuf *why)
{
    struct ccs_cluster *cl = cluster_get(x->cc, name);
    struct kube_client *gate = cl ? rt_clusterset_begin_write(x->cc->clusters, mesh, name) : NULL;
    int rc = 0;
    if (!cl || !cluster_synced(cl) || gate != cl->client) {
        strbuf_addf(why, "%scluster %s: not connected", why->len ? "; " : "", name);
        rc = -1;
    } else if (delete_if_present(x, cl, &MESH_RES_SERVICEENTRIES, cl->entries, why) ||
               delete_if_present(x, cl, &MESH_RES_DESTINATIONRULES, cl->rules, why)) {
        rc = -1;
    }
    rt_clusterset_end_write(x->cc->clusters, gate);
    cluster_put(x->cc, cl);
    return rc;
}

/* Remove its objects from every member of one mesh it may have written to: the
 * members the MeshNetwork lists, or when its spec cannot be read, those its status
 * recorded (recorded: status.writtenClusters, may be NULL). A member that left the
 * mesh, and every member of a MeshNetwork being deleted, is cleaned by the MeshNetwork
 * controller (member_leave.c), which holds the member (and its own finalizer) until
 * nothing labelled with the mesh is left there. So: 0 when all are gone (or the
 * MeshNetwork is, which means its cleanup is done), 1 while the MeshNetwork's own
 * cleanup runs, -1 with why when some member is pending. */
static int cleanup_mesh(struct ccs_ctx *x, const char *mesh, const cJSON *recorded,
                        struct strbuf *why)
{
    cJSON *mesh_obj = rt_store_get_copy(rt_reflector_store(x->cc->meshes), mesh);
    if (!mesh_obj)
        return 0;
    int rc = 0;
    struct mesh_network net;
    if (mesh_json_get(mesh_obj, "metadata", "deletionTimestamp")) {
        rc = 1;
    } else if (mesh_network_parse(mesh_obj, &net, NULL) == MESH_OK) {
        for (size_t i = 0; i < net.nclusters; i++)
            if (cleanup_member(x, mesh, net.clusters[i].name, why))
                rc = -1;
        mesh_network_release(&net);
    } else if (cJSON_GetArraySize(recorded) > 0) {
        const cJSON *c;
        cJSON_ArrayForEach(c, recorded)
        {
            if (cJSON_IsString(c) && cleanup_member(x, mesh, c->valuestring, why))
                rc = -1;
        }
    } else {
        strbuf_addf(why,
                    "%sMeshNetwork %s is invalid and status.writtenClusters names none of its "
                    "members: where its objects are is not known",
                    why->len ? "; " : "", mesh);
        rc = -1;
    }
    cJSON_Delete(mesh_obj);
    return rc;
}

/* The worse of two cleanup_mesh results: pending (-1), then waiting (1), then done. */
static int cleanup_worse(int a, int b)
{
    return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

/* Remove its objects from every member it may have written to: the mesh its status
 * records (status.meshNetwork: moved away since, or the spec unreadable) and the mesh
 * its spec names (spec_mesh, NULL when the spec cannot be read). */
static int cleanup_all(struct ccs_ctx *x, const char *spec_mesh, struct strbuf *why)
{
    const char *was = mesh_json_str(x->obj, "status", "meshNetwork");
    const cJSON *recorded = mesh_json_get(x->obj, "status", "writtenClusters");
    int rc = 0;
    if (was && (!spec_mesh || strcmp(was, spec_mesh) != 0))
        rc = cleanup_mesh(x, was, recorded, why);
    if (spec_mesh)
        rc = cleanup_worse(
            rc, cleanup_mesh(x, spec_mesh, was && !strcmp(was, spec_mesh) ? recorded : NULL, why));
    return rc;
}

/* A deleting CrossClusterService: its objects go from every member it may have written
 * to (cleanup_all), then its finalizer. spec_mesh as cleanup_all's. */
static struct rt_result finish_deletion(struct ccs_ctx *x, const char *spec_mesh)
{
    struct rt_result out;
    struct strbuf why = STRBUF_INIT;
    int rc = rt_finalizer_present(x->obj, MESH_FINALIZER) ? cleanup_all(x, spec_mesh, &why) : 0;
    flush_changes(x);
    if (!rt_finalizer_present(x->obj, MESH_FINALIZER)) {
        out = (struct rt_result){RT_DONE, 0};
    } else if (rc == 0) {
        out =
            (struct rt_result){set_finalizer(x->cc, x->obj, 0) == KUBE_OK ? RT_DONE : RT_ERROR, 0};
    } else if (rc == 1) { /* queued again when the MeshNetwork goes (map_mesh) */
        out = (struct rt_result){RT_REQUEUE_AFTER, 2};
    } else {
        rt_record(&x->events, "Warning", "CleanupPending", "CleanupPending",
                  "waiting to remove finalizer %s: %s", MESH_FINALIZER, why.buf);
        out = (struct rt_result){RT_ERROR, 0};
    }
    strbuf_release(&why);
    return out;
}

/* A spec the operator cannot parse (the API server admitted it): its status says why;
 * deleting, it is cleaned by what it wrote - the mesh and members its status recorded,
 * else the mesh its spec names as a string - never left behind for want of a readable
 * spec. Only objects labelled as this service's are removed (delete_if_present). */
static struct rt_result unparsed(struct mesh_ccs_controller *cc, const cJSON *obj,
                                 const struct mesh_problem *p)
{
    int64_t gen = mesh_object_generation(obj);
    struct rt_result out = status_only(
        write_status(cc, obj, mesh_ccs_blocked_status(obj, gen, p->reason, p->message.buf, 0)));
    if (!mesh_json_get(obj, "metadata", "deletionTimestamp") ||
        !rt_finalizer_present(obj, MESH_FINALIZER))
        return out;
    const char *ns = mesh_json_str(obj, "metadata", "namespace");
    const char *name = mesh_json_str(obj, "metadata", "name");
    const cJSON *mn = mesh_json_get(obj, "spec", "meshNetwork");
    /* an unreadable spec: only its identity, enough to clean by what its status recorded */
    struct mesh_ccs identity = {
        .namespace_ = ew_strdup(ns ? ns : ""),
        .name = ew_strdup(name ? name : ""),
        .uid = ew_strdup(
            mesh_json_str(obj, "metadata", "uid") ? mesh_json_str(obj, "metadata", "uid") : ""),
    };
    struct ccs_ctx x = {.cc = cc, .obj = obj, .ccs = &identity};
    x.ref = (struct rt_object_ref){"eastwest.io/v1alpha1", "CrossClusterService",
                                   identity.namespace_, identity.name, identity.uid};
    x.events = (struct rt_event_target){
        .recorder = cc->o.events,
        .log = cc->o.log,
        .log_key = "crossclusterservice",
        .regarding = &x.ref,
    };
    out = finish_deletion(&x, cJSON_IsString(mn) && *mn->valuestring ? mn->valuestring : NULL);
    strbuf_release(&x.changes);
    mesh_ccs_release(&identity);
    return out;
}

/* ---- the reconcile ---- */

/* How long a reconcile waits for a member's caches to list, when to look again, and
 * for how long after its caches (or the controller) started a member that has not
 * listed holds the reconcile back; past that, it goes on and says "caches are
 * syncing" in the status, as a member that cannot list is something to see. */
#define MEMBER_SYNC_WAIT  1.0
#define MEMBER_SYNC_RETRY 1.0
#define MEMBER_SYNC_GRACE 60.0

static int wait_synced(struct ccs_cluster *cl)
{
    return rt_reflector_wait_synced(cl->services, MEMBER_SYNC_WAIT) &&
           rt_reflector_wait_synced(cl->entries, MEMBER_SYNC_WAIT) &&
           rt_reflector_wait_synced(cl->rules, MEMBER_SYNC_WAIT);
}

/* 1 when an exporter, or a reachable importer, of this service is not connected, or its
 * caches are still making their first list, and it is young: then nothing is written. A decision
 * from caches that have not listed would write the importers without the exporter's Service and
 * endpoints, and again once they listed (seen after every operator restart:
 * test_reconcile/restart-writes-nothing). */
static int members_listing(struct ccs_ctx *x)
{
    double now = ew_now_mono();
    for (size_t i = 0; i < x->nmembers; i++) {
        const struct member_view *m = &x->members[i];
        /* an unreachable importer is not written anyway; an unreachable exporter whose
         * caches never listed has no last known Service to keep the importers by */
        if (!(m->exporter || (m->importer && m->reachable)))
            continue;
        struct ccs_cluster *cl = cluster_get(x->cc, m->spec->name);
        double grace =
            x->cc->o.member_sync_grace > 0 ? x->cc->o.member_sync_grace : MEMBER_SYNC_GRACE;
        int listing =
            cl ? !wait_synced(cl) && now - cl->started < grace : now - x->cc->started < grace;
        if (cl && m->exporter)
            cluster_pods(x->cc, cl); /* listing too, meanwhile */
        cluster_put(x->cc, cl);
        if (listing)
            return 1;
    }
    return 0;
}

/* How soon a refused claim whose objects could not all be withdrawn looks again. */
#define REFUSED_CLEANUP_RETRY 10.0

/* What it wrote is withdrawn from every member of the mesh, and its status says why
 * (conflict: Conflict=True too) - a policy decision, not a failed read: only objects
 * labelled as this service's go, never another service's of the same host. */
static struct rt_result withdraw(struct ccs_ctx *x, const char *reason, const char *msg,
                                 int conflict)
{
    struct strbuf why = STRBUF_INIT;
    int pending = 0;
    for (size_t i = 0; i < x->net->nclusters; i++)
        if (cleanup_member(x, x->net->name, x->net->clusters[i].name, &why))
            pending = 1;
    flush_changes(x);
    strbuf_release(&why);
    int st = write_status(
        x->cc, x->obj, mesh_ccs_blocked_status(x->obj, x->ccs->generation, reason, msg, conflict));
    if (st != 0)
        return (struct rt_result){RT_ERROR, 0};
    return pending ? (struct rt_result){RT_REQUEUE_AFTER, REFUSED_CLEANUP_RETRY}
                   : (struct rt_result){RT_DONE, 0};
}

/* A claim outside the MeshNetwork's serviceClaims, or of an address an importer's
 * Service has: its status says why, and what it wrote before (the policy was tightened,
 * the Service came, since) is withdrawn from every member of the mesh. */
static struct rt_result refuse_claim(struct ccs_ctx *x, const struct mesh_problem *p)
{
    return withdraw(x, p->reason, p->message.buf, 0);
}

/* Status records where it writes (ccs_status.h): a move, or a deletion with a spec that
 * cannot be read, cleans by that. The status written after the members is the record;
 * a record that misses one of the members (one joined the mesh) is completed before it
 * is written there. With no record yet (a new service, or one just moved: nothing of it
 * is in this mesh's members, or what is was written by a version that kept none) the
 * status after the writes records it: no request more per new service. -1 when that
 * status could not be written: nothing is written then. */
static int record_ahead(struct ccs_ctx *x)
{
    if (!mesh_json_get(x->obj, "status", "meshNetwork") ||
        mesh_ccs_status_records(x->obj, x->net->name, x->members, x->nmembers))
        return 0;
    const cJSON *old = mesh_json_get(x->obj, "status", NULL);
    cJSON *st = cJSON_IsObject(old) ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    mesh_ccs_status_record(st, x->net->name, x->members, x->nmembers);
    return write_status(x->cc, x->obj, st);
}

/* Moved to another mesh (spec.meshNetwork edited; was: the mesh its status records):
 * what it wrote in the old mesh's members goes first, then the record of it (so that a
 * later reconcile that finds the new mesh blocked does not look there again), and only
 * then is the new mesh written. 1 when the old mesh is clean; else 0 with *out. */
static int leave_old_mesh(struct ccs_ctx *x, cJSON *obj, const char *was, struct rt_result *out)
{
    struct strbuf why = STRBUF_INIT;
    int rc = cleanup_mesh(x, was, mesh_json_get(obj, "status", "writtenClusters"), &why);
    flush_changes(x);
    if (rc == 0) {
        cJSON *st = cJSON_Duplicate(mesh_json_get(obj, "status", NULL), 1);
        cJSON_DeleteItemFromObjectCaseSensitive(st, "meshNetwork");
        cJSON_DeleteItemFromObjectCaseSensitive(st, "writtenClusters");
        if (write_status(x->cc, obj, st) == 0) {
            cJSON *mine = cJSON_GetObjectItemCaseSensitive(obj, "status");
            cJSON_DeleteItemFromObjectCaseSensitive(mine, "meshNetwork");
            cJSON_DeleteItemFromObjectCaseSensitive(mine, "writtenClusters");
        } else {
            *out = (struct rt_result){RT_ERROR, 0};
            rc = -1;
        }
    } else {
        struct strbuf m = STRBUF_INIT;
        strbuf_addf(&m,
                    "spec.meshNetwork moved from %s to %s: what it wrote in %s's members goes "
                    "first: ",
                    was, x->ccs->mesh_network, was);
        if (rc == 1)
            strbuf_addf(&m, "MeshNetwork %s is being deleted, and its own cleanup runs", was);
        else
            strbuf_adds(&m, why.buf);
        int st = write_status(
            x->cc, obj,
            mesh_ccs_blocked_status(obj, x->ccs->generation, "MovingMeshNetwork", m.buf, 0));
        *out = rc == 1 && st == 0 ? (struct rt_result){RT_REQUEUE_AFTER, 2}
                                  : (struct rt_result){RT_ERROR, 0};
        strbuf_release(&m);
    }
    strbuf_release(&why);
    return rc == 0;
}

static struct rt_result work(struct ccs_ctx *x, const cJSON *mesh_obj, double queued_for)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    struct rt_result out = {RT_DONE, 0};
    x->host = mesh_ccs_host(x->ccs, x->net);
    /* the MeshNetwork's serviceClaims (claims.h) first: a claim outside it writes nothing,
     * and takes no part in conflicts (scan_claims skips it); so does a host Istio refuses
     * (host_name.h), reported with the field to change */
    if (mesh_ccs_host_check(x->ccs, x->net, x->host, &p) != MESH_OK ||
        mesh_claims_check(x->net, x->ccs->namespace_, x->host, x->ccs->address, &p) != MESH_OK) {
        out = refuse_claim(x, &p);
        goto done;
    }
    struct claim_scan cs = {.x = x, .host = x->host, .address = x->ccs->address};
    scan_claimants(&cs, x->host, x->ccs->address);
    if (cs.winner) {
        struct strbuf m = STRBUF_INIT;
        strbuf_addf(&m,
                    "%s %s is already claimed by CrossClusterService %s (older); this one "
                    "writes nothing",
                    cs.what, strcmp(cs.what, "host") == 0 ? x->host : x->ccs->address, cs.winner);
        out = withdraw(x, "Conflict", m.buf, 1); /* the loser's objects go, the winner's stay */
        strbuf_release(&m);
        free(cs.winner);
        goto done;
    }
    if (mesh_ccs_check_members(x->ccs, x->net, &p) != MESH_OK) {
        out = status_only(write_status(
            x->cc, x->obj,
            mesh_ccs_blocked_status(x->obj, x->ccs->generation, p.reason, p.message.buf, 0)));
        goto done;
    }
    read_mesh_status(x, mesh_obj);
    if (members_listing(x)) {
        out = (struct rt_result){RT_REQUEUE_AFTER, MEMBER_SYNC_RETRY};
        goto done;
    }
    /* after the members listed: an address used by an importer's Service is not free;
     * claiming it is refused like a claim outside the policy (what was written goes) */
    int no_address = choose_address(x, &p) != 0;
    if (no_address && strcmp(p.reason, "AddressInUse") == 0) {
        out = refuse_claim(x, &p);
        goto done;
    } else if (no_address) {
        out = status_only(write_status(
            x->cc, x->obj,
            mesh_ccs_blocked_status(x->obj, x->ccs->generation, p.reason, p.message.buf, 0)));
        goto done;
    }
    read_exporters(x);
    /* The identities the pods give, when they give some; else (no pod read, or none with
     * an identity) those the importers already pin: pods that come and go never leave an
     * importer without subjectAltNames. */
    if (x->sans_unknown || x->nsans == 0)
        keep_known_sans(x);
    x->no_identity = x->nsans == 0;
    /* one order whatever the caches' (hash) order: no rewrite for a reordering */
    if (x->nsans > 1)
        qsort(x->sans, x->nsans, sizeof(char *), cmp_ids);
    if (record_ahead(x) != 0) {
        out = (struct rt_result){RT_ERROR, 0};
        goto done;
    }
    decide_members(x);
    struct strbuf why = STRBUF_INIT;
    double start = ew_now_mono();
    for (size_t i = 0; i < x->nmembers; i++)
        sync_member(x, i, &why);
    flush_changes(x);
    if (x->writes && x->cc->m_propagation) {
        const char *lv[] = {"crossclusterservice"};
        rt_metric_observe(x->cc->m_propagation, lv, queued_for + ew_now_mono() - start);
    }
    const struct mesh_ccs_outcome outcome = {
        .generation = x->ccs->generation,
        .host = x->host,
        .address = x->address,
        .members = x->members,
        .nmembers = x->nmembers,
        .write_errors = x->write_errors,
        .namespace_missing = x->namespace_missing,
        .unreachable = x->unreachable,
        .waiting_for_identity = x->waiting,
        .foreign = x->foreign,
        .write_problem = why.buf,
        .mesh_network = x->net->name,
        .gone = x->gone,
        .ports_unknown = x->ports_unknown,
        .port_conflict = x->port_conflict.buf,
    };
    if (x->waiting)
        note_waiting(x);
    if (x->port_conflict.len)
        note_port_conflict(x);
    if (write_status(x->cc, x->obj,
                     mesh_ccs_status(mesh_json_get(x->obj, "status", "conditions"), &outcome)))
        x->failed = 1;
    strbuf_release(&why);
    if (x->failed)
        out = (struct rt_result){RT_ERROR, 0};
    else if (x->pods_syncing)
        out = (struct rt_result){RT_REQUEUE_AFTER, PODS_SYNC_RETRY};
    else if (x->foreign) /* their removal wakes no cache (foreign.h) */
        out = (struct rt_result){RT_REQUEUE_AFTER, MESH_FOREIGN_LOOK};
done:
    mesh_problem_release(&p);
    return out;
}

/* A CrossClusterService whose range was full (AddressRangeExhausted) is done until
 * something queues it: queue it when another one goes and its address comes free. */
static void requeue_exhausted(void *ud, const char *key, const cJSON *obj)
{
    struct mesh_ccs_controller *cc = ud;
    const cJSON *c;
    cJSON_ArrayForEach(c, mesh_json_get(obj, "status", "conditions"))
    {
        const char *type = mesh_json_str(c, "type", NULL);
        const char *reason = mesh_json_str(c, "reason", NULL);
        if (type && reason && strcmp(type, "Ready") == 0 &&
            strcmp(reason, "AddressRangeExhausted") == 0)
            rt_controller_enqueue(cc->ctl, key);
    }
}

static struct rt_result reconcile(void *ud, const char *key, double queued_for)
{
    struct mesh_ccs_controller *cc = ud;
    evict_stale_clusters(cc);
    cJSON *obj = rt_store_get_copy(rt_reflector_store(cc->ccs), key);
    if (!obj) {
        mesh_vip_table_lock(cc->vips);
        mesh_vip_table_release(cc->vips, key);
        mesh_vip_table_unlock(cc->vips);
        rt_store_foreach(rt_reflector_store(cc->ccs), requeue_exhausted, cc);
        return (struct rt_result){RT_DONE, 0};
    }
    struct mesh_ccs c;
    struct mesh_network net;
    struct mesh_problem p;
    mesh_problem_init(&p);
    struct ccs_ctx x;
    memset(&x, 0, sizeof(x));
    x.cc = cc;
    x.obj = obj;
    struct rt_result out = {RT_DONE, 0};
    int64_t gen = mesh_object_generation(obj);
    int deleting = mesh_json_get(obj, "metadata", "deletionTimestamp") != NULL;
    if (mesh_ccs_parse(obj, &c, &p) != MESH_OK) {
        out = unparsed(cc, obj, &p);
        goto out_noparse; /* the failed parse released c (api.h) */
    }
    x.ccs = &c;
    x.ref = (struct rt_object_ref){"eastwest.io/v1alpha1", "CrossClusterService", c.namespace_,
                                   c.name, c.uid};
    x.events = (struct rt_event_target){
        .recorder = cc->o.events,
        .log = cc->o.log,
        .log_key = "crossclusterservice",
        .regarding = &x.ref,
    };
    if (deleting) {
        out = finish_deletion(&x, c.mesh_network);
        goto out_ccs;
    }
    if (!rt_finalizer_present(obj, MESH_FINALIZER) && set_finalizer(cc, obj, 1) != KUBE_OK) {
        out = (struct rt_result){RT_ERROR, 0};
        goto out_ccs;
    }
    /* With the finalizer in place, go on: the update comes back through the watch and
     * queues the key again, and that reconcile finds nothing left to write. */
    const char *was = mesh_json_str(obj, "status", "meshNetwork");
    if (was && strcmp(was, c.mesh_network) != 0 && !leave_old_mesh(&x, obj, was, &out))
        goto out_ccs;
    cJSON *mesh_obj = rt_store_get_copy(rt_reflector_store(cc->meshes), c.mesh_network);
    if (mesh_json_get(mesh_obj, "metadata", "deletionTimestamp")) {
        /* Its members are leaving the mesh: the MeshNetwork controller removes what this
         * service has there, and nothing is written any more. */
        struct strbuf m = STRBUF_INIT;
        strbuf_addf(&m,
                    "MeshNetwork %s (spec.meshNetwork) is being deleted: its members no "
                    "longer get this service",
                    c.mesh_network);
        out = status_only(write_status(
            cc, obj, mesh_ccs_blocked_status(obj, gen, "MeshNetworkDeleting", m.buf, 0)));
        strbuf_release(&m);
        cJSON_Delete(mesh_obj);
        goto out_ccs;
    }
    if (!mesh_obj || mesh_network_parse(mesh_obj, &net, &p) != MESH_OK) {
        struct strbuf m = STRBUF_INIT;
        strbuf_addf(&m, "MeshNetwork %s (spec.meshNetwork) %s", c.mesh_network,
                    mesh_obj ? "is invalid" : "not found");
        out = status_only(write_status(
            cc, obj,
            mesh_ccs_blocked_status(
                obj, gen, mesh_obj ? "MeshNetworkInvalid" : "MeshNetworkNotFound", m.buf, 0)));
        strbuf_release(&m);
        cJSON_Delete(mesh_obj); /* net: not parsed, or released by the failed parse (api.h) */
        goto out_ccs;
    }
    x.net = &net;
    out = work(&x, mesh_obj, queued_for);
    release_ctx(&x);
    mesh_network_release(&net);
    cJSON_Delete(mesh_obj);
out_ccs:
    strbuf_release(&x.changes);
    mesh_ccs_release(&c);
out_noparse:
    mesh_problem_release(&p);
    cJSON_Delete(obj);
    return out;
}

/* ---- set-up ---- */

static void map_mesh(void *ud, enum rt_change change, const char *key, const cJSON *obj,
                     void (*emit)(void *q, const char *primary_key), void *q);

struct mesh_map {
    const char *mesh;
    void (*emit)(void *q, const char *primary_key);
    void *q;
};

static void emit_if_in_mesh(void *ud, const char *key, const cJSON *obj)
{
    struct mesh_map *m = ud;
    const char *mn = mesh_json_str(obj, "spec", "meshNetwork");
    if (mn && strcmp(mn, m->mesh) == 0)
        m->emit(m->q, key);
}

static void map_mesh(void *ud, enum rt_change change, const char *key, const cJSON *obj,
                     void (*emit)(void *q, const char *primary_key), void *q)
{
    struct mesh_ccs_controller *cc = ud;
    (void)obj;
    struct mesh_map m = {key, emit, q};
    rt_store_foreach(rt_reflector_store(cc->ccs), emit_if_in_mesh, &m);
}

struct mesh_ccs_controller *mesh_ccs_controller_new(const struct mesh_ccs_controller_options *o)
{
    struct mesh_ccs_controller *cc = ew_calloc(1, sizeof(*cc));
    cc->o = *o;
    cc->clusters = o->clusters;
    pthread_mutex_init(&cc->mu, NULL);
    strmap_init(&cc->caches);
    cc->vips = mesh_vip_table_new();
    cc->started = ew_now_mono();
    if (o->metrics) {
        static const double buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
        cc->m_propagation = rt_metrics_register(
            o->metrics, RT_HISTOGRAM, "eastwest_propagation_seconds",
            "From a change being queued to the last member write it caused being applied.",
            "controller", buckets, sizeof(buckets) / sizeof(buckets[0]));
    }
    const struct rt_controller_options co = {
        .name = "crossclusterservice",
        .workers = o->workers,
        .reconcile_waited = reconcile,
        .ud = cc,
        .metrics = o->metrics,
        .log = o->log,
        .queue = {.base_delay = o->retry_initial > 0 ? o->retry_initial : MESH_RETRY_INITIAL,
                  .max_delay = o->retry_max > 0 ? o->retry_max : MESH_RETRY_MAX},
    };
    cc->ctl = rt_controller_new(&co);
    static const struct rt_index claims[] = {
        {.name = CLAIMED_HOST_INDEX, .value = index_claimed_host},
        {.name = CLAIMED_ADDRESS_INDEX, .value = index_claimed_address},
        {.name = EXPORT_INDEX, .values = index_exports},
    };
    const struct rt_reflector_options services = {
        .client = o->home,
        .resource = &MESH_RES_CROSSCLUSTERSERVICES,
        .indexes = claims,
        .nindexes = sizeof(claims) / sizeof(claims[0]),
        .log = o->log,
        .metrics = o->metrics,
        .owner = "crossclusterservice",
    };
    cc->ccs = rt_controller_watch_primary(cc->ctl, &services);
    const struct rt_reflector_options meshes = {
        .client = o->home,
        .resource = &MESH_RES_MESHNETWORKS,
        .log = o->log,
        .metrics = o->metrics,
        .owner = "crossclusterservice",
    };
    cc->meshes = rt_controller_watch(cc->ctl, &meshes, map_mesh, cc);
    return cc;
}

struct rt_controller *mesh_ccs_controller_runtime(struct mesh_ccs_controller *cc)
{
    return cc->ctl;
}

void mesh_ccs_controller_free(struct mesh_ccs_controller *cc)
{
    if (!cc)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&cc->caches, &i, &k, &v);)
        cluster_free(v);
    strmap_clear(&cc->caches);
    mesh_vip_table_free(cc->vips);
    rt_controller_free(cc->ctl);
    pthread_mutex_destroy(&cc->mu);
    free(cc);
}
