/*
 * clusterset: the member clusters the operator talks to, by name.
 *
 * Members come and go at runtime: a kubeconfig Secret is added (apply), its
 * credentials rotate (apply again: the same client switches to the new
 * credentials for its next requests, watches keep running), or it is
 * deleted (remove). A new server, CA, TLS server name or insecure flag is
 * another cluster (or a rebuilt one) as far as caches go: apply then makes a
 * new client and retires the old one, so that rt_clusterset_is_current says
 * the old one is stale and every cache made on it is dropped and listed again
 * on the new one before anything is written from it (resourceVersions and
 * objects of the old server mean nothing to the new one). Users of a member hold a reference
 * (acquire/release), so a member removed while a reconcile uses it is freed only after that
 * reconcile is done. Each member carries its reachability, exported as
 * eastwest_cluster_reachable{cluster}, and its client's request counters.
 *
 * The write gate. A member joins groups (the MeshNetworks that list it). A
 * writer that works for a group (the CrossClusterService controller writing
 * for a mesh) brackets its writes with begin_write/end_write, which succeeds
 * only while the member is joined to that group. leave() takes the member out
 * of the group and returns only when no writer is between begin and end. So
 * once the MeshNetwork controller has left a member for a mesh (the member was
 * removed from spec.clusters, or the mesh is being deleted), nothing can write
 * there for that mesh any more, and the cleanup it then lists and deletes is
 * final: no write in flight can land after it.
 */
#ifndef EW_RT_CLUSTERSET_H
#define EW_RT_CLUSTERSET_H

#include "metrics.h"
#include "kube/client.h"

struct rt_clusterset;

/* Makes the client of a member (name) from its connection settings: kube_client_new when
 * not given; a unit test gives one that returns fake clients (test/fake_kube.h). On failure
 * *out is untouched and err says why. */
typedef kube_code (*rt_cluster_connect_fn)(void *ud, const char *name,
                                           const struct kube_rest_config *cfg,
                                           struct kube_client **out, struct kube_error *err);

struct rt_clusterset_options {
    struct ew_logger *log;      /* may be NULL */
    struct rt_metrics *metrics; /* may be NULL */
    rt_cluster_connect_fn connect;
    void *connect_ud;
};

struct rt_clusterset *rt_clusterset_new(const struct rt_clusterset_options *opts);
/* Frees every member; no reference may be held any more. */
void rt_clusterset_free(struct rt_clusterset *cs);

/* Add the member, or give it new connection settings. Returns 1 if added, 0 if
 * updated in place (new credentials), 2 if replaced by a new client (new server or CA:
 * see the top; joined groups carry over), or a negative value with err set. */
int rt_clusterset_apply(struct rt_clusterset *cs, const char *name,
                        const struct kube_rest_config *cfg, struct kube_error *err);
/* Forget the member (freed once the last reference is released). Returns 1 if it existed. */
int rt_clusterset_remove(struct rt_clusterset *cs, const char *name);

/* A reference to the member's client, or NULL when there is no such member. */
struct kube_client *rt_clusterset_acquire(struct rt_clusterset *cs, const char *name);
void rt_clusterset_release(struct rt_clusterset *cs, struct kube_client *c);

void rt_clusterset_set_reachable(struct rt_clusterset *cs, const char *name, int reachable,
                                 const char *error);
/* 1 reachable, 0 not, -1 unknown member. *error (may be NULL) gets a copy of the last error. */
int rt_clusterset_reachable(struct rt_clusterset *cs, const char *name, char **error);
/* 1 while name is in the set with this very client (not removed, not re-added since). */
int rt_clusterset_is_current(struct rt_clusterset *cs, const char *name, struct kube_client *c);

/* The write gate (see the top). join returns 0 when there is no such member. leave waits
 * for the member's writers to finish; never call it between begin_write and end_write. */
int rt_clusterset_join(struct rt_clusterset *cs, const char *group, const char *name);
void rt_clusterset_leave(struct rt_clusterset *cs, const char *group, const char *name);
int rt_clusterset_joined(struct rt_clusterset *cs, const char *group, const char *name);
/* The member's client, counted as a writer, or NULL when it is not joined to group. */
struct kube_client *rt_clusterset_begin_write(struct rt_clusterset *cs, const char *group,
                                              const char *name);
void rt_clusterset_end_write(struct rt_clusterset *cs, struct kube_client *c);

/* The name of a member other than except whose client talks to server (caller frees), or
 * NULL: one API server listed under two names. */
char *rt_clusterset_name_of_server(struct rt_clusterset *cs, const char *server,
                                   const char *except);

/* 1 when member name's client talks to server. */
int rt_clusterset_server_is(struct rt_clusterset *cs, const char *name, const char *server);

/* Names of the members (caller frees each and the array). */
char **rt_clusterset_names(struct rt_clusterset *cs, size_t *n);

#endif
