/*
 * test_status.c: HTTP answers and Status objects become typed errors with
 * messages a person can act on (lib/kube/kube_error.c).
 *
 * The Status bodies are what a kube-apiserver v1.36 really sent (recorded with
 * curl against hack/cluster.sh: AlreadyExists, Conflict, apply conflict,
 * NotFound, Forbidden, Unauthorized, MethodNotAllowed, BadRequest,
 * UnsupportedMediaType, Invalid), or copied from the shapes Kubernetes and
 * Istio produce where a local cluster cannot (a CRD's CEL rule, 429, 500 from a
 * webhook, ServerTimeout, 503 from an aggregated API, 504). Compact JSON, as the
 * client gets it with Accept: application/json.
 */
#include "harness.h"
#include "base/strbuf.h"
#include "kube/kube_error.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
static const char body_already[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"configmaps \\\"eastwest-config\\\" already "
    "exists\",\"reason\":\"AlreadyExists\",\"details\":{\"name\":\"eastwest-config\",\"kind\":"
    "\"configmaps\"},\"code\":409}";
static const char body_conflict[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Operation cannot be fulfilled on configmaps \\\"eastwest-config\\\": the object has been "
    "modified; please apply your changes to the latest version and try "
    "again\",\"reason\":\"Conflict\",\"details\":{\"name\":\"eastwest-config\",\"kind\":"
    "\"configmaps\"},\"code\":409}";
static const char body_applyconflict[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Apply failed with 1 conflict: conflict with \\\"kubectl-edit\\\" using v1: "
    ".data.a\",\"reason\":\"Conflict\",\"details\":{\"causes\":[{\"reason\":"
    "\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl-edit\\\" using "
    "v1\",\"field\":\".data.a\"}]},\"code\":409}";
static const char body_notfound[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"configmaps \\\"nope\\\" not "
    "found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nope\",\"kind\":\"configmaps\"},"
    "\"code\":404}";
static const char body_forbidden[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"configmaps is forbidden: User \\\"system:serviceaccount:x:y\\\" cannot list resource "
    "\\\"configmaps\\\" in API group \\\"\\\" in the namespace "
    "\\\"default\\\"\",\"reason\":\"Forbidden\",\"details\":{\"kind\":\"configmaps\"},\"code\":"
    "403}";
static const char body_unauth[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}";
static const char body_method[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"the server does not allow this method on the requested "
    "resource\",\"reason\":\"MethodNotAllowed\",\"details\":{},\"code\":405}";
static const char body_badreq[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"ConfigMap in version \\\"v1\\\" cannot be handled as a ConfigMap: json: cannot unmarshal "
    "number into Go struct field ConfigMap.data of type "
    "string\",\"reason\":\"BadRequest\",\"code\":400}";
static const char body_media[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"415: Unsupported Media "
    "Type\",\"reason\":\"UnsupportedMediaType\",\"details\":{},\"code\":415}";
static const char body_invalid_cm[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"ConfigMap \\\"Bad_Name\\\" is invalid: [metadata.name: Invalid value: \\\"Bad_Name\\\": a "
    "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), "
    "metadata.labels: Invalid value: \\\"a b\\\": name part must consist of alphanumeric "
    "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
    "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), data[k/x]: Invalid value: \\\"k/x\\\": a valid "
    "config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is "
    "'[-._a-zA-Z0-9]+')]\",\"reason\":\"Invalid\",\"details\":{\"name\":\"Bad_Name\",\"kind\":"
    "\"ConfigMap\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: "
    "\\\"Bad_Name\\\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\",\"field\":\"metadata."
    "name\"},{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"a b\\\": name part "
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')\",\"field\":\"metadata.labels\"},{\"reason\":"
    "\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"k/x\\\": a valid config key must "
    "consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
    "'key-name', regex used for validation is "
    "'[-._a-zA-Z0-9]+')\",\"field\":\"data[k/x]\"}]},\"code\":422}";
static const char body_invalid_se[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"ServiceEntry.networking.istio.io \\\"bad\\\" is invalid: spec: Invalid value: "
    "\\\"object\\\": CIDR addresses are allowed only for NONE/STATIC resolution "
    "types\",\"reason\":\"Invalid\",\"details\":{\"name\":\"bad\",\"group\":\"networking.istio."
    "io\",\"kind\":\"ServiceEntry\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":"
    "\"Invalid value: \\\"object\\\": CIDR addresses are allowed only for NONE/STATIC resolution "
    "types\",\"field\":\"spec\"}]},\"code\":422}";
static const char body_expired[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"too old resource version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}";
static const char body_toomany[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Too many requests, please try again "
    "later.\",\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":3},\"code\":429}";
static const char body_webhook500[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Internal error occurred: failed calling webhook \\\"validation.istio.io\\\": failed to call "
    "webhook: Post \\\"https://istiod.istio-system.svc:443/validate?timeout=10s\\\": dial tcp "
    "10.96.12.3:443: connect: connection "
    "refused\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\"failed calling "
    "webhook \\\"validation.istio.io\\\": failed to call webhook: Post "
    "\\\"https://istiod.istio-system.svc:443/validate?timeout=10s\\\": dial tcp 10.96.12.3:443: "
    "connect: connection refused\"}]},\"code\":500}";
static const char body_servertimeout[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"The list operation against configmaps could not be completed at this time, please try "
    "again.\",\"reason\":\"ServerTimeout\",\"details\":{\"name\":\"list\",\"kind\":\"configmaps\","
    "\"retryAfterSeconds\":2},\"code\":500}";
static const char body_unavail[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"the server is currently unable to handle the request (get "
    "meshnetworks.eastwest.io)\",\"reason\":\"ServiceUnavailable\",\"details\":{\"group\":"
    "\"eastwest.io\",\"kind\":\"meshnetworks\",\"causes\":[{\"reason\":"
    "\"UnexpectedServerResponse\",\"message\":\"service unavailable\"}]},\"code\":503}";
static const char body_timeout504[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"Timeout: request did not complete within requested timeout - context deadline "
    "exceeded\",\"reason\":\"Timeout\",\"details\":{},\"code\":504}";
static const char body_webhookdeny[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
    "\"admission webhook \\\"validation.istio.io\\\" denied the request: configuration is "
    "invalid:\\n- port 15443 is used twice\\n\\tsee "
    "https://istio.io/latest/docs/\",\"reason\":\"BadRequest\",\"code\":400}";

static kube_code parse(struct kube_error *e, long status, const char *body, const char *ra)
{
    return kube_status_parse(e, status, body, body ? strlen(body) : 0, ra);
}

/* Parse a Status text as a watch ERROR event's object. */
static kube_code from_json(struct kube_error *e, const char *json)
{
    cJSON *st = cJSON_Parse(json);
    kube_code rc = kube_status_from_json(e, st);
    cJSON_Delete(st);
    return rc;
}

static int one_line(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return s != NULL;
}

static void test_already_exists(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 409, body_already, NULL) == KUBE_E_ALREADY_EXISTS);
    CHECK(t, e.code == KUBE_E_ALREADY_EXISTS && e.http_status == 409);
    CHECK_STR(t, e.message,
              "configmaps \"eastwest-config\" already exists (HTTP 409 AlreadyExists)");
    CHECK_STR(t, e.reason, "AlreadyExists");
    CHECK(t, e.ncauses == 0 && e.causes == NULL && e.retry_after == 0);
    CHECK(t, !kube_error_retryable(&e));
    kube_error_clear(&e);
    CHECK(t, e.message == NULL && e.reason == NULL && e.code == KUBE_OK && e.http_status == 0);
    kube_error_clear(&e); /* twice is harmless */
}

static void test_conflict(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 409, body_conflict, NULL) == KUBE_E_CONFLICT);
    CHECK_STR(t, e.message,
              "Operation cannot be fulfilled on configmaps \"eastwest-config\": the object has "
              "been modified; please apply your changes to the latest version and try again "
              "(HTTP 409 Conflict)");
    CHECK(t, !kube_error_retryable(&e));
    /* server-side apply: a field owned by another manager */
    CHECK(t, parse(&e, 409, body_applyconflict, NULL) == KUBE_E_CONFLICT);
    REQUIRE(t, e.ncauses == 1);
    CHECK_STR(t, e.causes[0].reason, "FieldManagerConflict");
    CHECK_STR(t, e.causes[0].field, ".data.a");
    CHECK_STR(t, e.causes[0].message, "conflict with \"kubectl-edit\" using v1");
    CHECK_STR(t, e.message,
              "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a "
              "(HTTP 409 Conflict)");
    /* 409 without a reason is a conflict too */
    CHECK(t, parse(&e, 409, "{\"kind\":\"Status\",\"code\":409}", NULL) == KUBE_E_CONFLICT);
    kube_error_clear(&e);
}

static void test_client_errors(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 404, body_notfound, NULL) == KUBE_E_NOT_FOUND);
    CHECK_STR(t, e.message, "configmaps \"nope\" not found (HTTP 404 NotFound)");
    CHECK(t, parse(&e, 403, body_forbidden, NULL) == KUBE_E_FORBIDDEN);
    CHECK_STR(t, e.message,
              "configmaps is forbidden: User \"system:serviceaccount:x:y\" cannot list resource "
              "\"configmaps\" in API group \"\" in the namespace \"default\" (HTTP 403 Forbidden)");
    CHECK(t, parse(&e, 401, body_unauth, NULL) == KUBE_E_UNAUTHORIZED);
    CHECK_STR(t, e.message, "Unauthorized (HTTP 401 Unauthorized)");
    CHECK(t, parse(&e, 405, body_method, NULL) == KUBE_E_METHOD);
    CHECK_STR(t, e.message,
              "the server does not allow this method on the requested resource "
              "(HTTP 405 MethodNotAllowed)");
    CHECK(t, parse(&e, 400, body_badreq, NULL) == KUBE_E_BAD_REQUEST);
    CHECK_CONTAINS(t, e.message, "cannot unmarshal number into Go struct field ConfigMap.data");
    CHECK(t, parse(&e, 415, body_media, NULL) == KUBE_E_HTTP);
    CHECK_STR(t, e.message, "415: Unsupported Media Type (HTTP 415 UnsupportedMediaType)");
    CHECK(t, e.http_status == 415 && !kube_error_retryable(&e));
    kube_error_clear(&e);
}

static void test_invalid_with_causes(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 422, body_invalid_se, NULL) == KUBE_E_INVALID);
    CHECK_STR(t, e.message,
              "ServiceEntry.networking.istio.io \"bad\" is invalid: spec: Invalid value: "
              "\"object\": CIDR addresses are allowed only for NONE/STATIC resolution types "
              "(HTTP 422 Invalid)");
    REQUIRE(t, e.ncauses == 1);
    CHECK_STR(t, e.causes[0].field, "spec");
    CHECK(t, parse(&e, 422, body_invalid_cm, NULL) == KUBE_E_INVALID);
    REQUIRE(t, e.ncauses == 3);
    CHECK_STR(t, e.causes[0].field, "metadata.name");
    CHECK_STR(t, e.causes[1].field, "metadata.labels");
    CHECK_STR(t, e.causes[2].field, "data[k/x]");
    for (size_t i = 0; i < e.ncauses; i++) {
        CHECK_STR(t, e.causes[i].reason, "FieldValueInvalid");
        CHECK_CONTAINS(t, e.causes[i].message, "Invalid value: ");
    }
    CHECK_CONTAINS(t, e.causes[0].message, "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]");
    CHECK_CONTAINS(t, e.message, "ConfigMap \"Bad_Name\" is invalid: [metadata.name: Invalid");
    CHECK_CONTAINS(t, e.message, "'[-._a-zA-Z0-9]+')] (HTTP 422 Invalid)");
    CHECK(t, one_line(e.message));
    kube_error_clear(&e);
    CHECK(t, e.causes == NULL && e.ncauses == 0);
}

/* The API server pretty-prints for curl; the same Status, same result. */
static void test_pretty_printed_body(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *b = "{\n  \"kind\": \"Status\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {},\n"
                    "  \"status\": \"Failure\",\n  \"message\": \"configmaps \\\"nope\\\" not "
                    "found\",\n  \"reason\": \"NotFound\",\n  \"details\": {\n    \"name\": "
                    "\"nope\",\n    \"kind\": \"configmaps\"\n  },\n  \"code\": 404\n}";
    CHECK(t, parse(&e, 404, b, NULL) == KUBE_E_NOT_FOUND);
    CHECK_STR(t, e.message, "configmaps \"nope\" not found (HTTP 404 NotFound)");
    kube_error_clear(&e);
}

static void test_gone(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 410, body_expired, NULL) == KUBE_E_GONE);
    CHECK_STR(t, e.message, "too old resource version: 1 (2) (HTTP 410 Expired)");
    CHECK_STR(t, e.reason, "Expired");
    /* the object of a watch ERROR event: the answer was HTTP 200, the Status says 410 */
    CHECK(t, from_json(&e, body_expired) == KUBE_E_GONE);
    CHECK(t, e.http_status == 410 && e.code == KUBE_E_GONE);
    CHECK_STR(t, e.message, "too old resource version: 1 (2) (HTTP 410 Expired)");
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                           "\"Failure\",\"message\":\"The resourceVersion for the provided watch "
                           "is too old.\",\"reason\":\"Expired\",\"code\":410}") == KUBE_E_GONE);
    CHECK_STR(t, e.message,
              "The resourceVersion for the provided watch is too old. (HTTP 410 Expired)");
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"the "
                           "resource is gone\",\"reason\":\"Gone\",\"code\":410}") == KUBE_E_GONE);
    /* no code: the reason says what it would have been */
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"message\":\"x\",\"reason\":\"Expired\"}") ==
                 KUBE_E_GONE);
    CHECK(t, e.http_status == 410);
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":\"410\"}") ==
                 KUBE_E_GONE);
    kube_error_clear(&e);
}

static void test_watch_error_statuses(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, from_json(&e, body_webhook500) == KUBE_E_SERVER);
    CHECK(t, e.http_status == 500 && !kube_error_retryable(&e));
    CHECK(t, from_json(&e, body_servertimeout) == KUBE_E_SERVER);
    CHECK(t, e.retry_after == 2.0 && kube_error_retryable(&e));
    CHECK(t, from_json(&e, body_forbidden) == KUBE_E_FORBIDDEN);
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"x\"}") ==
                 KUBE_E_SERVER);
    CHECK(t, e.http_status == 500);
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"reason\":\"NoSuchReason\",\"code\":0}") ==
                 KUBE_E_SERVER);
    CHECK(t, from_json(&e, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":1e300}") ==
                 KUBE_E_CONFLICT);
    CHECK(t, from_json(&e, "{}") == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "the server gave no message (HTTP 500)");
    CHECK(t, kube_status_from_json(&e, NULL) == KUBE_E_PROTOCOL);
    CHECK_CONTAINS(t, e.message, "not a Status");
    CHECK(t, from_json(&e, "[1]") == KUBE_E_PROTOCOL);
    CHECK(t, from_json(&e, "\"Status\"") == KUBE_E_PROTOCOL);
    CHECK(t, kube_status_from_json(NULL, NULL) == KUBE_E_PROTOCOL);
    cJSON *st = cJSON_Parse(body_expired);
    CHECK(t, kube_status_from_json(NULL, st) == KUBE_E_GONE);
    cJSON_Delete(st);
    kube_error_clear(&e);
}

static void test_too_many_requests(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 429, body_toomany, NULL) == KUBE_E_TOO_MANY_REQUESTS);
    CHECK_STR(t, e.message,
              "Too many requests, please try again later. (HTTP 429 TooManyRequests)");
    CHECK(t, e.retry_after == 3.0 && kube_error_retryable(&e));
    /* the Retry-After header wins over details.retryAfterSeconds */
    CHECK(t, parse(&e, 429, body_toomany, "7") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 7.0);
    CHECK(t, parse(&e, 429, body_toomany, " 5\r\n") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 5.0);
    CHECK(t, parse(&e, 429, body_toomany, "0") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 3.0);
    CHECK(t, parse(&e, 429, body_toomany, "") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 3.0);
    /* an HTTP-date: seconds from now, at least 1; junk: 1 */
    CHECK(t, parse(&e, 429, "", "Wed, 21 Oct 2099 07:28:00 GMT") == KUBE_E_TOO_MANY_REQUESTS);
    CHECKF(t, e.retry_after > 1e8, "retry_after %g", e.retry_after);
    CHECK(t, parse(&e, 429, "", "Wed, 21 Oct 2015 07:28:00 GMT") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 1.0);
    const char *junk[] = {"soon", "-1", "3.5", "2s", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        CHECK(t, parse(&e, 429, body_toomany, junk[i]) == KUBE_E_TOO_MANY_REQUESTS);
        CHECKF(t, e.retry_after >= 1.0, "Retry-After \"%s\" gave %g", junk[i], e.retry_after);
    }
    /* a 429 from a proxy with no Status is still retryable */
    CHECK(t, parse(&e, 429, "Too Many Requests\n", "2") == KUBE_E_TOO_MANY_REQUESTS);
    CHECK_STR(t, e.message, "HTTP 429 from server: Too Many Requests");
    CHECK(t, e.retry_after == 2.0 && kube_error_retryable(&e));
    kube_error_clear(&e);
}

static void test_server_errors(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 500, body_webhook500, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message,
              "Internal error occurred: failed calling webhook \"validation.istio.io\": failed to "
              "call webhook: Post \"https://istiod.istio-system.svc:443/validate?timeout=10s\": "
              "dial tcp 10.96.12.3:443: connect: connection refused (HTTP 500 InternalError)");
    CHECK(t, e.ncauses == 1 && e.causes[0].field == NULL && e.causes[0].reason == NULL);
    CHECK(t, !kube_error_retryable(&e)); /* 500 without Retry-After: a bug, not a blip */
    CHECK(t, parse(&e, 500, body_webhook500, "1") == KUBE_E_SERVER);
    CHECK(t, kube_error_retryable(&e));
    CHECK(t, parse(&e, 500, body_servertimeout, NULL) == KUBE_E_SERVER);
    CHECK(t, e.retry_after == 2.0 && kube_error_retryable(&e));
    CHECK(t, parse(&e, 503, body_unavail, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message,
              "the server is currently unable to handle the request (get "
              "meshnetworks.eastwest.io) (HTTP 503 ServiceUnavailable)");
    CHECK(t, kube_error_retryable(&e));
    CHECK(t, parse(&e, 504, body_timeout504, NULL) == KUBE_E_SERVER);
    CHECK(t, e.http_status == 504 && kube_error_retryable(&e));
    CHECK(t, parse(&e, 502, "", NULL) == KUBE_E_SERVER);
    CHECK(t, kube_error_retryable(&e));
    CHECK(t, parse(&e, 501, "", NULL) == KUBE_E_SERVER);
    CHECK(t, !kube_error_retryable(&e));
    CHECK(t, parse(&e, 599, "", NULL) == KUBE_E_SERVER);
    kube_error_clear(&e);
}

static void test_bodies_that_are_not_status(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    const char *nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>"
                        "\r\n</body>\r\n</html>\r\n";
    CHECK(t, parse(&e, 502, nginx, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message,
              "HTTP 502 from server: <html> <head><title>502 Bad Gateway</title></head> <body> "
              "<center><h1>502 Bad Gateway</h1></center> <hr><center>nginx</center> </body> "
              "</html>");
    CHECK(t, e.http_status == 502 && e.reason == NULL && kube_error_retryable(&e));
    CHECK(t, parse(&e, 503, "", NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "HTTP 503 with empty body");
    CHECK(t, parse(&e, 503, NULL, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "HTTP 503 with empty body");
    CHECK(t, parse(&e, 503, " \r\n\t", NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "HTTP 503 with empty body");
    /* JSON, but not a Status */
    CHECK(t, parse(&e, 404, "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\"}", NULL) ==
                 KUBE_E_NOT_FOUND);
    CHECK_STR(t, e.message, "HTTP 404 from server: {\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\"}");
    CHECK(t, parse(&e, 404, "{\"kind\":[\"Status\"],\"code\":404}", NULL) == KUBE_E_NOT_FOUND);
    CHECK_CONTAINS(t, e.message, "HTTP 404 from server: ");
    CHECK(t, parse(&e, 400, "[\"Status\"]", NULL) == KUBE_E_BAD_REQUEST);
    CHECK(t, parse(&e, 400, "null", NULL) == KUBE_E_BAD_REQUEST);
    CHECK_STR(t, e.message, "HTTP 400 from server: null");
    /* a Status cut short */
    CHECK(t, parse(&e, 409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"mess", NULL) ==
                 KUBE_E_CONFLICT);
    CHECK_CONTAINS(t, e.message, "HTTP 409 from server: {\"kind\":\"Status\"");
    /* the HTTP status decides; an unusual one is KUBE_E_HTTP */
    CHECK(t, parse(&e, 418, "I'm a teapot", NULL) == KUBE_E_HTTP);
    CHECK(t, parse(&e, 302, "", NULL) == KUBE_E_HTTP);
    CHECK(t, parse(&e, 0, "", NULL) == KUBE_E_HTTP);
    kube_error_clear(&e);
}

/* Quoted bodies are one line of at most 200 bytes (+ "..."), valid UTF-8. */
static void test_body_excerpt(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(t, parse(&e, 500, big, NULL) == KUBE_E_SERVER);
    const char *prefix = "HTTP 500 from server: ";
    CHECK(t, strlen(e.message) == strlen(prefix) + 200 + 3);
    CHECK(t, strcmp(e.message + strlen(e.message) - 4, "x...") == 0);
    /* exactly 200 bytes: no "..." */
    big[200] = '\0';
    CHECK(t, parse(&e, 500, big, NULL) == KUBE_E_SERVER);
    CHECK(t, strlen(e.message) == strlen(prefix) + 200);
    /* control bytes, invalid UTF-8, a NUL: replaced, and the message stays one line */
    const char bin[] = "\x1b[31mred\x1b[0m\x00\xff\xfe ok \xc3\xa9 \xe2\x98";
    CHECK(t, kube_status_parse(&e, 502, bin, sizeof(bin) - 1, NULL) == KUBE_E_SERVER);
    CHECK_STR(t, e.message, "HTTP 502 from server: [31mred [0m ?? ok \xc3\xa9 ??");
    /* a multibyte character is never cut in half at the limit */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "a");
    for (int i = 0; i < 100; i++)
        strbuf_adds(&sb, "\xe2\x98\x83"); /* snowman: 3 bytes */
    CHECK(t, kube_status_parse(&e, 500, sb.buf, sb.len, NULL) == KUBE_E_SERVER);
    size_t n = strlen(e.message) - strlen(prefix) - 3;
    CHECKF(t, n == 199, "excerpt of %zu bytes", n); /* "a" + 66 snowmen */
    CHECK(t, strcmp(e.message + strlen(e.message) - 6, "\xe2\x98\x83...") == 0);
    strbuf_release(&sb);
    kube_error_clear(&e);
}

/* A Status with fields of the wrong type must not crash and still says something. */
static void test_wrong_types(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 422,
                   "{\"kind\":\"Status\",\"message\":7,\"reason\":[1],\"details\":{\"causes\":"
                   "\"nope\",\"retryAfterSeconds\":\"x\"},\"code\":\"422\"}",
                   NULL) == KUBE_E_INVALID);
    CHECK_STR(t, e.message, "the server gave no message (HTTP 422)");
    CHECK(t, e.reason == NULL && e.ncauses == 0 && e.retry_after == 0);
    CHECK(t, parse(&e, 422,
                   "{\"kind\":\"Status\",\"message\":\"\",\"reason\":\"Invalid\",\"details\":{"
                   "\"causes\":[1,null,{\"field\":2,\"reason\":{}},{\"message\":\"must be "
                   "1-65535\",\"field\":\"spec.ports[0].port\"},[]]}}",
                   NULL) == KUBE_E_INVALID);
    REQUIRE(t, e.ncauses == 2);
    CHECK(t, e.causes[0].field == NULL && e.causes[0].reason == NULL);
    CHECK_STR(t, e.causes[0].message, "");
    CHECK_STR(t, e.causes[1].field, "spec.ports[0].port");
    /* no message, but causes: they become the message */
    CHECK_STR(t, e.message, "invalid; spec.ports[0].port: must be 1-65535 (HTTP 422 Invalid)");
    CHECK(t, parse(&e, 429,
                   "{\"kind\":\"Status\",\"details\":[\"retryAfterSeconds\",5],\"reason\":\"\"}",
                   NULL) == KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 0 && e.reason == NULL);
    CHECK(t, parse(&e, 429, "{\"kind\":\"Status\",\"details\":{\"retryAfterSeconds\":-4}}", NULL) ==
                 KUBE_E_TOO_MANY_REQUESTS);
    CHECK(t, e.retry_after == 0);
    CHECK(t, parse(&e, 404, "{\"kind\":\"Status\",\"message\":null,\"details\":null}", NULL) ==
                 KUBE_E_NOT_FOUND);
    CHECK_STR(t, e.message, "the server gave no message (HTTP 404)");
    kube_error_clear(&e);
}

/* Messages from the server become one line: webhooks write several. */
static void test_message_is_one_line(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, parse(&e, 400, body_webhookdeny, NULL) == KUBE_E_BAD_REQUEST);
    CHECK_STR(t, e.message,
              "admission webhook \"validation.istio.io\" denied the request: "
              "configuration is invalid: - port 15443 is used twice see "
              "https://istio.io/latest/docs/ (HTTP 400 BadRequest)");
    /* a huge message is capped */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"kind\":\"Status\",\"message\":\"");
    for (int i = 0; i < 10000; i++)
        strbuf_adds(&sb, "field x is invalid; ");
    strbuf_adds(&sb, "\",\"reason\":\"Invalid\\n\",\"code\":422}");
    CHECK(t, kube_status_parse(&e, 422, sb.buf, sb.len, NULL) == KUBE_E_INVALID);
    CHECKF(t, strlen(e.message) < 4200, "message of %zu bytes", strlen(e.message));
    CHECK(t, one_line(e.message));
    CHECK_STR(t, e.reason, "Invalid");
    CHECK_CONTAINS(t, e.message, "... (HTTP 422 Invalid)");
    strbuf_release(&sb);
    kube_error_clear(&e);
}

static void test_code_from_http(struct test_ctx *t)
{
    static const struct {
        long status;
        const char *reason;
        kube_code code;
    } table[] = {
        {400, NULL, KUBE_E_BAD_REQUEST},
        {401, "Unauthorized", KUBE_E_UNAUTHORIZED},
        {403, NULL, KUBE_E_FORBIDDEN},
        {404, "NotFound", KUBE_E_NOT_FOUND},
        {405, NULL, KUBE_E_METHOD},
        {409, "AlreadyExists", KUBE_E_ALREADY_EXISTS},
        {409, "Conflict", KUBE_E_CONFLICT},
        {409, NULL, KUBE_E_CONFLICT},
        {409, "alreadyexists", KUBE_E_CONFLICT},
        {410, "Expired", KUBE_E_GONE},
        {410, "Gone", KUBE_E_GONE},
        {410, NULL, KUBE_E_GONE},
        {422, "Invalid", KUBE_E_INVALID},
        {429, NULL, KUBE_E_TOO_MANY_REQUESTS},
        {500, "InternalError", KUBE_E_SERVER},
        {502, NULL, KUBE_E_SERVER},
        {503, NULL, KUBE_E_SERVER},
        {504, "Timeout", KUBE_E_SERVER},
        {406, NULL, KUBE_E_HTTP},
        {413, NULL, KUBE_E_HTTP},
        {600, NULL, KUBE_E_HTTP},
        {-1, NULL, KUBE_E_HTTP},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        CHECKF(t, kube_code_from_http(table[i].status, table[i].reason) == table[i].code,
               "HTTP %ld %s -> %s, want %s", table[i].status,
               table[i].reason ? table[i].reason : "(no reason)",
               kube_code_name(kube_code_from_http(table[i].status, table[i].reason)),
               kube_code_name(table[i].code));
}

static void test_retryable(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    CHECK(t, !kube_error_retryable(NULL));
    CHECK(t, !kube_error_retryable(&e));
    /* transport failures are the caller's business, not "retryable answers" */
    kube_error_set(&e, KUBE_E_CONNECT, "connect to %s: refused", "https://127.0.0.1:6443");
    CHECK(t, !kube_error_retryable(&e));
    kube_error_set(&e, KUBE_E_TIMEOUT, "timed out");
    CHECK(t, !kube_error_retryable(&e));
    long yes[] = {429, 502, 503, 504}, no[] = {400, 401, 403, 404, 409, 410, 422, 500, 501};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        parse(&e, yes[i], "", NULL);
        CHECKF(t, kube_error_retryable(&e), "HTTP %ld not retryable", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        parse(&e, no[i], "", NULL);
        CHECKF(t, !kube_error_retryable(&e), "HTTP %ld retryable", no[i]);
    }
    kube_error_clear(&e);
}

static void test_set_prefix_clear(struct test_ctx *t)
{
    struct kube_error e = KUBE_ERROR_INIT;
    parse(&e, 422, body_invalid_cm, "4");
    CHECK(t, kube_error_set(&e, KUBE_E_CONFIG, "bad %s %d", "thing", 3) == KUBE_E_CONFIG);
    CHECK_STR(t, e.message, "bad thing 3");
    /* set clears what the Status left */
    CHECK(t, e.code == KUBE_E_CONFIG && e.http_status == 0 && e.reason == NULL);
    CHECK(t, e.causes == NULL && e.ncauses == 0 && e.retry_after == 0);
    kube_error_prefix(&e, "kubeconfig %s", "/etc/kube/config");
    CHECK_STR(t, e.message, "kubeconfig /etc/kube/config: bad thing 3");
    CHECK(t, e.code == KUBE_E_CONFIG);
    /* the old message may be an argument of the new one */
    kube_error_set(&e, KUBE_E_IO, "reading: %s", e.message);
    CHECK_STR(t, e.message, "reading: kubeconfig /etc/kube/config: bad thing 3");
    /* prefix keeps the Status fields */
    parse(&e, 404, body_notfound, NULL);
    kube_error_prefix(&e, "get configmap %s/%s", "default", "nope");
    CHECK_STR(t, e.message,
              "get configmap default/nope: configmaps \"nope\" not found (HTTP 404 NotFound)");
    CHECK(t, e.code == KUBE_E_NOT_FOUND && e.http_status == 404);
    CHECK_STR(t, e.reason, "NotFound");
    kube_error_clear(&e);
    kube_error_prefix(&e, "nothing before");
    CHECK_STR(t, e.message, "nothing before");
    CHECK(t, kube_error_set(NULL, KUBE_E_IO, "x") == KUBE_E_IO);
    kube_error_prefix(NULL, "x");
    kube_error_clear(NULL);
    CHECK(t, kube_status_parse(NULL, 409, body_already, strlen(body_already), NULL) ==
                 KUBE_E_ALREADY_EXISTS);
    kube_error_clear(&e);
    CHECK(t, e.message == NULL);
}

static void test_code_names(struct test_ctx *t)
{
    for (int c = KUBE_OK; c <= KUBE_E_HTTP; c++)
        CHECKF(t, strcmp(kube_code_name((kube_code)c), "Unknown") != 0, "code %d has no name", c);
    CHECK_STR(t, kube_code_name(KUBE_OK), "OK");
    CHECK_STR(t, kube_code_name(KUBE_E_GONE), "Expired");
    CHECK_STR(t, kube_code_name(KUBE_E_ALREADY_EXISTS), "AlreadyExists");
    CHECK_STR(t, kube_code_name((kube_code)999), "Unknown");
    CHECK_STR(t, kube_code_name((kube_code)-1), "Unknown");
}

static const struct test_case cases[] = {
    {"already_exists", test_already_exists},
    {"conflict", test_conflict},
    {"client_errors", test_client_errors},
    {"invalid_with_causes", test_invalid_with_causes},
    {"pretty_printed_body", test_pretty_printed_body},
    {"gone", test_gone},
    {"watch_error_statuses", test_watch_error_statuses},
    {"too_many_requests", test_too_many_requests},
    {"server_errors", test_server_errors},
    {"bodies_that_are_not_status", test_bodies_that_are_not_status},
    {"body_excerpt", test_body_excerpt},
    {"wrong_types", test_wrong_types},
    {"message_is_one_line", test_message_is_one_line},
    {"code_from_http", test_code_from_http},
    {"retryable", test_retryable},
    {"set_prefix_clear", test_set_prefix_clear},
    {"code_names", test_code_names},
};

int main(int argc, char **argv)
{
    return TEST_MAIN(cases, argc, argv);
}
