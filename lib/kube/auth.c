/*
 * auth.c: where a request's credentials come from.
 *
 * One struct kube_auth per connection config. Sources, from the kubeconfig:
 *  - a static bearer token;
 *  - a token file, re-read when its mtime or size changes and at least every
 *    minute (bound service-account tokens rotate on disk), and on 401;
 *  - an exec plugin, whose ExecCredential is cached until its
 *    expirationTimestamp (less a small margin) and re-run on 401;
 *  - a client certificate and key (from the kubeconfig, or from the plugin).
 * Each fetched credential carries a generation number; a 401 invalidates only
 * the generation that failed, so concurrent requests do not re-run a plugin
 * once each.
 *
 * The exec plugin runs without the lock (it may take up to 60 s): one run at a
 * time (exec_running), and while it runs every other request of the member goes on
 * with the credential it replaces if that has not expired yet (a refresh starts
 * EXEC_EXPIRY_MARGIN before the expiry), else waits on exec_done for the run's
 * outcome, never on the lock. Waiters take the run's outcome, its error too: a
 * failing plugin runs once per burst of requests, not once per request.
 *
 * Secrets are copied into the request and wiped with OPENSSL_cleanse when
 * released; nothing here logs them.
 */
#include "internal.h"
#include "../base/fileutil.h"
#include "../base/timeutil.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOKEN_FILE_MAX_AGE   60.0 /* seconds */
#define EXEC_EXPIRY_MARGIN   10   /* seconds before expirationTimestamp */
#define TOKEN_FILE_MAX_BYTES (64 * 1024)
#define EXEC_RETRY_AFTER     5 /* seconds between failed refreshes while the credential holds */

struct kube_auth {
    pthread_mutex_t mu;
    pthread_cond_t exec_done; /* broadcast when a plugin run ends */
    struct ew_logger *log;
    struct kube_rest_config cfg; /* deep copy: token, token_file, exec, cert/key */
    unsigned long generation;
    /* token file cache */
    char *file_token;
    double file_read_at;
    struct timespec file_mtime;
    off_t file_size;
    /* exec cache */
    int have_exec;
    struct kube_exec_result exec;
    int exec_running;        /* a plugin run is under way (without mu) */
    unsigned long exec_runs; /* runs ended; a waiter sees its run end by this changing */
    kube_code exec_rc;       /* the last run's outcome, and its message (never a secret) */
    char *exec_msg;
    time_t exec_ended; /* when the last run ended */
};

static void secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

kube_code kube_auth_new(const struct kube_rest_config *cfg, struct ew_logger *log,
                        struct kube_auth **out, struct kube_error *err)
{
    struct kube_auth *a = ew_calloc(1, sizeof(*a));
    kube_code rc = kube_rest_config_copy(&a->cfg, cfg);
    if (rc != KUBE_OK) {
        free(a);
        return kube_error_set(err, rc, "copying client configuration failed");
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->exec_done, NULL);
    a->log = log;
    a->generation = 1;
    *out = a;
    return KUBE_OK;
}

void kube_auth_free(struct kube_auth *a)
{
    if (!a)
        return;
    secret_free(a->file_token);
    kube_exec_result_release(&a->exec);
    free(a->exec_msg);
    kube_rest_config_free(&a->cfg);
    pthread_cond_destroy(&a->exec_done);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void kube_creds_release(struct kube_creds *c)
{
    secret_free(c->bearer);
    c->bearer = NULL;
    kube_blob_release(&c->cert, 0);
    kube_blob_release(&c->key, 1);
}

/* Trim trailing whitespace (a token file usually ends with a newline). */
static char *trimmed_copy(const char *s, size_t len)
{
    while (len &&
           (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return ew_strndup(s, len);
}

static int file_changed(const struct kube_auth *a, const struct stat *st)
{
    return st->st_mtim.tv_sec != a->file_mtime.tv_sec ||
           st->st_mtim.tv_nsec != a->file_mtime.tv_nsec || st->st_size != a->file_size;
}

static kube_code refresh_token_file(struct kube_auth *a, struct kube_error *err)
{
    struct stat st;
    const char *path = a->cfg.token_file;
    if (stat(path, &st) != 0)
        return kube_error_set(err, KUBE_E_IO, "%s: tokenFile %s: %s", a->cfg.source, path,
                              strerror(errno));
    double now = ew_now_mono();
    if (a->file_token && !file_changed(a, &st) && now - a->file_read_at < TOKEN_FILE_MAX_AGE)
        return KUBE_OK;
    struct strbuf sb = STRBUF_INIT;
    if (ew_read_file(&sb, path, TOKEN_FILE_MAX_BYTES) != 0) {
        int e = errno;
        strbuf_release(&sb);
        return kube_error_set(err, KUBE_E_IO, "%s: tokenFile %s: %s", a->cfg.source, path,
                              strerror(e));
    }
    char *tok = trimmed_copy(sb.buf, sb.len);
    OPENSSL_cleanse(sb.buf, sb.len);
    strbuf_release(&sb);
    if (!*tok) {
        free(tok);
        return kube_error_set(err, KUBE_E_CONFIG, "%s: tokenFile %s is empty", a->cfg.source, path);
    }
    if (!a->file_token || strcmp(tok, a->file_token) != 0)
        a->generation++;
    secret_free(a->file_token);
    a->file_token = tok;
    a->file_read_at = now;
    a->file_mtime = st.st_mtim;
    a->file_size = st.st_size;
    return KUBE_OK;
}

/* The cached credential needs no refresh yet. */
static int exec_fresh(const struct kube_auth *a, time_t now)
{
    return a->have_exec && (a->exec.expires == 0 || a->exec.expires - EXEC_EXPIRY_MARGIN > now);
}

/* The cached credential may still be sent while a refresh runs: it has not expired. */
static int exec_usable(const struct kube_auth *a, time_t now)
{
    return a->have_exec && (a->exec.expires == 0 || a->exec.expires > now);
}

/* Run the plugin with mu released (held on entry and on return), then publish its
 * outcome to the waiters. */
static kube_code run_exec_unlocked(struct kube_auth *a, struct kube_error *err)
{
    a->exec_running = 1;
    pthread_mutex_unlock(&a->mu);
    struct kube_exec_result res = {0};
    kube_code rc = kube_exec_run(a->cfg.exec, &a->cfg, &res, err);
    pthread_mutex_lock(&a->mu);
    a->exec_running = 0;
    a->exec_runs++;
    a->exec_ended = time(NULL);
    a->exec_rc = rc;
    free(a->exec_msg);
    a->exec_msg = rc == KUBE_OK ? NULL : ew_strdup(err && err->message ? err->message : "");
    if (rc == KUBE_OK) {
        kube_exec_result_release(&a->exec);
        a->exec = res;
        a->have_exec = 1;
        a->generation++;
        ew_log(a->log, EW_LOG_DEBUG, "exec credential obtained", "source", a->cfg.source, "command",
               a->cfg.exec->command, NULL);
    }
    pthread_cond_broadcast(&a->exec_done);
    return rc;
}

/* With mu held: a credential to send (a->exec), from the cache, from another
 * thread's run, or from a run of our own. */
static kube_code refresh_exec(struct kube_auth *a, struct kube_error *err)
{
    for (;;) {
        time_t now = time(NULL);
        if (exec_fresh(a, now))
            return KUBE_OK;
        /* a refresh that failed a moment ago is not retried by every request */
        if (!a->exec_running && a->exec_rc != KUBE_OK && exec_usable(a, now) &&
            now - a->exec_ended < EXEC_RETRY_AFTER)
            return KUBE_OK;
        if (!a->exec_running) {
            kube_code rc = run_exec_unlocked(a, err);
            /* a failed refresh leaves a credential that has not expired usable */
            if (rc != KUBE_OK && exec_usable(a, time(NULL))) {
                ew_log(a->log, EW_LOG_WARN, "exec credential refresh failed; using the current one",
                       "source", a->cfg.source, "error", a->exec_msg, NULL);
                kube_error_clear(err);
                return KUBE_OK;
            }
            return rc;
        }
        if (exec_usable(a, now))
            return KUBE_OK;
        /* nothing to send: wait for the run under way (bounded by the plugin's timeout)
         * and take its outcome */
        unsigned long runs = a->exec_runs;
        while (a->exec_running && a->exec_runs == runs)
            pthread_cond_wait(&a->exec_done, &a->mu);
        if (exec_usable(a, time(NULL)))
            return KUBE_OK;
        if (a->exec_rc != KUBE_OK)
            return kube_error_set(err, a->exec_rc, "%s", a->exec_msg);
        /* it succeeded, and a 401 dropped its credential since: round again */
    }
}

static void fill_creds(struct kube_auth *a, struct kube_creds *out)
{
    out->generation = a->generation;
    if (a->cfg.exec && a->have_exec) {
        out->bearer = ew_strdup(a->exec.token);
        if (a->exec.cert.len) {
            kube_blob_copy(&out->cert, &a->exec.cert);
            kube_blob_copy(&out->key, &a->exec.key);
        }
    } else if (a->cfg.token_file) {
        out->bearer = ew_strdup(a->file_token);
    } else if (a->cfg.token) {
        out->bearer = ew_strdup(a->cfg.token);
    }
    if (!out->cert.len && a->cfg.client_cert.len) {
        kube_blob_copy(&out->cert, &a->cfg.client_cert);
        kube_blob_copy(&out->key, &a->cfg.client_key);
    }
}

kube_code kube_auth_get(struct kube_auth *a, struct kube_creds *out, struct kube_error *err)
{
    kube_code rc = KUBE_OK;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&a->mu);
    if (a->cfg.exec)
        rc = refresh_exec(a, err);
    else if (a->cfg.token_file)
        rc = refresh_token_file(a, err);
    if (rc == KUBE_OK)
        fill_creds(a, out);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int kube_auth_invalidate(struct kube_auth *a, unsigned long generation)
{
    int may_help = 0;
    pthread_mutex_lock(&a->mu);
    if (a->cfg.exec) {
        may_help = 1;
        if (a->generation == generation && a->have_exec) {
            kube_exec_result_release(&a->exec);
            a->have_exec = 0;
        }
    } else if (a->cfg.token_file) {
        may_help = 1;
        if (a->generation == generation)
            a->file_read_at = -1e9; /* force a re-read */
    }
    pthread_mutex_unlock(&a->mu);
    return may_help;
}
