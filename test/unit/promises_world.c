/*
 * promises_world.c: the world of test_promises_status.c and test_promises_events.c (see
 * promises_world.h).
 */
#include "promises_world.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/objects.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deadline in seconds, longer under valgrind (test_time_scale()). */
double T(double s)
{
    return s * test_time_scale();
}

/* ---- a world with more members ---- */

/* A server names its fake by its host: userinfo (https://user:pass@host) aside. */
static int same_server(const char *server, const char *want)
{
    const char *at = strchr(server, '@');
    if (at && strncmp(server, "https://", 8) == 0 &&
        !memchr(server + 8, '/', (size_t)(at - server - 8)))
        return strncmp(want, "https://", 8) == 0 && strcmp(at + 1, want + 8) == 0;
    return strcmp(server, want) == 0;
}

static kube_code pw_connect(void *ud, const char *name, const struct kube_rest_config *cfg,
                            struct kube_client **out, struct kube_error *err)
{
    struct pworld *p = ud;
    (void)name;
    struct fake_cluster *fc = NULL;
    if (same_server(cfg->server, "https://us.fake.test"))
        fc = p->w.us;
    else if (same_server(cfg->server, "https://eu.fake.test"))
        fc = p->w.eu;
    for (size_t i = 0; !fc && i < p->n; i++) {
        char server[128];
        snprintf(server, sizeof(server), "https://%s.fake.test", p->name[i]);
        if (same_server(cfg->server, server))
            fc = p->fc[i];
    }
    if (!fc)
        return kube_error_set(err, KUBE_E_CONNECT, "no fake cluster at %s", cfg->server);
    *out = fake_cluster_client(fc);
    return KUBE_OK;
}

void put_kubeconfig_secret(struct pworld *p, const char *cluster, const char *token)
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
void pw_init(struct pworld *p)
{
    memset(p, 0, sizeof(*p));
    world_init(&p->w);
    world_put_json(p->w.us, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"default\"}}");
}

/* One more cluster with istiod's namespace and ConfigMap, as the tutorial's have. */
struct fake_cluster *pw_add(struct pworld *p, const char *name)
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
void pw_start(struct pworld *p)
{
    world_start_connect(&p->w, pw_connect, p);
}

void pw_free(struct pworld *p)
{
    world_stop(&p->w); /* frees the clients of the extras too */
    for (size_t i = 0; i < p->n; i++)
        fake_cluster_free(p->fc[i]);
    world_free(&p->w);
}

/* obj's data.<key> (keys have dots: world_str_at cannot name them), or NULL. */
const char *data_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(world_at(obj, "data"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the cloud and istiod do in the extras (reconcile_world does it in us and eu). */
void pw_play(struct pworld *p)
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

unsigned long extra_writes(struct pworld *p)
{
    unsigned long n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += fake_cluster_writes(p->fc[i]);
    return n;
}

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
int pw_settle(struct pworld *p, pw_cond done, void *ud, double timeout)
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
int pw_wait(struct pworld *p, pw_cond cond, void *ud, double timeout)
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

int tutorial_ready(struct pworld *p, void *ud)
{
    return world_tutorial_ready(&p->w, ud);
}

/* ---- reading objects ---- */

cJSON *get_mesh(struct pworld *p)
{
    return fake_cluster_get(p->w.us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
}

/* Put obj back with metadata.generation one higher: a spec change as the API server
 * counts it (fake_cluster_put keeps what it is given). */
void put_spec_change(struct fake_cluster *fc, const struct kube_resource *r, cJSON *obj)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    double g = cJSON_IsNumber(gen) ? gen->valuedouble : 1;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
    cJSON_AddNumberToObject(meta, "generation", g + 1);
    fake_cluster_put(fc, r, obj);
}

/* The MeshNetwork's spec.clusters: us, eu and the extras named. */
void set_members(struct pworld *p, const char *const *extras, size_t n)
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
int events_about(struct pworld *p, const char *ns, const char *kind, const char *name,
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
int mesh_events(struct pworld *p, const char *reason, cJSON **first)
{
    return events_about(p, "default", "MeshNetwork", "training-mesh", reason, first);
}

void check_event(struct test_ctx *t, const char *file, int line, const cJSON *ev, const char *type,
                 const char *reason, const cJSON *obj, const char *const *note_has)
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

int mesh_event_seen(struct pworld *p, void *ud)
{
    const struct want_event *e = ud;
    return mesh_events(p, e->reason, NULL) >= (e->at_least ? e->at_least : 1);
}

int ccs_event_seen(struct pworld *p, void *ud)
{
    return events_about(p, "echo", "CrossClusterService", "echo", ud, NULL) > 0;
}

int present(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
            const char *name)
{
    cJSON *o = fake_cluster_get(fc, r, ns, name);
    cJSON_Delete(o);
    return o != NULL;
}

void start_tutorial(struct test_ctx *t, struct pworld *p)
{
    pw_init(p);
    world_apply_tutorial(&p->w);
    pw_start(p);
    REQUIREF(t, pw_settle(p, tutorial_ready, NULL, T(20)), "the tutorial did not converge: %s",
             world_describe(&p->w));
}
