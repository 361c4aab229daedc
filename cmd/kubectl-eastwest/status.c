/*
 * status: each MeshNetwork as a table per member cluster, read from its status
 * (what the operator observed) and from the CrossClusterServices' status (which
 * members export and import what).
 */
#include "plugin.h"
#include "connect.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *condition(const cJSON *conds, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        if (strcmp(str(c, "type"), type) == 0)
            return c;
    }
    return NULL;
}

/* How many CrossClusterServices of mesh give cluster the role (Exporter/Importer). */
static int count_role(const cJSON *services, const char *mesh, const char *cluster,
                      const char *role)
{
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, services)
    {
        if (strcmp(str(cJSON_GetObjectItem(s, "spec"), "meshNetwork"), mesh) != 0)
            continue;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(s, "status"), "clusters"))
        {
            const char *r = str(c, "role");
            if (strcmp(str(c, "name"), cluster) == 0 &&
                (strcmp(r, role) == 0 || strcmp(r, "Both") == 0))
                n++;
        }
    }
    return n;
}

static void print_mesh(const cJSON *mesh, const cJSON *services)
{
    const cJSON *md = cJSON_GetObjectItem(mesh, "metadata");
    const cJSON *st = cJSON_GetObjectItem(mesh, "status");
    const cJSON *ready = condition(cJSON_GetObjectItem(st, "conditions"), "Ready");
    const char *name = str(md, "name");
    printf("MeshNetwork %s: Ready=%s (%s) %s\n", name, ready ? str(ready, "status") : "Unknown",
           ready ? str(ready, "reason") : "not reconciled yet", str(st, "readyClusters"));
    if (ready && strcmp(str(ready, "status"), "True") != 0 && *str(ready, "message"))
        printf("  %s\n", str(ready, "message"));
    const cJSON *root = cJSON_GetObjectItem(st, "rootCA");
    if (root)
        printf("  root CA sha256 %.16s... expires %s\n", str(root, "sha256Fingerprint"),
               str(root, "notAfter"));
    printf("  %-12s %-12s %-9s %-32s %-21s %-6s %-7s %s\n", "CLUSTER", "NETWORK", "REACHABLE",
           "GATEWAYS", "INTERMEDIATE-EXPIRES", "READY", "EXPORTS", "IMPORTS");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "clusters"))
    {
        char gws[256] = "";
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(c, "gatewayAddresses"))
        {
            size_t l = strlen(gws);
            snprintf(gws + l, sizeof(gws) - l, "%s%s", l ? "," : "",
                     cJSON_IsString(a) ? a->valuestring : "");
        }
        const cJSON *conds = cJSON_GetObjectItem(c, "conditions");
        int ok = 1;
        const cJSON *k;
        cJSON_ArrayForEach(k, conds)
        {
            /* ForeignObjects is the one member condition whose True is the problem (objects
             * eastwest did not write, left alone: docs/design.md, Foreign objects) */
            const char *healthy = strcmp(str(k, "type"), "ForeignObjects") == 0 ? "False" : "True";
            if (strcmp(str(k, "status"), healthy) != 0)
                ok = 0;
        }
        const char *cl = str(c, "name");
        printf("  %-12s %-12s %-9s %-32s %-21s %-6s %-7d %d\n", cl, str(c, "network"),
               cJSON_IsTrue(cJSON_GetObjectItem(c, "reachable")) ? "true" : "false",
               *gws ? gws : "<none>",
               *str(c, "intermediateNotAfter") ? str(c, "intermediateNotAfter") : "-",
               ok ? "True" : "False", count_role(services, name, cl, "Exporter"),
               count_role(services, name, cl, "Importer"));
    }
}

int plugin_status(const struct plugin_opts *o)
{
    struct plugin_conn home;
    if (plugin_connect_home(o, &home))
        return 1;
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *meshes = NULL, *services = NULL;
    int rc = 0;
    if (kube_list(home.client, &MESH_RES_MESHNETWORKS, NULL, NULL, &meshes, NULL, &err) !=
            KUBE_OK ||
        kube_list(home.client, &MESH_RES_CROSSCLUSTERSERVICES, NULL, NULL, &services, NULL, &err) !=
            KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: reading MeshNetworks and CrossClusterServices: %s\n",
                err.message);
        rc = 1;
    } else {
        int shown = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, meshes)
        {
            const char *n = str(cJSON_GetObjectItem(m, "metadata"), "name");
            if (o->nargs > 0 && strcmp(n, o->args[0]) != 0)
                continue;
            if (shown++)
                printf("\n");
            print_mesh(m, services);
        }
        if (!shown) {
            fprintf(stderr, "kubectl-eastwest: %s%s\n",
                    o->nargs ? "no MeshNetwork named " : "no MeshNetwork in the home cluster",
                    o->nargs ? o->args[0] : "");
            rc = 1;
        }
    }
    kube_error_clear(&err);
    cJSON_Delete(meshes);
    cJSON_Delete(services);
    plugin_disconnect(&home);
    return rc;
}
