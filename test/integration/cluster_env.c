/*
 * cluster_env.c: helpers for tests against the real clusters (see cluster_env.h).
 */
#include "cluster_env.h"
#include "kube/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ftw.h>
#include <unistd.h>

const char *cluster_dir(struct test_ctx *t, const char *name, char *buf, size_t size)
{
    const char *base = getenv("EW_CLUSTERS_DIR");
    struct stat st;
    snprintf(buf, size, "%s/%s", base ? base : "/tmp/eastwest-clusters", name);
    char kc[4096];
    snprintf(kc, sizeof(kc), "%s/kubeconfig", buf);
    /* a missing cluster is a failure, not a skip: a run without its clusters must not
     * pass (issue 30) */
    if (stat(kc, &st) != 0) {
        test_fail(t, __FILE__, __LINE__,
                  "test cluster %s not running: no %s (EW_CLUSTERS_DIR=%s; start it with: "
                  "bash hack/cluster.sh up)",
                  name, kc, base ? base : "unset, default /tmp/eastwest-clusters");
        test_abort(t);
    }
    return buf;
}

void cluster_admin_config(struct test_ctx *t, const char *name, struct kube_rest_config *cfg)
{
    char dir[4096], path[4200];
    cluster_dir(t, name, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/kubeconfig", dir);
    struct kube_config_options o = {path, NULL, NULL, NULL};
    struct kube_error err = KUBE_ERROR_INIT;
    memset(cfg, 0, sizeof(*cfg));
    kube_code rc = kube_config_load(&o, cfg, &err);
    REQUIREF(t, rc == KUBE_OK, "load %s: %s", path, err.message);
}

struct kube_client *cluster_admin(struct test_ctx *t, const char *name)
{
    struct kube_rest_config cfg;
    struct kube_client *c = NULL;
    struct kube_error err = KUBE_ERROR_INIT;
    cluster_admin_config(t, name, &cfg);
    struct kube_client_options o = {0};
    o.name = name;
    kube_code rc = kube_client_new(&cfg, &o, &c, &err);
    kube_rest_config_free(&cfg);
    REQUIREF(t, rc == KUBE_OK, "client for %s: %s", name, err.message);
    return c;
}

void cluster_make_namespace(struct test_ctx *t, struct kube_client *c, const char *prefix,
                            char *out, size_t size)
{
    struct kube_error err = KUBE_ERROR_INIT;
    snprintf(out, size, "%s-%lx-%x", prefix, (unsigned long)time(NULL) & 0xfffff,
             (unsigned)rand() & 0xffff);
    cJSON *ns = cJSON_CreateObject();
    cJSON_AddStringToObject(ns, "apiVersion", "v1");
    cJSON_AddStringToObject(ns, "kind", "Namespace");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", out);
    kube_code rc = kube_create(c, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL, &err);
    cJSON_Delete(ns);
    REQUIREF(t, rc == KUBE_OK, "create namespace %s: %s", out, err.message);
}

char *cluster_sa_token(struct test_ctx *t, struct kube_client *c, const char *ns, const char *name)
{
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *sa = cJSON_CreateObject();
    cJSON_AddStringToObject(sa, "apiVersion", "v1");
    cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(sa, "metadata"), "name", name);
    kube_code rc = kube_create(c, &KUBE_RES_SERVICEACCOUNTS, ns, sa, NULL, NULL, &err);
    cJSON_Delete(sa);
    REQUIREF(t, rc == KUBE_OK || rc == KUBE_E_ALREADY_EXISTS, "create sa: %s", err.message);
    kube_error_clear(&err);

    struct strbuf path = STRBUF_INIT;
    kube_resource_path(&path, &KUBE_RES_SERVICEACCOUNTS, ns, name, "token");
    const char *body = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
                       "\"spec\":{\"expirationSeconds\":3600}}";
    struct kube_request req = {"POST", path.buf, NULL, body, strlen(body), KUBE_VERB_CREATE};
    struct kube_response resp = {0, STRBUF_INIT};
    rc = kube_request(c, &req, &resp, &err);
    strbuf_release(&path);
    REQUIREF(t, rc == KUBE_OK, "token request: %s", err.message);
    cJSON *tr = cJSON_Parse(resp.body.buf);
    kube_response_release(&resp);
    const cJSON *tok = cJSON_GetObjectItem(cJSON_GetObjectItem(tr, "status"), "token");
    char *res = cJSON_IsString(tok) ? strdup(tok->valuestring) : NULL;
    cJSON_Delete(tr);
    REQUIRE(t, res != NULL);
    return res;
}

int cluster_cmd(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash %s/hack/cluster.sh %s >/dev/null 2>&1", TEST_SOURCE_ROOT,
             args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

char *cluster_whoami(struct kube_client *c, char **groups_json, struct kube_error *err)
{
    const char *path = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    const char *body = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":"
                       "\"SelfSubjectReview\"}";
    struct kube_request req = {"POST", path, NULL, body, strlen(body), KUBE_VERB_CREATE};
    struct kube_response resp = {0, STRBUF_INIT};
    if (kube_request(c, &req, &resp, err) != KUBE_OK)
        return NULL;
    cJSON *r = cJSON_Parse(resp.body.buf);
    kube_response_release(&resp);
    const cJSON *ui = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "status"), "userInfo");
    const cJSON *user = cJSON_GetObjectItem(ui, "username");
    char *res = cJSON_IsString(user) ? strdup(user->valuestring) : NULL;
    if (groups_json)
        *groups_json = cJSON_PrintUnformatted(cJSON_GetObjectItem(ui, "groups"));
    cJSON_Delete(r);
    return res;
}

void write_file(struct test_ctx *t, const char *path, const char *data)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    REQUIREF(t, f != NULL, "open %s", tmp);
    fputs(data, f);
    fclose(f);
    chmod(tmp, 0700);
    REQUIRE(t, rename(tmp, path) == 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
