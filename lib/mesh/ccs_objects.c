/*
 * ccs_objects: ServiceEntries, DestinationRules and VIPs of a
 * CrossClusterService (see ccs_objects.h).
 */
#include "ccs_objects.h"

#include "json_path.h"
#include "objects.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *ccs_object(const struct mesh_ccs_facts *f, const char *kind)
{
    struct strbuf svc = STRBUF_INIT;
    strbuf_addf(&svc, "%s.%s", f->ccs->namespace_, f->ccs->name);
    struct mesh_owner owner = {f->net->name, svc.buf, f->ccs->uid};
    cJSON *o =
        mesh_object_new("networking.istio.io/v1", kind, f->ccs->namespace_, f->ccs->name, &owner);
    strbuf_release(&svc);
    return o;
}

static cJSON *string_array1(const char *s)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString(s));
    return a;
}

/* The name of a port in the exporter's ServiceEntry: a named targetPort, else its own.
 * istiod gives a workloadSelector ServiceEntry's endpoint the pod's container port named
 * like the ServiceEntry port, else the port's targetPort, else its number
 * (convertWorkloadInstanceToServiceInstance), so a named targetPort must be the port's
 * name: there is no number to give. */
static const char *exporter_port_name(const struct mesh_port *p)
{
    return p->target_name ? p->target_name : p->name;
}

static void add_ports(cJSON *spec, const struct mesh_ccs_facts *f, int exporter)
{
    cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
    for (size_t i = 0; i < f->nports; i++) {
        const struct mesh_port *mp = &f->ports[i];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "number", mp->number);
        cJSON_AddStringToObject(p, "name", exporter ? exporter_port_name(mp) : mp->name);
        cJSON_AddStringToObject(p, "protocol", mp->protocol);
        if (exporter && !mp->target_name && mp->target_port > 0)
            cJSON_AddNumberToObject(p, "targetPort", mp->target_port);
        cJSON_AddItemToArray(ports, p);
    }
}

static int is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* spec.exportTo: the namespaces that see the object (issue 31). The service's own
 * spec.exportTo ("." by default: its namespace only), and, where the east-west gateway
 * must route the host to local workloads (gateway), the Istio namespace too: the
 * gateway's proxy builds its SNI clusters from what is exported to its namespace. */
static void add_export_to(cJSON *spec, const struct mesh_ccs_facts *f, int gateway)
{
    cJSON *to = cJSON_AddArrayToObject(spec, "exportTo");
    int all = 0, has_gw = 0;
    for (size_t i = 0; i < f->ccs->nexport_to; i++) {
        const char *ns = f->ccs->export_to[i];
        all |= strcmp(ns, "*") == 0;
        has_gw |=
            strcmp(ns, f->net->istio_namespace) == 0 ||
            (strcmp(ns, ".") == 0 && strcmp(f->ccs->namespace_, f->net->istio_namespace) == 0);
    }
    if (all) {
        cJSON_AddItemToArray(to, cJSON_CreateString("*"));
        return;
    }
    for (size_t i = 0; i < f->ccs->nexport_to; i++)
        cJSON_AddItemToArray(to, cJSON_CreateString(f->ccs->export_to[i]));
    if (!f->ccs->nexport_to)
        cJSON_AddItemToArray(to, cJSON_CreateString("."));
    if (gateway && !has_gw)
        cJSON_AddItemToArray(to, cJSON_CreateString(f->net->istio_namespace));
}

static cJSON *base_entry(const struct mesh_ccs_facts *f)
{
    cJSON *o = ccs_object(f, "ServiceEntry");
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddItemToObject(spec, "hosts", string_array1(f->host));
    cJSON_AddItemToObject(spec, "addresses", string_array1(f->address));
    cJSON_AddStringToObject(spec, "location", "MESH_INTERNAL");
    return o;
}

cJSON *mesh_build_importer_service_entry(const struct mesh_ccs_facts *f,
                                         const struct mesh_endpoint *eps, size_t neps)
{
    cJSON *o = base_entry(f);
    cJSON *spec = cJSON_GetObjectItem(o, "spec");
    add_ports(spec, f, 0);
    int all_ips = 1;
    for (size_t i = 0; i < neps; i++)
        if (!is_ip(eps[i].address))
            all_ips = 0;
    cJSON_AddStringToObject(spec, "resolution", all_ips ? "STATIC" : "DNS");
    cJSON *list = cJSON_AddArrayToObject(spec, "endpoints");
    for (size_t i = 0; i < neps; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "address", eps[i].address);
        cJSON *ports = cJSON_AddObjectToObject(e, "ports");
        for (size_t j = 0; j < f->nports; j++) /* the gateway listens on 15443 */
            cJSON_AddNumberToObject(ports, f->ports[j].name,
                                    eps[i].local ? f->ports[j].number : 15443);
        if (eps[i].locality)
            cJSON_AddStringToObject(e, "locality", eps[i].locality);
        cJSON_AddItemToArray(list, e);
    }
    if (f->nsans)
        cJSON_AddItemToObject(spec, "subjectAltNames",
                              cJSON_CreateStringArray((const char *const *)f->sans, (int)f->nsans));
    int local = 0; /* active-active: its gateway routes the host to the local Service too */
    for (size_t i = 0; i < neps; i++)
        local |= eps[i].local;
    add_export_to(spec, f, local);
    mesh_object_stamp(o);
    return o;
}

cJSON *mesh_build_exporter_service_entry(const struct mesh_ccs_facts *f, const cJSON *selector)
{
    cJSON *o = base_entry(f);
    cJSON *spec = cJSON_GetObjectItem(o, "spec");
    add_ports(spec, f, 1);
    cJSON_AddStringToObject(spec, "resolution", "STATIC");
    cJSON *ws = cJSON_AddObjectToObject(spec, "workloadSelector");
    cJSON_AddItemToObject(ws, "labels",
                          selector ? cJSON_Duplicate(selector, 1) : cJSON_CreateObject());
    add_export_to(spec, f, 1);
    mesh_object_stamp(o);
    return o;
}

static void add_duration(cJSON *o, const char *key, double seconds)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%gs", seconds);
    cJSON_AddStringToObject(o, key, buf);
}

cJSON *mesh_build_destination_rule(const struct mesh_ccs_facts *f, int multi_locality)
{
    cJSON *o = ccs_object(f, "DestinationRule");
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(spec, "host", f->host);
    cJSON *tp = cJSON_AddObjectToObject(spec, "trafficPolicy");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(tp, "tls"), "mode", "ISTIO_MUTUAL");
    if (multi_locality) {
        /* Istio's locality failover only works with outlier detection. */
        cJSON *od = cJSON_AddObjectToObject(tp, "outlierDetection");
        cJSON_AddNumberToObject(od, "consecutive5xxErrors", f->ccs->outlier.consecutive_5xx);
        add_duration(od, "interval", f->ccs->outlier.interval);
        add_duration(od, "baseEjectionTime", f->ccs->outlier.base_ejection_time);
        cJSON *lb = cJSON_AddObjectToObject(tp, "loadBalancer");
        cJSON_AddBoolToObject(cJSON_AddObjectToObject(lb, "localityLbSetting"), "enabled", 1);
    }
    add_export_to(spec, f, 0);
    mesh_object_stamp(o);
    return o;
}

cJSON *mesh_service_selector(const cJSON *svc, const char *desc, struct mesh_problem *p)
{
    const cJSON *sel = mesh_json_get(svc, "spec", "selector"), *kv;
    cJSON *out = cJSON_CreateObject();
    if (!cJSON_IsObject(sel))
        sel = NULL;
    cJSON_ArrayForEach(kv, sel)
    {
        if (kv->string && *kv->string && cJSON_IsString(kv))
            cJSON_AddStringToObject(out, kv->string, kv->valuestring);
    }
    if (out->child)
        return out;
    cJSON_Delete(out);
    const char *type = mesh_json_str(svc, "spec", "type");
    int external = type && strcmp(type, "ExternalName") == 0;
    mesh_problem_set(p, "ServiceHasNoSelector",
                     "%s has no spec.selector%s: it selects no pods, so its workloads cannot be "
                     "exported (give it a selector, or export another Service)",
                     desc, external ? " (spec.type ExternalName)" : "");
    return NULL;
}

char *mesh_label_selector(const cJSON *labels)
{
    struct strbuf sel = STRBUF_INIT;
    const cJSON *kv;
    if (!cJSON_IsObject(labels))
        labels = NULL;
    cJSON_ArrayForEach(kv, labels)
    {
        if (kv->string && cJSON_IsString(kv))
            strbuf_addf(&sel, "%s%s=%s", sel.len ? "," : "", kv->string, kv->valuestring);
    }
    if (!sel.len) {
        strbuf_release(&sel);
        return NULL;
    }
    return strbuf_detach(&sel, NULL);
}

/* A port number field (1-65535), else 0. */
static int port_number(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 65535 ? (int)v->valuedouble
                                                                               : 0;
}

/* A Service port's targetPort into mp: a name (a container port of the pods), or a
 * number; absent or out of range, the port itself (the API server's default). */
static void service_target(const cJSON *sp, struct mesh_port *mp)
{
    const cJSON *tp = mesh_json_get(sp, "targetPort", NULL);
    mp->target_port = port_number(tp);
    if (!mp->target_port && cJSON_IsString(tp) && *tp->valuestring)
        mp->target_name = ew_strdup(tp->valuestring);
    else if (!mp->target_port)
        mp->target_port = port_number(mesh_json_get(sp, "port", NULL));
}

void mesh_service_ports_free(struct mesh_port *ports, size_t n)
{
    for (size_t i = 0; ports && i < n; i++) {
        free(ports[i].name);
        free(ports[i].target_name);
    }
    free(ports);
}

/* The exporter's ServiceEntry needs one name per port (Istio refuses the object
 * otherwise), and its names are the named targetPorts: 0, or -1 with a problem naming
 * both ports. */
static int check_exporter_names(const struct mesh_port *ports, size_t n, const char *desc,
                                struct mesh_problem *p)
{
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++) {
            const struct mesh_port *a = &ports[i], *b = &ports[j];
            const char *name = exporter_port_name(a);
            if (strcmp(name, exporter_port_name(b)) != 0)
                continue;
            if (!a->target_name && !b->target_name) /* a Service the API server admits has none */
                mesh_problem_set(p, "TargetPortNameConflict",
                                 "%s: ports %d and %d are both named %s, and two ports of a "
                                 "ServiceEntry cannot have one name",
                                 desc, a->number, b->number, name);
            else if (a->target_name && b->target_name)
                mesh_problem_set(p, "TargetPortNameConflict",
                                 "%s: ports %d (%s) and %d (%s) both have targetPort %s; the "
                                 "exporting cluster's ServiceEntry names a port after its named "
                                 "targetPort (istiod finds the pods' container port by that "
                                 "name), and two of its ports cannot have one name: export one "
                                 "of them (spec.ports), or give them differently named "
                                 "container ports",
                                 desc, a->number, a->name, b->number, b->name, name);
            else
                mesh_problem_set(p, "TargetPortNameConflict",
                                 "%s: port %d (%s) has targetPort %s, the name of port %d; the "
                                 "exporting cluster's ServiceEntry names a port after its named "
                                 "targetPort, and two of its ports cannot have one name: rename "
                                 "one of them, or export one (spec.ports)",
                                 desc, a->target_name ? a->number : b->number,
                                 a->target_name ? a->name : b->name, name,
                                 a->target_name ? b->number : a->number);
            return -1;
        }
    return 0;
}

/* The spec's ports, target ports not given looked up in the Service's (by number). */
static struct mesh_port *spec_ports(const cJSON *sports, const struct mesh_port *spec, size_t nspec)
{
    struct mesh_port *out = ew_calloc(nspec, sizeof(*out));
    for (size_t i = 0; i < nspec; i++) {
        struct mesh_port *mp = &out[i];
        *mp = (struct mesh_port){.number = spec[i].number,
                                 .name = ew_strdup(spec[i].name),
                                 .protocol = spec[i].protocol,
                                 .target_port = spec[i].target_port};
        const cJSON *sp;
        cJSON_ArrayForEach(sp, sports)
        {
            if (!mp->target_port && !mp->target_name &&
                port_number(mesh_json_get(sp, "port", NULL)) == spec[i].number)
                service_target(sp, mp);
        }
    }
    return out;
}

/* The Service's own ports into *out; returns the count. */
static size_t own_ports(const cJSON *sports, struct mesh_port **out)
{
    size_t n = 0;
    const cJSON *sp;
    *out = ew_calloc((size_t)cJSON_GetArraySize(sports) + 1, sizeof(**out));
    cJSON_ArrayForEach(sp, sports)
    {
        int num = port_number(mesh_json_get(sp, "port", NULL));
        if (!num)
            continue;
        const char *name = mesh_json_str(sp, "name", NULL);
        struct strbuf nm = STRBUF_INIT;
        if (name && *name)
            strbuf_adds(&nm, name);
        else
            strbuf_addf(&nm, "port-%d", num);
        struct mesh_port *mp = &(*out)[n++];
        mp->number = num;
        mp->protocol = (char *)mesh_port_protocol(nm.buf, mesh_json_str(sp, "appProtocol", NULL));
        mp->name = strbuf_detach(&nm, NULL);
        service_target(sp, mp);
    }
    return n;
}

size_t mesh_service_ports(const cJSON *svc, const struct mesh_port *spec, size_t nspec,
                          const char *desc, struct mesh_port **out, struct mesh_problem *p)
{
    const cJSON *sports = mesh_json_get(svc, "spec", "ports");
    if (!cJSON_IsArray(sports))
        sports = NULL;
    size_t n = nspec;
    if (nspec)
        *out = spec_ports(sports, spec, nspec);
    else
        n = own_ports(sports, out);
    if (n && check_exporter_names(*out, n, desc, p) == 0)
        return n;
    if (!n)
        mesh_problem_set(p, "ServiceHasNoPorts",
                         "%s has no ports (spec.ports) and the CrossClusterService names none "
                         "(spec.ports): there is nothing to export",
                         desc);
    mesh_service_ports_free(*out, n); /* api.h: a failure leaves nothing to release */
    *out = NULL;
    return 0;
}

char *mesh_spiffe_id(const char *trust_domain, const char *ns, const char *sa)
{
    struct strbuf id = STRBUF_INIT;
    strbuf_addf(&id, "spiffe://%s/ns/%s/sa/%s", trust_domain, ns, sa && *sa ? sa : "default");
    return strbuf_detach(&id, NULL);
}

char *mesh_pod_identity(const cJSON *pod, const char *trust_domain, const char *ns)
{
    if (mesh_json_get(pod, "metadata", "deletionTimestamp"))
        return NULL;
    return mesh_spiffe_id(trust_domain, ns, mesh_json_str(pod, "spec", "serviceAccountName"));
}

static void copy_string(cJSON *to, const cJSON *from, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
    if (cJSON_IsString(v))
        cJSON_AddStringToObject(to, key, v->valuestring);
}

cJSON *mesh_pod_project(cJSON *pod)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *md = mesh_json_get(pod, "metadata", NULL), *kv, *c;
    cJSON *omd = cJSON_AddObjectToObject(out, "metadata");
    static const char *const meta[] = {"name", "namespace", "resourceVersion", "deletionTimestamp"};
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        copy_string(omd, md, meta[i]);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
    if (cJSON_IsObject(labels)) {
        cJSON *ol = cJSON_AddObjectToObject(omd, "labels");
        cJSON_ArrayForEach(kv, labels)
        {
            if (kv->string && cJSON_IsString(kv))
                cJSON_AddStringToObject(ol, kv->string, kv->valuestring);
        }
    }
    copy_string(cJSON_AddObjectToObject(out, "spec"), mesh_json_get(pod, "spec", NULL),
                "serviceAccountName");
    cJSON *conds = cJSON_AddArrayToObject(cJSON_AddObjectToObject(out, "status"), "conditions");
    cJSON_ArrayForEach(c, mesh_json_get(pod, "status", "conditions"))
    {
        const char *type = mesh_json_str(c, "type", NULL);
        if (!type || strcmp(type, "Ready") != 0)
            continue;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "type", "Ready");
        copy_string(r, c, "status");
        cJSON_AddItemToArray(conds, r);
        break;
    }
    cJSON_Delete(pod);
    return out;
}

int mesh_labels_match(const cJSON *selector, const cJSON *labels)
{
    const cJSON *kv;
    int any = 0;
    if (!cJSON_IsObject(selector))
        return 0;
    cJSON_ArrayForEach(kv, selector)
    {
        if (!kv->string || !cJSON_IsString(kv))
            continue;
        const cJSON *v =
            cJSON_IsObject(labels) ? cJSON_GetObjectItemCaseSensitive(labels, kv->string) : NULL;
        if (!cJSON_IsString(v) || strcmp(v->valuestring, kv->valuestring) != 0)
            return 0;
        any = 1;
    }
    return any;
}

const char *mesh_port_protocol(const char *name, const char *app_protocol)
{
    static const struct {
        const char *prefix, *protocol;
    } known[] = {
        {"http2", "HTTP2"}, {"https", "HTTPS"}, {"http", "HTTP"}, {"grpc", "GRPC"}, {"tls", "TLS"},
        {"mongo", "MONGO"}, {"redis", "TCP"},   {"mysql", "TCP"}, {"tcp", "TCP"},
    };
    const char *src = app_protocol && *app_protocol ? app_protocol : name;
    if (!src)
        return "TCP";
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        size_t n = strlen(known[i].prefix);
        if (strncasecmp(src, known[i].prefix, n) == 0 && (src[n] == '\0' || src[n] == '-'))
            return known[i].protocol;
    }
    return "TCP";
}

int mesh_vip_in_range(const struct mesh_network *net, const char *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return 0;
    uint32_t mask = net->vip_prefix ? 0xffffffffu << (32 - net->vip_prefix) : 0;
    return (ntohl(a.s_addr) & mask) == net->vip_base;
}

char *mesh_vip_allocate(const struct mesh_network *net, const char *host,
                        int (*taken)(void *ud, const char *ip), void *ud)
{
    uint32_t size = net->vip_prefix >= 31 ? 0 : (uint32_t)1 << (32 - net->vip_prefix);
    if (size < 4)
        return NULL;
    uint32_t usable = size - 2; /* no network or broadcast address */
    uint32_t h = 2166136261u;   /* FNV-1a of the host: the same host, the same start */
    for (const char *p = host; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (uint32_t i = 0; i < usable; i++) {
        uint32_t addr = net->vip_base + 1 + (h + i) % usable;
        struct in_addr a = {htonl(addr)};
        char buf[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, buf, sizeof(buf));
        if (!taken || !taken(ud, buf))
            return ew_strdup(buf);
    }
    return NULL;
}
