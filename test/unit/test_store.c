/*
 * test_store.c: the reflector's cache (lib/runtime/store.h) on its own: keys,
 * label indexes and computed indexes kept right as objects come, change and go.
 */
#include "harness.h"
#include "base/strbuf.h"
#include "runtime/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *object(const char *ns, const char *name, const char *rv, const char *color)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"resourceVersion\":\"%s\","
             "\"labels\":{\"app\":\"%s\"}},\"spec\":{\"color\":\"%s\"}}",
             ns, name, rv, name, color);
    return cJSON_Parse(buf);
}

/* The computed value: spec.color, none for "none". */
static char *color_of(const cJSON *obj)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "color");
    if (!cJSON_IsString(c) || strcmp(c->valuestring, "none") == 0)
        return NULL;
    return ew_strdup(c->valuestring);
}

/* The keys under index=value, sorted and joined with ",". */
static char *keys_of(struct rt_store *s, const char *index, const char *value)
{
    size_t n = 0;
    char **keys = rt_store_keys(s, index, value, &n);
    for (size_t i = 0; i + 1 < n; i++) /* n is small: a bubble keeps it plain */
        for (size_t j = 0; j + 1 < n - i; j++)
            if (strcmp(keys[j], keys[j + 1]) > 0) {
                char *tmp = keys[j];
                keys[j] = keys[j + 1];
                keys[j + 1] = tmp;
            }
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        strbuf_addf(&sb, "%s%s", i ? "," : "", keys[i]);
        free(keys[i]);
    }
    free(keys);
    return strbuf_detach(&sb, NULL);
}

static void check_keys(struct test_ctx *t, struct rt_store *s, const char *index, const char *value,
                       const char *want)
{
    char *got = keys_of(s, index, value);
    CHECKF(t, strcmp(got, want) == 0, "%s=%s: keys \"%s\", want \"%s\"", index, value, got, want);
    free(got);
}

/* A computed index follows every upsert and delete; an object without a value is in no
 * set; a label index beside it is unaffected. */
static void test_computed_index_follows_changes(struct test_ctx *t)
{
    static const char *const labels[] = {"app"};
    struct rt_store *s = rt_store_new(labels, 1);
    rt_store_add_index(s, "color", color_of);
    rt_store_upsert(s, object("a", "x", "1", "red"));
    rt_store_upsert(s, object("a", "y", "2", "red"));
    rt_store_upsert(s, object("b", "z", "3", "none"));
    check_keys(t, s, "color", "red", "a/x,a/y");
    check_keys(t, s, "color", "none", "");
    check_keys(t, s, "app", "z", "b/z");
    rt_store_upsert(s, object("a", "y", "4", "blue")); /* moves from red to blue */
    check_keys(t, s, "color", "red", "a/x");
    check_keys(t, s, "color", "blue", "a/y");
    rt_store_delete(s, "a/x");
    check_keys(t, s, "color", "red", "");
    check_keys(t, s, "nosuchindex", "red", "");
    rt_store_free(s);
}

/* An index added after objects are cached indexes them at once; a relist (replace)
 * keeps it right. */
static void test_index_added_late_and_relist(struct test_ctx *t)
{
    struct rt_store *s = rt_store_new(NULL, 0);
    rt_store_upsert(s, object("a", "x", "1", "red"));
    rt_store_upsert(s, object("a", "y", "2", "green"));
    rt_store_add_index(s, "color", color_of);
    check_keys(t, s, "color", "red", "a/x");
    check_keys(t, s, "color", "green", "a/y");
    cJSON *items = cJSON_CreateArray();
    cJSON_AddItemToArray(items, object("a", "y", "5", "red"));
    cJSON_AddItemToArray(items, object("c", "w", "6", "green"));
    rt_store_replace(s, items, NULL, NULL, NULL);
    check_keys(t, s, "color", "red", "a/y");
    check_keys(t, s, "color", "green", "c/w");
    rt_store_free(s);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"computed_index_follows_changes", test_computed_index_follows_changes},
        {"index_added_late_and_relist", test_index_added_late_and_relist},
    };
    return TEST_MAIN(cases, argc, argv);
}
