/*
 * status_write.c: compare, then one merge patch of the status subresource
 * (see status_write.h).
 */
#include "status_write.h"
#include "store.h"

#include <string.h>

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
    cJSON *st = cJSON_AddObjectToObject(patch, "status");
    const cJSON *f;
    cJSON_ArrayForEach(f, old)
    {
        if (!cJSON_GetObjectItemCaseSensitive(status, f->string))
            cJSON_AddNullToObject(st, f->string);
    }
    while (status->child) {
        cJSON *item = cJSON_DetachItemViaPointer(status, status->child);
        cJSON_AddItemToObject(st, item->string, item);
    }
    cJSON_Delete(status);
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
