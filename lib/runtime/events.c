/*
 * events.c: recorder with series folding and per-object rate limits (see events.h).
 *
 * State under r->mu: "seen" maps an event's identity (object uid, type, reason,
 * action, note) to the Event created for it (name, namespace, count, time);
 * "buckets" maps an object uid to its token bucket. Entries older than the
 * folding window are pruned when the map grows.
 */
#include "events.h"
#include "../base/strmap.h"
#include "../base/timeutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLD_WINDOW 360.0
#define PRUNE_AT    4096

static const struct kube_resource EVENTS = {"events.k8s.io", "v1", "events", 1};

struct seen_event {
    char *name, *ns;
    int count;
    double at;
};

struct bucket {
    double tokens;
    double at;
};

struct rt_recorder {
    struct rt_recorder_options o;
    char *controller, *instance;
    pthread_mutex_t mu;
    struct strmap seen;
    struct strmap buckets;
    unsigned long counter;
};

struct rt_recorder *rt_recorder_new(const struct rt_recorder_options *opts)
{
    struct rt_recorder *r = ew_calloc(1, sizeof(*r));
    r->o = *opts;
    r->controller =
        ew_strdup(opts->controller ? opts->controller : "eastwest.io/eastwest-operator");
    r->instance = ew_strdup(opts->instance ? opts->instance : "eastwest-operator");
    if (r->o.burst <= 0)
        r->o.burst = 25;
    if (r->o.refill_s <= 0)
        r->o.refill_s = 300;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void seen_free(struct seen_event *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->ns);
    free(s);
}

void rt_recorder_free(struct rt_recorder *r)
{
    if (!r)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&r->seen, &i, &k, &v);)
        seen_free(v);
    strmap_clear(&r->seen);
    for (size_t i = 0; strmap_next(&r->buckets, &i, &k, &v);)
        free(v);
    strmap_clear(&r->buckets);
    pthread_mutex_destroy(&r->mu);
    free(r->controller);
    free(r->instance);
    free(r);
}

/* Must hold mu. Returns 1 if a token was taken. */
static int take_token(struct rt_recorder *r, const char *uid)
{
    double now = ew_now_mono();
    struct bucket *b = strmap_get(&r->buckets, uid);
    if (!b) {
        b = ew_calloc(1, sizeof(*b));
        b->tokens = r->o.burst;
        b->at = now;
        strmap_put(&r->buckets, uid, b);
    }
    b->tokens += (now - b->at) / r->o.refill_s;
    if (b->tokens > r->o.burst)
        b->tokens = r->o.burst;
    b->at = now;
    if (b->tokens < 1)
        return 0;
    b->tokens -= 1;
    return 1;
}

/* Must hold mu. */
static void prune(struct rt_recorder *r)
{
    if (strmap_size(&r->seen) < PRUNE_AT)
        return;
    double now = ew_now_mono();
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&r->seen, &i, &k, &v);) {
        struct seen_event *s = v;
        if (now - s->at > FOLD_WINDOW) {
            strmap_remove(&r->seen, k);
            seen_free(s);
        }
    }
}

static cJSON *build_event(struct rt_recorder *r, const struct rt_object_ref *ref, const char *ns,
                          const char *name, const char *type, const char *reason,
                          const char *action, const char *note)
{
    char ts[64];
    ew_time_format_micro_now(ts, sizeof(ts));
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "apiVersion", "events.k8s.io/v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON *meta = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", ns);
    cJSON_AddStringToObject(ev, "eventTime", ts);
    cJSON_AddStringToObject(ev, "reportingController", r->controller);
    cJSON_AddStringToObject(ev, "reportingInstance", r->instance);
    cJSON_AddStringToObject(ev, "action", action);
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "note", note);
    cJSON *reg = cJSON_AddObjectToObject(ev, "regarding");
    cJSON_AddStringToObject(reg, "apiVersion", ref->api_version);
    cJSON_AddStringToObject(reg, "kind", ref->kind);
    cJSON_AddStringToObject(reg, "name", ref->name);
    if (ref->namespace_)
        cJSON_AddStringToObject(reg, "namespace", ref->namespace_);
    if (ref->uid)
        cJSON_AddStringToObject(reg, "uid", ref->uid);
    return ev;
}

static int fold(struct rt_recorder *r, struct seen_event *s)
{
    char ts[64], patch[256];
    struct kube_error err = KUBE_ERROR_INIT;
    ew_time_format_micro_now(ts, sizeof(ts));
    snprintf(patch, sizeof(patch), "{\"series\":{\"count\":%d,\"lastObservedTime\":\"%s\"}}",
             s->count, ts);
    const struct kube_patch_options po = {.type = KUBE_PATCH_MERGE};
    kube_code rc =
        kube_patch(r->o.client, &EVENTS, s->ns, s->name, patch, strlen(patch), &po, NULL, &err);
    if (rc != KUBE_OK)
        ew_log(r->o.log, EW_LOG_WARN, "cannot update event series", "event", s->name, "error",
               err.message, NULL);
    kube_error_clear(&err);
    return rc == KUBE_OK ? 2 : 0;
}

int rt_event(struct rt_recorder *r, const struct rt_object_ref *regarding, const char *type,
             const char *reason, const char *action, const char *fmt, ...)
{
    struct strbuf note = STRBUF_INIT, id = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&note, fmt, ap);
    va_end(ap);
    strbuf_truncate_utf8(&note, 1024); /* the API server's limit for note, in bytes */
    const char *uid = regarding->uid ? regarding->uid : regarding->name;
    strbuf_addf(&id, "%s\x1f%s\x1f%s\x1f%s\x1f%s", uid, type, reason, action, note.buf);
    int result = 0;
    pthread_mutex_lock(&r->mu);
    struct seen_event *s = strmap_get(&r->seen, id.buf);
    double now = ew_now_mono();
    if (s && now - s->at <= FOLD_WINDOW) {
        s->count++;
        s->at = now;
        result = fold(r, s);
    } else if (take_token(r, uid)) {
        const char *ns = regarding->namespace_ ? regarding->namespace_ : "default";
        struct strbuf name = STRBUF_INIT;
        strbuf_addf(&name, "%s.%lx%04lx", regarding->name, (unsigned long)time(NULL),
                    ++r->counter & 0xffff);
        cJSON *ev = build_event(r, regarding, ns, name.buf, type, reason, action, note.buf);
        struct kube_error err = KUBE_ERROR_INIT;
        if (kube_create(r->o.client, &EVENTS, ns, ev, NULL, NULL, &err) == KUBE_OK) {
            if (s) {
                strmap_remove(&r->seen, id.buf);
                seen_free(s);
            }
            s = ew_calloc(1, sizeof(*s));
            s->name = strbuf_detach(&name, NULL);
            s->ns = ew_strdup(ns);
            s->count = 1;
            s->at = now;
            prune(r);
            strmap_put(&r->seen, id.buf, s);
            result = 1;
        } else {
            ew_log(r->o.log, EW_LOG_WARN, "cannot record event", "reason", reason, "object",
                   regarding->name, "error", err.message, NULL);
        }
        kube_error_clear(&err);
        cJSON_Delete(ev);
        strbuf_release(&name);
    }
    pthread_mutex_unlock(&r->mu);
    strbuf_release(&note);
    strbuf_release(&id);
    return result;
}

void rt_record(const struct rt_event_target *t, const char *type, const char *reason,
               const char *action, const char *fmt, ...)
{
    struct strbuf note = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&note, fmt, ap);
    va_end(ap);
    enum ew_log_level level = strcmp(type, "Warning") == 0 ? EW_LOG_WARN : EW_LOG_INFO;
    const struct rt_object_ref *ref = t->regarding;
    if (ref->namespace_)
        ew_log(t->log, level, note.buf, t->log_key, ref->name, "namespace", ref->namespace_,
               "reason", reason, NULL);
    else
        ew_log(t->log, level, note.buf, t->log_key, ref->name, "reason", reason, NULL);
    if (t->recorder)
        rt_event(t->recorder, ref, type, reason, action, "%s", note.buf);
    strbuf_release(&note);
}
