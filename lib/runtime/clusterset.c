/*
 * clusterset.c: named, refcounted member clients (see clusterset.h).
 */
#include "clusterset.h"
#include "kube_metrics.h"
#include "../base/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct member {
    char *name;
    char *identity; /* where the client talks to: identity_of() */
    char *server;
    struct kube_client *client;
    struct rt_kube_metrics *km;
    int refs; /* the set's own reference counts as one while the member is in the set */
    int reachable;
    char *last_error;
    struct strmap joined; /* groups (MeshNetworks) whose writers may use it; values unused */
    int writers;          /* between begin_write and end_write */
};

struct rt_clusterset {
    pthread_mutex_t mu;
    pthread_cond_t drained;  /* a member's writers dropped to zero */
    struct strmap members;   /* name -> struct member */
    struct member **retired; /* removed, waiting for their last release */
    size_t nretired;
    struct ew_logger *log;
    struct rt_metrics *metrics;
    struct rt_metric *m_reachable;
    rt_cluster_connect_fn connect;
    void *connect_ud;
};

static void collect(void *ud, struct rt_metrics *m)
{
    struct rt_clusterset *cs = ud;
    const char *k;
    void *v;
    (void)m;
    rt_metric_reset(cs->m_reachable);
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; strmap_next(&cs->members, &i, &k, &v);) {
        const char *lv[] = {k};
        rt_metric_set(cs->m_reachable, lv, ((struct member *)v)->reachable ? 1 : 0);
    }
    pthread_mutex_unlock(&cs->mu);
}

static kube_code connect_http(void *ud, const char *name, const struct kube_rest_config *cfg,
                              struct kube_client **out, struct kube_error *err)
{
    struct rt_clusterset *cs = ud;
    const struct kube_client_options o = {.log = cs->log, .name = name};
    return kube_client_new(cfg, &o, out, err);
}

struct rt_clusterset *rt_clusterset_new(const struct rt_clusterset_options *opts)
{
    struct rt_clusterset *cs = ew_calloc(1, sizeof(*cs));
    struct rt_metrics *metrics = opts->metrics;
    pthread_mutex_init(&cs->mu, NULL);
    pthread_cond_init(&cs->drained, NULL);
    cs->log = opts->log;
    cs->metrics = metrics;
    cs->connect = opts->connect ? opts->connect : connect_http;
    cs->connect_ud = opts->connect ? opts->connect_ud : cs;
    if (metrics) {
        cs->m_reachable = rt_metrics_register(metrics, RT_GAUGE, "eastwest_cluster_reachable",
                                              "1 when the member cluster's API server answers.",
                                              "cluster", NULL, 0);
        rt_metrics_add_collector(metrics, collect, cs);
    }
    return cs;
}

/* What makes a client talk to one API server and not another: its URL, how its
 * certificate is checked. Credentials are not in it (they rotate in place). */
static char *identity_of(const struct kube_rest_config *cfg)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s\n%s\n%d\n", cfg->server ? cfg->server : "",
                cfg->tls_server_name ? cfg->tls_server_name : "", cfg->insecure_skip_tls_verify);
    if (cfg->ca.len)
        strbuf_add(&sb, (const char *)cfg->ca.data, cfg->ca.len);
    return strbuf_detach(&sb, NULL);
}

static void member_free(struct member *m)
{
    rt_kube_metrics_remove(m->km);
    kube_client_free(m->client);
    strmap_clear(&m->joined);
    free(m->name);
    free(m->identity);
    free(m->server);
    free(m->last_error);
    free(m);
}

void rt_clusterset_free(struct rt_clusterset *cs)
{
    if (!cs)
        return;
    if (cs->metrics)
        rt_metrics_remove_collector(cs->metrics, collect, cs);
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&cs->members, &i, &k, &v);)
        member_free(v);
    strmap_clear(&cs->members);
    for (size_t i = 0; i < cs->nretired; i++)
        member_free(cs->retired[i]);
    free(cs->retired);
    pthread_cond_destroy(&cs->drained);
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}

static struct member *member_new(struct rt_clusterset *cs, const char *name,
                                 const struct kube_rest_config *cfg, struct kube_client *c)
{
    struct member *m = ew_calloc(1, sizeof(*m));
    m->name = ew_strdup(name);
    m->identity = identity_of(cfg);
    m->server = ew_strdup(cfg->server);
    m->client = c;
    m->refs = 1;
    m->reachable = 1;
    strmap_init(&m->joined);
    if (cs->metrics)
        m->km = rt_kube_metrics_add(cs->metrics, c, name);
    return m;
}

static struct member *unref_locked(struct rt_clusterset *cs, struct member *m);

/* Must hold mu. Take m out of the set: freed once its last holder releases it. Returns it
 * when that was the last reference (the caller frees it after unlocking). */
static struct member *retire_locked(struct rt_clusterset *cs, struct member *m)
{
    strmap_remove(&cs->members, m->name);
    cs->retired = ew_realloc(cs->retired, (cs->nretired + 1) * sizeof(*cs->retired));
    cs->retired[cs->nretired++] = m;
    return unref_locked(cs, m);
}

/* The member's cluster is another one now (identity_of changed): a new client in its
 * place, the old one retired, the groups it had joined carried over. */
static int replace(struct rt_clusterset *cs, const char *name, const struct kube_rest_config *cfg,
                   struct kube_error *err)
{
    struct kube_client *c = NULL;
    if (cs->connect(cs->connect_ud, name, cfg, &c, err) != KUBE_OK)
        return -1;
    struct member *fresh = member_new(cs, name, cfg, c), *dead = NULL;
    pthread_mutex_lock(&cs->mu);
    struct member *old = strmap_get(&cs->members, name);
    if (old) {
        const char *k;
        for (size_t i = 0; strmap_next(&old->joined, &i, &k, NULL);)
            strmap_put(&fresh->joined, k, fresh);
        dead = retire_locked(cs, old);
    }
    strmap_put(&cs->members, name, fresh);
    pthread_mutex_unlock(&cs->mu);
    if (dead)
        member_free(dead);
    char *shown = kube_url_redacted(cfg->server);
    ew_log(cs->log, EW_LOG_INFO,
           "member cluster has a new server or CA: new client, its caches start again", "cluster",
           name, "server", shown, NULL);
    free(shown);
    return 2;
}

int rt_clusterset_apply(struct rt_clusterset *cs, const char *name,
                        const struct kube_rest_config *cfg, struct kube_error *err)
{
    char *identity = identity_of(cfg);
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    if (m && strcmp(m->identity, identity) != 0) {
        pthread_mutex_unlock(&cs->mu);
        free(identity);
        return replace(cs, name, cfg, err);
    }
    free(identity);
    if (m) {
        kube_code rc = kube_client_set_config(m->client, cfg, err);
        pthread_mutex_unlock(&cs->mu);
        if (rc == KUBE_OK)
            ew_log(cs->log, EW_LOG_INFO, "member cluster credentials updated", "cluster", name,
                   NULL);
        return rc == KUBE_OK ? 0 : -1;
    }
    pthread_mutex_unlock(&cs->mu);
    struct kube_client *c = NULL;
    if (cs->connect(cs->connect_ud, name, cfg, &c, err) != KUBE_OK)
        return -1;
    m = member_new(cs, name, cfg, c);
    pthread_mutex_lock(&cs->mu);
    struct member *raced = strmap_get(&cs->members, name);
    if (raced) { /* someone added it meanwhile: keep theirs, update its settings */
        pthread_mutex_unlock(&cs->mu);
        member_free(m);
        return rt_clusterset_apply(cs, name, cfg, err);
    }
    strmap_put(&cs->members, name, m);
    pthread_mutex_unlock(&cs->mu);
    char *shown = kube_url_redacted(cfg->server);
    ew_log(cs->log, EW_LOG_INFO, "member cluster added", "cluster", name, "server", shown, NULL);
    free(shown);
    return 1;
}

/* Must hold mu. Drop one reference; a retired member at zero is freed by the caller. */
static struct member *unref_locked(struct rt_clusterset *cs, struct member *m)
{
    if (--m->refs > 0)
        return NULL;
    for (size_t i = 0; i < cs->nretired; i++) {
        if (cs->retired[i] == m) {
            cs->retired[i] = cs->retired[--cs->nretired];
            break;
        }
    }
    return m;
}

int rt_clusterset_remove(struct rt_clusterset *cs, const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    struct member *dead = NULL;
    if (m) {
        const char *k;
        for (size_t i = 0; strmap_next(&m->joined, &i, &k, NULL);)
            strmap_remove(&m->joined, k);
        dead = retire_locked(cs, m);
    }
    pthread_mutex_unlock(&cs->mu);
    if (m)
        ew_log(cs->log, EW_LOG_INFO, "member cluster removed", "cluster", name, NULL);
    if (dead)
        member_free(dead);
    return m != NULL;
}

struct kube_client *rt_clusterset_acquire(struct rt_clusterset *cs, const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    if (m)
        m->refs++;
    pthread_mutex_unlock(&cs->mu);
    return m ? m->client : NULL;
}

static struct member *find_by_client(struct rt_clusterset *cs, struct kube_client *c)
{
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&cs->members, &i, &k, &v);)
        if (((struct member *)v)->client == c)
            return v;
    for (size_t i = 0; i < cs->nretired; i++)
        if (cs->retired[i]->client == c)
            return cs->retired[i];
    return NULL;
}

void rt_clusterset_release(struct rt_clusterset *cs, struct kube_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    struct member *m = find_by_client(cs, c);
    struct member *dead = m ? unref_locked(cs, m) : NULL;
    pthread_mutex_unlock(&cs->mu);
    if (dead)
        member_free(dead);
}

void rt_clusterset_set_reachable(struct rt_clusterset *cs, const char *name, int reachable,
                                 const char *error)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    int changed = m && m->reachable != (reachable != 0);
    if (m) {
        m->reachable = reachable != 0;
        free(m->last_error);
        m->last_error = reachable ? NULL : ew_strdup(error);
    }
    pthread_mutex_unlock(&cs->mu);
    if (changed)
        ew_log(cs->log, reachable ? EW_LOG_INFO : EW_LOG_WARN,
               reachable ? "member cluster reachable" : "member cluster unreachable", "cluster",
               name, "error", error ? error : "", NULL);
}

int rt_clusterset_reachable(struct rt_clusterset *cs, const char *name, char **error)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    int r = m ? m->reachable : -1;
    if (error)
        *error = m ? ew_strdup(m->last_error) : NULL;
    pthread_mutex_unlock(&cs->mu);
    return r;
}

char **rt_clusterset_names(struct rt_clusterset *cs, size_t *n)
{
    pthread_mutex_lock(&cs->mu);
    char **names = ew_calloc(strmap_size(&cs->members) + 1, sizeof(char *));
    size_t k = 0;
    const char *key;
    for (size_t i = 0; strmap_next(&cs->members, &i, &key, NULL);)
        names[k++] = ew_strdup(key);
    pthread_mutex_unlock(&cs->mu);
    *n = k;
    return names;
}

int rt_clusterset_is_current(struct rt_clusterset *cs, const char *name, struct kube_client *c)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    int current = m && m->client == c;
    pthread_mutex_unlock(&cs->mu);
    return current;
}

int rt_clusterset_join(struct rt_clusterset *cs, const char *group, const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    if (m)
        strmap_put(&m->joined, group, m);
    pthread_mutex_unlock(&cs->mu);
    return m != NULL;
}

void rt_clusterset_leave(struct rt_clusterset *cs, const char *group, const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    if (m) {
        strmap_remove(&m->joined, group);
        m->refs++; /* it cannot be freed while we wait */
        while (m->writers > 0)
            pthread_cond_wait(&cs->drained, &cs->mu);
    }
    struct member *dead = m ? unref_locked(cs, m) : NULL;
    pthread_mutex_unlock(&cs->mu);
    if (dead)
        member_free(dead);
}

int rt_clusterset_joined(struct rt_clusterset *cs, const char *group, const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    int joined = m && strmap_contains(&m->joined, group);
    pthread_mutex_unlock(&cs->mu);
    return joined;
}

struct kube_client *rt_clusterset_begin_write(struct rt_clusterset *cs, const char *group,
                                              const char *name)
{
    pthread_mutex_lock(&cs->mu);
    struct member *m = strmap_get(&cs->members, name);
    if (m && strmap_contains(&m->joined, group)) {
        m->refs++;
        m->writers++;
    } else {
        m = NULL;
    }
    pthread_mutex_unlock(&cs->mu);
    return m ? m->client : NULL;
}

void rt_clusterset_end_write(struct rt_clusterset *cs, struct kube_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    struct member *m = find_by_client(cs, c);
    struct member *dead = NULL;
    if (m) {
        if (--m->writers == 0)
            pthread_cond_broadcast(&cs->drained);
        dead = unref_locked(cs, m);
    }
    pthread_mutex_unlock(&cs->mu);
    if (dead)
        member_free(dead);
}

char *rt_clusterset_name_of_server(struct rt_clusterset *cs, const char *server, const char *except)
{
    char *found = NULL;
    const char *k;
    void *v;
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; !found && server && strmap_next(&cs->members, &i, &k, &v);) {
        const struct member *m = v;
        if ((!except || strcmp(k, except) != 0) && m->server && strcmp(m->server, server) == 0)
            found = ew_strdup(k);
    }
    pthread_mutex_unlock(&cs->mu);
    return found;
}

int rt_clusterset_server_is(struct rt_clusterset *cs, const char *name, const char *server)
{
    pthread_mutex_lock(&cs->mu);
    const struct member *m = strmap_get(&cs->members, name);
    int is = m && m->server && server && strcmp(m->server, server) == 0;
    pthread_mutex_unlock(&cs->mu);
    return is;
}
