/*
 * metrics.c: Prometheus registry and text rendering (see metrics.h).
 */
#include "metrics.h"
#include "../base/strmap.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double default_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10,   30};

struct series {
    char **values;
    double value; /* counter/gauge */
    double sum;   /* histogram */
    unsigned long count;
    unsigned long *bucket_counts; /* non-cumulative per bucket */
};

struct rt_metric {
    enum rt_metric_type type;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    struct strmap series; /* joined label values -> struct series */
    struct rt_metric *next;
    struct rt_metrics *owner;
};

struct collector {
    void (*fn)(void *ud, struct rt_metrics *m);
    void *ud;
    struct collector *next;
};

struct rt_metrics {
    pthread_mutex_t mu;         /* families and series */
    pthread_mutex_t collect_mu; /* the collector list, held while collectors run */
    struct rt_metric *families, *last;
    struct collector *collectors;
};

struct rt_metrics *rt_metrics_new(void)
{
    struct rt_metrics *m = ew_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->collect_mu, NULL);
    return m;
}

static void series_free(struct rt_metric *f, struct series *s)
{
    for (size_t i = 0; i < f->nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->bucket_counts);
    free(s);
}

static void family_clear(struct rt_metric *f)
{
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&f->series, &i, &k, &v);)
        series_free(f, v);
    strmap_clear(&f->series);
}

void rt_metrics_free(struct rt_metrics *m)
{
    if (!m)
        return;
    for (struct rt_metric *f = m->families, *n; f; f = n) {
        n = f->next;
        family_clear(f);
        for (size_t i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        free(f->labels);
        free(f->buckets);
        free(f->name);
        free(f->help);
        free(f);
    }
    for (struct collector *c = m->collectors, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->collect_mu);
    free(m);
}

static void split_labels(struct rt_metric *f, const char *names)
{
    if (!names || !*names)
        return;
    size_t n = 1;
    for (const char *p = names; *p; p++)
        n += *p == ',';
    f->labels = ew_calloc(n, sizeof(char *));
    const char *start = names;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t len = comma ? (size_t)(comma - start) : strlen(start);
        f->labels[f->nlabels++] = ew_strndup(start, len);
        if (!comma)
            break;
        start = comma + 1;
    }
}

struct rt_metric *rt_metrics_register(struct rt_metrics *m, enum rt_metric_type type,
                                      const char *name, const char *help, const char *label_names,
                                      const double *buckets, size_t nbuckets)
{
    pthread_mutex_lock(&m->mu);
    for (struct rt_metric *f = m->families; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            pthread_mutex_unlock(&m->mu);
            return f;
        }
    }
    struct rt_metric *f = ew_calloc(1, sizeof(*f));
    f->type = type;
    f->name = ew_strdup(name);
    f->help = ew_strdup(help);
    f->owner = m;
    split_labels(f, label_names);
    if (type == RT_HISTOGRAM) {
        if (!buckets) {
            buckets = default_buckets;
            nbuckets = sizeof(default_buckets) / sizeof(default_buckets[0]);
        }
        f->buckets = ew_calloc(nbuckets, sizeof(double));
        memcpy(f->buckets, buckets, nbuckets * sizeof(double));
        f->nbuckets = nbuckets;
    }
    if (m->last)
        m->last->next = f;
    else
        m->families = f;
    m->last = f;
    pthread_mutex_unlock(&m->mu);
    return f;
}

/* Must hold the owner's mutex. */
static struct series *find_series(struct rt_metric *f, const char *const *values, int create)
{
    struct strbuf key = STRBUF_INIT;
    for (size_t i = 0; i < f->nlabels; i++) {
        strbuf_adds(&key, values && values[i] ? values[i] : "");
        strbuf_addch(&key, '\x1f');
    }
    struct series *s = strmap_get(&f->series, key.buf);
    if (!s && create) {
        s = ew_calloc(1, sizeof(*s));
        s->values = ew_calloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
        for (size_t i = 0; i < f->nlabels; i++)
            s->values[i] = ew_strdup(values && values[i] ? values[i] : "");
        if (f->type == RT_HISTOGRAM)
            s->bucket_counts = ew_calloc(f->nbuckets + 1, sizeof(unsigned long));
        strmap_put(&f->series, key.buf, s);
    }
    strbuf_release(&key);
    return s;
}

void rt_metric_add(struct rt_metric *f, const char *const *values, double delta)
{
    pthread_mutex_lock(&f->owner->mu);
    find_series(f, values, 1)->value += delta;
    pthread_mutex_unlock(&f->owner->mu);
}

void rt_metric_set(struct rt_metric *f, const char *const *values, double v)
{
    pthread_mutex_lock(&f->owner->mu);
    find_series(f, values, 1)->value = v;
    pthread_mutex_unlock(&f->owner->mu);
}

void rt_metric_observe(struct rt_metric *f, const char *const *values, double v)
{
    pthread_mutex_lock(&f->owner->mu);
    struct series *s = find_series(f, values, 1);
    size_t i = 0;
    while (i < f->nbuckets && v > f->buckets[i])
        i++;
    s->bucket_counts[i]++;
    s->sum += v;
    s->count++;
    pthread_mutex_unlock(&f->owner->mu);
}

double rt_metric_value(struct rt_metric *f, const char *const *values)
{
    pthread_mutex_lock(&f->owner->mu);
    struct series *s = find_series(f, values, 0);
    double v = s ? (f->type == RT_HISTOGRAM ? (double)s->count : s->value) : 0;
    pthread_mutex_unlock(&f->owner->mu);
    return v;
}

/* Does series s match pattern (NULL values match any)? */
static int series_matches(const struct rt_metric *f, const struct series *s,
                          const char *const *pattern)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (pattern[i] && strcmp(pattern[i], s->values[i]) != 0)
            return 0;
    return 1;
}

size_t rt_metric_remove(struct rt_metric *f, const char *const *pattern)
{
    if (!f)
        return 0;
    pthread_mutex_lock(&f->owner->mu);
    size_t n = 0, cap = strmap_size(&f->series);
    char **keys = ew_calloc(cap + 1, sizeof(char *));
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&f->series, &it, &k, &v);)
        if (!pattern || series_matches(f, v, pattern))
            keys[n++] = ew_strdup(k);
    for (size_t i = 0; i < n; i++) { /* not while iterating the map */
        series_free(f, strmap_remove(&f->series, keys[i]));
        free(keys[i]);
    }
    free(keys);
    pthread_mutex_unlock(&f->owner->mu);
    return n;
}

void rt_metric_reset(struct rt_metric *f)
{
    pthread_mutex_lock(&f->owner->mu);
    family_clear(f);
    pthread_mutex_unlock(&f->owner->mu);
}

void rt_metrics_add_collector(struct rt_metrics *m, void (*fn)(void *ud, struct rt_metrics *m),
                              void *ud)
{
    struct collector *c = ew_calloc(1, sizeof(*c));
    c->fn = fn;
    c->ud = ud;
    pthread_mutex_lock(&m->collect_mu);
    c->next = m->collectors;
    m->collectors = c;
    pthread_mutex_unlock(&m->collect_mu);
}

void rt_metrics_remove_collector(struct rt_metrics *m, void (*fn)(void *ud, struct rt_metrics *m),
                                 void *ud)
{
    pthread_mutex_lock(&m->collect_mu);
    for (struct collector **pp = &m->collectors; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->ud == ud) {
            struct collector *c = *pp;
            *pp = c->next;
            free(c);
            break;
        }
    }
    pthread_mutex_unlock(&m->collect_mu);
}

static void add_escaped(struct strbuf *out, const char *s, int label)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_adds(out, "\\\\");
        else if (*s == '\n')
            strbuf_adds(out, "\\n");
        else if (*s == '"' && label)
            strbuf_adds(out, "\\\"");
        else
            strbuf_addch(out, *s);
    }
}

/* The shortest %g form that reads back as the same double (0.1, not 0.10000000000000001). */
static void add_shortest(struct strbuf *out, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    strbuf_adds(out, buf);
}

static void add_number(struct strbuf *out, double v)
{
    if (isinf(v))
        strbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        strbuf_adds(out, "NaN");
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        strbuf_addf(out, "%lld", (long long)v);
    else
        add_shortest(out, v);
}

/* name{labels[,extra]} */
static void add_series_name(struct strbuf *out, const struct rt_metric *f, const struct series *s,
                            const char *suffix, const char *extra_name, const char *extra_value)
{
    strbuf_addf(out, "%s%s", f->name, suffix);
    if (!f->nlabels && !extra_name)
        return;
    strbuf_addch(out, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        strbuf_addf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        add_escaped(out, s->values[i], 1);
        strbuf_addch(out, '"');
    }
    if (extra_name)
        strbuf_addf(out, "%s%s=\"%s\"", f->nlabels ? "," : "", extra_name, extra_value);
    strbuf_addch(out, '}');
}

static void render_histogram(struct strbuf *out, const struct rt_metric *f, const struct series *s)
{
    unsigned long cum = 0;
    char le[64];
    for (size_t i = 0; i <= f->nbuckets; i++) {
        cum += s->bucket_counts[i];
        if (i < f->nbuckets) {
            struct strbuf b = STRBUF_INIT;
            add_number(&b, f->buckets[i]);
            snprintf(le, sizeof(le), "%s", b.buf);
            strbuf_release(&b);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        add_series_name(out, f, s, "_bucket", "le", le);
        strbuf_addf(out, " %lu\n", cum);
    }
    add_series_name(out, f, s, "_sum", NULL, NULL);
    strbuf_addch(out, ' ');
    add_number(out, s->sum);
    strbuf_addch(out, '\n');
    add_series_name(out, f, s, "_count", NULL, NULL);
    strbuf_addf(out, " %lu\n", s->count);
}

void rt_metrics_render(struct rt_metrics *m, struct strbuf *out)
{
    static const char *type_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->collect_mu);
    for (struct collector *c = m->collectors; c; c = c->next)
        c->fn(c->ud, m);
    pthread_mutex_unlock(&m->collect_mu);
    pthread_mutex_lock(&m->mu);
    for (struct rt_metric *f = m->families; f; f = f->next) {
        strbuf_addf(out, "# HELP %s ", f->name);
        add_escaped(out, f->help, 0);
        strbuf_addf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        const char *k;
        void *v;
        for (size_t i = 0; strmap_next(&f->series, &i, &k, &v);) {
            const struct series *s = v;
            if (f->type == RT_HISTOGRAM) {
                render_histogram(out, f, s);
                continue;
            }
            add_series_name(out, f, s, "", NULL, NULL);
            strbuf_addch(out, ' ');
            add_number(out, s->value);
            strbuf_addch(out, '\n');
        }
    }
    pthread_mutex_unlock(&m->mu);
}
