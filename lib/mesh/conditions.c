/*
 * conditions: condition lists (see conditions.h).
 */
#include "conditions.h"
#include "json_path.h"

#include "base/strbuf.h"
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

size_t mesh_condition_fit(const char *message, size_t max)
{
    size_t len = strlen(message);
    if (len <= max)
        return len;
    size_t keep =
        max > sizeof(MESH_COND_TRUNCATED) - 1 ? max - (sizeof(MESH_COND_TRUNCATED) - 1) : 0;
    /* back off to the start of a UTF-8 sequence: never a split character */
    while (keep > 0 && ((unsigned char)message[keep] & 0xC0) == 0x80)
        keep--;
    return keep;
}

/* The CRDs cap a condition's message at MESH_COND_MESSAGE_MAX characters, and the API
 * server refuses the whole status for one longer message: every later status write
 * would fail. Bytes are counted (never fewer than characters), so the cut is safe for
 * any UTF-8. */
static void add_message(cJSON *c, const char *message)
{
    size_t keep = mesh_condition_fit(message, MESH_COND_MESSAGE_MAX);
    if (message[keep] == '\0') {
        cJSON_AddStringToObject(c, "message", message);
        return;
    }
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b, "%.*s%s", (int)keep, message, MESH_COND_TRUNCATED);
    cJSON_AddStringToObject(c, "message", b.buf);
    strbuf_release(&b);
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
    add_message(c, message ? message : "");
    cJSON_AddItemToArray(arr, c);
}
