/*
 * ccs_ports: the ports of a CrossClusterService from what is known (ccs_ports.h).
 */
#include "ccs_ports.h"

#include "ccs_objects.h"
#include "json_path.h"

#include <stdlib.h>
#include <string.h>

size_t mesh_ccs_entry_ports(const cJSON *entry, struct mesh_port **out)
{
    const cJSON *ports = mesh_json_get(entry, "spec", "ports"), *p;
    size_t n = 0;
    *out = NULL;
    if (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) == 0)
        return 0;
    *out = ew_calloc((size_t)cJSON_GetArraySize(ports), sizeof(**out));
    cJSON_ArrayForEach(p, ports)
    {
        const cJSON *num = mesh_json_get(p, "number", NULL);
        const char *name = mesh_json_str(p, "name", NULL);
        if (!cJSON_IsNumber(num) || num->valuedouble < 1 || num->valuedouble > 65535 || !name ||
            !*name)
            continue;
        (*out)[n++] = (struct mesh_port){
            .number = (int)num->valuedouble,
            .name = ew_strdup(name),
            /* a static string: what was written came from mesh_port_protocol or the CRD's
             * enum, which map onto themselves */
            .protocol = (char *)mesh_port_protocol(mesh_json_str(p, "protocol", NULL), NULL),
        };
    }
    if (!n) {
        free(*out);
        *out = NULL;
    }
    return n;
}

size_t mesh_ccs_exporter_ports(const cJSON *svc, const struct mesh_port *def, size_t ndef,
                               const char *desc, struct mesh_port **out, struct mesh_problem *p)
{
    if (!ndef)
        return mesh_service_ports(svc, NULL, 0, desc, out, p);
    /* the definition's numbers, names and protocols; target ports from svc */
    struct mesh_port *spec = ew_calloc(ndef, sizeof(*spec));
    for (size_t i = 0; i < ndef; i++)
        spec[i] = (struct mesh_port){
            .number = def[i].number, .name = def[i].name, .protocol = def[i].protocol};
    size_t n = mesh_service_ports(svc, spec, ndef, desc, out, p);
    free(spec); /* names and protocols were borrowed */
    return n;
}

static const struct mesh_port *port_numbered(const struct mesh_port *ps, size_t n, int number)
{
    for (size_t i = 0; i < n; i++)
        if (ps[i].number == number)
            return &ps[i];
    return NULL;
}

int mesh_ccs_ports_compare(const struct mesh_port *w, size_t nw, const char *wdesc,
                           const struct mesh_port *o, size_t no, const char *odesc,
                           struct strbuf *msg)
{
    int diffs = 0;
    for (size_t i = 0; i < nw; i++) {
        const struct mesh_port *a = &w[i], *b = port_numbered(o, no, a->number);
        if (!b)
            strbuf_addf(msg, "%sport %d (%s) is in %s, not in %s", msg->len ? "; " : "", a->number,
                        a->name, wdesc, odesc);
        else if (strcmp(a->name, b->name) != 0 || strcmp(a->protocol, b->protocol) != 0)
            strbuf_addf(msg, "%sport %d is %s (%s) in %s and %s (%s) in %s", msg->len ? "; " : "",
                        a->number, a->name, a->protocol, wdesc, b->name, b->protocol, odesc);
        else
            continue;
        diffs++;
    }
    for (size_t i = 0; i < no; i++) {
        if (port_numbered(w, nw, o[i].number))
            continue;
        strbuf_addf(msg, "%sport %d (%s) is in %s, not in %s: not exported", msg->len ? "; " : "",
                    o[i].number, o[i].name, odesc, wdesc);
        diffs++;
    }
    return diffs;
}
