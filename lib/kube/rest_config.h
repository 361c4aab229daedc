/*
 * rest_config: what a client is built from, whatever produced it.
 *
 * A struct kube_rest_config says where the API server is (server URL, CA
 * bundle, TLS server name) and who the client is (client certificate and key,
 * a bearer token, a token file or an exec credential plugin). It holds bytes
 * in memory, never paths to certificates: whoever fills it reads the files. A
 * token_file is the exception: the client re-reads it so rotation works.
 *
 * Two producers: kubeconfig.h resolves a context of a kubeconfig into one, and
 * kube_config_in_cluster below builds one from a pod's service-account layout.
 * The client (client.h) only consumes it.
 *
 * Ownership: the struct owns every string and blob in it; kube_rest_config_free
 * releases them (wiping keys and tokens) and zeroes the struct. Producers zero
 * *out first and free it on failure, so a failed call leaves nothing to free.
 */
#ifndef EW_KUBE_REST_CONFIG_H
#define EW_KUBE_REST_CONFIG_H

#include "kube_error.h"

#include <stddef.h>

struct kube_blob {
    unsigned char *data; /* owned; NUL-terminated for convenience */
    size_t len;
};

/* Deep copy (dst's old content is not freed). */
void kube_blob_copy(struct kube_blob *dst, const struct kube_blob *src);
/* Free; secret: wipe the bytes first (keys, tokens). */
void kube_blob_release(struct kube_blob *b, int secret);

struct kube_exec_env {
    char *name;
    char *value;
};

struct kube_exec_config {
    char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
    char *command;
    char **args;
    size_t nargs;
    struct kube_exec_env *env;
    size_t nenv;
    char *install_hint;
    int provide_cluster_info;
    char *interactive_mode; /* Never, IfAvailable, Always; NULL = default */
};

struct kube_rest_config {
    char *source;       /* where it came from, for messages: a path, "in-cluster", ... */
    char *context_name; /* NULL for in-cluster */
    char *cluster_name;
    char *user_name;
    char *namespace_; /* context namespace or in-cluster namespace; NULL = unset */

    /* cluster */
    char *server;          /* https://host:port[/prefix] without trailing slash */
    struct kube_blob ca;   /* PEM bundle; empty = system trust store */
    char *tls_server_name; /* NULL = from server URL */
    int insecure_skip_tls_verify;

    /* user: at most one of token/token_file/exec, optionally with a client cert */
    struct kube_blob client_cert; /* PEM */
    struct kube_blob client_key;  /* PEM; secret: never logged */
    char *token;                  /* secret: never logged */
    char *token_file;             /* re-read by the client */
    struct kube_exec_config *exec;
};

/*
 * In-cluster: server from $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT
 * (passed in as host/port), token file <sa_dir>/token (re-read by the client),
 * CA <sa_dir>/ca.crt, namespace <sa_dir>/namespace. sa_dir NULL means
 * /var/run/secrets/kubernetes.io/serviceaccount.
 */
kube_code kube_config_in_cluster(const char *sa_dir, const char *host, const char *port,
                                 struct kube_rest_config *out, struct kube_error *err);

void kube_rest_config_free(struct kube_rest_config *cfg);

/* url as it may be shown (logs, errors, conditions, Events): its userinfo, if any
 * ("https://user:pass@host"), replaced by "REDACTED" ("https://REDACTED@host").
 * Returns a new string (free it); NULL for NULL. */
char *kube_url_redacted(const char *url);
/* Deep copy; returns KUBE_OK. */
kube_code kube_rest_config_copy(struct kube_rest_config *dst, const struct kube_rest_config *src);

#endif
