/*
 * vip_table: the virtual IPs reserved for CrossClusterServices, per mesh, in
 * the operator's memory.
 *
 * Allocating an address takes the table's lock for the whole choice (look at
 * what is taken, pick, reserve), so two workers never pick one address for two
 * services before either writes its status; the reservation stands for the
 * status until the watch brings it back, and for as long as the service lives.
 * One reservation per owner ("namespace/name"): reserving another address, or
 * release, drops the previous one. The functions below, but new/free/lock/
 * unlock, must be called with the lock held.
 */
#ifndef EW_MESH_VIP_TABLE_H
#define EW_MESH_VIP_TABLE_H

struct mesh_vip_table;

struct mesh_vip_table *mesh_vip_table_new(void);
void mesh_vip_table_free(struct mesh_vip_table *t);
void mesh_vip_table_lock(struct mesh_vip_table *t);
void mesh_vip_table_unlock(struct mesh_vip_table *t);

/* Who holds addr in mesh, or NULL. */
const char *mesh_vip_table_owner(const struct mesh_vip_table *t, const char *mesh,
                                 const char *addr);
/* The address owner holds in mesh, or NULL (none, or one in another mesh). */
const char *mesh_vip_table_held(const struct mesh_vip_table *t, const char *owner,
                                const char *mesh);
void mesh_vip_table_reserve(struct mesh_vip_table *t, const char *owner, const char *mesh,
                            const char *addr);
void mesh_vip_table_release(struct mesh_vip_table *t, const char *owner);

#endif
