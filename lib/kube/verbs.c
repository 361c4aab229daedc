/*
 * verbs.c: the typed verbs of the Kubernetes REST API on top of kube_request.
 *
 * Paths follow the API's layout: /api/v1/... for the core group,
 * /apis/<group>/<version>/... for the rest, namespaces/<ns>/ for namespaced
 * resources. Object bodies are cJSON; answers are parsed into new trees the
 * caller owns. Server-side apply sends the object as JSON (JSON is YAML) with
 * Content-Type application/apply-patch+yaml, fieldManager and force.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const struct kube_resource KUBE_RES_NAMESPACES = {"", "v1", "namespaces", 0};
const struct kube_resource KUBE_RES_CONFIGMAPS = {"", "v1", "configmaps", 1};
const struct kube_resource KUBE_RES_SECRETS = {"", "v1", "secrets", 1};
const struct kube_resource KUBE_RES_SERVICES = {"", "v1", "services", 1};
const struct kube_resource KUBE_RES_SERVICEACCOUNTS = {"", "v1", "serviceaccounts", 1};
const struct kube_resource KUBE_RES_PODS = {"", "v1", "pods", 1};
const struct kube_resource KUBE_RES_DEPLOYMENTS = {"apps", "v1", "deployments", 1};
const struct kube_resource KUBE_RES_ROLES = {"rbac.authorization.k8s.io", "v1", "roles", 1};
const struct kube_resource KUBE_RES_ROLEBINDINGS = {"rbac.authorization.k8s.io", "v1",
                                                    "rolebindings", 1};
const struct kube_resource KUBE_RES_LEASES = {"coordination.k8s.io", "v1", "leases", 1};
const struct kube_resource KUBE_RES_EVENTS = {"events.k8s.io", "v1", "events", 1};

void kube_resource_path(struct strbuf *out, const struct kube_resource *r, const char *ns,
                        const char *name, const char *subresource)
{
    if (!r->group || !*r->group)
        strbuf_addf(out, "/api/%s", r->version);
    else
        strbuf_addf(out, "/apis/%s/%s", r->group, r->version);
    if (r->namespaced && ns && *ns) {
        strbuf_adds(out, "/namespaces/");
        strbuf_add_urlencoded(out, ns);
    }
    strbuf_addf(out, "/%s", r->plural);
    if (name) {
        strbuf_addch(out, '/');
        strbuf_add_urlencoded(out, name);
        if (subresource && *subresource)
            strbuf_addf(out, "/%s", subresource);
    }
}

/* Append "?k=v" or "&k=v" to a path. */
static void add_query(struct strbuf *path, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    strbuf_addch(path, strchr(path->buf, '?') ? '&' : '?');
    strbuf_adds(path, key);
    strbuf_addch(path, '=');
    strbuf_add_urlencoded(path, value);
}

static kube_code parse_body(const char *body, size_t len, const char *what, cJSON **out,
                            struct kube_error *err)
{
    cJSON *obj = cJSON_ParseWithLength(body, len);
    if (!obj || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return kube_error_set(err, KUBE_E_PROTOCOL, "%s: the answer is not a JSON object", what);
    }
    *out = obj;
    return KUBE_OK;
}

/* Send, and parse the answer into *out when out is not NULL. */
static kube_code exchange(struct kube_client *c, struct kube_request *req, double deadline,
                          cJSON **out, struct kube_error *err)
{
    struct kube_response resp = {0, STRBUF_INIT};
    kube_code rc = kube_request_by(c, req, deadline, &resp, err);
    if (rc == KUBE_OK && out)
        rc = parse_body(resp.body.buf, resp.body.len, req->path, out, err);
    kube_response_release(&resp);
    return rc;
}

kube_code kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const char *name, cJSON **out, struct kube_error *err)
{
    return kube_get_by(c, r, ns, name, 0, out, err);
}

kube_code kube_get_by(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, double deadline, cJSON **out, struct kube_error *err)
{
    if (c->ops) {
        kube_code rc = c->ops->get(c->impl, r, ns, name, out, err);
        kube_client_count_ops_call(c, KUBE_VERB_GET, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, r, ns, name, NULL);
    struct kube_request req = {"GET", path.buf, NULL, NULL, 0, KUBE_VERB_GET};
    kube_code rc = exchange(c, &req, deadline, out, err);
    strbuf_release(&path);
    return rc;
}

void kube_list_page_release(struct kube_list_page *page)
{
    cJSON_Delete(page->items);
    free(page->resource_version);
    free(page->continue_token);
    memset(page, 0, sizeof(*page));
}

static const char *meta_string(const cJSON *obj, const char *field)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

kube_code kube_list_page(struct kube_client *c, const struct kube_resource *r, const char *ns,
                         const struct kube_list_options *opts, struct kube_list_page *page,
                         struct kube_error *err)
{
    if (c->ops) {
        memset(page, 0, sizeof(*page));
        kube_code rc = c->ops->list_page(c->impl, r, ns, opts, page, err);
        kube_client_count_ops_call(c, KUBE_VERB_LIST, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    char limit[32];
    memset(page, 0, sizeof(*page));
    kube_resource_path(&path, r, ns, NULL, NULL);
    if (opts) {
        add_query(&path, "labelSelector", opts->label_selector);
        add_query(&path, "fieldSelector", opts->field_selector);
        if (opts->limit > 0) {
            snprintf(limit, sizeof(limit), "%ld", opts->limit);
            add_query(&path, "limit", limit);
        }
        add_query(&path, "continue", opts->continue_token);
        add_query(&path, "resourceVersion", opts->resource_version);
    }
    struct kube_request req = {"GET", path.buf, NULL, NULL, 0, KUBE_VERB_LIST};
    struct kube_response resp = {0, STRBUF_INIT};
    kube_code rc = kube_request(c, &req, &resp, err);
    if (rc == KUBE_OK)
        rc = kube_list_page_parse(resp.body.buf, resp.body.len, path.buf, page, err);
    kube_response_release(&resp);
    strbuf_release(&path);
    return rc;
}

kube_code kube_list_page_parse(const char *body, size_t len, const char *path,
                               struct kube_list_page *page, struct kube_error *err)
{
    memset(page, 0, sizeof(*page));
    cJSON *list = NULL;
    kube_code rc = parse_body(body, len, path, &list, err);
    if (rc == KUBE_OK) {
        cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(list, "items");
        if (cJSON_IsNull(items) || !items) {
            cJSON_Delete(items);
            items = cJSON_CreateArray();
        }
        if (!cJSON_IsArray(items)) {
            cJSON_Delete(items);
            rc = kube_error_set(err, KUBE_E_PROTOCOL, "GET %s: items is not a list", path);
        } else {
            page->items = items;
            page->resource_version = ew_strdup(meta_string(list, "resourceVersion"));
            const char *cont = meta_string(list, "continue");
            page->continue_token = cont && *cont ? ew_strdup(cont) : NULL;
        }
    }
    cJSON_Delete(list);
    return rc;
}

static kube_code list_all_pages(struct kube_client *c, const struct kube_resource *r,
                                const char *ns, const struct kube_list_options *opts, cJSON *items,
                                char **rv, struct kube_error *err)
{
    struct kube_list_options o = opts ? *opts : (struct kube_list_options){0};
    char *cont = NULL;
    kube_code rc;
    o.continue_token = NULL;
    for (;;) {
        struct kube_list_page page;
        o.continue_token = cont;
        rc = kube_list_page(c, r, ns, &o, &page, err);
        free(cont);
        cont = NULL;
        if (rc != KUBE_OK)
            break;
        if (rv && !*rv)
            *rv = ew_strdup(page.resource_version);
        cJSON *it = page.items->child;
        while (it) {
            cJSON *next = it->next;
            cJSON_AddItemToArray(items, cJSON_DetachItemViaPointer(page.items, it));
            it = next;
        }
        cont = page.continue_token;
        page.continue_token = NULL;
        kube_list_page_release(&page);
        if (!cont)
            break;
        o.resource_version = NULL; /* a continue token pins the snapshot */
    }
    return rc;
}

kube_code kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
                    const struct kube_list_options *opts, cJSON **items, char **resource_version,
                    struct kube_error *err)
{
    for (int attempt = 0;; attempt++) {
        cJSON *all = cJSON_CreateArray();
        char *rv = NULL;
        kube_code rc = list_all_pages(c, r, ns, opts, all, &rv, err);
        if (rc == KUBE_OK) {
            *items = all;
            if (resource_version)
                *resource_version = rv;
            else
                free(rv);
            return KUBE_OK;
        }
        cJSON_Delete(all);
        free(rv);
        /* The continue token expired between pages: the snapshot is gone; start over once. */
        if (rc != KUBE_E_GONE || attempt > 0)
            return rc;
    }
}

static void add_write_query(struct strbuf *path, const char *field_manager, int dry_run)
{
    add_query(path, "fieldManager", field_manager);
    if (dry_run)
        add_query(path, "dryRun", "All");
}

static kube_code send_object(struct kube_client *c, const char *method, enum kube_verb verb,
                             const char *path, const cJSON *obj, double deadline, cJSON **out,
                             struct kube_error *err)
{
    char *body = cJSON_PrintUnformatted(obj);
    if (!body)
        return kube_error_set(err, KUBE_E_ARG, "%s %s: object cannot be serialised", method, path);
    struct kube_request req = {method, path, "application/json", body, strlen(body), verb};
    kube_code rc = exchange(c, &req, deadline, out, err);
    free(body);
    return rc;
}

kube_code kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const cJSON *obj, const struct kube_write_options *opts, cJSON **out,
                      struct kube_error *err)
{
    if (c->ops) {
        kube_code rc = c->ops->create(c->impl, r, ns, obj, opts, out, err);
        kube_client_count_ops_call(c, KUBE_VERB_CREATE, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, r, ns, NULL, NULL);
    if (opts)
        add_write_query(&path, opts->field_manager, opts->dry_run);
    kube_code rc = send_object(c, "POST", KUBE_VERB_CREATE, path.buf, obj,
                               opts ? opts->deadline : 0, out, err);
    strbuf_release(&path);
    return rc;
}

kube_code kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, const cJSON *obj, const struct kube_write_options *opts,
                      cJSON **out, struct kube_error *err)
{
    if (c->ops) {
        kube_code rc = c->ops->update(c->impl, r, ns, name, obj, opts, out, err);
        kube_client_count_ops_call(c, KUBE_VERB_UPDATE, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, r, ns, name, opts ? opts->subresource : NULL);
    if (opts)
        add_write_query(&path, opts->field_manager, opts->dry_run);
    kube_code rc =
        send_object(c, "PUT", KUBE_VERB_UPDATE, path.buf, obj, opts ? opts->deadline : 0, out, err);
    strbuf_release(&path);
    return rc;
}

static const char *patch_content_type(enum kube_patch_type t)
{
    switch (t) {
    case KUBE_PATCH_JSON:
        return "application/json-patch+json";
    case KUBE_PATCH_STRATEGIC:
        return "application/strategic-merge-patch+json";
    case KUBE_PATCH_APPLY:
        return "application/apply-patch+yaml";
    case KUBE_PATCH_MERGE:
    default:
        return "application/merge-patch+json";
    }
}

kube_code kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const char *name, const char *patch, size_t len,
                     const struct kube_patch_options *opts, cJSON **out, struct kube_error *err)
{
    struct kube_patch_options o = opts ? *opts : (struct kube_patch_options){0};
    if (o.type == KUBE_PATCH_APPLY && (!o.field_manager || !*o.field_manager))
        return kube_error_set(err, KUBE_E_ARG, "server-side apply needs a field manager");
    if (c->ops) {
        kube_code rc = c->ops->patch(c->impl, r, ns, name, patch, len, &o, out, err);
        kube_client_count_ops_call(c, KUBE_VERB_PATCH, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, r, ns, name, o.subresource);
    add_write_query(&path, o.field_manager, o.dry_run);
    if (o.type == KUBE_PATCH_APPLY && o.force)
        add_query(&path, "force", "true");
    struct kube_request req = {"PATCH", path.buf, patch_content_type(o.type),
                               patch,   len,      KUBE_VERB_PATCH};
    kube_code rc = exchange(c, &req, 0, out, err);
    strbuf_release(&path);
    return rc;
}

kube_code kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const cJSON *obj, const char *field_manager, int force, cJSON **out,
                     struct kube_error *err)
{
    const char *name = meta_string(obj, "name");
    if (!name || !*name)
        return kube_error_set(err, KUBE_E_ARG, "apply: the object has no metadata.name");
    char *body = cJSON_PrintUnformatted(obj);
    if (!body)
        return kube_error_set(err, KUBE_E_ARG, "apply: object cannot be serialised");
    const struct kube_patch_options o = {
        .type = KUBE_PATCH_APPLY,
        .field_manager = field_manager ? field_manager : "eastwest-operator",
        .force = force,
    };
    kube_code rc = kube_patch(c, r, ns, name, body, strlen(body), &o, out, err);
    free(body);
    return rc;
}

kube_code kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const char *name, const struct kube_delete_options *opts,
                      struct kube_error *err)
{
    if (c->ops) {
        kube_code rc = c->ops->delete_object(c->impl, r, ns, name, opts, err);
        kube_client_count_ops_call(c, KUBE_VERB_DELETE, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, r, ns, name, NULL);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "apiVersion", "v1");
    cJSON_AddStringToObject(body, "kind", "DeleteOptions");
    if (opts && (opts->precondition_uid || opts->precondition_resource_version)) {
        cJSON *pre = cJSON_AddObjectToObject(body, "preconditions");
        if (opts->precondition_uid)
            cJSON_AddStringToObject(pre, "uid", opts->precondition_uid);
        if (opts->precondition_resource_version)
            cJSON_AddStringToObject(pre, "resourceVersion", opts->precondition_resource_version);
    }
    if (opts && opts->propagation_policy)
        cJSON_AddStringToObject(body, "propagationPolicy", opts->propagation_policy);
    kube_code rc = send_object(c, "DELETE", KUBE_VERB_DELETE, path.buf, body, 0, NULL, err);
    cJSON_Delete(body);
    strbuf_release(&path);
    return rc;
}

/* ---- discovery ---- */

void kube_group_versions_release(struct kube_group_versions *gv)
{
    for (size_t i = 0; i < gv->n; i++)
        free(gv->versions[i]);
    free(gv->versions);
    free(gv->preferred);
    memset(gv, 0, sizeof(*gv));
}

kube_code kube_discover_group(struct kube_client *c, const char *group,
                              struct kube_group_versions *out, struct kube_error *err)
{
    if (c->ops) {
        memset(out, 0, sizeof(*out));
        kube_code rc = c->ops->discover_group(c->impl, group, out, err);
        kube_client_count_ops_call(c, KUBE_VERB_OTHER, rc, err);
        return rc;
    }
    struct strbuf path = STRBUF_INIT;
    memset(out, 0, sizeof(*out));
    if (!group || !*group)
        strbuf_adds(&path, "/api");
    else
        strbuf_addf(&path, "/apis/%s", group);
    struct kube_request req = {"GET", path.buf, NULL, NULL, 0, KUBE_VERB_GET};
    cJSON *doc = NULL;
    kube_code rc = exchange(c, &req, 0, &doc, err);
    strbuf_release(&path);
    if (rc != KUBE_OK)
        return rc;
    /* APIGroup {versions:[{groupVersion,version}], preferredVersion:{version}};
     * core: APIVersions {versions:["v1"]} */
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(doc, "versions");
    const cJSON *v;
    size_t n = (size_t)cJSON_GetArraySize(versions);
    out->versions = ew_calloc(n ? n : 1, sizeof(char *));
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *name = cJSON_IsString(v) ? v : cJSON_GetObjectItemCaseSensitive(v, "version");
        if (cJSON_IsString(name) && out->n < n)
            out->versions[out->n++] = ew_strdup(name->valuestring);
    }
    const cJSON *pref = cJSON_GetObjectItemCaseSensitive(doc, "preferredVersion");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(pref, "version");
    if (cJSON_IsString(pv))
        out->preferred = ew_strdup(pv->valuestring);
    else if (out->n)
        out->preferred = ew_strdup(out->versions[0]);
    cJSON_Delete(doc);
    if (!out->n)
        return kube_error_set(err, KUBE_E_PROTOCOL, "discovery of group %s: no versions",
                              group && *group ? group : "core");
    return KUBE_OK;
}
