/*
 * ccs_desired.c: what one CrossClusterService wants in each member (see
 * ccs_desired.h). Pure: facts in, objects out.
 */
#include "ccs_desired.h"
#include "base/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int exports(const struct mesh_ccs_facts *f, const struct mesh_ccs_member_facts *m)
{
    return (mesh_ccs_role(f->ccs, m->spec->name) & MESH_ROLE_EXPORTS) != 0;
}

static void add_endpoint(struct mesh_endpoint **eps, size_t *n, size_t *cap, char *address,
                         const char *locality, int local)
{
    if (*n == *cap)
        *eps = ew_realloc(*eps, (*cap = *cap ? *cap * 2 : 4) * sizeof(**eps));
    (*eps)[(*n)++] = (struct mesh_endpoint){address, locality, local};
}

size_t mesh_ccs_importer_endpoints(const struct mesh_ccs_facts *f,
                                   const struct mesh_ccs_member_facts *members, size_t n, size_t i,
                                   struct mesh_endpoint **out, int *multi_locality)
{
    struct mesh_endpoint *eps = NULL;
    size_t k = 0, cap = 0;
    const struct mesh_ccs_member_facts *me = &members[i];
    if (exports(f, me) && me->selector) { /* its own Service first (active-active) */
        const struct mesh_export *ex = mesh_ccs_export_of(f->ccs, me->spec->name);
        struct strbuf local = STRBUF_INIT;
        strbuf_addf(&local, "%s.%s.svc.cluster.local",
                    ex && ex->service ? ex->service : f->ccs->name, f->ccs->namespace_);
        add_endpoint(&eps, &k, &cap, strbuf_detach(&local, NULL), me->spec->locality, 1);
    }
    for (size_t j = 0; j < n; j++) {
        const struct mesh_ccs_member_facts *m = &members[j];
        if (j == i || !exports(f, m))
            continue;
        if (m->gone || (!m->reachable && f->ccs->partition_policy == MESH_WITHDRAW))
            continue;
        for (size_t a = 0; a < m->naddresses; a++)
            add_endpoint(&eps, &k, &cap, ew_strdup(m->addresses[a]), m->spec->locality, 0);
    }
    *multi_locality = 0;
    for (size_t j = 1; j < k; j++)
        if (!eps[0].locality || !eps[j].locality || strcmp(eps[0].locality, eps[j].locality))
            *multi_locality = 1;
    *out = eps;
    return k;
}

void mesh_endpoints_free(struct mesh_endpoint *eps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)eps[i].address);
    free(eps);
}

void mesh_ccs_desired_member(const struct mesh_ccs_facts *f,
                             const struct mesh_ccs_member_facts *members, size_t n, size_t i,
                             struct mesh_ccs_member_desired *out)
{
    memset(out, 0, sizeof(*out));
    const struct mesh_ccs_member_facts *me = &members[i];
    out->role = mesh_ccs_role(f->ccs, me->spec->name);
    out->entry = out->rule = MESH_INTENT_REMOVE;
    if ((out->role & MESH_ROLE_IMPORTS) && f->ports_unknown) {
        out->ports_unknown = 1;
        out->entry = out->rule = MESH_INTENT_KEEP;
    } else if ((out->role & MESH_ROLE_IMPORTS) && f->no_identity) {
        out->no_identity = 1;
        if (f->identity_unread)
            out->entry = out->rule = MESH_INTENT_KEEP;
    } else if (out->role & MESH_ROLE_IMPORTS) {
        struct mesh_endpoint *eps;
        int multi;
        out->nendpoints = mesh_ccs_importer_endpoints(f, members, n, i, &eps, &multi);
        out->service_entry = mesh_build_importer_service_entry(f, eps, out->nendpoints);
        out->destination_rule = mesh_build_destination_rule(f, multi);
        out->entry = out->rule = MESH_INTENT_WRITE;
        mesh_endpoints_free(eps, out->nendpoints);
    } else if (out->role & MESH_ROLE_EXPORTS) {
        if (me->selector) {
            struct mesh_ccs_facts own = *f;
            if (me->ports) {
                own.ports = me->ports;
                own.nports = me->nports;
            }
            out->service_entry = mesh_build_exporter_service_entry(&own, me->selector);
            out->entry = MESH_INTENT_WRITE;
        } else {
            out->entry = MESH_INTENT_KEEP; /* no usable Service yet: keep what is there */
        }
    }
}

void mesh_ccs_member_desired_release(struct mesh_ccs_member_desired *d)
{
    cJSON_Delete(d->service_entry);
    cJSON_Delete(d->destination_rule);
    memset(d, 0, sizeof(*d));
}
