/*
 * bare_client: the physical limit the operator is measured against. Writes, with
 * W threads and nothing else (no caches, no status, no events), the objects the
 * operator writes for N CrossClusterServices of the bench (an importer
 * ServiceEntry and DestinationRule in cluster A, an exporter ServiceEntry in
 * cluster B), then deletes them. Prints "bare: N objects written in S s".
 *
 *   bare_client KUBECONFIG_A KUBECONFIG_B NAMESPACE N WORKERS
 */
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "base/timeutil.h"
#include "mesh/objects.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct kube_client *a, *b;
    const char *ns;
    int n, workers, index, del;
    int failures;
};

static cJSON *entry(const char *ns, int i, int importer)
{
    char name[64], host[128];
    snprintf(name, sizeof(name), "bare-%d", i);
    snprintf(host, sizeof(host), "bare-%d.bench.mesh.global", i);
    cJSON *o = mesh_object_new("networking.istio.io/v1", "ServiceEntry", ns, name, NULL);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    const char *hosts[] = {host};
    cJSON_AddItemToObject(spec, "hosts", cJSON_CreateStringArray(hosts, 1));
    cJSON_AddStringToObject(spec, "location", "MESH_INTERNAL");
    cJSON_AddStringToObject(spec, "resolution", "STATIC");
    cJSON *port = cJSON_CreateObject();
    cJSON_AddNumberToObject(port, "number", 80);
    cJSON_AddStringToObject(port, "name", "http");
    cJSON_AddStringToObject(port, "protocol", "HTTP");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "ports"), port);
    if (importer) {
        cJSON *ep = cJSON_CreateObject();
        cJSON_AddStringToObject(ep, "address", "203.0.113.20");
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(ep, "ports"), "http", 15443);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "endpoints"), ep);
    }
    return o;
}

static cJSON *rule(const char *ns, int i)
{
    char name[64], host[128];
    snprintf(name, sizeof(name), "bare-%d", i);
    snprintf(host, sizeof(host), "bare-%d.bench.mesh.global", i);
    cJSON *o = mesh_object_new("networking.istio.io/v1", "DestinationRule", ns, name, NULL);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(spec, "host", host);
    cJSON_AddStringToObject(
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "trafficPolicy"), "tls"), "mode",
        "ISTIO_MUTUAL");
    return o;
}

static int one(struct kube_client *c, const struct kube_resource *r, const char *ns, cJSON *o,
               int del)
{
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc;
    if (del)
        rc = kube_delete(
            c, r, ns, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "name")->valuestring,
            NULL, &err);
    else
        rc = kube_apply(c, r, ns, o, "bench-bare-client", 1, NULL, &err);
    if (rc != KUBE_OK)
        fprintf(stderr, "bare_client: %s\n", err.message);
    kube_error_clear(&err);
    cJSON_Delete(o);
    return rc == KUBE_OK ? 0 : 1;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    int failures = 0;
    for (int i = j->index; i < j->n; i += j->workers) {
        failures += one(j->a, &MESH_RES_SERVICEENTRIES, j->ns, entry(j->ns, i, 1), j->del);
        failures += one(j->a, &MESH_RES_DESTINATIONRULES, j->ns, rule(j->ns, i), j->del);
        failures += one(j->b, &MESH_RES_SERVICEENTRIES, j->ns, entry(j->ns, i, 0), j->del);
    }
    j->failures = failures;
    return NULL;
}

static struct kube_client *connect(const char *path)
{
    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    struct kube_config_options co = {path, NULL, NULL, NULL};
    struct kube_client *c = NULL;
    if (kube_config_load(&co, &cfg, &err) != KUBE_OK ||
        kube_client_new(&cfg, &(struct kube_client_options){0}, &c, &err) != KUBE_OK) {
        fprintf(stderr, "bare_client: %s: %s\n", path, err.message);
        exit(1);
    }
    kube_rest_config_free(&cfg);
    return c;
}

static double run(struct kube_client *a, struct kube_client *b, const char *ns, int n, int workers,
                  int del, int *failures)
{
    pthread_t th[64];
    struct job jobs[64];
    double start = ew_now_mono();
    for (int w = 0; w < workers; w++) {
        jobs[w] = (struct job){a, b, ns, n, workers, w, del, 0};
        pthread_create(&th[w], NULL, worker, &jobs[w]);
    }
    for (int w = 0; w < workers; w++) {
        pthread_join(th[w], NULL);
        *failures += jobs[w].failures;
    }
    return ew_now_mono() - start;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bare_client KUBECONFIG_A KUBECONFIG_B NAMESPACE N WORKERS\n");
        return 2;
    }
    int n = atoi(argv[4]), workers = atoi(argv[5]);
    if (n < 1 || workers < 1 || workers > 64) {
        fprintf(stderr, "bare_client: N >= 1 and 1 <= WORKERS <= 64\n");
        return 2;
    }
    kube_global_init();
    struct kube_client *a = connect(argv[1]), *b = connect(argv[2]);
    int failures = 0;
    double took = run(a, b, argv[3], n, workers, 0, &failures);
    printf("bare: %d objects written in %.3f s\n", 3 * n, took);
    run(a, b, argv[3], n, workers, 1, &failures);
    kube_client_free(a);
    kube_client_free(b);
    kube_global_cleanup();
    return failures ? 1 : 0;
}
