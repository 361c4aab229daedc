/*
 * store.c: keyed object cache with label indexes (see store.h).
 *
 * Layout: objects: key -> struct entry {object, its index values};
 * for each index i, index[i]: value -> struct strmap (set of keys). An index is
 * by a label's value (index_fns[i] both NULL) or by values computed from the object:
 * one (rt_index_fn) or several (rt_index_values_fn). An entry keeps its values of
 * each index packed, each NUL-terminated and an empty one last ("a\0b\0\0"), so that
 * removing it from the index needs no recomputation. One rwlock guards all of it.
 */
#include "store.h"
#include "../base/strbuf.h"
#include "../base/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    cJSON *obj;
    size_t heap;         /* estimated heap of obj (tree_heap) */
    char **label_values; /* one packed list per index; NULL when it has no value for it */
};

struct rt_store {
    pthread_rwlock_t lock;
    struct strmap objects;
    char **index_labels;        /* the index's name: a label key, or a computed index's name */
    struct index_fn *index_fns; /* both NULL for a label index */
    size_t nindex;
    struct strmap *index; /* nindex maps: value -> struct strmap* (key set) */
    /* Deletions seen (key -> unsigned long long *, the resourceVersion at which it
     * went), so that a write's answer that comes back after the object's deletion is
     * not stored as if it still were (rt_store_upsert_if_newer). Bounded: past
     * TOMBS_MAX they are folded into tomb_floor, below which no answer is stored. */
    struct strmap tombs;
    unsigned long long tomb_floor, list_rv;
    size_t heap; /* sum of the entries' heap, with their keys */
};

#define TOMBS_MAX 4096

struct index_fn {
    rt_index_fn one;
    rt_index_values_fn many;
};

struct rt_store *rt_store_new(const char *const *index_labels, size_t nindex)
{
    struct rt_store *s = ew_calloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    s->nindex = nindex;
    s->index_labels = ew_calloc(nindex ? nindex : 1, sizeof(char *));
    s->index_fns = ew_calloc(nindex ? nindex : 1, sizeof(struct index_fn));
    s->index = ew_calloc(nindex ? nindex : 1, sizeof(struct strmap));
    for (size_t i = 0; i < nindex; i++)
        s->index_labels[i] = ew_strdup(index_labels[i]);
    return s;
}

static void entry_free(struct rt_store *s, struct entry *e)
{
    if (!e)
        return;
    cJSON_Delete(e->obj);
    for (size_t i = 0; i < s->nindex; i++)
        free(e->label_values[i]);
    free(e->label_values);
    free(e);
}

void rt_store_free(struct rt_store *s)
{
    if (!s)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, &v);)
        entry_free(s, v);
    strmap_clear(&s->objects);
    for (size_t j = 0; j < s->nindex; j++) {
        for (size_t i = 0; strmap_next(&s->index[j], &i, &k, &v);) {
            strmap_clear(v);
            free(v);
        }
        strmap_clear(&s->index[j]);
        free(s->index_labels[j]);
    }
    free(s->index);
    free(s->index_labels);
    free(s->index_fns);
    for (size_t i = 0; strmap_next(&s->tombs, &i, &k, &v);)
        free(v);
    strmap_clear(&s->tombs);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

const cJSON *rt_object_meta(const cJSON *obj, const char *field)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                            field);
}

const char *rt_object_meta_str(const cJSON *obj, const char *field)
{
    const cJSON *v = rt_object_meta(obj, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *rt_object_key(const cJSON *obj)
{
    const char *name = rt_object_meta_str(obj, "name");
    const char *ns = rt_object_meta_str(obj, "namespace");
    if (!name || !*name)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    if (ns && *ns)
        strbuf_addf(&sb, "%s/%s", ns, name);
    else
        strbuf_adds(&sb, name);
    return strbuf_detach(&sb, NULL);
}

void rt_object_trim(cJSON *obj)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(meta))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (cJSON_IsObject(ann)) {
        cJSON_DeleteItemFromObjectCaseSensitive(ann,
                                                "kubectl.kubernetes.io/last-applied-configuration");
        if (!ann->child)
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
    }
}

/* Each value of a packed list. */
#define FOR_EACH_PACKED(v, list) for (const char *v = (list); v && *v; v += strlen(v) + 1)

void rt_index_value_add(struct strbuf *values, const char *value)
{
    if (value && *value)
        strbuf_add(values, value, strlen(value) + 1);
}

/* The packed list in values (NULL when empty); values is released. */
static char *packed(struct strbuf *values)
{
    if (!values->len) {
        strbuf_release(values);
        return NULL;
    }
    return strbuf_detach(values, NULL); /* its terminating NUL ends the list */
}

static char *pack_one(char *value)
{
    struct strbuf sb = STRBUF_INIT;
    rt_index_value_add(&sb, value);
    free(value);
    return packed(&sb);
}

static void index_add_one(struct rt_store *s, size_t i, const char *value, const char *key)
{
    struct strmap *set = strmap_get(&s->index[i], value);
    if (!set) {
        set = ew_calloc(1, sizeof(*set));
        strmap_put(&s->index[i], value, set);
    }
    strmap_put(set, key, NULL);
}

static void index_add(struct rt_store *s, size_t i, const char *values, const char *key)
{
    FOR_EACH_PACKED(v, values)
    index_add_one(s, i, v, key);
}

static void index_remove_one(struct rt_store *s, size_t i, const char *value, const char *key)
{
    struct strmap *set = strmap_get(&s->index[i], value);
    if (!set)
        return;
    strmap_remove(set, key);
    if (strmap_size(set) == 0) {
        strmap_remove(&s->index[i], value);
        strmap_clear(set);
        free(set);
    }
}

static void index_remove(struct rt_store *s, size_t i, const char *values, const char *key)
{
    FOR_EACH_PACKED(v, values)
    index_remove_one(s, i, v, key);
}

/* Index i's values of obj, packed (NULL: none). */
static char *index_values(const struct rt_store *s, size_t i, const cJSON *obj)
{
    const struct index_fn *f = &s->index_fns[i];
    if (f->one)
        return pack_one(f->one(obj));
    if (f->many) {
        struct strbuf sb = STRBUF_INIT;
        f->many(obj, &sb);
        return packed(&sb);
    }
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(rt_object_meta(obj, "labels"), s->index_labels[i]);
    return cJSON_IsString(v) ? pack_one(ew_strdup(v->valuestring)) : NULL;
}

static void add_index(struct rt_store *s, const char *name, struct index_fn fn)
{
    pthread_rwlock_wrlock(&s->lock);
    size_t n = s->nindex + 1;
    s->index_labels = ew_realloc(s->index_labels, n * sizeof(char *));
    s->index_fns = ew_realloc(s->index_fns, n * sizeof(struct index_fn));
    s->index = ew_realloc(s->index, n * sizeof(struct strmap));
    s->index_labels[s->nindex] = ew_strdup(name);
    s->index_fns[s->nindex] = fn;
    memset(&s->index[s->nindex], 0, sizeof(struct strmap));
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, &v);) {
        struct entry *e = v;
        e->label_values = ew_realloc(e->label_values, n * sizeof(char *));
        e->label_values[s->nindex] = NULL;
    }
    s->nindex = n;
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, &v);) {
        struct entry *e = v;
        e->label_values[n - 1] = index_values(s, n - 1, e->obj);
        index_add(s, n - 1, e->label_values[n - 1], k);
    }
    pthread_rwlock_unlock(&s->lock);
}

void rt_store_add_index(struct rt_store *s, const char *name, rt_index_fn value)
{
    add_index(s, name, (struct index_fn){.one = value});
}

void rt_store_add_index_values(struct rt_store *s, const char *name, rt_index_values_fn values)
{
    add_index(s, name, (struct index_fn){.many = values});
}

/* etcd's revisions, which kube-apiserver hands out as resourceVersions: decimal.
 * 0 when rv is not one (then nothing is taken as newer). */
static unsigned long long rv_number(const cJSON *obj)
{
    const char *rv = rt_object_meta_str(obj, "resourceVersion");
    if (!rv || !*rv)
        return 0;
    char *end = NULL;
    unsigned long long n = strtoull(rv, &end, 10);
    return end && *end == '\0' ? n : 0;
}

/* Must hold the write lock. */
static void tomb_locked(struct rt_store *s, const char *key, unsigned long long rv)
{
    if (!rv)
        return;
    if (strmap_size(&s->tombs) >= TOMBS_MAX) {
        const char *k;
        void *v;
        for (size_t i = 0; strmap_next(&s->tombs, &i, &k, &v);) {
            if (*(unsigned long long *)v > s->tomb_floor)
                s->tomb_floor = *(unsigned long long *)v;
            free(v);
        }
        strmap_clear(&s->tombs);
    }
    unsigned long long *at = ew_malloc(sizeof(*at));
    *at = rv;
    free(strmap_put(&s->tombs, key, at));
}

static void untomb_locked(struct rt_store *s, const char *key)
{
    free(strmap_remove(&s->tombs, key));
}

/* One malloc'd block: its size and the allocator's header, rounded as glibc does. */
static size_t block(size_t n)
{
    return (n + 8 + 15) / 16 * 16;
}

static size_t tree_heap(const cJSON *o)
{
    size_t total = 0;
    for (; o; o = o->next) {
        total += block(sizeof(cJSON));
        if (o->string)
            total += block(strlen(o->string) + 1);
        if (o->valuestring)
            total += block(strlen(o->valuestring) + 1);
        total += tree_heap(o->child);
    }
    return total;
}

static struct entry *entry_new(struct rt_store *s, cJSON *obj)
{
    struct entry *e = ew_calloc(1, sizeof(*e));
    e->obj = obj;
    e->label_values = ew_calloc(s->nindex ? s->nindex : 1, sizeof(char *));
    for (size_t i = 0; i < s->nindex; i++)
        e->label_values[i] = index_values(s, i, obj);
    return e;
}

/* Must hold the write lock. Takes obj. */
static int upsert_locked(struct rt_store *s, const char *key, cJSON *obj)
{
    struct entry *e = entry_new(s, obj);
    e->heap = block(sizeof(*e)) + block(strlen(key) + 1) + tree_heap(obj);
    s->heap += e->heap;
    struct entry *old = strmap_put(&s->objects, key, e);
    untomb_locked(s, key);
    if (old)
        s->heap -= old->heap;
    int changed = 1;
    if (old) {
        const char *a = rt_object_meta_str(old->obj, "resourceVersion");
        const char *b = rt_object_meta_str(obj, "resourceVersion");
        changed = !a || !b || strcmp(a, b) != 0;
        for (size_t i = 0; i < s->nindex; i++)
            index_remove(s, i, old->label_values[i], key);
        entry_free(s, old);
    }
    for (size_t i = 0; i < s->nindex; i++)
        index_add(s, i, e->label_values[i], key);
    return changed;
}

int rt_store_upsert(struct rt_store *s, cJSON *obj)
{
    char *key = rt_object_key(obj);
    if (!key) {
        cJSON_Delete(obj);
        return 0;
    }
    rt_object_trim(obj);
    pthread_rwlock_wrlock(&s->lock);
    int changed = upsert_locked(s, key, obj);
    pthread_rwlock_unlock(&s->lock);
    free(key);
    return changed;
}

int rt_store_upsert_if_newer(struct rt_store *s, cJSON *obj)
{
    char *key = rt_object_key(obj);
    unsigned long long rv = rv_number(obj);
    if (!key || !rv) {
        cJSON_Delete(obj);
        free(key);
        return 0;
    }
    rt_object_trim(obj);
    pthread_rwlock_wrlock(&s->lock);
    const struct entry *have = strmap_get(&s->objects, key);
    const unsigned long long *gone = strmap_get(&s->tombs, key);
    int newer = rv > s->tomb_floor && (!gone || rv > *gone) && (!have || rv > rv_number(have->obj));
    if (newer)
        upsert_locked(s, key, obj);
    else
        cJSON_Delete(obj);
    pthread_rwlock_unlock(&s->lock);
    free(key);
    return newer;
}

/* Must hold the write lock; returns the entry removed (caller frees) or NULL. */
static struct entry *delete_locked(struct rt_store *s, const char *key)
{
    struct entry *e = strmap_remove(&s->objects, key);
    if (!e)
        return NULL;
    s->heap -= e->heap;
    for (size_t i = 0; i < s->nindex; i++)
        index_remove(s, i, e->label_values[i], key);
    return e;
}

int rt_store_delete(struct rt_store *s, const char *key)
{
    return rt_store_delete_at(s, key, NULL);
}

int rt_store_delete_at(struct rt_store *s, const char *key, const cJSON *last)
{
    pthread_rwlock_wrlock(&s->lock);
    struct entry *e = delete_locked(s, key);
    tomb_locked(s, key, last ? rv_number(last) : 0);
    pthread_rwlock_unlock(&s->lock);
    entry_free(s, e);
    return e != NULL;
}

void rt_store_set_list_version(struct rt_store *s, const char *rv)
{
    char *end = NULL;
    unsigned long long n = rv ? strtoull(rv, &end, 10) : 0;
    pthread_rwlock_wrlock(&s->lock);
    s->list_rv = end && *end == '\0' ? n : 0;
    pthread_rwlock_unlock(&s->lock);
}

void rt_store_replace(struct rt_store *s, cJSON *items,
                      void (*on_deleted)(void *ud, const char *key, const cJSON *old),
                      void (*on_upserted)(void *ud, const char *key), void *ud)
{
    struct strmap fresh = STRMAP_INIT;
    size_t nitems = (size_t)cJSON_GetArraySize(items), nup = 0, ngone = 0;
    char **upserted = ew_calloc(nitems + 1, sizeof(char *));
    cJSON *it = items ? items->child : NULL;
    pthread_rwlock_wrlock(&s->lock);
    while (it) {
        cJSON *next = it->next;
        cJSON *obj = cJSON_DetachItemViaPointer(items, it);
        char *key = rt_object_key(obj);
        if (key) {
            rt_object_trim(obj);
            strmap_put(&fresh, key, NULL);
            if (upsert_locked(s, key, obj) && nup < nitems)
                upserted[nup++] = ew_strdup(key);
        } else {
            cJSON_Delete(obj);
        }
        free(key);
        it = next;
    }
    /* whatever was cached and is not in the list was deleted while we were away */
    char **gone_keys = ew_calloc(strmap_size(&s->objects) + 1, sizeof(char *));
    const char *k;
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, NULL);)
        if (!strmap_contains(&fresh, k))
            gone_keys[ngone++] = ew_strdup(k);
    struct entry **gone = ew_calloc(ngone + 1, sizeof(*gone));
    for (size_t i = 0; i < ngone; i++) {
        gone[i] = delete_locked(s, gone_keys[i]);
        tomb_locked(s, gone_keys[i], s->list_rv); /* gone at or before the list's version */
    }
    pthread_rwlock_unlock(&s->lock);
    /* callbacks run unlocked: they may read the store */
    for (size_t i = 0; i < ngone; i++) {
        if (on_deleted)
            on_deleted(ud, gone_keys[i], gone[i]->obj);
        entry_free(s, gone[i]);
        free(gone_keys[i]);
    }
    for (size_t i = 0; i < nup; i++) {
        if (on_upserted)
            on_upserted(ud, upserted[i]);
        free(upserted[i]);
    }
    free(gone);
    free(gone_keys);
    free(upserted);
    strmap_clear(&fresh);
    cJSON_Delete(items);
}

cJSON *rt_store_get_copy(struct rt_store *s, const char *key)
{
    pthread_rwlock_rdlock(&s->lock);
    struct entry *e = strmap_get(&s->objects, key);
    cJSON *copy = e ? cJSON_Duplicate(e->obj, 1) : NULL;
    pthread_rwlock_unlock(&s->lock);
    return copy;
}

size_t rt_store_size(struct rt_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = strmap_size(&s->objects);
    pthread_rwlock_unlock(&s->lock);
    return n;
}

static size_t index_of(const struct rt_store *s, const char *label)
{
    for (size_t i = 0; i < s->nindex; i++)
        if (strcmp(s->index_labels[i], label) == 0)
            return i;
    return (size_t)-1;
}

char **rt_store_keys(struct rt_store *s, const char *index_label, const char *value, size_t *n)
{
    pthread_rwlock_rdlock(&s->lock);
    const struct strmap *set = &s->objects;
    if (index_label) {
        size_t i = index_of(s, index_label);
        set = i == (size_t)-1 ? NULL : strmap_get(&s->index[i], value);
    }
    size_t cap = set ? strmap_size(set) : 0, count = 0;
    char **keys = ew_calloc(cap + 1, sizeof(char *));
    const char *k;
    for (size_t it = 0; set && strmap_next(set, &it, &k, NULL);)
        keys[count++] = ew_strdup(k);
    pthread_rwlock_unlock(&s->lock);
    *n = count;
    return keys;
}

void rt_store_foreach_indexed(struct rt_store *s, const char *index, const char *value,
                              void (*fn)(void *ud, const char *key, const cJSON *obj), void *ud)
{
    const char *k;
    pthread_rwlock_rdlock(&s->lock);
    size_t i = index_of(s, index);
    const struct strmap *set = i == (size_t)-1 ? NULL : strmap_get(&s->index[i], value);
    for (size_t it = 0; set && strmap_next(set, &it, &k, NULL);) {
        const struct entry *e = strmap_get(&s->objects, k);
        if (e)
            fn(ud, k, e->obj);
    }
    pthread_rwlock_unlock(&s->lock);
}

void rt_store_foreach(struct rt_store *s, void (*fn)(void *ud, const char *key, const cJSON *obj),
                      void *ud)
{
    const char *k;
    void *v;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, &v);)
        fn(ud, k, ((struct entry *)v)->obj);
    pthread_rwlock_unlock(&s->lock);
}

size_t rt_store_bytes_estimate(struct rt_store *s)
{
    size_t total = 0;
    const char *k;
    void *v;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; strmap_next(&s->objects, &i, &k, &v);) {
        char *json = cJSON_PrintUnformatted(((struct entry *)v)->obj);
        total += json ? strlen(json) : 0;
        free(json);
    }
    pthread_rwlock_unlock(&s->lock);
    return total;
}

size_t rt_store_heap_estimate(struct rt_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t total = s->heap;
    pthread_rwlock_unlock(&s->lock);
    return total;
}
