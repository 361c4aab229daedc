/*
 * kubeconfig: where a client connects and how it authenticates.
 *
 * Sources, in kubectl's order: an explicit path (--kubeconfig), else
 * $KUBECONFIG (a ':'-separated list, merged: for clusters, users and contexts
 * the first file that names an entry wins, and current-context comes from the
 * first file that sets one), else ~/.kube/config. A kubeconfig can also come
 * from memory (a member cluster's kubeconfig Secret), or from the in-cluster
 * service-account layout.
 *
 * Loading resolves one context into a struct kube_rest_config. Files named by
 * certificate-authority, client-certificate and client-key are read into
 * memory at load time (relative paths are relative to the kubeconfig file);
 * data fields are base64-decoded. No temporary files are ever written. A
 * tokenFile is NOT read here: the client re-reads it so rotation works.
 *
 * Every error names the source (file path or "secret ns/name"), the entry
 * (e.g. users["alice"]) and the field, and what is wrong with it, in a
 * struct kube_error with code KUBE_E_CONFIG (or KUBE_E_IO for unreadable files).
 */
#ifndef EW_KUBE_KUBECONFIG_H
#define EW_KUBE_KUBECONFIG_H

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

struct kube_config_options {
    const char *explicit_path;  /* --kubeconfig, or NULL */
    const char *context;        /* --context, or NULL for current-context */
    const char *kubeconfig_env; /* value of $KUBECONFIG, or NULL */
    const char *home;           /* $HOME, or NULL */
};

/* Resolve a context from files, following kubectl's precedence (see above). */
kube_code kube_config_load(const struct kube_config_options *opts, struct kube_rest_config *out,
                           struct kube_error *err);

/* Resolve a context from one kubeconfig document in memory (YAML or JSON).
 * source names it in messages, e.g. "secret eastwest-system/us-kubeconfig key kubeconfig".
 * base_dir resolves relative file paths (NULL = reject file references). */
kube_code kube_config_from_memory(const char *data, size_t len, const char *source,
                                  const char *base_dir, const char *context,
                                  struct kube_rest_config *out, struct kube_error *err);

/*
 * In-cluster: server from $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT
 * (passed in as host/port), token file <sa_dir>/token (re-read by the client),
 * CA <sa_dir>/ca.crt, namespace <sa_dir>/namespace. sa_dir NULL means
 * /var/run/secrets/kubernetes.io/serviceaccount.
 */
kube_code kube_config_in_cluster(const char *sa_dir, const char *host, const char *port,
                                 struct kube_rest_config *out, struct kube_error *err);

void kube_rest_config_free(struct kube_rest_config *cfg);
/* Deep copy; returns KUBE_OK. */
kube_code kube_rest_config_copy(struct kube_rest_config *dst, const struct kube_rest_config *src);

#endif
