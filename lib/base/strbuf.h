/*
 * strbuf: the one growable byte buffer used everywhere instead of ad-hoc
 * malloc/strcat.
 *
 * Ownership: a struct strbuf owns its bytes. Initialise with STRBUF_INIT (or
 * strbuf_init), release with strbuf_release. strbuf_detach hands the bytes to
 * the caller (who then frees them with free()) and leaves the buffer empty.
 * The content is always NUL-terminated, so sb.buf can be passed as a C string;
 * it may also hold binary data (use sb.len).
 *
 * Allocation failure aborts the process through ew_oom(): an operator that
 * cannot allocate a few bytes cannot make progress, and Kubernetes restarts it.
 */
#ifndef EW_STRBUF_H
#define EW_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *buf;    /* never NULL: points at strbuf_empty until first growth */
    size_t len;   /* bytes in use, not counting the NUL */
    size_t alloc; /* bytes allocated; 0 while buf is strbuf_empty */
};

extern char strbuf_empty[];
#define STRBUF_INIT                                                                                \
    {                                                                                              \
        strbuf_empty, 0, 0                                                                         \
    }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s percent-encoded for a URL query value or path segment. */
void strbuf_add_urlencoded(struct strbuf *sb, const char *s);
/* Drop the first n bytes, keeping the rest. */
void strbuf_remove_prefix(struct strbuf *sb, size_t n);
/* Keep at most max bytes, never splitting a UTF-8 character: the cut backs off to the
 * start of the sequence it would split (limits such as an Event's note count bytes). */
void strbuf_truncate_utf8(struct strbuf *sb, size_t max);

/* Abort with a message: the single out-of-memory path. */
_Noreturn void ew_oom(size_t size);
void *ew_malloc(size_t size);
void *ew_calloc(size_t n, size_t size);
void *ew_realloc(void *p, size_t size);
char *ew_strdup(const char *s);
char *ew_strndup(const char *s, size_t n);

#endif
