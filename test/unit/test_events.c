/*
 * test_events.c: lib/runtime/events (the Event recorder) against the in-memory API
 * server: a note longer than the API server's 1,024 bytes is cut at a UTF-8 character
 * boundary. A cut inside a character would send invalid UTF-8, which the API server
 * turns into U+FFFD (3 bytes): the note could then pass the limit and the Event be lost.
 */
#include "harness.h"
#include "fake_kube.h"
#include "base/strbuf.h"
#include "runtime/events.h"

#include <string.h>

/* 1 when s is well-formed UTF-8 (no check of overlongs: only cut sequences matter). */
static int utf8_whole(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int more = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : 3;
        if (*p >= 0x80 && (*p & 0xC0) == 0x80)
            return 0; /* a continuation byte where a character starts */
        p++;
        for (int i = 0; i < more; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void test_long_note_cut_whole(struct test_ctx *t)
{
    struct fake_cluster *fc = fake_cluster_new("us", NULL);
    REQUIRE(t, fc);
    cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                            "\"metadata\":{\"name\":\"echo\"}}");
    fake_cluster_put(fc, &KUBE_RES_NAMESPACES, ns);
    cJSON_Delete(ns);
    struct kube_client *client = fake_cluster_client(fc);
    const struct rt_recorder_options ro = {
        .client = client, .controller = "eastwest.io/test", .instance = "test"};
    struct rt_recorder *r = rt_recorder_new(&ro);
    const struct rt_object_ref ref = {.api_version = "eastwest.io/v1alpha1",
                                      .kind = "CrossClusterService",
                                      .namespace_ = "echo",
                                      .name = "echo",
                                      .uid = "uid-1"};
    /* 1,023 ASCII bytes, then e-acute (2 bytes) across the 1,024th byte */
    struct strbuf note = STRBUF_INIT;
    for (int i = 0; i < 1023; i++)
        strbuf_addch(&note, 'x');
    strbuf_adds(&note, "\xc3\xa9 and more");
    CHECK(t, rt_event(r, &ref, "Warning", "Test", "Testing", "%s", note.buf) == 1);
    cJSON *events = fake_cluster_list(fc, &KUBE_RES_EVENTS, "echo");
    REQUIRE(t, cJSON_GetArraySize(events) == 1);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(events, 0), "note");
    REQUIRE(t, cJSON_IsString(n));
    size_t len = strlen(n->valuestring);
    CHECKF(t, len <= 1024, "note of %zu bytes", len);
    CHECKF(t, utf8_whole(n->valuestring), "the note ends in a cut character: ...%s",
           n->valuestring + (len > 8 ? len - 8 : 0));
    CHECKF(t, len == 1023, "note of %zu bytes, want the 1,023 before the cut character", len);
    cJSON_Delete(events);
    strbuf_release(&note);
    rt_recorder_free(r);
    kube_client_free(client);
    fake_cluster_free(fc);
}

static const struct test_case cases[] = {
    {"long_note_cut_whole", test_long_note_cut_whole},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
