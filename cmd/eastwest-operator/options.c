/*
 * options.c: flag parsing for eastwest-operator. Every flag has a default that
 * works in-cluster; a bad value is refused with a message naming the flag.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: eastwest-operator [flags]\n"
    "\n"
    "Joins Istio meshes across clusters: watches MeshNetwork and CrossClusterService\n"
    "resources in this (home) cluster and reconciles every member cluster.\n"
    "\n"
    "  --kubeconfig PATH              home cluster kubeconfig (default: $KUBECONFIG,\n"
    "                                 in-cluster service account, ~/.kube/config)\n"
    "  --context NAME                 kubeconfig context (default: current-context)\n"
    "  --namespace NS                 operator namespace: Lease, kubeconfig Secrets\n"
    "                                 (default: the pod's namespace, else eastwest-system)\n"
    "  --leader-elect=true|false      elect a leader with a Lease (default true)\n"
    "  --leader-election-id NAME      Lease name (default eastwest-operator)\n"
    "  --metrics-bind-address ADDR    /metrics, /healthz, /readyz (default :8080)\n"
    "  --log-format text|json         (default text)\n"
    "  --log-level debug|info|warn|error  (default info)\n"
    "  --shutdown-grace SECONDS       in-flight reconciles get this long (default 20)\n"
    "  --workers N                    reconciles at once per controller (default 4)\n"
    "  --allow-member-kubeconfig-files=true|false\n"
    "                                 a member's kubeconfig Secret may use tokenFile,\n"
    "                                 certificate-authority, client-certificate and\n"
    "                                 client-key: files of the operator's (default false)\n"
    "  --allow-member-exec=true|false a member's kubeconfig Secret may run an exec\n"
    "                                 credential plugin here (default false)\n"
    "  --help\n";

static int bad(const char *flag, const char *value, const char *what)
{
    fprintf(stderr, "eastwest-operator: --%s=%s: %s\n", flag, value, what);
    return 2;
}

static int parse_bool(const char *s, int *out)
{
    if (!s || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_address(const char *s, struct operator_options *o)
{
    static char host[256];
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon)
        return -1;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 0 || port > 65535 || end == colon + 1)
        return -1;
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    o->bind_host = hl ? host : NULL;
    o->bind_port = (int)port;
    return 0;
}

static int parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int apply(struct operator_options *o, const char *name, const char *arg)
{
    double v;
    if (strcmp(name, "kubeconfig") == 0)
        o->kubeconfig = arg;
    else if (strcmp(name, "context") == 0)
        o->context = arg;
    else if (strcmp(name, "namespace") == 0)
        o->namespace_ = arg;
    else if (strcmp(name, "leader-elect") == 0) {
        if (parse_bool(arg, &o->leader_elect) != 0)
            return bad(name, arg, "expected true or false");
    } else if (strcmp(name, "leader-election-id") == 0)
        o->leader_election_id = arg;
    else if (strcmp(name, "metrics-bind-address") == 0) {
        if (parse_address(arg, o) != 0)
            return bad(name, arg, "expected [HOST]:PORT, e.g. :8080 or 127.0.0.1:8080");
    } else if (strcmp(name, "log-format") == 0) {
        if (ew_log_format_parse(arg, &o->log_format) != 0)
            return bad(name, arg, "expected text or json");
    } else if (strcmp(name, "log-level") == 0) {
        if (ew_log_level_parse(arg, &o->log_level) != 0)
            return bad(name, arg, "expected debug, info, warn or error");
    } else if (strcmp(name, "shutdown-grace") == 0) {
        if (parse_number(arg, 0, 3600, &o->shutdown_grace) != 0)
            return bad(name, arg, "expected seconds between 0 and 3600");
    } else if (strcmp(name, "workers") == 0) {
        if (parse_number(arg, 1, 64, &v) != 0 || v != (int)v)
            return bad(name, arg, "expected a whole number from 1 to 64");
        o->workers = (int)v;
    } else if (strcmp(name, "allow-member-kubeconfig-files") == 0) {
        if (parse_bool(arg, &o->allow_member_files) != 0)
            return bad(name, arg, "expected true or false");
    } else if (strcmp(name, "allow-member-exec") == 0) {
        if (parse_bool(arg, &o->allow_member_exec) != 0)
            return bad(name, arg, "expected true or false");
    }
    return 0;
}

int operator_options_parse(struct operator_options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"kubeconfig", required_argument, NULL, 0},
        {"context", required_argument, NULL, 0},
        {"namespace", required_argument, NULL, 0},
        {"leader-elect", optional_argument, NULL, 0},
        {"leader-election-id", required_argument, NULL, 0},
        {"metrics-bind-address", required_argument, NULL, 0},
        {"log-format", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"shutdown-grace", required_argument, NULL, 0},
        {"workers", required_argument, NULL, 0},
        {"allow-member-kubeconfig-files", optional_argument, NULL, 0},
        {"allow-member-exec", optional_argument, NULL, 0},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->leader_elect = 1;
    o->leader_election_id = "eastwest-operator";
    o->bind_port = 8080;
    o->log_format = EW_LOG_TEXT;
    o->log_level = EW_LOG_INFO;
    o->shutdown_grace = 20;
    o->workers = 4;
    int idx, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 1;
        }
        if (c == '?') {
            fprintf(stderr, "eastwest-operator: unknown flag or missing value: %s\n%s",
                    argv[optind - 1], usage);
            return 2;
        }
        int rc = apply(o, longopts[idx].name, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "eastwest-operator: unexpected argument: %s\n", argv[optind]);
        return 2;
    }
    return 0;
}
