/*
 * kubeconfig: reading kubeconfig files into a struct kube_rest_config.
 *
 * Sources, in kubectl's order: an explicit path (--kubeconfig), else
 * $KUBECONFIG (a ':'-separated list, merged: for clusters, users and contexts
 * the first file that names an entry wins, and current-context comes from the
 * first file that sets one), else ~/.kube/config. A kubeconfig can also come
 * from memory (a member cluster's kubeconfig Secret). The REST config type, and
 * the in-cluster service-account producer, live in rest_config.h.
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
 *
 * A kubeconfig someone else wrote (a member cluster's kubeconfig Secret) is
 * data, not code: kube_config_from_untrusted refuses, unless the caller's
 * policy allows them, every field that reads a file of the operator's
 * (tokenFile, certificate-authority, client-certificate, client-key) or runs
 * a program (exec). Without that, a Secret with server: https://elsewhere and
 * tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token sends the
 * operator's own token there (Istio's remote secrets had the same hole,
 * istio/istio#36307). Inline data (token, *-data) is always fine. A refusal
 * is KUBE_E_CONFIG with err->reason KUBE_CONFIG_REFUSED, and the message names
 * the field as a path: users["evil"].user.tokenFile.
 */
#ifndef EW_KUBE_KUBECONFIG_H
#define EW_KUBE_KUBECONFIG_H

#include "kube_error.h"
#include "rest_config.h"

#include <stddef.h>

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

/* What an untrusted kubeconfig may use beyond inline data (bits). */
#define KUBE_CONFIG_ALLOW_FILES 1u /* tokenFile and the PEM file fields (absolute paths) */
#define KUBE_CONFIG_ALLOW_EXEC  2u /* exec credential plugins */
/* err->reason of a field the policy refuses. */
#define KUBE_CONFIG_REFUSED "KubeconfigRefused"

/* Like kube_config_from_memory with no base directory, for a kubeconfig from someone the
 * operator does not trust: fields outside allow (KUBE_CONFIG_ALLOW_*) are refused (see
 * the top). Relative file paths are refused even when files are allowed. */
kube_code kube_config_from_untrusted(const char *data, size_t len, const char *source,
                                     unsigned allow, const char *context,
                                     struct kube_rest_config *out, struct kube_error *err);

#endif
