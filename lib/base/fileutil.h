/*
 * fileutil: reading small files whole (kubeconfigs, tokens, certificates).
 */
#ifndef EW_FILEUTIL_H
#define EW_FILEUTIL_H

#include "strbuf.h"

/* Append the file's bytes to sb. Returns 0, or -1 with errno set. Refuses files
 * over max_bytes (errno EFBIG) so a wrong path cannot exhaust memory. */
int ew_read_file(struct strbuf *sb, const char *path, size_t max_bytes);

#endif
