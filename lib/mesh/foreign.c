/*
 * foreign: is an object in a member eastwest's (see foreign.h).
 */
#include "foreign.h"

#include "json_path.h"
#include "object_meta.h"

#include <string.h>

static int label_is(const cJSON *labels, const char *key, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

int mesh_object_is_ours(const cJSON *obj, const char *mesh, const char *service)
{
    const cJSON *labels = mesh_json_get(obj, "metadata", "labels");
    return label_is(labels, MESH_LABEL_MANAGED_BY, MESH_FIELD_MANAGER) &&
           (!mesh || label_is(labels, MESH_LABEL_MESH, mesh)) &&
           (!service || label_is(labels, MESH_LABEL_SERVICE, service));
}

enum mesh_found mesh_object_lookup(struct kube_client *c, const struct kube_resource *r,
                                   const char *ns, const char *name, const char *mesh,
                                   const char *service, cJSON **live, struct kube_error *err)
{
    *live = NULL;
    cJSON *got = NULL;
    kube_code rc = kube_get(c, r, ns, name, &got, err);
    if (rc == KUBE_E_NOT_FOUND) {
        kube_error_clear(err);
        cJSON_Delete(got);
        return MESH_FOUND_ABSENT;
    }
    if (rc != KUBE_OK) {
        cJSON_Delete(got);
        return MESH_FOUND_ERROR;
    }
    *live = got;
    return mesh_object_is_ours(got, mesh, service) ? MESH_FOUND_OURS : MESH_FOUND_FOREIGN;
}

void mesh_foreign_add(struct strbuf *list, const char *kind, const char *ns, const char *name)
{
    strbuf_addf(list, "%s%s %s%s%s", list->len ? ", " : "", kind, ns ? ns : "", ns ? "/" : "",
                name);
}

void mesh_foreign_message(struct strbuf *out, const char *cluster, const char *list)
{
    strbuf_addf(out,
                "cluster %s: %s already exist and were not written by eastwest: left as they are "
                "(the MeshNetwork's spec.adoptExistingObjects: true takes them over)",
                cluster, list);
}
