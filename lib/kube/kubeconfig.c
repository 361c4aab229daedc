/*
 * kubeconfig.c: loading, merging and resolving kubeconfigs (see kubeconfig.h).
 *
 * Three steps. Read: each file is parsed (YAML or JSON) into a cJSON tree and
 * its top-level shape checked. Merge: clusters, users and contexts are
 * collected by name across files, the first file naming an entry winning, and
 * current-context is the first one set. Resolve: the chosen context, its
 * cluster and its user become a struct kube_rest_config, with data fields
 * decoded and file fields read into memory.
 *
 * Every error names where the entry came from ("kubeconfig <path>"), the entry
 * (users["alice"]) and the field, and says what is wrong. Secrets (tokens,
 * keys) never appear in a message.
 */
#include "kubeconfig.h"
#include "yaml_json.h"
#include "../base/base64.h"
#include "../base/fileutil.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define KUBECONFIG_MAX_BYTES (16u * 1024 * 1024)
#define PEM_MAX_BYTES        (1024u * 1024)
#define MAX_FILES            32

struct kc_file {
    char *source; /* "kubeconfig <path>" or the caller's source */
    char *dir;    /* for relative paths; NULL = file references refused */
    cJSON *doc;
    int untrusted;  /* from kube_config_from_untrusted: allow below applies */
    unsigned allow; /* KUBE_CONFIG_ALLOW_* */
};

struct kc_entry {
    const char *name;
    const cJSON *body; /* the "cluster"/"user"/"context" object */
    const struct kc_file *file;
};

struct kc_list {
    struct kc_entry *items;
    size_t n, cap;
};

struct kc_merged {
    struct kc_file files[MAX_FILES];
    size_t nfiles;
    struct kc_list clusters, users, contexts;
    const char *current_context;
};

/* ---- small helpers ---- */

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsObject(v))
        return "a mapping";
    return "null";
}

/* Optional string field: NULL when absent or null; error when another type. */
static kube_code get_str(const cJSON *obj, const char *field, const char **out, const char *where,
                         struct kube_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return KUBE_OK;
    if (!cJSON_IsString(v))
        return kube_error_set(err, KUBE_E_CONFIG, "%s: %s: expected a string, got %s", where, field,
                              json_type_name(v));
    *out = v->valuestring;
    return KUBE_OK;
}

static kube_code get_bool(const cJSON *obj, const char *field, int *out, const char *where,
                          struct kube_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return KUBE_OK;
    if (!cJSON_IsBool(v))
        return kube_error_set(err, KUBE_E_CONFIG, "%s: %s: expected true or false, got %s", where,
                              field, json_type_name(v));
    *out = cJSON_IsTrue(v);
    return KUBE_OK;
}

/* A field the untrusted file's policy does not allow? Sets the refusal naming it as
 * <section>["<entry>"].<inner>.<field>. */
static kube_code check_allowed(const struct kc_file *f, unsigned need, const char *section,
                               const char *entry, const char *field, struct kube_error *err)
{
    if (!f->untrusted || (f->allow & need))
        return KUBE_OK;
    const char *inner = strcmp(section, "clusters") == 0 ? "cluster" : "user";
    kube_error_set(err, KUBE_E_CONFIG,
                   "%s: %s[\"%s\"].%s.%s: refused: %s; use inline data (token, *-data) instead",
                   f->source, section, entry, inner, field,
                   need == KUBE_CONFIG_ALLOW_FILES
                       ? "a file reference reads a file on the operator's host"
                       : "it runs a program on the operator's host");
    err->reason = ew_strdup(KUBE_CONFIG_REFUSED);
    return KUBE_E_CONFIG;
}

static void files_release(struct kc_merged *m)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].source);
        free(m->files[i].dir);
        cJSON_Delete(m->files[i].doc);
    }
    free(m->clusters.items);
    free(m->users.items);
    free(m->contexts.items);
    memset(m, 0, sizeof(*m));
}

static const struct kc_entry *find_entry(const struct kc_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

/* ---- reading and merging ---- */

static kube_code collect(struct kc_list *list, const struct kc_file *f, const char *section,
                         const char *inner, struct kube_error *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(f->doc, section);
    if (!arr || cJSON_IsNull(arr))
        return KUBE_OK;
    if (!cJSON_IsArray(arr))
        return kube_error_set(err, KUBE_E_CONFIG, "%s: %s: expected a list, got %s", f->source,
                              section, json_type_name(arr));
    int idx = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (!cJSON_IsObject(it))
            return kube_error_set(err, KUBE_E_CONFIG, "%s: %s[%d]: expected a mapping, got %s",
                                  f->source, section, idx, json_type_name(it));
        if (!cJSON_IsString(name) || !*name->valuestring)
            return kube_error_set(err, KUBE_E_CONFIG, "%s: %s[%d]: name: missing", f->source,
                                  section, idx);
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(it, inner);
        if (body && !cJSON_IsNull(body) && !cJSON_IsObject(body))
            return kube_error_set(err, KUBE_E_CONFIG, "%s: %s[\"%s\"]: %s: expected a mapping",
                                  f->source, section, name->valuestring, inner);
        idx++;
        if (find_entry(list, name->valuestring))
            continue; /* an earlier file (or entry) wins */
        if (list->n == list->cap) {
            list->cap = list->cap ? list->cap * 2 : 8;
            list->items = ew_realloc(list->items, list->cap * sizeof(*list->items));
        }
        list->items[list->n++] = (struct kc_entry){name->valuestring, body, f};
    }
    return KUBE_OK;
}

static kube_code add_document(struct kc_merged *m, const char *data, size_t len, const char *source,
                              const char *dir, struct kube_error *err)
{
    if (m->nfiles == MAX_FILES)
        return kube_error_set(err, KUBE_E_CONFIG, "too many kubeconfig files (at most %d)",
                              MAX_FILES);
    cJSON *doc = NULL;
    kube_code rc = yaml_to_json(data, len, &doc, err);
    if (rc != KUBE_OK) {
        kube_error_prefix(err, "%s", source);
        return rc;
    }
    if (cJSON_IsNull(doc)) {
        cJSON_Delete(doc);
        doc = cJSON_CreateObject(); /* an empty file is an empty config */
    }
    if (!cJSON_IsObject(doc)) {
        kube_error_set(err, KUBE_E_CONFIG, "%s: expected a mapping at the top, got %s", source,
                       json_type_name(doc));
        cJSON_Delete(doc);
        return KUBE_E_CONFIG;
    }
    struct kc_file *f = &m->files[m->nfiles++];
    f->source = ew_strdup(source);
    f->dir = ew_strdup(dir);
    f->doc = doc;
    const char *cur = NULL;
    if ((rc = get_str(doc, "current-context", &cur, source, err)) != KUBE_OK ||
        (rc = collect(&m->clusters, f, "clusters", "cluster", err)) != KUBE_OK ||
        (rc = collect(&m->users, f, "users", "user", err)) != KUBE_OK ||
        (rc = collect(&m->contexts, f, "contexts", "context", err)) != KUBE_OK)
        return rc;
    if (!m->current_context && cur && *cur)
        m->current_context = cur;
    return KUBE_OK;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ew_strdup(".");
    if (slash == path)
        return ew_strdup("/");
    return ew_strndup(path, (size_t)(slash - path));
}

/* Read one file. missing_ok: a file that does not exist is skipped (*added = 0). */
static kube_code add_file(struct kc_merged *m, const char *path, int missing_ok, int *added,
                          struct kube_error *err)
{
    struct strbuf sb = STRBUF_INIT, source = STRBUF_INIT;
    *added = 0;
    if (ew_read_file(&sb, path, KUBECONFIG_MAX_BYTES) != 0) {
        int e = errno;
        strbuf_release(&sb);
        if (missing_ok && e == ENOENT)
            return KUBE_OK;
        return kube_error_set(err, KUBE_E_IO, "kubeconfig %s: %s", path, strerror(e));
    }
    strbuf_addf(&source, "kubeconfig %s", path);
    char *dir = dir_of(path);
    kube_code rc = add_document(m, sb.buf, sb.len, source.buf, dir, err);
    free(dir);
    strbuf_release(&source);
    OPENSSL_cleanse(sb.buf, sb.len);
    strbuf_release(&sb);
    *added = rc == KUBE_OK;
    return rc;
}

static kube_code add_env_list(struct kc_merged *m, const char *list, struct kube_error *err)
{
    char *copy = ew_strdup(list), *save = NULL;
    int any = 0, added;
    kube_code rc = KUBE_OK;
    for (char *p = strtok_r(copy, ":", &save); p && rc == KUBE_OK; p = strtok_r(NULL, ":", &save)) {
        rc = add_file(m, p, 1, &added, err);
        any |= added;
    }
    if (rc == KUBE_OK && !any)
        rc = kube_error_set(err, KUBE_E_IO, "KUBECONFIG=%s: none of these files exists", list);
    free(copy);
    return rc;
}

/* ---- resolving ---- */

static kube_code read_ref(const struct kc_file *f, const char *where, const char *field,
                          const char *path, struct strbuf *out, struct kube_error *err)
{
    struct strbuf full = STRBUF_INIT;
    if (!f->dir && !(f->untrusted && path[0] == '/'))
        return kube_error_set(err, KUBE_E_CONFIG,
                              "%s: %s: %s: file references are not allowed here; use %s-data",
                              f->source, where, field, field);
    if (path[0] == '/')
        strbuf_adds(&full, path);
    else
        strbuf_addf(&full, "%s/%s", f->dir, path);
    int rc = ew_read_file(out, full.buf, PEM_MAX_BYTES);
    int e = errno;
    if (rc != 0) {
        kube_error_set(err, KUBE_E_IO, "%s: %s: %s: cannot read %s: %s", f->source, where, field,
                       full.buf, strerror(e));
        strbuf_release(&full);
        return KUBE_E_IO;
    }
    strbuf_release(&full);
    return KUBE_OK;
}

/* A PEM field given as <field>-data (base64) or <field> (a file). kind: "certificate" or
 * "private key", checked against the PEM header. */
static kube_code get_pem(const struct kc_entry *e, const char *section, const char *where,
                         const char *field, const char *data_field, const char *kind,
                         struct kube_blob *out, struct kube_error *err)
{
    const char *data = NULL, *path = NULL;
    struct strbuf sb = STRBUF_INIT;
    kube_code rc;
    if ((rc = get_str(e->body, data_field, &data, where, err)) != KUBE_OK ||
        (rc = get_str(e->body, field, &path, where, err)) != KUBE_OK)
        return rc;
    if (data && path)
        return kube_error_set(err, KUBE_E_CONFIG, "%s: %s and %s are both set; keep one", where,
                              field, data_field);
    if (!data && !path)
        return KUBE_OK;
    if (path && (rc = check_allowed(e->file, KUBE_CONFIG_ALLOW_FILES, section, e->name, field,
                                    err)) != KUBE_OK)
        return rc;
    if (data) {
        if (base64_decode(&sb, data, strlen(data)) != 0) {
            strbuf_release(&sb);
            return kube_error_set(err, KUBE_E_CONFIG, "%s: %s: not valid base64", where,
                                  data_field);
        }
    } else if ((rc = read_ref(e->file, where + strlen(e->file->source) + 2, field, path, &sb,
                              err)) != KUBE_OK) {
        return rc;
    }
    const char *f = data ? data_field : field;
    int looks_ok = strstr(sb.buf, "-----BEGIN ") &&
                   (strcmp(kind, "certificate") == 0 ? strstr(sb.buf, "CERTIFICATE-----") != NULL
                                                     : strstr(sb.buf, "PRIVATE KEY-----") != NULL);
    if (!looks_ok) {
        OPENSSL_cleanse(sb.buf, sb.len);
        strbuf_release(&sb);
        return kube_error_set(err, KUBE_E_CONFIG, "%s: %s: not a PEM %s", where, f, kind);
    }
    out->data = (unsigned char *)strbuf_detach(&sb, &out->len);
    return KUBE_OK;
}

static kube_code resolve_cluster(const struct kc_entry *e, struct kube_rest_config *cfg,
                                 struct kube_error *err)
{
    struct strbuf where = STRBUF_INIT;
    const char *server = NULL, *tls_name = NULL, *proxy = NULL;
    kube_code rc;
    strbuf_addf(&where, "%s: clusters[\"%s\"]", e->file->source, e->name);
    if (!e->body)
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: cluster: missing", where.buf);
    else if ((rc = get_str(e->body, "server", &server, where.buf, err)) != KUBE_OK ||
             (rc = get_str(e->body, "tls-server-name", &tls_name, where.buf, err)) != KUBE_OK ||
             (rc = get_str(e->body, "proxy-url", &proxy, where.buf, err)) != KUBE_OK ||
             (rc = get_bool(e->body, "insecure-skip-tls-verify", &cfg->insecure_skip_tls_verify,
                            where.buf, err)) != KUBE_OK)
        ;
    else if (!server || !*server)
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: server: missing", where.buf);
    else if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
        char *shown = kube_url_redacted(server);
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: server: \"%.200s\" is not an https:// or http:// URL", where.buf,
                            shown);
        free(shown);
    } else if (proxy)
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: proxy-url: proxies are not supported",
                            where.buf);
    else
        rc = get_pem(e, "clusters", where.buf, "certificate-authority",
                     "certificate-authority-data", "certificate", &cfg->ca, err);
    if (rc == KUBE_OK && cfg->insecure_skip_tls_verify && cfg->ca.len)
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: insecure-skip-tls-verify cannot be combined with a "
                            "certificate authority",
                            where.buf);
    if (rc == KUBE_OK) {
        size_t n = strlen(server);
        while (n > 0 && server[n - 1] == '/')
            n--;
        cfg->server = ew_strndup(server, n);
        cfg->tls_server_name = ew_strdup(tls_name);
        cfg->cluster_name = ew_strdup(e->name);
    }
    strbuf_release(&where);
    return rc;
}

static kube_code resolve_exec(const cJSON *ex, const char *where, struct kube_rest_config *cfg,
                              struct kube_error *err)
{
    const char *cmd = NULL, *api = NULL, *hint = NULL, *mode = NULL;
    kube_code rc;
    struct strbuf w = STRBUF_INIT;
    strbuf_addf(&w, "%s: exec", where);
    if (!cJSON_IsObject(ex)) {
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: expected a mapping", w.buf);
        goto out;
    }
    if ((rc = get_str(ex, "command", &cmd, w.buf, err)) != KUBE_OK ||
        (rc = get_str(ex, "apiVersion", &api, w.buf, err)) != KUBE_OK ||
        (rc = get_str(ex, "installHint", &hint, w.buf, err)) != KUBE_OK ||
        (rc = get_str(ex, "interactiveMode", &mode, w.buf, err)) != KUBE_OK)
        goto out;
    if (!cmd || !*cmd) {
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: command: missing", w.buf);
        goto out;
    }
    if (!api || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
                 strcmp(api, "client.authentication.k8s.io/v1beta1") != 0)) {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: apiVersion: \"%s\" is not supported; use "
                            "client.authentication.k8s.io/v1 or v1beta1",
                            w.buf, api ? api : "");
        goto out;
    }
    if (mode && strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 &&
        strcmp(mode, "Always") != 0) {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: interactiveMode: \"%s\" is not Never, IfAvailable or Always",
                            w.buf, mode);
        goto out;
    }
    if (mode && strcmp(mode, "Always") == 0) {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: interactiveMode: Always needs a terminal, which eastwest never "
                            "has; use Never or IfAvailable",
                            w.buf);
        goto out;
    }
    struct kube_exec_config *ec = ew_calloc(1, sizeof(*ec));
    cfg->exec = ec;
    ec->command = ew_strdup(cmd);
    ec->api_version = ew_strdup(api);
    ec->install_hint = ew_strdup(hint);
    ec->interactive_mode = ew_strdup(mode);
    if ((rc = get_bool(ex, "provideClusterInfo", &ec->provide_cluster_info, w.buf, err)) != KUBE_OK)
        goto out;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(ex, "args");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(ex, "env");
    const cJSON *it;
    if (args && !cJSON_IsNull(args)) {
        if (!cJSON_IsArray(args)) {
            rc = kube_error_set(err, KUBE_E_CONFIG, "%s: args: expected a list", w.buf);
            goto out;
        }
        ec->args = ew_calloc((size_t)cJSON_GetArraySize(args) + 1, sizeof(char *));
        cJSON_ArrayForEach(it, args)
        {
            if (!cJSON_IsString(it)) {
                rc = kube_error_set(err, KUBE_E_CONFIG, "%s: args[%zu]: expected a string", w.buf,
                                    ec->nargs);
                goto out;
            }
            ec->args[ec->nargs++] = ew_strdup(it->valuestring);
        }
    }
    if (env && !cJSON_IsNull(env)) {
        if (!cJSON_IsArray(env)) {
            rc = kube_error_set(err, KUBE_E_CONFIG, "%s: env: expected a list", w.buf);
            goto out;
        }
        ec->env = ew_calloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(*ec->env));
        cJSON_ArrayForEach(it, env)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
            if (!cJSON_IsString(n) || !*n->valuestring || strchr(n->valuestring, '=')) {
                rc = kube_error_set(err, KUBE_E_CONFIG, "%s: env[%zu]: name: missing or invalid",
                                    w.buf, ec->nenv);
                goto out;
            }
            ec->env[ec->nenv].name = ew_strdup(n->valuestring);
            ec->env[ec->nenv].value = ew_strdup(cJSON_IsString(v) ? v->valuestring : "");
            ec->nenv++;
        }
    }
out:
    strbuf_release(&w);
    return rc;
}

/* The user fields an untrusted file's policy refuses, in a fixed order, before anything
 * else is looked at. auth-provider is never supported, and refused here first as such. */
static kube_code check_user_fields(const struct kc_entry *e, struct kube_error *err)
{
    static const struct {
        const char *field;
        unsigned need;
    } fields[] = {
        {"exec", KUBE_CONFIG_ALLOW_EXEC},        {"auth-provider", 0},
        {"tokenFile", KUBE_CONFIG_ALLOW_FILES},  {"client-certificate", KUBE_CONFIG_ALLOW_FILES},
        {"client-key", KUBE_CONFIG_ALLOW_FILES},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->body, fields[i].field);
        if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring))
            continue;
        kube_code rc =
            check_allowed(e->file, fields[i].need, "users", e->name, fields[i].field, err);
        if (rc != KUBE_OK)
            return rc;
    }
    return KUBE_OK;
}

static kube_code resolve_user(const struct kc_entry *e, struct kube_rest_config *cfg,
                              struct kube_error *err)
{
    struct strbuf where = STRBUF_INIT;
    const char *token = NULL, *token_file = NULL, *user = NULL;
    kube_code rc = KUBE_OK;
    strbuf_addf(&where, "%s: users[\"%s\"]", e->file->source, e->name);
    cfg->user_name = ew_strdup(e->name);
    if (!e->body || (rc = check_user_fields(e, err)) != KUBE_OK)
        goto out;
    if (cJSON_GetObjectItemCaseSensitive(e->body, "auth-provider")) {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: auth-provider is not supported (removed from kubectl); use an "
                            "exec plugin",
                            where.buf);
        goto out;
    }
    if ((rc = get_str(e->body, "username", &user, where.buf, err)) != KUBE_OK)
        goto out;
    if (user || cJSON_GetObjectItemCaseSensitive(e->body, "password")) {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: basic authentication (username/password) is not supported; use "
                            "a token, a client certificate or an exec plugin",
                            where.buf);
        goto out;
    }
    if ((rc = get_str(e->body, "token", &token, where.buf, err)) != KUBE_OK ||
        (rc = get_str(e->body, "tokenFile", &token_file, where.buf, err)) != KUBE_OK ||
        (rc = get_pem(e, "users", where.buf, "client-certificate", "client-certificate-data",
                      "certificate", &cfg->client_cert, err)) != KUBE_OK ||
        (rc = get_pem(e, "users", where.buf, "client-key", "client-key-data", "private key",
                      &cfg->client_key, err)) != KUBE_OK)
        goto out;
    if ((cfg->client_cert.len != 0) != (cfg->client_key.len != 0)) {
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: %s is set without %s", where.buf,
                            cfg->client_cert.len ? "client-certificate" : "client-key",
                            cfg->client_cert.len ? "client-key" : "client-certificate");
        goto out;
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(e->body, "exec");
    if (token_file && *token_file && e->file->untrusted && token_file[0] != '/') {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "%s: tokenFile: a relative path is not allowed here; use an absolute "
                            "path or token",
                            where.buf);
        goto out;
    }
    if (token && *token) {
        cfg->token = ew_strdup(token);
    } else if (token_file && *token_file) {
        if (token_file[0] == '/' || !e->file->dir) {
            cfg->token_file = ew_strdup(token_file);
        } else {
            struct strbuf p = STRBUF_INIT;
            strbuf_addf(&p, "%s/%s", e->file->dir, token_file);
            cfg->token_file = strbuf_detach(&p, NULL);
        }
    }
    if (ex && !cJSON_IsNull(ex))
        rc = resolve_exec(ex, where.buf, cfg, err);
out:
    strbuf_release(&where);
    return rc;
}

static void list_known(struct strbuf *sb, const struct kc_list *l)
{
    for (size_t i = 0; i < l->n && i < 10; i++)
        strbuf_addf(sb, "%s\"%s\"", i ? ", " : "", l->items[i].name);
    if (!l->n)
        strbuf_adds(sb, "none");
}

static void sources(struct strbuf *sb, const struct kc_merged *m)
{
    for (size_t i = 0; i < m->nfiles; i++)
        strbuf_addf(sb, "%s%s", i ? ", " : "", m->files[i].source);
}

static kube_code resolve(const struct kc_merged *m, const char *context,
                         struct kube_rest_config *cfg, struct kube_error *err)
{
    struct strbuf src = STRBUF_INIT, known = STRBUF_INIT;
    kube_code rc = KUBE_OK;
    const char *name = context && *context ? context : m->current_context;
    sources(&src, m);
    const struct kc_entry *ctx = name ? find_entry(&m->contexts, name) : NULL;
    if (!name) {
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: no current-context and no --context given",
                            src.buf);
    } else if (!ctx) {
        list_known(&known, &m->contexts);
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: context \"%s\" not found (known contexts: %s)",
                            src.buf, name, known.buf);
    }
    const char *cluster = NULL, *user = NULL, *ns = NULL;
    struct strbuf where = STRBUF_INIT;
    if (rc == KUBE_OK) {
        strbuf_addf(&where, "%s: contexts[\"%s\"]", ctx->file->source, name);
        if ((rc = get_str(ctx->body, "cluster", &cluster, where.buf, err)) != KUBE_OK ||
            (rc = get_str(ctx->body, "user", &user, where.buf, err)) != KUBE_OK ||
            (rc = get_str(ctx->body, "namespace", &ns, where.buf, err)) != KUBE_OK)
            ;
        else if (!cluster || !*cluster)
            rc = kube_error_set(err, KUBE_E_CONFIG, "%s: cluster: missing", where.buf);
    }
    const struct kc_entry *ce = rc == KUBE_OK ? find_entry(&m->clusters, cluster) : NULL;
    const struct kc_entry *ue = rc == KUBE_OK && user && *user ? find_entry(&m->users, user) : NULL;
    if (rc == KUBE_OK && !ce)
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: cluster \"%s\" not found", where.buf, cluster);
    else if (rc == KUBE_OK && user && *user && !ue)
        rc = kube_error_set(err, KUBE_E_CONFIG, "%s: user \"%s\" not found", where.buf, user);
    if (rc == KUBE_OK) {
        cfg->source = ew_strdup(ctx->file->source);
        cfg->context_name = ew_strdup(name);
        cfg->namespace_ = ns && *ns ? ew_strdup(ns) : NULL;
        rc = resolve_cluster(ce, cfg, err);
    }
    if (rc == KUBE_OK && ue)
        rc = resolve_user(ue, cfg, err);
    strbuf_release(&where);
    strbuf_release(&src);
    strbuf_release(&known);
    return rc;
}

static kube_code finish(struct kc_merged *m, const char *context, struct kube_rest_config *out,
                        struct kube_error *err)
{
    memset(out, 0, sizeof(*out));
    kube_code rc = resolve(m, context, out, err);
    if (rc != KUBE_OK)
        kube_rest_config_free(out);
    files_release(m);
    return rc;
}

kube_code kube_config_load(const struct kube_config_options *opts, struct kube_rest_config *out,
                           struct kube_error *err)
{
    struct kc_merged m;
    int added;
    kube_code rc;
    memset(&m, 0, sizeof(m));
    memset(out, 0, sizeof(*out));
    if (opts->explicit_path && *opts->explicit_path) {
        rc = add_file(&m, opts->explicit_path, 0, &added, err);
    } else if (opts->kubeconfig_env && *opts->kubeconfig_env) {
        rc = add_env_list(&m, opts->kubeconfig_env, err);
    } else if (opts->home && *opts->home) {
        struct strbuf p = STRBUF_INIT;
        strbuf_addf(&p, "%s/.kube/config", opts->home);
        rc = add_file(&m, p.buf, 0, &added, err);
        strbuf_release(&p);
    } else {
        rc = kube_error_set(err, KUBE_E_CONFIG,
                            "no kubeconfig: pass --kubeconfig, set KUBECONFIG or HOME");
    }
    if (rc != KUBE_OK) {
        files_release(&m);
        return rc;
    }
    return finish(&m, opts->context, out, err);
}

kube_code kube_config_from_memory(const char *data, size_t len, const char *source,
                                  const char *base_dir, const char *context,
                                  struct kube_rest_config *out, struct kube_error *err)
{
    struct kc_merged m;
    memset(&m, 0, sizeof(m));
    memset(out, 0, sizeof(*out));
    kube_code rc = add_document(&m, data, len, source ? source : "kubeconfig", base_dir, err);
    if (rc != KUBE_OK) {
        files_release(&m);
        return rc;
    }
    return finish(&m, context, out, err);
}

kube_code kube_config_from_untrusted(const char *data, size_t len, const char *source,
                                     unsigned allow, const char *context,
                                     struct kube_rest_config *out, struct kube_error *err)
{
    struct kc_merged m;
    memset(&m, 0, sizeof(m));
    memset(out, 0, sizeof(*out));
    kube_code rc = add_document(&m, data, len, source ? source : "kubeconfig", NULL, err);
    if (rc != KUBE_OK) {
        files_release(&m);
        return rc;
    }
    m.files[0].untrusted = 1;
    m.files[0].allow = allow;
    return finish(&m, context, out, err);
}
