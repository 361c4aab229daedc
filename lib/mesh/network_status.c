/*
 * network_status: the MeshNetwork's status (network_status.h).
 */
#include "network_status.h"

#include "conditions.h"
#include "foreign.h"
#include "json_path.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <string.h>

static void add_member_conditions(cJSON *arr, const cJSON *old, const struct member_result *r,
                                  int64_t gen)
{
    mesh_condition_add(arr, old, "Reachable", r->reachable ? MESH_COND_TRUE : MESH_COND_FALSE,
                       r->reachable ? "Reachable" : r->reach.reason,
                       r->reachable ? "" : r->reach.message.buf, gen);
    if (!r->reachable || !r->synced)
        return;
    mesh_condition_add(arr, old, "IstioConfigured", r->istio_ok ? MESH_COND_TRUE : MESH_COND_FALSE,
                       r->istio_ok ? "Configured" : r->istio_problem.reason,
                       r->istio_ok ? "" : r->istio_problem.message.buf, gen);
    int rotating = r->certs_ok && strcmp(r->certs_problem.reason, "RootRotating") == 0;
    mesh_condition_add(arr, old, "CertificatesReady",
                       r->certs_ok ? MESH_COND_TRUE : MESH_COND_FALSE,
                       rotating      ? "RootRotating"
                       : r->certs_ok ? "Issued"
                                     : r->certs_problem.reason,
                       r->certs_ok && !rotating ? "" : r->certs_problem.message.buf, gen);
    mesh_condition_add(arr, old, "GatewayReady", r->gateway_ok ? MESH_COND_TRUE : MESH_COND_FALSE,
                       r->gateway_ok ? "HasAddress" : r->gateway_problem.reason,
                       r->gateway_ok ? "" : r->gateway_problem.message.buf, gen);
    struct strbuf foreign = STRBUF_INIT;
    if (r->foreign.len)
        mesh_foreign_message(&foreign, r->spec->name, r->foreign.buf);
    mesh_condition_add(arr, old, "ForeignObjects", foreign.len ? MESH_COND_TRUE : MESH_COND_FALSE,
                       foreign.len ? "ForeignObject" : "NoForeignObjects", foreign.buf, gen);
    strbuf_release(&foreign);
}

static const cJSON *old_member_status(const cJSON *old_clusters, const char *name)
{
    return mesh_json_find(old_clusters, "name", name);
}

static void copy_field(cJSON *to, const cJSON *from, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, field);
    if (v)
        cJSON_AddItemToObject(to, field, cJSON_Duplicate(v, 1));
}

static cJSON *member_status(const struct member_result *r, const cJSON *old, int64_t gen)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", r->spec->name);
    cJSON_AddStringToObject(m, "network", r->spec->network);
    cJSON_AddBoolToObject(m, "reachable", r->reachable);
    if (!r->reachable || !r->synced) {
        /* keep what was last known */
        copy_field(m, old, "gatewayAddresses");
        copy_field(m, old, "istio");
        copy_field(m, old, "intermediateNotAfter");
    } else {
        if (r->naddresses)
            cJSON_AddItemToObject(
                m, "gatewayAddresses",
                cJSON_CreateStringArray((const char *const *)r->addresses, (int)r->naddresses));
        if (r->istio.found) {
            cJSON *is = cJSON_AddObjectToObject(m, "istio");
            if (r->istio.version)
                cJSON_AddStringToObject(is, "version", r->istio.version);
            cJSON_AddStringToObject(is, "meshID", r->istio.mesh_id);
            cJSON_AddStringToObject(is, "trustDomain", r->istio.trust_domain);
            if (r->istio.network)
                cJSON_AddStringToObject(is, "network", r->istio.network);
        }
        if (r->intermediate_not_after) {
            char t[32];
            ew_time_format_rfc3339(r->intermediate_not_after, t, sizeof(t));
            cJSON_AddStringToObject(m, "intermediateNotAfter", t);
        }
    }
    if (r->spec->secret_name) { /* where it is, for a cleanup without the spec */
        cJSON *ref = cJSON_AddObjectToObject(m, "kubeconfigSecretRef");
        cJSON_AddStringToObject(ref, "name", r->spec->secret_name);
        cJSON_AddStringToObject(ref, "key",
                                r->spec->secret_key ? r->spec->secret_key : "kubeconfig");
    }
    cJSON *conds = cJSON_AddArrayToObject(m, "conditions");
    add_member_conditions(conds, cJSON_GetObjectItemCaseSensitive(old, "conditions"), r, gen);
    return m;
}

/* One aggregate condition over the members: which ones fail, and why. */
struct agg {
    const char *type, *ok_reason, *reason;
    struct strbuf msg;
    int ok;
};

static void agg_fail(struct agg *a, const char *reason, const char *message)
{
    if (a->ok)
        a->reason = reason;
    a->ok = 0;
    strbuf_addf(&a->msg, "%s%s", a->msg.len ? "; " : "", message);
}

static void add_agg(cJSON *arr, const cJSON *old, struct agg *a, const char *ok_msg, int64_t gen)
{
    mesh_condition_add(arr, old, a->type, a->ok ? MESH_COND_TRUE : MESH_COND_FALSE,
                       a->ok ? a->ok_reason : a->reason, a->ok ? ok_msg : a->msg.buf, gen);
}

cJSON *mesh_network_status(const cJSON *old, const struct mesh_network *net,
                           const struct mesh_network_root *root, const struct member_result *res,
                           size_t n)
{
    const cJSON *old_conds = cJSON_GetObjectItemCaseSensitive(old, "conditions");
    const cJSON *old_clusters = cJSON_GetObjectItemCaseSensitive(old, "clusters");
    int64_t gen = net->generation;
    struct agg reach = {"ClustersReachable", "AllReachable", NULL, STRBUF_INIT, 1};
    struct agg istio = {"IstioConfigured", "Configured", NULL, STRBUF_INIT, 1};
    struct agg certs = {"CertificatesReady", "Issued", NULL, STRBUF_INIT, 1};
    struct agg gws = {"GatewaysReady", "AllHaveAddresses", NULL, STRBUF_INIT, 1};
    cJSON *st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
    cJSON *clusters = cJSON_CreateArray();
    size_t ready = 0;
    for (size_t i = 0; i < n; i++) {
        const struct member_result *r = &res[i];
        cJSON_AddItemToArray(clusters,
                             member_status(r, old_member_status(old_clusters, r->spec->name), gen));
        if (!r->reachable) {
            agg_fail(&reach, r->reach.reason, r->reach.message.buf);
            continue;
        }
        if (!r->synced) {
            struct strbuf m = STRBUF_INIT;
            strbuf_addf(&m, "cluster %s: reading its objects (caches are syncing)", r->spec->name);
            agg_fail(&reach, "Syncing", m.buf);
            strbuf_release(&m);
            continue;
        }
        if (!r->istio_ok)
            agg_fail(&istio, r->istio_problem.reason, r->istio_problem.message.buf);
        if (!r->certs_ok)
            agg_fail(&certs, r->certs_problem.reason, r->certs_problem.message.buf);
        if (!r->gateway_ok)
            agg_fail(&gws, r->gateway_problem.reason, r->gateway_problem.message.buf);
        if (r->istio_ok && r->certs_ok && r->gateway_ok)
            ready++;
    }
    if (!root->ok && root->problem->reason[0] && certs.ok)
        agg_fail(&certs, root->problem->reason, root->problem->message.buf);
    const char *certs_ok_msg = "";
    if (root->rotating && certs.ok) {
        certs.ok_reason = "RootRotating"; /* still True: every member trusts every other */
        certs_ok_msg = root->rotating;
    }
    char rc[32];
    snprintf(rc, sizeof(rc), "%zu/%zu", ready, n);
    cJSON_AddStringToObject(st, "readyClusters", rc);
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    struct agg *all[] = {&reach, &istio, &certs, &gws};
    struct agg summary = {"Ready", "AllClustersReady", NULL, STRBUF_INIT, 1};
    for (size_t i = 0; i < 4; i++) {
        add_agg(conds, old_conds, all[i], all[i] == &certs ? certs_ok_msg : "", gen);
        if (!all[i]->ok && summary.ok)
            agg_fail(&summary, all[i]->reason, all[i]->msg.buf);
        strbuf_release(&all[i]->msg);
    }
    struct strbuf ok_msg = STRBUF_INIT;
    strbuf_addf(&ok_msg, "%s clusters ready", rc);
    add_agg(conds, old_conds, &summary, ok_msg.buf, gen);
    strbuf_release(&ok_msg);
    strbuf_release(&summary.msg);
    cJSON_AddItemToObject(st, "clusters", clusters);
    /* with it, the members recorded above are all of them (network_recorded.h) */
    cJSON_AddStringToObject(st, "istioNamespace", net->istio_namespace);
    if (root->ok && !root->keep_reported) {
        cJSON *ca = cJSON_AddObjectToObject(st, "rootCA");
        char t[32];
        ew_time_format_rfc3339(root->info->not_after, t, sizeof(t));
        cJSON_AddStringToObject(ca, "sha256Fingerprint", root->info->sha256);
        cJSON_AddStringToObject(ca, "notAfter", t);
        if (root->rotation)
            cJSON_AddItemToObject(ca, "rotation", cJSON_Duplicate(root->rotation, 1));
        if (root->last_rotation)
            cJSON_AddItemToObject(ca, "lastRotation", cJSON_Duplicate(root->last_rotation, 1));
    } else {
        copy_field(st, old, "rootCA");
    }
    return st;
}

cJSON *mesh_network_simple_status(const cJSON *old, const char *reason, const char *message,
                                  int64_t gen)
{
    cJSON *st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    mesh_condition_add(conds, cJSON_GetObjectItemCaseSensitive(old, "conditions"), "Ready",
                       MESH_COND_FALSE, reason, message, gen);
    copy_field(st, old, "clusters");
    copy_field(st, old, "readyClusters");
    copy_field(st, old, "rootCA");
    /* what a deletion cleans by when the spec cannot be read (network_recorded.h) */
    copy_field(st, old, "istioNamespace");
    copy_field(st, old, "removedClusters");
    return st;
}
