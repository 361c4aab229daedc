/*
 * test_yaml_emit.c: cJSON trees as the YAML and JSON `kubectl eastwest plan` prints
 * (lib/kube/yaml_emit.h, json_print.h): the exact text for a few trees (nesting,
 * arrays of objects, empty containers, strings a YAML reader would take for numbers
 * or booleans, multi-line strings), and that reading the YAML back with yaml_to_json
 * gives the same tree.
 */
#include "harness.h"
#include "kube/json_print.h"
#include "kube/yaml_emit.h"
#include "kube/yaml_json.h"

#include <stdlib.h>
#include <string.h>

/* json -> YAML, compared with want, then read back and compared with the tree. */
static void check_yaml(struct test_ctx *t, const char *json, const char *want)
{
    cJSON *v = cJSON_Parse(json);
    REQUIREF(t, v, "bad test JSON: %s", json);
    struct strbuf out = STRBUF_INIT;
    struct kube_error err = KUBE_ERROR_INIT;
    REQUIREF(t, kube_yaml_emit(v, &out, &err) == KUBE_OK, "%s", err.message);
    CHECKF(t, strcmp(out.buf, want) == 0, "YAML of %s:\n%s\nwant:\n%s", json, out.buf, want);
    cJSON *back = NULL;
    CHECKF(t, yaml_to_json(out.buf, out.len, &back, &err) == KUBE_OK, "%s", err.message);
    CHECKF(t, back && cJSON_Compare(v, back, 1), "read back differs: %s", out.buf);
    cJSON_Delete(back);
    kube_error_clear(&err);
    strbuf_release(&out);
    cJSON_Delete(v);
}

static void test_nested(struct test_ctx *t)
{
    check_yaml(t,
               "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"echo\","
               "\"labels\":{\"app\":\"echo\"}},\"spec\":{\"ports\":[{\"name\":\"http\","
               "\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"echo\"},"
               "\"matrix\":[[1,2],[],[\"a\"]],\"ratio\":0.5,\"on\":true,\"off\":false,"
               "\"none\":null}}",
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata:\n"
               "  name: echo\n"
               "  labels:\n"
               "    app: echo\n"
               "spec:\n"
               "  ports:\n"
               "  - name: http\n"
               "    port: 80\n"
               "    targetPort: 8080\n"
               "  selector:\n"
               "    app: echo\n"
               "  matrix:\n"
               "  - - 1\n"
               "    - 2\n"
               "  - []\n"
               "  - - a\n"
               "  ratio: 0.5\n"
               "  \"on\": true\n"
               "  \"off\": false\n"
               "  none: null\n");
}

static void test_empty(struct test_ctx *t)
{
    check_yaml(t, "{\"metadata\":{},\"items\":[],\"s\":\"\"}",
               "metadata: {}\nitems: []\ns: \"\"\n");
    check_yaml(t, "{}", "{}\n");
    check_yaml(t, "[]", "[]\n");
}

/* Strings a reader would take for something else are quoted; the rest are plain. */
static void test_strings_that_look_like_other_things(struct test_ctx *t)
{
    check_yaml(t,
               "[\"80\",\"true\",\"False\",\"yes\",\"off\",\"y\",\"null\",\"~\",\"1e3\","
               "\"0x1F\",\".5\",\"-1\",\".inf\",\"*\",\"*.local\",\"a: b\",\" lead\","
               "\"#x\",\"100m\",\"240.0.0.2\",\"10.0.0.0/8\",\"eu-west-1\",\"app\","
               "\"spiffe://corp.local/ns/echo/sa/default\",\"2026-11-24T20:00:00Z\"]",
               "- \"80\"\n"
               "- \"true\"\n"
               "- \"False\"\n"
               "- \"yes\"\n"
               "- \"off\"\n"
               "- \"y\"\n"
               "- \"null\"\n"
               "- \"~\"\n"
               "- \"1e3\"\n"
               "- \"0x1F\"\n"
               "- \".5\"\n"
               "- \"-1\"\n"
               "- \".inf\"\n"
               "- '*'\n"
               "- '*.local'\n"
               "- 'a: b'\n"
               "- ' lead'\n"
               "- '#x'\n"
               "- 100m\n"
               "- 240.0.0.2\n"
               "- 10.0.0.0/8\n"
               "- eu-west-1\n"
               "- app\n"
               "- spiffe://corp.local/ns/echo/sa/default\n"
               "- 2026-11-24T20:00:00Z\n");
    /* keys too */
    check_yaml(t, "{\"80\":\"http\",\"true\":1}", "\"80\": http\n\"true\": 1\n");
    CHECK(t, kube_yaml_needs_quotes(""));
    CHECK(t, !kube_yaml_needs_quotes("1.2.3"));
    CHECK(t, !kube_yaml_needs_quotes("0de70d7890ca41b2")); /* a hash, not hex */
    CHECK(t, !kube_yaml_needs_quotes("1e"));
    CHECK(t, !kube_yaml_needs_quotes("-"));
    CHECK(t, !kube_yaml_needs_quotes("."));
    CHECK(t, kube_yaml_needs_quotes("0o17"));
    CHECK(t, kube_yaml_needs_quotes("0b101"));
    CHECK(t, kube_yaml_needs_quotes("1_000"));
    CHECK(t, kube_yaml_needs_quotes("1:30"));
    CHECK(t, kube_yaml_needs_quotes("1."));
    CHECK(t, kube_yaml_needs_quotes("-2.5E-3"));
    CHECK(t, kube_yaml_needs_quotes("0123"));
}

static void test_multi_line(struct test_ctx *t)
{
    check_yaml(t, "{\"mesh\":\"defaultConfig:\\n  meshId: m\\ntrustDomain: corp.local\\n\"}",
               "mesh: |\n"
               "  defaultConfig:\n"
               "    meshId: m\n"
               "  trustDomain: corp.local\n");
    check_yaml(t, "{\"a\":\"one\\ntwo\"}", "a: |-\n  one\n  two\n");
}

static void test_errors(struct test_ctx *t)
{
    cJSON *v = cJSON_CreateString("\xff\xfe");
    struct strbuf out = STRBUF_INIT;
    struct kube_error err = KUBE_ERROR_INIT;
    strbuf_adds(&out, "stale");
    CHECK(t, kube_yaml_emit(v, &out, &err) == KUBE_E_ARG);
    CHECK(t, out.len == 0 && out.alloc == 0); /* released on failure */
    CHECK_CONTAINS(t, err.message, "YAML");
    kube_error_clear(&err);
    cJSON_Delete(v);
    v = cJSON_CreateArray(); /* deeper than any Kubernetes object */
    cJSON *deep = v;
    for (int i = 0; i < 100; i++) {
        cJSON *inner = cJSON_CreateArray();
        cJSON_AddItemToArray(deep, inner);
        deep = inner;
    }
    CHECK(t, kube_yaml_emit(v, &out, &err) == KUBE_E_ARG);
    CHECK(t, out.len == 0);
    kube_error_clear(&err);
    strbuf_release(&out);
    cJSON_Delete(v);
}

static void test_json_print(struct test_ctx *t)
{
    cJSON *v = cJSON_Parse("{\"kind\":\"List\",\"items\":[{\"a\":\"x\\ty\\\"\",\"n\":80,"
                           "\"f\":0.5,\"b\":true,\"z\":null,\"e\":{},\"l\":[]},[1,[2]]],"
                           "\"metadata\":{}}");
    REQUIRE(t, v);
    struct strbuf out = STRBUF_INIT;
    kube_json_print(v, &out);
    CHECK_STR(t, out.buf,
              "{\n"
              "  \"kind\": \"List\",\n"
              "  \"items\": [\n"
              "    {\n"
              "      \"a\": \"x\\ty\\\"\",\n"
              "      \"n\": 80,\n"
              "      \"f\": 0.5,\n"
              "      \"b\": true,\n"
              "      \"z\": null,\n"
              "      \"e\": {},\n"
              "      \"l\": []\n"
              "    },\n"
              "    [\n"
              "      1,\n"
              "      [\n"
              "        2\n"
              "      ]\n"
              "    ]\n"
              "  ],\n"
              "  \"metadata\": {}\n"
              "}");
    CHECK(t, !strchr(out.buf, '\t'));
    cJSON *back = cJSON_Parse(out.buf);
    CHECK(t, back && cJSON_Compare(v, back, 1));
    cJSON_Delete(back);
    strbuf_release(&out);
    cJSON_Delete(v);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"nested", test_nested},
        {"empty", test_empty},
        {"strings_that_look_like_other_things", test_strings_that_look_like_other_things},
        {"multi_line", test_multi_line},
        {"errors", test_errors},
        {"json_print", test_json_print},
    };
    return TEST_MAIN(cases, argc, argv);
}
