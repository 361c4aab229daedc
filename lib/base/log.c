/*
 * log.c: text and JSON line writers for ew_log (see log.h).
 */
#include "log.h"
#include "strbuf.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *level_names[] = {"debug", "info", "warn", "error"};

void ew_logger_init(struct ew_logger *lg, FILE *out, enum ew_log_level level,
                    enum ew_log_format format)
{
    lg->out = out;
    lg->level = level;
    lg->format = format;
    pthread_mutex_init(&lg->mu, NULL);
}

void ew_logger_destroy(struct ew_logger *lg)
{
    pthread_mutex_destroy(&lg->mu);
}

int ew_log_level_parse(const char *s, enum ew_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum ew_log_level)i;
            return 0;
        }
    }
    return -1;
}

int ew_log_format_parse(const char *s, enum ew_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = EW_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = EW_LOG_JSON;
    else
        return -1;
    return 0;
}

static void add_timestamp(struct strbuf *sb)
{
    struct timeval tv;
    struct tm tm;
    char buf[32];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    strbuf_addf(sb, "%s.%03ldZ", buf, (long)(tv.tv_usec / 1000));
}

static void add_json_string(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, (char)c);
        } else if (c < 0x20) {
            strbuf_addf(sb, "\\u%04x", c);
        } else {
            strbuf_addch(sb, (char)c);
        }
    }
    strbuf_addch(sb, '"');
}

static void add_text_value(struct strbuf *sb, const char *s)
{
    int quote = *s == '\0' || strpbrk(s, " \t\"=") != NULL;
    if (quote) {
        add_json_string(sb, s);
        return;
    }
    for (; *s; s++)
        strbuf_addch(sb, (unsigned char)*s < 0x20 ? ' ' : *s);
}

static void format_line(struct strbuf *sb, enum ew_log_format format, enum ew_log_level level,
                        const char *msg, va_list ap)
{
    if (format == EW_LOG_JSON) {
        strbuf_adds(sb, "{\"ts\":\"");
        add_timestamp(sb);
        strbuf_addf(sb, "\",\"level\":\"%s\",\"msg\":", level_names[level]);
        add_json_string(sb, msg);
    } else {
        add_timestamp(sb);
        strbuf_addf(sb, " %-5s ", level_names[level]);
        add_text_value(sb, msg);
    }
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        if (!val)
            val = "";
        if (format == EW_LOG_JSON) {
            strbuf_addch(sb, ',');
            add_json_string(sb, key);
            strbuf_addch(sb, ':');
            add_json_string(sb, val);
        } else {
            strbuf_addf(sb, " %s=", key);
            add_text_value(sb, val);
        }
    }
    strbuf_adds(sb, format == EW_LOG_JSON ? "}\n" : "\n");
}

void ew_log(struct ew_logger *lg, enum ew_log_level level, const char *msg, ...)
{
    if (!lg || level < lg->level)
        return;
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, msg);
    format_line(&sb, lg->format, level, msg, ap);
    va_end(ap);
    pthread_mutex_lock(&lg->mu);
    fwrite(sb.buf, 1, sb.len, lg->out);
    fflush(lg->out);
    pthread_mutex_unlock(&lg->mu);
    strbuf_release(&sb);
}
