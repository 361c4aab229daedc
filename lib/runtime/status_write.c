/*
 * status_write.c: compare, then one merge patch of the status subresource
 * (see status_write.h).
 */
#include "status_write.h"
#include "store.h"

#include <string.h>

/* Into patch (a copy of the new object): null for each field of old that the new one
 * lacks, at every depth of objects (a merge patch merges nested objects, so a field
 * dropped from status.rootCA would stay otherwise). Arrays are replaced whole. */
static void add_removals(cJSON *patch, const cJSON *old)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, old)
    {
        cJSON *now = cJSON_GetObjectItemCaseSensitive(patch, f->string);
        if (!now)
            cJSON_AddNullToObject(patch, f->string);
        else if (cJSON_IsObject(now) && cJSON_IsObject(f))
            add_removals(now, f);
    }
}

kube_code rt_status_write(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                          cJSON *status, cJSON **written, struct kube_error *err)
{
    if (written)
        *written = NULL;
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (old && cJSON_Compare(old, status, 1)) {
        cJSON_Delete(status);
        return KUBE_OK;
    }
    const char *name = rt_object_meta_str(obj, "name");
    /* A merge patch of the whole status: fields of the old status that the new one
     * lacks are set to null so they go. */
    cJSON *patch = cJSON_CreateObject();
    add_removals(status, old);
    cJSON_AddItemToObject(patch, "status", status);
    char *text = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    if (!text)
        ew_oom(0);
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE, .subresource = "status"};
    kube_code rc = kube_patch(c, r, rt_object_meta_str(obj, "namespace"), name ? name : "", text,
                              strlen(text), &po, written, err);
    cJSON_free(text);
    return rc;
}
