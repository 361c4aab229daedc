/*
 * strmap: a hash map from NUL-terminated string keys to pointers.
 *
 * Open addressing with linear probing and tombstones; the table doubles at 70%
 * load. The map owns a copy of each key; it does not own the values (the
 * caller frees them, e.g. in a strmap_foreach before strmap_clear). Not
 * thread-safe: the owner locks around it.
 */
#ifndef EW_STRMAP_H
#define EW_STRMAP_H

#include <stddef.h>

struct strmap_entry {
    char *key; /* NULL = empty; STRMAP_TOMBSTONE = deleted */
    void *value;
    size_t hash;
};

struct strmap {
    struct strmap_entry *slots;
    size_t cap;  /* power of two, or 0 */
    size_t size; /* live entries */
    size_t used; /* live + tombstones */
};

#define STRMAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void strmap_init(struct strmap *m);
/* Frees the keys and the table (not the values). */
void strmap_clear(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
int strmap_contains(const struct strmap *m, const char *key);
/* Insert or replace; returns the previous value (or NULL). */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Remove; returns the value that was there (or NULL). */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);

/* Iterate: for (size_t i = 0; strmap_next(m, &i, &k, &v);) ... Do not modify the map
 * while iterating, except strmap_remove of the current key. */
int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value);

#endif
