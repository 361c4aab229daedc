/*
 * json_path.c: reading one or two keys deep into a cJSON object
 * (see json_path.h).
 */
#include "json_path.h"

#include <string.h>

const cJSON *mesh_json_get(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

const char *mesh_json_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = mesh_json_get(o, a, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *mesh_json_find(const cJSON *arr, const char *key, const char *value)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return c;
    }
    return NULL;
}
