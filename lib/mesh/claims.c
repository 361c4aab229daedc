/*
 * claims.c: the MeshNetwork's serviceClaims policy and its checks (claims.h).
 */
#include "claims.h"
#include "host_name.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_HOST_PATTERN "*.{namespace}.{meshID}.global"

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void mesh_claims_release(struct mesh_claims *c)
{
    free_list(c->namespaces, c->nnamespaces);
    free_list(c->hosts, c->nhosts);
    free_list(c->addresses, c->naddresses);
    memset(c, 0, sizeof(*c));
}

static int cidr_parse(const char *cidr, unsigned char net[16], int *len, long *prefix);

static int cidr_valid(const char *cidr)
{
    unsigned char net[16];
    int len;
    long prefix;
    return cidr_parse(cidr, net, &len, &prefix) == 0;
}

/* A list of non-empty strings at sc.field: 0 (absent: *out NULL), 1, or -1 with p set. */
static int read_list(const cJSON *sc, const char *field, char ***out, size_t *n,
                     struct mesh_problem *p)
{
    const cJSON *arr = cJSON_IsObject(sc) ? cJSON_GetObjectItemCaseSensitive(sc, field) : NULL, *it;
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        mesh_problem_set(p, "InvalidSpec", "spec.serviceClaims.%s: expected a list", field);
        return -1;
    }
    *out = ew_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            mesh_problem_set(p, "InvalidSpec",
                             "spec.serviceClaims.%s[%zu]: expected a non-empty string", field, *n);
            return -1;
        }
        (*out)[(*n)++] = ew_strdup(it->valuestring);
    }
    return 1;
}

mesh_code mesh_claims_parse(const cJSON *sc, struct mesh_claims *out, struct mesh_problem *p)
{
    memset(out, 0, sizeof(*out));
    if (sc && !cJSON_IsNull(sc) && !cJSON_IsObject(sc)) {
        mesh_problem_set(p, "InvalidSpec", "spec.serviceClaims: expected an object");
        return MESH_E_INVALID;
    }
    int ns = read_list(sc, "namespaces", &out->namespaces, &out->nnamespaces, p);
    int hosts = ns < 0 ? -1 : read_list(sc, "hosts", &out->hosts, &out->nhosts, p);
    int addrs = hosts < 0 ? -1 : read_list(sc, "addresses", &out->addresses, &out->naddresses, p);
    for (size_t i = 0; addrs >= 0 && i < out->naddresses; i++)
        if (!cidr_valid(out->addresses[i])) {
            mesh_problem_set(p, "InvalidSpec",
                             "spec.serviceClaims.addresses[%zu]: \"%.60s\" is not a CIDR", i,
                             out->addresses[i]);
            addrs = -1;
        }
    const cJSON *cn =
        cJSON_IsObject(sc) ? cJSON_GetObjectItemCaseSensitive(sc, "createNamespaces") : NULL;
    if (addrs >= 0 && cn && !cJSON_IsNull(cn) && !cJSON_IsBool(cn)) {
        mesh_problem_set(p, "InvalidSpec",
                         "spec.serviceClaims.createNamespaces: expected true or false");
        addrs = -1;
    }
    if (addrs < 0) {
        mesh_claims_release(out);
        return MESH_E_INVALID;
    }
    out->namespaces_set = ns > 0;
    out->create_namespaces = cJSON_IsTrue(cn);
    if (!out->nhosts) { /* absent or empty: the default (an empty list would allow nothing) */
        free(out->hosts);
        out->hosts = ew_calloc(1, sizeof(char *));
        out->hosts[out->nhosts++] = ew_strdup(DEFAULT_HOST_PATTERN);
    }
    return MESH_OK;
}

/* pattern with {namespace} and {meshID} replaced. */
static char *expand(const char *pattern, const char *ns, const char *mesh_id)
{
    struct strbuf b = STRBUF_INIT;
    for (const char *s = pattern; *s;) {
        if (strncmp(s, "{namespace}", 11) == 0) {
            strbuf_addf(&b, "%s", ns);
            s += 11;
        } else if (strncmp(s, "{meshID}", 8) == 0) {
            strbuf_addf(&b, "%s", mesh_id);
            s += 8;
        } else {
            strbuf_add(&b, s++, 1);
        }
    }
    return strbuf_detach(&b, NULL);
}

int mesh_claims_host_matches(const char *pattern, const char *ns, const char *mesh_id,
                             const char *host)
{
    if (!pattern || !host || !*host || strchr(host, '*'))
        return 0; /* a wildcard host claims names no pattern can vouch for */
    char *want = expand(pattern, ns ? ns : "", mesh_id ? mesh_id : "");
    int ok;
    if (strncmp(want, "*.", 2) == 0) {
        size_t hl = strlen(host), sl = strlen(want + 1); /* ".suffix" */
        /* at least one whole label before the suffix */
        ok = hl > sl && strcasecmp(host + hl - sl, want + 1) == 0 && host[0] != '.';
    } else {
        ok = strcasecmp(host, want) == 0;
    }
    free(want);
    return ok;
}

/* cidr into its network bytes, family length (4 or 16) and prefix: 0, or -1. */
static int cidr_parse(const char *cidr, unsigned char net[16], int *len, long *prefix)
{
    char buf[64];
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
        return -1;
    memcpy(buf, cidr, (size_t)(slash - cidr));
    buf[slash - cidr] = '\0';
    int fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
    *len = fam == AF_INET6 ? 16 : 4;
    char *end = NULL;
    *prefix = strtol(slash + 1, &end, 10);
    if (!end || *end || end == slash + 1 || *prefix < 0 || *prefix > *len * 8 ||
        inet_pton(fam, buf, net) != 1)
        return -1;
    return 0;
}

int mesh_cidr_contains(const char *cidr, const char *ip)
{
    unsigned char net[16], addr[16];
    int len;
    long prefix;
    if (cidr_parse(cidr, net, &len, &prefix) != 0 || !ip ||
        (strchr(ip, ':') != NULL) != (len == 16) ||
        inet_pton(len == 16 ? AF_INET6 : AF_INET, ip, addr) != 1)
        return 0;
    for (long bit = 0; bit < prefix; bit++) {
        unsigned char m = (unsigned char)(0x80 >> (bit % 8));
        if ((net[bit / 8] & m) != (addr[bit / 8] & m))
            return 0;
    }
    return 1;
}

mesh_code mesh_claims_check(const struct mesh_network *n, const char *ns, const char *host,
                            const char *address, struct mesh_problem *p)
{
    const struct mesh_claims *c = &n->claims;
    /* a host Istio refuses would block the Gateway of every service (host_name.h) */
    if (mesh_host_check(host, p) != MESH_OK)
        return MESH_E_INVALID;
    int ok = !c->namespaces_set;
    for (size_t i = 0; !ok && i < c->nnamespaces; i++)
        ok = strcmp(c->namespaces[i], ns) == 0;
    if (!ok)
        return mesh_problem_set(p, "NamespaceNotAllowed",
                                "namespace %s may not join MeshNetwork %s: it is not in the "
                                "MeshNetwork's spec.serviceClaims.namespaces",
                                ns, n->name);
    ok = 0;
    for (size_t i = 0; !ok && i < c->nhosts; i++)
        ok = mesh_claims_host_matches(c->hosts[i], ns, n->mesh_id, host);
    if (!ok) {
        struct strbuf allowed = STRBUF_INIT;
        for (size_t i = 0; i < c->nhosts; i++) {
            char *e = expand(c->hosts[i], ns, n->mesh_id);
            strbuf_addf(&allowed, "%s%s", i ? ", " : "", e);
            free(e);
        }
        mesh_problem_set(p, "HostNotAllowed",
                         "host %s is not allowed by MeshNetwork %s's spec.serviceClaims.hosts "
                         "(for namespace %s: %s)",
                         host, n->name, ns, allowed.buf);
        strbuf_release(&allowed);
        return MESH_E_INVALID;
    }
    if (!address)
        return MESH_OK;
    ok = mesh_cidr_contains(n->vip_range, address);
    for (size_t i = 0; !ok && i < c->naddresses; i++)
        ok = mesh_cidr_contains(c->addresses[i], address);
    if (!ok) {
        struct strbuf allowed = STRBUF_INIT;
        strbuf_addf(&allowed, "%s (spec.vipRange)", n->vip_range);
        for (size_t i = 0; i < c->naddresses; i++)
            strbuf_addf(&allowed, ", %s", c->addresses[i]);
        mesh_problem_set(p, "AddressNotAllowed",
                         "address %s is not allowed by MeshNetwork %s's "
                         "spec.serviceClaims.addresses: it is in none of %s",
                         address, n->name, allowed.buf);
        strbuf_release(&allowed);
        return MESH_E_INVALID;
    }
    return MESH_OK;
}
