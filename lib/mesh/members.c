/*
 * members: member connections and their caches (see members.h).
 */
#include "members.h"

#include "cacerts.h"
#include "objects.h"
#include "kube/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a, b, c" of a Secret's data keys (names only), or "no data". */
static void data_keys(const cJSON *secret, struct strbuf *out)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(secret, "data"), *kv;
    size_t n = 0;
    if (!cJSON_IsObject(data))
        data = NULL;
    cJSON_ArrayForEach(kv, data)
    {
        if (!kv->string)
            continue;
        if (n++ == 8) {
            strbuf_adds(out, ", ...");
            break;
        }
        strbuf_addf(out, "%s%s", n > 1 ? ", " : "", kv->string);
    }
    if (!n)
        strbuf_adds(out, "no data");
}

mesh_code mesh_member_config_from_secret(const cJSON *secret, const char *desc,
                                         const struct mesh_cluster *c, struct kube_rest_config *cfg,
                                         char **version, struct mesh_problem *p)
{
    return mesh_member_config_from_secret_allow(secret, desc, c, 0, cfg, version, p);
}

mesh_code mesh_member_config_from_secret_allow(const cJSON *secret, const char *desc,
                                               const struct mesh_cluster *c, unsigned allow,
                                               struct kube_rest_config *cfg, char **version,
                                               struct mesh_problem *p)
{
    memset(cfg, 0, sizeof(*cfg));
    *version = NULL;
    if (!secret)
        return mesh_problem_set(p, "KubeconfigSecretNotFound",
                                "cluster %s: %s (kubeconfigSecretRef) not found", c->name, desc);
    struct strbuf data = STRBUF_INIT;
    mesh_code rc = MESH_OK;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(secret, "data"), c->secret_key);
    if (!mesh_secret_data(secret, c->secret_key, &data)) {
        if (cJSON_IsString(v)) {
            rc = mesh_problem_set(p, "KubeconfigInvalid",
                                  "cluster %s: %s: data.%s is not base64 (kubeconfigSecretRef.key)",
                                  c->name, desc, c->secret_key);
        } else {
            struct strbuf keys = STRBUF_INIT;
            data_keys(secret, &keys);
            rc = mesh_problem_set(p, "KubeconfigKeyMissing",
                                  "cluster %s: %s has no data key %s (kubeconfigSecretRef.key); "
                                  "it has: %s",
                                  c->name, desc, c->secret_key, keys.buf);
            strbuf_release(&keys);
        }
    } else if (data.len == 0) {
        rc = mesh_problem_set(p, "KubeconfigInvalid",
                              "cluster %s: %s: data.%s is empty (kubeconfigSecretRef.key)", c->name,
                              desc, c->secret_key);
    } else {
        struct strbuf source = STRBUF_INIT;
        struct kube_error err = KUBE_ERROR_INIT;
        strbuf_addf(&source, "%s key %s", desc, c->secret_key);
        if (kube_config_from_untrusted(data.buf, data.len, source.buf, allow, NULL, cfg, &err) ==
            KUBE_OK)
            ;
        else if (err.reason && strcmp(err.reason, KUBE_CONFIG_REFUSED) == 0)
            rc = mesh_problem_set(p, "KubeconfigRefused",
                                  "cluster %s: %s (kubeconfigSecretRef); nothing is done in this "
                                  "member until the Secret carries inline credentials, or the "
                                  "operator runs with --allow-member-kubeconfig-files (file "
                                  "fields) or --allow-member-exec (exec)",
                                  c->name, err.message);
        else
            rc = mesh_problem_set(p, "KubeconfigInvalid", "cluster %s: not a usable kubeconfig: %s",
                                  c->name, err.message);
        kube_error_clear(&err);
        strbuf_release(&source);
    }
    mesh_secret_wipe(&data);
    if (rc != MESH_OK)
        return rc;
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(secret, "metadata"), "resourceVersion");
    struct strbuf ver = STRBUF_INIT;
    strbuf_addf(&ver, "%s@%s/%s", cJSON_IsString(rv) ? rv->valuestring : "", desc, c->secret_key);
    *version = strbuf_detach(&ver, NULL);
    return MESH_OK;
}

struct mesh_member_wake {
    struct rt_controller *controller;
    char *mesh;
};

const struct kube_resource *mesh_watch_resource(enum mesh_watch w)
{
    switch (w) {
    case MESH_W_SERVICES:
        return &KUBE_RES_SERVICES;
    case MESH_W_DEPLOYMENTS:
        return &KUBE_RES_DEPLOYMENTS;
    case MESH_W_SERVICEACCOUNTS:
        return &KUBE_RES_SERVICEACCOUNTS;
    case MESH_W_ROLES:
        return &KUBE_RES_ROLES;
    case MESH_W_ROLEBINDINGS:
        return &KUBE_RES_ROLEBINDINGS;
    case MESH_W_GATEWAYS:
        return &MESH_RES_GATEWAYS;
    case MESH_W_CACERTS:
        return &KUBE_RES_SECRETS;
    case MESH_W_CONFIGMAPS:
        return &KUBE_RES_CONFIGMAPS;
    case MESH_W_NAMESPACE:
    case MESH_W_COUNT:
        break;
    }
    return &KUBE_RES_NAMESPACES;
}

static void wake(void *ud, enum rt_change change, const char *key, const cJSON *obj)
{
    struct mesh_member_wake *w = ud;
    (void)change;
    (void)key;
    (void)obj;
    rt_controller_enqueue(w->controller, w->mesh);
}

/* The ConfigMaps of the Istio namespace that a reconcile reads. istiod keeps others
 * there that change every few seconds (its leader-election locks): waking on those
 * would reconcile every MeshNetwork all the time for nothing. */
static const char *const MESH_READ_CONFIGMAPS[] = {"istio", "istio-sidecar-injector",
                                                   "istio-ca-root-cert"};

int mesh_member_configmap_is_read(const char *key)
{
    const char *name = key ? strrchr(key, '/') : NULL;
    name = name ? name + 1 : key;
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof(MESH_READ_CONFIGMAPS) / sizeof(MESH_READ_CONFIGMAPS[0]); i++)
        if (strcmp(name, MESH_READ_CONFIGMAPS[i]) == 0)
            return 1;
    return 0;
}

static void wake_configmap(void *ud, enum rt_change change, const char *key, const cJSON *obj)
{
    if (mesh_member_configmap_is_read(key))
        wake(ud, change, key, obj);
}

static void wake_health(void *ud, int healthy)
{
    (void)healthy;
    wake(ud, RT_UPSERT, NULL, NULL);
}

struct mesh_member *mesh_member_start(const struct mesh_member_options *o)
{
    struct kube_client *client = rt_clusterset_acquire(o->clusters, o->cluster);
    if (!client)
        return NULL;
    struct mesh_member *m = ew_calloc(1, sizeof(*m));
    m->cluster = ew_strdup(o->cluster);
    m->config_version = ew_strdup(o->config_version);
    m->istio_ns = ew_strdup(o->istio_ns);
    m->secret_name = o->secret_name ? ew_strdup(o->secret_name) : NULL;
    m->secret_key = o->secret_key ? ew_strdup(o->secret_key) : NULL;
    m->client = client;
    m->wake = ew_calloc(1, sizeof(*m->wake));
    m->wake->controller = o->controller;
    m->wake->mesh = ew_strdup(o->mesh);
    char *selector = mesh_selector_for_mesh(o->mesh);
    struct strbuf ns_field = STRBUF_INIT;
    strbuf_addf(&ns_field, "metadata.name=%s", o->istio_ns);
    for (int w = 0; w < MESH_W_COUNT; w++) {
        struct rt_reflector_options ro = {
            .client = client,
            .resource = mesh_watch_resource((enum mesh_watch)w),
            .namespace_ = w == MESH_W_NAMESPACE ? NULL : o->istio_ns,
            .on_change = w == MESH_W_CONFIGMAPS ? wake_configmap : wake,
            .on_health = wake_health,
            .ud = m->wake,
            .log = o->log,
            .metrics = o->metrics,
            .owner = "meshnetwork",
            .backoff_max = MESH_MEMBER_RECONNECT_MAX,
        };
        if (w <= MESH_W_GATEWAYS)
            ro.label_selector = selector;
        else if (w == MESH_W_CACERTS)
            ro.field_selector = "metadata.name=" MESH_CACERTS_NAME;
        else if (w == MESH_W_NAMESPACE)
            ro.field_selector = ns_field.buf;
        m->watches[w] = rt_reflector_start(&ro);
    }
    strbuf_release(&ns_field);
    free(selector);
    return m;
}

void mesh_member_stop(struct mesh_member *m, struct rt_clusterset *clusters)
{
    if (!m)
        return;
    for (int w = 0; w < MESH_W_COUNT; w++)
        rt_reflector_stop(m->watches[w]);
    rt_clusterset_release(clusters, m->client);
    free(m->wake->mesh);
    free(m->wake);
    free(m->cluster);
    free(m->config_version);
    free(m->istio_ns);
    free(m->secret_name);
    free(m->secret_key);
    mesh_cacerts_memo_release(&m->cacerts_memo);
    free(m);
}

struct rt_store *mesh_member_store(struct mesh_member *m, enum mesh_watch w)
{
    return rt_reflector_store(m->watches[w]);
}

int mesh_member_synced(struct mesh_member *m)
{
    for (int w = 0; w < MESH_W_COUNT; w++)
        if (!rt_reflector_synced(m->watches[w]))
            return 0;
    return 1;
}

int mesh_member_healthy(struct mesh_member *m, char **error)
{
    *error = NULL;
    for (int w = 0; w < MESH_W_COUNT; w++) {
        char *e = NULL;
        if (!rt_reflector_healthy(m->watches[w], &e)) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "watching %s: %s", mesh_watch_resource((enum mesh_watch)w)->plural, e);
            free(e);
            *error = strbuf_detach(&sb, NULL);
            return 0;
        }
    }
    return 1;
}

cJSON *mesh_member_get(struct mesh_member *m, enum mesh_watch w, const char *name)
{
    struct strbuf key = STRBUF_INIT;
    if (w != MESH_W_NAMESPACE)
        strbuf_addf(&key, "%s/", m->istio_ns);
    strbuf_adds(&key, name);
    cJSON *o = rt_store_get_copy(mesh_member_store(m, w), key.buf);
    strbuf_release(&key);
    return o;
}
