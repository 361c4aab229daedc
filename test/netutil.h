/*
 * netutil: loopback HTTP helpers for tests of the operator's own server.
 */
#ifndef EW_TEST_NETUTIL_H
#define EW_TEST_NETUTIL_H

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int test_free_port(void);
/* GET path from 127.0.0.1:port over HTTP/1.1; the whole response (caller frees) or NULL. */
char *test_http_get(int port, const char *path);

#endif
