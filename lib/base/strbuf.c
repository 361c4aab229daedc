/*
 * strbuf.c: growable buffer and the checked allocators (see strbuf.h).
 *
 * cJSON allocates through ew_malloc too: its hooks are set before main, in every
 * program linked with lib/base, by the constructor below (the one piece of global
 * state set outside main: the process's allocation rule, set once, never changed).
 * So no cJSON call returns NULL for want of memory; a NULL from cJSON means absent
 * or malformed input, which callers check as such.
 */
#include "strbuf.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char strbuf_empty[1];

_Noreturn void ew_oom(size_t size)
{
    fprintf(stderr, "eastwest: out of memory allocating %zu bytes\n", size);
    abort();
}

void *ew_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        ew_oom(size);
    return p;
}

void *ew_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        ew_oom(n * size);
    return p;
}

void *ew_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        ew_oom(size);
    return q;
}

static void *json_malloc(size_t size)
{
    return ew_malloc(size);
}

__attribute__((constructor)) static void json_hooks_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = json_malloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}

char *ew_strdup(const char *s)
{
    return s ? ew_strndup(s, strlen(s)) : NULL;
}

char *ew_strndup(const char *s, size_t n)
{
    n = strnlen(s, n); /* like strndup: never read past the string's end */
    char *p = ew_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void strbuf_init(struct strbuf *sb, size_t hint)
{
    sb->buf = strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
    if (hint)
        strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    strbuf_init(sb, 0);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc)
        sb->buf[0] = '\0';
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *res;
    if (!sb->alloc)
        strbuf_grow(sb, 0);
    res = sb->buf;
    if (len)
        *len = sb->len;
    strbuf_init(sb, 0);
    return res;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (extra > SIZE_MAX - sb->len - 1)
        ew_oom(SIZE_MAX);
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc)
        return;
    size_t n = sb->alloc ? sb->alloc : 64;
    while (n < need)
        n = n <= (SIZE_MAX - 16) / 3 * 2 ? n / 2 * 3 + 16 : need;
    if (!sb->alloc) {
        sb->buf = ew_malloc(n);
        sb->buf[0] = '\0';
    } else {
        sb->buf = ew_realloc(sb->buf, n);
    }
    sb->alloc = n;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    strbuf_grow(sb, len);
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void strbuf_adds(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
    strbuf_add(sb, &c, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    char probe[1];
    if (!fmt)
        return;
    va_copy(cp, ap);
    int n = vsnprintf(probe, sizeof(probe), fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    strbuf_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void strbuf_add_urlencoded(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            strbuf_addch(sb, (char)c);
        } else {
            strbuf_addch(sb, '%');
            strbuf_addch(sb, hex[c >> 4]);
            strbuf_addch(sb, hex[c & 15]);
        }
    }
}

void strbuf_remove_prefix(struct strbuf *sb, size_t n)
{
    if (n >= sb->len) {
        strbuf_reset(sb);
        return;
    }
    memmove(sb->buf, sb->buf + n, sb->len - n);
    sb->len -= n;
    sb->buf[sb->len] = '\0';
}

void strbuf_truncate_utf8(struct strbuf *sb, size_t max)
{
    if (sb->len <= max)
        return;
    size_t keep = max;
    while (keep > 0 && ((unsigned char)sb->buf[keep] & 0xC0) == 0x80)
        keep--; /* buf[keep] continues a character: cut before its first byte */
    sb->len = keep;
    sb->buf[keep] = '\0';
}
