/*
 * yaml_json.c: YAML (or JSON) document -> cJSON tree, with libyaml's event
 * parser (see yaml_json.h for the rules).
 *
 * A recursive descent over the event stream: a mapping or sequence start
 * opens a container, scalars become leaves. Depth is bounded so hostile
 * input cannot exhaust the stack; aliases are refused; duplicate mapping keys
 * are an error naming the key.
 */
#include "yaml_json.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

struct reader {
    yaml_parser_t parser;
    struct kube_error *err;
    kube_code rc;
};

static kube_code fail_at(struct reader *r, const yaml_mark_t *m, const char *what)
{
    r->rc = kube_error_set(r->err, KUBE_E_CONFIG, "line %zu column %zu: %s", m->line + 1,
                           m->column + 1, what);
    return r->rc;
}

static kube_code next_event(struct reader *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev))
        return KUBE_OK;
    const yaml_mark_t *m = &r->parser.problem_mark;
    r->rc = kube_error_set(r->err, KUBE_E_CONFIG, "line %zu column %zu: %s", m->line + 1,
                           m->column + 1, r->parser.problem ? r->parser.problem : "invalid YAML");
    return r->rc;
}

static int is_plain(const yaml_event_t *ev)
{
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
}

static int parse_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p || !(*p >= '0' && *p <= '9'))
        return 0;
    for (const char *q = p; *q; q++)
        if (!strchr("0123456789.eE+-", *q))
            return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static cJSON *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (is_plain(ev)) {
        double num;
        if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
            strcmp(s, "NULL") == 0)
            return cJSON_CreateNull();
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
            return cJSON_CreateTrue();
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
            return cJSON_CreateFalse();
        if (parse_number(s, &num))
            return cJSON_CreateNumber(num);
    }
    char *copy = ew_strndup(s, len);
    cJSON *v = cJSON_CreateString(copy);
    free(copy);
    return v;
}

static kube_code read_node(struct reader *r, yaml_event_t *ev, int depth, cJSON **out);

static kube_code read_mapping(struct reader *r, int depth, cJSON *map)
{
    for (;;) {
        yaml_event_t key;
        if (next_event(r, &key) != KUBE_OK)
            return r->rc;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            return KUBE_OK;
        }
        if (key.type != YAML_SCALAR_EVENT) {
            fail_at(r, &key.start_mark, "mapping keys must be plain scalars");
            yaml_event_delete(&key);
            return r->rc;
        }
        char *name = ew_strndup((const char *)key.data.scalar.value, key.data.scalar.length);
        if (cJSON_GetObjectItemCaseSensitive(map, name)) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "duplicate key \"%.60s\"", name);
            fail_at(r, &key.start_mark, sb.buf);
            strbuf_release(&sb);
            free(name);
            yaml_event_delete(&key);
            return r->rc;
        }
        yaml_event_delete(&key);
        yaml_event_t val;
        cJSON *child = NULL;
        if (next_event(r, &val) != KUBE_OK || read_node(r, &val, depth + 1, &child) != KUBE_OK) {
            free(name);
            return r->rc;
        }
        cJSON_AddItemToObject(map, name, child);
        free(name);
    }
}

static kube_code read_sequence(struct reader *r, int depth, cJSON *seq)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev) != KUBE_OK)
            return r->rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return KUBE_OK;
        }
        cJSON *child = NULL;
        if (read_node(r, &ev, depth + 1, &child) != KUBE_OK)
            return r->rc;
        cJSON_AddItemToArray(seq, child);
    }
}

/* Consumes ev (deletes it). */
static kube_code read_node(struct reader *r, yaml_event_t *ev, int depth, cJSON **out)
{
    kube_code rc = KUBE_OK;
    *out = NULL;
    if (depth > MAX_DEPTH) {
        rc = fail_at(r, &ev->start_mark, "nesting too deep");
    } else if (ev->type == YAML_ALIAS_EVENT ||
               ((ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
                (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor) ||
                (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor))) {
        rc = fail_at(r, &ev->start_mark, "YAML anchors and aliases are not supported");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        *out = scalar_value(ev);
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        *out = cJSON_CreateObject();
        rc = read_mapping(r, depth, *out);
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        *out = cJSON_CreateArray();
        rc = read_sequence(r, depth, *out);
    } else {
        rc = fail_at(r, &ev->start_mark, "unexpected YAML event");
    }
    yaml_event_delete(ev);
    if (rc != KUBE_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

kube_code yaml_to_json(const char *data, size_t len, cJSON **out, struct kube_error *err)
{
    struct reader r = {.err = err, .rc = KUBE_OK};
    yaml_event_t ev;
    *out = NULL;
    if (!yaml_parser_initialize(&r.parser))
        return kube_error_set(err, KUBE_E_CONFIG, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)data, len);
    cJSON *doc = NULL;
    /* STREAM-START, then DOCUMENT-START or STREAM-END */
    while (next_event(&r, &ev) == KUBE_OK) {
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        read_node(&r, &ev, 0, &doc);
        break;
    }
    yaml_parser_delete(&r.parser);
    if (r.rc != KUBE_OK) {
        cJSON_Delete(doc);
        return r.rc;
    }
    *out = doc ? doc : cJSON_CreateNull();
    return KUBE_OK;
}

kube_code yaml_to_json_all(const char *data, size_t len, cJSON **out, struct kube_error *err)
{
    struct reader r = {.err = err, .rc = KUBE_OK};
    yaml_event_t ev;
    *out = NULL;
    if (!yaml_parser_initialize(&r.parser))
        return kube_error_set(err, KUBE_E_CONFIG, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)data, len);
    cJSON *docs = cJSON_CreateArray();
    while (r.rc == KUBE_OK && next_event(&r, &ev) == KUBE_OK) {
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT ||
            t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        cJSON *doc = NULL;
        read_node(&r, &ev, 0, &doc);
        if (doc && !cJSON_IsNull(doc))
            cJSON_AddItemToArray(docs, doc);
        else
            cJSON_Delete(doc);
    }
    yaml_parser_delete(&r.parser);
    if (r.rc != KUBE_OK) {
        cJSON_Delete(docs);
        return r.rc;
    }
    *out = docs;
    return KUBE_OK;
}
