/*
 * test_promises.c: what docs/meshnetwork.md, docs/crossclusterservice.md and
 * docs/design.md promise about Events and a few status reasons, each proved on the
 * fake clusters of reconcile_world.h with the content the docs name: the Event's
 * reason, type and regarding object and the cluster or object in its note; the
 * condition's reason and message.
 *
 *   - CleanupPending (MeshNetwork being deleted, a member down; a CrossClusterService
 *     deleted, a member down), MeshNetworkDeleting;
 *   - ClusterRemoved, CleanupPending=True/ClustersLeaving with status.removedClusters,
 *     CleanupAbandoned when the removed member's kubeconfig Secret is deleted (while the
 *     operator runs, and across a restart);
 *   - CredentialsUpdated, CertificateReissued, ApplyFailed (both controllers);
 *   - AddressRangeExhausted (the network and broadcast addresses never given), and the
 *     blocked service taking an address that comes free;
 *   - a CrossClusterService's Event truncated past 900 bytes with the number left out;
 *   - the recorder's rate limit (burst 25 per object, one more every 5 minutes) and
 *     series folding.
 *
 * Some promises need more members than the tutorial's two: the world here adds fake
 * clusters of its own ("extras"), reached through kubeconfig Secrets <name>-kubeconfig
 * in the operator's namespace, and plays their load balancer and istiod too.
 *
 * Every wait is for a condition, bounded by a deadline (scaled under valgrind).
 */
#include "harness.h"
#include "reconcile_world.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/ca.h"
#include "mesh/objects.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deadline in seconds, longer under valgrind (test_time_scale()). */
static double T(double s)
{
    return s * test_time_scale();
}

/* ---- a world with more members ---- */

#define MAX_EXTRA 8

struct pworld {
    struct world w;
    size_t n;
    struct fake_cluster *fc[MAX_EXTRA];
    char name[MAX_EXTRA][64];
};

static kube_code pw_connect(void *ud, const char *name, const struct kube_rest_config *cfg,
                            struct kube_client **out, struct kube_error *err)
{
    struct pworld *p = ud;
    (void)name;
    struct fake_cluster *fc = NULL;
    if (strcmp(cfg->server, "https://us.fake.test") == 0)
        fc = p->w.us;
    else if (strcmp(cfg->server, "https://eu.fake.test") == 0)
        fc = p->w.eu;
    for (size_t i = 0; !fc && i < p->n; i++) {
        char server[128];
        snprintf(server, sizeof(server), "https://%s.fake.test", p->name[i]);
        if (strcmp(cfg->server, server) == 0)
            fc = p->fc[i];
    }
    if (!fc)
        return kube_error_set(err, KUBE_E_CONNECT, "no fake cluster at %s", cfg->server);
    *out = fake_cluster_client(fc);
    return KUBE_OK;
}

static void put_kubeconfig_secret(struct pworld *p, const char *cluster, const char *token)
{
    struct strbuf kc = STRBUF_INIT, b64 = STRBUF_INIT, json = STRBUF_INIT;
    strbuf_addf(&kc,
                "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                "clusters: [{name: c, cluster: {server: https://%s.fake.test}}]\n"
                "users: [{name: u, user: {token: %s}}]\n"
                "contexts: [{name: c, context: {cluster: c, user: u}}]\n",
                cluster, token);
    base64_encode(&b64, kc.buf, kc.len);
    strbuf_addf(&json,
                "{\"metadata\":{\"name\":\"%s-kubeconfig\",\"namespace\":\"" WORLD_NAMESPACE
                "\"},\"data\":{\"kubeconfig\":\"%s\"}}",
                cluster, b64.buf);
    world_put_json(p->w.us, &KUBE_RES_SECRETS, json.buf);
    strbuf_release(&kc);
    strbuf_release(&b64);
    strbuf_release(&json);
}

/* The tutorial's clusters, Namespace default in us (where a MeshNetwork's Events go),
 * and no extra member yet. */
static void pw_init(struct pworld *p)
{
    memset(p, 0, sizeof(*p));
    world_init(&p->w);
    world_put_json(p->w.us, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"default\"}}");
}

/* One more cluster with istiod's namespace and ConfigMap, as the tutorial's have. */
static struct fake_cluster *pw_add(struct pworld *p, const char *name)
{
    size_t i = p->n++;
    snprintf(p->name[i], sizeof(p->name[i]), "%s", name);
    p->fc[i] = fake_cluster_new(name, p->w.faults);
    world_put_json(p->fc[i], &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"istio-system\"}}");
    world_put_json(p->fc[i], &KUBE_RES_CONFIGMAPS,
                   "{\"metadata\":{\"name\":\"istio\",\"namespace\":\"istio-system\"},"
                   "\"data\":{\"mesh\":\"trustDomain: corp.local\\nrootNamespace: istio-system\\n"
                   "defaultConfig:\\n  meshId: training-mesh\\n  proxyMetadata:\\n"
                   "    ISTIO_META_DNS_CAPTURE: \\\"true\\\"\\n\"}}");
    put_kubeconfig_secret(p, name, "fake-token");
    return p->fc[i];
}

/* world_start, with a cluster set that also reaches the extras. */
static void pw_start(struct pworld *p)
{
    struct world *w = &p->w;
    const struct rt_clusterset_options co = {
        .log = &w->log, .connect = pw_connect, .connect_ud = p};
    w->clusters = rt_clusterset_new(&co);
    const struct rt_recorder_options ro = {.client = w->home,
                                           .controller = "eastwest.io/eastwest-operator",
                                           .instance = "test",
                                           .burst = 1000,
                                           .log = &w->log};
    w->events = rt_recorder_new(&ro);
    w->metrics = rt_metrics_new();
    const struct mesh_network_controller_options mo = {
        .metrics = w->metrics,
        .home = w->home,
        .home_cfg = &w->home_cfg,
        .namespace_ = WORLD_NAMESPACE,
        .clusters = w->clusters,
        .events = w->events,
        .log = &w->log,
        .workers = 2,
        .retry_initial = 0.01,
        .retry_max = 0.2,
    };
    w->meshes = mesh_network_controller_new(&mo);
    const struct mesh_ccs_controller_options so = {
        .metrics = w->metrics,
        .home = w->home,
        .clusters = w->clusters,
        .events = w->events,
        .log = &w->log,
        .workers = 2,
        .retry_initial = 0.01,
        .retry_max = 0.2,
    };
    w->services = mesh_ccs_controller_new(&so);
    rt_controller_run(mesh_network_controller_runtime(w->meshes));
    rt_controller_run(mesh_ccs_controller_runtime(w->services));
    w->running = 1;
}

static void pw_free(struct pworld *p)
{
    world_stop(&p->w); /* frees the clients of the extras too */
    for (size_t i = 0; i < p->n; i++)
        fake_cluster_free(p->fc[i]);
    world_free(&p->w);
}

/* obj's data.<key> (keys have dots: world_str_at cannot name them), or NULL. */
static const char *data_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(world_at(obj, "data"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the cloud and istiod do in the extras (reconcile_world does it in us and eu). */
static void pw_play(struct pworld *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct fake_cluster *fc = p->fc[i];
        cJSON *svc = fake_cluster_get(fc, &KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME);
        if (svc && cJSON_GetArraySize(world_at(svc, "status.loadBalancer.ingress")) == 0) {
            char ip[32];
            snprintf(ip, sizeof(ip), "192.0.2.%zu", 100 + i);
            cJSON_DeleteItemFromObjectCaseSensitive(svc, "status");
            cJSON *lb =
                cJSON_AddObjectToObject(cJSON_AddObjectToObject(svc, "status"), "loadBalancer");
            cJSON *one = cJSON_CreateObject();
            cJSON_AddStringToObject(one, "ip", ip);
            cJSON_AddItemToArray(cJSON_AddArrayToObject(lb, "ingress"), one);
            fake_cluster_put(fc, &KUBE_RES_SERVICES, svc);
        }
        cJSON_Delete(svc);
        cJSON *ca = fake_cluster_get(fc, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
        const char *root = data_str(ca, "root-cert.pem");
        struct strbuf pem = STRBUF_INIT;
        if (root && base64_decode(&pem, root, strlen(root)) == 0) {
            cJSON *cm =
                fake_cluster_get(fc, &KUBE_RES_CONFIGMAPS, "istio-system", "istio-ca-root-cert");
            const char *have = data_str(cm, "root-cert.pem");
            if (!have || strcmp(have, pem.buf) != 0) {
                cJSON *obj = cJSON_CreateObject();
                cJSON *meta = cJSON_AddObjectToObject(obj, "metadata");
                cJSON_AddStringToObject(meta, "name", "istio-ca-root-cert");
                cJSON_AddStringToObject(meta, "namespace", "istio-system");
                cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "data"), "root-cert.pem",
                                        pem.buf);
                fake_cluster_put(fc, &KUBE_RES_CONFIGMAPS, obj);
                cJSON_Delete(obj);
            }
            cJSON_Delete(cm);
        }
        strbuf_release(&pem);
        cJSON_Delete(ca);
    }
}

static unsigned long extra_writes(struct pworld *p)
{
    unsigned long n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += fake_cluster_writes(p->fc[i]);
    return n;
}

typedef int (*pw_cond)(struct pworld *p, void *ud);

struct settle_arg {
    struct pworld *p;
    pw_cond done;
    void *ud;
};

static int settle_done(struct world *w, void *ud)
{
    (void)w;
    struct settle_arg *a = ud;
    return !a->done || a->done(a->p, a->ud);
}

/* world_settle over every cluster: done holds, nothing written in any cluster and both
 * queues idle. 1 when settled within timeout seconds. */
static int pw_settle(struct pworld *p, pw_cond done, void *ud, double timeout)
{
    struct settle_arg a = {p, done, ud};
    double deadline = ew_now_mono() + timeout;
    while (ew_now_mono() < deadline) {
        unsigned long before = extra_writes(p);
        pw_play(p);
        double left = deadline - ew_now_mono();
        double step = left < 1 ? (left > 0.05 ? left : 0.05) : 1; /* of a scaled deadline */
        int ok = world_settle_by(&p->w, settle_done, &a, ew_now_mono() + step);
        pw_play(p);
        if (ok && extra_writes(p) == before)
            return 1;
    }
    return 0;
}

/* Until cond holds (no quiet needed: for states where the operator keeps retrying). */
static int pw_wait(struct pworld *p, pw_cond cond, void *ud, double timeout)
{
    double deadline = ew_now_mono() + timeout;
    while (ew_now_mono() < deadline) {
        pw_play(p);
        /* one step of us's and eu's cloud and istiod */
        world_settle_by(&p->w, NULL, NULL, ew_now_mono() + 0.02);
        if (cond(p, ud))
            return 1;
    }
    return 0;
}

static int tutorial_ready(struct pworld *p, void *ud)
{
    return world_tutorial_ready(&p->w, ud);
}

/* ---- reading objects ---- */

static cJSON *get_mesh(struct pworld *p)
{
    return fake_cluster_get(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
}

/* Put obj back with metadata.generation one higher: a spec change as the API server
 * counts it (fake_cluster_put keeps what it is given). */
static void put_spec_change(struct fake_cluster *fc, const struct kube_resource *r, cJSON *obj)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    double g = cJSON_IsNumber(gen) ? gen->valuedouble : 1;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
    cJSON_AddNumberToObject(meta, "generation", g + 1);
    fake_cluster_put(fc, r, obj);
}

/* The MeshNetwork's spec.clusters: us, eu and the extras named. */
static void set_members(struct pworld *p, const char *const *extras, size_t n)
{
    cJSON *mn = get_mesh(p);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(mn, "spec");
    cJSON *list = cJSON_Parse(
        "[{\"name\":\"us\",\"network\":\"us-net\",\"locality\":\"us-east-1\"},"
        "{\"name\":\"eu\",\"network\":\"eu-net\",\"locality\":\"eu-west-1\","
        "\"kubeconfigSecretRef\":{\"name\":\"prod-eu-west-1\",\"key\":\"kubeconfig\"}}]");
    for (size_t i = 0; i < n; i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"name\":\"%s\",\"network\":\"%s\",\"kubeconfigSecretRef\":"
                 "{\"name\":\"%s-kubeconfig\",\"key\":\"kubeconfig\"}}",
                 extras[i], extras[i], extras[i]);
        cJSON_AddItemToArray(list, cJSON_Parse(json));
    }
    cJSON_ReplaceItemInObjectCaseSensitive(spec, "clusters", list);
    put_spec_change(p->w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
}

/* Events in namespace ns of us (NULL: all) with this reason about the object kind/name;
 * the first one's copy in *first when asked (caller frees). */
static int events_about(struct pworld *p, const char *ns, const char *kind, const char *name,
                        const char *reason, cJSON **first)
{
    cJSON *events = fake_cluster_list(p->w.us, &KUBE_RES_EVENTS, ns);
    int n = 0;
    const cJSON *e;
    if (first)
        *first = NULL;
    cJSON_ArrayForEach(e, events)
    {
        const char *r = world_str_at(e, "reason"), *k = world_str_at(e, "regarding.kind"),
                   *nm = world_str_at(e, "regarding.name");
        if (!r || !k || !nm || strcmp(r, reason) || strcmp(k, kind) || strcmp(nm, name))
            continue;
        if (first && !*first)
            *first = cJSON_Duplicate(e, 1);
        n++;
    }
    cJSON_Delete(events);
    return n;
}

/* Events about the MeshNetwork training-mesh (cluster-scoped: in namespace default). */
static int mesh_events(struct pworld *p, const char *reason, cJSON **first)
{
    return events_about(p, "default", "MeshNetwork", "training-mesh", reason, first);
}

/* Check an Event's type, reason, regarding object (its uid too) and that its note
 * contains each of the NULL-terminated strings. */
#define CHECK_EVENT(t, ev, type, reason, obj, ...)                                                 \
    check_event(t, __FILE__, __LINE__, ev, type, reason, obj, (const char *[]){__VA_ARGS__, NULL})

static void check_event(struct test_ctx *t, const char *file, int line, const cJSON *ev,
                        const char *type, const char *reason, const cJSON *obj,
                        const char *const *note_has)
{
    if (!ev) {
        test_fail(t, file, line, "no %s Event", reason);
        return;
    }
    const char *got[] = {world_str_at(ev, "type"),
                         world_str_at(ev, "reason"),
                         world_str_at(ev, "regarding.kind"),
                         world_str_at(ev, "regarding.name"),
                         world_str_at(ev, "regarding.uid"),
                         world_str_at(ev, "regarding.namespace"),
                         world_str_at(ev, "reportingController")};
    const char *want[] = {type,
                          reason,
                          world_str_at(obj, "kind"),
                          world_str_at(obj, "metadata.name"),
                          world_str_at(obj, "metadata.uid"),
                          world_str_at(obj, "metadata.namespace"),
                          "eastwest.io/eastwest-operator"};
    static const char *const what[] = {"type",
                                       "reason",
                                       "regarding.kind",
                                       "regarding.name",
                                       "regarding.uid",
                                       "regarding.namespace",
                                       "reportingController"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int same = (!got[i] && !want[i]) || (got[i] && want[i] && strcmp(got[i], want[i]) == 0);
        if (!same)
            test_fail(t, file, line, "%s Event: %s \"%s\", want \"%s\"", reason, what[i],
                      got[i] ? got[i] : "(none)", want[i] ? want[i] : "(none)");
    }
    const char *note = world_str_at(ev, "note");
    for (size_t i = 0; note_has[i]; i++)
        if (!note || !strstr(note, note_has[i]))
            test_fail(t, file, line, "%s Event's note \"%s\" lacks \"%s\"", reason,
                      note ? note : "(none)", note_has[i]);
}

/* The condition's status, reason and message of obj are these (message: contains). */
static void check_condition(struct test_ctx *t, const char *file, int line, const cJSON *obj,
                            const char *type, const char *status, const char *reason,
                            const char *message_has)
{
    const char *r = NULL, *m = NULL;
    const char *s = world_condition(obj, type, &r, &m);
    if (!s || strcmp(s, status) != 0 || !r || strcmp(r, reason) != 0 ||
        (message_has && (!m || !strstr(m, message_has))))
        test_fail(t, file, line, "condition %s: %s/%s \"%s\", want %s/%s with \"%s\"", type,
                  s ? s : "(none)", r ? r : "(none)", m ? m : "", status, reason,
                  message_has ? message_has : "");
}
#define CHECK_CONDITION(t, obj, type, status, reason, message_has)                                 \
    check_condition(t, __FILE__, __LINE__, obj, type, status, reason, message_has)

static int condition_is(const cJSON *obj, const char *type, const char *status, const char *reason)
{
    const char *r = NULL;
    const char *s = world_condition(obj, type, &r, NULL);
    return s && r && strcmp(s, status) == 0 && strcmp(r, reason) == 0;
}

struct mesh_cond {
    const char *type, *status, *reason;
};

static int mesh_condition_is(struct pworld *p, void *ud)
{
    const struct mesh_cond *c = ud;
    cJSON *mn = get_mesh(p);
    int ok = condition_is(mn, c->type, c->status, c->reason);
    cJSON_Delete(mn);
    return ok;
}

struct want_event {
    const char *reason;
    int at_least;
};

static int mesh_event_seen(struct pworld *p, void *ud)
{
    const struct want_event *e = ud;
    return mesh_events(p, e->reason, NULL) >= (e->at_least ? e->at_least : 1);
}

static int ccs_event_seen(struct pworld *p, void *ud)
{
    return events_about(p, "echo", "CrossClusterService", "echo", ud, NULL) > 0;
}

static int present(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                   const char *name)
{
    cJSON *o = fake_cluster_get(fc, r, ns, name);
    cJSON_Delete(o);
    return o != NULL;
}

static void start_tutorial(struct test_ctx *t, struct pworld *p)
{
    pw_init(p);
    world_apply_tutorial(&p->w);
    pw_start(p);
    REQUIREF(t, pw_settle(p, tutorial_ready, NULL, T(20)), "the tutorial did not converge: %s",
             world_describe(&p->w));
}

/* ---- deletion with a member down: CleanupPending, MeshNetworkDeleting ---- */

static int mesh_deletion_pending(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    cJSON *ccs = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    int ok = condition_is(mn, "Ready", "False", "CleanupPending") &&
             condition_is(ccs, "Ready", "False", "MeshNetworkDeleting") &&
             mesh_events(p, "CleanupPending", NULL) > 0 &&
             !present(p->w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo");
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    return ok;
}

static double reconciles(struct world *w, const char *controller)
{
    struct rt_metric *f = rt_metrics_register(w->metrics, RT_COUNTER, "eastwest_reconcile_total",
                                              "", "controller,result", NULL, 0);
    const char *ok[] = {controller, "success"}, *again[] = {controller, "requeue"},
               *err[] = {controller, "error"};
    return rt_metric_value(f, ok) + rt_metric_value(f, again) + rt_metric_value(f, err);
}

struct since {
    const char *controller;
    double count;
};

static int reconciled_since(struct pworld *p, void *ud)
{
    const struct since *s = ud;
    return reconciles(&p->w, s->controller) > s->count;
}

/* echo/echo's Ready condition observed the generation of want (a CrossClusterService). */
static int ccs_observed_generation(struct pworld *p, void *ud)
{
    const cJSON *want = world_at(ud, "metadata.generation");
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    const cJSON *conds = world_at(c, "status.conditions"), *cond;
    int ok = 0;
    cJSON_ArrayForEach(cond, conds)
    {
        const char *type = world_str_at(cond, "type");
        const cJSON *g = world_at(cond, "observedGeneration");
        if (type && strcmp(type, "Ready") == 0 && cJSON_IsNumber(g) && cJSON_IsNumber(want))
            ok = g->valuedouble == want->valuedouble;
    }
    cJSON_Delete(c);
    return ok;
}

static int mesh_gone(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    cJSON_Delete(mn);
    return mn == NULL;
}

/* meshnetwork.md "Deletion": a member that does not answer keeps the finalizer,
 * Ready=False reason CleanupPending naming it, a CleanupPending warning Event; a
 * CrossClusterService of the mesh reports Ready=False, reason MeshNetworkDeleting, and
 * writes nothing. */
static void test_mesh_deletion_with_member_down(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    fake_cluster_set_down(p.w.eu, 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh") == 1);
    int ok = pw_wait(&p, mesh_deletion_pending, NULL, T(20));
    cJSON *mn = get_mesh(&p);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    REQUIREF(t, ok && mn, "not pending on eu: %s", world_describe(&p.w));
    CHECK_STR(t, world_str_at(mn, "metadata.finalizers.0"), MESH_FINALIZER);
    CHECK_CONDITION(t, mn, "Ready", "False", "CleanupPending", "cluster eu");
    cJSON *ev = NULL;
    mesh_events(&p, "CleanupPending", &ev);
    CHECK_EVENT(t, ev, "Warning", "CleanupPending", mn, "cluster eu", MESH_FINALIZER);
    CHECKF(t, !strstr(world_str_at(ev, "note") ? world_str_at(ev, "note") : "", "cluster us"),
           "us answers: the note names it: %s", world_str_at(ev, "note"));
    CHECK_CONDITION(t, ccs, "Ready", "False", "MeshNetworkDeleting",
                    "MeshNetwork training-mesh (spec.meshNetwork) is being deleted");
    /* writes nothing: a change of its spec, reconciled, puts nothing back in us */
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ccs, "spec"),
                                           "importTo", cJSON_Parse("[\"us\",\"eu\"]"));
    put_spec_change(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    CHECKF(t, pw_wait(&p, ccs_observed_generation, (void *)ccs, T(10)),
           "the spec change was not reconciled: %s", world_describe(&p.w));
    CHECKF(t, !present(p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo"),
           "a CrossClusterService of a MeshNetwork being deleted wrote its ServiceEntry in us");
    CHECKF(t, !present(p.w.us, &MESH_RES_DESTINATIONRULES, "echo", "echo"),
           "a CrossClusterService of a MeshNetwork being deleted wrote its DestinationRule in us");
    cJSON *after = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECK_CONDITION(t, after, "Ready", "False", "MeshNetworkDeleting", "training-mesh");
    cJSON_Delete(after);
    /* eu answers again: cleaned, and the finalizer goes */
    fake_cluster_set_down(p.w.eu, 0);
    CHECKF(t, pw_wait(&p, mesh_gone, NULL, T(20)), "the MeshNetwork stayed: %s",
           world_describe(&p.w));
    CHECK(t, !present(p.w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    pw_free(&p);
}

static int ccs_gone(struct pworld *p, void *ud)
{
    (void)ud;
    return !present(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
}

/* crossclusterservice.md "Deletion": while a member does not answer, the finalizer
 * stays (CleanupPending event) and the operator retries. */
static void test_ccs_deletion_with_member_down(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    fake_cluster_set_down(p.w.eu, 1);
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo") == 1);
    CHECKF(t, pw_wait(&p, ccs_event_seen, (void *)"CleanupPending", T(20)),
           "no CleanupPending Event on echo/echo: %s", world_describe(&p.w));
    cJSON *ev = NULL;
    events_about(&p, "echo", "CrossClusterService", "echo", "CleanupPending", &ev);
    CHECK_EVENT(t, ev, "Warning", "CleanupPending", ccs, "cluster eu", MESH_FINALIZER);
    cJSON *now = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    CHECKF(t, now && world_str_at(now, "metadata.finalizers.0"),
           "the finalizer went while eu holds its ServiceEntry");
    CHECK(t, present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    fake_cluster_set_down(p.w.eu, 0);
    CHECKF(t, pw_wait(&p, ccs_gone, NULL, T(20)), "echo/echo stayed after eu came back: %s",
           world_describe(&p.w));
    CHECK(t, !present(p.w.eu, &MESH_RES_SERVICEENTRIES, "echo", "echo"));
    cJSON_Delete(now);
    cJSON_Delete(ev);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- a member removed from spec.clusters ---- */

static int ap_written(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME) &&
           present(p->fc[0], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME) &&
           world_tutorial_ready(&p->w, NULL);
}

/* The tutorial with a third member ap, converged. */
static void start_three(struct test_ctx *t, struct pworld *p)
{
    pw_init(p);
    pw_add(p, "ap");
    world_apply_tutorial(&p->w);
    static const char *const ap[] = {"ap"};
    set_members(p, ap, 1);
    pw_start(p);
    REQUIREF(t, pw_settle(p, ap_written, NULL, T(30)), "three members did not converge: %s",
             world_describe(&p->w));
}

static int ap_network_label(struct pworld *p)
{
    cJSON *ns = fake_cluster_get(p->fc[0], &KUBE_RES_NAMESPACES, NULL, "istio-system");
    int has = cJSON_GetObjectItemCaseSensitive(world_at(ns, "metadata.labels"),
                                               MESH_LABEL_NETWORK) != NULL;
    cJSON_Delete(ns);
    return has;
}

/* meshnetwork.md: "ClusterRemoved when a removed member is clean". */
static void test_removed_member_cleaned_then_cluster_removed(struct test_ctx *t)
{
    struct pworld p;
    start_three(t, &p);
    CHECK(t, ap_network_label(&p));
    set_members(&p, NULL, 0);
    struct want_event we = {"ClusterRemoved", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no ClusterRemoved Event: %s",
             world_describe(&p.w));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "ClusterRemoved", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "ClusterRemoved", mn, "cluster ap left the mesh");
    const char *note = world_str_at(ev, "note");
    CHECKF(t, note && !strstr(note, "cluster eu") && !strstr(note, "cluster us"),
           "ClusterRemoved names another member: %s", note);
    /* clean when it was recorded: nothing labelled with the mesh left in ap */
    CHECK(t, !present(p.fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !present(p.fc[0], &KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !present(p.fc[0], &KUBE_RES_SERVICEACCOUNTS, "istio-system", MESH_GATEWAY_NAME));
    CHECK(t, !ap_network_label(&p));
    CHECKF(t, present(p.fc[0], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME),
           "ap's cacerts went (onDelete defaults to Keep)");
    CHECK_CONDITION(t, mn, "CleanupPending", "False", "NoCleanup", NULL);
    CHECK(t, world_at(mn, "status.removedClusters") == NULL);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    pw_free(&p);
}

static int ap_pending(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *mn = get_mesh(p);
    int ok = condition_is(mn, "CleanupPending", "True", "ClustersLeaving") &&
             world_str_at(mn, "status.removedClusters.0.name");
    cJSON_Delete(mn);
    return ok;
}

static void check_ap_pending(struct test_ctx *t, struct pworld *p)
{
    cJSON *mn = get_mesh(p);
    CHECK_CONDITION(t, mn, "CleanupPending", "True", "ClustersLeaving", "cluster ap");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.name"), "ap");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.kubeconfigSecretRef.name"),
              "ap-kubeconfig");
    CHECK_STR(t, world_str_at(mn, "status.removedClusters.0.kubeconfigSecretRef.key"),
              "kubeconfig");
    CHECK_CONTAINS(t, world_str_at(mn, "status.removedClusters.0.message"), "cluster ap");
    CHECK(t, world_at(mn, "status.removedClusters.1") == NULL);
    CHECK(t, mesh_events(p, "ClusterRemoved", NULL) == 0);
    cJSON_Delete(mn);
}

static void check_abandoned(struct test_ctx *t, struct pworld *p)
{
    cJSON *mn = get_mesh(p), *ev = NULL;
    CHECK(t, mesh_events(p, "CleanupAbandoned", &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "CleanupAbandoned", mn, "cluster ap",
                WORLD_NAMESPACE "/ap-kubeconfig", MESH_LABEL_MESH "=training-mesh");
    CHECK_CONDITION(t, mn, "CleanupPending", "False", "NoCleanup", NULL);
    CHECK(t, world_at(mn, "status.removedClusters") == NULL);
    CHECK(t, mesh_events(p, "ClusterRemoved", NULL) == 0);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
}

static int abandoned(struct pworld *p, void *ud)
{
    (void)ud;
    struct mesh_cond c = {"CleanupPending", "False", "NoCleanup"};
    return mesh_events(p, "CleanupAbandoned", NULL) > 0 && mesh_condition_is(p, &c);
}

/* meshnetwork.md: a removed member that does not answer: CleanupPending=True, reason
 * ClustersLeaving, status.removedClusters names it with its kubeconfigSecretRef;
 * deleting that Secret gives up the cleanup (warning CleanupAbandoned says what was left
 * there). Here while the operator runs: it holds the member's connection. */
static void test_removed_member_down_abandoned_by_secret(struct test_ctx *t)
{
    struct pworld p;
    start_three(t, &p);
    fake_cluster_set_down(p.fc[0], 1);
    set_members(&p, NULL, 0);
    REQUIREF(t, pw_wait(&p, ap_pending, NULL, T(20)), "ap's cleanup not pending: %s",
             world_describe(&p.w));
    check_ap_pending(t, &p);
    CHECK(t, fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "ap-kubeconfig"));
    REQUIREF(t, pw_wait(&p, abandoned, NULL, T(20)), "not abandoned: %s", world_describe(&p.w));
    check_abandoned(t, &p);
    /* given up for good: ap back finds what eastwest wrote there left as it was */
    fake_cluster_set_down(p.fc[0], 0);
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    struct since s = {"meshnetwork", reconciles(&p.w, "meshnetwork")};
    rt_controller_enqueue(mesh_network_controller_runtime(p.w.meshes), "training-mesh");
    REQUIRE(t, pw_wait(&p, reconciled_since, &s, T(10)));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    CHECKF(t, present(p.fc[0], &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME),
           "an abandoned member was cleaned when it came back");
    CHECK(t, mesh_events(&p, "ClusterRemoved", NULL) == 0);
    pw_free(&p);
}

/* The same across a restart: the new process connects the member again from
 * status.removedClusters, and finds its Secret gone. */
static void test_removed_member_abandoned_across_restart(struct test_ctx *t)
{
    struct pworld p;
    start_three(t, &p);
    fake_cluster_set_down(p.fc[0], 1);
    set_members(&p, NULL, 0);
    REQUIREF(t, pw_wait(&p, ap_pending, NULL, T(20)), "ap's cleanup not pending: %s",
             world_describe(&p.w));
    world_stop(&p.w);
    CHECK(t, fake_cluster_delete(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "ap-kubeconfig"));
    pw_start(&p);
    REQUIREF(t, pw_wait(&p, abandoned, NULL, T(20)), "not abandoned: %s", world_describe(&p.w));
    check_abandoned(t, &p);
    pw_free(&p);
}

/* ---- credentials, certificates, failed writes ---- */

/* design.md 5: CredentialsUpdated when a member's kubeconfig changes. */
static void test_credentials_updated(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "CredentialsUpdated", NULL) == 0);
    cJSON *sec = fake_cluster_get(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "prod-eu-west-1");
    REQUIRE(t, sec);
    static const char kc[] = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                             "clusters: [{name: c, cluster: {server: https://eu.fake.test}}]\n"
                             "users: [{name: u, user: {token: rotated-token}}]\n"
                             "contexts: [{name: c, context: {cluster: c, user: u}}]\n";
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, kc, strlen(kc));
    cJSON *data = cJSON_GetObjectItemCaseSensitive(sec, "data");
    cJSON_ReplaceItemInObjectCaseSensitive(data, "kubeconfig", cJSON_CreateString(b64.buf));
    fake_cluster_put(p.w.us, &KUBE_RES_SECRETS, sec);
    struct want_event we = {"CredentialsUpdated", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no CredentialsUpdated Event: %s",
             world_describe(&p.w));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "CredentialsUpdated", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "CredentialsUpdated", mn,
                "cluster eu: new connection settings from its kubeconfig");
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(sec);
    strbuf_release(&b64);
    pw_free(&p);
}

static int eu_cacerts_valid(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *ca = fake_cluster_get(p->w.eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    const char *inter = data_str(ca, "ca-cert.pem"), *root = data_str(ca, "root-cert.pem");
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    int ok = inter && root && base64_decode(&a, inter, strlen(inter)) == 0 &&
             base64_decode(&b, root, strlen(root)) == 0 &&
             mesh_ca_verify_chain(a.buf, b.buf, NULL) == MESH_OK;
    strbuf_release(&a);
    strbuf_release(&b);
    cJSON_Delete(ca);
    return ok && world_tutorial_ready(&p->w, NULL);
}

/* meshnetwork.md "Certificates": an eastwest cacerts that is unusable is reissued, and
 * the CertificateReissued event names the data key. */
static void test_certificate_reissued_names_the_key(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "CertificateReissued", NULL) == 0);
    int issued = mesh_events(&p, "CertificateIssued", NULL);
    CHECKF(t, issued == 2, "CertificateIssued Events at the start: %d, want 2 (us, eu)", issued);
    cJSON *ca = fake_cluster_get(p.w.eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    REQUIRE(t, ca);
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, "not a certificate\n", 18);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ca, "data"),
                                           "ca-cert.pem", cJSON_CreateString(b64.buf));
    fake_cluster_put(p.w.eu, &KUBE_RES_SECRETS, ca);
    struct want_event we = {"CertificateReissued", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no CertificateReissued Event: %s",
             world_describe(&p.w));
    REQUIREF(t, pw_settle(&p, eu_cacerts_valid, NULL, T(20)), "eu's cacerts not repaired: %s",
             world_describe(&p.w));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "CertificateReissued", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "CertificateReissued", mn, "cluster eu",
                "Secret istio-system/cacerts", "ca-cert.pem");
    CHECK(t, mesh_events(&p, "CertificateIssued", NULL) == issued);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(ca);
    strbuf_release(&b64);
    pw_free(&p);
}

static int eu_deployment_back(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME) &&
           world_tutorial_ready(&p->w, NULL);
}

static int us_se_back(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo") &&
           world_tutorial_ready(&p->w, NULL);
}

static int fault_fired(struct pworld *p, void *ud)
{
    (void)ud;
    return fake_faults_fired(p->w.faults);
}

/* Delete an object the operator keeps, with a 422 armed on the next API call: the write
 * that puts it back fails. A converged world makes no other call (it reads its caches:
 * test_reconcile's converged-world-is-not-written), but should one come first, the
 * object comes back and this goes again. 1 once the fault hit the call named. */
static int fail_the_repair(struct pworld *p, struct fake_cluster *fc, const struct kube_resource *r,
                           const char *ns, const char *name, const char *call, pw_cond repaired)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!pw_settle(p, repaired, NULL, T(20)))
            return 0;
        fake_faults_arm(p->w.faults, 1, FAKE_FAULT_INVALID);
        fake_cluster_delete(fc, r, ns, name);
        if (!pw_wait(p, fault_fired, NULL, T(20)))
            return 0;
        if (strstr(fake_faults_what(p->w.faults), call))
            return 1;
        fprintf(stderr, "# the fault hit %s first; again\n", fake_faults_what(p->w.faults));
    }
    return 0;
}

/* Events about kind/name with this reason whose note contains text; the first in *first. */
static int events_naming(struct pworld *p, const char *ns, const char *kind, const char *name,
                         const char *reason, const char *text, cJSON **first)
{
    cJSON *events = fake_cluster_list(p->w.us, &KUBE_RES_EVENTS, ns);
    int n = 0;
    const cJSON *e;
    *first = NULL;
    cJSON_ArrayForEach(e, events)
    {
        const char *r = world_str_at(e, "reason"), *k = world_str_at(e, "regarding.kind"),
                   *nm = world_str_at(e, "regarding.name"), *note = world_str_at(e, "note");
        if (!r || !k || !nm || !note || strcmp(r, reason) || strcmp(k, kind) || strcmp(nm, name) ||
            !strstr(note, text))
            continue;
        if (!*first)
            *first = cJSON_Duplicate(e, 1);
        n++;
    }
    cJSON_Delete(events);
    return n;
}

struct named_event {
    const char *ns, *kind, *name, *reason, *text;
};

static int named_event_seen(struct pworld *p, void *ud)
{
    const struct named_event *e = ud;
    cJSON *first = NULL;
    int n = events_naming(p, e->ns, e->kind, e->name, e->reason, e->text, &first);
    cJSON_Delete(first);
    return n > 0;
}

/* design.md 5: a failed write in a member is a warning ApplyFailed naming the object
 * and the cluster (MeshNetwork). */
static void test_mesh_apply_failed(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "ApplyFailed", NULL) == 0);
    REQUIREF(t,
             fail_the_repair(&p, p.w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME,
                             "eu deployments istio-system/" MESH_GATEWAY_NAME, eu_deployment_back),
             "no failed write of eu's Deployment (last fault: %s)", fake_faults_what(p.w.faults));
    struct named_event want = {"default", "MeshNetwork", "training-mesh", "ApplyFailed",
                               "cluster eu: writing Deployment istio-system/" MESH_GATEWAY_NAME};
    CHECKF(t, pw_wait(&p, named_event_seen, &want, T(20)), "no ApplyFailed Event naming %s",
           want.text);
    CHECKF(t, pw_settle(&p, eu_deployment_back, NULL, T(20)), "not repaired: %s",
           world_describe(&p.w));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, events_naming(&p, want.ns, want.kind, want.name, want.reason, want.text, &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ApplyFailed", mn, want.text);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    pw_free(&p);
}

/* crossclusterservice.md: ApplyFailed (a CrossClusterService's write). */
static void test_ccs_apply_failed(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "ApplyFailed", NULL) == 0);
    REQUIREF(t,
             fail_the_repair(&p, p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo",
                             "us serviceentries echo/echo", us_se_back),
             "no failed write of us's ServiceEntry (last fault: %s)", fake_faults_what(p.w.faults));
    struct named_event want = {"echo", "CrossClusterService", "echo", "ApplyFailed",
                               "cluster us: writing ServiceEntry"};
    CHECKF(t, pw_wait(&p, named_event_seen, &want, T(20)), "no ApplyFailed Event naming %s",
           want.text);
    CHECKF(t, pw_settle(&p, us_se_back, NULL, T(20)), "not repaired: %s", world_describe(&p.w));
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo"),
          *ev = NULL;
    CHECK(t, events_naming(&p, want.ns, want.kind, want.name, want.reason, want.text, &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ApplyFailed", ccs, want.text);
    cJSON_Delete(ev);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- addresses ---- */

static void put_ccs(struct pworld *p, const char *name)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"echo\"},"
             "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"%s.example.test\","
             "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
             "\"importTo\":[\"us\"],"
             "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}",
             name, name);
    world_put_json(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, json);
}

static int ccs_settled(struct pworld *p, void *ud)
{
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", ud);
    const char *s = world_condition(c, "Ready", NULL, NULL);
    int ok = s != NULL;
    cJSON_Delete(c);
    return ok && world_tutorial_ready(&p->w, NULL);
}

static int c_ready_with_address(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *c = fake_cluster_get(p->w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    int ok = condition_is(c, "Ready", "True", "Ready") && world_str_at(c, "status.address");
    cJSON_Delete(c);
    return ok;
}

/* crossclusterservice.md "Address (VIP)": the network and broadcast addresses are never
 * given; a full range is Ready=False, reason AddressRangeExhausted. A /30 has two. */
static void test_address_range_exhausted(struct test_ctx *t)
{
    struct pworld p;
    pw_init(&p);
    world_apply_tutorial(&p.w);
    cJSON *mn = get_mesh(&p);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(mn, "spec"), "vipRange",
                            "240.0.1.0/30");
    fake_cluster_put(p.w.us, &MESH_RES_MESHNETWORKS, mn);
    cJSON_Delete(mn);
    pw_start(&p);
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        put_ccs(&p, names[i]);
        REQUIREF(t, pw_settle(&p, ccs_settled, (void *)names[i], T(20)), "echo/%s: %s", names[i],
                 world_describe(&p.w));
    }
    cJSON *a = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "a");
    cJSON *b = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "b");
    cJSON *c = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    const char *va = world_str_at(a, "status.address"), *vb = world_str_at(b, "status.address");
    CHECK_CONDITION(t, a, "Ready", "True", "Ready", NULL);
    CHECK_CONDITION(t, b, "Ready", "True", "Ready", NULL);
    CHECKF(t,
           va && vb && strcmp(va, vb) != 0 &&
               (strcmp(va, "240.0.1.1") == 0 || strcmp(va, "240.0.1.2") == 0) &&
               (strcmp(vb, "240.0.1.1") == 0 || strcmp(vb, "240.0.1.2") == 0),
           "addresses %s and %s, want 240.0.1.1 and 240.0.1.2", va ? va : "(none)",
           vb ? vb : "(none)");
    CHECK_CONDITION(t, c, "Ready", "False", "AddressRangeExhausted",
                    "no free address left in MeshNetwork training-mesh's vipRange 240.0.1.0/30");
    CHECKF(t, world_str_at(c, "status.address") == NULL, "echo/c has address %s",
           world_str_at(c, "status.address"));
    CHECK(t, !present(p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "c"));
    /* an address comes free: c takes it */
    char *freed = va ? strdup(va) : NULL;
    CHECK(t, fake_cluster_delete(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "a"));
    CHECKF(t, pw_wait(&p, c_ready_with_address, NULL, T(20)), "echo/c stayed without: %s",
           world_describe(&p.w));
    cJSON *c2 = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "c");
    CHECK_STR(t, world_str_at(c2, "status.address"), freed);
    free(freed);
    cJSON_Delete(c2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    pw_free(&p);
}

/* ---- an Event truncated past 900 bytes ---- */

#define LONG_CCS  "echo-service-with-a-rather-long-name-to-make-long-notes-xx"
#define IMPORTERS 6

static int importers_written(struct pworld *p, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < p->n; i++)
        if (!present(p->fc[i], &MESH_RES_DESTINATIONRULES, "echo", LONG_CCS))
            return 0;
    return 1;
}

static int all_members_ready(struct pworld *p, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < p->n; i++)
        if (!present(p->fc[i], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME))
            return 0;
    return world_tutorial_ready(&p->w, NULL);
}

/* design.md 5: a CrossClusterService's Event names every object and member a reconcile
 * changed, "truncated past 900 bytes with the number left out". With member names of
 * 62 characters (a DNS label is up to 63) and a CrossClusterService echo/<58
 * characters> (its "<ns>.<name>" label value is up to 63), one reconcile that imports
 * into six new members writes twelve objects. */
static void test_ccs_event_truncated_with_number_left_out(struct test_ctx *t)
{
    struct pworld p;
    pw_init(&p);
    const char *names[IMPORTERS];
    for (int i = 0; i < IMPORTERS; i++) {
        char name[64];
        snprintf(name, sizeof(name), "member-%d-%.53s", i,
                 "with-a-name-as-long-as-a-dns-label-may-be-almost-xxxxxx");
        names[i] = pw_add(&p, name) ? p.name[i] : NULL;
    }
    REQUIRE(t, strlen(names[0]) == 62);
    world_apply_tutorial(&p.w);
    set_members(&p, names, IMPORTERS);
    world_put_json(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                   "\"metadata\":{\"name\":\"" LONG_CCS "\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"long.example.test\","
                   "\"address\":\"240.0.0.3\","
                   "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
                   "\"importTo\":[\"us\"],"
                   "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
    pw_start(&p);
    REQUIREF(t, pw_settle(&p, all_members_ready, NULL, T(60)), "the members did not converge: %s",
             world_describe(&p.w));
    REQUIRE(t, strlen(LONG_CCS) == 58);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", LONG_CCS);
    REQUIRE(t, ccs);
    cJSON *to = cJSON_CreateArray();
    cJSON_AddItemToArray(to, cJSON_CreateString("us"));
    for (int i = 0; i < IMPORTERS; i++)
        cJSON_AddItemToArray(to, cJSON_CreateString(names[i]));
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ccs, "spec"),
                                           "importTo", to);
    put_spec_change(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    REQUIREF(t, pw_settle(&p, importers_written, NULL, T(60)), "not imported everywhere: %s",
             world_describe(&p.w));
    /* the one Event of the reconcile that wrote the six members */
    cJSON *events = fake_cluster_list(p.w.us, &KUBE_RES_EVENTS, "echo");
    const cJSON *e, *found = NULL;
    int created = 0;
    cJSON_ArrayForEach(e, events)
    {
        const char *note = world_str_at(e, "note");
        if (strcmp(world_str_at(e, "regarding.name"), LONG_CCS) != 0 || !note ||
            !strstr(note, "-with-a-name-as-long-"))
            continue;
        created++;
        found = e;
    }
    REQUIREF(t, created == 1, "%d Events name the new members, want 1 (one reconcile wrote them)",
             created);
    CHECK_EVENT(t, found, "Normal", "Created", ccs, "echo/" LONG_CCS ": created ");
    const char *note = world_str_at(found, "note");
    size_t len = strlen(note);
    CHECKF(t, len <= 1024, "note of %zu bytes (the API server takes 1024)", len);
    const char *more = strstr(note, " (and ");
    int left_out = 0;
    char tail[32] = "";
    REQUIREF(t, more && sscanf(more, " (and %d more)%31s", &left_out, tail) == 1 && left_out > 0,
             "the note does not end with the number left out: ...%s",
             len > 80 ? note + len - 80 : note);
    CHECKF(t, strcmp(more + strlen(more) - 6, " more)") == 0, "the note goes on after the count");
    CHECKF(t, (size_t)(more - note) <= 900, "%zu bytes before the count, want at most 900",
           (size_t)(more - note));
    /* every entry before the count is whole, and names one of the new members */
    int named = 0;
    const char *at = note + strlen("echo/" LONG_CCS ": ");
    while (at < more) {
        const char *end = strstr(at, ", ");
        if (!end || end > more)
            end = more;
        char entry[160];
        snprintf(entry, sizeof(entry), "%.*s", (int)(end - at), at);
        const char *in = strstr(entry, " in ");
        int known = 0;
        for (int i = 0; in && i < IMPORTERS; i++)
            known += strcmp(in + 4, names[i]) == 0;
        CHECKF(t,
               known == 1 && (strncmp(entry, "created ServiceEntry in ", 24) == 0 ||
                              strncmp(entry, "created DestinationRule in ", 27) == 0),
               "entry \"%s\" is not a whole change in a new member", entry);
        named++;
        at = end == more ? more : end + 2;
    }
    CHECKF(t, named + left_out == 2 * IMPORTERS,
           "%d changes named and %d left out, want %d written", named, left_out, 2 * IMPORTERS);
    cJSON_Delete(events);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- the recorder's rate limit and series ---- */

static int events_in(struct fake_cluster *fc, const char *ns)
{
    cJSON *l = fake_cluster_list(fc, &KUBE_RES_EVENTS, ns);
    int n = cJSON_GetArraySize(l);
    cJSON_Delete(l);
    return n;
}

/* design.md 5 and events.h: each object has a token bucket, burst 25 and one more every
 * 5 minutes (the operator's recorder: cmd/eastwest-operator sets neither); identical
 * Events within 6 minutes fold into one series and take no token. */
static void test_recorder_rate_limit_and_series(struct test_ctx *t)
{
    struct fake_cluster *fc = fake_cluster_new("home", NULL);
    world_put_json(fc, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"ns\"}}");
    struct kube_client *c = fake_cluster_client(fc);
    const struct rt_recorder_options o = {.client = c, .instance = "test"};
    struct rt_recorder *r = rt_recorder_new(&o);
    struct rt_object_ref a = {"v1", "ConfigMap", "ns", "a", "uid-a"};
    struct rt_object_ref b = {"v1", "ConfigMap", "ns", "b", "uid-b"};
    int created = 0;
    for (int i = 0; i < 25; i++)
        created += rt_event(r, &a, "Normal", "Changed", "Apply", "change %d", i) == 1;
    CHECKF(t, created == 25, "%d of the first 25 Events created", created);
    CHECKF(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 25") == 0,
           "the 26th distinct Event of one object was not dropped");
    CHECK(t, events_in(fc, "ns") == 25);
    /* a repeat folds into its series, though the bucket is empty */
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 3") == 2);
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 3") == 2);
    cJSON *l = fake_cluster_list(fc, &KUBE_RES_EVENTS, "ns");
    int series = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        const cJSON *n = world_at(e, "series.count");
        if (n) {
            series++;
            CHECK_STR(t, world_str_at(e, "note"), "change 3");
            CHECK(t, cJSON_IsNumber(n) && n->valueint == 3);
        }
    }
    CHECKF(t, series == 1, "%d Events carry a series, want 1", series);
    cJSON_Delete(l);
    /* each object has its own bucket */
    CHECK(t, rt_event(r, &b, "Warning", "Failed", "Apply", "b's first") == 1);
    /* one token every 5 minutes: none back a second later */
    ew_sleep(1.0);
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 26") == 0);
    CHECK(t, events_in(fc, "ns") == 26);
    rt_recorder_free(r);
    /* the refill itself, at a rate a test can wait for: no token before refill_s */
    const struct rt_recorder_options fast = {
        .client = c, .instance = "test", .burst = 1, .refill_s = 0.3};
    r = rt_recorder_new(&fast);
    double t0 = ew_now_mono();
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "fast 0") == 1);
    int back = 0, tries = 0;
    double t1 = 0;
    while (!back && ew_now_mono() - t0 < T(10)) {
        char note[32];
        snprintf(note, sizeof(note), "fast %d", ++tries);
        back = rt_event(r, &a, "Normal", "Changed", "Apply", "%s", note) == 1;
        t1 = ew_now_mono();
        if (!back)
            ew_sleep(0.02);
    }
    CHECKF(t, back, "no token back within %g s", T(10));
    CHECKF(t, back && t1 - t0 >= 0.3, "a token back after %.3f s, want >= 0.3", t1 - t0);
    CHECKF(t, tries > 1, "the second Event was not limited");
    rt_recorder_free(r);
    kube_client_free(c);
    fake_cluster_free(fc);
}

static const struct test_case cases[] = {
    {"mesh-deletion-with-member-down", test_mesh_deletion_with_member_down},
    {"ccs-deletion-with-member-down", test_ccs_deletion_with_member_down},
    {"removed-member-cleaned-then-cluster-removed",
     test_removed_member_cleaned_then_cluster_removed},
    {"removed-member-down-abandoned-by-secret", test_removed_member_down_abandoned_by_secret},
    {"removed-member-abandoned-across-restart", test_removed_member_abandoned_across_restart},
    {"credentials-updated", test_credentials_updated},
    {"certificate-reissued-names-the-key", test_certificate_reissued_names_the_key},
    {"mesh-apply-failed", test_mesh_apply_failed},
    {"ccs-apply-failed", test_ccs_apply_failed},
    {"address-range-exhausted", test_address_range_exhausted},
    {"ccs-event-truncated-with-number-left-out", test_ccs_event_truncated_with_number_left_out},
    {"recorder-rate-limit-and-series", test_recorder_rate_limit_and_series},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
