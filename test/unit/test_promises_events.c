/*
 * test_promises_events.c: what docs/meshnetwork.md, docs/crossclusterservice.md and
 * docs/design.md promise about Events, each proved on the fake clusters of
 * promises_world.h with the content the docs name: the Event's reason, type and
 * regarding object and the cluster or object in its note:
 *
 *   - CredentialsUpdated, CertificateReissued, ApplyFailed (both controllers);
 *   - a CrossClusterService's Event truncated past 900 bytes with the number left out;
 *   - the recorder's rate limit (burst 25 per object, one more every 5 minutes) and
 *     series folding.
 *
 * The cleanup and status promises are test_promises_status.c's. Every wait is for a
 * condition, bounded by a deadline (scaled under valgrind).
 */
#include "promises_world.h"
#include "base/base64.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/ca.h"
#include "mesh/objects.h"
#include "runtime/events.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- credentials, certificates, failed writes ---- */

/* design.md 5: CredentialsUpdated when a member's kubeconfig changes. */
static void test_credentials_updated(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "CredentialsUpdated", NULL) == 0);
    cJSON *sec = fake_cluster_get(p.w.us, &KUBE_RES_SECRETS, WORLD_NAMESPACE, "prod-eu-west-1");
    REQUIRE(t, sec);
    static const char kc[] = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                             "clusters: [{name: c, cluster: {server: https://eu.fake.test}}]\n"
                             "users: [{name: u, user: {token: rotated-token}}]\n"
                             "contexts: [{name: c, context: {cluster: c, user: u}}]\n";
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, kc, strlen(kc));
    cJSON *data = cJSON_GetObjectItemCaseSensitive(sec, "data");
    cJSON_ReplaceItemInObjectCaseSensitive(data, "kubeconfig", cJSON_CreateString(b64.buf));
    fake_cluster_put(p.w.us, &KUBE_RES_SECRETS, sec);
    struct want_event we = {"CredentialsUpdated", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no CredentialsUpdated Event: %s",
             world_describe(&p.w));
    REQUIRE(t, pw_settle(&p, tutorial_ready, NULL, T(20)));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "CredentialsUpdated", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "CredentialsUpdated", mn,
                "cluster eu: new connection settings from its kubeconfig");
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(sec);
    strbuf_release(&b64);
    pw_free(&p);
}

static int eu_cacerts_valid(struct pworld *p, void *ud)
{
    (void)ud;
    cJSON *ca = fake_cluster_get(p->w.eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    const char *inter = data_str(ca, "ca-cert.pem"), *root = data_str(ca, "root-cert.pem");
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    int ok = inter && root && base64_decode(&a, inter, strlen(inter)) == 0 &&
             base64_decode(&b, root, strlen(root)) == 0 &&
             mesh_ca_verify_chain(a.buf, b.buf, NULL) == MESH_OK;
    strbuf_release(&a);
    strbuf_release(&b);
    cJSON_Delete(ca);
    return ok && world_tutorial_ready(&p->w, NULL);
}

/* meshnetwork.md "Certificates": an eastwest cacerts that is unusable is reissued, and
 * the CertificateReissued event names the data key. */
static void test_certificate_reissued_names_the_key(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "CertificateReissued", NULL) == 0);
    int issued = mesh_events(&p, "CertificateIssued", NULL);
    CHECKF(t, issued == 2, "CertificateIssued Events at the start: %d, want 2 (us, eu)", issued);
    cJSON *ca = fake_cluster_get(p.w.eu, &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME);
    REQUIRE(t, ca);
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, "not a certificate\n", 18);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ca, "data"),
                                           "ca-cert.pem", cJSON_CreateString(b64.buf));
    fake_cluster_put(p.w.eu, &KUBE_RES_SECRETS, ca);
    struct want_event we = {"CertificateReissued", 1};
    REQUIREF(t, pw_wait(&p, mesh_event_seen, &we, T(20)), "no CertificateReissued Event: %s",
             world_describe(&p.w));
    REQUIREF(t, pw_settle(&p, eu_cacerts_valid, NULL, T(20)), "eu's cacerts not repaired: %s",
             world_describe(&p.w));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, mesh_events(&p, "CertificateReissued", &ev) == 1);
    CHECK_EVENT(t, ev, "Normal", "CertificateReissued", mn, "cluster eu",
                "Secret istio-system/cacerts", "ca-cert.pem");
    CHECK(t, mesh_events(&p, "CertificateIssued", NULL) == issued);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    cJSON_Delete(ca);
    strbuf_release(&b64);
    pw_free(&p);
}

static int eu_deployment_back(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME) &&
           world_tutorial_ready(&p->w, NULL);
}

static int us_se_back(struct pworld *p, void *ud)
{
    (void)ud;
    return present(p->w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo") &&
           world_tutorial_ready(&p->w, NULL);
}

static int fault_fired(struct pworld *p, void *ud)
{
    (void)ud;
    return fake_faults_fired(p->w.faults);
}

/* Delete an object the operator keeps, with a 422 armed on the next API call: the write
 * that puts it back fails. A converged world makes no other call (it reads its caches:
 * test_reconcile's converged-world-is-not-written), but should one come first, the
 * object comes back and this goes again. 1 once the fault hit the call named. */
static int fail_the_repair(struct pworld *p, struct fake_cluster *fc, const struct kube_resource *r,
                           const char *ns, const char *name, const char *call, pw_cond repaired)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!pw_settle(p, repaired, NULL, T(20)))
            return 0;
        fake_faults_arm(p->w.faults, 1, FAKE_FAULT_INVALID);
        fake_cluster_delete(fc, r, ns, name);
        if (!pw_wait(p, fault_fired, NULL, T(20)))
            return 0;
        if (strstr(fake_faults_what(p->w.faults), call))
            return 1;
        fprintf(stderr, "# the fault hit %s first; again\n", fake_faults_what(p->w.faults));
    }
    return 0;
}

/* Events about kind/name with this reason whose note contains text; the first in *first. */
static int events_naming(struct pworld *p, const char *ns, const char *kind, const char *name,
                         const char *reason, const char *text, cJSON **first)
{
    cJSON *events = fake_cluster_list(p->w.us, &KUBE_RES_EVENTS, ns);
    int n = 0;
    const cJSON *e;
    *first = NULL;
    cJSON_ArrayForEach(e, events)
    {
        const char *r = world_str_at(e, "reason"), *k = world_str_at(e, "regarding.kind"),
                   *nm = world_str_at(e, "regarding.name"), *note = world_str_at(e, "note");
        if (!r || !k || !nm || !note || strcmp(r, reason) || strcmp(k, kind) || strcmp(nm, name) ||
            !strstr(note, text))
            continue;
        if (!*first)
            *first = cJSON_Duplicate(e, 1);
        n++;
    }
    cJSON_Delete(events);
    return n;
}

struct named_event {
    const char *ns, *kind, *name, *reason, *text;
};

static int named_event_seen(struct pworld *p, void *ud)
{
    const struct named_event *e = ud;
    cJSON *first = NULL;
    int n = events_naming(p, e->ns, e->kind, e->name, e->reason, e->text, &first);
    cJSON_Delete(first);
    return n > 0;
}

/* design.md 5: a failed write in a member is a warning ApplyFailed naming the object
 * and the cluster (MeshNetwork). */
static void test_mesh_apply_failed(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, mesh_events(&p, "ApplyFailed", NULL) == 0);
    REQUIREF(t,
             fail_the_repair(&p, p.w.eu, &KUBE_RES_DEPLOYMENTS, "istio-system", MESH_GATEWAY_NAME,
                             "eu deployments istio-system/" MESH_GATEWAY_NAME, eu_deployment_back),
             "no failed write of eu's Deployment (last fault: %s)", fake_faults_what(p.w.faults));
    struct named_event want = {"default", "MeshNetwork", "training-mesh", "ApplyFailed",
                               "cluster eu: writing Deployment istio-system/" MESH_GATEWAY_NAME};
    CHECKF(t, pw_wait(&p, named_event_seen, &want, T(20)), "no ApplyFailed Event naming %s",
           want.text);
    CHECKF(t, pw_settle(&p, eu_deployment_back, NULL, T(20)), "not repaired: %s",
           world_describe(&p.w));
    cJSON *mn = get_mesh(&p), *ev = NULL;
    CHECK(t, events_naming(&p, want.ns, want.kind, want.name, want.reason, want.text, &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ApplyFailed", mn, want.text);
    cJSON_Delete(ev);
    cJSON_Delete(mn);
    pw_free(&p);
}

/* crossclusterservice.md: ApplyFailed (a CrossClusterService's write). */
static void test_ccs_apply_failed(struct test_ctx *t)
{
    struct pworld p;
    start_tutorial(t, &p);
    CHECK(t, events_about(&p, "echo", "CrossClusterService", "echo", "ApplyFailed", NULL) == 0);
    REQUIREF(t,
             fail_the_repair(&p, p.w.us, &MESH_RES_SERVICEENTRIES, "echo", "echo",
                             "us serviceentries echo/echo", us_se_back),
             "no failed write of us's ServiceEntry (last fault: %s)", fake_faults_what(p.w.faults));
    struct named_event want = {"echo", "CrossClusterService", "echo", "ApplyFailed",
                               "cluster us: writing ServiceEntry"};
    CHECKF(t, pw_wait(&p, named_event_seen, &want, T(20)), "no ApplyFailed Event naming %s",
           want.text);
    CHECKF(t, pw_settle(&p, us_se_back, NULL, T(20)), "not repaired: %s", world_describe(&p.w));
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", "echo"),
          *ev = NULL;
    CHECK(t, events_naming(&p, want.ns, want.kind, want.name, want.reason, want.text, &ev) == 1);
    CHECK_EVENT(t, ev, "Warning", "ApplyFailed", ccs, want.text);
    cJSON_Delete(ev);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- an Event truncated past 900 bytes ---- */

#define LONG_CCS  "echo-service-with-a-rather-long-name-to-make-long-notes-xx"
#define IMPORTERS 6

static int importers_written(struct pworld *p, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < p->n; i++)
        if (!present(p->fc[i], &MESH_RES_DESTINATIONRULES, "echo", LONG_CCS))
            return 0;
    return 1;
}

static int all_members_ready(struct pworld *p, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < p->n; i++)
        if (!present(p->fc[i], &KUBE_RES_SECRETS, "istio-system", MESH_CACERTS_NAME))
            return 0;
    return world_tutorial_ready(&p->w, NULL);
}

/* design.md 5: a CrossClusterService's Event names every object and member a reconcile
 * changed, "truncated past 900 bytes with the number left out". With member names of
 * 62 characters (a DNS label is up to 63) and a CrossClusterService echo/<58
 * characters> (its "<ns>.<name>" label value is up to 63), one reconcile that imports
 * into six new members writes twelve objects. */
static void test_ccs_event_truncated_with_number_left_out(struct test_ctx *t)
{
    struct pworld p;
    pw_init(&p);
    const char *names[IMPORTERS];
    for (int i = 0; i < IMPORTERS; i++) {
        char name[64];
        snprintf(name, sizeof(name), "member-%d-%.53s", i,
                 "with-a-name-as-long-as-a-dns-label-may-be-almost-xxxxxx");
        names[i] = pw_add(&p, name) ? p.name[i] : NULL;
        /* the service's namespace, as its users make it (the MeshNetwork does not allow
         * the operator to create it: spec.serviceClaims.createNamespaces) */
        if (names[i])
            world_put_json(p.fc[i], &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"echo\"}}");
    }
    REQUIRE(t, strlen(names[0]) == 62);
    world_apply_tutorial(&p.w);
    set_members(&p, names, IMPORTERS);
    world_put_json(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES,
                   "{\"apiVersion\":\"eastwest.io/v1alpha1\",\"kind\":\"CrossClusterService\","
                   "\"metadata\":{\"name\":\"" LONG_CCS "\",\"namespace\":\"echo\"},"
                   "\"spec\":{\"meshNetwork\":\"training-mesh\",\"host\":\"long.mesh.local\","
                   "\"address\":\"240.0.0.3\","
                   "\"exportFrom\":[{\"cluster\":\"eu\",\"service\":\"echo\"}],"
                   "\"importTo\":[\"us\"],"
                   "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"}]}}");
    pw_start(&p);
    REQUIREF(t, pw_settle(&p, all_members_ready, NULL, T(60)), "the members did not converge: %s",
             world_describe(&p.w));
    REQUIRE(t, strlen(LONG_CCS) == 58);
    cJSON *ccs = fake_cluster_get(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, "echo", LONG_CCS);
    REQUIRE(t, ccs);
    cJSON *to = cJSON_CreateArray();
    cJSON_AddItemToArray(to, cJSON_CreateString("us"));
    for (int i = 0; i < IMPORTERS; i++)
        cJSON_AddItemToArray(to, cJSON_CreateString(names[i]));
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(ccs, "spec"),
                                           "importTo", to);
    put_spec_change(p.w.us, &MESH_RES_CROSSCLUSTERSERVICES, ccs);
    REQUIREF(t, pw_settle(&p, importers_written, NULL, T(60)), "not imported everywhere: %s",
             world_describe(&p.w));
    /* the one Event of the reconcile that wrote the six members */
    cJSON *events = fake_cluster_list(p.w.us, &KUBE_RES_EVENTS, "echo");
    const cJSON *e, *found = NULL;
    int created = 0;
    cJSON_ArrayForEach(e, events)
    {
        const char *note = world_str_at(e, "note");
        if (strcmp(world_str_at(e, "regarding.name"), LONG_CCS) != 0 || !note ||
            !strstr(note, "-with-a-name-as-long-"))
            continue;
        created++;
        found = e;
    }
    REQUIREF(t, created == 1, "%d Events name the new members, want 1 (one reconcile wrote them)",
             created);
    CHECK_EVENT(t, found, "Normal", "Created", ccs, "echo/" LONG_CCS ": created ");
    const char *note = world_str_at(found, "note");
    size_t len = strlen(note);
    CHECKF(t, len <= 1024, "note of %zu bytes (the API server takes 1024)", len);
    const char *more = strstr(note, " (and ");
    int left_out = 0;
    char tail[32] = "";
    REQUIREF(t, more && sscanf(more, " (and %d more)%31s", &left_out, tail) == 1 && left_out > 0,
             "the note does not end with the number left out: ...%s",
             len > 80 ? note + len - 80 : note);
    CHECKF(t, strcmp(more + strlen(more) - 6, " more)") == 0, "the note goes on after the count");
    CHECKF(t, (size_t)(more - note) <= 900, "%zu bytes before the count, want at most 900",
           (size_t)(more - note));
    /* every entry before the count is whole, and names one of the new members */
    int named = 0;
    const char *at = note + strlen("echo/" LONG_CCS ": ");
    while (at < more) {
        const char *end = strstr(at, ", ");
        if (!end || end > more)
            end = more;
        char entry[160];
        snprintf(entry, sizeof(entry), "%.*s", (int)(end - at), at);
        const char *in = strstr(entry, " in ");
        int known = 0;
        for (int i = 0; in && i < IMPORTERS; i++)
            known += strcmp(in + 4, names[i]) == 0;
        CHECKF(t,
               known == 1 && (strncmp(entry, "created ServiceEntry in ", 24) == 0 ||
                              strncmp(entry, "created DestinationRule in ", 27) == 0),
               "entry \"%s\" is not a whole change in a new member", entry);
        named++;
        at = end == more ? more : end + 2;
    }
    CHECKF(t, named + left_out == 2 * IMPORTERS,
           "%d changes named and %d left out, want %d written", named, left_out, 2 * IMPORTERS);
    cJSON_Delete(events);
    cJSON_Delete(ccs);
    pw_free(&p);
}

/* ---- the recorder's rate limit and series ---- */

static int events_in(struct fake_cluster *fc, const char *ns)
{
    cJSON *l = fake_cluster_list(fc, &KUBE_RES_EVENTS, ns);
    int n = cJSON_GetArraySize(l);
    cJSON_Delete(l);
    return n;
}

/* design.md 5 and events.h: each object has a token bucket, burst 25 and one more every
 * 5 minutes (the operator's recorder: cmd/eastwest-operator sets neither); identical
 * Events within 6 minutes fold into one series and take no token. */
static void test_recorder_rate_limit_and_series(struct test_ctx *t)
{
    struct fake_cluster *fc = fake_cluster_new("home", NULL);
    world_put_json(fc, &KUBE_RES_NAMESPACES, "{\"metadata\":{\"name\":\"ns\"}}");
    struct kube_client *c = fake_cluster_client(fc);
    const struct rt_recorder_options o = {.client = c, .instance = "test"};
    struct rt_recorder *r = rt_recorder_new(&o);
    struct rt_object_ref a = {"v1", "ConfigMap", "ns", "a", "uid-a"};
    struct rt_object_ref b = {"v1", "ConfigMap", "ns", "b", "uid-b"};
    int created = 0;
    for (int i = 0; i < 25; i++)
        created += rt_event(r, &a, "Normal", "Changed", "Apply", "change %d", i) == 1;
    CHECKF(t, created == 25, "%d of the first 25 Events created", created);
    CHECKF(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 25") == 0,
           "the 26th distinct Event of one object was not dropped");
    CHECK(t, events_in(fc, "ns") == 25);
    /* a repeat folds into its series, though the bucket is empty */
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 3") == 2);
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 3") == 2);
    cJSON *l = fake_cluster_list(fc, &KUBE_RES_EVENTS, "ns");
    int series = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        const cJSON *n = world_at(e, "series.count");
        if (n) {
            series++;
            CHECK_STR(t, world_str_at(e, "note"), "change 3");
            CHECK(t, cJSON_IsNumber(n) && n->valueint == 3);
        }
    }
    CHECKF(t, series == 1, "%d Events carry a series, want 1", series);
    cJSON_Delete(l);
    /* each object has its own bucket */
    CHECK(t, rt_event(r, &b, "Warning", "Failed", "Apply", "b's first") == 1);
    /* one token every 5 minutes: none back a second later */
    ew_sleep(1.0);
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "change 26") == 0);
    CHECK(t, events_in(fc, "ns") == 26);
    rt_recorder_free(r);
    /* the refill itself, at a rate a test can wait for: no token before refill_s */
    const struct rt_recorder_options fast = {
        .client = c, .instance = "test", .burst = 1, .refill_s = 0.3};
    r = rt_recorder_new(&fast);
    double t0 = ew_now_mono();
    CHECK(t, rt_event(r, &a, "Normal", "Changed", "Apply", "fast 0") == 1);
    int back = 0, tries = 0;
    double t1 = 0;
    while (!back && ew_now_mono() - t0 < T(10)) {
        char note[32];
        snprintf(note, sizeof(note), "fast %d", ++tries);
        back = rt_event(r, &a, "Normal", "Changed", "Apply", "%s", note) == 1;
        t1 = ew_now_mono();
        if (!back)
            ew_sleep(0.02);
    }
    CHECKF(t, back, "no token back within %g s", T(10));
    CHECKF(t, back && t1 - t0 >= 0.3, "a token back after %.3f s, want >= 0.3", t1 - t0);
    CHECKF(t, tries > 1, "the second Event was not limited");
    rt_recorder_free(r);
    kube_client_free(c);
    fake_cluster_free(fc);
}

static const struct test_case cases[] = {
    {"credentials-updated", test_credentials_updated},
    {"certificate-reissued-names-the-key", test_certificate_reissued_names_the_key},
    {"mesh-apply-failed", test_mesh_apply_failed},
    {"ccs-apply-failed", test_ccs_apply_failed},
    {"ccs-event-truncated-with-number-left-out", test_ccs_event_truncated_with_number_left_out},
    {"recorder-rate-limit-and-series", test_recorder_rate_limit_and_series},
};

int main(int argc, char **argv)
{
    kube_global_init();
    int rc = TEST_MAIN(cases, argc, argv);
    kube_global_cleanup();
    return rc;
}
