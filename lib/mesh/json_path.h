/*
 * json_path: reading a field one or two keys deep into a cJSON object, the
 * way the reconcilers read metadata, spec and status of live objects.
 *
 * Absent keys and non-objects on the way read as NULL, so a caller can chain
 * them without checking each level. Nothing is copied: results point into o.
 */
#ifndef EW_MESH_JSON_PATH_H
#define EW_MESH_JSON_PATH_H

#include <cjson/cJSON.h>

/* o[a] or o[a][b] (b NULL: one level); NULL when absent or o is not an object. */
const cJSON *mesh_json_get(const cJSON *o, const char *a, const char *b);
/* The same when it is a string, else NULL. */
const char *mesh_json_str(const cJSON *o, const char *a, const char *b);
/* The first element of the array arr whose string field key equals value (a condition
 * by type, a member's status by name), or NULL. */
const cJSON *mesh_json_find(const cJSON *arr, const char *key, const char *value);

#endif
