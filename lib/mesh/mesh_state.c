/*
 * mesh_state.c: the members of each mesh: connect (or reconnect with new
 * credentials), find, drop (see mesh_state.h).
 */
#include "mesh_state.h"
#include "member_claim.h"

#include <stdlib.h>
#include <string.h>

/* Forget the clusterset entry when no MeshNetwork uses the cluster any more. mc->mu held. */
static void forget_cluster_locked(struct mesh_network_controller *mc, const char *cluster)
{
    const char *k;
    void *v;
    for (size_t i = 0; strmap_next(&mc->states, &i, &k, &v);) {
        struct mesh_state *s = v;
        for (size_t j = 0; j < s->nmembers; j++)
            if (strcmp(s->members[j]->cluster, cluster) == 0)
                return;
    }
    rt_clusterset_remove(mc->clusters, cluster);
}

void state_drop_member(struct mesh_network_controller *mc, struct mesh_state *s, size_t i)
{
    char *cluster = ew_strdup(s->members[i]->cluster);
    mesh_member_stop(s->members[i], mc->clusters);
    pthread_mutex_lock(&mc->mu);
    s->members[i] = s->members[--s->nmembers];
    forget_cluster_locked(mc, cluster);
    pthread_mutex_unlock(&mc->mu);
    free(cluster);
}

struct mesh_member *state_member(struct mesh_state *s, const char *cluster, size_t *idx)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i]->cluster, cluster) == 0) {
            if (idx)
                *idx = i;
            return s->members[i];
        }
    return NULL;
}

/* Member i again on the cluster set's (new) client: new watches, new memo. */
static void restart_member(struct mesh_network_controller *mc, struct mesh_state *s, size_t i,
                           const char *mesh, const char *version)
{
    struct mesh_member *old = s->members[i];
    struct mesh_member_options mo = {
        .mesh = mesh,
        .cluster = old->cluster,
        .istio_ns = old->istio_ns,
        .config_version = version,
        .secret_name = old->secret_name,
        .secret_key = old->secret_key,
        .clusters = mc->clusters,
        .controller = mc->ctl,
        .log = mc->o.log,
        .metrics = mc->o.metrics,
    };
    struct mesh_member *fresh = mesh_member_start(&mo);
    if (!fresh)
        return; /* cannot be: the member was just applied; the old one stays */
    pthread_mutex_lock(&mc->mu);
    s->members[i] = fresh;
    pthread_mutex_unlock(&mc->mu);
    mesh_member_stop(old, mc->clusters);
}

/* The connection settings of a member, and a string that changes when they do. */
static mesh_code member_config(struct mesh_ctx *ctx, const struct mesh_cluster *c,
                               struct kube_rest_config *cfg, char **version, struct mesh_problem *p)
{
    struct mesh_network_controller *mc = ctx->mc;
    if (!c->secret_name) {
        kube_rest_config_copy(cfg, mc->o.home_cfg);
        *version = ew_strdup("home");
        return MESH_OK;
    }
    struct strbuf key = STRBUF_INIT, desc = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", mc->namespace_, c->secret_name);
    strbuf_addf(&desc, "Secret %s", key.buf);
    cJSON *secret = rt_store_get_copy(rt_reflector_store(mc->secrets), key.buf);
    mesh_code rc = mesh_member_config_from_secret_allow(
        secret, desc.buf, c, mc->o.member_kubeconfig_allow, cfg, version, p);
    strbuf_release(&key);
    strbuf_release(&desc);
    cJSON_Delete(secret);
    return rc;
}

void member_connect(struct mesh_ctx *ctx, struct member_result *res)
{
    struct mesh_network_controller *mc = ctx->mc;
    struct kube_rest_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char *version = NULL;
    size_t idx = 0;
    struct mesh_member *m = state_member(ctx->state, res->spec->name, &idx);
    if (member_config(ctx, res->spec, &cfg, &version, &res->reach) != MESH_OK) {
        kube_rest_config_free(&cfg);
        free(version);
        if (strcmp(res->reach.reason, "KubeconfigRefused") == 0)
            rt_record(&ctx->events, "Warning", "KubeconfigRefused", "Connect", "%s",
                      res->reach.message.buf);
        return; /* keep the member's watches: a Secret being rewritten is no reason to stop */
    }
    if (member_claim_server_taken(ctx, res->spec->name, cfg.server, &res->reach)) {
        rt_record(&ctx->events, "Warning", MESH_REASON_CLUSTER_IN_OTHER_MESH, "Connect", "%s",
                  res->reach.message.buf);
        kube_rest_config_free(&cfg);
        free(version);
        return;
    }
    if (m && strcmp(m->istio_ns, ctx->net->istio_namespace) != 0) {
        state_drop_member(mc, ctx->state, idx);
        m = NULL;
    }
    struct kube_error err = KUBE_ERROR_INIT;
    if (!m || strcmp(m->config_version, version) != 0) {
        int applied = rt_clusterset_apply(mc->clusters, res->spec->name, &cfg, &err);
        if (applied < 0) {
            mesh_problem_set(&res->reach, "KubeconfigInvalid", "cluster %s: %s", res->spec->name,
                             err.message);
            goto out;
        }
        if (m && applied == 2) {
            /* another server or CA: what the caches hold is another cluster's; they start
             * again on the new client, and nothing is written until they have listed */
            restart_member(mc, ctx->state, idx, ctx->net->name, version);
            m = ctx->state->members[idx];
            char *shown = kube_url_redacted(cfg.server);
            rt_record(&ctx->events, "Normal", "ClusterChanged", "Connect",
                      "cluster %s: its kubeconfig names another server or CA (%s): its caches "
                      "are read again from there before anything is written",
                      m->cluster, shown);
            free(shown);
        } else if (m) {
            free(m->config_version);
            m->config_version = ew_strdup(version);
            rt_record(&ctx->events, "Normal", "CredentialsUpdated", "Connect",
                      "cluster %s: new connection settings from its kubeconfig", m->cluster);
        }
    }
    if (!m) {
        struct mesh_member_options mo = {
            .mesh = ctx->net->name,
            .cluster = res->spec->name,
            .istio_ns = ctx->net->istio_namespace,
            .config_version = version,
            .secret_name = res->spec->secret_name,
            .secret_key = res->spec->secret_key,
            .clusters = mc->clusters,
            .controller = mc->ctl,
            .log = mc->o.log,
            .metrics = mc->o.metrics,
        };
        m = mesh_member_start(&mo);
        if (m) {
            pthread_mutex_lock(&mc->mu);
            ctx->state->members =
                ew_realloc(ctx->state->members, (ctx->state->nmembers + 1) * sizeof(*m));
            ctx->state->members[ctx->state->nmembers++] = m;
            pthread_mutex_unlock(&mc->mu);
        }
    }
    res->member = m;
out:
    kube_error_clear(&err);
    kube_rest_config_free(&cfg);
    free(version);
}

void state_forget_metrics(struct mesh_network_controller *mc, const char *mesh, const char *cluster)
{
    if (cluster) { /* its intermediate; the mesh's root and rotation stay */
        const char *lv[] = {mesh, cluster, "intermediate"};
        rt_metric_remove(mc->m_cert_expiry, lv);
        return;
    }
    const char *all[] = {mesh, NULL, NULL};
    rt_metric_remove(mc->m_cert_expiry, all);
    const char *phase[] = {mesh};
    rt_metric_remove(mc->m_rotation_phase, phase);
}

void state_release_root(struct mesh_state *s)
{
    free(s->root_rv);
    s->root_rv = NULL;
    mesh_keypair_release(&s->root);
}

void state_keep_root(struct mesh_state *s, const char *rv, const struct mesh_keypair *root,
                     const struct mesh_cert_info *info)
{
    state_release_root(s);
    s->root_rv = ew_strdup(rv);
    s->root = (struct mesh_keypair){ew_strdup(root->cert_pem), ew_strdup(root->key_pem)};
    s->root_info = *info;
}
