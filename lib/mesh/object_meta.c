/*
 * object_meta.c: the metadata every written object carries, and the
 * "does it need an apply" test (see object_meta.h).
 *
 * Labels and annotations are set through one path (metadata.<map>.<key>,
 * creating the maps when needed). The hash is FNV-1a over the object's
 * unformatted JSON without its own hash annotation; cJSON prints members in
 * insertion order, so a builder that adds fields in a fixed order gets a
 * stable hash. The comparison walks only what desired sets.
 */
#include "object_meta.h"
#include "base/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mesh_selector_for_mesh(const char *mesh)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s=%s,%s=%s", MESH_LABEL_MANAGED_BY, MESH_FIELD_MANAGER, MESH_LABEL_MESH,
                mesh);
    return strbuf_detach(&sb, NULL);
}

static cJSON *child_object(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (cJSON_IsObject(o))
        return o;
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    return cJSON_AddObjectToObject(parent, key);
}

static void set_string(cJSON *map, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(map, key);
    cJSON_AddStringToObject(map, key, value);
}

void mesh_object_set_label(cJSON *obj, const char *key, const char *value)
{
    set_string(child_object(child_object(obj, "metadata"), "labels"), key, value);
}

void mesh_object_set_annotation(cJSON *obj, const char *key, const char *value)
{
    set_string(child_object(child_object(obj, "metadata"), "annotations"), key, value);
}

cJSON *mesh_object_new(const char *api_version, const char *kind, const char *ns, const char *name,
                       const struct mesh_owner *owner)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", api_version);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (ns)
        cJSON_AddStringToObject(md, "namespace", ns);
    if (owner) {
        mesh_object_set_label(o, MESH_LABEL_MANAGED_BY, MESH_FIELD_MANAGER);
        mesh_object_set_label(o, MESH_LABEL_MESH, owner->mesh);
        if (owner->service)
            mesh_object_set_label(o, MESH_LABEL_SERVICE, owner->service);
        if (owner->uid)
            mesh_object_set_annotation(o, MESH_ANNOTATION_OWNER, owner->uid);
    }
    return o;
}

/* FNV-1a, 64 bits: a change detector, not a security measure. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void object_hash(const cJSON *obj, char out[17])
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(copy, "metadata"), "annotations");
    cJSON_DeleteItemFromObjectCaseSensitive(ann, MESH_ANNOTATION_HASH);
    char *text = cJSON_PrintUnformatted(copy);
    if (!text)
        ew_oom(0);
    snprintf(out, 17, "%016llx", (unsigned long long)fnv1a(text));
    cJSON_free(text);
    cJSON_Delete(copy);
}

void mesh_object_stamp(cJSON *obj)
{
    char h[17];
    object_hash(obj, h);
    mesh_object_set_annotation(obj, MESH_ANNOTATION_HASH, h);
}

static int is_empty_container(const cJSON *v)
{
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child;
}

int mesh_json_subset(const cJSON *want, const cJSON *have)
{
    /* an empty list or map is stored as nothing: the API server may return null */
    if ((!have || cJSON_IsNull(have)) && is_empty_container(want))
        return 1;
    if (cJSON_IsObject(want)) {
        if (!have)
            return 0;
        if (!cJSON_IsObject(have))
            return 0;
        for (const cJSON *w = want->child; w; w = w->next) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, w->string);
            if (!h && (is_empty_container(w) || cJSON_IsNull(w)))
                continue;
            if (!mesh_json_subset(w, h))
                return 0;
        }
        return 1;
    }
    if (cJSON_IsArray(want)) {
        if (!have)
            return 0;
        if (!cJSON_IsArray(have) || cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
            return 0;
        const cJSON *h = have->child;
        for (const cJSON *w = want->child; w; w = w->next, h = h->next)
            if (!mesh_json_subset(w, h))
                return 0;
        return 1;
    }
    if (!have)
        return 0;
    if (cJSON_IsString(want) && cJSON_IsString(have))
        return strcmp(want->valuestring, have->valuestring) == 0;
    return cJSON_Compare(want, have, 1);
}

int mesh_object_needs_apply(const cJSON *desired, const cJSON *live)
{
    if (!live)
        return 1;
    const cJSON *dann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(desired, "metadata"), "annotations");
    const cJSON *lann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(live, "metadata"), "annotations");
    const cJSON *dh = cJSON_GetObjectItemCaseSensitive(dann, MESH_ANNOTATION_HASH);
    const cJSON *lh = cJSON_GetObjectItemCaseSensitive(lann, MESH_ANNOTATION_HASH);
    if (cJSON_IsString(dh) && (!cJSON_IsString(lh) || strcmp(dh->valuestring, lh->valuestring)))
        return 1;
    /* Objects from a list carry no apiVersion and kind: compare the rest. */
    for (const cJSON *f = desired->child; f; f = f->next) {
        if (strcmp(f->string, "apiVersion") == 0 || strcmp(f->string, "kind") == 0)
            continue;
        if (!mesh_json_subset(f, cJSON_GetObjectItemCaseSensitive(live, f->string)) &&
            !(is_empty_container(f) && !cJSON_GetObjectItemCaseSensitive(live, f->string)))
            return 1;
    }
    return 0;
}
