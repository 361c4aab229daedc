/*
 * test_api_docs.c: every field of the CRD schemas in crds/ is documented in
 * docs/api.md (as `path`, with [] for list items), and every CRD field has a
 * description (kubectl explain shows it).
 */
#include "harness.h"
#include "base/fileutil.h"
#include "kube/yaml_json.h"

#include <stdlib.h>
#include <string.h>

struct walk {
    struct test_ctx *t;
    const char *docs;
    int fields;
    int missing;
};

static void walk_schema(struct walk *w, const cJSON *schema, const char *path)
{
    const cJSON *props = cJSON_GetObjectItem(schema, "properties"), *p;
    cJSON_ArrayForEach(p, props)
    {
        if (!*path && (strcmp(p->string, "apiVersion") == 0 || strcmp(p->string, "kind") == 0 ||
                       strcmp(p->string, "metadata") == 0))
            continue;
        struct strbuf full = STRBUF_INIT, quoted = STRBUF_INIT;
        strbuf_addf(&full, "%s%s%s", path, *path ? "." : "", p->string);
        strbuf_addf(&quoted, "`%s`", full.buf);
        w->fields++;
        if (!strstr(w->docs, quoted.buf)) {
            CHECKF(w->t, 0, "docs/api.md does not document %s", full.buf);
            w->missing++;
        }
        const cJSON *desc = cJSON_GetObjectItem(p, "description");
        CHECKF(w->t, cJSON_IsString(desc) && *desc->valuestring, "%s has no description", full.buf);
        walk_schema(w, p, full.buf);
        const cJSON *items = cJSON_GetObjectItem(p, "items");
        if (items) {
            strbuf_adds(&full, "[]");
            walk_schema(w, items, full.buf);
        }
        strbuf_release(&full);
        strbuf_release(&quoted);
    }
}

static void check_crd(struct test_ctx *t, const char *file, const char *docs)
{
    struct strbuf data = STRBUF_INIT, path = STRBUF_INIT;
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *crd = NULL;
    strbuf_addf(&path, "%s/crds/%s", TEST_SOURCE_ROOT, file);
    REQUIREF(t, ew_read_file(&data, path.buf, 1 << 22) == 0, "cannot read %s", path.buf);
    REQUIREF(t, yaml_to_json(data.buf, data.len, &crd, &err) == KUBE_OK, "%s: %s", path.buf,
             err.message);
    const cJSON *versions = cJSON_GetObjectItem(cJSON_GetObjectItem(crd, "spec"), "versions");
    const cJSON *schema = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(versions, 0), "schema"), "openAPIV3Schema");
    REQUIRE(t, schema != NULL);
    struct walk w = {t, docs, 0, 0};
    walk_schema(&w, schema, "");
    CHECKF(t, w.fields > 20, "%s: only %d fields found", file, w.fields);
    printf("# %s: %d fields, %d undocumented\n", file, w.fields, w.missing);
    cJSON_Delete(crd);
    strbuf_release(&data);
    strbuf_release(&path);
}

static void test_every_field_documented(struct test_ctx *t)
{
    struct strbuf docs = STRBUF_INIT;
    REQUIRE(t, ew_read_file(&docs, TEST_SOURCE_ROOT "/docs/api.md", 1 << 22) == 0);
    check_crd(t, "meshnetworks.eastwest.io.yaml", docs.buf);
    check_crd(t, "crossclusterservices.eastwest.io.yaml", docs.buf);
    strbuf_release(&docs);
}

static const struct test_case cases[] = {
    {"every_field_documented", test_every_field_documented},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
