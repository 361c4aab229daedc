/*
 * host_name.c: the host names Istio accepts (host_name.h).
 */
#include "host_name.h"

#include <stdio.h>
#include <string.h>

static int label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* What is wrong with the label s[0..n), into why; 0 when nothing. */
static int label_problem(const char *s, size_t n, int last, char *why, size_t whylen)
{
    if (n == 0) {
        snprintf(why, whylen, "it has an empty label (two dots in a row, or a dot at an end)");
        return 1;
    }
    if (n > MESH_LABEL_MAX) {
        snprintf(why, whylen, "label \"%.*s\" is %zu characters long (a DNS label has at most %d)",
                 (int)n, s, n, MESH_LABEL_MAX);
        return 1;
    }
    int digits = 1;
    for (size_t i = 0; i < n; i++) {
        if (!label_char(s[i])) {
            snprintf(why, whylen, "label \"%.*s\" has a character other than a-z, 0-9 and '-'",
                     (int)n, s);
            return 1;
        }
        digits = digits && s[i] >= '0' && s[i] <= '9';
    }
    if (s[0] == '-' || s[n - 1] == '-') {
        snprintf(why, whylen, "label \"%.*s\" starts or ends with '-'", (int)n, s);
        return 1;
    }
    if (last && digits) {
        snprintf(why, whylen, "its last label \"%.*s\" is all digits (Istio refuses that)", (int)n,
                 s);
        return 1;
    }
    return 0;
}

/* What is wrong with host, into why; 0 when nothing. */
static int host_problem(const char *host, char *why, size_t whylen)
{
    size_t len = strlen(host);
    if (len == 0) {
        snprintf(why, whylen, "it is empty");
        return 1;
    }
    if (len > MESH_HOST_MAX) {
        snprintf(why, whylen, "it is %zu characters long (a DNS name has at most %d)", len,
                 MESH_HOST_MAX);
        return 1;
    }
    for (const char *s = host;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (label_problem(s, n, dot == NULL, why, whylen))
            return 1;
        if (!dot)
            return 0;
        s = dot + 1;
    }
}

mesh_code mesh_host_check(const char *host, struct mesh_problem *p)
{
    char why[160];
    if (!host_problem(host ? host : "", why, sizeof(why)))
        return MESH_OK;
    return mesh_problem_set(p, "InvalidHost", "host \"%s\" is not a name Istio accepts: %s",
                            host ? host : "", why);
}

mesh_code mesh_ccs_host_check(const struct mesh_ccs *c, const struct mesh_network *n,
                              const char *host, struct mesh_problem *p)
{
    char why[160];
    if (!host_problem(host ? host : "", why, sizeof(why)))
        return MESH_OK;
    if (c->host)
        return mesh_problem_set(p, "InvalidHost",
                                "spec.host: \"%s\" is not a name Istio accepts: %s", host, why);
    return mesh_problem_set(p, "InvalidHost",
                            "metadata.name: the default host \"%s\" "
                            "(<name>.<namespace>.<meshID of MeshNetwork %s>.global) is not a name "
                            "Istio accepts: %s; set spec.host, or use a shorter name",
                            host ? host : "", n->name, why);
}
