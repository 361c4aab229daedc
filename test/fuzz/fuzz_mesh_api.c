/*
 * fuzz_mesh_api.c: MeshNetwork and CrossClusterService parsing and checks on
 * arbitrary JSON. Must never crash, hang or leak.
 */
#include "mesh/api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int any_secret(void *ud, const char *name, const char *key)
{
    (void)ud;
    return (name[0] + (key ? key[0] : 0)) % 3 - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    struct mesh_network n;
    struct mesh_ccs c;
    struct mesh_problem p;
    mesh_problem_init(&p);
    mesh_code rn = mesh_network_parse(j, &n, &p);
    mesh_code rc = mesh_ccs_parse(j, &c, &p);
    if (rn == MESH_OK && rc == MESH_OK) {
        char *host = mesh_ccs_host(&c, &n);
        free(host);
        mesh_ccs_check_members(&c, &n, &p);
    }
    if (rn == MESH_OK)
        mesh_network_check_secrets(&n, any_secret, NULL, &p);
    char *text = malloc(size + 1); /* the input as a duration string too */
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        mesh_parse_duration(text);
        free(text);
    }
    mesh_network_release(&n);
    mesh_ccs_release(&c);
    mesh_problem_release(&p);
    cJSON_Delete(j);
    return 0;
}
