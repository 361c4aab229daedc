/*
 * log: structured logging, one line per event.
 *
 * A logger is created by main() from --log-format/--log-level and passed down
 * by pointer (no global logger). Every line carries a level, a message and
 * key/value pairs given as a NULL-terminated list of strings:
 *
 *   ew_log(lg, EW_LOG_INFO, "watch restarted", "cluster", "us",
 *          "resource", "configmaps", NULL);
 *
 * Text format:  2026-11-24T20:00:00.123Z INFO watch restarted cluster=us ...
 * JSON format:  {"ts":"...","level":"info","msg":"...","cluster":"us",...}
 *
 * Never pass a key, token or certificate as a value: callers log names and
 * reasons, not credentials. A NULL logger discards everything, so libraries
 * can be used without one. Lines are written whole under a mutex.
 */
#ifndef EW_LOG_H
#define EW_LOG_H

#include <pthread.h>
#include <stdio.h>

enum ew_log_level { EW_LOG_DEBUG = 0, EW_LOG_INFO, EW_LOG_WARN, EW_LOG_ERROR };
enum ew_log_format { EW_LOG_TEXT = 0, EW_LOG_JSON };

struct ew_logger {
    enum ew_log_level level;
    enum ew_log_format format;
    FILE *out;
    pthread_mutex_t mu;
};

void ew_logger_init(struct ew_logger *lg, FILE *out, enum ew_log_level level,
                    enum ew_log_format format);
void ew_logger_destroy(struct ew_logger *lg);
/* Parse "debug|info|warn|error" and "text|json"; return 0 on success, -1 if unknown. */
int ew_log_level_parse(const char *s, enum ew_log_level *out);
int ew_log_format_parse(const char *s, enum ew_log_format *out);

void ew_log(struct ew_logger *lg, enum ew_log_level level, const char *msg, ...)
    __attribute__((sentinel));

#endif
