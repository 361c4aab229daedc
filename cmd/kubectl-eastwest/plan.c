/*
 * plan: the objects eastwest-operator would write for the MeshNetworks and
 * CrossClusterServices in a file, per member cluster, written nowhere. It uses
 * the operator's own builders (lib/mesh), so what it prints is what would be
 * applied, except what only the clusters know: cacerts (issued at run time, never
 * printed), gateway addresses (from the MeshNetwork's status when the file has
 * it), ports and selectors of backing Services (CrossClusterServices without
 * spec.ports are skipped with a note; the exporter's workloadSelector shows
 * app=<service> as a stand-in). A CrossClusterService outside its MeshNetwork's
 * spec.serviceClaims is refused as the operator refuses it (lib/mesh/claims.h): a note
 * and no objects; an address already used in a member is only known there.
 * Output (-o yaml, the default): one YAML document per object, each opened by "---"
 * and a "# cluster: NAME" comment, in the members' order; --cluster NAME keeps one
 * member's, ready for kubectl --context NAME apply --dry-run=server -f -.
 * -o json: one v1 List per member, 2-space indented (a JSON stream jq and kubectl
 * read), in the same order.
 */
#include "plugin.h"
#include "kube/json_print.h"
#include "kube/yaml_emit.h"
#include "kube/yaml_json.h"
#include "base/fileutil.h"
#include "mesh/ccs_desired.h"
#include "mesh/claims.h"
#include "mesh/network_desired.h"
#include "mesh/object_meta.h"
#include "mesh/objects.h"
#include "mesh/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plan {
    cJSON *lists; /* cluster name -> array of objects */
    int problems;
};

static cJSON *items_for(struct plan *p, const char *cluster)
{
    cJSON *a = cJSON_GetObjectItem(p->lists, cluster);
    return a ? a : cJSON_AddArrayToObject(p->lists, cluster);
}

static const char *kind_of(const cJSON *doc)
{
    const cJSON *k = cJSON_GetObjectItem(doc, "kind");
    return cJSON_IsString(k) ? k->valuestring : "";
}

static void plan_mesh(struct plan *p, const cJSON *doc, const cJSON *docs)
{
    struct mesh_network net;
    struct mesh_problem pr;
    mesh_problem_init(&pr);
    if (mesh_network_parse(doc, &net, &pr) != MESH_OK) {
        fprintf(stderr, "kubectl-eastwest: MeshNetwork: %s\n", pr.message.buf);
        p->problems++;
        mesh_problem_release(&pr);
        return;
    }
    /* the operator's own rule for the Gateway hosts (roles.h) */
    struct mesh_gateway_hosts hosts;
    mesh_gateway_hosts_init(&hosts, &net);
    const cJSON *d;
    for (int pass = 0; pass < 2; pass++) /* claims first: an address conflict's loser */
        cJSON_ArrayForEach(d, docs)
        {
            struct mesh_ccs c;
            if (strcmp(kind_of(d), "CrossClusterService") == 0 &&
                mesh_ccs_parse_live(d, &net, &c) == MESH_OK) {
                if (pass == 0)
                    mesh_gateway_hosts_claim(&hosts, &c);
                else
                    mesh_gateway_hosts_add(&hosts, &c);
                mesh_ccs_release(&c);
            }
        }
    /* The operator's own decision (network_desired.h) for a member with Istio installed
     * (its namespace stands in) and nothing else known: cacerts is issued at run time
     * and never printed. */
    cJSON *ns = mesh_object_new("v1", "Namespace", NULL, net.istio_namespace, NULL);
    const struct mesh_problem no_root = {.reason = "NotRead"};
    const struct mesh_network_root root = {.ok = 0, .problem = &no_root};
    for (size_t i = 0; i < net.nclusters; i++) {
        const struct mesh_network_member_facts f = {
            .spec = &net.clusters[i],
            .istio_namespace = ns,
            .hosts = hosts.members[i].hosts,
            .nhosts = hosts.members[i].n,
        };
        struct mesh_network_member_desired want;
        mesh_network_desired_member(&net, &root, &f, 0, &want);
        cJSON *items = items_for(p, net.clusters[i].name);
        cJSON_AddItemToArray(items, want.network_label);
        want.network_label = NULL;
        for (size_t k = 0; k < want.gateway.n; k++) {
            cJSON_AddItemToArray(items, want.gateway.items[k].obj);
            want.gateway.items[k].obj = NULL;
        }
        mesh_network_member_desired_release(&want);
    }
    cJSON_Delete(ns);
    mesh_gateway_hosts_release(&hosts);
    mesh_network_release(&net);
    mesh_problem_release(&pr);
}

static const cJSON *find_mesh(const cJSON *docs, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metadata"), "name");
        if (strcmp(kind_of(d), "MeshNetwork") == 0 && cJSON_IsString(n) &&
            strcmp(n->valuestring, name) == 0)
            return d;
    }
    return NULL;
}

/* A member's gateway addresses from the MeshNetwork's status, if the file has one (the
 * strings point into mesh_doc; the array is the caller's to free). */
static char **status_addresses(const cJSON *mesh_doc, const char *member, size_t *n)
{
    char **out = NULL;
    *n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(mesh_doc, "status"), "clusters"))
    {
        const cJSON *name = cJSON_GetObjectItem(c, "name");
        if (!cJSON_IsString(name) || strcmp(name->valuestring, member) != 0)
            continue;
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(c, "gatewayAddresses"))
        {
            if (!cJSON_IsString(a))
                continue;
            out = ew_realloc(out, (*n + 1) * sizeof(char *));
            out[(*n)++] = a->valuestring;
        }
    }
    return out;
}

/* The operator's own decision (ccs_desired.h) on what the file tells: every member
 * reachable at the addresses its status gives, each exporter's Service selecting
 * app=<service> (the real selector is read at run time). */
static void plan_members(struct plan *p, const struct mesh_ccs_facts *f, const cJSON *mesh_doc)
{
    const struct mesh_network *net = f->net;
    size_t n = net->nclusters;
    struct mesh_ccs_member_facts *facts = ew_calloc(n ? n : 1, sizeof(*facts));
    cJSON **selectors = ew_calloc(n ? n : 1, sizeof(*selectors));
    for (size_t i = 0; i < n; i++) {
        const struct mesh_export *ex = mesh_ccs_export_of(f->ccs, net->clusters[i].name);
        selectors[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(selectors[i], "app",
                                ex && ex->service ? ex->service : f->ccs->name);
        facts[i] = (struct mesh_ccs_member_facts){
            .spec = &net->clusters[i], .reachable = 1, .selector = selectors[i]};
        facts[i].addresses =
            status_addresses(mesh_doc, net->clusters[i].name, &facts[i].naddresses);
    }
    for (size_t i = 0; i < n; i++) {
        struct mesh_ccs_member_desired d;
        mesh_ccs_desired_member(f, facts, n, i, &d);
        cJSON *items = items_for(p, net->clusters[i].name);
        if (d.entry == MESH_INTENT_WRITE) {
            if (!(d.role & MESH_ROLE_IMPORTS))
                mesh_object_set_annotation(d.service_entry, "eastwest.io/plan-note",
                                           "workloadSelector and targetPorts come from the "
                                           "backing Service at run time");
            cJSON_AddItemToArray(items, d.service_entry);
            d.service_entry = NULL;
        }
        if (d.rule == MESH_INTENT_WRITE) {
            cJSON_AddItemToArray(items, d.destination_rule);
            d.destination_rule = NULL;
        }
        mesh_ccs_member_desired_release(&d);
    }
    for (size_t i = 0; i < n; i++) {
        free((void *)facts[i].addresses);
        cJSON_Delete(selectors[i]);
    }
    free(facts);
    free(selectors);
}

static void plan_ccs(struct plan *p, const cJSON *doc, const cJSON *docs)
{
    struct mesh_ccs c;
    struct mesh_network net;
    struct mesh_problem pr;
    mesh_problem_init(&pr);
    if (mesh_ccs_parse(doc, &c, &pr) != MESH_OK) {
        fprintf(stderr, "kubectl-eastwest: CrossClusterService: %s\n", pr.message.buf);
        p->problems++;
        mesh_problem_release(&pr);
        return;
    }
    const cJSON *mesh_doc = find_mesh(docs, c.mesh_network);
    if (!mesh_doc || mesh_network_parse(mesh_doc, &net, &pr) != MESH_OK) {
        fprintf(stderr,
                "kubectl-eastwest: CrossClusterService %s/%s: its MeshNetwork %s is %s in the "
                "file\n",
                c.namespace_, c.name, c.mesh_network, mesh_doc ? "invalid" : "not");
        p->problems++;
        goto out;
    }
    char *claimed = mesh_ccs_host(&c, &net);
    mesh_code allowed = mesh_claims_check(&net, c.namespace_, claimed, c.address, &pr);
    free(claimed);
    if (allowed != MESH_OK) { /* as the operator would refuse it: nothing planned */
        fprintf(stderr, "kubectl-eastwest: CrossClusterService %s/%s: refused (%s): %s\n",
                c.namespace_, c.name, pr.reason, pr.message.buf);
        p->problems++;
        goto out_net;
    }
    if (!c.nports) {
        fprintf(stderr,
                "kubectl-eastwest: CrossClusterService %s/%s: no spec.ports, so its ports come "
                "from the backing Service at run time: skipped\n",
                c.namespace_, c.name);
        goto out_net;
    }
    char *host = mesh_ccs_host(&c, &net);
    char *vip = c.address ? ew_strdup(c.address) : mesh_vip_allocate(&net, host, NULL, NULL);
    const struct mesh_ccs_facts f = {
        .ccs = &c,
        .net = &net,
        .host = host,
        .address = vip ? vip : "",
        .ports = c.ports,
        .nports = c.nports,
    };
    plan_members(p, &f, mesh_doc);
    free(host);
    free(vip);
out_net:
    mesh_network_release(&net);
out:
    mesh_ccs_release(&c);
    mesh_problem_release(&pr);
}

static int print_yaml(const char *cluster, const cJSON *items)
{
    struct strbuf text = STRBUF_INIT;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        struct kube_error err = KUBE_ERROR_INIT;
        if (kube_yaml_emit(it, &text, &err) != KUBE_OK) {
            fprintf(stderr, "kubectl-eastwest: cluster %s: %s\n", cluster, err.message);
            kube_error_clear(&err);
            return 1;
        }
        printf("---\n# cluster: %s\n%s", cluster, text.buf);
    }
    strbuf_release(&text);
    return 0;
}

static void print_json(const cJSON *items)
{
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "apiVersion", "v1");
    cJSON_AddStringToObject(list, "kind", "List");
    cJSON_AddItemReferenceToObject(list, "items", (cJSON *)items);
    struct strbuf text = STRBUF_INIT;
    kube_json_print(list, &text);
    printf("%s\n", text.buf);
    strbuf_release(&text);
    cJSON_Delete(list); /* the reference only: items stay with the plan */
}

/* 0, or 1 when a document cannot be printed or --cluster names no member planned. */
static int print_plan(const struct plan *p, const struct plugin_opts *o, int json)
{
    int rc = 0, found = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, p->lists)
    {
        if (o->cluster && strcmp(o->cluster, l->string) != 0)
            continue;
        found = 1;
        if (json)
            print_json(l);
        else
            rc |= print_yaml(l->string, l);
    }
    if (o->cluster && !found) {
        fprintf(stderr, "kubectl-eastwest: --cluster %s: not a member of a MeshNetwork planned\n",
                o->cluster);
        rc = 1;
    }
    return rc;
}

int plugin_plan(const struct plugin_opts *o)
{
    int json = o->output && strcmp(o->output, "json") == 0;
    if (!o->file || (o->output && !json && strcmp(o->output, "yaml") != 0)) {
        fprintf(stderr, "kubectl-eastwest: usage: kubectl eastwest plan -f FILE [-o yaml|json] "
                        "[--cluster NAME]\n");
        return 2;
    }
    struct strbuf data = STRBUF_INIT;
    FILE *in = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "r");
    if (!in) {
        fprintf(stderr, "kubectl-eastwest: %s: cannot open\n", o->file);
        return 1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        strbuf_add(&data, buf, n);
    if (in != stdin)
        fclose(in);
    cJSON *docs = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    if (yaml_to_json_all(data.buf, data.len, &docs, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: %s: %s\n", o->file, err.message);
        kube_error_clear(&err);
        strbuf_release(&data);
        return 1;
    }
    strbuf_release(&data);
    struct plan p = {cJSON_CreateObject(), 0};
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        if (strcmp(kind_of(d), "MeshNetwork") == 0)
            plan_mesh(&p, d, docs);
        else if (strcmp(kind_of(d), "CrossClusterService") == 0)
            plan_ccs(&p, d, docs);
        else
            fprintf(stderr,
                    "kubectl-eastwest: %s: skipping a %s (only MeshNetwork and "
                    "CrossClusterService are planned)\n",
                    o->file, *kind_of(d) ? kind_of(d) : "document without kind");
    }
    int rc = print_plan(&p, o, json);
    cJSON_Delete(p.lists);
    cJSON_Delete(docs);
    return p.problems || rc ? 1 : 0;
}
