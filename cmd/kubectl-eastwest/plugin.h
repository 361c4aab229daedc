/*
 * kubectl-eastwest: a kubectl plugin for eastwest (kubectl finds it on PATH as
 * "kubectl eastwest ..."). One file per subcommand:
 *   link.c    give the operator credentials for a member cluster: least-privilege
 *             RBAC and a token there, the kubeconfig Secret in the home cluster;
 *   status.c  the mesh as a table per member cluster, from the MeshNetwork status;
 *   plan.c    the objects the operator would write for a file of CRs, written nowhere;
 *   rbac.c    the member RBAC (also printed by "member-rbac" for deploy/member/);
 *   finalizer.c  remove-finalizer: let a CR whose members are gone for good be deleted.
 * main.c parses the flags and runs one; connect.h opens their connections.
 * Every subcommand returns an exit status: 0 ok, 1 failed, 2 bad usage. Nothing
 * prints a token, key or certificate.
 */
#ifndef EW_PLUGIN_H
#define EW_PLUGIN_H

#include "kube/client.h"

#include <cjson/cJSON.h>

struct plugin_opts {
    const char *kubeconfig;      /* --kubeconfig */
    const char *home_context;    /* --home-context (default: current context) */
    const char *context;         /* --context: the member's, for link */
    const char *namespace_;      /* --namespace: the operator's (default eastwest-system) */
    const char *istio_namespace; /* --istio-namespace (default istio-system) */
    const char *file;            /* -f, for plan */
    const char *output;          /* -o/--output yaml|json, for plan (default yaml) */
    const char *cluster;         /* --cluster, for plan: one member's objects */
    const char *secret;          /* --secret-name, for link (default <name>-kubeconfig) */
    double token_seconds;        /* --token-duration, for link (default 8760h) */
    int namespace_set;           /* -n/--namespace was given */
    int force;                   /* --force, for remove-finalizer */
    char **args;                 /* positional arguments after the subcommand */
    int nargs;
};

#define PLUGIN_FIELD_MANAGER "kubectl-eastwest"
#define PLUGIN_MEMBER_SA     "eastwest-member"

/* The RBAC a member's credentials need (docs/design.md section 3), as an array of objects:
 * Namespace and ServiceAccount in ns, ClusterRole and ClusterRoleBinding, Role and
 * RoleBinding in istio_ns. */
cJSON *plugin_member_rbac(const char *ns, const char *istio_ns);

int plugin_link(const struct plugin_opts *o);
int plugin_status(const struct plugin_opts *o);
int plugin_plan(const struct plugin_opts *o);
int plugin_print_member_rbac(const struct plugin_opts *o);
int plugin_remove_finalizer(const struct plugin_opts *o);
int plugin_rotate_root(const struct plugin_opts *o);

#endif
