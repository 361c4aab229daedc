/*
 * options: the operator's command line.
 */
#ifndef EW_OPERATOR_OPTIONS_H
#define EW_OPERATOR_OPTIONS_H

#include "base/log.h"

struct operator_options {
    const char *kubeconfig;
    const char *context;
    const char *namespace_; /* where the Lease and kubeconfig Secrets live */
    int leader_elect;
    const char *leader_election_id; /* Lease name */
    const char *bind_host;          /* of the metrics/health server; NULL = all */
    int bind_port;
    enum ew_log_format log_format;
    enum ew_log_level log_level;
    double shutdown_grace;
    int workers;
    /* a member's kubeconfig Secret may use tokenFile and file references (default no) */
    int allow_member_files;
    int allow_member_exec; /* ... and exec credential plugins (default no) */
};

/* Parse argv. Returns 0, 1 when --help was printed, or 2 after printing an error that
 * names the flag. */
int operator_options_parse(struct operator_options *o, int argc, char **argv);

#endif
