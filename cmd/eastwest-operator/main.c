/*
 * eastwest-operator: the process. Flags, logging, the home cluster client,
 * the metrics/health server, leader election, and an orderly shutdown.
 *
 * Concurrency model of the whole operator (why threads, and which):
 *   - one transport thread per cluster client (lib/kube/transport.c) drives
 *     every request and watch of that cluster over one curl multi handle;
 *   - one thread per reflector (lib/runtime/reflector.c) lists and re-watches;
 *     watch events are applied to its store on the transport thread;
 *   - a pool of worker threads per controller (lib/runtime/controller.c) runs
 *     reconciles: plain sequential code with blocking API calls, never two
 *     workers on one key (the work queue guarantees it);
 *   - the leader elector thread (lib/runtime/leader.c) and the HTTP server
 *     thread (lib/runtime/httpserver.c);
 *   - this main thread only waits for signals (sigwait), with SIGTERM/SIGINT
 *     blocked in every other thread.
 * Threads were chosen over one event loop because reconcilers read far better
 * as sequential code, while the many long-lived watches are still multiplexed
 * by curl on few connections.
 *
 * Lifecycle: start the server (/healthz, /readyz, /metrics) -> campaign for the
 * Lease -> when leading, start the controllers -> on SIGTERM/SIGINT shut down in
 * this order (issue #13; see shutdown_all):
 *   1. stop leading and taking work: no controller starts any more, no queued key
 *      is taken, /readyz answers 503 "shutting down" (the Lease is still renewed,
 *      so no successor writes while our reconciles may);
 *   2. in-flight reconciles get --shutdown-grace seconds, one deadline for all;
 *   3. stop the HTTP server (its /readyz reads the controllers);
 *   4. release the Lease (a standby takes over at once);
 *   5. free everything, exit 0.
 * So the process exits within the grace plus what steps 3-5 take. A reconcile
 * still running after the grace is not waited for: nothing it may use is freed and
 * the process leaves with _exit(0) (see exit_undrained). Losing the Lease exits 1
 * at once, during the shutdown too, so two replicas can never write together.
 *
 * The reconcilers live in lib/mesh: the MeshNetwork controller
 * (lib/mesh/meshnetwork.h) starts its home-cluster watches at once, so a
 * standby replica has warm caches, and reconciles only while leading.
 */
#include "options.h"
#include "base/timeutil.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "mesh/ccs.h"
#include "mesh/meshnetwork.h"
#include "runtime/controller.h"
#include "runtime/httpserver.h"
#include "runtime/kube_metrics.h"
#include "runtime/leader.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONTROLLERS 8

struct operator_state {
    struct operator_options opts;
    struct ew_logger log;
    struct kube_client *home;
    const char *namespace_;
    struct rt_metrics *metrics;
    struct rt_metric *m_leader;
    struct rt_controller *controllers[MAX_CONTROLLERS];
    size_t ncontrollers;
    struct rt_recorder *events;
    struct rt_clusterset *clusters; /* the member clients, shared by both controllers */
    struct mesh_network_controller *meshnets;
    struct mesh_ccs_controller *services;
    pthread_mutex_t mu; /* guards the four flags below */
    int leading;
    int lost;
    int stopping; /* the shutdown began: no controller starts any more */
    int failed;   /* a controller could not start: the exit status is 1 */
};

static kube_code load_home_config(const struct operator_options *o, struct kube_rest_config *cfg,
                                  struct kube_error *err)
{
    const char *env = getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (!o->kubeconfig && (!env || !*env) && host && *host)
        return kube_config_in_cluster(getenv("EASTWEST_SERVICEACCOUNT_DIR"), host,
                                      getenv("KUBERNETES_SERVICE_PORT"), cfg, err);
    const struct kube_config_options co = {
        .explicit_path = o->kubeconfig,
        .context = o->context,
        .kubeconfig_env = env,
        .home = getenv("HOME"),
    };
    return kube_config_load(&co, cfg, err);
}

static int ready(void *ud, struct strbuf *why)
{
    struct operator_state *st = ud;
    int ok = 1;
    pthread_mutex_lock(&st->mu);
    if (st->stopping) {
        strbuf_adds(why, "shutting down");
        ok = 0;
    }
    for (size_t i = 0; ok && i < st->ncontrollers; i++) {
        if (!rt_controller_synced(st->controllers[i])) {
            strbuf_adds(why, "caches are syncing");
            ok = 0;
        }
    }
    pthread_mutex_unlock(&st->mu);
    return ok;
}

/* Start the controllers' workers. Must hold st->mu. Returns 0 or -1 (logged). */
static int start_controllers(struct operator_state *st)
{
    int rc = 0;
    for (size_t i = 0; i < st->ncontrollers; i++)
        if (rt_controller_run(st->controllers[i]) != 0)
            rc = -1;
    return rc;
}

/* On the elector thread (or main, without leader election). Under st->mu, so that
 * after stop_taking_work no controller starts: the shutdown waits only for the
 * workers that exist when it begins. A controller that cannot start makes the
 * process shut down in order (the Lease is released) and exit 1. */
static void on_started_leading(void *ud)
{
    struct operator_state *st = ud;
    pthread_mutex_lock(&st->mu);
    int stopping = st->stopping;
    int rc = 0;
    if (!stopping) {
        st->leading = 1;
        rc = start_controllers(st);
        st->failed |= rc != 0;
    }
    pthread_mutex_unlock(&st->mu);
    if (stopping)
        return;
    rt_metric_set(st->m_leader, NULL, 1);
    if (rc != 0) {
        ew_log(&st->log, EW_LOG_ERROR, "cannot start the controllers: shutting down", NULL);
        kill(getpid(), SIGTERM); /* main's sigwait */
        return;
    }
    char n[16];
    snprintf(n, sizeof(n), "%zu", st->ncontrollers);
    ew_log(&st->log, EW_LOG_INFO, "controllers started", "count", n, NULL);
}

static _Noreturn void exit_lost(struct operator_state *st)
{
    ew_log(&st->log, EW_LOG_ERROR, "leadership lost: exiting", NULL);
    _exit(1); /* no further write may happen from this process */
}

/* Main waits in sigwait until the shutdown begins, so then this thread exits itself;
 * st->mu orders it with stop_taking_work, so one of the two always sees the loss. */
static void on_stopped_leading(void *ud)
{
    struct operator_state *st = ud;
    pthread_mutex_lock(&st->mu);
    st->lost = 1;
    int stopping = st->stopping;
    pthread_mutex_unlock(&st->mu);
    rt_metric_set(st->m_leader, NULL, 0);
    if (stopping)
        exit_lost(st);       /* reconciles may still be running */
    kill(getpid(), SIGTERM); /* wake main; it exits 1 without touching anything */
}

static void make_identity(char *buf, size_t size)
{
    char host[128] = "unknown";
    gethostname(host, sizeof(host) - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, size, "%s_%x%04x", host, (unsigned)getpid(),
             (unsigned)(ts.tv_nsec / 1000) & 0xffff);
}

/* Step 1 of the shutdown: no controller starts after this, and no queued key is
 * taken. Returns 0, doing nothing, when the Lease was lost. */
static int stop_taking_work(struct operator_state *st)
{
    pthread_mutex_lock(&st->mu);
    int lost = st->lost;
    if (!lost) {
        st->stopping = 1;
        for (size_t i = 0; i < st->ncontrollers; i++)
            rt_controller_shutdown(st->controllers[i]);
    }
    pthread_mutex_unlock(&st->mu);
    return !lost;
}

/* Steps 2-5 (see the top of the file), after stop_taking_work. The HTTP server is
 * stopped before anything is freed since /readyz reads the controllers, and the
 * elector is released before anything is freed since on_started_leading touches
 * them. Returns 0 when reconciles outlived the grace: then nothing was freed. */
static int shutdown_all(struct operator_state *st, struct rt_http *http, struct rt_leader *leader)
{
    double deadline = ew_now_mono() + st->opts.shutdown_grace;
    int drained = 1;
    for (size_t i = 0; i < st->ncontrollers; i++)
        drained &= rt_controller_wait(st->controllers[i], deadline);
    rt_http_stop(http);
    rt_leader_release(leader);
    if (!drained)
        return 0;
    for (size_t i = 0; i < st->ncontrollers; i++)
        rt_controller_stop(st->controllers[i], 0); /* their watches: the workers are gone */
    mesh_ccs_controller_free(st->services);        /* before the member clients go */
    mesh_network_controller_free(st->meshnets);    /* each frees its runtime controller */
    rt_clusterset_free(st->clusters);              /* no controller holds a member now */
    rt_recorder_free(st->events);
    return 1;
}

/* A reconcile outlived the grace. It may still use the controllers, their caches,
 * the home and member clients, the metrics and the logger, so none of them is freed
 * (the server is stopped and the Lease released already). exit() would run the
 * atexit handlers (OpenSSL's cleanup, the leak checker) under that thread, so the
 * process leaves with _exit; the status is the one of an orderly stop. */
static _Noreturn void exit_undrained(struct operator_state *st, int status)
{
    ew_log(&st->log, EW_LOG_WARN,
           "reconciles still running after the grace period: exiting without them", NULL);
    fflush(NULL);
    _exit(status);
}

/* Build the controllers; their home-cluster watches start now, their workers when
 * this replica leads. */
static void make_controllers(struct operator_state *st, const struct kube_rest_config *cfg,
                             const char *identity)
{
    const struct rt_recorder_options ro = {
        .client = st->home,
        .controller = "eastwest.io/eastwest-operator",
        .instance = identity,
        .log = &st->log,
    };
    st->events = rt_recorder_new(&ro);
    const struct rt_clusterset_options co = {.log = &st->log, .metrics = st->metrics};
    st->clusters = rt_clusterset_new(&co);
    const struct mesh_network_controller_options mo = {
        .home = st->home,
        .home_cfg = cfg,
        .member_kubeconfig_allow = (st->opts.allow_member_files ? KUBE_CONFIG_ALLOW_FILES : 0u) |
                                   (st->opts.allow_member_exec ? KUBE_CONFIG_ALLOW_EXEC : 0u),
        .namespace_ = st->namespace_,
        .clusters = st->clusters,
        .events = st->events,
        .metrics = st->metrics,
        .log = &st->log,
        .workers = st->opts.workers,
    };
    st->meshnets = mesh_network_controller_new(&mo);
    st->controllers[st->ncontrollers++] = mesh_network_controller_runtime(st->meshnets);
    const struct mesh_ccs_controller_options so = {
        .home = st->home,
        .clusters = st->clusters,
        .events = st->events,
        .metrics = st->metrics,
        .log = &st->log,
        .workers = st->opts.workers,
    };
    st->services = mesh_ccs_controller_new(&so);
    st->controllers[st->ncontrollers++] = mesh_ccs_controller_runtime(st->services);
}

/* Campaign for the Lease, or lead at once without leader election. Returns 0, or -1
 * (logged) when the elector cannot start. */
static int campaign(struct operator_state *st, const char *identity, struct rt_leader **leader)
{
    if (!st->opts.leader_elect) {
        on_started_leading(st);
        return 0;
    }
    struct rt_leader_options lo = {.client = st->home,
                                   .namespace_ = st->namespace_,
                                   .name = st->opts.leader_election_id,
                                   .identity = identity,
                                   .on_started = on_started_leading,
                                   .on_stopped = on_stopped_leading,
                                   .ud = st,
                                   .log = &st->log};
    *leader = rt_leader_start(&lo);
    return *leader ? 0 : -1;
}

/* Until SIGTERM/SIGINT (or a controller that could not start), then step 1. */
static void wait_for_signal(struct operator_state *st, sigset_t *signals)
{
    int sig = 0;
    sigwait(signals, &sig);
    if (!stop_taking_work(st))
        exit_lost(st);
    char grace[32];
    snprintf(grace, sizeof(grace), "%g", st->opts.shutdown_grace);
    ew_log(&st->log, EW_LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM",
           "grace-seconds", grace, NULL);
}

static int run(struct operator_state *st, const struct kube_rest_config *cfg, sigset_t *signals)
{
    char identity[192];
    make_identity(identity, sizeof(identity));
    make_controllers(st, cfg, identity);
    struct rt_http_options ho = {.bind_address = st->opts.bind_host,
                                 .port = st->opts.bind_port,
                                 .metrics = st->metrics,
                                 .ready = ready,
                                 .ud = st,
                                 .log = &st->log};
    struct rt_http *http = rt_http_start(&ho);
    struct rt_leader *leader = NULL;
    int started = http && campaign(st, identity, &leader) == 0;
    if (started)
        wait_for_signal(st, signals);
    else
        stop_taking_work(st);                    /* nothing ran: the shutdown only frees */
    int status = started && !st->failed ? 0 : 1; /* final after stop_taking_work */
    if (!shutdown_all(st, http, leader))
        exit_undrained(st, status);
    return status;
}

/* glibc gives each thread that allocates its own arena (up to 8 per core). The
 * operator's threads (transports, reflectors, workers) each parse and free large list
 * bodies, and the arenas kept the freed pages: resident memory after a start-up with
 * 1,000 CrossClusterServices was 94 MiB with the default and 57 MiB with two arenas, at
 * the same convergence time (test/bench, docs/benchmarks.md). MALLOC_ARENA_MAX in the
 * environment still wins. */
static void limit_malloc_arenas(void)
{
#ifdef M_ARENA_MAX
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);
#endif
}

int main(int argc, char **argv)
{
    limit_malloc_arenas();
    struct operator_state st;
    memset(&st, 0, sizeof(st));
    int prc = operator_options_parse(&st.opts, argc, argv);
    if (prc)
        return prc == 1 ? 0 : prc;
    ew_logger_init(&st.log, stderr, st.opts.log_level, st.opts.log_format);
    pthread_mutex_init(&st.mu, NULL);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    kube_global_init();

    struct kube_rest_config cfg;
    struct kube_error err = KUBE_ERROR_INIT;
    if (load_home_config(&st.opts, &cfg, &err) != KUBE_OK) {
        ew_log(&st.log, EW_LOG_ERROR, "cannot load the home cluster configuration", "error",
               err.message, NULL);
        return 1;
    }
    st.namespace_ = st.opts.namespace_ ? st.opts.namespace_
                                       : (cfg.namespace_ ? cfg.namespace_ : "eastwest-system");
    const struct kube_client_options co = {.log = &st.log, .name = "home"};
    if (kube_client_new(&cfg, &co, &st.home, &err) != KUBE_OK) {
        ew_log(&st.log, EW_LOG_ERROR, "cannot create the home cluster client", "error", err.message,
               NULL);
        return 1;
    }
    char *shown = kube_url_redacted(cfg.server);
    ew_log(&st.log, EW_LOG_INFO, "starting", "server", shown, "namespace", st.namespace_,
           "leader-elect", st.opts.leader_elect ? "true" : "false", NULL);
    free(shown);
    st.metrics = rt_metrics_new();
    st.m_leader =
        rt_metrics_register(st.metrics, RT_GAUGE, "eastwest_leader",
                            "1 while this replica holds the leader Lease.", NULL, NULL, 0);
    rt_metric_set(st.m_leader, NULL, 0);
    struct rt_kube_metrics *km = rt_kube_metrics_add(st.metrics, st.home, "home");
    int rc = run(&st, &cfg, &signals);
    rt_kube_metrics_remove(km);
    rt_metrics_free(st.metrics);
    kube_client_free(st.home);
    kube_rest_config_free(&cfg);
    kube_error_clear(&err);
    kube_global_cleanup();
    ew_log(&st.log, EW_LOG_INFO, "stopped", NULL);
    ew_logger_destroy(&st.log);
    return rc;
}
