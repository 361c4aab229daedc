/*
 * conditions: condition lists and status writes (see conditions.h).
 */
#include "conditions.h"

#include "base/timeutil.h"

#include <string.h>
#include <time.h>

static const char *status_name(enum mesh_cond_status s)
{
    return s == MESH_COND_TRUE ? "True" : s == MESH_COND_FALSE ? "False" : "Unknown";
}

static const cJSON *find(const cJSON *arr, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

const char *mesh_condition_status(const cJSON *arr, const char *type)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(find(arr, type), "status");
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

void mesh_condition_add(cJSON *arr, const cJSON *old, const char *type,
                        enum mesh_cond_status status, const char *reason, const char *message,
                        int64_t generation)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", status_name(status));
    if (generation >= 0)
        cJSON_AddNumberToObject(c, "observedGeneration", (double)generation);
    const cJSON *prev = find(old, type);
    const char *ps = mesh_condition_status(old, type);
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(prev, "lastTransitionTime");
    char now[32];
    if (ps && strcmp(ps, status_name(status)) == 0 && cJSON_IsString(pt)) {
        cJSON_AddStringToObject(c, "lastTransitionTime", pt->valuestring);
    } else {
        ew_time_format_rfc3339(time(NULL), now, sizeof(now));
        cJSON_AddStringToObject(c, "lastTransitionTime", now);
    }
    cJSON_AddStringToObject(c, "reason", reason);
    /* The CRD caps messages at 32768 characters; a long list of members fits well below. */
    cJSON_AddStringToObject(c, "message", message ? message : "");
    cJSON_AddItemToArray(arr, c);
}

kube_code mesh_status_write(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                            cJSON *status, int *written, struct kube_error *err)
{
    *written = 0;
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (old && cJSON_Compare(old, status, 1)) {
        cJSON_Delete(status);
        return KUBE_OK;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
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
    struct kube_patch_options po = {KUBE_PATCH_MERGE, NULL, 0, 0, "status"};
    kube_code rc = kube_patch(c, r, cJSON_IsString(ns) ? ns->valuestring : NULL,
                              cJSON_IsString(name) ? name->valuestring : "", text, strlen(text),
                              &po, NULL, err);
    cJSON_free(text);
    if (rc == KUBE_OK)
        *written = 1;
    return rc;
}
