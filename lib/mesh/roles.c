/*
 * roles: who exports, who imports, and which hosts each member's Gateway passes
 * through (the rules are in roles.h). The host lists are kept sorted as they
 * grow, by binary search and insertion, so they are deduplicated on the way in
 * and need no final pass.
 */
#include "roles.h"

#include "claims.h"
#include "base/strbuf.h"

#include <stdlib.h>
#include <string.h>

const struct mesh_export *mesh_ccs_export_of(const struct mesh_ccs *c, const char *cluster)
{
    for (size_t i = 0; i < c->nexports; i++)
        if (strcmp(c->exports[i].cluster, cluster) == 0)
            return &c->exports[i];
    return NULL;
}

enum mesh_role mesh_ccs_role(const struct mesh_ccs *c, const char *cluster)
{
    int exports = mesh_ccs_export_of(c, cluster) != NULL, imports = 0;
    if (!c->import_to_set)
        imports = !exports;
    for (size_t i = 0; i < c->nimport_to; i++)
        if (strcmp(c->import_to[i], cluster) == 0)
            imports = 1;
    return (exports ? MESH_ROLE_EXPORTS : MESH_ROLE_NONE) |
           (imports ? MESH_ROLE_IMPORTS : MESH_ROLE_NONE);
}

mesh_code mesh_ccs_parse_live(const cJSON *obj, const struct mesh_network *net,
                              struct mesh_ccs *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "spec"), "meshNetwork");
    if (!cJSON_IsString(mn) || strcmp(mn->valuestring, net->name) != 0)
        return MESH_E_INVALID;
    if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                         "deletionTimestamp"))
        return MESH_E_INVALID;
    return mesh_ccs_parse(obj, out, NULL);
}

void mesh_gateway_hosts_init(struct mesh_gateway_hosts *g, const struct mesh_network *net)
{
    g->net = net;
    g->members = ew_calloc(net->nclusters + 1, sizeof(*g->members));
    strmap_init(&g->address_owner);
}

/* "<creationTimestamp>\n<namespace>/<name>": compared as strings, the older sorts first */
static char *claim_rank(const struct mesh_ccs *c)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_addf(&b, "%s\n%s/%s", c->creation_timestamp ? c->creation_timestamp : "", c->namespace_,
                c->name);
    return strbuf_detach(&b, NULL);
}

static int claims_ok(const struct mesh_gateway_hosts *g, const struct mesh_ccs *c, const char *host)
{
    return mesh_claims_check(g->net, c->namespace_, host, c->address, NULL) == MESH_OK;
}

void mesh_gateway_hosts_claim(struct mesh_gateway_hosts *g, const struct mesh_ccs *c)
{
    if (!c->address)
        return;
    char *host = mesh_ccs_host(c, g->net);
    int ok = claims_ok(g, c, host); /* a refused claim claims nothing (ccs.c) */
    free(host);
    if (!ok)
        return;
    char *rank = claim_rank(c);
    char *was = strmap_get(&g->address_owner, c->address);
    if (!was || strcmp(rank, was) < 0) {
        free(strmap_put(&g->address_owner, c->address, rank));
        return;
    }
    free(rank);
}

static int loses_address(const struct mesh_gateway_hosts *g, const struct mesh_ccs *c)
{
    const char *owner = c->address ? strmap_get(&g->address_owner, c->address) : NULL;
    if (!owner)
        return 0;
    char *rank = claim_rank(c);
    int lost = strcmp(rank, owner) != 0;
    free(rank);
    return lost;
}

static void host_list_insert(struct mesh_host_list *l, const char *host)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(l->hosts[mid], host);
        if (cmp == 0)
            return;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    l->hosts = ew_realloc(l->hosts, (l->n + 1) * sizeof(char *));
    memmove(&l->hosts[lo + 1], &l->hosts[lo], (l->n - lo) * sizeof(char *));
    l->hosts[lo] = ew_strdup(host);
    l->n++;
}

void mesh_gateway_hosts_add(struct mesh_gateway_hosts *g, const struct mesh_ccs *c)
{
    char *host = mesh_ccs_host(c, g->net);
    /* a claim the MeshNetwork refuses (claims.h), or the loser of an address conflict,
     * opens no gateway to its host */
    if (!claims_ok(g, c, host) || loses_address(g, c)) {
        free(host);
        return;
    }
    for (size_t i = 0; i < g->net->nclusters; i++)
        if (mesh_ccs_role(c, g->net->clusters[i].name) & MESH_ROLE_EXPORTS)
            host_list_insert(&g->members[i], host);
    free(host);
}

void mesh_gateway_hosts_release(struct mesh_gateway_hosts *g)
{
    if (g->members)
        for (size_t i = 0; i < g->net->nclusters; i++) {
            for (size_t j = 0; j < g->members[i].n; j++)
                free(g->members[i].hosts[j]);
            free(g->members[i].hosts);
        }
    free(g->members);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&g->address_owner, &it, &k, &v);)
        free(v);
    strmap_clear(&g->address_owner);
    memset(g, 0, sizeof(*g));
}
