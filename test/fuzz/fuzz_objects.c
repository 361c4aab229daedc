/*
 * fuzz_objects.c: every reader of the objects the operator gets from member and home
 * API servers, on arbitrary JSON (or YAML where the object carries YAML). Admission
 * makes these well-formed for their kind, but a reader must not rely on it: an older
 * API server, a conversion webhook, a hand-written status or a hostile writer can put
 * anything there. Must never crash, hang or leak, and every refusal comes with a
 * message.
 *
 * Byte 0 picks the reader (mod FUZZ_READERS), the rest is its input:
 *   0  gateway Service: status.loadBalancer.ingress addresses (mesh_gateway_addresses,
 *      mesh_service_ingress) and the drift check against the desired gateway Service
 *   1  backing Service: spec.selector, spec.ports (with and without the spec's own ports),
 *      then the exporter's ServiceEntry built from them
 *   2  Pods (a PodList or one Pod): the workload identities (spec.serviceAccountName)
 *   3  ConfigMaps istio / istio-sidecar-injector and the Istio namespace, as JSON objects
 *   4  the YAML text of ConfigMap istio's key mesh (and the injector's values JSON)
 *   5  a kubeconfig Secret, as a JSON object
 *   6  the kubeconfig bytes of a kubeconfig Secret (base64-encoded into one here)
 *   7  cacerts Secret of a member and ConfigMap istio-ca-root-cert (no certificate in
 *      reach of the fuzzer: fuzz_pem does the PEM itself)
 *   8  a list response body into a cache (kube_list_page_parse, rt_store_replace/upsert)
 *   9  an exec plugin's output (ExecCredential)
 *   10 a CR's status conditions (kept lastTransitionTime) and a live written object
 *      compared with the desired one
 *
 * Seeds (corpus/fuzz_objects/, named by what they hold) are objects as a real
 * kube-apiserver (v1.36, hack/cluster.sh) returned them to `kubectl get --raw`, byte 0
 * prepended: among them what it admits but makes no sense (a Service without selector,
 * a headless one without ports, an ExternalName, an ingress entry with neither ip nor
 * hostname, kubeconfig Secrets with the wrong key or a certificate in it), plus
 * hand-written ExecCredentials and the regressions (regression-*).
 */
#include "kube/internal.h"
#include "mesh/cacerts.h"
#include "mesh/ccs_objects.h"
#include "mesh/conditions.h"
#include "mesh/gateway_addresses.h"
#include "mesh/istio_check.h"
#include "mesh/json_path.h"
#include "mesh/members.h"
#include "mesh/objects.h"
#include "base/base64.h"
#include "runtime/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_READERS 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FUZZ_MESH[] =
    "{\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u-1\",\"generation\":1},"
    "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
    "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\",\"locality\":\"us-east-1\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\",\"locality\":\"eu-west-1\","
    "\"kubeconfigSecretRef\":{\"name\":\"eu-kubeconfig\"}}]}}";
static const char FUZZ_CCS[] =
    "{\"metadata\":{\"name\":\"echo\",\"namespace\":\"echo\",\"uid\":\"u-2\",\"generation\":1},"
    "\"spec\":{\"meshNetwork\":\"training-mesh\",\"exportFrom\":[{\"cluster\":\"eu\"}],"
    "\"ports\":[{\"number\":80,\"name\":\"http\",\"protocol\":\"HTTP\"},"
    "{\"number\":9090,\"name\":\"grpc\",\"protocol\":\"GRPC\"}]}}";

struct fuzz_env {
    struct mesh_network net;
    struct mesh_ccs ccs;
};

static void need_message(const struct mesh_problem *p)
{
    if (!p->reason[0] || !p->message.len)
        abort(); /* a refusal without a reason or message */
}

static void fuzz_gateway_service(const struct fuzz_env *env, const cJSON *svc)
{
    struct mesh_problem p;
    mesh_problem_init(&p);
    char **addrs = NULL;
    size_t n = 0;
    if (mesh_gateway_addresses(svc, "cluster eu: Service istio-system/istio-eastwestgateway",
                               &addrs, &n, &p) != MESH_OK)
        need_message(&p);
    for (size_t i = 0; i < n; i++)
        if (!addrs[i] || !*addrs[i])
            abort();
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
    int all_ips;
    addrs = mesh_service_ingress(svc, &n, &all_ips);
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
    /* the drift check reads the live object against what eastwest wants there */
    struct mesh_desired_set want = {0};
    mesh_build_gateway(&env->net, &env->net.clusters[1], NULL, 0, &want);
    for (size_t i = 0; i < want.n; i++)
        mesh_object_needs_apply(want.items[i].obj, svc);
    mesh_desired_release(&want);
    mesh_problem_release(&p);
}

static void free_ports(struct mesh_port *ports, size_t n)
{
    mesh_service_ports_free(ports, n);
}

/* Istio refuses a ServiceEntry with two ports of one name. */
static void unique_port_names(const cJSON *se)
{
    const cJSON *ports = cJSON_GetObjectItem(cJSON_GetObjectItem(se, "spec"), "ports"), *a, *b;
    cJSON_ArrayForEach(a, ports)
    {
        for (b = a->next; b; b = b->next) {
            const cJSON *na = cJSON_GetObjectItem(a, "name"), *nb = cJSON_GetObjectItem(b, "name");
            if (!cJSON_IsString(na) || !cJSON_IsString(nb) ||
                strcmp(na->valuestring, nb->valuestring) == 0)
                abort();
        }
    }
}

static void fuzz_backing_service(const struct fuzz_env *env, const cJSON *svc)
{
    const char *desc = "cluster eu: Service echo/echo";
    struct mesh_problem p;
    mesh_problem_init(&p);
    cJSON *sel = mesh_service_selector(svc, desc, &p);
    if (!sel)
        need_message(&p);
    char *ls = mesh_label_selector(sel);
    if (sel && !ls)
        abort(); /* a selector that gives no label selector */
    free(ls);
    struct mesh_port *ports = NULL;
    size_t n = mesh_service_ports(svc, NULL, 0, desc, &ports, &p);
    if (!n)
        need_message(&p);
    for (size_t i = 0; i < n; i++)
        if (ports[i].number < 1 || ports[i].number > 65535 || !ports[i].name || !*ports[i].name ||
            !ports[i].protocol || ports[i].target_port < 0 || ports[i].target_port > 65535 ||
            (ports[i].target_name && (ports[i].target_port || !*ports[i].target_name)))
            abort();
    struct mesh_ccs_facts f = {.ccs = &env->ccs,
                               .net = &env->net,
                               .host = "echo.eu.mesh.local",
                               .address = "240.240.0.2",
                               .ports = ports,
                               .nports = n};
    cJSON *se = mesh_build_exporter_service_entry(&f, sel);
    unique_port_names(se);
    cJSON_Delete(se);
    free_ports(ports, n);
    /* the spec's own ports, target ports from the Service (or a name conflict) */
    n = mesh_service_ports(svc, env->ccs.ports, env->ccs.nports, desc, &ports, &p);
    if (n != env->ccs.nports && !(n == 0 && strcmp(p.reason, "TargetPortNameConflict") == 0))
        abort();
    if (!n)
        need_message(&p);
    free_ports(ports, n);
    cJSON_Delete(sel);
    mesh_problem_release(&p);
}

static void fuzz_pods(const struct fuzz_env *env, const cJSON *obj)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(obj, "items"), *pod;
    if (!cJSON_IsArray(items)) {
        free(mesh_pod_identity(obj, env->net.trust_domain, "echo"));
        return;
    }
    cJSON *sel = cJSON_Parse("{\"app\":\"echo\"}");
    cJSON_ArrayForEach(pod, items)
    {
        char *id = mesh_pod_identity(pod, env->net.trust_domain, "echo");
        if (id && strncmp(id, "spiffe://corp.local/ns/echo/sa/", 31) != 0)
            abort();
        /* the pod cache's small form gives the same identity and selection */
        cJSON *small = mesh_pod_project(cJSON_Duplicate(pod, 1));
        char *id2 = mesh_pod_identity(small, env->net.trust_domain, "echo");
        if ((id == NULL) != (id2 == NULL) || (id && strcmp(id, id2) != 0))
            abort();
        if (mesh_labels_match(sel, mesh_json_get(pod, "metadata", "labels")) !=
            mesh_labels_match(sel, mesh_json_get(small, "metadata", "labels")))
            abort();
        free(id2);
        cJSON_Delete(small);
        free(id);
    }
    cJSON_Delete(sel);
}

static void istio_read_check(const struct fuzz_env *env, const cJSON *mesh_cm, const cJSON *inj,
                             const cJSON *ns)
{
    struct mesh_istio_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (mesh_istio_read(mesh_cm, inj, ns, &info, &p) == MESH_OK) {
        for (int importing = 0; importing < 2; importing++)
            if (mesh_istio_check(&info, &env->net, &env->net.clusters[1], importing, &p) != MESH_OK)
                need_message(&p);
    } else {
        need_message(&p);
    }
    mesh_istio_info_release(&info);
    mesh_problem_release(&p);
}

static void fuzz_istio_objects(const struct fuzz_env *env, const cJSON *obj)
{
    /* one object in three roles, or {"mesh": cm, "injector": cm, "namespace": ns} */
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "mesh");
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(obj, "injector");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, "namespace");
    if (cJSON_IsObject(m))
        istio_read_check(env, m, i, n);
    istio_read_check(env, obj, obj, obj);
}

static void fuzz_istio_yaml(const struct fuzz_env *env, const char *text)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "mesh", text);
    cJSON *inj = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(inj, "data"), "values", text);
    istio_read_check(env, cm, inj, NULL);
    cJSON_Delete(cm);
    cJSON_Delete(inj);
}

static void kubeconfig_secret(const struct fuzz_env *env, const cJSON *secret)
{
    struct kube_rest_config cfg;
    struct mesh_problem p;
    mesh_problem_init(&p);
    char *version = NULL;
    if (mesh_member_config_from_secret(secret, "Secret eastwest-system/eu-kubeconfig",
                                       &env->net.clusters[1], &cfg, &version, &p) == MESH_OK) {
        if (!version)
            abort();
    } else {
        need_message(&p);
        if (version)
            abort();
    }
    kube_rest_config_free(&cfg);
    free(version);
    mesh_problem_release(&p);
}

static void fuzz_kubeconfig_bytes(const struct fuzz_env *env, const uint8_t *data, size_t size)
{
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, data, size);
    cJSON *secret = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(secret, "metadata"), "resourceVersion", "7");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(secret, "data"), "kubeconfig", b64.buf);
    kubeconfig_secret(env, secret);
    cJSON_Delete(secret);
    strbuf_release(&b64);
}

static void fuzz_cacerts(const struct fuzz_env *env, const cJSON *obj)
{
    /* no root is in reach: a made-up fingerprint, so every branch before the PEM runs */
    struct mesh_cert_info root;
    memset(&root, 0, sizeof(root));
    memset(root.sha256, 'a', 64);
    struct mesh_cacerts_decision d;
    mesh_cacerts_decide(obj, &env->net, "eu", "", &root, 0, &d);
    if (d.verdict != MESH_CACERTS_KEEP)
        need_message(&d.why);
    mesh_cacerts_decision_release(&d);
    const cJSON *pem = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "data"), "root-cert.pem");
    if (cJSON_IsString(pem))
        mesh_ca_pem_contains(pem->valuestring, root.sha256);
    struct strbuf v = STRBUF_INIT;
    mesh_secret_data(obj, "ca-cert.pem", &v);
    mesh_secret_wipe(&v);
}

static void count_upserted(void *ud, const char *key)
{
    if (!key || !*key)
        abort();
    (*(size_t *)ud)++;
}

static void check_deleted(void *ud, const char *key, const cJSON *old)
{
    (void)old;
    count_upserted(ud, key);
}

static void visit(void *ud, const char *key, const cJSON *obj)
{
    (void)obj;
    count_upserted(ud, key);
}

static void fuzz_list(const char *body, size_t len)
{
    struct kube_list_page page;
    struct kube_error err = KUBE_ERROR_INIT;
    if (kube_list_page_parse(body, len, "/api/v1/services", &page, &err) != KUBE_OK) {
        if (!err.message || page.items)
            abort();
        kube_error_clear(&err);
        return;
    }
    static const char *const labels[] = {MESH_LABEL_SERVICE, MESH_LABEL_MESH};
    struct rt_store *s = rt_store_new(labels, 2);
    cJSON *again = cJSON_Duplicate(page.items, 1);
    size_t n = 0;
    rt_store_replace(s, page.items, check_deleted, count_upserted, &n);
    page.items = NULL;
    cJSON *it = again ? again->child : NULL;
    while (it) { /* every item again, as watch events would bring them */
        cJSON *next = it->next;
        cJSON *obj = cJSON_DetachItemViaPointer(again, it);
        char *key = rt_object_key(obj);
        if (key) {
            rt_store_upsert(s, obj);
            cJSON_Delete(rt_store_get_copy(s, key));
        } else {
            cJSON_Delete(obj);
        }
        free(key);
        it = next;
    }
    cJSON_Delete(again);
    size_t nkeys = 0;
    char **keys = rt_store_keys(s, MESH_LABEL_SERVICE, "echo.echo", &nkeys);
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    rt_store_foreach(s, visit, &n);
    rt_store_bytes_estimate(s);
    /* a relist that finds nothing deletes everything */
    rt_store_replace(s, cJSON_CreateArray(), check_deleted, count_upserted, &n);
    if (rt_store_size(s) != 0)
        abort();
    rt_store_free(s);
    kube_list_page_release(&page);
}

static void fuzz_exec_output(const char *body, size_t len)
{
    char api[] = "client.authentication.k8s.io/v1", cmd[] = "fuzz-plugin";
    struct kube_exec_config ec;
    memset(&ec, 0, sizeof(ec));
    ec.api_version = api;
    ec.command = cmd;
    struct kube_exec_result r;
    struct kube_error err = KUBE_ERROR_INIT;
    if (kube_exec_parse_credential(&ec, body, len, &r, &err) == KUBE_OK) {
        if (!r.token && !(r.cert.len && r.key.len))
            abort();
        kube_exec_result_release(&r);
    } else if (!err.message || r.token || r.cert.data || r.key.data) {
        abort();
    }
    kube_error_clear(&err);
}

static void fuzz_status(const struct fuzz_env *env, const cJSON *obj)
{
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions");
    cJSON *arr = cJSON_CreateArray();
    static const char *const types[] = {"Ready", "Exported", "Imported", "Conflict"};
    for (size_t i = 0; i < 4; i++) {
        mesh_condition_status(old, types[i]);
        mesh_condition_add(arr, old, types[i], (enum mesh_cond_status)(i % 3), "Reason", "msg",
                           (int64_t)i - 1);
    }
    cJSON_Delete(arr);
    /* a written object as it came back: does it still match? */
    struct mesh_desired_set want = {0};
    mesh_build_gateway(&env->net, &env->net.clusters[0], NULL, 0, &want);
    for (size_t i = 0; i < want.n; i++) {
        mesh_object_needs_apply(want.items[i].obj, obj);
        mesh_json_subset(want.items[i].obj, obj);
        mesh_json_subset(obj, want.items[i].obj);
    }
    mesh_desired_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct fuzz_env env;
    struct mesh_problem p;
    mesh_problem_init(&p);
    cJSON *mj = cJSON_Parse(FUZZ_MESH), *cj = cJSON_Parse(FUZZ_CCS);
    if (mesh_network_parse(mj, &env.net, &p) != MESH_OK || mesh_ccs_parse(cj, &env.ccs, &p))
        abort();
    cJSON_Delete(mj);
    cJSON_Delete(cj);
    mesh_problem_release(&p);
    /* bodies reach the readers NUL-terminated (a strbuf, or a cJSON string) */
    struct strbuf body = STRBUF_INIT;
    strbuf_add(&body, data + 1, size - 1);
    int reader = data[0] % FUZZ_READERS;
    cJSON *obj = NULL;
    if (reader != 4 && reader != 6 && reader != 8 && reader != 9)
        obj = cJSON_ParseWithLength(body.buf, body.len);
    switch (reader) {
    case 0:
        fuzz_gateway_service(&env, obj);
        break;
    case 1:
        fuzz_backing_service(&env, obj);
        break;
    case 2:
        fuzz_pods(&env, obj);
        break;
    case 3:
        fuzz_istio_objects(&env, obj);
        break;
    case 4:
        fuzz_istio_yaml(&env, body.buf);
        break;
    case 5:
        kubeconfig_secret(&env, obj);
        break;
    case 6:
        fuzz_kubeconfig_bytes(&env, data + 1, size - 1);
        break;
    case 7:
        fuzz_cacerts(&env, obj);
        break;
    case 8:
        fuzz_list(body.buf, body.len);
        break;
    case 9:
        fuzz_exec_output(body.buf, body.len);
        break;
    default:
        fuzz_status(&env, obj);
        break;
    }
    cJSON_Delete(obj);
    strbuf_release(&body);
    mesh_network_release(&env.net);
    mesh_ccs_release(&env.ccs);
    return 0;
}
