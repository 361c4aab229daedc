/*
 * api.c: MeshNetwork / CrossClusterService JSON -> structs with defaults, and
 * the checks admission cannot make (see api.h).
 *
 * Reading is table-free and explicit: small getters return a field or a
 * default, and record the first problem with the field's path, e.g.
 * "spec.clusters[1].network: expected a string". Every string is copied, so
 * the struct outlives the JSON it came from.
 */
#include "api.h"

#include "claims.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mesh_problem_init(struct mesh_problem *p)
{
    p->reason[0] = '\0';
    strbuf_init(&p->message, 0);
}

void mesh_problem_release(struct mesh_problem *p)
{
    strbuf_release(&p->message);
    p->reason[0] = '\0';
}

mesh_code mesh_problem_set(struct mesh_problem *p, const char *reason, const char *fmt, ...)
{
    va_list ap;
    if (!p)
        return MESH_E_INVALID;
    snprintf(p->reason, sizeof(p->reason), "%s", reason);
    strbuf_reset(&p->message);
    va_start(ap, fmt);
    strbuf_vaddf(&p->message, fmt, ap);
    va_end(ap);
    return MESH_E_INVALID;
}

/* ---- getters: each returns 0, or -1 after recording the problem ---- */

struct reader {
    struct mesh_problem *p;
    int failed;
};

static int fail_field(struct reader *r, const char *path, const char *what)
{
    if (!r->failed)
        mesh_problem_set(r->p, "InvalidSpec", "%s: %s", path, what);
    r->failed = 1;
    return -1;
}

static const cJSON *item(const cJSON *obj, const char *field)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, field) : NULL;
}

/* A string field, or dflt when absent; NULL result only when dflt is NULL. */
static char *get_str(struct reader *r, const cJSON *obj, const char *field, const char *path,
                     const char *dflt, int required)
{
    const cJSON *v = item(obj, field);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            fail_field(r, path, "required");
        return ew_strdup(dflt);
    }
    if (!cJSON_IsString(v) || (required && !*v->valuestring)) {
        fail_field(r, path, cJSON_IsString(v) ? "must not be empty" : "expected a string");
        return ew_strdup(dflt);
    }
    return ew_strdup(v->valuestring);
}

static int get_int(struct reader *r, const cJSON *obj, const char *field, const char *path,
                   int dflt, int min, int max)
{
    const cJSON *v = item(obj, field);
    if (!v || cJSON_IsNull(v))
        return dflt;
    /* the range first: converting a double outside long's range is undefined */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max) ||
        v->valuedouble != (double)(long)v->valuedouble) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "expected a whole number from %d to %d", min, max);
        fail_field(r, path, sb.buf);
        strbuf_release(&sb);
        return dflt;
    }
    return (int)v->valuedouble;
}

static int get_bool(struct reader *r, const cJSON *obj, const char *field, const char *path)
{
    const cJSON *v = item(obj, field);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return fail_field(r, path, "expected true or false"), 0;
    return cJSON_IsTrue(v);
}

/* An enum: the index of the value in names[], or dflt. */
static int get_enum(struct reader *r, const cJSON *obj, const char *field, const char *path,
                    const char *const *names, int n, int dflt)
{
    char *s = get_str(r, obj, field, path, NULL, 0);
    int res = dflt;
    if (s) {
        res = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(s, names[i]) == 0)
                res = i;
        if (res < 0) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "\"%.60s\" is not one of", s);
            for (int i = 0; i < n; i++)
                strbuf_addf(&sb, "%s %s", i ? "," : "", names[i]);
            fail_field(r, path, sb.buf);
            strbuf_release(&sb);
            res = dflt;
        }
    }
    free(s);
    return res;
}

static double get_duration(struct reader *r, const cJSON *obj, const char *field, const char *path,
                           const char *dflt)
{
    char *s = get_str(r, obj, field, path, dflt, 0);
    double d = mesh_parse_duration(s);
    if (d <= 0) {
        fail_field(r, path, "expected a positive duration such as 720h or 10s");
        d = mesh_parse_duration(dflt);
    }
    free(s);
    return d;
}

static const cJSON *get_array(struct reader *r, const cJSON *obj, const char *field,
                              const char *path)
{
    const cJSON *v = item(obj, field);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsArray(v)) {
        fail_field(r, path, "expected a list");
        return NULL;
    }
    return v;
}

double mesh_parse_duration(const char *s)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
                 {"s", 1},     {"m", 60},    {"h", 3600}};
    double total = 0;
    if (!s || !*s)
        return -1;
    if (strcmp(s, "0") == 0)
        return 0;
    while (*s) {
        char *end;
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return -1; /* strtod would take signs, spaces, "inf", hex */
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        s = end;
        int matched = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !matched; i++) {
            size_t l = strlen(units[i].unit);
            /* "ms" before "m"/"s": try longer units first by listing them first */
            if (strncmp(s, units[i].unit, l) == 0) { /* "ms" is tried before "m" and "s" */
                total += v * units[i].seconds;
                s += l;
                matched = 1;
            }
        }
        if (!matched)
            return -1;
    }
    return total;
}

/* ---- MeshNetwork ---- */

static void read_meta(const cJSON *obj, char **name, char **uid, int64_t *generation)
{
    const cJSON *meta = item(obj, "metadata");
    const cJSON *n = item(meta, "name"), *u = item(meta, "uid");
    *name = ew_strdup(cJSON_IsString(n) ? n->valuestring : "");
    *uid = ew_strdup(cJSON_IsString(u) ? u->valuestring : "");
    *generation = mesh_object_generation(obj);
}

int64_t mesh_object_generation(const cJSON *obj)
{
    const cJSON *g = item(item(obj, "metadata"), "generation");
    /* non-negative and within what a double holds exactly (converting a bigger one is
     * undefined, and no API server hands one out) */
    if (!cJSON_IsNumber(g) || !(g->valuedouble >= 0 && g->valuedouble <= 9007199254740992.0))
        return 0;
    return (int64_t)g->valuedouble;
}

static void read_clusters(struct reader *r, const cJSON *spec, struct mesh_network *n)
{
    const cJSON *arr = get_array(r, spec, "clusters", "spec.clusters"), *it;
    char path[96];
    size_t cap = (size_t)cJSON_GetArraySize(arr);
    if (!arr || cap < 2) {
        fail_field(r, "spec.clusters", "at least two clusters are needed");
        return;
    }
    n->clusters = ew_calloc(cap, sizeof(*n->clusters));
    cJSON_ArrayForEach(it, arr)
    {
        struct mesh_cluster *c = &n->clusters[n->nclusters];
        const cJSON *ref = item(it, "kubeconfigSecretRef");
        snprintf(path, sizeof(path), "spec.clusters[%zu].name", n->nclusters);
        c->name = get_str(r, it, "name", path, "", 1);
        snprintf(path, sizeof(path), "spec.clusters[%zu].network", n->nclusters);
        c->network = get_str(r, it, "network", path, "", 1);
        snprintf(path, sizeof(path), "spec.clusters[%zu].locality", n->nclusters);
        c->locality = get_str(r, it, "locality", path, NULL, 0);
        if (ref && !cJSON_IsNull(ref)) {
            snprintf(path, sizeof(path), "spec.clusters[%zu].kubeconfigSecretRef.name",
                     n->nclusters);
            c->secret_name = get_str(r, ref, "name", path, "", 1);
            snprintf(path, sizeof(path), "spec.clusters[%zu].kubeconfigSecretRef.key",
                     n->nclusters);
            c->secret_key = get_str(r, ref, "key", path, "kubeconfig", 0);
        }
        n->nclusters++;
        for (size_t j = 0; j + 1 < n->nclusters; j++) {
            snprintf(path, sizeof(path), "spec.clusters[%zu]", n->nclusters - 1);
            if (strcmp(n->clusters[j].name, c->name) == 0)
                fail_field(r, path, "duplicate cluster name");
            else if (strcmp(n->clusters[j].network, c->network) == 0)
                fail_field(r, path, "duplicate network");
        }
    }
}

static void read_gateway(struct reader *r, const cJSON *spec, struct mesh_network *n)
{
    static const char *const exposures[] = {"ExportedOnly", "AllLocal"};
    const cJSON *gw = item(spec, "eastWestGateway"), *svc = item(gw, "service"), *it;
    n->gateway.replicas = get_int(r, gw, "replicas", "spec.eastWestGateway.replicas", 2, 0, 100);
    n->gateway.service_type =
        get_str(r, svc, "type", "spec.eastWestGateway.service.type", "LoadBalancer", 0);
    n->gateway.exposure = (enum mesh_exposure)get_enum(
        r, gw, "exposure", "spec.eastWestGateway.exposure", exposures, 2, 0);
    const cJSON *ann = item(svc, "annotations");
    if (cJSON_IsObject(ann)) {
        n->gateway.annotations =
            ew_calloc((size_t)cJSON_GetArraySize(ann) + 1, sizeof(*n->gateway.annotations));
        cJSON_ArrayForEach(it, ann)
        {
            if (!cJSON_IsString(it)) {
                fail_field(r, "spec.eastWestGateway.service.annotations", "values must be strings");
                continue;
            }
            n->gateway.annotations[n->gateway.nannotations].key = ew_strdup(it->string);
            n->gateway.annotations[n->gateway.nannotations++].value = ew_strdup(it->valuestring);
        }
    }
    const cJSON *ranges = get_array(r, svc, "loadBalancerSourceRanges",
                                    "spec.eastWestGateway.service.loadBalancerSourceRanges");
    n->gateway.source_ranges = ew_calloc((size_t)cJSON_GetArraySize(ranges) + 1, sizeof(char *));
    cJSON_ArrayForEach(it, ranges)
    {
        if (cJSON_IsString(it))
            n->gateway.source_ranges[n->gateway.nsource_ranges++] = ew_strdup(it->valuestring);
        else
            fail_field(r, "spec.eastWestGateway.service.loadBalancerSourceRanges",
                       "expected strings");
    }
    const cJSON *res = item(gw, "resources");
    if (cJSON_IsObject(res))
        n->gateway.resources = cJSON_Duplicate(res, 1);
}

static void read_ca(struct reader *r, const cJSON *spec, struct mesh_network *n)
{
    static const char *const algs[] = {"ECDSA-P256", "RSA-3072", "RSA-4096"};
    static const char *const on_delete[] = {"Retain", "Delete"};
    const cJSON *ca = item(spec, "certificateAuthority");
    n->ca.key_algorithm = (enum mesh_key_algorithm)get_enum(
        r, ca, "keyAlgorithm", "spec.certificateAuthority.keyAlgorithm", algs, 3, 0);
    n->ca.root_validity =
        get_duration(r, ca, "rootValidity", "spec.certificateAuthority.rootValidity", "87600h");
    n->ca.intermediate_validity = get_duration(
        r, ca, "intermediateValidity", "spec.certificateAuthority.intermediateValidity", "8760h");
    n->ca.renew_before =
        get_duration(r, ca, "renewBefore", "spec.certificateAuthority.renewBefore", "720h");
    /* unset: 2160h, or a third of a shorter-lived root (a root valid 720h, accepted before
     * this field existed, must not turn invalid) */
    n->ca.root_renew_before =
        item(ca, "rootRenewBefore")
            ? get_duration(r, ca, "rootRenewBefore", "spec.certificateAuthority.rootRenewBefore",
                           "2160h")
        : n->ca.root_validity / 3 < 2160.0 * 3600 ? n->ca.root_validity / 3
                                                  : 2160.0 * 3600;
    n->ca.root_secret = get_str(r, item(ca, "rootSecretRef"), "name",
                                "spec.certificateAuthority.rootSecretRef.name", NULL, 0);
    n->ca.rotation_request =
        get_str(r, ca, "rotationRequest", "spec.certificateAuthority.rotationRequest", NULL, 0);
    n->ca.rotation_overlap =
        get_duration(r, ca, "rotationOverlap", "spec.certificateAuthority.rotationOverlap", "25h");
    n->ca.adopt_existing =
        get_bool(r, ca, "adoptExisting", "spec.certificateAuthority.adoptExisting");
    n->ca.on_delete = (enum mesh_on_delete)get_enum(
        r, ca, "onDelete", "spec.certificateAuthority.onDelete", on_delete, 2, 0);
    if (n->ca.renew_before >= n->ca.intermediate_validity)
        fail_field(r, "spec.certificateAuthority.renewBefore",
                   "must be shorter than intermediateValidity");
    if (n->ca.root_renew_before >= n->ca.root_validity)
        fail_field(r, "spec.certificateAuthority.rootRenewBefore",
                   "must be shorter than rootValidity (a new root would be due at once)");
}

static void read_vip_range(struct reader *r, const cJSON *spec, struct mesh_network *n)
{
    n->vip_range = get_str(r, spec, "vipRange", "spec.vipRange", "240.240.0.0/16", 0);
    char addr[32];
    const char *slash = strchr(n->vip_range, '/');
    struct in_addr in;
    char *end = NULL;
    long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
    size_t alen = slash ? (size_t)(slash - n->vip_range) : 0;
    if (!slash || alen >= sizeof(addr) || !end || *end || prefix < 1 || prefix > 30) {
        fail_field(r, "spec.vipRange", "expected an IPv4 CIDR such as 240.240.0.0/16");
        return;
    }
    memcpy(addr, n->vip_range, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, &in) != 1) {
        fail_field(r, "spec.vipRange", "expected an IPv4 CIDR such as 240.240.0.0/16");
        return;
    }
    uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    n->vip_base = ntohl(in.s_addr) & mask;
    n->vip_prefix = (int)prefix;
}

mesh_code mesh_network_parse(const cJSON *obj, struct mesh_network *out, struct mesh_problem *p)
{
    struct reader r = {p, 0};
    memset(out, 0, sizeof(*out));
    read_meta(obj, &out->name, &out->uid, &out->generation);
    const cJSON *spec = item(obj, "spec");
    if (!cJSON_IsObject(spec)) {
        fail_field(&r, "spec", "required");
        mesh_network_release(out); /* api.h: a failure leaves nothing to release */
        return MESH_E_INVALID;
    }
    out->mesh_id = get_str(&r, spec, "meshID", "spec.meshID", "", 1);
    out->trust_domain = get_str(&r, spec, "trustDomain", "spec.trustDomain", "", 1);
    out->istio_namespace =
        get_str(&r, spec, "istioNamespace", "spec.istioNamespace", "istio-system", 0);
    read_clusters(&r, spec, out);
    read_gateway(&r, spec, out);
    read_ca(&r, spec, out);
    read_vip_range(&r, spec, out);
    out->adopt_existing_objects =
        get_bool(&r, spec, "adoptExistingObjects", "spec.adoptExistingObjects");
    if (!r.failed && mesh_claims_parse(item(spec, "serviceClaims"), &out->claims, p) != MESH_OK)
        r.failed = 1;
    if (!r.failed)
        return MESH_OK;
    mesh_network_release(out);
    return MESH_E_INVALID;
}

void mesh_network_release(struct mesh_network *n)
{
    free(n->name);
    free(n->uid);
    free(n->mesh_id);
    free(n->trust_domain);
    free(n->istio_namespace);
    for (size_t i = 0; i < n->nclusters; i++) {
        free(n->clusters[i].name);
        free(n->clusters[i].network);
        free(n->clusters[i].locality);
        free(n->clusters[i].secret_name);
        free(n->clusters[i].secret_key);
    }
    free(n->clusters);
    free(n->gateway.service_type);
    for (size_t i = 0; i < n->gateway.nannotations; i++) {
        free(n->gateway.annotations[i].key);
        free(n->gateway.annotations[i].value);
    }
    free(n->gateway.annotations);
    for (size_t i = 0; i < n->gateway.nsource_ranges; i++)
        free(n->gateway.source_ranges[i]);
    free(n->gateway.source_ranges);
    cJSON_Delete(n->gateway.resources);
    free(n->ca.root_secret);
    free(n->ca.rotation_request);
    free(n->vip_range);
    mesh_claims_release(&n->claims);
    memset(n, 0, sizeof(*n));
}

const struct mesh_cluster *mesh_network_cluster(const struct mesh_network *n, const char *name)
{
    for (size_t i = 0; i < n->nclusters; i++)
        if (strcmp(n->clusters[i].name, name) == 0)
            return &n->clusters[i];
    return NULL;
}

/* ---- CrossClusterService ---- */

static void read_exports(struct reader *r, const cJSON *spec, struct mesh_ccs *c)
{
    const cJSON *arr = get_array(r, spec, "exportFrom", "spec.exportFrom"), *it;
    char path[96];
    if (!arr || cJSON_GetArraySize(arr) < 1) {
        fail_field(r, "spec.exportFrom", "at least one exporting cluster is needed");
        return;
    }
    c->exports = ew_calloc((size_t)cJSON_GetArraySize(arr), sizeof(*c->exports));
    cJSON_ArrayForEach(it, arr)
    {
        struct mesh_export *e = &c->exports[c->nexports];
        snprintf(path, sizeof(path), "spec.exportFrom[%zu].cluster", c->nexports);
        e->cluster = get_str(r, it, "cluster", path, "", 1);
        snprintf(path, sizeof(path), "spec.exportFrom[%zu].service", c->nexports);
        e->service = get_str(r, it, "service", path, c->name, 0);
        c->nexports++;
        for (size_t j = 0; j + 1 < c->nexports; j++)
            if (strcmp(c->exports[j].cluster, e->cluster) == 0)
                fail_field(r, path, "duplicate exporting cluster");
    }
}

static void read_imports(struct reader *r, const cJSON *spec, struct mesh_ccs *c)
{
    const cJSON *arr = get_array(r, spec, "importTo", "spec.importTo"), *it;
    if (!arr)
        return;
    c->import_to_set = 1;
    c->import_to = ew_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            fail_field(r, "spec.importTo", "expected cluster names");
            continue;
        }
        for (size_t j = 0; j < c->nimport_to; j++)
            if (strcmp(c->import_to[j], it->valuestring) == 0)
                fail_field(r, "spec.importTo", "duplicate cluster");
        c->import_to[c->nimport_to++] = ew_strdup(it->valuestring);
    }
    if (c->nimport_to == 0)
        fail_field(r, "spec.importTo", "must name at least one cluster when set");
}

/* spec.exportTo: "." (its own namespace), "*" or namespace names; default ["."]. */
static void read_export_to(struct reader *r, const cJSON *spec, struct mesh_ccs *c)
{
    const cJSON *arr = get_array(r, spec, "exportTo", "spec.exportTo"), *it;
    c->export_to = ew_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            fail_field(r, "spec.exportTo", "expected namespace names, \".\" or \"*\"");
            continue;
        }
        c->export_to[c->nexport_to++] = ew_strdup(it->valuestring);
    }
    if (!c->nexport_to)
        c->export_to[c->nexport_to++] = ew_strdup(".");
}

static void read_ports(struct reader *r, const cJSON *spec, struct mesh_ccs *c)
{
    static const char *const protocols[] = {"HTTP",  "HTTPS", "GRPC", "HTTP2",
                                            "MONGO", "TCP",   "TLS"};
    const cJSON *arr = get_array(r, spec, "ports", "spec.ports"), *it;
    char path[96];
    c->ports = ew_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*c->ports));
    cJSON_ArrayForEach(it, arr)
    {
        struct mesh_port *pt = &c->ports[c->nports];
        snprintf(path, sizeof(path), "spec.ports[%zu].number", c->nports);
        pt->number = get_int(r, it, "number", path, 0, 1, 65535);
        if (!item(it, "number"))
            fail_field(r, path, "required");
        snprintf(path, sizeof(path), "spec.ports[%zu].name", c->nports);
        pt->name = get_str(r, it, "name", path, "", 1);
        snprintf(path, sizeof(path), "spec.ports[%zu].protocol", c->nports);
        if (!item(it, "protocol"))
            fail_field(r, path, "required");
        pt->protocol = ew_strdup(protocols[get_enum(r, it, "protocol", path, protocols, 7, 0)]);
        snprintf(path, sizeof(path), "spec.ports[%zu].targetPort", c->nports);
        pt->target_port = get_int(r, it, "targetPort", path, 0, 1, 65535);
        c->nports++;
        for (size_t j = 0; j + 1 < c->nports; j++)
            if (c->ports[j].number == pt->number || strcmp(c->ports[j].name, pt->name) == 0)
                fail_field(r, path, "duplicate port number or name");
    }
}

mesh_code mesh_ccs_parse(const cJSON *obj, struct mesh_ccs *out, struct mesh_problem *p)
{
    static const char *const policies[] = {"KeepLastKnown", "Withdraw"};
    struct reader r = {p, 0};
    memset(out, 0, sizeof(*out));
    read_meta(obj, &out->name, &out->uid, &out->generation);
    const cJSON *meta = item(obj, "metadata");
    const cJSON *ns = item(meta, "namespace"), *ts = item(meta, "creationTimestamp");
    out->namespace_ = ew_strdup(cJSON_IsString(ns) ? ns->valuestring : "");
    out->creation_timestamp = ew_strdup(cJSON_IsString(ts) ? ts->valuestring : "");
    const cJSON *spec = item(obj, "spec");
    if (!cJSON_IsObject(spec)) {
        fail_field(&r, "spec", "required");
        mesh_ccs_release(out); /* api.h: a failure leaves nothing to release */
        return MESH_E_INVALID;
    }
    out->mesh_network = get_str(&r, spec, "meshNetwork", "spec.meshNetwork", "", 1);
    out->host = get_str(&r, spec, "host", "spec.host", NULL, 0);
    out->address = get_str(&r, spec, "address", "spec.address", NULL, 0);
    if (out->address) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, out->address, buf) != 1 &&
            inet_pton(AF_INET6, out->address, buf) != 1)
            fail_field(&r, "spec.address", "expected an IP address such as 240.0.0.2 (not a CIDR)");
    }
    read_exports(&r, spec, out);
    read_imports(&r, spec, out);
    read_ports(&r, spec, out);
    const cJSON *od = item(item(spec, "failover"), "outlierDetection");
    out->outlier.consecutive_5xx =
        get_int(&r, od, "consecutive5xxErrors",
                "spec.failover.outlierDetection.consecutive5xxErrors", 5, 0, 1000);
    out->outlier.interval =
        get_duration(&r, od, "interval", "spec.failover.outlierDetection.interval", "10s");
    out->outlier.base_ejection_time = get_duration(
        &r, od, "baseEjectionTime", "spec.failover.outlierDetection.baseEjectionTime", "30s");
    out->partition_policy = (enum mesh_partition_policy)get_enum(
        &r, spec, "partitionPolicy", "spec.partitionPolicy", policies, 2, 0);
    read_export_to(&r, spec, out);
    if (!r.failed)
        return MESH_OK;
    mesh_ccs_release(out);
    return MESH_E_INVALID;
}

void mesh_ccs_release(struct mesh_ccs *c)
{
    free(c->name);
    free(c->namespace_);
    free(c->uid);
    free(c->creation_timestamp);
    free(c->mesh_network);
    free(c->host);
    free(c->address);
    for (size_t i = 0; i < c->nexports; i++) {
        free(c->exports[i].cluster);
        free(c->exports[i].service);
    }
    free(c->exports);
    for (size_t i = 0; i < c->nimport_to; i++)
        free(c->import_to[i]);
    free(c->import_to);
    for (size_t i = 0; i < c->nexport_to; i++)
        free(c->export_to[i]);
    free(c->export_to);
    for (size_t i = 0; i < c->nports; i++) {
        free(c->ports[i].name);
        free(c->ports[i].protocol);
        free(c->ports[i].target_name);
    }
    free(c->ports);
    memset(c, 0, sizeof(*c));
}

char *mesh_ccs_host(const struct mesh_ccs *c, const struct mesh_network *n)
{
    if (c->host)
        return ew_strdup(c->host);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s.%s.%s.global", c->name, c->namespace_, n->mesh_id);
    return strbuf_detach(&sb, NULL);
}

mesh_code mesh_ccs_check_members(const struct mesh_ccs *c, const struct mesh_network *n,
                                 struct mesh_problem *p)
{
    for (size_t i = 0; i < c->nexports; i++)
        if (!mesh_network_cluster(n, c->exports[i].cluster))
            return mesh_problem_set(p, "UnknownCluster",
                                    "spec.exportFrom[%zu].cluster: \"%s\" is not a member of "
                                    "MeshNetwork %s",
                                    i, c->exports[i].cluster, n->name);
    for (size_t i = 0; i < c->nimport_to; i++)
        if (!mesh_network_cluster(n, c->import_to[i]))
            return mesh_problem_set(p, "UnknownCluster",
                                    "spec.importTo[%zu]: \"%s\" is not a member of MeshNetwork %s",
                                    i, c->import_to[i], n->name);
    return MESH_OK;
}

mesh_code mesh_network_check_secrets(const struct mesh_network *n,
                                     int (*secret_has_key)(void *ud, const char *name,
                                                           const char *key),
                                     void *ud, struct mesh_problem *p)
{
    for (size_t i = 0; i < n->nclusters; i++) {
        const struct mesh_cluster *c = &n->clusters[i];
        if (!c->secret_name)
            continue;
        int has = secret_has_key(ud, c->secret_name, c->secret_key);
        if (has == 0)
            return mesh_problem_set(
                p, "KubeconfigSecretNotFound",
                "cluster %s: Secret %s (spec.clusters[%zu].kubeconfigSecretRef) "
                "does not exist in the operator's namespace",
                c->name, c->secret_name, i);
        if (has < 0)
            return mesh_problem_set(p, "KubeconfigSecretKeyMissing",
                                    "cluster %s: Secret %s has no key \"%s\" "
                                    "(spec.clusters[%zu].kubeconfigSecretRef.key)",
                                    c->name, c->secret_name, c->secret_key, i);
    }
    return MESH_OK;
}
