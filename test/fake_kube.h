/*
 * fake_kube: an in-memory stand-in for one API server, behind the client seam
 * (lib/kube/client_ops.h), for unit tests of the reconcilers.
 *
 * A fake_cluster holds objects by resource (group + plural; the version is not
 * kept apart), namespace and name, and answers the verbs as kube-apiserver
 * would for what eastwest sends:
 *   - every write bumps one cluster-wide resourceVersion counter and sets
 *     metadata.resourceVersion; create sets uid, creationTimestamp, generation 1
 *     (generateName gets a counter); a change outside metadata and status bumps
 *     generation;
 *   - create of an existing name: 409 AlreadyExists; get/patch/delete/update of
 *     a missing one: 404 NotFound; update with a stale resourceVersion: 409 Conflict;
 *   - patch: merge patch (RFC 7386) and server-side apply (create when absent;
 *     else the applied object replaces every top-level field it names except
 *     status, metadata.labels/annotations/finalizers are replaced when given,
 *     uid/creationTimestamp/deletionTimestamp kept); subresource "status" touches
 *     status only, and the main resource never changes status (like a CRD with a
 *     status subresource, and like Services, Pods, Deployments);
 *   - a namespaced write into a namespace that does not exist (no Namespace object):
 *     404 NotFound, as the NamespaceLifecycle admission answers;
 *   - delete of an object with finalizers sets deletionTimestamp; an object being
 *     deleted goes away once a write leaves it without finalizers; preconditions
 *     (uid, resourceVersion) give 409 Conflict when they do not hold;
 *   - list: label selectors (k=v, k==v, k!=v, k, !k, joined by commas) and field
 *     selectors (metadata.name=, metadata.namespace=, and != of those), the list's
 *     resourceVersion, items sorted by namespace then name, no paging (continue
 *     is never set);
 *   - watch: from the given resourceVersion (events after it, from the cluster's
 *     history) or from now; ADDED / MODIFIED / DELETED, filtered by the same
 *     selectors; events are delivered on the cluster's own thread, in order, never
 *     on the caller's thread; a watch ends only when stopped (or the cluster is
 *     freed: then on_done(KUBE_OK)).
 *   - discovery: the groups added with fake_cluster_serve_group.
 *
 * Errors carry what kube_status_parse would give: code, http_status, reason and
 * a message naming the verb and object.
 *
 * Faults, in the spirit of SQLite's tests: a fake_faults, shared by every
 * cluster of a test, counts the calls the clients make (every verb; watch
 * starts are not counted: a stream's failures are the reflector's business,
 * tested against real servers in test_faults) and fails the armed one:
 *   CONFLICT 409, INVALID 422, THROTTLED 429, SERVER 500: the call has no effect;
 *   TIMEOUT: a write takes effect, then the answer is lost (KUBE_E_TIMEOUT), as
 *     when a reply times out after the server committed;
 *   RESET: the connection drops before the server saw anything (KUBE_E_CONNECT).
 *
 * Thread safety: every function may be called from any thread. The direct
 * functions (fake_cluster_put/get/list/delete/dump) are not counted and never
 * fail; their writes are seen by watches like any other.
 *
 * Details and limits of the implementation (fake_kube.c):
 *   - a write whose result equals the stored object is a no-op, as in
 *     kube-apiserver: no resourceVersion, no event, not counted in
 *     fake_cluster_writes; managedFields are never kept;
 *   - a merge patch or apply that carries metadata.resourceVersion must match
 *     (409 Conflict), like an update;
 *   - apply has no field ownership: force and the field manager are ignored and
 *     there are no apply conflicts; JSON patch and strategic merge patch answer
 *     415 UnsupportedMediaType (KUBE_E_HTTP);
 *   - a namespaced object verb without a namespace: 404 NotFound; a create whose
 *     object names another namespace than the call: 400 BadRequest; no name and
 *     no generateName: 422 Invalid; a subresource other than status: 404;
 *   - setting deletionTimestamp does not bump generation; propagationPolicy,
 *     ownerReferences (garbage collection) and namespace deletion cascading are
 *     not modelled; a terminating namespace still takes creates;
 *   - dry_run answers what would be stored and stores nothing;
 *   - 429 carries no Retry-After; selectors that cannot be parsed (set-based
 *     "in"/"notin" included) and field selectors on other fields: 400 BadRequest;
 *   - watch: timeoutSeconds and bookmarks are ignored; resourceVersion "0" replays
 *     the whole history (not a synthetic ADDED per object); one that is not a
 *     number: 400; a handler that returns non-zero ends the watch with
 *     on_done(KUBE_E_CANCELLED), as the HTTP client does; kube_watch_stop needs its
 *     client, so stop watches before kube_client_free; stopping a watch from its own
 *     callback aborts (it would deadlock);
 *   - fake_cluster_put ignores an object without metadata.name (or, for a namespaced
 *     resource, metadata.namespace); fake_cluster_dump names the core group's
 *     resources "/<plural>" ("/configmaps").
 */
#ifndef EW_TEST_FAKE_KUBE_H
#define EW_TEST_FAKE_KUBE_H

#include "kube/client.h"

#include <cjson/cJSON.h>

enum fake_fault {
    FAKE_FAULT_NONE,
    FAKE_FAULT_CONFLICT,
    FAKE_FAULT_INVALID,
    FAKE_FAULT_THROTTLED,
    FAKE_FAULT_SERVER,
    FAKE_FAULT_TIMEOUT,
    FAKE_FAULT_RESET,
};
#define FAKE_FAULT_KINDS 6 /* CONFLICT .. RESET */

/* "409", "422", "429", "500", "timeout", "reset", "none" */
const char *fake_fault_name(enum fake_fault kind);

struct fake_faults;

struct fake_faults *fake_faults_new(void);
void fake_faults_free(struct fake_faults *f);
/* From now, fail call number nth (1 = the next call) with kind; nth 0 disarms.
 * Resets the call count. */
void fake_faults_arm(struct fake_faults *f, unsigned long nth, enum fake_fault kind);
/* Calls counted since the last arm (or since new). */
unsigned long fake_faults_calls(struct fake_faults *f);
/* 1 once the armed call has failed: its verb answered with the fault's error (so a
 * fault that was counted but never handed back does not pass for one that fired). */
int fake_faults_fired(struct fake_faults *f);
/* What the failed call was: "PATCH us serviceentries ns/name" (valid until the next arm). */
const char *fake_faults_what(struct fake_faults *f);

struct fake_cluster;

/* faults may be NULL (never fails). */
struct fake_cluster *fake_cluster_new(const char *name, struct fake_faults *faults);
/* Ends every watch (on_done KUBE_OK) and frees. Every client made from it must be freed
 * first. */
void fake_cluster_free(struct fake_cluster *fc);
const char *fake_cluster_name(const struct fake_cluster *fc);

/* A new client on the cluster (kube_client_free it; that does not free the cluster). */
struct kube_client *fake_cluster_client(struct fake_cluster *fc);

/* down 1: the API server is gone: every call fails at once as a refused connection
 * (KUBE_E_CONNECT, not counted by the faults) and every watch ends (on_done KUBE_OK, as a
 * closed stream); the objects stay. down 0: it answers again. */
void fake_cluster_set_down(struct fake_cluster *fc, int down);

/* Discovery answers: group served with these versions, preferred first. */
void fake_cluster_serve_group(struct fake_cluster *fc, const char *group,
                              const char *const *versions, size_t n);

/* ---- direct access for tests: not counted, no faults ---- */

/* Create or replace the object as given (metadata.namespace for a namespaced resource),
 * status included; sets uid/resourceVersion/creationTimestamp like a write. */
void fake_cluster_put(struct fake_cluster *fc, const struct kube_resource *r, const cJSON *obj);
/* A copy, or NULL. */
cJSON *fake_cluster_get(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                        const char *name);
/* A copy of every object of r in ns (NULL: all namespaces), sorted by namespace/name. */
cJSON *fake_cluster_list(struct fake_cluster *fc, const struct kube_resource *r, const char *ns);
/* As a DELETE would (finalizers honoured). 1 when it existed. */
int fake_cluster_delete(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                        const char *name);
/* Every object: {"<group>/<plural>": [objects sorted by namespace/name], ...}, keys sorted. */
cJSON *fake_cluster_dump(struct fake_cluster *fc);
/* Successful writes so far (create, update, patch, delete, direct ones included). */
unsigned long fake_cluster_writes(struct fake_cluster *fc);

#endif
