/*
 * members: member connections and their caches (see members.h).
 */
#include "members.h"

#include "objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    m->client = client;
    m->wake = ew_calloc(1, sizeof(*m->wake));
    m->wake->controller = o->controller;
    m->wake->mesh = ew_strdup(o->mesh);
    char *selector = mesh_selector_for_mesh(o->mesh);
    struct strbuf ns_field = STRBUF_INIT;
    strbuf_addf(&ns_field, "metadata.name=%s", o->istio_ns);
    for (int w = 0; w < MESH_W_COUNT; w++) {
        struct rt_reflector_options ro = {0};
        ro.client = client;
        ro.resource = mesh_watch_resource((enum mesh_watch)w);
        ro.namespace_ = w == MESH_W_NAMESPACE ? NULL : o->istio_ns;
        if (w <= MESH_W_GATEWAYS)
            ro.label_selector = selector;
        else if (w == MESH_W_CACERTS)
            ro.field_selector = "metadata.name=" MESH_CACERTS_NAME;
        else if (w == MESH_W_NAMESPACE)
            ro.field_selector = ns_field.buf;
        ro.on_change = wake;
        ro.on_health = wake_health;
        ro.ud = m->wake;
        ro.log = o->log;
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
