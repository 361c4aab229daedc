/*
 * test_status.c: Status objects and HTTP answers become typed errors with
 * messages a person can act on (bodies as the API server really sends them).
 */
#include "harness.h"
#include "kube/kube_error.h"

#include <cjson/cJSON.h>
#include <string.h>

static kube_code parse(struct kube_error *e, long status, const char *body, const char *ra)
{
    return kube_status_parse(e, status, body, body ? strlen(body) : 0, ra);
}

static void test_already_exists(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                    "\"Failure\",\"message\":\"configmaps \\\"one\\\" already exists\",\"reason\":"
                    "\"AlreadyExists\",\"details\":{\"name\":\"one\",\"kind\":\"configmaps\"},"
                    "\"code\":409}";
    CHECK(t, parse(&e, 409, b, NULL) == KUBE_E_ALREADY_EXISTS);
    CHECK_STR(t, e.message, "configmaps \"one\" already exists (HTTP 409 AlreadyExists)");
    CHECK_STR(t, e.reason, "AlreadyExists");
    CHECK(t, e.http_status == 409);
    kube_error_clear(&e);
    CHECK(t, e.message == NULL && e.code == KUBE_OK);
}

static void test_conflict(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
                    "\"Operation cannot be fulfilled on configmaps \\\"c\\\": the object has been "
                    "modified; please apply your changes to the latest version and try again\","
                    "\"reason\":\"Conflict\",\"details\":{\"name\":\"c\",\"kind\":\"configmaps\"},"
                    "\"code\":409}";
    CHECK(t, parse(&e, 409, b, NULL) == KUBE_E_CONFLICT);
    CHECK_CONTAINS(t, e.message, "the object has been modified");
    CHECK(t, !kube_error_retryable(&e));
    kube_error_clear(&e);
}

static void test_not_found_and_forbidden(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 404,
                   "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"configmaps "
                   "\\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}",
                   NULL) == KUBE_E_NOT_FOUND);
    CHECK_STR(t, e.message, "configmaps \"x\" not found (HTTP 404 NotFound)");
    CHECK(t, parse(&e, 403,
                   "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"configmaps is "
                   "forbidden: User \\\"system:serviceaccount:x:y\\\" cannot list resource "
                   "\\\"configmaps\\\" in API group \\\"\\\" in the namespace \\\"default\\\"\","
                   "\"reason\":\"Forbidden\",\"details\":{\"kind\":\"configmaps\"},\"code\":403}",
                   NULL) == KUBE_E_FORBIDDEN);
    CHECK_CONTAINS(t, e.message, "cannot list resource \"configmaps\"");
    CHECK(t, parse(&e, 401,
                   "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                   "\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\","
                   "\"code\":401}",
                   NULL) == KUBE_E_UNAUTHORIZED);
    CHECK(t, parse(&e, 405, "{\"kind\":\"Status\",\"code\":405}", NULL) == KUBE_E_METHOD);
    CHECK(t, parse(&e, 400, "{\"kind\":\"Status\",\"code\":400}", NULL) == KUBE_E_BAD_REQUEST);
    CHECK(t, parse(&e, 418, "{\"kind\":\"Status\",\"code\":418}", NULL) == KUBE_E_HTTP);
    kube_error_clear(&e);
}

static void test_invalid_with_causes(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *b =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"ServiceEntry.networking.istio.io \\\"bad\\\" is invalid: [spec: Invalid "
        "value: \\\"object\\\": CIDR addresses are allowed only for NONE/STATIC resolution "
        "types, spec.ports[0].number: Invalid value: 0: spec.ports[0].number in body should be "
        "greater than or equal to 1]\",\"reason\":\"Invalid\",\"details\":{\"name\":\"bad\","
        "\"group\":\"networking.istio.io\",\"kind\":\"ServiceEntry\",\"causes\":[{\"reason\":"
        "\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"object\\\": CIDR addresses are "
        "allowed only for NONE/STATIC resolution types\",\"field\":\"spec\"},{\"reason\":"
        "\"FieldValueInvalid\",\"message\":\"Invalid value: 0: should be >= 1\",\"field\":"
        "\"spec.ports[0].number\"}]},\"code\":422}";
    CHECK(t, parse(&e, 422, b, NULL) == KUBE_E_INVALID);
    REQUIRE(t, e.ncauses == 2);
    CHECK_STR(t, e.causes[0].field, "spec");
    CHECK_STR(t, e.causes[1].field, "spec.ports[0].number");
    CHECK_STR(t, e.causes[1].reason, "FieldValueInvalid");
    CHECK_CONTAINS(t, e.message, "CIDR addresses are allowed only for NONE/STATIC");
    CHECK_CONTAINS(t, e.message, "(HTTP 422 Invalid)");
    kube_error_clear(&e);
}

static void test_gone_and_watch_status(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 410,
                   "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old resource "
                   "version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}",
                   NULL) == KUBE_E_GONE);
    /* the object of a watch ERROR event: HTTP was 200, the Status says 410 */
    cJSON *st = cJSON_Parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                            "\"status\":\"Failure\",\"message\":\"The resourceVersion for the "
                            "provided watch is too old.\",\"reason\":\"Expired\",\"code\":410}");
    CHECK(t, kube_status_from_json(&e, st) == KUBE_E_GONE);
    CHECK_CONTAINS(t, e.message, "too old");
    cJSON_Delete(st);
    st = cJSON_Parse("{\"kind\":\"Status\",\"reason\":\"Gone\",\"code\":410}");
    CHECK(t, kube_status_from_json(&e, st) == KUBE_E_GONE);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"kind\":\"Status\",\"message\":\"etcd down\",\"code\":500}");
    CHECK(t, kube_status_from_json(&e, st) == KUBE_E_SERVER);
    cJSON_Delete(st);
    CHECK(t, kube_status_from_json(&e, NULL) == KUBE_E_PROTOCOL);
    kube_error_clear(&e);
}

static void test_retry_after(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *b = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Too many requests, "
                    "please try again later.\",\"reason\":\"TooManyRequests\",\"details\":"
                    "{\"retryAfterSeconds\":3},\"code\":429}";
    CHECK(t, parse(&e, 429, b, NULL) == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 3.0);
    CHECK(t, kube_error_retryable(&e));
    CHECK(t, parse(&e, 429, b, "7") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 7.0);
    CHECK(t, parse(&e, 429, b, "Wed, 21 Oct 2026 07:28:00 GMT") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 1.0);
    CHECK(t, parse(&e, 500, "{\"kind\":\"Status\",\"code\":500}", NULL) == KUBE_E_SERVER);
    CHECK(t, !kube_error_retryable(&e));
    CHECK(t, parse(&e, 500, "{\"kind\":\"Status\",\"code\":500}", "2") == KUBE_E_SERVER);
    CHECK(t, kube_error_retryable(&e));
    CHECK(t, parse(&e, 503, "", NULL) == KUBE_E_SERVER);
    CHECK(t, kube_error_retryable(&e));
    kube_error_clear(&e);
}

static void test_bodies_that_are_not_status(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 502, "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>", NULL) ==
                 KUBE_E_SERVER);
    CHECK_STR(t, e.message,
              "HTTP 502 from server: <html><body> <h1>502 Bad Gateway</h1> "
              "</body></html>");
    CHECK(t, parse(&e, 503, NULL, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "HTTP 503 with empty body");
    CHECK(t, parse(&e, 404, "{\"kind\":\"ConfigMap\"}", NULL) == KUBE_E_NOT_FOUND);
    CHECK_CONTAINS(t, e.message, "HTTP 404 from server");
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(t, parse(&e, 500, big, NULL) == KUBE_E_SERVER);
    CHECK(t, strlen(e.message) < 300);
    kube_error_clear(&e);
}

static void test_wrong_types_do_not_crash(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 422,
                   "{\"kind\":\"Status\",\"message\":7,\"reason\":[1],\"details\":{\"causes\":"
                   "\"nope\",\"retryAfterSeconds\":\"x\"},\"code\":\"422\"}",
                   NULL) == KUBE_E_INVALID);
    CHECK_STR(t, e.message, "no message (HTTP 422)");
    CHECK(t, e.ncauses == 0);
    CHECK(t, parse(&e, 422,
                   "{\"kind\":\"Status\",\"details\":{\"causes\":[1,{\"field\":2},{\"message\":"
                   "\"m\"}]}}",
                   NULL) == KUBE_E_INVALID);
    CHECK(t, e.ncauses == 2);
    kube_error_clear(&e);
}

static void test_set_prefix_and_names(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, kube_error_set(&e, KUBE_E_CONFIG, "bad %s", "thing") == KUBE_E_CONFIG);
    kube_error_prefix(&e, "file %d", 3);
    CHECK_STR(t, e.message, "file 3: bad thing");
    CHECK(t, kube_error_set(NULL, KUBE_E_IO, "x") == KUBE_E_IO);
    CHECK_STR(t, kube_code_name(KUBE_E_GONE), "Expired");
    CHECK_STR(t, kube_code_name((kube_code)999), "Unknown");
    kube_error_clear(&e);
}

static const struct test_case cases[] = {
    {"already_exists", test_already_exists},
    {"conflict", test_conflict},
    {"not_found_and_forbidden", test_not_found_and_forbidden},
    {"invalid_with_causes", test_invalid_with_causes},
    {"gone_and_watch_status", test_gone_and_watch_status},
    {"retry_after", test_retry_after},
    {"bodies_that_are_not_status", test_bodies_that_are_not_status},
    {"wrong_types_do_not_crash", test_wrong_types_do_not_crash},
    {"set_prefix_and_names", test_set_prefix_and_names},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
