/*
 * rbac: the least privilege the operator needs in a member cluster, as objects.
 *
 * Cluster-wide: namespaces (read; create for a CrossClusterService's namespace;
 * patch for the Istio namespace's network label), services (list and watch: backing
 * Services), pods (list and watch: their service accounts pin subjectAltNames, and
 * the exporting clusters' pods are followed with a watch), Istio
 * ServiceEntries and DestinationRules (write). In the Istio namespace only: the
 * east-west gateway's objects, its Role and RoleBinding, istiod's ConfigMaps (read),
 * and of the Secrets only cacerts, the one eastwest writes there (by name: list and
 * watch with fieldSelector metadata.name=cacerts, server-side apply, delete at
 * cleanup). Secrets may be created unrestricted because RBAC cannot restrict create
 * by name (a POST names no object in its URL; a server-side apply that creates
 * cacerts is also authorized as create): create alone reads nothing. No other
 * Secret, in the Istio namespace (istiod's own, a user's) or anywhere else.
 */
#include "plugin.h"
#include "mesh/object_meta.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <string.h>

static cJSON *strings(const char *const *v)
{
    cJSON *a = cJSON_CreateArray();
    for (; *v; v++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*v));
    return a;
}

static void add_named_rule(cJSON *rules, const char *group, const char *const *resources,
                           const char *const *names, const char *const *verbs)
{
    cJSON *r = cJSON_CreateObject();
    const char *groups[] = {group, NULL};
    cJSON_AddItemToObject(r, "apiGroups", strings(groups));
    cJSON_AddItemToObject(r, "resources", strings(resources));
    if (names)
        cJSON_AddItemToObject(r, "resourceNames", strings(names));
    cJSON_AddItemToObject(r, "verbs", strings(verbs));
    cJSON_AddItemToArray(rules, r);
}

static void add_rule(cJSON *rules, const char *group, const char *const *resources,
                     const char *const *verbs)
{
    add_named_rule(rules, group, resources, NULL, verbs);
}

/* The operator's object skeleton (object_meta.h), labelled as the plugin's. */
static cJSON *object(const char *api_version, const char *kind, const char *ns, const char *name)
{
    cJSON *o = mesh_object_new(api_version, kind, ns, name, NULL);
    mesh_object_set_label(o, "app.kubernetes.io/part-of", "eastwest");
    return o;
}

static cJSON *binding(const char *kind, const char *ns, const char *role_kind, const char *sa_ns)
{
    cJSON *b = object("rbac.authorization.k8s.io/v1", kind, ns, PLUGIN_MEMBER_SA);
    cJSON *ref = cJSON_AddObjectToObject(b, "roleRef");
    cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
    cJSON_AddStringToObject(ref, "kind", role_kind);
    cJSON_AddStringToObject(ref, "name", PLUGIN_MEMBER_SA);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "ServiceAccount");
    cJSON_AddStringToObject(s, "name", PLUGIN_MEMBER_SA);
    cJSON_AddStringToObject(s, "namespace", sa_ns);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "subjects"), s);
    return b;
}

/* What the operator sends, and nothing more: caches (list, watch), server-side apply
 * (patch; create when the object is new), deletes, and a get by name of an object it is
 * about to write that its label-selected cache does not hold (is a same-named object
 * there that eastwest did not write? lib/mesh/foreign.h). It never updates. */
static const char *const cache[] = {"list", "watch", NULL};
static const char *const write[] = {"get", "list", "watch", "create", "patch", "delete", NULL};

static cJSON *cluster_role(void)
{
    cJSON *cr = object("rbac.authorization.k8s.io/v1", "ClusterRole", NULL, PLUGIN_MEMBER_SA);
    cJSON *rules = cJSON_AddArrayToObject(cr, "rules");
    const char *const ns_verbs[] = {"get", "list", "watch", "create", "patch", NULL};
    const char *const namespaces[] = {"namespaces", NULL}, *const services[] = {"services", NULL};
    const char *const pods[] = {"pods", NULL};
    const char *const istio_cfg[] = {"serviceentries", "destinationrules", NULL};
    add_rule(rules, "", namespaces, ns_verbs);
    add_rule(rules, "", services, cache);
    add_rule(rules, "", pods, cache);
    add_rule(rules, "networking.istio.io", istio_cfg, write);
    return cr;
}

/* The Istio namespace. Services are listed cluster-wide already (cluster_role): here
 * the gateway's is read by name before its first write, and written. */
static cJSON *istio_role(const char *istio_ns)
{
    cJSON *role = object("rbac.authorization.k8s.io/v1", "Role", istio_ns, PLUGIN_MEMBER_SA);
    cJSON *rules = cJSON_AddArrayToObject(role, "rules");
    const char *const sas[] = {"serviceaccounts", NULL}, *const services[] = {"services", NULL};
    const char *const only_write[] = {"get", "create", "patch", "delete", NULL};
    const char *const secrets[] = {"secrets", NULL}, *const cacerts[] = {MESH_CACERTS_NAME, NULL};
    const char *const create[] = {"create", NULL};
    const char *const by_name[] = {"list", "watch", "patch", "delete", NULL};
    const char *const cms[] = {"configmaps", NULL}, *const deps[] = {"deployments", NULL};
    const char *const rbac[] = {"roles", "rolebindings", NULL};
    const char *const gws[] = {"gateways", NULL};
    add_rule(rules, "", sas, write);
    add_rule(rules, "", services, only_write);
    add_rule(rules, "", secrets, create);
    add_named_rule(rules, "", secrets, cacerts, by_name);
    add_rule(rules, "", cms, cache);
    add_rule(rules, "apps", deps, write);
    add_rule(rules, "rbac.authorization.k8s.io", rbac, write);
    add_rule(rules, "networking.istio.io", gws, write);
    return role;
}

cJSON *plugin_member_rbac(const char *ns, const char *istio_ns)
{
    cJSON *all = cJSON_CreateArray();
    cJSON_AddItemToArray(all, object("v1", "Namespace", NULL, ns));
    cJSON_AddItemToArray(all, object("v1", "ServiceAccount", ns, PLUGIN_MEMBER_SA));
    cJSON_AddItemToArray(all, cluster_role());
    cJSON_AddItemToArray(all, binding("ClusterRoleBinding", NULL, "ClusterRole", ns));
    cJSON_AddItemToArray(all, istio_role(istio_ns));
    cJSON_AddItemToArray(all, binding("RoleBinding", istio_ns, "Role", ns));
    return all;
}

int plugin_print_member_rbac(const struct plugin_opts *o)
{
    cJSON *all = plugin_member_rbac(o->namespace_, o->istio_namespace);
    cJSON *item;
    printf("# The RBAC eastwest-operator needs in a member cluster, for the credentials in its\n"
           "# kubeconfig Secret (ServiceAccount %s/%s). Generated by\n"
           "# \"kubectl eastwest member-rbac\"; \"kubectl eastwest link\" applies the same.\n",
           o->namespace_, PLUGIN_MEMBER_SA);
    cJSON_ArrayForEach(item, all)
    {
        char *text = cJSON_Print(item);
        printf("---\n");
        for (const char *t = text; *t; t++) /* YAML refuses tabs: cJSON's are layout only */
            fputs(*t == '\t' ? "  " : (char[]){*t, 0}, stdout);
        printf("\n");
        cJSON_free(text);
    }
    cJSON_Delete(all);
    return 0;
}
