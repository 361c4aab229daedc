/*
 * link: give eastwest-operator credentials for a member cluster.
 *
 * In the member (its kubeconfig context): the RBAC of rbac.c, then a token for
 * ServiceAccount eastwest-member from the TokenRequest API (bound to that
 * ServiceAccount, expiring after --token-duration; no long-lived token Secret).
 * In the home cluster: Secret <name>-kubeconfig in the operator's namespace with
 * a kubeconfig for the member (its server and CA, the token), which a
 * MeshNetwork names in kubeconfigSecretRef. Running link again rotates the
 * token; the operator picks the new Secret up without a restart.
 */
#include "plugin.h"
#include "connect.h"
#include "base/base64.h"
#include "base/timeutil.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int apply_all(struct kube_client *c, cJSON *objs, const char *cluster)
{
    static const struct {
        const char *kind;
        struct kube_resource r;
    } kinds[] = {
        {"Namespace", {"", "v1", "namespaces", 0}},
        {"ServiceAccount", {"", "v1", "serviceaccounts", 1}},
        {"ClusterRole", {"rbac.authorization.k8s.io", "v1", "clusterroles", 0}},
        {"ClusterRoleBinding", {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", 0}},
        {"Role", {"rbac.authorization.k8s.io", "v1", "roles", 1}},
        {"RoleBinding", {"rbac.authorization.k8s.io", "v1", "rolebindings", 1}},
    };
    cJSON *o;
    cJSON_ArrayForEach(o, objs)
    {
        const char *kind = cJSON_GetObjectItem(o, "kind")->valuestring;
        const cJSON *md = cJSON_GetObjectItem(o, "metadata");
        const cJSON *ns = cJSON_GetObjectItem(md, "namespace");
        const char *name = cJSON_GetObjectItem(md, "name")->valuestring;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            if (strcmp(kinds[i].kind, kind) != 0)
                continue;
            struct kube_error err = KUBE_ERROR_INIT;
            if (kube_apply(c, &kinds[i].r, ns ? ns->valuestring : NULL, o, PLUGIN_FIELD_MANAGER, 1,
                           NULL, &err) != KUBE_OK) {
                fprintf(stderr, "kubectl-eastwest: cluster %s: writing %s %s: %s\n", cluster, kind,
                        name, err.message);
                kube_error_clear(&err);
                return 1;
            }
            printf("cluster %s: %s %s%s%s applied\n", cluster, kind, ns ? ns->valuestring : "",
                   ns ? "/" : "", name);
        }
    }
    return 0;
}

/* A token for the member ServiceAccount; *expires gets its expiry. Caller wipes and frees. */
static char *request_token(struct kube_client *c, const struct plugin_opts *o, char *expires,
                           size_t size)
{
    struct strbuf path = STRBUF_INIT, body = STRBUF_INIT;
    strbuf_addf(&path, "/api/v1/namespaces/%s/serviceaccounts/%s/token", o->namespace_,
                PLUGIN_MEMBER_SA);
    strbuf_addf(&body,
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
                "\"spec\":{\"expirationSeconds\":%.0f}}",
                o->token_seconds);
    struct kube_request req = {"POST", path.buf, NULL, body.buf, body.len, KUBE_VERB_CREATE};
    struct kube_response resp = {0, STRBUF_INIT};
    struct kube_error err = KUBE_ERROR_INIT;
    char *token = NULL;
    if (kube_request(c, &req, &resp, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: requesting a token for %s/%s: %s\n", o->namespace_,
                PLUGIN_MEMBER_SA, err.message);
    } else {
        cJSON *tr = cJSON_Parse(resp.body.buf);
        const cJSON *st = cJSON_GetObjectItem(tr, "status");
        const cJSON *t = cJSON_GetObjectItem(st, "token");
        const cJSON *exp = cJSON_GetObjectItem(st, "expirationTimestamp");
        if (cJSON_IsString(t) && *t->valuestring) {
            token = ew_strdup(t->valuestring);
            OPENSSL_cleanse(t->valuestring, strlen(t->valuestring));
        } else {
            fprintf(stderr, "kubectl-eastwest: the TokenRequest answer has no status.token\n");
        }
        snprintf(expires, size, "%s", cJSON_IsString(exp) ? exp->valuestring : "unknown");
        cJSON_Delete(tr);
    }
    if (resp.body.alloc)
        OPENSSL_cleanse(resp.body.buf, resp.body.len);
    kube_response_release(&resp);
    kube_error_clear(&err);
    strbuf_release(&path);
    strbuf_release(&body);
    return token;
}

/* The member's kubeconfig, as JSON (valid YAML). Contains the token: wipe it after use. */
static void build_kubeconfig(struct strbuf *out, const char *name,
                             const struct kube_rest_config *member, const char *token)
{
    cJSON *kc = cJSON_CreateObject();
    cJSON_AddStringToObject(kc, "apiVersion", "v1");
    cJSON_AddStringToObject(kc, "kind", "Config");
    cJSON *cluster = cJSON_CreateObject();
    cJSON_AddStringToObject(cluster, "name", name);
    cJSON *cd = cJSON_AddObjectToObject(cluster, "cluster");
    cJSON_AddStringToObject(cd, "server", member->server);
    if (member->ca.len) {
        struct strbuf ca = STRBUF_INIT;
        base64_encode(&ca, member->ca.data, member->ca.len);
        cJSON_AddStringToObject(cd, "certificate-authority-data", ca.buf);
        strbuf_release(&ca);
    }
    if (member->tls_server_name)
        cJSON_AddStringToObject(cd, "tls-server-name", member->tls_server_name);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(kc, "clusters"), cluster);
    cJSON *user = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "name", "eastwest-operator");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(user, "user"), "token", token);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(kc, "users"), user);
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "name", name);
    cJSON *cc = cJSON_AddObjectToObject(ctx, "context");
    cJSON_AddStringToObject(cc, "cluster", name);
    cJSON_AddStringToObject(cc, "user", "eastwest-operator");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(kc, "contexts"), ctx);
    cJSON_AddStringToObject(kc, "current-context", name);
    char *text = cJSON_Print(kc);
    strbuf_adds(out, text);
    OPENSSL_cleanse(text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(kc); /* the token copy inside is freed unwiped: cJSON frees with free() */
}

static int write_secret(struct kube_client *home, const struct plugin_opts *o, const char *secret,
                        const char *name, const struct strbuf *kubeconfig)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddStringToObject(s, "kind", "Secret");
    cJSON *md = cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(md, "name", secret);
    cJSON_AddStringToObject(md, "namespace", o->namespace_);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/part-of", "eastwest");
    cJSON_AddStringToObject(labels, "eastwest.io/member", name);
    cJSON_AddStringToObject(s, "type", "Opaque");
    struct strbuf b64 = STRBUF_INIT;
    base64_encode(&b64, kubeconfig->buf, kubeconfig->len);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "data"), "kubeconfig", b64.buf);
    OPENSSL_cleanse(b64.buf, b64.len);
    strbuf_release(&b64);
    struct kube_error err = KUBE_ERROR_INIT;
    /* the namespace may not exist yet on a fresh home cluster */
    cJSON *ns = cJSON_CreateObject();
    cJSON_AddStringToObject(ns, "apiVersion", "v1");
    cJSON_AddStringToObject(ns, "kind", "Namespace");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", o->namespace_);
    kube_create(home, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL, &err);
    kube_error_clear(&err);
    cJSON_Delete(ns);
    kube_code rc =
        kube_apply(home, &KUBE_RES_SECRETS, o->namespace_, s, PLUGIN_FIELD_MANAGER, 1, NULL, &err);
    cJSON_Delete(s);
    if (rc != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: home cluster: writing Secret %s/%s: %s\n", o->namespace_,
                secret, err.message);
        kube_error_clear(&err);
        return 1;
    }
    return 0;
}

int plugin_link(const struct plugin_opts *o)
{
    if (o->nargs != 1 || !o->context) {
        fprintf(stderr, "kubectl-eastwest: usage: kubectl eastwest link NAME --context "
                        "MEMBER_CONTEXT [--home-context CTX]\n");
        return 2;
    }
    const char *name = o->args[0];
    struct strbuf secret = STRBUF_INIT, kubeconfig = STRBUF_INIT;
    if (o->secret)
        strbuf_adds(&secret, o->secret);
    else
        strbuf_addf(&secret, "%s-kubeconfig", name);
    struct plugin_conn member = {0}, home = {0};
    int rc = plugin_connect(o, o->context, name, &member);
    if (!rc)
        rc = plugin_connect_home(o, &home);
    char *token = NULL;
    char expires[64] = "";
    if (!rc) {
        cJSON *rbac = plugin_member_rbac(o->namespace_, o->istio_namespace);
        rc = apply_all(member.client, rbac, name);
        cJSON_Delete(rbac);
    }
    if (!rc && !(token = request_token(member.client, o, expires, sizeof(expires))))
        rc = 1;
    if (!rc) {
        build_kubeconfig(&kubeconfig, name, &member.cfg, token);
        rc = write_secret(home.client, o, secret.buf, name, &kubeconfig);
    }
    if (!rc)
        printf("linked cluster %s: Secret %s/%s in the home cluster (token valid until %s).\n"
               "Name it in a MeshNetwork member:\n"
               "  - name: %s\n    network: <network>\n    kubeconfigSecretRef: {name: %s}\n",
               name, o->namespace_, secret.buf, expires, name, secret.buf);
    if (token) {
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    }
    if (kubeconfig.alloc)
        OPENSSL_cleanse(kubeconfig.buf, kubeconfig.len);
    strbuf_release(&kubeconfig);
    strbuf_release(&secret);
    plugin_disconnect(&member);
    plugin_disconnect(&home);
    return rc;
}
