/*
 * reconcile_world.c: the tutorial's clusters as fakes, both controllers on them
 * (see reconcile_world.h).
 */
#include "reconcile_world.h"
#include "harness.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "kube/kubeconfig.h"
#include "mesh/objects.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US_SERVER "https://us.fake.test"
#define EU_SERVER "https://eu.fake.test"

static const char *kubeconfig_for(const char *server)
{
    static const char fmt[] = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                              "clusters: [{name: c, cluster: {server: %s}}]\n"
                              "users: [{name: u, user: {token: fake-token}}]\n"
                              "contexts: [{name: c, context: {cluster: c, user: u}}]\n";
    static char buf[2][512];
    int i = strcmp(server, US_SERVER) == 0 ? 0 : 1;
    snprintf(buf[i], sizeof(buf[i]), fmt, server);
    return buf[i];
}

void world_put_json(struct fake_cluster *fc, const struct kube_resource *r, const char *json)
{
    cJSON *obj = cJSON_Parse(json);
    if (!obj) {
        fprintf(stderr, "world_put_json: not JSON: %s\n", json);
        abort();
    }
    fake_cluster_put(fc, r, obj);
    cJSON_Delete(obj);
}

static void put_istio(struct fake_cluster *fc)
{
    world_put_json(fc, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"istio-system\"}}");
    world_put_json(fc, &KUBE_RES_CONFIGMAPS,
                   "{\"metadata\":{\"name\":\"istio\",\"namespace\":\"istio-system\"},"
                   "\"data\":{\"mesh\":\"trustDomain: corp.local\\nrootNamespace: istio-system\\n"
                   "defaultConfig:\\n  meshId: training-mesh\\n  proxyMetadata:\\n"
                   "    ISTIO_META_DNS_CAPTURE: \\\"true\\\"\\n\"}}");
}

static void put_home(struct world *w)
{
    world_put_json(w->us, &KUBE_RES_NAMESPACES,
                   "{\"metadata\":{\"name\":\"" WORLD_NAMESPACE "\"}}");
    world_put_json(w->us, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"echo\"}}");
    struct strbuf b64 = STRBUF_INIT, json = STRBUF_INIT;
    const char *kc = kubeconfig_for(EU_SERVER);
    base64_encode(&b64, kc, strlen(kc));
    strbuf_addf(&json,
                "{\"metadata\":{\"name\":\"prod-eu-west-1\",\"namespace\":\"" WORLD_NAMESPACE
                "\"},\"data\":{\"kubeconfig\":\"%s\"}}",
                b64.buf);
    world_put_json(w->us, &KUBE_RES_SECRETS, json.buf);
    strbuf_release(&b64);
    strbuf_release(&json);
}

static void put_echo(struct fake_cluster *fc)
{
    world_put_json(fc, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"echo\"}}");
    world_put_json(fc, &KUBE_RES_SERVICES,
                   "{\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"selector\":{\"app\":\"echo\"},\"clusterIP\":\"10.20.1.30\","
                   "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
                   "\"protocol\":\"TCP\"}]}}");
    world_put_json(fc, &KUBE_RES_PODS,
                   "{\"metadata\":{\"name\":\"echo-1\",\"namespace\":\"echo\","
                   "\"labels\":{\"app\":\"echo\"}},"
                   "\"spec\":{\"serviceAccountName\":\"echo\",\"containers\":[{\"name\":\"echo\","
                   "\"image\":\"echo\",\"ports\":[{\"containerPort\":8080}]}]},"
                   "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.20.2.7\","
                   "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
}

void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    const char *level = getenv("EW_TEST_LOG_LEVEL");
    enum ew_log_level lv = EW_LOG_ERROR;
    if (level)
        ew_log_level_parse(level, &lv);
    ew_logger_init(&w->log, stderr, lv, EW_LOG_TEXT);
    w->faults = fake_faults_new();
    w->us = fake_cluster_new("us", w->faults);
    w->eu = fake_cluster_new("eu", w->faults);
    put_istio(w->us);
    put_istio(w->eu);
    put_home(w);
    put_echo(w->eu);
    w->home = fake_cluster_client(w->us);
    const char *kc = kubeconfig_for(US_SERVER);
    struct kube_error err = KUBE_ERROR_INIT;
    if (kube_config_from_memory(kc, strlen(kc), "world", NULL, NULL, &w->home_cfg, &err) !=
        KUBE_OK) {
        fprintf(stderr, "world: home kubeconfig: %s\n", err.message);
        abort();
    }
}

void world_apply_tutorial(struct world *w)
{
    world_put_json(
        w->us, &MESH_RES_MESHNETWORKS,
        "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"MeshNetwork\","
        "\"metadata\":{\"name\":\"training-mesh\"},"
        "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
        "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\",\"locality\":\"us-east-1\"},"
        "{\"name\":\"eu\",\"network\":\"eu-net\",\"locality\":\"eu-west-1\","
        "\"kubeconfigSecretRef\":{\"name\":\"prod-eu-west-1\",\"key\":\"kubeconfig\"}}],"
        /* as deploy/examples/tutorial.yaml allows them */
        "\"serviceClaims\":{\"hosts\":[\"*.{namespace}.{meshID}.global\",\"*.mesh.local\"],"
        "\"addresses\":[\"240.0.0.0/24\"]}}}");
    world_put_json(
        w->us, &MESH_RES_CROSSCLUSTERSERVICES,
        "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
        "\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\"},"
        "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"echo.eu.mesh.local\","
        "\"address\":\"240.0.0.2\",\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
        "\"importTo\":[\"us\"],"
        "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
}

/* The cluster set's connect function: a member's server URL names its fake. */
static kube_code connect_fake(void *ud, const char *name, const struct kube_rest_config *cfg,
                              struct kube_client **out, struct kube_error *err)
{
    struct world *w = ud;
    (void)name;
    struct fake_cluster *fc = strcmp(cfg->server, US_SERVER) == 0   ? w->us
                              : strcmp(cfg->server, EU_SERVER) == 0 ? w->eu
                                                                    : NULL;
    if (!fc)
        return kube_error_set(err, KUBE_E_CONNECT, "no fake cluster at %s", cfg->server);
    *out = fake_cluster_client(fc);
    return KUBE_OK;
}

void world_start(struct world *w)
{
    world_start_connect(w, connect_fake, w);
}

void world_start_connect(struct world *w, rt_cluster_connect_fn connect, void *connect_ud)
{
    const struct rt_clusterset_options co = {
        .log = &w->log, .connect = connect, .connect_ud = connect_ud};
    w->clusters = rt_clusterset_new(&co);
    const struct rt_recorder_options ro = {.client = w->home,
                                           .controller = "eastwest.io/eastwest-operator",
                                           .instance = "test",
                                           .burst = 1000, /* every Event kept: tests count them */
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
        .member_sync_grace = w->ccs_sync_grace,
    };
    w->services = mesh_ccs_controller_new(&so);
    rt_controller_run(mesh_network_controller_runtime(w->meshes));
    rt_controller_run(mesh_ccs_controller_runtime(w->services));
    w->running = 1;
}

void world_stop(struct world *w)
{
    if (!w->running)
        return;
    rt_controller_stop(mesh_network_controller_runtime(w->meshes), 10);
    rt_controller_stop(mesh_ccs_controller_runtime(w->services), 10);
    mesh_ccs_controller_free(w->services);
    mesh_network_controller_free(w->meshes);
    rt_clusterset_free(w->clusters);
    rt_recorder_free(w->events);
    rt_metrics_free(w->metrics);
    w->running = 0;
}

void world_free(struct world *w)
{
    world_stop(w);
    kube_client_free(w->home);
    kube_rest_config_free(&w->home_cfg);
    fake_cluster_free(w->us);
    fake_cluster_free(w->eu);
    fake_faults_free(w->faults);
    ew_logger_destroy(&w->log);
    memset(w, 0, sizeof(*w));
}

/* ---- what the load balancer and istiod do ---- */

static void play_load_balancer(struct fake_cluster *fc, const char *ip)
{
    cJSON *svc = fake_cluster_get(fc, &KUBE_RES_SERVICES, "istio-system", MESH_GATEWAY_NAME);
    if (!svc)
        return;
    const cJSON *ingress = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "status"),
                                         "loadBalancer"),
        "ingress");
    if (cJSON_GetArraySize(ingress) == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(svc, "status");
        cJSON *lb = cJSON_AddObjectToObject(cJSON_AddObjectToObject(svc, "status"), "loadBalancer");
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "ip", ip);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(lb, "ingress"), one);
        fake_cluster_put(fc, &KUBE_RES_SERVICES, svc);
    }
    cJSON_Delete(svc);
}

static void play_istiod(struct fake_cluster *fc)
{
    cJSON *cacerts = fake_cluster_get(fc, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    if (!cacerts)
        return;
    const cJSON *root = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cacerts, "data"), "root-cert.pem");
    struct strbuf pem = STRBUF_INIT;
    if (cJSON_IsString(root) &&
        base64_decode(&pem, root->valuestring, strlen(root->valuestring)) == 0) {
        cJSON *cm =
            fake_cluster_get(fc, &KUBE_RES_CONFIGMAPS, "istio-system", "istio-ca-root-cert");
        const cJSON *have = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cm, "data"), "root-cert.pem");
        if (!cJSON_IsString(have) || strcmp(have->valuestring, pem.buf) != 0) {
            cJSON *obj = cJSON_CreateObject();
            cJSON *meta = cJSON_AddObjectToObject(obj, "metadata");
            cJSON_AddStringToObject(meta, "name", "istio-ca-root-cert");
            cJSON_AddStringToObject(meta, "namespace", "istio-system");
            cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "data"), "root-cert.pem", pem.buf);
            fake_cluster_put(fc, &KUBE_RES_CONFIGMAPS, obj);
            cJSON_Delete(obj);
        }
        cJSON_Delete(cm);
    }
    strbuf_release(&pem);
    cJSON_Delete(cacerts);
}

static int queues_idle(struct world *w)
{
    struct rt_queue_stats a, b;
    rt_queue_get_stats(rt_controller_queue(mesh_network_controller_runtime(w->meshes)), &a);
    rt_queue_get_stats(rt_controller_queue(mesh_ccs_controller_runtime(w->services)), &b);
    return a.depth == 0 && a.processing == 0 && b.depth == 0 && b.processing == 0;
}

/* Before its first list a controller's queue is empty and its workers wait: that is not
 * quiet (seen under valgrind: settled before the controllers had begun). */
static int controllers_synced(struct world *w)
{
    return rt_controller_synced(mesh_network_controller_runtime(w->meshes)) &&
           rt_controller_synced(mesh_ccs_controller_runtime(w->services));
}

static void play(struct world *w)
{
    play_load_balancer(w->us, "192.0.2.10");
    play_load_balancer(w->eu, "192.0.2.20");
    play_istiod(w->us);
    play_istiod(w->eu);
}

int world_settle_by(struct world *w, int (*done)(struct world *w, void *ud), void *ud,
                    double deadline)
{
    unsigned long last = (unsigned long)-1;
    int quiet = 0;
    while (ew_now_mono() < deadline) {
        play(w);
        unsigned long writes = fake_cluster_writes(w->us) + fake_cluster_writes(w->eu);
        if (writes == last && controllers_synced(w) && queues_idle(w) && (!done || done(w, ud)))
            quiet++;
        else
            quiet = 0;
        if (quiet >= 3)
            return 1;
        last = writes;
        ew_sleep(0.01);
    }
    return 0;
}

int world_settle(struct world *w, int (*done)(struct world *w, void *ud), void *ud, double timeout)
{
    return world_settle_by(w, done, ud, ew_now_mono() + timeout * test_time_scale());
}

int world_wait(struct world *w, int (*cond)(struct world *w, void *ud), void *ud, double timeout)
{
    double deadline = ew_now_mono() + timeout * test_time_scale();
    while (ew_now_mono() < deadline) {
        play(w);
        if (cond(w, ud))
            return 1;
        ew_sleep(0.01);
    }
    play(w);
    return cond(w, ud);
}

double world_reconciles(struct world *w, const char *controller)
{
    struct rt_metric *f = rt_metrics_register(w->metrics, RT_COUNTER, "eastwest_reconcile_total",
                                              "", "controller,result", NULL, 0);
    static const char *const results[] = {"success", "requeue", "error"};
    double n = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *labels[] = {controller, results[i]};
        n += rt_metric_value(f, labels);
    }
    return n;
}

struct looks {
    double mesh, ccs; /* reconciles to reach */
};

static int looked(struct world *w, void *ud)
{
    const struct looks *l = ud;
    return world_reconciles(w, "meshnetwork") >= l->mesh &&
           world_reconciles(w, "crossclusterservice") >= l->ccs;
}

int world_look_again(struct world *w, int looks)
{
    /* One key per controller, never on two workers at once: its reconciles follow one
     * another. Of those that end after the call, the first may have begun before it; the
     * second began after the first ended. So looks + 1 ends, each asked for. */
    struct looks l = {world_reconciles(w, "meshnetwork"),
                      world_reconciles(w, "crossclusterservice")};
    for (int i = 0; i <= looks; i++) {
        l.mesh += 1;
        l.ccs += 1;
        rt_controller_enqueue(mesh_network_controller_runtime(w->meshes), "training-mesh");
        rt_controller_enqueue(mesh_ccs_controller_runtime(w->services), "echo/echo");
        if (!world_wait(w, looked, &l, 10))
            return 0;
    }
    return 1;
}

/* ---- reading results ---- */

const char *world_condition(const cJSON *obj, const char *type, const char **reason,
                            const char **message)
{
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions");
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
            continue;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "reason");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "message");
        if (reason)
            *reason = cJSON_IsString(r) ? r->valuestring : NULL;
        if (message)
            *message = cJSON_IsString(m) ? m->valuestring : NULL;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "status");
        return cJSON_IsString(s) ? s->valuestring : NULL;
    }
    return NULL;
}

/* Ready=True, observed at the object's generation. */
static int ready_now(const cJSON *obj)
{
    const char *s = world_condition(obj, "Ready", NULL, NULL);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "status"), "observedGeneration");
    return s && strcmp(s, "True") == 0 && cJSON_IsNumber(gen) && cJSON_IsNumber(seen) &&
           gen->valuedouble == seen->valuedouble;
}

int world_tutorial_ready(struct world *w, void *ud)
{
    (void)ud;
    cJSON *mn = fake_cluster_get(w->us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
    cJSON *ccs = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    int ok = mn && ccs && ready_now(mn) && ready_now(ccs);
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    return ok;
}

/* ---- normalising ---- */

static int looks_like_time(const char *s)
{
    /* 2026-12-03T08:20:12Z and the like */
    return strlen(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':';
}

static int looks_like_material(const char *s)
{
    if (strstr(s, "-----BEGIN "))
        return 1;
    size_t n = strlen(s), hex = strspn(s, "0123456789abcdefABCDEF:");
    return n >= 32 && hex == n;
}

static int varies(const char *key)
{
    static const char *const keys[] = {
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
        "lastTransitionTime",
        "deletionTimestamp",
        MESH_ANNOTATION_HASH,
        MESH_ANNOTATION_OWNER,
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

static void normalize(cJSON *v, int secret_data)
{
    cJSON *c = v ? v->child : NULL;
    while (c) {
        cJSON *next = c->next;
        if (c->string && varies(c->string)) {
            cJSON_DeleteItemFromObjectCaseSensitive(v, c->string);
        } else if (cJSON_IsString(c) && (secret_data || looks_like_time(c->valuestring) ||
                                         looks_like_material(c->valuestring))) {
            cJSON_SetValuestring(c, secret_data ? "<data>" : "<varies>");
        } else {
            normalize(c, 0);
        }
        c = next;
    }
}

static void add_cluster(cJSON *all, struct fake_cluster *fc)
{
    cJSON *dump = fake_cluster_dump(fc);
    cJSON_DeleteItemFromObjectCaseSensitive(dump, "events.k8s.io/events");
    cJSON_DeleteItemFromObjectCaseSensitive(dump, "coordination.k8s.io/leases");
    cJSON *kind;
    cJSON_ArrayForEach(kind, dump)
    {
        cJSON *obj;
        cJSON_ArrayForEach(obj, kind)
        {
            int is_secret = strcmp(kind->string, "/secrets") == 0;
            cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
            if (is_secret)
                normalize(data, 1);
            normalize(obj, 0);
        }
    }
    cJSON_AddItemToObject(all, fake_cluster_name(fc), dump);
}

cJSON *world_normalized(struct world *w)
{
    cJSON *all = cJSON_CreateObject();
    add_cluster(all, w->us);
    add_cluster(all, w->eu);
    return all;
}

int world_start_tutorial(struct world *w)
{
    world_init(w);
    world_apply_tutorial(w);
    world_start(w);
    return world_settle(w, world_tutorial_ready, NULL, 20);
}

const cJSON *world_at(const cJSON *obj, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *v = obj;
    for (char *save = NULL, *seg = strtok_r(buf, ".", &save); seg && v;
         seg = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(v))
            v = cJSON_GetArrayItem(v, atoi(seg));
        else
            v = cJSON_GetObjectItemCaseSensitive(v, seg);
    }
    return v;
}

const char *world_str_at(const cJSON *obj, const char *path)
{
    const cJSON *v = world_at(obj, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *world_describe(struct world *w)
{
    static char buf[4096];
    cJSON *mn = fake_cluster_get(w->us, &MESH_RES_MESHNETWORKS, NULL, "training-mesh");
    cJSON *ccs = fake_cluster_get(w->us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo");
    char *a = mn ? cJSON_PrintUnformatted(world_at(mn, "status")) : NULL;
    char *b = ccs ? cJSON_PrintUnformatted(world_at(ccs, "status")) : NULL;
    snprintf(buf, sizeof(buf), "MeshNetwork status %s; CrossClusterService status %s",
             a ? a : "(none)", b ? b : "(none)");
    free(a);
    free(b);
    cJSON_Delete(mn);
    cJSON_Delete(ccs);
    return buf;
}
