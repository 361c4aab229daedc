/*
 * timeutil: clocks and the RFC 3339 timestamps Kubernetes uses.
 */
#ifndef EW_TIMEUTIL_H
#define EW_TIMEUTIL_H

#include <time.h>

/* Monotonic seconds, for timeouts and backoff. */
double ew_now_mono(void);
/* Parse "2026-11-24T20:00:00Z" or with fractional seconds / numeric offset.
 * Returns 0 and sets *out (UTC seconds), or -1. */
int ew_time_parse_rfc3339(const char *s, time_t *out);
/* Format UTC seconds as "2026-11-24T20:00:00Z" into buf (at least 21 bytes). */
void ew_time_format_rfc3339(time_t t, char *buf, size_t size);
/* Format the current UTC time with microseconds ("2026-11-24T20:00:00.123456Z", the
 * Kubernetes MicroTime) into buf (at least 28 bytes). */
void ew_time_format_micro_now(char *buf, size_t size);
/* The CLOCK_MONOTONIC time `seconds` from now, for pthread_cond_timedwait on a condition
 * variable created with pthread_condattr_setclock(CLOCK_MONOTONIC). */
void ew_monotonic_deadline(struct timespec *ts, double seconds);
/* Sleep for a number of seconds (fractional). */
void ew_sleep(double seconds);

#endif
