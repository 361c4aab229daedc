/*
 * yaml_emit.c: cJSON -> YAML with libyaml's event emitter (rules in yaml_emit.h).
 *
 * A recursive walk turns each node into events: objects into block mappings,
 * arrays into block sequences, leaves into scalars whose style is chosen here
 * (plain, double-quoted or literal) and handed to libyaml, which escapes and
 * falls back to a quoted style by itself when the chosen one cannot hold the
 * text. The emitter writes into a strbuf through its output handler.
 */
#include "yaml_emit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

static int write_out(void *data, unsigned char *buf, size_t size)
{
    strbuf_add(data, buf, size);
    return 1;
}

static int all_in(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

/* A YAML 1.1 int or float, what go-yaml or yaml_json would read as a number: an
 * optional sign, then 0x/0o/0b and digits of that base, or decimal digits with
 * underscores, base-60 colons, at most one dot and an exponent; or .inf/.nan. */
static int looks_numeric(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (strcasecmp(p, ".inf") == 0 || strcasecmp(s, ".nan") == 0)
        return 1;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return all_in(p + 2, "0123456789abcdefABCDEF_");
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        return all_in(p + 2, "01234567_");
    if (p[0] == '0' && p[1] == 'b')
        return all_in(p + 2, "01_");
    int digits = 0, dots = 0;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.')
            dots++;
        else if (*p != '_' && *p != ':')
            return 0;
    }
    if (!digits || dots > 1)
        return 0;
    if (!*p)
        return 1;
    p++;
    if (*p == '+' || *p == '-')
        p++;
    return all_in(p, "0123456789");
}

int kube_yaml_needs_quotes(const char *s)
{
    static const char *const words[] = {"null", "~",  "true", "false", "yes",
                                        "no",   "on", "off",  "y",     "n"};
    if (!*s)
        return 1;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0)
            return 1;
    return looks_numeric(s);
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev);
}

static int emit_scalar(yaml_emitter_t *e, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                      style))
        return 0;
    return emit(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *s)
{
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
    if (strchr(s, '\n'))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (kube_yaml_needs_quotes(s))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return emit_scalar(e, s, style);
}

static int emit_node(yaml_emitter_t *e, const cJSON *v, int depth)
{
    yaml_event_t ev;
    if (depth > MAX_DEPTH)
        return 0;
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        int map = cJSON_IsObject(v);
        int ok = map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                           v->child ? YAML_BLOCK_MAPPING_STYLE
                                                                    : YAML_FLOW_MAPPING_STYLE)
                     : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                            v->child ? YAML_BLOCK_SEQUENCE_STYLE
                                                                     : YAML_FLOW_SEQUENCE_STYLE);
        if (!ok || !emit(e, &ev))
            return 0;
        for (const cJSON *c = v->child; c; c = c->next)
            if ((map && !emit_string(e, c->string ? c->string : "")) || !emit_node(e, c, depth + 1))
                return 0;
        ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
        return ok && emit(e, &ev);
    }
    if (cJSON_IsString(v))
        return emit_string(e, v->valuestring);
    if (cJSON_IsBool(v))
        return emit_scalar(e, cJSON_IsTrue(v) ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
    if (cJSON_IsNumber(v)) {
        char *text = cJSON_PrintUnformatted(v); /* the same digits as the JSON form */
        int ok = text && emit_scalar(e, text, YAML_PLAIN_SCALAR_STYLE);
        cJSON_free(text);
        return ok;
    }
    return emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
}

kube_code kube_yaml_emit(const cJSON *v, struct strbuf *out, struct kube_error *err)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    strbuf_reset(out);
    if (!yaml_emitter_initialize(&e))
        ew_oom(sizeof(e));
    yaml_emitter_set_output(&e, write_out, out);
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_unicode(&e, 1);
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && emit(&e, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && emit(&e, &ev) &&
             emit_node(&e, v, 0) && yaml_document_end_event_initialize(&ev, 1) && emit(&e, &ev) &&
             yaml_stream_end_event_initialize(&ev) && emit(&e, &ev) && yaml_emitter_flush(&e);
    const char *problem = e.problem;
    yaml_emitter_delete(&e);
    if (ok)
        return KUBE_OK;
    strbuf_release(out);
    return kube_error_set(err, KUBE_E_ARG, "cannot write YAML: %s",
                          problem ? problem : "nesting too deep or not UTF-8");
}
