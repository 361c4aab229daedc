/*
 * leader.c: Lease-based leader election (see leader.h for the algorithm).
 */
#include "leader.h"
#include "../base/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rt_leader {
    struct rt_leader_options o;
    char *ns, *name, *identity;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stopping;
    int leading;
    /* what we last saw of the Lease */
    char *observed_holder;
    char *observed_renew;
    double observed_at; /* our monotonic clock when it last changed */
    double last_renewed;
};

static const char *spec_str(const cJSON *lease, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lease, "spec"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int spec_int(const cJSON *lease, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lease, "spec"), field);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static void fill_spec(struct rt_leader *l, cJSON *lease, int transitions, int acquire)
{
    char ts[64];
    ew_time_format_micro_now(ts, sizeof(ts));
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (!spec)
        spec = cJSON_AddObjectToObject(lease, "spec");
    cJSON_DeleteItemFromObject(spec, "holderIdentity");
    cJSON_DeleteItemFromObject(spec, "leaseDurationSeconds");
    cJSON_DeleteItemFromObject(spec, "renewTime");
    cJSON_DeleteItemFromObject(spec, "leaseTransitions");
    cJSON_AddStringToObject(spec, "holderIdentity", l->identity);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (int)l->o.lease_duration);
    cJSON_AddStringToObject(spec, "renewTime", ts);
    cJSON_AddNumberToObject(spec, "leaseTransitions", transitions);
    if (acquire) {
        cJSON_DeleteItemFromObject(spec, "acquireTime");
        cJSON_AddStringToObject(spec, "acquireTime", ts);
    }
}

static void observe(struct rt_leader *l, const char *holder, const char *renew)
{
    int changed = !l->observed_holder || !holder || strcmp(l->observed_holder, holder) != 0 ||
                  !l->observed_renew || !renew || strcmp(l->observed_renew, renew) != 0;
    if (!changed)
        return;
    free(l->observed_holder);
    free(l->observed_renew);
    l->observed_holder = ew_strdup(holder);
    l->observed_renew = ew_strdup(renew);
    l->observed_at = ew_now_mono();
}

static kube_code create_lease(struct rt_leader *l, double deadline, double *sent,
                              struct kube_error *err)
{
    cJSON *lease = cJSON_CreateObject();
    cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(lease, "kind", "Lease");
    cJSON *meta = cJSON_AddObjectToObject(lease, "metadata");
    cJSON_AddStringToObject(meta, "name", l->name);
    cJSON_AddStringToObject(meta, "namespace", l->ns);
    fill_spec(l, lease, 0, 1);
    const struct kube_write_options wo = {.deadline = deadline};
    *sent = ew_now_mono();
    kube_code rc = kube_create(l->o.client, &KUBE_RES_LEASES, l->ns, lease, &wo, NULL, err);
    cJSON_Delete(lease);
    return rc;
}

/* One attempt to acquire or renew, ended by deadline (its requests and their retries
 * included: kube_request_by). Returns 1 if we hold the lease after it; then *sent is when
 * the write that took or renewed it began (the server wrote renewTime after that). */
static int try_acquire_or_renew(struct rt_leader *l, double deadline, double *sent)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *lease = NULL;
    int held = 0;
    const struct kube_write_options wo = {.deadline = deadline};
    kube_code rc =
        kube_get_by(l->o.client, &KUBE_RES_LEASES, l->ns, l->name, deadline, &lease, &err);
    if (rc == KUBE_E_NOT_FOUND) {
        held = create_lease(l, deadline, sent, &err) == KUBE_OK;
    } else if (rc == KUBE_OK) {
        const char *holder = spec_str(lease, "holderIdentity");
        observe(l, holder, spec_str(lease, "renewTime"));
        int mine = holder && strcmp(holder, l->identity) == 0;
        int free_now = !holder || !*holder;
        int expired = ew_now_mono() - l->observed_at > l->o.lease_duration;
        if (mine || free_now || expired) {
            int transitions = spec_int(lease, "leaseTransitions") + (mine ? 0 : 1);
            fill_spec(l, lease, transitions, !mine);
            *sent = ew_now_mono();
            held = kube_update(l->o.client, &KUBE_RES_LEASES, l->ns, l->name, lease, &wo, NULL,
                               &err) == KUBE_OK;
        }
    }
    if (!held && err.code != KUBE_OK && err.code != KUBE_E_CONFLICT)
        ew_log(l->o.log, EW_LOG_WARN, "leader election: lease update failed", "lease", l->name,
               "reason", kube_code_name(err.code), "error", err.message, NULL);
    cJSON_Delete(lease);
    kube_error_clear(&err);
    return held;
}

/* Sleep up to seconds unless stopping; returns 1 when stopping. */
static int wait_or_stop(struct rt_leader *l, double seconds)
{
    struct timespec ts;
    ew_monotonic_deadline(&ts, seconds);
    pthread_mutex_lock(&l->mu);
    while (!l->stopping && pthread_cond_timedwait(&l->cond, &l->mu, &ts) == 0)
        ;
    int stop = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stop;
}

static void set_leading(struct rt_leader *l, int leading)
{
    pthread_mutex_lock(&l->mu);
    l->leading = leading;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* Renew until stopped (0) or lost (1). The Lease is held from when the last successful
 * write of it began (the server wrote renewTime after that; a standby counts its lease
 * duration from when it saw that renewTime), and must be renewed by that time plus the
 * renew deadline:
 * every attempt, its requests and retries, ends by then, and so does every wait between
 * attempts, so the loss is declared at the deadline even when the home connection hangs
 * (an attempt checked only after it returned could outlive the lease, issue 31). */
static int renew(struct rt_leader *l)
{
    for (;;) {
        double deadline = l->last_renewed + l->o.renew_deadline;
        double left = deadline - ew_now_mono(), wait = l->o.retry_period;
        if (wait > left)
            wait = left > 0 ? left : 0;
        if (wait_or_stop(l, wait))
            return 0;
        double sent = 0;
        if (ew_now_mono() < deadline && try_acquire_or_renew(l, deadline, &sent)) {
            l->last_renewed = sent;
            continue;
        }
        if (ew_now_mono() >= deadline)
            return 1;
    }
}

static void *elector_main(void *arg)
{
    struct rt_leader *l = arg;
    /* campaign */
    double sent = 0;
    while (!wait_or_stop(l, 0)) {
        if (try_acquire_or_renew(l, ew_now_mono() + l->o.renew_deadline, &sent))
            break;
        if (wait_or_stop(l, l->o.retry_period * (1.0 + 0.2 * rand() / RAND_MAX)))
            return NULL;
    }
    if (wait_or_stop(l, 0))
        return NULL;
    l->last_renewed = sent;
    set_leading(l, 1);
    ew_log(l->o.log, EW_LOG_INFO, "became leader", "lease", l->name, "identity", l->identity, NULL);
    if (l->o.on_started)
        l->o.on_started(l->o.ud);
    if (!renew(l))
        return NULL;
    set_leading(l, 0);
    ew_log(l->o.log, EW_LOG_ERROR, "leadership lost: lease not renewed in time", "lease", l->name,
           "identity", l->identity, NULL);
    if (l->o.on_stopped)
        l->o.on_stopped(l->o.ud);
    return NULL;
}

static void free_leader(struct rt_leader *l)
{
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l->observed_holder);
    free(l->observed_renew);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    free(l);
}

struct rt_leader *rt_leader_start(const struct rt_leader_options *opts)
{
    struct rt_leader *l = ew_calloc(1, sizeof(*l));
    l->o = *opts;
    l->ns = ew_strdup(opts->namespace_);
    l->name = ew_strdup(opts->name);
    l->identity = ew_strdup(opts->identity);
    if (l->o.lease_duration <= 0)
        l->o.lease_duration = 15;
    if (l->o.renew_deadline <= 0)
        l->o.renew_deadline = 10;
    if (l->o.retry_period <= 0)
        l->o.retry_period = 2;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&l->thread, NULL, elector_main, l);
    if (e != 0) {
        ew_log(l->o.log, EW_LOG_ERROR, "cannot start the leader election thread", "lease", l->name,
               "error", strerror(e), NULL);
        free_leader(l);
        return NULL;
    }
    return l;
}

int rt_leader_is_leader(struct rt_leader *l)
{
    pthread_mutex_lock(&l->mu);
    int v = l->leading;
    pthread_mutex_unlock(&l->mu);
    return v;
}

int rt_leader_wait(struct rt_leader *l, double timeout)
{
    double end = ew_now_mono() + timeout;
    while (!rt_leader_is_leader(l) && ew_now_mono() < end)
        ew_sleep(0.05);
    return rt_leader_is_leader(l);
}

/* Clear the holder so a successor does not wait for the lease to expire. */
static void give_up(struct rt_leader *l)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *lease = NULL;
    if (kube_get(l->o.client, &KUBE_RES_LEASES, l->ns, l->name, &lease, &err) == KUBE_OK) {
        const char *holder = spec_str(lease, "holderIdentity");
        if (holder && strcmp(holder, l->identity) == 0) {
            cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
            cJSON_DeleteItemFromObject(spec, "holderIdentity");
            cJSON_DeleteItemFromObject(spec, "leaseDurationSeconds");
            cJSON_AddNumberToObject(spec, "leaseDurationSeconds", 1);
            kube_update(l->o.client, &KUBE_RES_LEASES, l->ns, l->name, lease, NULL, NULL, &err);
        }
    }
    cJSON_Delete(lease);
    kube_error_clear(&err);
}

void rt_leader_release(struct rt_leader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    if (l->leading) {
        give_up(l);
        ew_log(l->o.log, EW_LOG_INFO, "leadership released", "lease", l->name, NULL);
    }
    free_leader(l);
}
