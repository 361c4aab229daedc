/*
 * leader: leader election with a coordination.k8s.io/v1 Lease.
 *
 * client-go's algorithm, with its defaults: lease duration 15 s, renew
 * deadline 10 s, retry period 2 s. A candidate takes the Lease when it is
 * free (no holder) or when the holder has not renewed for a lease duration,
 * as observed on the candidate's own clock (clocks of different hosts are
 * never compared). The leader renews every retry period; if it cannot renew
 * within the renew deadline it has lost, and on_stopped is called (the
 * operator then exits, so no second writer can ever overlap). The deadline bounds
 * each attempt, as client-go's context does: a request's timeout and its retries
 * end at it (kube_request_by), and it counts from when the last successful
 * write of the Lease began, so a hung home connection loses the lease at the deadline,
 * lease duration minus renew deadline (5 s) before a standby may take it. Writes use the
 * Lease's resourceVersion, so two candidates cannot both win a race.
 * rt_leader_release hands the Lease over at once on a clean shutdown.
 */
#ifndef EW_RT_LEADER_H
#define EW_RT_LEADER_H

#include "kube/client.h"

struct rt_leader_options {
    struct kube_client *client;
    const char *namespace_;
    const char *name;             /* Lease name */
    const char *identity;         /* unique per process */
    double lease_duration;        /* 0 = 15 */
    double renew_deadline;        /* 0 = 10 */
    double retry_period;          /* 0 = 2 */
    void (*on_started)(void *ud); /* became leader (elector thread) */
    void (*on_stopped)(void *ud); /* lost the lease (elector thread) */
    void *ud;
    struct ew_logger *log;
};

struct rt_leader;

/* Returns NULL (and logs) when the elector thread cannot be started. */
struct rt_leader *rt_leader_start(const struct rt_leader_options *opts);
int rt_leader_is_leader(struct rt_leader *l);
/* Wait until leader or timeout; returns is_leader. */
int rt_leader_wait(struct rt_leader *l, double timeout);
/* Stop campaigning; if leading, give the Lease up (holder cleared) so a successor
 * takes it at once. Frees. */
void rt_leader_release(struct rt_leader *l);

#endif
