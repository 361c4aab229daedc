/*
 * fileutil.c: whole-file reads (see fileutil.h).
 */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ew_read_file(struct strbuf *sb, const char *path, size_t max_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t start = sb->len;
    for (;;) {
        strbuf_grow(sb, 4096);
        ssize_t n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        sb->len += (size_t)n;
        sb->buf[sb->len] = '\0';
        if (sb->len - start > max_bytes) {
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    return 0;
}
