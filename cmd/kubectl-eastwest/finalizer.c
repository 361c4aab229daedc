/*
 * remove-finalizer: the way out when a MeshNetwork or CrossClusterService can't finish
 * deleting because a member cluster is gone for good (docs/design.md section 4). The
 * operator keeps its finalizer eastwest.io/cleanup until it has removed what it wrote
 * in every member; this takes the finalizer away by hand, after saying what is left
 * behind and where, so the user can delete it by label later.
 *
 * It refuses an object that is not being deleted (the finalizer would only come back),
 * and without --force it only prints the warning. The finalizer is removed by a JSON
 * patch that first tests its index, so a concurrent change to the list fails instead
 * of removing another finalizer.
 */
#include "plugin.h"
#include "connect.h"
#include "base/strbuf.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <string.h>

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The kind argument: meshnetwork(s)/meshnet, crossclusterservice(s)/ccs. */
static const struct kube_resource *resource_of(const char *kind, int *namespaced)
{
    static const char *const mesh[] = {"meshnetwork", "meshnetworks", "meshnet", NULL};
    static const char *const ccs[] = {"crossclusterservice", "crossclusterservices", "ccs", NULL};
    for (int i = 0; mesh[i]; i++)
        if (strcmp(kind, mesh[i]) == 0) {
            *namespaced = 0;
            return &MESH_RES_MESHNETWORKS;
        }
    for (int i = 0; ccs[i]; i++)
        if (strcmp(kind, ccs[i]) == 0) {
            *namespaced = 1;
            return &MESH_RES_CROSSCLUSTERSERVICES;
        }
    return NULL;
}

/* Index of the eastwest finalizer in metadata.finalizers, or -1. */
static int finalizer_index(const cJSON *md)
{
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(md, "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, MESH_FINALIZER) == 0)
            return i;
        i++;
    }
    return -1;
}

/* The clusters where the object may still have written objects: for a MeshNetwork the
 * members its status calls unreachable (or every member when none is known), for a
 * CrossClusterService every cluster in its status. */
static void left_behind(const cJSON *obj, struct strbuf *out)
{
    const cJSON *c;
    int mesh = strcmp(jstr(obj, "kind"), "MeshNetwork") == 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"), "clusters"))
    {
        if (mesh && cJSON_IsTrue(cJSON_GetObjectItem(c, "reachable")))
            continue;
        strbuf_addf(out, "%s%s", out->len ? ", " : "", jstr(c, "name"));
    }
    if (!out->len)
        strbuf_adds(out, "any member cluster it was written to");
}

static void warn(const cJSON *obj, const char *label_selector)
{
    struct strbuf where = STRBUF_INIT;
    left_behind(obj, &where);
    fprintf(stderr,
            "WARNING: removing finalizer %s from %s %s lets it be deleted without the operator\n"
            "cleaning up. What it wrote may be left in: %s.\n"
            "Those objects keep their labels; once a cluster is back, delete them there with:\n"
            "  kubectl delete deployment,service,serviceaccount,role,rolebinding,gateways."
            "networking.istio.io,serviceentries.networking.istio.io,"
            "destinationrules.networking.istio.io -A -l %s\n",
            MESH_FINALIZER, jstr(obj, "kind"), jstr(cJSON_GetObjectItem(obj, "metadata"), "name"),
            where.buf, label_selector);
    strbuf_release(&where);
}

static int remove_at(struct kube_client *home, const struct kube_resource *res, const char *ns,
                     const char *name, int index)
{
    struct strbuf patch = STRBUF_INIT;
    struct kube_error err = KUBE_ERROR_INIT;
    strbuf_addf(&patch,
                "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/%d\",\"value\":\"%s\"},"
                "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%d\"}]",
                index, MESH_FINALIZER, index);
    struct kube_patch_options po = {.type = KUBE_PATCH_JSON, .field_manager = PLUGIN_FIELD_MANAGER};
    int rc = 0;
    if (kube_patch(home, res, ns, name, patch.buf, patch.len, &po, NULL, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: removing the finalizer: %s\n", err.message);
        rc = 1;
    } else
        printf("finalizer %s removed from %s%s%s\n", MESH_FINALIZER, ns ? ns : "", ns ? "/" : "",
               name);
    kube_error_clear(&err);
    strbuf_release(&patch);
    return rc;
}

static int check_and_remove(struct kube_client *home, const struct plugin_opts *o,
                            const struct kube_resource *res, const char *ns, cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const char *name = jstr(md, "name");
    int index = finalizer_index(md);
    if (index < 0) {
        printf("%s has no finalizer %s: nothing to do\n", name, MESH_FINALIZER);
        return 0;
    }
    if (!*jstr(md, "deletionTimestamp")) {
        fprintf(stderr,
                "kubectl-eastwest: %s is not being deleted; delete it first (the operator "
                "cleans up and removes the finalizer itself when every member is reachable)\n",
                name);
        return 1;
    }
    struct strbuf sel = STRBUF_INIT;
    if (ns)
        strbuf_addf(&sel, "%s=%s.%s", MESH_LABEL_SERVICE, ns, name);
    else
        strbuf_addf(&sel, "%s=%s", MESH_LABEL_MESH, name);
    warn(obj, sel.buf);
    strbuf_release(&sel);
    if (!o->force) {
        fprintf(stderr, "kubectl-eastwest: nothing changed; run again with --force to remove "
                        "the finalizer\n");
        return 1;
    }
    return remove_at(home, res, ns, name, index);
}

int plugin_remove_finalizer(const struct plugin_opts *o)
{
    int namespaced = 0;
    const struct kube_resource *res = o->nargs == 2 ? resource_of(o->args[0], &namespaced) : NULL;
    if (!res) {
        fprintf(stderr, "kubectl-eastwest: usage: remove-finalizer meshnetwork NAME | "
                        "crossclusterservice NAME -n NAMESPACE [--force]\n");
        return 2;
    }
    if (namespaced && !o->namespace_set) {
        fprintf(stderr, "kubectl-eastwest: remove-finalizer %s: -n NAMESPACE is required\n",
                o->args[0]);
        return 2;
    }
    const char *ns = namespaced ? o->namespace_ : NULL;
    struct plugin_conn home;
    if (plugin_connect_home(o, &home))
        return 1;
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *obj = NULL;
    int rc;
    if (kube_get(home.client, res, ns, o->args[1], &obj, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: reading %s %s: %s\n", o->args[0], o->args[1],
                err.message);
        rc = 1;
    } else
        rc = check_and_remove(home.client, o, res, ns, obj);
    cJSON_Delete(obj);
    kube_error_clear(&err);
    plugin_disconnect(&home);
    return rc;
}
