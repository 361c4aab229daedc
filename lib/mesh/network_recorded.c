/*
 * network_recorded.c: a MeshNetwork rebuilt from its status and the readable
 * parts of its spec, for its cleanup (see network_recorded.h).
 */
#include "network_recorded.h"

#include "json_path.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or(const char *s, const char *dflt)
{
    return s ? ew_strdup(s) : dflt ? ew_strdup(dflt) : NULL;
}

/* The spec.clusters entry named name, if the list and its names read. */
static const cJSON *spec_cluster(const cJSON *obj, const char *name)
{
    return mesh_json_find(mesh_json_get(obj, "spec", "clusters"), "name", name);
}

static int has_cluster(const struct mesh_network *n, const char *name)
{
    return mesh_network_cluster(n, name) != NULL;
}

/* Add a member; ref: its kubeconfigSecretRef (NULL: the home cluster). */
static void add_cluster(struct mesh_network *n, const char *name, const cJSON *ref,
                        const char *network)
{
    n->clusters = ew_realloc(n->clusters, (n->nclusters + 1) * sizeof(*n->clusters));
    n->clusters[n->nclusters++] = (struct mesh_cluster){
        .name = ew_strdup(name),
        .network = dup_or(network, ""),
        .secret_name = dup_or(mesh_json_str(ref, "name", NULL), NULL),
        .secret_key = dup_or(mesh_json_str(ref, "key", NULL), "kubeconfig"),
    };
}

/* One status.clusters entry: where it is, from the status, else from the spec. */
static void add_recorded(struct mesh_network *n, const cJSON *obj, const cJSON *e,
                         int refs_recorded, struct strbuf *unknown)
{
    const char *name = mesh_json_str(e, "name", NULL);
    if (!name || has_cluster(n, name))
        return;
    const cJSON *ref = mesh_json_get(e, "kubeconfigSecretRef", NULL);
    const cJSON *sc = spec_cluster(obj, name);
    if (!ref && sc)
        ref = mesh_json_get(sc, "kubeconfigSecretRef", NULL);
    if ((ref && !mesh_json_str(ref, "name", NULL)) || (!ref && !sc && !refs_recorded)) {
        strbuf_addf(unknown, "%s%s", unknown->len ? ", " : "", name);
        return;
    }
    add_cluster(n, name, ref, mesh_json_str(e, "network", NULL));
}

void mesh_network_recorded(const cJSON *obj, struct mesh_network *out, struct strbuf *unknown)
{
    memset(out, 0, sizeof(*out));
    const cJSON *meta = mesh_json_get(obj, "metadata", NULL);
    const cJSON *spec = mesh_json_get(obj, "spec", NULL);
    const cJSON *status = mesh_json_get(obj, "status", NULL);
    out->name = dup_or(mesh_json_str(meta, "name", NULL), "");
    out->uid = dup_or(mesh_json_str(meta, "uid", NULL), NULL);
    out->generation = mesh_object_generation(obj);
    const char *ns = mesh_json_str(status, "istioNamespace", NULL);
    int refs_recorded = ns != NULL;
    if (!ns || !*ns)
        ns = mesh_json_str(spec, "istioNamespace", NULL);
    out->istio_namespace = dup_or(ns && *ns ? ns : NULL, "istio-system");
    const cJSON *ca = mesh_json_get(spec, "certificateAuthority", NULL);
    const char *on_delete = mesh_json_str(ca, "onDelete", NULL);
    out->ca.on_delete =
        on_delete && strcmp(on_delete, "Delete") == 0 ? MESH_CA_DELETE : MESH_CA_RETAIN;
    const char *root = mesh_json_str(mesh_json_get(ca, "rootSecretRef", NULL), "name", NULL);
    out->ca.root_secret = root && *root ? ew_strdup(root) : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, mesh_json_get(status, "clusters", NULL))
        add_recorded(out, obj, e, refs_recorded, unknown);
    /* members the status has not recorded yet (a status write that failed) */
    cJSON_ArrayForEach(e, mesh_json_get(spec, "clusters", NULL))
    {
        const char *name = mesh_json_str(e, "name", NULL);
        if (!name || has_cluster(out, name) ||
            mesh_json_find(mesh_json_get(status, "clusters", NULL), "name", name))
            continue; /* recorded: the status says (an unknown one stays unknown) */
        const cJSON *ref = mesh_json_get(e, "kubeconfigSecretRef", NULL);
        if (ref && !mesh_json_str(ref, "name", NULL))
            strbuf_addf(unknown, "%s%s", unknown->len ? ", " : "", name);
        else
            add_cluster(out, name, ref, mesh_json_str(e, "network", NULL));
    }
}
