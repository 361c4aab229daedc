/*
 * base64: standard (RFC 4648) base64 as Kubernetes uses it for Secret data and
 * kubeconfig *-data fields. Decoding ignores ASCII whitespace (PEM-style line
 * breaks) and accepts missing padding; any other byte is an error.
 */
#ifndef EW_BASE64_H
#define EW_BASE64_H

#include "strbuf.h"

/* Append the decoded bytes to out. Returns 0, or -1 on invalid input (out then
 * holds what was decoded before the error; callers discard it). */
int base64_decode(struct strbuf *out, const char *in, size_t len);
void base64_encode(struct strbuf *out, const void *in, size_t len);

#endif
