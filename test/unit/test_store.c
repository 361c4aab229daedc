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

/* Each word of spec.color ("red blue") as a value of its own. */
static void colors_of(const cJSON *obj, struct strbuf *values)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "color");
    char word[64];
    for (const char *p = cJSON_IsString(c) ? c->valuestring : ""; *p;) {
        size_t n = strcspn(p, " ");
        snprintf(word, sizeof(word), "%.*s", (int)n, p);
        if (strcmp(word, "none") != 0)
            rt_index_value_add(values, word);
        p += n + (p[n] == ' ');
    }
}

struct seen {
    struct strbuf keys;
};

static void note_key(void *ud, const char *key, const cJSON *obj)
{
    struct seen *s = ud;
    (void)obj;
    strbuf_addf(&s->keys, "%s%s", s->keys.len ? "," : "", key);
}

/* An object with several values is found under each, leaves the ones it drops, and
 * rt_store_foreach_indexed visits exactly the objects under one value. */
static void test_multi_valued_index(struct test_ctx *t)
{
    struct rt_store *s = rt_store_new(NULL, 0);
    rt_store_add_index_values(s, "colors", colors_of);
    rt_store_upsert(s, object("a", "x", "1", "red blue"));
    rt_store_upsert(s, object("a", "y", "2", "blue"));
    rt_store_upsert(s, object("a", "z", "3", "none"));
    check_keys(t, s, "colors", "red", "a/x");
    check_keys(t, s, "colors", "blue", "a/x,a/y");
    rt_store_upsert(s, object("a", "x", "4", "green red")); /* drops blue, adds green */
    check_keys(t, s, "colors", "blue", "a/y");
    check_keys(t, s, "colors", "green", "a/x");
    check_keys(t, s, "colors", "red", "a/x");
    struct seen seen = {STRBUF_INIT};
    rt_store_foreach_indexed(s, "colors", "green", note_key, &seen);
    CHECK_STR(t, seen.keys.buf, "a/x");
    strbuf_reset(&seen.keys);
    rt_store_foreach_indexed(s, "colors", "purple", note_key, &seen);
    rt_store_foreach_indexed(s, "nosuchindex", "red", note_key, &seen);
    CHECK_STR(t, seen.keys.buf, "");
    rt_store_delete(s, "a/x");
    check_keys(t, s, "colors", "red", "");
    check_keys(t, s, "colors", "green", "");
    cJSON *items = cJSON_CreateArray(); /* a relist: y changes, z gains a value */
    cJSON_AddItemToArray(items, object("a", "y", "5", "red"));
    cJSON_AddItemToArray(items, object("a", "z", "6", "blue"));
    rt_store_replace(s, items, NULL, NULL, NULL);
    check_keys(t, s, "colors", "red", "a/y");
    check_keys(t, s, "colors", "blue", "a/z");
    strbuf_release(&seen.keys);
    rt_store_free(s);
}

static const char *rv_at(struct rt_store *s, const char *key)
{
    static char buf[32];
    cJSON *o = rt_store_get_copy(s, key);
    const char *rv = o ? rt_object_meta_str(o, "resourceVersion") : NULL;
    snprintf(buf, sizeof(buf), "%s", rv ? rv : "-");
    cJSON_Delete(o);
    return buf;
}

/* A write's answer is stored only when newer than the cache's copy; the watch event
 * that brings the same version later is then no change (nothing is queued again). */
static void test_written_answer_only_when_newer(struct test_ctx *t)
{
    struct rt_store *s = rt_store_new(NULL, 0);
    CHECK(t, rt_store_upsert(s, object("a", "x", "10", "red")) == 1);
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "x", "12", "blue")) == 1);
    CHECK_STR(t, rv_at(s, "a/x"), "12");
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "x", "11", "green")) == 0);
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "x", "12", "green")) == 0);
    CHECK_STR(t, rv_at(s, "a/x"), "12");
    CHECK(t, rt_store_upsert(s, object("a", "x", "12", "blue")) == 0); /* the watch's copy */
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "y", "abc", "red")) == 0);
    CHECK_STR(t, rv_at(s, "a/y"), "-");
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "y", "3", "red")) == 1); /* new key */
    rt_store_free(s);
}

/* An answer that comes back after the object's deletion was seen does not bring it
 * back; a later write (a re-create) does. A relist's dropped keys count as gone at the
 * list's version. */
static void test_written_answer_after_deletion(struct test_ctx *t)
{
    struct rt_store *s = rt_store_new(NULL, 0);
    rt_store_upsert(s, object("a", "x", "10", "red"));
    cJSON *last = object("a", "x", "20", "red");
    rt_store_delete_at(s, "a/x", last);
    cJSON_Delete(last);
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "x", "15", "red")) == 0);
    CHECK_STR(t, rv_at(s, "a/x"), "-");
    CHECK(t, rt_store_upsert_if_newer(s, object("a", "x", "21", "red")) == 1);
    CHECK_STR(t, rv_at(s, "a/x"), "21");
    rt_store_upsert(s, object("b", "y", "30", "red"));
    rt_store_set_list_version(s, "40");
    cJSON *items = cJSON_CreateArray();
    cJSON_AddItemToArray(items, object("a", "x", "21", "red"));
    rt_store_replace(s, items, NULL, NULL, NULL); /* b/y went while we were away */
    CHECK(t, rt_store_upsert_if_newer(s, object("b", "y", "35", "red")) == 0);
    CHECK_STR(t, rv_at(s, "b/y"), "-");
    CHECK(t, rt_store_upsert_if_newer(s, object("b", "y", "41", "red")) == 1);
    rt_store_free(s);
}

/* The heap estimate follows what is cached and is back to zero when it is gone. */
static void test_heap_estimate_follows_objects(struct test_ctx *t)
{
    struct rt_store *s = rt_store_new(NULL, 0);
    CHECK(t, rt_store_heap_estimate(s) == 0);
    rt_store_upsert(s, object("a", "x", "1", "red"));
    size_t one = rt_store_heap_estimate(s);
    CHECKF(t, one > 200 && one < 4000, "one small object: %zu bytes", one);
    rt_store_upsert(s, object("a", "y", "2", "red"));
    CHECK(t, rt_store_heap_estimate(s) == 2 * one);
    rt_store_upsert(s, object("a", "y", "3", "red")); /* replaced, not added */
    CHECK(t, rt_store_heap_estimate(s) == 2 * one);
    rt_store_delete(s, "a/x");
    rt_store_replace(s, cJSON_CreateArray(), NULL, NULL, NULL);
    CHECK(t, rt_store_heap_estimate(s) == 0);
    rt_store_free(s);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"computed_index_follows_changes", test_computed_index_follows_changes},
        {"index_added_late_and_relist", test_index_added_late_and_relist},
        {"multi_valued_index", test_multi_valued_index},
        {"written_answer_only_when_newer", test_written_answer_only_when_newer},
        {"written_answer_after_deletion", test_written_answer_after_deletion},
        {"heap_estimate_follows_objects", test_heap_estimate_follows_objects},
    };
    return TEST_MAIN(cases, argc, argv);
}
