/*
 * desired_set.c: the list of objects one reconcile means to write
 * (see desired_set.h).
 *
 * A growable array, doubled when full; a lookup is a linear scan, since a
 * set holds one member's objects (tens, not thousands).
 */
#include "desired_set.h"

#include <stdlib.h>
#include <string.h>

void mesh_desired_add(struct mesh_desired_set *s, const struct kube_resource *r, cJSON *obj)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->items = ew_realloc(s->items, s->cap * sizeof(*s->items));
    }
    s->items[s->n].resource = r;
    s->items[s->n].obj = obj;
    s->n++;
}

void mesh_desired_release(struct mesh_desired_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->items[i].obj);
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

static const char *meta_string(const cJSON *obj, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct mesh_desired *mesh_desired_find(const struct mesh_desired_set *s,
                                             const struct kube_resource *r, const char *ns,
                                             const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct mesh_desired *d = &s->items[i];
        if (d->resource == r && same_string(meta_string(d->obj, "namespace"), ns) &&
            same_string(meta_string(d->obj, "name"), name))
            return d;
    }
    return NULL;
}
