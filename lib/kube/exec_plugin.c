/*
 * exec_plugin.c: client.authentication.k8s.io ExecCredential plugins.
 *
 * The plugin is started with posix_spawnp: its arguments go straight to execve,
 * never through a shell, so nothing in a kubeconfig is ever shell-interpreted.
 * Its environment is ours plus the kubeconfig's env entries plus
 * KUBERNETES_EXEC_INFO, an ExecCredential of the configured apiVersion with
 * spec.interactive=false (an operator has no terminal; stdin is /dev/null) and,
 * with provideClusterInfo, spec.cluster {server, certificate-authority-data,
 * tls-server-name, insecure-skip-tls-verify}. stdout must be an ExecCredential
 * of the same apiVersion whose status holds a token and/or
 * clientCertificateData + clientKeyData (PEM), and optionally
 * expirationTimestamp (RFC 3339). The plugin gets EXEC_TIMEOUT seconds.
 *
 * Errors name the command and say what went wrong; stderr's first line is
 * included (plugins print their failure there), stdout never is (it carries
 * the credential).
 */
#include "internal.h"
#include "../base/base64.h"
#include "../base/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EXEC_TIMEOUT    60.0
#define EXEC_OUTPUT_MAX (1024 * 1024)

void kube_exec_result_release(struct kube_exec_result *r)
{
    if (r->token) {
        OPENSSL_cleanse(r->token, strlen(r->token));
        free(r->token);
    }
    if (r->key.data) {
        OPENSSL_cleanse(r->key.data, r->key.len);
        free(r->key.data);
    }
    free(r->cert.data);
    memset(r, 0, sizeof(*r));
}

static char *build_exec_info(const struct kube_exec_config *ec, const struct kube_rest_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "apiVersion", ec->api_version);
    cJSON_AddStringToObject(root, "kind", "ExecCredential");
    cJSON *spec = cJSON_AddObjectToObject(root, "spec");
    cJSON_AddBoolToObject(spec, "interactive", 0);
    if (ec->provide_cluster_info) {
        cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
        cJSON_AddStringToObject(cl, "server", cfg->server);
        if (cfg->tls_server_name)
            cJSON_AddStringToObject(cl, "tls-server-name", cfg->tls_server_name);
        if (cfg->insecure_skip_tls_verify)
            cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", 1);
        if (cfg->ca.len) {
            struct strbuf b64 = STRBUF_INIT;
            base64_encode(&b64, cfg->ca.data, cfg->ca.len);
            cJSON_AddStringToObject(cl, "certificate-authority-data", b64.buf);
            strbuf_release(&b64);
        }
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        ew_oom(0);
    return s;
}

/* environ + kubeconfig env (overriding same names) + KUBERNETES_EXEC_INFO. */
static char **build_env(const struct kube_exec_config *ec, const char *info)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = ew_calloc(n + ec->nenv + 2, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int overridden = strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) == 0;
        for (size_t j = 0; j < ec->nenv && !overridden; j++) {
            size_t l = strlen(ec->env[j].name);
            overridden = strncmp(environ[i], ec->env[j].name, l) == 0 && environ[i][l] == '=';
        }
        if (!overridden)
            env[k++] = ew_strdup(environ[i]);
    }
    for (size_t j = 0; j < ec->nenv; j++) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s=%s", ec->env[j].name, ec->env[j].value ? ec->env[j].value : "");
        env[k++] = strbuf_detach(&sb, NULL);
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "KUBERNETES_EXEC_INFO=%s", info);
    env[k++] = strbuf_detach(&sb, NULL);
    return env;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Read stdout and stderr until both close or the deadline passes. */
static int collect_output(int out_fd, int err_fd, struct strbuf *out, struct strbuf *errout)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    double deadline = ew_now_mono() + EXEC_TIMEOUT;
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
        double left = deadline - ew_now_mono();
        if (left <= 0)
            return -1;
        int pr = poll(fds, 2, (int)(left * 1000) + 1);
        if (pr < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            struct strbuf *dst = i == 0 ? out : errout;
            if (dst->len < EXEC_OUTPUT_MAX)
                strbuf_add(dst, buf, (size_t)n);
        }
    }
    return 0;
}

static void first_line(struct strbuf *sb)
{
    char *nl = memchr(sb->buf, '\n', sb->len);
    if (nl)
        sb->len = (size_t)(nl - sb->buf);
    if (sb->len > 300)
        sb->len = 300;
    sb->buf[sb->len] = '\0';
}

static kube_code spawn_plugin(const struct kube_exec_config *ec, char **env, pid_t *pid,
                              int *out_fd, int *err_fd, struct kube_error *err)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: pipe: %s", ec->command,
                              strerror(errno));
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: pipe: %s", ec->command,
                              strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    char **argv = ew_calloc(ec->nargs + 2, sizeof(char *));
    argv[0] = ec->command;
    for (size_t i = 0; i < ec->nargs; i++)
        argv[i + 1] = ec->args[i];
    int rc = posix_spawnp(pid, ec->command, &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: cannot start: %s%s%s", ec->command,
                              strerror(rc), ec->install_hint ? ". " : "",
                              ec->install_hint ? ec->install_hint : "");
    }
    *out_fd = po[0];
    *err_fd = pe[0];
    return KUBE_OK;
}

static kube_code get_pem(const cJSON *status, const char *field, struct kube_blob *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(status, field);
    if (!cJSON_IsString(v) || !*v->valuestring)
        return KUBE_OK;
    out->len = strlen(v->valuestring);
    out->data = (unsigned char *)ew_strdup(v->valuestring);
    return KUBE_OK;
}

kube_code kube_exec_parse_credential(const struct kube_exec_config *ec, const char *json,
                                     size_t len, struct kube_exec_result *out,
                                     struct kube_error *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_ParseWithLength(json, len);
    kube_code rc = KUBE_OK;
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(root, "apiVersion");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!root || !cJSON_IsObject(root)) {
        rc = kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: output is not a JSON object",
                            ec->command);
    } else if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential") != 0) {
        rc = kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: output kind is not ExecCredential",
                            ec->command);
    } else if (!cJSON_IsString(av) || strcmp(av->valuestring, ec->api_version) != 0) {
        rc = kube_error_set(err, KUBE_E_EXEC,
                            "exec plugin %s: output apiVersion %s%s%s does not match the "
                            "configured %s",
                            ec->command, cJSON_IsString(av) ? "\"" : "",
                            cJSON_IsString(av) ? av->valuestring : "(missing)",
                            cJSON_IsString(av) ? "\"" : "", ec->api_version);
    } else if (!cJSON_IsObject(status)) {
        rc = kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: output has no status", ec->command);
    }
    if (rc == KUBE_OK) {
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(status, "token");
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(status, "expirationTimestamp");
        if (cJSON_IsString(tok) && *tok->valuestring)
            out->token = ew_strdup(tok->valuestring);
        get_pem(status, "clientCertificateData", &out->cert);
        get_pem(status, "clientKeyData", &out->key);
        if (cJSON_IsString(exp) && ew_time_parse_rfc3339(exp->valuestring, &out->expires) != 0)
            rc = kube_error_set(err, KUBE_E_EXEC,
                                "exec plugin %s: status.expirationTimestamp is not RFC 3339",
                                ec->command);
        else if (!out->token && !(out->cert.len && out->key.len))
            rc = kube_error_set(err, KUBE_E_EXEC,
                                "exec plugin %s: status has neither token nor "
                                "clientCertificateData and clientKeyData",
                                ec->command);
        else if ((out->cert.len != 0) != (out->key.len != 0))
            rc = kube_error_set(err, KUBE_E_EXEC,
                                "exec plugin %s: status has only one of clientCertificateData "
                                "and clientKeyData",
                                ec->command);
    }
    cJSON_Delete(root);
    if (rc != KUBE_OK)
        kube_exec_result_release(out);
    return rc;
}

kube_code kube_exec_run(const struct kube_exec_config *ec, const struct kube_rest_config *cfg,
                        struct kube_exec_result *out, struct kube_error *err)
{
    char *info = build_exec_info(ec, cfg);
    char **env = build_env(ec, info);
    free(info);
    pid_t pid;
    int out_fd = -1, err_fd = -1;
    kube_code rc = spawn_plugin(ec, env, &pid, &out_fd, &err_fd, err);
    free_strv(env);
    if (rc != KUBE_OK)
        return rc;
    struct strbuf sout = STRBUF_INIT, serr = STRBUF_INIT;
    int timed_out = collect_output(out_fd, err_fd, &sout, &serr) != 0;
    close(out_fd);
    close(err_fd);
    if (timed_out)
        kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    first_line(&serr);
    if (timed_out) {
        rc = kube_error_set(err, KUBE_E_EXEC, "exec plugin %s: no answer within %.0f s, killed",
                            ec->command, EXEC_TIMEOUT);
    } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        rc = kube_error_set(err, KUBE_E_EXEC, "exec plugin %s exited with status %d%s%s%s%s",
                            ec->command, code, serr.len ? ": " : "", serr.buf,
                            code == 127 && ec->install_hint ? ". " : "",
                            code == 127 && ec->install_hint ? ec->install_hint : "");
    } else {
        rc = kube_exec_parse_credential(ec, sout.buf, sout.len, out, err);
    }
    OPENSSL_cleanse(sout.buf, sout.len);
    strbuf_release(&sout);
    strbuf_release(&serr);
    return rc;
}
