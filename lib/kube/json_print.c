/*
 * json_print.c: the layout of kube_json_print (json_print.h), recursive over the
 * tree; each scalar and key is printed by cJSON itself.
 */
#include "json_print.h"

static void add_scalar(struct strbuf *out, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        ew_oom(0);
    strbuf_adds(out, text);
    cJSON_free(text);
}

static void add_key(struct strbuf *out, const char *key)
{
    cJSON *k = cJSON_CreateString(key);
    if (!k)
        ew_oom(0);
    add_scalar(out, k);
    cJSON_Delete(k);
}

static void indent(struct strbuf *out, int depth)
{
    for (int i = 0; i < depth; i++)
        strbuf_adds(out, "  ");
}

static void print_node(const cJSON *v, struct strbuf *out, int depth)
{
    int map = cJSON_IsObject(v);
    if (!map && !cJSON_IsArray(v)) {
        add_scalar(out, v);
        return;
    }
    if (!v->child) {
        strbuf_adds(out, map ? "{}" : "[]");
        return;
    }
    strbuf_adds(out, map ? "{\n" : "[\n");
    for (const cJSON *c = v->child; c; c = c->next) {
        indent(out, depth + 1);
        if (map) {
            add_key(out, c->string ? c->string : "");
            strbuf_adds(out, ": ");
        }
        print_node(c, out, depth + 1);
        strbuf_adds(out, c->next ? ",\n" : "\n");
    }
    indent(out, depth);
    strbuf_addch(out, map ? '}' : ']');
}

void kube_json_print(const cJSON *v, struct strbuf *out)
{
    print_node(v, out, 0);
}
