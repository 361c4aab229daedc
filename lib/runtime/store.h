/*
 * store: the reflector's cache of one (cluster, resource, selector).
 *
 * Objects are kept by "namespace/name" (or "name" for cluster-scoped
 * resources), trimmed of what the operator never reads (metadata.managedFields
 * and kubectl's last-applied-configuration annotation), with optional indexes
 * by label value (for example eastwest.io/service -> keys) or by a value computed
 * from the object (a CrossClusterService's claimed host), so that a lookup costs
 * the objects it finds, not a scan of the cache.
 *
 * Readers take a read lock; the reflector writes. Objects handed out by
 * rt_store_get_copy are deep copies the caller owns, so nobody holds a pointer
 * into the store after its lock is released.
 */
#ifndef EW_RT_STORE_H
#define EW_RT_STORE_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct rt_store;

/* index_labels: label keys to index (copied), may be NULL/0. */
struct rt_store *rt_store_new(const char *const *index_labels, size_t nindex);
/* A value computed from an object for an index (client-go's IndexFunc), malloc'd, or
 * NULL when the object has none. Called under the store's write lock: pure, quick. */
typedef char *(*rt_index_fn)(const cJSON *obj);
/* Index by a computed value under name (queried with rt_store_keys like a label). Best
 * added before the first object; objects already there are indexed now. */
void rt_store_add_index(struct rt_store *s, const char *name, rt_index_fn value);
/* Several values computed from an object (each added with rt_index_value_add; none is
 * fine), the object found under each: the exports of a CrossClusterService
 * ("cluster\nnamespace\nservice"), a Service's selector pairs. Same rules as
 * rt_index_fn. */
struct strbuf;
typedef void (*rt_index_values_fn)(const cJSON *obj, struct strbuf *values);
void rt_index_value_add(struct strbuf *values, const char *value);
void rt_store_add_index_values(struct rt_store *s, const char *name, rt_index_values_fn values);
void rt_store_free(struct rt_store *s);

/* metadata.<field> of obj, or NULL; the same when it is not a string, for _str. */
const cJSON *rt_object_meta(const cJSON *obj, const char *field);
const char *rt_object_meta_str(const cJSON *obj, const char *field);
/* The cache key of an object: "ns/name" or "name". Caller frees. NULL if no name. */
char *rt_object_key(const cJSON *obj);
/* Drop fields the operator never reads (in place). */
void rt_object_trim(cJSON *obj);

/* Insert or replace obj (ownership passes to the store; it is trimmed).
 * Returns 1 if the object is new or its resourceVersion changed. */
int rt_store_upsert(struct rt_store *s, cJSON *obj);
/* What a write returned (client-go's MutationCache): upsert obj only when its
 * resourceVersion is newer than the cached one's, compared as the decimal numbers
 * kube-apiserver gives (etcd revisions); else (or when either is not a number)
 * drop it. So a reconcile right after a write sees the write, and the watch event
 * that brings the same object later is no change. Takes obj; 1 when stored. */
int rt_store_upsert_if_newer(struct rt_store *s, cJSON *obj);
/* Remove by key; returns 1 if it was there. */
int rt_store_delete(struct rt_store *s, const char *key);
/* The same, for a deletion seen at last's resourceVersion (a watch's DELETED object):
 * remembered, so that an older write's answer does not bring the object back. */
int rt_store_delete_at(struct rt_store *s, const char *key, const cJSON *last);
/* The resourceVersion of the list about to be given to rt_store_replace: the keys it
 * drops went at or before it. */
void rt_store_set_list_version(struct rt_store *s, const char *rv);

/* Replace everything with the items of a fresh list (array; ownership of its
 * elements passes to the store, the array itself is freed). For each key that
 * was cached but is not in the list, on_deleted(ud, key, old_object) is called
 * (old_object is valid only during the call); for each new or changed one,
 * on_upserted(ud, key). Both may be NULL. */
void rt_store_replace(struct rt_store *s, cJSON *items,
                      void (*on_deleted)(void *ud, const char *key, const cJSON *old),
                      void (*on_upserted)(void *ud, const char *key), void *ud);

/* Deep copy of the object at key, or NULL. */
cJSON *rt_store_get_copy(struct rt_store *s, const char *key);
size_t rt_store_size(struct rt_store *s);
/* Keys (caller frees the array and each key), optionally only those whose index
 * index_label (an indexed label or a computed index's name) has value. */
char **rt_store_keys(struct rt_store *s, const char *index_label, const char *value, size_t *n);
/* Call fn for each object whose index (as rt_store_keys) has value, under the read lock
 * (fn must not call into the store); the cost is the objects found. */
void rt_store_foreach_indexed(struct rt_store *s, const char *index, const char *value,
                              void (*fn)(void *ud, const char *key, const cJSON *obj), void *ud);
/* Call fn for each object under the read lock (fn must not call into the store). */
void rt_store_foreach(struct rt_store *s, void (*fn)(void *ud, const char *key, const cJSON *obj),
                      void *ud);
/* Bytes held by cached objects (serialised size, an estimate of the heap held), for
 * benchmarks and metrics. */
size_t rt_store_bytes_estimate(struct rt_store *s);
/* Heap held by the cached objects, counted node by node (each cJSON node, key and
 * string as one malloc block with glibc's header), for the cache metrics. */
size_t rt_store_heap_estimate(struct rt_store *s);

#endif
