/*
 * finalizer.c: the finalizer read and merge patch (see finalizer.h).
 */
#include "finalizer.h"
#include "store.h"

#include <string.h>

int rt_finalizer_present(const cJSON *obj, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, rt_object_meta(obj, "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

kube_code rt_finalizer_set(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                           const char *name, int present, cJSON **out, struct kube_error *err)
{
    cJSON *patch = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(patch, "metadata");
    cJSON *list = cJSON_AddArrayToObject(md, "finalizers");
    const cJSON *f;
    cJSON_ArrayForEach(f, rt_object_meta(obj, "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) != 0)
            cJSON_AddItemToArray(list, cJSON_CreateString(f->valuestring));
    }
    if (present)
        cJSON_AddItemToArray(list, cJSON_CreateString(name));
    const char *rv = rt_object_meta_str(obj, "resourceVersion");
    if (rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    char *text = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    if (!text)
        ew_oom(0);
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE};
    const char *obj_name = rt_object_meta_str(obj, "name");
    kube_code rc = kube_patch(c, r, rt_object_meta_str(obj, "namespace"), obj_name ? obj_name : "",
                              text, strlen(text), &po, out, err);
    cJSON_free(text);
    return rc;
}
