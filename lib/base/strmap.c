/*
 * strmap.c: open-addressing string hash map (see strmap.h).
 */
#include "strmap.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tombstone_key[1];
#define TOMBSTONE tombstone_key

/* FNV-1a, 64-bit. */
static size_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

void strmap_init(struct strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void strmap_clear(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    strmap_init(m);
}

static struct strmap_entry *find(const struct strmap *m, const char *key, size_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_entry *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMBSTONE && e->hash == h && strcmp(e->key, key) == 0)
            return e;
    }
}

static void insert_fresh(struct strmap *m, char *key, void *value, size_t h)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->size++;
}

static void grow(struct strmap *m)
{
    struct strmap old = *m;
    /* size for the live entries only, so a table full of tombstones is rebuilt in place */
    size_t cap = 16;
    while ((old.size + 1) * 2 >= cap)
        cap *= 2;
    m->slots = ew_calloc(cap, sizeof(*m->slots));
    m->cap = cap;
    m->size = 0;
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key && old.slots[i].key != TOMBSTONE)
            insert_fresh(m, old.slots[i].key, old.slots[i].value, old.slots[i].hash);
    free(old.slots);
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct strmap_entry *e = find(m, key, hash_key(key));
    return e ? e->value : NULL;
}

int strmap_contains(const struct strmap *m, const char *key)
{
    return find(m, key, hash_key(key)) != NULL;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
    size_t h = hash_key(key);
    struct strmap_entry *e = find(m, key, h);
    if (e) {
        void *prev = e->value;
        e->value = value;
        return prev;
    }
    if ((m->used + 1) * 10 > m->cap * 7)
        grow(m);
    insert_fresh(m, ew_strdup(key), value, h);
    return NULL;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    struct strmap_entry *e = find(m, key, hash_key(key));
    if (!e)
        return NULL;
    void *prev = e->value;
    free(e->key);
    e->key = TOMBSTONE;
    e->value = NULL;
    m->size--;
    return prev;
}

size_t strmap_size(const struct strmap *m)
{
    return m->size;
}

int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value)
{
    while (*iter < m->cap) {
        struct strmap_entry *e = &m->slots[(*iter)++];
        if (e->key && e->key != TOMBSTONE) {
            if (key)
                *key = e->key;
            if (value)
                *value = e->value;
            return 1;
        }
    }
    return 0;
}
