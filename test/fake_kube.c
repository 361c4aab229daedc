/*
 * fake_kube.c: an in-memory API server behind the client seam (see fake_kube.h).
 *
 * Design:
 *  - One mutex per cluster guards everything in it: the stores, the history,
 *    the watches and the delivery queue. Verbs take it for their whole effect,
 *    so each verb is atomic, as one etcd transaction is.
 *  - Objects live in stores, one per resource, keyed "<group>/<plural>" (a
 *    struct kube_resource is compared by its strings, never by its address);
 *    a store maps "<namespace>/<name>" to the object as stored ("" namespace
 *    for cluster-scoped resources).
 *  - Every write goes through fake_commit: it keeps the identity fields of the
 *    stored object, drops a write that changes nothing (no resourceVersion, no
 *    event, not counted), bumps generation when something outside metadata and
 *    status changed, sets the new resourceVersion, and either stores the result
 *    or, for an object being deleted that has no finalizers left, removes it.
 *  - Each committed change is appended to the history (the whole of it is kept:
 *    tests are small) and offered to every live watch. A watch sees an object
 *    through its namespace and selectors: MODIFIED when the object matched
 *    before and after, ADDED when it starts to match, DELETED when it stops,
 *    as kube-apiserver's watch cache does. A watch started at a resourceVersion
 *    is offered the history after it under the same lock, so nothing is missed
 *    or seen twice.
 *  - Offered events are queued (each watcher gets its own copy of the object)
 *    and one delivery thread per cluster calls the callbacks, in order, without
 *    the lock. fake_watch_stop waits while the thread is in a callback of that
 *    watch and drops what is queued for it, so no callback runs after it.
 *  - Faults are checked before a verb takes the cluster lock: a fault that has
 *    no effect returns at once; TIMEOUT runs the verb, then throws the answer
 *    away.
 *  - Errors are built as the Status object a server would send and read with
 *    kube_status_from_json, so code, http_status, reason and message are what a
 *    real answer gives.
 */
#include "fake_kube.h"
#include "base/strbuf.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "kube/client_ops.h"
#include "kube/yaml_json.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAKE_NAME_SUFFIX_LEN 5 /* generateName: as many characters as kube-apiserver adds */

/* ---- faults ---- */

struct fake_faults {
    pthread_mutex_t mu;
    unsigned long nth;
    enum fake_fault kind;
    unsigned long calls;
    int reached; /* the armed call came: its fault was handed to the verb */
    int fired;   /* and the verb answered with the fault's error (fake_fault_fail) */
    char *what;
};

const char *fake_fault_name(enum fake_fault kind)
{
    switch (kind) {
    case FAKE_FAULT_CONFLICT:
        return "409";
    case FAKE_FAULT_INVALID:
        return "422";
    case FAKE_FAULT_THROTTLED:
        return "429";
    case FAKE_FAULT_SERVER:
        return "500";
    case FAKE_FAULT_TIMEOUT:
        return "timeout";
    case FAKE_FAULT_RESET:
        return "reset";
    default:
        return "none";
    }
}

struct fake_faults *fake_faults_new(void)
{
    struct fake_faults *f = ew_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

void fake_faults_free(struct fake_faults *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f->what);
    free(f);
}

void fake_faults_arm(struct fake_faults *f, unsigned long nth, enum fake_fault kind)
{
    pthread_mutex_lock(&f->mu);
    f->nth = kind == FAKE_FAULT_NONE ? 0 : nth;
    f->kind = kind;
    f->calls = 0;
    f->reached = 0;
    f->fired = 0;
    free(f->what);
    f->what = NULL;
    pthread_mutex_unlock(&f->mu);
}

unsigned long fake_faults_calls(struct fake_faults *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned long n = f->calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_faults_fired(struct fake_faults *f)
{
    pthread_mutex_lock(&f->mu);
    int fired = f->fired;
    pthread_mutex_unlock(&f->mu);
    return fired;
}

const char *fake_faults_what(struct fake_faults *f)
{
    pthread_mutex_lock(&f->mu);
    const char *what = f->what ? f->what : "";
    pthread_mutex_unlock(&f->mu);
    return what;
}

/* Count one call; the fault it must fail with, or NONE. */
static enum fake_fault fake_faults_count(struct fake_faults *f, const char *what)
{
    enum fake_fault kind = FAKE_FAULT_NONE;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    if (f->nth && f->calls == f->nth && !f->reached) {
        f->reached = 1;
        kind = f->kind;
        free(f->what);
        f->what = ew_strdup(what);
    }
    pthread_mutex_unlock(&f->mu);
    return kind;
}

/* ---- the cluster ---- */

struct fake_store {
    struct strmap objs; /* "<ns>/<name>" -> cJSON object */
};

struct fake_event {
    enum kube_event_type type;
    char *store; /* "<group>/<plural>" */
    cJSON *obj;  /* the object after the change (the last one for DELETED) */
    cJSON *prev; /* MODIFIED: the object before, for selector transitions */
    unsigned long rv;
};

enum fake_op {
    FAKE_OP_EQ,
    FAKE_OP_NE,
    FAKE_OP_EXISTS,
    FAKE_OP_NOT_EXISTS,
};

struct fake_term {
    char *key;
    char *value;
    enum fake_op op;
};

struct fake_selector {
    struct fake_term *terms;
    size_t n;
};

struct fake_watch {
    char *store;
    char *ns; /* "" = every namespace */
    struct fake_selector labels;
    struct fake_selector fields;
    kube_watch_event_fn on_event;
    kube_watch_done_fn on_done;
    void *ud;
    int ended;   /* on_done was called or is queued: nothing more is offered */
    int stopped; /* watch_stop was called */
    struct fake_watch *next;
};

struct fake_delivery {
    struct fake_watch *w;
    enum kube_event_type type;
    cJSON *obj;
    int done; /* on_done(KUBE_OK) instead of an event */
    struct fake_delivery *next;
};

struct fake_group {
    char **versions;
    size_t n;
};

struct fake_cluster {
    char *name;
    struct fake_faults *faults;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the queue has work, or shutdown */
    pthread_cond_t idle; /* the delivery thread left a callback */
    pthread_t thread;
    int shutdown;
    atomic_int down;      /* fake_cluster_set_down: every call is a refused connection */
    struct strmap stores; /* "<group>/<plural>" -> struct fake_store */
    struct strmap groups; /* group -> struct fake_group */
    unsigned long rv;
    unsigned long uids;
    unsigned long generated; /* generateName counter */
    unsigned long writes;
    time_t last_time;
    uint32_t name_hash;
    struct fake_event *hist;
    size_t nhist, hist_cap;
    struct fake_watch *watches;
    struct fake_delivery *head, *tail;
    struct fake_watch *delivering; /* whose callback runs now, or NULL */
};

const char *fake_cluster_name(const struct fake_cluster *fc)
{
    return fc->name;
}

/* One verb: what it is about, for messages, fault descriptions and lookups. */
struct fake_call {
    struct fake_cluster *fc;
    const struct kube_resource *r;
    const char *method; /* GET LIST POST PUT PATCH DELETE DISCOVER WATCH */
    const char *ns;     /* "" for a cluster-scoped resource or every namespace */
    const char *name;   /* NULL for collections */
    struct kube_error *err;
    int armed; /* fake_fault_check gave this call the armed fault */
};

static struct fake_call fake_call_make(struct fake_cluster *fc, const struct kube_resource *r,
                                       const char *method, const char *ns, const char *name,
                                       struct kube_error *err)
{
    kube_error_clear(err);
    return (struct fake_call){
        .fc = fc,
        .r = r,
        .method = method,
        .ns = r && r->namespaced && ns ? ns : "",
        .name = name,
        .err = err,
    };
}

/* "PATCH us serviceentries ns/name" */
static void fake_call_what(struct strbuf *sb, const struct fake_call *c)
{
    strbuf_addf(sb, "%s %s", c->method, c->fc->name);
    if (c->r)
        strbuf_addf(sb, " %s", c->r->plural);
    if (*c->ns || c->name)
        strbuf_addch(sb, ' ');
    if (*c->ns)
        strbuf_addf(sb, "%s%s", c->ns, c->name ? "/" : "");
    if (c->name)
        strbuf_adds(sb, c->name);
}

/* ---- errors ---- */

/* Fill c->err as the Status kube-apiserver would answer with; returns the code. */
static kube_code fake_fail(const struct fake_call *c, long status, const char *reason,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static kube_code fake_fail(const struct fake_call *c, long status, const char *reason,
                           const char *fmt, ...)
{
    struct strbuf msg = STRBUF_INIT;
    va_list ap;
    fake_call_what(&msg, c);
    strbuf_adds(&msg, ": ");
    va_start(ap, fmt);
    strbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddStringToObject(st, "status", "Failure");
    cJSON_AddStringToObject(st, "message", msg.buf);
    cJSON_AddStringToObject(st, "reason", reason);
    cJSON *details = cJSON_AddObjectToObject(st, "details");
    if (c->name)
        cJSON_AddStringToObject(details, "name", c->name);
    if (c->r)
        cJSON_AddStringToObject(details, "kind", c->r->plural);
    cJSON_AddNumberToObject(st, "code", (double)status);
    struct kube_error local = KUBE_ERROR_INIT;
    kube_code rc = kube_status_from_json(c->err ? c->err : &local, st);
    kube_error_clear(&local);
    cJSON_Delete(st);
    strbuf_release(&msg);
    return rc;
}

static kube_code fake_not_found(const struct fake_call *c)
{
    return fake_fail(c, 404, "NotFound", "%s \"%s\" not found", c->r->plural,
                     c->name ? c->name : "");
}

static kube_code fake_bad_request(const struct fake_call *c, const char *why)
{
    return fake_fail(c, 400, "BadRequest", "%s", why);
}

/* The error of an injected fault. */
static kube_code fake_fault_fail(const struct fake_call *c, enum fake_fault kind)
{
    struct strbuf what = STRBUF_INIT;
    kube_code rc;
    if (c->armed && c->fc->faults) { /* the armed fault's error is answered: it fired */
        pthread_mutex_lock(&c->fc->faults->mu);
        c->fc->faults->fired = 1;
        pthread_mutex_unlock(&c->fc->faults->mu);
    }
    switch (kind) {
    case FAKE_FAULT_CONFLICT:
        return fake_fail(c, 409, "Conflict", "the object has been modified (injected fault)");
    case FAKE_FAULT_INVALID:
        return fake_fail(c, 422, "Invalid", "the object is invalid (injected fault)");
    case FAKE_FAULT_THROTTLED:
        return fake_fail(c, 429, "TooManyRequests", "too many requests (injected fault)");
    case FAKE_FAULT_SERVER:
        return fake_fail(c, 500, "InternalError", "internal error (injected fault)");
    default:
        break;
    }
    fake_call_what(&what, c);
    if (kind == FAKE_FAULT_TIMEOUT)
        rc = kube_error_set(c->err, KUBE_E_TIMEOUT, "%s: no answer in time (injected fault)",
                            what.buf);
    else
        rc = kube_error_set(c->err, KUBE_E_CONNECT, "%s: connection reset (injected fault)",
                            what.buf);
    strbuf_release(&what);
    return rc;
}

/* Count the call; the fault it gets (NONE when the cluster has no faults). */
static enum fake_fault fake_fault_check(struct fake_call *c)
{
    if (atomic_load(&c->fc->down))
        return FAKE_FAULT_RESET; /* not counted: the server is not there */
    if (!c->fc->faults)
        return FAKE_FAULT_NONE;
    struct strbuf what = STRBUF_INIT;
    fake_call_what(&what, c);
    enum fake_fault kind = fake_faults_count(c->fc->faults, what.buf);
    strbuf_release(&what);
    c->armed = kind != FAKE_FAULT_NONE;
    return kind;
}

/* Faults that fail the call before the server sees it. */
static int fake_fault_before(enum fake_fault kind)
{
    return kind != FAKE_FAULT_NONE && kind != FAKE_FAULT_TIMEOUT;
}

/* ---- JSON helpers ---- */

static cJSON *fake_meta(cJSON *obj)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (cJSON_IsObject(m))
        return m;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
    return cJSON_AddObjectToObject(obj, "metadata");
}

static const char *fake_meta_str(const cJSON *obj, const char *field)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Put item (owned) under key, replacing what was there; item NULL removes key. */
static void fake_set(cJSON *obj, const char *key, cJSON *item)
{
    if (!item) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

static void fake_meta_set_str(cJSON *obj, const char *field, const char *value)
{
    fake_set(fake_meta(obj), field, value ? cJSON_CreateString(value) : NULL);
}

/* A copy of obj[key], or NULL when absent. */
static cJSON *fake_dup_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? cJSON_Duplicate(v, 1) : NULL;
}

static void fake_meta_copy(cJSON *to, const cJSON *from, const char *field)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(from, "metadata");
    fake_set(fake_meta(to), field, fake_dup_field(m, field));
}

static double fake_generation(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(m, "generation");
    return cJSON_IsNumber(g) ? g->valuedouble : 0;
}

static int fake_has_finalizers(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "finalizers");
    return cJSON_IsArray(f) && cJSON_GetArraySize(f) > 0;
}

/* Equal outside metadata and status (what generation counts). */
static int fake_spec_equal(const cJSON *a, const cJSON *b)
{
    cJSON *x = cJSON_Duplicate(a, 1), *y = cJSON_Duplicate(b, 1);
    const char *skip[] = {"metadata", "status"};
    for (size_t i = 0; i < 2; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(x, skip[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(y, skip[i]);
    }
    int eq = cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

/* RFC 7386: target (owned, may be NULL) with patch merged in; returns the new target. */
static cJSON *fake_merge_patch(cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, patch)
    {
        cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(target, item->string);
        if (cJSON_IsNull(item)) {
            cJSON_Delete(cur);
            continue;
        }
        cJSON_AddItemToObject(target, item->string, fake_merge_patch(cur, item));
    }
    return target;
}

/* ---- time, uids, names ---- */

static void fake_timestamp(struct fake_cluster *fc, char *buf, size_t size)
{
    time_t now = time(NULL);
    if (now < fc->last_time)
        now = fc->last_time;
    fc->last_time = now;
    ew_time_format_rfc3339(now, buf, size);
}

static void fake_uid(struct fake_cluster *fc, char *buf, size_t size)
{
    snprintf(buf, size, "%08x-0000-4000-8000-%012lx", (unsigned)fc->name_hash, ++fc->uids);
}

static uint32_t fake_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* generateName + a suffix from a counter, in kube-apiserver's alphabet. */
static char *fake_generate_name(struct fake_cluster *fc, const char *prefix)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    struct strbuf sb = STRBUF_INIT;
    unsigned long n = ++fc->generated;
    strbuf_adds(&sb, prefix);
    for (int i = 0; i < FAKE_NAME_SUFFIX_LEN; i++) {
        strbuf_addch(&sb, alphabet[n % (sizeof(alphabet) - 1)]);
        n /= sizeof(alphabet) - 1;
    }
    return strbuf_detach(&sb, NULL);
}

/* ---- selectors ---- */

static void fake_selector_release(struct fake_selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->terms[i].key);
        free(s->terms[i].value);
    }
    free(s->terms);
    memset(s, 0, sizeof(*s));
}

/* A copy of s[0..len) without surrounding blanks. */
static char *fake_trimmed(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return ew_strndup(s, len);
}

static int fake_label_chars(const char *s, int key)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(key ? "-_./" : "-_.", *s))
            return 0;
    return 1;
}

static int fake_term_valid(const struct fake_term *t, int field)
{
    if (!*t->key)
        return 0;
    if (field)
        return (t->op == FAKE_OP_EQ || t->op == FAKE_OP_NE) &&
               (strcmp(t->key, "metadata.name") == 0 ||
                strcmp(t->key, "metadata.namespace") == 0) &&
               !strpbrk(t->value, "=!");
    return fake_label_chars(t->key, 1) && (!t->value || fake_label_chars(t->value, 0));
}

/* One term of len bytes at p: k=v, k==v, k!=v, k, !k. 0 when valid. */
static int fake_term_parse(const char *p, size_t len, struct fake_term *t, int field)
{
    char *text = fake_trimmed(p, len);
    char *ne = strstr(text, "!="), *eq = strchr(text, '=');
    memset(t, 0, sizeof(*t));
    if (ne) {
        t->op = FAKE_OP_NE;
        t->key = fake_trimmed(text, (size_t)(ne - text));
        t->value = fake_trimmed(ne + 2, strlen(ne + 2));
    } else if (eq) {
        const char *v = eq[1] == '=' ? eq + 2 : eq + 1;
        t->op = FAKE_OP_EQ;
        t->key = fake_trimmed(text, (size_t)(eq - text));
        t->value = fake_trimmed(v, strlen(v));
    } else if (text[0] == '!') {
        t->op = FAKE_OP_NOT_EXISTS;
        t->key = fake_trimmed(text + 1, strlen(text + 1));
    } else {
        t->op = FAKE_OP_EXISTS;
        t->key = ew_strdup(text);
    }
    free(text);
    return fake_term_valid(t, field) ? 0 : -1;
}

/* Parse a label (field 0) or field (field 1) selector; NULL/blank selects everything. */
static int fake_selector_parse(struct fake_selector *s, const char *text, int field)
{
    memset(s, 0, sizeof(*s));
    char *all = fake_trimmed(text ? text : "", text ? strlen(text) : 0);
    int rc = 0;
    for (const char *p = all; *all && rc == 0;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        s->terms = ew_realloc(s->terms, (s->n + 1) * sizeof(*s->terms));
        rc = fake_term_parse(p, len, &s->terms[s->n++], field);
        if (!end)
            break;
        p = end + 1;
    }
    free(all);
    if (rc)
        fake_selector_release(s);
    return rc;
}

/* The value a term looks at, or NULL when the object has no such label. */
static const char *fake_term_subject(const struct fake_term *t, const cJSON *obj, int field)
{
    if (field) {
        const char *v =
            fake_meta_str(obj, strcmp(t->key, "metadata.name") == 0 ? "name" : "namespace");
        return v ? v : "";
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "labels");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, t->key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int fake_selector_match(const struct fake_selector *s, const cJSON *obj, int field)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct fake_term *t = &s->terms[i];
        const char *v = fake_term_subject(t, obj, field);
        int ok = t->op == FAKE_OP_EQ       ? v && strcmp(v, t->value) == 0
                 : t->op == FAKE_OP_NE     ? !v || strcmp(v, t->value) != 0
                 : t->op == FAKE_OP_EXISTS ? v != NULL
                                           : v == NULL;
        if (!ok)
            return 0;
    }
    return 1;
}

/* Both selectors of a list or watch; 0, or the 400 in c->err. */
static kube_code fake_selectors_parse(const struct fake_call *c, const char *labels,
                                      const char *fields, struct fake_selector *ls,
                                      struct fake_selector *fs)
{
    if (fake_selector_parse(ls, labels, 0))
        return fake_fail(c, 400, "BadRequest", "unable to parse requirement: label selector \"%s\"",
                         labels);
    if (fake_selector_parse(fs, fields, 1)) {
        fake_selector_release(ls);
        return fake_fail(c, 400, "BadRequest", "field selector \"%s\" is not supported", fields);
    }
    return KUBE_OK;
}

/* ---- stores ---- */

static void fake_store_key(struct strbuf *sb, const struct kube_resource *r)
{
    strbuf_addf(sb, "%s/%s", r->group ? r->group : "", r->plural);
}

static void fake_obj_key(struct strbuf *sb, const char *ns, const char *name)
{
    strbuf_addf(sb, "%s/%s", ns, name);
}

static struct fake_store *fake_store_find(struct fake_cluster *fc, const struct kube_resource *r,
                                          int create)
{
    struct strbuf key = STRBUF_INIT;
    fake_store_key(&key, r);
    struct fake_store *st = strmap_get(&fc->stores, key.buf);
    if (!st && create) {
        st = ew_calloc(1, sizeof(*st));
        strmap_init(&st->objs);
        strmap_put(&fc->stores, key.buf, st);
    }
    strbuf_release(&key);
    return st;
}

/* The stored object (not a copy), or NULL. */
static cJSON *fake_lookup(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                          const char *name)
{
    struct fake_store *st = fake_store_find(fc, r, 0);
    if (!st || !name)
        return NULL;
    struct strbuf key = STRBUF_INIT;
    fake_obj_key(&key, r->namespaced && ns ? ns : "", name);
    cJSON *obj = strmap_get(&st->objs, key.buf);
    strbuf_release(&key);
    return obj;
}

static int fake_namespace_exists(struct fake_cluster *fc, const char *ns)
{
    return fake_lookup(fc, &KUBE_RES_NAMESPACES, NULL, ns) != NULL;
}

static int fake_by_namespace_name(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const char *nx = fake_meta_str(x, "namespace"), *ny = fake_meta_str(y, "namespace");
    int c = strcmp(nx ? nx : "", ny ? ny : "");
    return c ? c : strcmp(fake_meta_str(x, "name"), fake_meta_str(y, "name"));
}

/* Copies of the objects of r in ns ("" = all) that the selectors match, sorted. */
static cJSON *fake_select(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                          const struct fake_selector *ls, const struct fake_selector *fs)
{
    cJSON *items = cJSON_CreateArray();
    struct fake_store *st = fake_store_find(fc, r, 0);
    if (!st)
        return items;
    const cJSON **all = ew_calloc(strmap_size(&st->objs) + 1, sizeof(*all));
    size_t n = 0;
    const char *key;
    void *v;
    for (size_t i = 0; strmap_next(&st->objs, &i, &key, &v);) {
        const char *ons = fake_meta_str(v, "namespace");
        if (*ns && strcmp(ns, ons ? ons : "") != 0)
            continue;
        if ((!ls || fake_selector_match(ls, v, 0)) && (!fs || fake_selector_match(fs, v, 1)))
            all[n++] = v;
    }
    qsort(all, n, sizeof(*all), fake_by_namespace_name);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(items, cJSON_Duplicate(all[i], 1));
    free(all);
    return items;
}

/* ---- watches and delivery ---- */

static int fake_watch_sees(const struct fake_watch *w, const cJSON *obj)
{
    const char *ons = fake_meta_str(obj, "namespace");
    if (*w->ns && strcmp(w->ns, ons ? ons : "") != 0)
        return 0;
    return fake_selector_match(&w->labels, obj, 0) && fake_selector_match(&w->fields, obj, 1);
}

/* The event w gets for h, or -1: selector transitions turn MODIFIED into ADDED/DELETED. */
static int fake_event_for(const struct fake_watch *w, const struct fake_event *h)
{
    int now = fake_watch_sees(w, h->obj);
    if (h->type != KUBE_EVENT_MODIFIED)
        return now ? (int)h->type : -1;
    int before = h->prev && fake_watch_sees(w, h->prev);
    if (before && now)
        return KUBE_EVENT_MODIFIED;
    if (before)
        return KUBE_EVENT_DELETED;
    return now ? KUBE_EVENT_ADDED : -1;
}

static void fake_enqueue(struct fake_cluster *fc, struct fake_watch *w, int type, cJSON *obj,
                         int done)
{
    struct fake_delivery *d = ew_calloc(1, sizeof(*d));
    d->w = w;
    d->type = (enum kube_event_type)type;
    d->obj = obj;
    d->done = done;
    if (fc->tail)
        fc->tail->next = d;
    else
        fc->head = d;
    fc->tail = d;
    pthread_cond_signal(&fc->wake);
}

/* Queue h for w when w sees it. */
static void fake_offer(struct fake_cluster *fc, struct fake_watch *w, const struct fake_event *h)
{
    if (w->ended || w->stopped || strcmp(w->store, h->store) != 0)
        return;
    int type = fake_event_for(w, h);
    if (type >= 0)
        fake_enqueue(fc, w, type, cJSON_Duplicate(h->obj, 1), 0);
}

/* Drop everything queued for w. */
static void fake_purge(struct fake_cluster *fc, struct fake_watch *w)
{
    struct fake_delivery **p = &fc->head, *last = NULL;
    while (*p) {
        struct fake_delivery *d = *p;
        if (d->w != w) {
            last = d;
            p = &d->next;
            continue;
        }
        *p = d->next;
        cJSON_Delete(d->obj);
        free(d);
    }
    fc->tail = last;
}

/* Append a change to the history and offer it to every watch. prev is owned. */
static void fake_record(struct fake_cluster *fc, enum kube_event_type type,
                        const struct kube_resource *r, const cJSON *obj, cJSON *prev)
{
    struct strbuf key = STRBUF_INIT;
    fake_store_key(&key, r);
    if (fc->nhist == fc->hist_cap) {
        fc->hist_cap = fc->hist_cap ? 2 * fc->hist_cap : 64;
        fc->hist = ew_realloc(fc->hist, fc->hist_cap * sizeof(*fc->hist));
    }
    struct fake_event *h = &fc->hist[fc->nhist++];
    *h = (struct fake_event){
        .type = type,
        .store = strbuf_detach(&key, NULL),
        .obj = cJSON_Duplicate(obj, 1),
        .prev = prev,
        .rv = fc->rv,
    };
    for (struct fake_watch *w = fc->watches; w; w = w->next)
        fake_offer(fc, w, h);
}

static void fake_call_on_event(struct fake_cluster *fc, struct fake_delivery *d)
{
    struct fake_watch *w = d->w;
    struct kube_watch_event ev = {
        .type = d->type,
        .object = d->obj,
        .resource_version = fake_meta_str(d->obj, "resourceVersion"),
    };
    d->obj = NULL;
    int stop = w->on_event(w->ud, &ev);
    cJSON_Delete(ev.object);
    pthread_mutex_lock(&fc->mu);
    if (!stop || w->stopped || w->ended)
        return;
    /* as the HTTP client does: the handler asked to stop, the watch ends cancelled */
    w->ended = 1;
    fake_purge(fc, w);
    pthread_mutex_unlock(&fc->mu);
    struct kube_error e = KUBE_ERROR_INIT;
    kube_error_set(&e, KUBE_E_CANCELLED, "watch %s %s: the event handler stopped the watch",
                   fc->name, w->store);
    w->on_done(w->ud, KUBE_E_CANCELLED, &e);
    kube_error_clear(&e);
    pthread_mutex_lock(&fc->mu);
}

/* Run one delivery; called and returns with fc->mu held, drops it around the callback. */
static void fake_deliver(struct fake_cluster *fc, struct fake_delivery *d)
{
    struct fake_watch *w = d->w;
    fc->delivering = w;
    if (d->done)
        w->ended = 1;
    pthread_mutex_unlock(&fc->mu);
    if (d->done) {
        w->on_done(w->ud, KUBE_OK, NULL);
        pthread_mutex_lock(&fc->mu);
    } else {
        fake_call_on_event(fc, d);
    }
    fc->delivering = NULL;
    pthread_cond_broadcast(&fc->idle);
    cJSON_Delete(d->obj);
    free(d);
}

static void *fake_delivery_main(void *arg)
{
    struct fake_cluster *fc = arg;
    pthread_mutex_lock(&fc->mu);
    for (;;) {
        while (!fc->head && !fc->shutdown)
            pthread_cond_wait(&fc->wake, &fc->mu);
        struct fake_delivery *d = fc->head;
        if (!d)
            break;
        fc->head = d->next;
        if (!fc->head)
            fc->tail = NULL;
        fake_deliver(fc, d);
    }
    pthread_mutex_unlock(&fc->mu);
    return NULL;
}

static void fake_watch_free(struct fake_watch *w)
{
    fake_selector_release(&w->labels);
    fake_selector_release(&w->fields);
    free(w->store);
    free(w->ns);
    free(w);
}

/* ---- committing writes (fc->mu held) ---- */

/* Remove the stored object old (owned by the store until now): DELETED with last. */
static void fake_remove(struct fake_cluster *fc, const struct kube_resource *r, cJSON *old,
                        cJSON *last)
{
    struct strbuf key = STRBUF_INIT;
    fake_obj_key(&key, r->namespaced ? fake_meta_str(old, "namespace") : "",
                 fake_meta_str(old, "name"));
    strmap_remove(&fake_store_find(fc, r, 1)->objs, key.buf);
    strbuf_release(&key);
    fake_record(fc, KUBE_EVENT_DELETED, r, last, NULL);
    cJSON_Delete(old);
}

/* The new resourceVersion on obj (and, once per write, the write count). */
static void fake_bump(struct fake_cluster *fc, cJSON *obj)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%lu", ++fc->rv);
    fake_meta_set_str(obj, "resourceVersion", rv);
    fc->writes++;
}

/* Keep what a write cannot change: identity, deletion, generation, resourceVersion. */
static void fake_keep_identity(cJSON *result, const cJSON *old)
{
    const char *fields[] = {"name",
                            "namespace",
                            "uid",
                            "generation",
                            "creationTimestamp",
                            "deletionTimestamp",
                            "deletionGracePeriodSeconds",
                            "resourceVersion"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        fake_meta_copy(result, old, fields[i]);
}

/*
 * Store result (owned) in place of old (the stored object, or NULL for a create).
 * result already carries old's identity. A no-op is dropped; an object being deleted
 * with no finalizers left goes away. *out (may be NULL) gets a copy of what is stored.
 */
static void fake_commit(struct fake_cluster *fc, const struct kube_resource *r, cJSON *old,
                        cJSON *result, cJSON **out)
{
    if (old && cJSON_Compare(old, result, 1)) {
        cJSON_Delete(result);
        if (out)
            *out = cJSON_Duplicate(old, 1);
        return;
    }
    if (old && !fake_spec_equal(old, result))
        fake_set(fake_meta(result), "generation", cJSON_CreateNumber(fake_generation(old) + 1));
    fake_bump(fc, result);
    if (out)
        *out = cJSON_Duplicate(result, 1);
    if (old && fake_meta_str(result, "deletionTimestamp") && !fake_has_finalizers(result)) {
        fake_remove(fc, r, old, result);
        cJSON_Delete(result);
        return;
    }
    struct strbuf key = STRBUF_INIT;
    fake_obj_key(&key, r->namespaced ? fake_meta_str(result, "namespace") : "",
                 fake_meta_str(result, "name"));
    strmap_put(&fake_store_find(fc, r, 1)->objs, key.buf, result);
    strbuf_release(&key);
    fake_record(fc, old ? KUBE_EVENT_MODIFIED : KUBE_EVENT_ADDED, r, result, old);
}

/* A new object's server-set fields: name from generateName, uid, timestamp, generation. */
static void fake_stamp_new(struct fake_cluster *fc, cJSON *obj, const char *ns, const char *name)
{
    char uid[64], ts[32];
    cJSON *m = fake_meta(obj);
    fake_meta_set_str(obj, "name", name);
    fake_meta_set_str(obj, "namespace", *ns ? ns : NULL);
    if (!fake_meta_str(obj, "uid")) {
        fake_uid(fc, uid, sizeof(uid));
        fake_meta_set_str(obj, "uid", uid);
    }
    if (!fake_meta_str(obj, "creationTimestamp")) {
        fake_timestamp(fc, ts, sizeof(ts));
        fake_meta_set_str(obj, "creationTimestamp", ts);
    }
    if (fake_generation(obj) < 1)
        fake_set(m, "generation", cJSON_CreateNumber(1));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "managedFields");
}

/* ---- verbs (fc->mu held) ---- */

static kube_code fake_need_namespace(const struct fake_call *c)
{
    if (c->r->namespaced && !*c->ns)
        return fake_fail(c, 404, "NotFound", "a namespaced resource needs a namespace");
    return KUBE_OK;
}

static kube_code fake_do_get(const struct fake_call *c, cJSON **res)
{
    kube_code rc = fake_need_namespace(c);
    if (rc != KUBE_OK)
        return rc;
    const cJSON *obj = fake_lookup(c->fc, c->r, c->ns, c->name);
    if (!obj)
        return fake_not_found(c);
    *res = cJSON_Duplicate(obj, 1);
    return KUBE_OK;
}

static kube_code fake_do_list(const struct fake_call *c, const struct kube_list_options *o,
                              struct kube_list_page *page)
{
    struct fake_selector ls, fs;
    kube_code rc = fake_selectors_parse(c, o ? o->label_selector : NULL,
                                        o ? o->field_selector : NULL, &ls, &fs);
    if (rc != KUBE_OK)
        return rc;
    char rv[32];
    snprintf(rv, sizeof(rv), "%lu", c->fc->rv);
    page->items = fake_select(c->fc, c->r, c->ns, &ls, &fs);
    page->resource_version = ew_strdup(rv);
    page->continue_token = NULL;
    fake_selector_release(&ls);
    fake_selector_release(&fs);
    return KUBE_OK;
}

/* The object of a create (or of an apply that creates): checks, then stamps. */
static kube_code fake_prepare_new(const struct fake_call *c, const cJSON *obj, cJSON **res)
{
    struct fake_cluster *fc = c->fc;
    kube_code rc = fake_need_namespace(c);
    if (rc != KUBE_OK)
        return rc;
    if (!cJSON_IsObject(obj))
        return fake_bad_request(c, "the body is not an object");
    const char *ons = fake_meta_str(obj, "namespace");
    if (*c->ns && ons && *ons && strcmp(ons, c->ns) != 0)
        return fake_bad_request(
            c, "the namespace of the provided object does not match the namespace sent on the "
               "request");
    const char *gen = fake_meta_str(obj, "generateName");
    char *name = ew_strdup(fake_meta_str(obj, "name"));
    if ((!name || !*name) && gen && *gen) {
        free(name);
        name = fake_generate_name(fc, gen);
    }
    if (!name || !*name) {
        free(name);
        return fake_fail(c, 422, "Invalid",
                         "metadata.name: Required value: name or "
                         "generateName is required");
    }
    struct fake_call named = *c;
    named.name = name;
    if (fake_lookup(fc, c->r, c->ns, name))
        rc =
            fake_fail(&named, 409, "AlreadyExists", "%s \"%s\" already exists", c->r->plural, name);
    else if (c->r->namespaced && !fake_namespace_exists(fc, c->ns))
        rc = fake_fail(&named, 404, "NotFound", "namespaces \"%s\" not found", c->ns);
    if (rc == KUBE_OK) {
        *res = cJSON_Duplicate(obj, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(*res, "status");
        cJSON *m = fake_meta(*res);
        const char *drop[] = {"uid",
                              "creationTimestamp",
                              "deletionTimestamp",
                              "deletionGracePeriodSeconds",
                              "resourceVersion",
                              "generation"};
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            cJSON_DeleteItemFromObjectCaseSensitive(m, drop[i]);
        fake_stamp_new(fc, *res, c->ns, name);
    }
    free(name);
    return rc;
}

static void fake_keep_managed(cJSON *result, const cJSON *old);
static cJSON *fake_managed_fields(const cJSON *old, const cJSON *applied, const char *manager);

static kube_code fake_do_create(const struct fake_call *c, const cJSON *obj, cJSON *managed,
                                int dry_run, cJSON **res)
{
    cJSON *result = NULL;
    kube_code rc = fake_prepare_new(c, obj, &result);
    if (rc != KUBE_OK) {
        cJSON_Delete(managed);
        return rc;
    }
    if (managed)
        fake_set(fake_meta(result), "managedFields", managed);
    if (dry_run) {
        *res = result;
        return KUBE_OK;
    }
    fake_commit(c->fc, c->r, NULL, result, res);
    return KUBE_OK;
}

/* The stored object a write on c->name changes, or the 404. */
static kube_code fake_existing(const struct fake_call *c, cJSON **old)
{
    kube_code rc = fake_need_namespace(c);
    if (rc != KUBE_OK)
        return rc;
    *old = fake_lookup(c->fc, c->r, c->ns, c->name);
    return *old ? KUBE_OK : fake_not_found(c);
}

static kube_code fake_check_subresource(const struct fake_call *c, const char *sub)
{
    if (sub && *sub && strcmp(sub, "status") != 0)
        return fake_fail(c, 404, "NotFound",
                         "the server could not find the requested resource "
                         "(subresource %s)",
                         sub);
    return KUBE_OK;
}

/* 409 when the write names a resourceVersion other than the stored one. */
static kube_code fake_check_rv(const struct fake_call *c, const cJSON *obj, const cJSON *old)
{
    const char *want = fake_meta_str(obj, "resourceVersion");
    if (!want || !*want || strcmp(want, fake_meta_str(old, "resourceVersion")) == 0)
        return KUBE_OK;
    return fake_fail(c, 409, "Conflict",
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                     "please apply your changes to the latest version and try again",
                     c->r->plural, c->name);
}

/*
 * What a write of want makes of old: on the status subresource, old with want's status;
 * else want with old's status. Identity is kept; the caller owns the result.
 */
static cJSON *fake_written(const cJSON *old, const cJSON *want, int status_only)
{
    cJSON *result;
    if (status_only) {
        result = cJSON_Duplicate(old, 1);
        fake_set(result, "status", fake_dup_field(want, "status"));
    } else {
        result = cJSON_Duplicate(want, 1);
        fake_set(result, "status", fake_dup_field(old, "status"));
    }
    fake_keep_managed(result, old);
    fake_keep_identity(result, old);
    return result;
}

/* Commit result (owned) over old, or only show it for a dry run. */
static void fake_finish(const struct fake_call *c, cJSON *old, cJSON *result, int dry_run,
                        cJSON **res)
{
    if (dry_run)
        *res = result;
    else
        fake_commit(c->fc, c->r, old, result, res);
}

static kube_code fake_do_update(const struct fake_call *c, const cJSON *obj,
                                const struct kube_write_options *o, cJSON **res)
{
    cJSON *old = NULL;
    kube_code rc = fake_check_subresource(c, o ? o->subresource : NULL);
    if (rc == KUBE_OK)
        rc = fake_existing(c, &old);
    if (rc != KUBE_OK)
        return rc;
    if (!cJSON_IsObject(obj))
        return fake_bad_request(c, "the body is not an object");
    const char *name = fake_meta_str(obj, "name");
    if (name && strcmp(name, c->name) != 0)
        return fake_bad_request(c, "the name of the object does not match the name on the URL");
    rc = fake_check_rv(c, obj, old);
    if (rc != KUBE_OK)
        return rc;
    int status_only = o && o->subresource && *o->subresource;
    fake_finish(c, old, fake_written(old, obj, status_only), o && o->dry_run, res);
    return KUBE_OK;
}

/* The patched whole object for a merge patch. */
static kube_code fake_merged(const struct fake_call *c, const cJSON *old, const cJSON *patch,
                             cJSON **want)
{
    if (!cJSON_IsObject(patch))
        return fake_bad_request(c, "the merge patch is not a JSON object");
    kube_code rc = fake_check_rv(c, patch, old);
    if (rc != KUBE_OK)
        return rc;
    *want = fake_merge_patch(cJSON_Duplicate(old, 1), patch);
    return KUBE_OK;
}

/*
 * Server-side apply's ownership, as far as the fake keeps it: the label and annotation
 * keys each field manager applied, in metadata.managedFields as kube-apiserver writes it
 * (operation Apply, fieldsV1 "f:metadata" -> "f:labels"/"f:annotations" -> "f:<key>"),
 * other fields not tracked. A manager's next apply removes the keys it set before and no
 * longer gives (the way eastwest drops the network label), and leaves everyone else's.
 */
static const char *const fake_owned_maps[] = {"labels", "annotations"};

static const cJSON *fake_manager_entry(const cJSON *obj, const char *manager)
{
    const cJSON *mf = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "managedFields");
    const cJSON *e;
    cJSON_ArrayForEach(e, mf)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "manager");
        if (cJSON_IsString(m) && manager && strcmp(m->valuestring, manager) == 0)
            return e;
    }
    return NULL;
}

/* old's managedFields with manager's entry made from what applied gives (old may be NULL). */
static cJSON *fake_managed_fields(const cJSON *old, const cJSON *applied, const char *manager)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *mf = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(old, "metadata"), "managedFields");
    const cJSON *e;
    cJSON_ArrayForEach(e, mf)
    {
        if (e != fake_manager_entry(old, manager))
            cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
    }
    cJSON *mine = cJSON_CreateObject();
    cJSON_AddStringToObject(mine, "manager", manager ? manager : "");
    cJSON_AddStringToObject(mine, "operation", "Apply");
    cJSON *fm = cJSON_AddObjectToObject(cJSON_AddObjectToObject(mine, "fieldsV1"), "f:metadata");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(applied, "metadata");
    for (size_t i = 0; i < sizeof(fake_owned_maps) / sizeof(fake_owned_maps[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "f:%s", fake_owned_maps[i]);
        cJSON *keys = cJSON_AddObjectToObject(fm, key);
        const cJSON *kv;
        cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(meta, fake_owned_maps[i]))
        {
            char fk[320];
            snprintf(fk, sizeof(fk), "f:%s", kv->string);
            cJSON_AddObjectToObject(keys, fk);
        }
    }
    cJSON_AddItemToArray(out, mine);
    return out;
}

/* want's labels and annotations after manager applied applied over old. */
static void fake_apply_maps(cJSON *want, const cJSON *old, const cJSON *applied,
                            const char *manager)
{
    const cJSON *mine = fake_manager_entry(old, manager);
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(mine, "fieldsV1"), "f:metadata");
    const cJSON *given_meta = cJSON_GetObjectItemCaseSensitive(applied, "metadata");
    for (size_t i = 0; i < sizeof(fake_owned_maps) / sizeof(fake_owned_maps[0]); i++) {
        const char *map = fake_owned_maps[i];
        char key[64];
        snprintf(key, sizeof(key), "f:%s", map);
        const cJSON *given = cJSON_GetObjectItemCaseSensitive(given_meta, map);
        cJSON *have = cJSON_GetObjectItemCaseSensitive(fake_meta(want), map);
        if (!cJSON_IsObject(have)) {
            cJSON_DeleteItemFromObjectCaseSensitive(fake_meta(want), map);
            have = cJSON_AddObjectToObject(fake_meta(want), map);
        }
        const cJSON *owned;
        cJSON_ArrayForEach(owned, cJSON_GetObjectItemCaseSensitive(fm, key))
        {
            if (strncmp(owned->string, "f:", 2) == 0 &&
                !cJSON_GetObjectItemCaseSensitive(given, owned->string + 2))
                cJSON_DeleteItemFromObjectCaseSensitive(have, owned->string + 2);
        }
        const cJSON *kv;
        cJSON_ArrayForEach(kv, given)
        {
            fake_set(have, kv->string, cJSON_Duplicate(kv, 1));
        }
        if (!have->child)
            cJSON_DeleteItemFromObjectCaseSensitive(fake_meta(want), map);
    }
}

/* The stored object's managedFields onto result (which a write built from a client's body). */
static void fake_keep_managed(cJSON *result, const cJSON *old)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    fake_set(fake_meta(result), "managedFields", fake_dup_field(m, "managedFields"));
}

/* Server-side apply onto old: top-level fields replaced, finalizers when given; labels
 * and annotations key by key as manager owns them (NULL: the status subresource). */
static kube_code fake_applied(const struct fake_call *c, const cJSON *old, const cJSON *applied,
                              const char *manager, cJSON **want)
{
    kube_code rc = fake_check_rv(c, applied, old);
    if (rc != KUBE_OK)
        return rc;
    *want = cJSON_Duplicate(old, 1);
    const cJSON *item;
    cJSON_ArrayForEach(item, applied)
    {
        if (strcmp(item->string, "metadata") != 0)
            fake_set(*want, item->string, cJSON_Duplicate(item, 1));
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(applied, "metadata");
    if (cJSON_GetObjectItemCaseSensitive(m, "finalizers"))
        fake_meta_copy(*want, applied, "finalizers");
    if (manager)
        fake_apply_maps(*want, old, applied, manager);
    return KUBE_OK;
}

/* The apply body: a YAML or JSON object with apiVersion, kind and the path's name. */
static kube_code fake_apply_body(const struct fake_call *c, const char *patch, size_t len,
                                 cJSON **body)
{
    struct kube_error perr = KUBE_ERROR_INIT;
    if (yaml_to_json(patch, len, body, &perr) != KUBE_OK) {
        kube_code rc = fake_bad_request(c, perr.message ? perr.message : "unreadable apply body");
        kube_error_clear(&perr);
        return rc;
    }
    const char *name = fake_meta_str(*body, "name");
    const char *why = !cJSON_IsObject(*body)                                   ? "not an object"
                      : !cJSON_GetObjectItemCaseSensitive(*body, "apiVersion") ? "no apiVersion"
                      : !cJSON_GetObjectItemCaseSensitive(*body, "kind")       ? "no kind"
                      : name && strcmp(name, c->name) != 0 ? "metadata.name differs from the URL"
                                                           : NULL;
    if (!why)
        return KUBE_OK;
    cJSON_Delete(*body);
    *body = NULL;
    return fake_fail(c, 400, "BadRequest", "apply: %s", why);
}

/* An apply of an absent object creates it (not on the status subresource). */
static kube_code fake_apply_create(const struct fake_call *c, cJSON *body, int status_only,
                                   const char *manager, int dry_run, cJSON **res)
{
    if (status_only)
        return fake_not_found(c);
    fake_set(fake_meta(body), "name", cJSON_CreateString(c->name));
    return fake_do_create(c, body, fake_managed_fields(NULL, body, manager), dry_run, res);
}

static kube_code fake_do_apply(const struct fake_call *c, const char *patch, size_t len,
                               const struct kube_patch_options *o, cJSON **res)
{
    cJSON *body = NULL, *want = NULL;
    kube_code rc = fake_need_namespace(c);
    if (rc == KUBE_OK)
        rc = fake_apply_body(c, patch, len, &body);
    if (rc != KUBE_OK)
        return rc;
    int status_only = o->subresource && *o->subresource;
    cJSON *old = fake_lookup(c->fc, c->r, c->ns, c->name);
    if (!old) {
        rc = fake_apply_create(c, body, status_only, o->field_manager, o->dry_run, res);
    } else if ((rc = fake_applied(c, old, body, status_only ? NULL : o->field_manager, &want)) ==
               KUBE_OK) {
        cJSON *result = fake_written(old, want, status_only);
        if (!status_only)
            fake_set(fake_meta(result), "managedFields",
                     fake_managed_fields(old, body, o->field_manager));
        fake_finish(c, old, result, o->dry_run, res);
    }
    cJSON_Delete(want);
    cJSON_Delete(body);
    return rc;
}

static kube_code fake_do_merge(const struct fake_call *c, const char *patch, size_t len,
                               const struct kube_patch_options *o, cJSON **res)
{
    cJSON *old = NULL, *want = NULL;
    kube_code rc = fake_existing(c, &old);
    if (rc != KUBE_OK)
        return rc;
    cJSON *doc = cJSON_ParseWithLength(patch, len);
    rc = fake_merged(c, old, doc, &want);
    if (rc == KUBE_OK)
        fake_finish(c, old, fake_written(old, want, o->subresource && *o->subresource), o->dry_run,
                    res);
    cJSON_Delete(want);
    cJSON_Delete(doc);
    return rc;
}

static kube_code fake_do_patch(const struct fake_call *c, const char *patch, size_t len,
                               const struct kube_patch_options *o, cJSON **res)
{
    kube_code rc = fake_check_subresource(c, o->subresource);
    if (rc != KUBE_OK)
        return rc;
    if (!patch)
        return fake_bad_request(c, "empty patch");
    if (o->type == KUBE_PATCH_APPLY)
        return fake_do_apply(c, patch, len, o, res);
    if (o->type == KUBE_PATCH_MERGE)
        return fake_do_merge(c, patch, len, o, res);
    return fake_fail(c, 415, "UnsupportedMediaType",
                     "the fake API server takes merge patches and server-side apply only");
}

static kube_code fake_check_preconditions(const struct fake_call *c, const cJSON *old,
                                          const struct kube_delete_options *o)
{
    const char *uid = fake_meta_str(old, "uid"), *rv = fake_meta_str(old, "resourceVersion");
    if (o && o->precondition_uid && strcmp(o->precondition_uid, uid ? uid : "") != 0)
        return fake_fail(c, 409, "Conflict",
                         "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                         o->precondition_uid, uid ? uid : "");
    if (o && o->precondition_resource_version &&
        strcmp(o->precondition_resource_version, rv ? rv : "") != 0)
        return fake_fail(c, 409, "Conflict",
                         "Precondition failed: ResourceVersion in precondition: %s, "
                         "ResourceVersion in object meta: %s",
                         o->precondition_resource_version, rv ? rv : "");
    return KUBE_OK;
}

/* DELETE on a stored object: mark it while finalizers hold it, else remove it. */
static void fake_delete_stored(struct fake_cluster *fc, const struct kube_resource *r, cJSON *old)
{
    char ts[32];
    if (!fake_has_finalizers(old)) {
        cJSON *last = cJSON_Duplicate(old, 1);
        fake_bump(fc, last);
        fake_remove(fc, r, old, last);
        cJSON_Delete(last);
        return;
    }
    if (fake_meta_str(old, "deletionTimestamp"))
        return; /* already being deleted: nothing changes */
    cJSON *result = cJSON_Duplicate(old, 1);
    fake_timestamp(fc, ts, sizeof(ts));
    fake_meta_set_str(result, "deletionTimestamp", ts);
    fake_set(fake_meta(result), "deletionGracePeriodSeconds", cJSON_CreateNumber(0));
    fake_commit(fc, r, old, result, NULL);
}

static kube_code fake_do_delete(const struct fake_call *c, const struct kube_delete_options *o)
{
    cJSON *old = NULL;
    kube_code rc = fake_existing(c, &old);
    if (rc == KUBE_OK)
        rc = fake_check_preconditions(c, old, o);
    if (rc == KUBE_OK)
        fake_delete_stored(c->fc, c->r, old);
    return rc;
}

static kube_code fake_do_discover(const struct fake_call *c, const char *group,
                                  struct kube_group_versions *out)
{
    const struct fake_group *g = strmap_get(&c->fc->groups, group ? group : "");
    static const char *const core[] = {"v1"};
    const char *const *versions = g ? (const char *const *)g->versions : core;
    size_t n = g ? g->n : 1;
    if (!g && group && *group)
        return fake_fail(c, 404, "NotFound",
                         "the server could not find the requested resource "
                         "(group %s)",
                         group);
    out->versions = ew_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out->versions[out->n++] = ew_strdup(versions[i]);
    out->preferred = n ? ew_strdup(versions[0]) : NULL;
    return KUBE_OK;
}

/* ---- the client seam ---- */

/* The answer of a verb that made an object: lost on TIMEOUT, else handed over. */
static kube_code fake_answer(const struct fake_call *c, enum fake_fault f, kube_code rc, cJSON *res,
                             cJSON **out)
{
    if (f == FAKE_FAULT_TIMEOUT) {
        cJSON_Delete(res);
        return fake_fault_fail(c, f);
    }
    if (rc == KUBE_OK && out)
        *out = res;
    else
        cJSON_Delete(res);
    return rc;
}

static kube_code fake_op_get(void *impl, const struct kube_resource *r, const char *ns,
                             const char *name, cJSON **out, struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "GET", ns, name, err);
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    cJSON *res = NULL;
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_get(&c, &res);
    pthread_mutex_unlock(&c.fc->mu);
    return fake_answer(&c, f, rc, res, out);
}

static kube_code fake_op_list_page(void *impl, const struct kube_resource *r, const char *ns,
                                   const struct kube_list_options *opts,
                                   struct kube_list_page *page, struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "LIST", ns, NULL, err);
    memset(page, 0, sizeof(*page));
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_list(&c, opts, page);
    pthread_mutex_unlock(&c.fc->mu);
    if (f != FAKE_FAULT_TIMEOUT)
        return rc;
    kube_list_page_release(page);
    return fake_fault_fail(&c, f);
}

static kube_code fake_op_create(void *impl, const struct kube_resource *r, const char *ns,
                                const cJSON *obj, const struct kube_write_options *opts,
                                cJSON **out, struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "POST", ns, fake_meta_str(obj, "name"), err);
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    cJSON *res = NULL;
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_create(&c, obj, NULL, opts && opts->dry_run, &res);
    pthread_mutex_unlock(&c.fc->mu);
    return fake_answer(&c, f, rc, res, out);
}

static kube_code fake_op_update(void *impl, const struct kube_resource *r, const char *ns,
                                const char *name, const cJSON *obj,
                                const struct kube_write_options *opts, cJSON **out,
                                struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "PUT", ns, name, err);
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    cJSON *res = NULL;
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_update(&c, obj, opts, &res);
    pthread_mutex_unlock(&c.fc->mu);
    return fake_answer(&c, f, rc, res, out);
}

static kube_code fake_op_patch(void *impl, const struct kube_resource *r, const char *ns,
                               const char *name, const char *patch, size_t len,
                               const struct kube_patch_options *opts, cJSON **out,
                               struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "PATCH", ns, name, err);
    const struct kube_patch_options o = opts ? *opts : (struct kube_patch_options){0};
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    cJSON *res = NULL;
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_patch(&c, patch, len, &o, &res);
    pthread_mutex_unlock(&c.fc->mu);
    return fake_answer(&c, f, rc, res, out);
}

static kube_code fake_op_delete(void *impl, const struct kube_resource *r, const char *ns,
                                const char *name, const struct kube_delete_options *opts,
                                struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "DELETE", ns, name, err);
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_delete(&c, opts);
    pthread_mutex_unlock(&c.fc->mu);
    return f == FAKE_FAULT_TIMEOUT ? fake_fault_fail(&c, f) : rc;
}

static kube_code fake_op_discover(void *impl, const char *group, struct kube_group_versions *out,
                                  struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, NULL, "DISCOVER", NULL, group, err);
    memset(out, 0, sizeof(*out));
    enum fake_fault f = fake_fault_check(&c);
    if (fake_fault_before(f))
        return fake_fault_fail(&c, f);
    pthread_mutex_lock(&c.fc->mu);
    kube_code rc = fake_do_discover(&c, group, out);
    pthread_mutex_unlock(&c.fc->mu);
    if (f != FAKE_FAULT_TIMEOUT)
        return rc;
    kube_group_versions_release(out);
    return fake_fault_fail(&c, f);
}

/* "" or NULL: from now; else a resourceVersion this cluster gave out. */
static int fake_parse_rv(const char *s, unsigned long now, unsigned long *out)
{
    char *end;
    if (!s || !*s) {
        *out = now;
        return 0;
    }
    if (!isdigit((unsigned char)*s))
        return -1;
    *out = strtoul(s, &end, 10);
    return *end ? -1 : 0;
}

/* The watch's filters from opts; 0, or the 400 in c->err. */
static kube_code fake_watch_new(const struct fake_call *c, const struct kube_watch_options *o,
                                struct fake_watch **out)
{
    struct fake_watch *w = ew_calloc(1, sizeof(*w));
    kube_code rc = fake_selectors_parse(c, o ? o->label_selector : NULL,
                                        o ? o->field_selector : NULL, &w->labels, &w->fields);
    if (rc != KUBE_OK) {
        free(w);
        return rc;
    }
    struct strbuf key = STRBUF_INIT;
    fake_store_key(&key, c->r);
    w->store = strbuf_detach(&key, NULL);
    w->ns = ew_strdup(c->ns);
    *out = w;
    return KUBE_OK;
}

static kube_code fake_op_watch_start(void *impl, const struct kube_resource *r, const char *ns,
                                     const struct kube_watch_options *opts,
                                     kube_watch_event_fn on_event, kube_watch_done_fn on_done,
                                     void *ud, void **handle, struct kube_error *err)
{
    struct fake_call c = fake_call_make(impl, r, "WATCH", ns, NULL, err);
    if (atomic_load(&c.fc->down))
        return fake_fault_fail(&c, FAKE_FAULT_RESET);
    struct fake_cluster *fc = c.fc;
    struct fake_watch *w = NULL;
    unsigned long from = 0;
    pthread_mutex_lock(&fc->mu);
    kube_code rc = fake_watch_new(&c, opts, &w);
    if (rc == KUBE_OK && fake_parse_rv(opts ? opts->resource_version : NULL, fc->rv, &from)) {
        fake_watch_free(w);
        rc = fake_bad_request(&c, "invalid resourceVersion");
    }
    if (rc == KUBE_OK) {
        w->on_event = on_event;
        w->on_done = on_done;
        w->ud = ud;
        for (size_t i = 0; i < fc->nhist; i++)
            if (fc->hist[i].rv > from)
                fake_offer(fc, w, &fc->hist[i]);
        w->next = fc->watches;
        fc->watches = w;
        *handle = w;
    }
    pthread_mutex_unlock(&fc->mu);
    return rc;
}

static void fake_op_watch_stop(void *impl, void *handle)
{
    struct fake_cluster *fc = impl;
    struct fake_watch *w = handle;
    if (!w)
        return;
    pthread_mutex_lock(&fc->mu);
    if (fc->delivering == w && pthread_equal(pthread_self(), fc->thread)) {
        fprintf(stderr, "fake_kube: a watch stopped from its own callback (see client.h)\n");
        abort();
    }
    w->stopped = 1;
    fake_purge(fc, w);
    while (fc->delivering == w)
        pthread_cond_wait(&fc->idle, &fc->mu);
    for (struct fake_watch **p = &fc->watches; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    pthread_mutex_unlock(&fc->mu);
    fake_watch_free(w);
}

static const struct kube_client_ops fake_ops = {
    .get = fake_op_get,
    .list_page = fake_op_list_page,
    .create = fake_op_create,
    .update = fake_op_update,
    .patch = fake_op_patch,
    .delete_object = fake_op_delete,
    .discover_group = fake_op_discover,
    .watch_start = fake_op_watch_start,
    .watch_stop = fake_op_watch_stop,
    .set_config = NULL,
    .release = NULL, /* the cluster outlives its clients */
};

struct kube_client *fake_cluster_client(struct fake_cluster *fc)
{
    struct kube_client *c = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    kube_client_new_with_ops(&fake_ops, fc, &(struct kube_client_options){.name = fc->name}, &c,
                             &err);
    kube_error_clear(&err);
    return c;
}

/* ---- the cluster's life ---- */

struct fake_cluster *fake_cluster_new(const char *name, struct fake_faults *faults)
{
    struct fake_cluster *fc = ew_calloc(1, sizeof(*fc));
    fc->name = ew_strdup(name ? name : "fake");
    fc->name_hash = fake_hash(fc->name);
    fc->faults = faults;
    pthread_mutex_init(&fc->mu, NULL);
    pthread_cond_init(&fc->wake, NULL);
    pthread_cond_init(&fc->idle, NULL);
    strmap_init(&fc->stores);
    strmap_init(&fc->groups);
    if (pthread_create(&fc->thread, NULL, fake_delivery_main, fc) != 0)
        ew_oom(sizeof(pthread_t));
    return fc;
}

static void fake_stores_free(struct strmap *stores)
{
    const char *key;
    void *v;
    for (size_t i = 0; strmap_next(stores, &i, &key, &v);) {
        struct fake_store *st = v;
        const char *k2;
        void *obj;
        for (size_t j = 0; strmap_next(&st->objs, &j, &k2, &obj);)
            cJSON_Delete(obj);
        strmap_clear(&st->objs);
        free(st);
    }
    strmap_clear(stores);
}

static void fake_group_free(struct fake_group *g)
{
    for (size_t i = 0; g && i < g->n; i++)
        free(g->versions[i]);
    if (g)
        free(g->versions);
    free(g);
}

static void fake_groups_free(struct strmap *groups)
{
    const char *key;
    void *v;
    for (size_t i = 0; strmap_next(groups, &i, &key, &v);)
        fake_group_free(v);
    strmap_clear(groups);
}

void fake_cluster_free(struct fake_cluster *fc)
{
    if (!fc)
        return;
    pthread_mutex_lock(&fc->mu);
    for (struct fake_watch *w = fc->watches; w; w = w->next)
        if (!w->ended && !w->stopped)
            fake_enqueue(fc, w, 0, NULL, 1);
    fc->shutdown = 1;
    pthread_cond_signal(&fc->wake);
    pthread_mutex_unlock(&fc->mu);
    pthread_join(fc->thread, NULL);
    while (fc->watches) {
        struct fake_watch *w = fc->watches;
        fc->watches = w->next;
        fake_watch_free(w);
    }
    for (size_t i = 0; i < fc->nhist; i++) {
        free(fc->hist[i].store);
        cJSON_Delete(fc->hist[i].obj);
        cJSON_Delete(fc->hist[i].prev);
    }
    free(fc->hist);
    fake_stores_free(&fc->stores);
    fake_groups_free(&fc->groups);
    pthread_cond_destroy(&fc->wake);
    pthread_cond_destroy(&fc->idle);
    pthread_mutex_destroy(&fc->mu);
    free(fc->name);
    free(fc);
}

void fake_cluster_set_down(struct fake_cluster *fc, int down)
{
    pthread_mutex_lock(&fc->mu);
    atomic_store(&fc->down, down ? 1 : 0);
    if (down)
        for (struct fake_watch *w = fc->watches; w; w = w->next)
            if (!w->ended && !w->stopped)
                fake_enqueue(fc, w, 0, NULL, 1);
    pthread_cond_signal(&fc->wake);
    pthread_mutex_unlock(&fc->mu);
}

void fake_cluster_serve_group(struct fake_cluster *fc, const char *group,
                              const char *const *versions, size_t n)
{
    struct fake_group *g = ew_calloc(1, sizeof(*g));
    g->versions = ew_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        g->versions[g->n++] = ew_strdup(versions[i]);
    pthread_mutex_lock(&fc->mu);
    fake_group_free(strmap_put(&fc->groups, group ? group : "", g));
    pthread_mutex_unlock(&fc->mu);
}

/* ---- direct access ---- */

void fake_cluster_put(struct fake_cluster *fc, const struct kube_resource *r, const cJSON *obj)
{
    const char *ns = r->namespaced ? fake_meta_str(obj, "namespace") : "";
    const char *name = fake_meta_str(obj, "name");
    if (!cJSON_IsObject(obj) || !name || !ns)
        return;
    pthread_mutex_lock(&fc->mu);
    cJSON *old = fake_lookup(fc, r, ns, name);
    cJSON *result = cJSON_Duplicate(obj, 1);
    if (old) {
        fake_keep_identity(result, old);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(fake_meta(result), "resourceVersion");
        fake_stamp_new(fc, result, ns, name);
    }
    fake_keep_managed(result, old);
    fake_commit(fc, r, old, result, NULL);
    pthread_mutex_unlock(&fc->mu);
}

cJSON *fake_cluster_get(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                        const char *name)
{
    pthread_mutex_lock(&fc->mu);
    const cJSON *obj = fake_lookup(fc, r, ns, name);
    cJSON *copy = obj ? cJSON_Duplicate(obj, 1) : NULL;
    pthread_mutex_unlock(&fc->mu);
    return copy;
}

cJSON *fake_cluster_list(struct fake_cluster *fc, const struct kube_resource *r, const char *ns)
{
    pthread_mutex_lock(&fc->mu);
    cJSON *items = fake_select(fc, r, r->namespaced && ns ? ns : "", NULL, NULL);
    pthread_mutex_unlock(&fc->mu);
    return items;
}

int fake_cluster_delete(struct fake_cluster *fc, const struct kube_resource *r, const char *ns,
                        const char *name)
{
    pthread_mutex_lock(&fc->mu);
    cJSON *old = fake_lookup(fc, r, ns, name);
    if (old)
        fake_delete_stored(fc, r, old);
    pthread_mutex_unlock(&fc->mu);
    return old != NULL;
}

static int fake_by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One store's objects, sorted (the store is not empty). */
static cJSON *fake_store_dump(const struct fake_store *st)
{
    const cJSON **all = ew_calloc(strmap_size(&st->objs), sizeof(*all));
    size_t n = 0;
    const char *key;
    void *v;
    for (size_t i = 0; strmap_next(&st->objs, &i, &key, &v);)
        all[n++] = v;
    qsort(all, n, sizeof(*all), fake_by_namespace_name);
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(items, cJSON_Duplicate(all[i], 1));
    free(all);
    return items;
}

cJSON *fake_cluster_dump(struct fake_cluster *fc)
{
    cJSON *dump = cJSON_CreateObject();
    pthread_mutex_lock(&fc->mu);
    const char **keys = ew_calloc(strmap_size(&fc->stores) + 1, sizeof(*keys));
    size_t n = 0;
    const char *key;
    void *v;
    for (size_t i = 0; strmap_next(&fc->stores, &i, &key, &v);)
        if (strmap_size(&((struct fake_store *)v)->objs))
            keys[n++] = key;
    qsort(keys, n, sizeof(*keys), fake_by_key);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToObject(dump, keys[i], fake_store_dump(strmap_get(&fc->stores, keys[i])));
    pthread_mutex_unlock(&fc->mu);
    free(keys);
    return dump;
}

unsigned long fake_cluster_writes(struct fake_cluster *fc)
{
    pthread_mutex_lock(&fc->mu);
    unsigned long n = fc->writes;
    pthread_mutex_unlock(&fc->mu);
    return n;
}
