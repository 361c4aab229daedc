/*
 * fuzz_kubeconfig.c: YAML -> JSON (one document, and every document of a stream,
 * as "kubectl eastwest plan -f" reads) and kubeconfig resolution on arbitrary
 * bytes (kubeconfig Secrets and plan files are outside input). Must never crash,
 * hang or leak.
 */
#include "kube/kubeconfig.h"
#include "kube/yaml_json.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *doc = NULL;
    if (yaml_to_json((const char *)data, size, &doc, &err) == KUBE_OK)
        cJSON_Delete(doc);
    kube_error_clear(&err);
    if (yaml_to_json_all((const char *)data, size, &doc, &err) == KUBE_OK)
        cJSON_Delete(doc);
    kube_error_clear(&err);
    struct kube_rest_config cfg;
    if (kube_config_from_memory((const char *)data, size, "fuzz", NULL, NULL, &cfg, &err) ==
        KUBE_OK)
        kube_rest_config_free(&cfg);
    kube_error_clear(&err);
    return 0;
}
