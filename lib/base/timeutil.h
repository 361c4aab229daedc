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
/* Sleep for a number of seconds (fractional). */
void ew_sleep(double seconds);

#endif
