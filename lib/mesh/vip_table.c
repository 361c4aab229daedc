/*
 * vip_table: reserved virtual IPs (see vip_table.h). Two maps kept in step:
 * "mesh|address" -> owner, and owner -> "mesh|address".
 */
#include "vip_table.h"

#include "base/strbuf.h"
#include "base/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mesh_vip_table {
    pthread_mutex_t mu;
    struct strmap by_slot;  /* "mesh|address" -> owner (owned string) */
    struct strmap by_owner; /* owner -> "mesh|address" (owned string) */
};

static char *slot_of(const char *mesh, const char *addr)
{
    struct strbuf k = STRBUF_INIT;
    strbuf_addf(&k, "%s|%s", mesh, addr);
    return strbuf_detach(&k, NULL);
}

struct mesh_vip_table *mesh_vip_table_new(void)
{
    struct mesh_vip_table *t = ew_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    strmap_init(&t->by_slot);
    strmap_init(&t->by_owner);
    return t;
}

static void free_values(struct strmap *m)
{
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(m, &i, &k, &v);)
        free(v);
    strmap_clear(m);
}

void mesh_vip_table_free(struct mesh_vip_table *t)
{
    if (!t)
        return;
    free_values(&t->by_slot);
    free_values(&t->by_owner);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void mesh_vip_table_lock(struct mesh_vip_table *t)
{
    pthread_mutex_lock(&t->mu);
}

void mesh_vip_table_unlock(struct mesh_vip_table *t)
{
    pthread_mutex_unlock(&t->mu);
}

const char *mesh_vip_table_owner(const struct mesh_vip_table *t, const char *mesh, const char *addr)
{
    char *slot = slot_of(mesh, addr);
    const char *owner = strmap_get(&t->by_slot, slot);
    free(slot);
    return owner;
}

const char *mesh_vip_table_held(const struct mesh_vip_table *t, const char *owner, const char *mesh)
{
    const char *slot = strmap_get(&t->by_owner, owner);
    size_t n = strlen(mesh);
    if (!slot || strncmp(slot, mesh, n) != 0 || slot[n] != '|')
        return NULL;
    return slot + n + 1;
}

void mesh_vip_table_release(struct mesh_vip_table *t, const char *owner)
{
    char *slot = strmap_remove(&t->by_owner, owner);
    if (!slot)
        return;
    const char *held = strmap_get(&t->by_slot, slot);
    if (held && strcmp(held, owner) == 0)
        free(strmap_remove(&t->by_slot, slot));
    free(slot);
}

void mesh_vip_table_reserve(struct mesh_vip_table *t, const char *owner, const char *mesh,
                            const char *addr)
{
    mesh_vip_table_release(t, owner);
    char *slot = slot_of(mesh, addr);
    free(strmap_put(&t->by_slot, slot, ew_strdup(owner)));
    strmap_put(&t->by_owner, owner, slot);
}
