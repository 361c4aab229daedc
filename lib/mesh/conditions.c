/*
 * conditions: condition lists (see conditions.h).
 */
#include "conditions.h"
#include "json_path.h"

#include "base/timeutil.h"

#include <string.h>
#include <time.h>

static const char *status_name(enum mesh_cond_status s)
{
    return s == MESH_COND_TRUE ? "True" : s == MESH_COND_FALSE ? "False" : "Unknown";
}

static const cJSON *find(const cJSON *arr, const char *type)
{
    return mesh_json_find(arr, "type", type);
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
