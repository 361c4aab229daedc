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
 * Lease -> when leading, start the controllers -> on SIGTERM/SIGINT stop taking
 * work, give in-flight reconciles --shutdown-grace seconds, release the Lease
 * (a standby takes over at once), exit 0. Losing the Lease exits 1 at once, so
 * two replicas can never write together.
 *
 * The reconcilers live in lib/mesh: the MeshNetwork controller
 * (lib/mesh/meshnetwork.h) starts its home-cluster watches at once, so a
 * standby replica has warm caches, and reconciles only while leading.
 */
#include "options.h"
#include "kube/client.h"
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
    struct mesh_network_controller *meshnets;
    struct mesh_ccs_controller *services;
    pthread_mutex_t mu;
    int leading;
    int lost;
};

static kube_code load_home_config(const struct operator_options *o, struct kube_rest_config *cfg,
                                  struct kube_error *err)
{
    const char *env = getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (!o->kubeconfig && (!env || !*env) && host && *host)
        return kube_config_in_cluster(getenv("EASTWEST_SERVICEACCOUNT_DIR"), host,
                                      getenv("KUBERNETES_SERVICE_PORT"), cfg, err);
    struct kube_config_options co = {o->kubeconfig, o->context, env, getenv("HOME")};
    return kube_config_load(&co, cfg, err);
}

static int ready(void *ud, struct strbuf *why)
{
    struct operator_state *st = ud;
    int ok = 1;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ncontrollers; i++) {
        if (!rt_controller_synced(st->controllers[i])) {
            strbuf_adds(why, "caches are syncing");
            ok = 0;
            break;
        }
    }
    pthread_mutex_unlock(&st->mu);
    return ok;
}

/* Build and start the controllers (lib/mesh registers them here). */
static void start_controllers(struct operator_state *st)
{
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ncontrollers; i++)
        rt_controller_run(st->controllers[i]);
    pthread_mutex_unlock(&st->mu);
    char n[16];
    snprintf(n, sizeof(n), "%zu", st->ncontrollers);
    ew_log(&st->log, EW_LOG_INFO, "controllers started", "count", n, NULL);
}

static void on_started_leading(void *ud)
{
    struct operator_state *st = ud;
    pthread_mutex_lock(&st->mu);
    st->leading = 1;
    pthread_mutex_unlock(&st->mu);
    rt_metric_set(st->m_leader, NULL, 1);
    start_controllers(st);
}

static void on_stopped_leading(void *ud)
{
    struct operator_state *st = ud;
    pthread_mutex_lock(&st->mu);
    st->lost = 1;
    pthread_mutex_unlock(&st->mu);
    rt_metric_set(st->m_leader, NULL, 0);
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

static void shutdown_all(struct operator_state *st)
{
    pthread_mutex_lock(&st->mu);
    size_t n = st->ncontrollers;
    pthread_mutex_unlock(&st->mu);
    for (size_t i = 0; i < n; i++)
        rt_controller_stop(st->controllers[i], st->opts.shutdown_grace);
    mesh_ccs_controller_free(st->services);     /* before the member clients go */
    mesh_network_controller_free(st->meshnets); /* each frees its runtime controller */
    rt_recorder_free(st->events);
}

/* Build the controllers; their home-cluster watches start now, their workers when
 * this replica leads. */
static void make_controllers(struct operator_state *st, const struct kube_rest_config *cfg,
                             const char *identity)
{
    struct rt_recorder_options ro = {
        st->home, "eastwest.io/eastwest-operator", identity, &st->log, 0, 0};
    st->events = rt_recorder_new(&ro);
    struct mesh_network_controller_options mo = {st->home,    cfg,      st->namespace_,  st->events,
                                                 st->metrics, &st->log, st->opts.workers};
    st->meshnets = mesh_network_controller_new(&mo);
    st->controllers[st->ncontrollers++] = mesh_network_controller_runtime(st->meshnets);
    struct mesh_ccs_controller_options so = {st->home,    st->meshnets, st->events,
                                             st->metrics, &st->log,     st->opts.workers};
    st->services = mesh_ccs_controller_new(&so);
    st->controllers[st->ncontrollers++] = mesh_ccs_controller_runtime(st->services);
}

static int run(struct operator_state *st, const struct kube_rest_config *cfg, sigset_t *signals)
{
    char identity[192];
    make_identity(identity, sizeof(identity));
    make_controllers(st, cfg, identity);
    struct rt_http_options ho = {
        st->opts.bind_host, st->opts.bind_port, st->metrics, ready, st, &st->log};
    struct rt_http *http = rt_http_start(&ho);
    if (!http)
        return 1;
    struct rt_leader *leader = NULL;
    if (st->opts.leader_elect) {
        struct rt_leader_options lo = {
            st->home, st->namespace_,     st->opts.leader_election_id, identity, 0,       0,
            0,        on_started_leading, on_stopped_leading,          st,       &st->log};
        leader = rt_leader_start(&lo);
    } else {
        on_started_leading(st);
    }
    int sig = 0;
    sigwait(signals, &sig);
    pthread_mutex_lock(&st->mu);
    int lost = st->lost;
    pthread_mutex_unlock(&st->mu);
    ew_log(&st->log, lost ? EW_LOG_ERROR : EW_LOG_INFO,
           lost ? "leadership lost: exiting" : "shutting down", "signal",
           sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    if (lost)
        _exit(1); /* no further write may happen from this process */
    shutdown_all(st);
    rt_leader_release(leader);
    rt_http_stop(http);
    return 0;
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
    struct kube_client_options co = {0};
    co.log = &st.log;
    co.name = "home";
    if (kube_client_new(&cfg, &co, &st.home, &err) != KUBE_OK) {
        ew_log(&st.log, EW_LOG_ERROR, "cannot create the home cluster client", "error", err.message,
               NULL);
        return 1;
    }
    ew_log(&st.log, EW_LOG_INFO, "starting", "server", cfg.server, "namespace", st.namespace_,
           "leader-elect", st.opts.leader_elect ? "true" : "false", NULL);
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
