/*
 * finalizer.c: the finalizer read and merge patch (see finalizer.h).
 */
#include "finalizer.h"

#include <string.h>

static const cJSON *metadata_field(const cJSON *obj, const char *field)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                            field);
}

static const char *metadata_str(const cJSON *obj, const char *field)
{
    const cJSON *v = metadata_field(obj, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int rt_finalizer_present(const cJSON *obj, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, metadata_field(obj, "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

kube_code rt_finalizer_set(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                           const char *name, int present, struct kube_error *err)
{
    cJSON *patch = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(patch, "metadata");
    cJSON *list = cJSON_AddArrayToObject(md, "finalizers");
    const cJSON *f;
    cJSON_ArrayForEach(f, metadata_field(obj, "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) != 0)
            cJSON_AddItemToArray(list, cJSON_CreateString(f->valuestring));
    }
    if (present)
        cJSON_AddItemToArray(list, cJSON_CreateString(name));
    const char *rv = metadata_str(obj, "resourceVersion");
    if (rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    char *text = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    if (!text)
        ew_oom(0);
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE};
    const char *obj_name = metadata_str(obj, "name");
    kube_code rc = kube_patch(c, r, metadata_str(obj, "namespace"), obj_name ? obj_name : "", text,
                              strlen(text), &po, NULL, err);
    cJSON_free(text);
    return rc;
}
