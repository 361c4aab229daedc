/*
 * cluster_env: what integration tests need of the real test clusters that
 * hack/cluster.sh started: their directories, admin clients, and helpers to
 * mint identities (service-account tokens, client certificates) and to run
 * hack/ commands (compaction, restarts).
 */
#ifndef EW_TEST_CLUSTER_ENV_H
#define EW_TEST_CLUSTER_ENV_H

#include "harness.h"
#include "kube/client.h"

#include <sys/wait.h>

/* $EW_CLUSTERS_DIR/<name>; the test fails (and stops) when the cluster is not up. */
const char *cluster_dir(struct test_ctx *t, const char *name, char *buf, size_t size);
/* Admin client of a cluster (from its kubeconfig); the test owns it. */
struct kube_client *cluster_admin(struct test_ctx *t, const char *name);
/* Load the admin kubeconfig into cfg. */
void cluster_admin_config(struct test_ctx *t, const char *name, struct kube_rest_config *cfg);
/* Create a namespace with a unique name starting with prefix; returns it (static buffer). */
void cluster_make_namespace(struct test_ctx *t, struct kube_client *c, const char *prefix,
                            char *out, size_t size);
/* Create ServiceAccount ns/name and return a fresh token for it (caller frees). */
char *cluster_sa_token(struct test_ctx *t, struct kube_client *c, const char *ns, const char *name);
/* Run "bash hack/cluster.sh ARGS"; returns its exit status. */
int cluster_cmd(const char *args);
/* POST a SelfSubjectReview and return status.userInfo.username (caller frees), or NULL
 * with the error in err. */
char *cluster_whoami(struct kube_client *c, char **groups_json, struct kube_error *err);
/* Remove a temporary directory tree a test made. */
void remove_tree(const char *dir);
/* Write a file (mode 0600). */
void write_file(struct test_ctx *t, const char *path, const char *data);

#endif
