/*
 * ccs_status: a CrossClusterService's status (ccs_status.h).
 */
#include "ccs_status.h"

#include "conditions.h"
#include "json_path.h"

#include <stdio.h>
#include <string.h>

static cJSON *member_status(const struct mesh_ccs_outcome *x, const struct member_view *m)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", m->spec->name);
    cJSON_AddStringToObject(c, "role",
                            m->exporter && m->importer ? "Both"
                            : m->exporter              ? "Exporter"
                                                       : "Importer");
    cJSON_AddBoolToObject(c, "ready", m->reachable && (!m->exporter || m->ready));
    if (m->exporter)
        cJSON_AddNumberToObject(c, "endpoints", m->endpoints);
    if (m->importer) {
        cJSON *g = cJSON_AddArrayToObject(c, "gateways");
        for (size_t i = 0; i < x->nmembers; i++) {
            const struct member_view *e = &x->members[i];
            if (!e->exporter || e == m || e->gone)
                continue;
            for (size_t a = 0; a < e->naddresses; a++) {
                char buf[300];
                snprintf(buf, sizeof(buf), "%s:15443", e->addresses[a]);
                cJSON_AddItemToArray(g, cJSON_CreateString(buf));
            }
        }
    }
    if (m->exporter && m->reason[0]) {
        cJSON_AddStringToObject(c, "reason", m->reason);
        cJSON_AddStringToObject(c, "message", m->problem.len ? m->problem.buf : m->conflict.buf);
    }
    return c;
}

void mesh_ccs_status_record(cJSON *st, const char *mesh, const struct member_view *members,
                            size_t n)
{
    if (!mesh)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(st, "meshNetwork");
    cJSON_DeleteItemFromObjectCaseSensitive(st, "writtenClusters");
    cJSON_AddStringToObject(st, "meshNetwork", mesh);
    cJSON *w = cJSON_AddArrayToObject(st, "writtenClusters");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(members[i].spec->name));
}

int mesh_ccs_status_records(const cJSON *obj, const char *mesh, const struct member_view *members,
                            size_t n)
{
    const char *was = mesh_json_str(obj, "status", "meshNetwork");
    if (!was || strcmp(was, mesh) != 0)
        return 0;
    const cJSON *w = mesh_json_get(obj, "status", "writtenClusters");
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, w)
        {
            if (cJSON_IsString(c) && strcmp(c->valuestring, members[i].spec->name) == 0)
                found = 1;
        }
        if (!found)
            return 0;
    }
    return 1;
}

cJSON *mesh_ccs_status(const cJSON *old, const struct mesh_ccs_outcome *x)
{
    const char *write_problem = x->write_problem;
    cJSON *st = cJSON_CreateObject();
    int64_t gen = x->generation;
    cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
    cJSON_AddStringToObject(st, "host", x->host);
    cJSON_AddStringToObject(st, "address", x->address);
    struct strbuf from = STRBUF_INIT, to = STRBUF_INIT, exp = STRBUF_INIT;
    cJSON *clusters = cJSON_CreateArray();
    for (size_t i = 0; i < x->nmembers; i++) {
        const struct member_view *m = &x->members[i];
        if (!m->exporter && !m->importer)
            continue;
        if (m->exporter)
            strbuf_addf(&from, "%s%s", from.len ? "," : "", m->spec->name);
        if (m->importer)
            strbuf_addf(&to, "%s%s", to.len ? "," : "", m->spec->name);
        if (m->problem.len)
            strbuf_addf(&exp, "%s%s", exp.len ? "; " : "", m->problem.buf);
        cJSON_AddItemToArray(clusters, member_status(x, m));
    }
    cJSON_AddStringToObject(st, "from", from.buf);
    cJSON_AddStringToObject(st, "to", to.buf);
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    int exported = exp.len == 0, imported = !write_problem || !*write_problem;
    const char *not_exported = x->gone ? "BackingServiceNotFound" : "BackingServiceNotReady";
    mesh_condition_add(conds, old, "Exported", exported ? MESH_COND_TRUE : MESH_COND_FALSE,
                       exported ? "BackingServicesFound" : not_exported, exp.buf, gen);
    const char *why_not = x->namespace_missing      ? "NamespaceMissing"
                          : x->write_errors         ? "NotWritten"
                          : x->foreign              ? "ForeignObject"
                          : x->waiting_for_identity ? MESH_CCS_WAITING_FOR_IDENTITY
                          : x->ports_unknown        ? "PortsUnknown"
                          : x->unreachable          ? "ClusterUnreachable"
                                                    : "NoEndpoints";
    struct strbuf wait = STRBUF_INIT;
    if (!x->write_errors && x->waiting_for_identity) {
        strbuf_addf(&wait,
                    "no identity known for the workloads exported from %s (no pod that the "
                    "backing Service selects, or all terminating): %s get no ServiceEntry until "
                    "one is, as one without subjectAltNames would accept any workload of the "
                    "mesh",
                    from.buf, to.buf);
        if (write_problem && *write_problem)
            strbuf_addf(&wait, "; %s", write_problem);
        write_problem = wait.buf;
    }
    mesh_condition_add(conds, old, "Imported", imported ? MESH_COND_TRUE : MESH_COND_FALSE,
                       imported ? "Written" : why_not, imported ? "" : write_problem, gen);
    int port_conflict = x->port_conflict && *x->port_conflict;
    mesh_condition_add(conds, old, "Conflict", port_conflict ? MESH_COND_TRUE : MESH_COND_FALSE,
                       port_conflict ? MESH_CCS_PORT_CONFLICT : "NoConflict",
                       port_conflict ? x->port_conflict : "", gen);
    int ready = exported && imported;
    mesh_condition_add(conds, old, "Ready", ready ? MESH_COND_TRUE : MESH_COND_FALSE,
                       ready       ? "Ready"
                       : !exported ? not_exported
                                   : why_not,
                       ready       ? ""
                       : !exported ? exp.buf
                                   : write_problem,
                       gen);
    cJSON_AddItemToObject(st, "clusters", clusters);
    mesh_ccs_status_record(st, x->mesh_network, x->members, x->nmembers);
    strbuf_release(&wait);
    strbuf_release(&from);
    strbuf_release(&to);
    strbuf_release(&exp);
    return st;
}

cJSON *mesh_ccs_blocked_status(const cJSON *obj, int64_t gen, const char *reason, const char *msg,
                               int conflict)
{
    const cJSON *old = mesh_json_get(obj, "status", "conditions");
    cJSON *st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
    const cJSON *keep[] = {
        mesh_json_get(obj, "status", "host"),           mesh_json_get(obj, "status", "address"),
        mesh_json_get(obj, "status", "from"),           mesh_json_get(obj, "status", "to"),
        mesh_json_get(obj, "status", "clusters"),       mesh_json_get(obj, "status", "meshNetwork"),
        mesh_json_get(obj, "status", "writtenClusters")};
    const char *names[] = {"host",     "address",     "from",           "to",
                           "clusters", "meshNetwork", "writtenClusters"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (keep[i])
            cJSON_AddItemToObject(st, names[i], cJSON_Duplicate(keep[i], 1));
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    mesh_condition_add(conds, old, "Conflict", conflict ? MESH_COND_TRUE : MESH_COND_FALSE,
                       conflict ? reason : "NoConflict", conflict ? msg : "", gen);
    mesh_condition_add(conds, old, "Ready", MESH_COND_FALSE, reason, msg, gen);
    return st;
}
