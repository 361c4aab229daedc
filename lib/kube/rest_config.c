/*
 * rest_config.c: the REST config's lifetime, and its in-cluster producer
 * (see rest_config.h).
 *
 * Free and copy walk every field the same way, so a field added to struct
 * kube_rest_config is added to both here. Free wipes what is secret (the
 * client key, the token) before releasing it. In-cluster reads only what a
 * pod's service-account directory holds, and reads the CA into memory like a
 * kubeconfig's certificate-authority; the token file is left for the client
 * to re-read.
 */
#include "rest_config.h"
#include "../base/fileutil.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEM_MAX_BYTES (1024u * 1024)

char *kube_url_redacted(const char *url)
{
    if (!url)
        return NULL;
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : url;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + auth_len; p++)
        if (*p == '@')
            at = p; /* the last one: a password may hold an unescaped '@' */
    if (!at)
        return ew_strdup(url);
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, url, (size_t)(auth - url));
    strbuf_adds(&sb, "REDACTED");
    strbuf_adds(&sb, at);
    return strbuf_detach(&sb, NULL);
}

kube_code kube_config_in_cluster(const char *sa_dir, const char *host, const char *port,
                                 struct kube_rest_config *out, struct kube_error *err)
{
    struct strbuf p = STRBUF_INIT, ca = STRBUF_INIT, ns = STRBUF_INIT, url = STRBUF_INIT;
    const char *dir = sa_dir ? sa_dir : "/var/run/secrets/kubernetes.io/serviceaccount";
    kube_code rc = KUBE_OK;
    memset(out, 0, sizeof(*out));
    if (!host || !*host || !port || !*port)
        return kube_error_set(err, KUBE_E_CONFIG,
                              "not running in a cluster: KUBERNETES_SERVICE_HOST and "
                              "KUBERNETES_SERVICE_PORT must be set");
    strbuf_addf(&p, "%s/token", dir);
    if (access(p.buf, R_OK) != 0)
        rc = kube_error_set(err, KUBE_E_IO, "in-cluster: service account token %s: %s", p.buf,
                            strerror(errno));
    strbuf_reset(&p);
    strbuf_addf(&p, "%s/ca.crt", dir);
    if (rc == KUBE_OK && ew_read_file(&ca, p.buf, PEM_MAX_BYTES) != 0)
        rc = kube_error_set(err, KUBE_E_IO, "in-cluster: CA %s: %s", p.buf, strerror(errno));
    if (rc == KUBE_OK) {
        strbuf_addf(&url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
        out->source = ew_strdup("in-cluster");
        out->server = strbuf_detach(&url, NULL);
        out->ca.data = (unsigned char *)strbuf_detach(&ca, &out->ca.len);
        strbuf_reset(&p);
        strbuf_addf(&p, "%s/token", dir);
        out->token_file = strbuf_detach(&p, NULL);
        strbuf_addf(&p, "%s/namespace", dir);
        if (ew_read_file(&ns, p.buf, 4096) == 0) {
            while (ns.len && (ns.buf[ns.len - 1] == '\n' || ns.buf[ns.len - 1] == ' '))
                ns.buf[--ns.len] = '\0';
            if (ns.len)
                out->namespace_ = strbuf_detach(&ns, NULL);
        }
    }
    strbuf_release(&p);
    strbuf_release(&ca);
    strbuf_release(&ns);
    strbuf_release(&url);
    return rc;
}

void kube_blob_release(struct kube_blob *b, int secret)
{
    if (b->data && secret)
        OPENSSL_cleanse(b->data, b->len);
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static void exec_free(struct kube_exec_config *ec)
{
    if (!ec)
        return;
    free(ec->api_version);
    free(ec->command);
    for (size_t i = 0; i < ec->nargs; i++)
        free(ec->args[i]);
    free(ec->args);
    for (size_t i = 0; i < ec->nenv; i++) {
        free(ec->env[i].name);
        free(ec->env[i].value);
    }
    free(ec->env);
    free(ec->install_hint);
    free(ec->interactive_mode);
    free(ec);
}

void kube_rest_config_free(struct kube_rest_config *cfg)
{
    free(cfg->source);
    free(cfg->context_name);
    free(cfg->cluster_name);
    free(cfg->user_name);
    free(cfg->namespace_);
    free(cfg->server);
    kube_blob_release(&cfg->ca, 0);
    free(cfg->tls_server_name);
    kube_blob_release(&cfg->client_cert, 0);
    kube_blob_release(&cfg->client_key, 1);
    if (cfg->token) {
        OPENSSL_cleanse(cfg->token, strlen(cfg->token));
        free(cfg->token);
    }
    free(cfg->token_file);
    exec_free(cfg->exec);
    memset(cfg, 0, sizeof(*cfg));
}

void kube_blob_copy(struct kube_blob *dst, const struct kube_blob *src)
{
    dst->len = src->len;
    dst->data = NULL;
    if (src->data) {
        dst->data = ew_malloc(src->len + 1);
        memcpy(dst->data, src->data, src->len);
        dst->data[src->len] = '\0';
    }
}

static struct kube_exec_config *exec_copy(const struct kube_exec_config *s)
{
    if (!s)
        return NULL;
    struct kube_exec_config *d = ew_calloc(1, sizeof(*d));
    d->api_version = ew_strdup(s->api_version);
    d->command = ew_strdup(s->command);
    d->args = ew_calloc(s->nargs + 1, sizeof(char *));
    for (size_t i = 0; i < s->nargs; i++)
        d->args[i] = ew_strdup(s->args[i]);
    d->nargs = s->nargs;
    d->env = ew_calloc(s->nenv + 1, sizeof(*d->env));
    for (size_t i = 0; i < s->nenv; i++) {
        d->env[i].name = ew_strdup(s->env[i].name);
        d->env[i].value = ew_strdup(s->env[i].value);
    }
    d->nenv = s->nenv;
    d->install_hint = ew_strdup(s->install_hint);
    d->provide_cluster_info = s->provide_cluster_info;
    d->interactive_mode = ew_strdup(s->interactive_mode);
    return d;
}

kube_code kube_rest_config_copy(struct kube_rest_config *dst, const struct kube_rest_config *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->source = ew_strdup(src->source);
    dst->context_name = ew_strdup(src->context_name);
    dst->cluster_name = ew_strdup(src->cluster_name);
    dst->user_name = ew_strdup(src->user_name);
    dst->namespace_ = ew_strdup(src->namespace_);
    dst->server = ew_strdup(src->server);
    kube_blob_copy(&dst->ca, &src->ca);
    dst->tls_server_name = ew_strdup(src->tls_server_name);
    dst->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
    kube_blob_copy(&dst->client_cert, &src->client_cert);
    kube_blob_copy(&dst->client_key, &src->client_key);
    dst->token = ew_strdup(src->token);
    dst->token_file = ew_strdup(src->token_file);
    dst->exec = exec_copy(src->exec);
    return KUBE_OK;
}
