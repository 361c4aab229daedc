/*
 * network_desired: the MeshNetwork's rule for one member (network_desired.h),
 * from the facts alone.
 */
#include "network_desired.h"

#include "gateway_addresses.h"
#include "objects.h"

#include <stdlib.h>
#include <string.h>

void mesh_network_member_desired_release(struct mesh_network_member_desired *d)
{
    cJSON_Delete(d->network_label);
    mesh_desired_release(&d->gateway);
    mesh_cacerts_decision_release(&d->cacerts);
    mesh_istio_info_release(&d->istio);
    mesh_problem_release(&d->istio_problem);
    mesh_problem_release(&d->certs_problem);
    mesh_problem_release(&d->gateway_problem);
    for (size_t i = 0; i < d->naddresses; i++)
        free(d->addresses[i]);
    free(d->addresses);
    memset(d, 0, sizeof(*d));
}

static void decide_istio(const struct mesh_network *net, const struct mesh_network_member_facts *f,
                         struct mesh_network_member_desired *d)
{
    d->istio_ok =
        mesh_istio_read(f->istio_config, f->injector_config, f->istio_namespace, &d->istio,
                        &d->istio_problem) == MESH_OK &&
        mesh_istio_check(&d->istio, net, f->spec, f->importing, &d->istio_problem) == MESH_OK;
}

static void decide_gateway(const struct mesh_network *net,
                           const struct mesh_network_member_facts *f,
                           struct mesh_network_member_desired *d)
{
    d->network_label = mesh_build_network_label(net, f->spec);
    mesh_build_gateway(net, f->spec, f->hosts, f->nhosts, &d->gateway);
    struct strbuf desc = STRBUF_INIT;
    strbuf_addf(&desc, "cluster %s: Service %s/%s", f->spec->name, net->istio_namespace,
                MESH_GATEWAY_NAME);
    d->gateway_ok = mesh_gateway_addresses(f->gateway_service, desc.buf, &d->addresses,
                                           &d->naddresses, &d->gateway_problem) == MESH_OK;
    strbuf_release(&desc);
}

/* Does istiod publish the mesh root (ConfigMap istio-ca-root-cert)? */
static int istiod_uses_root(const struct mesh_network *net, const struct mesh_network_root *root,
                            const struct mesh_network_member_facts *f, struct mesh_problem *p)
{
    const cJSON *pem = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f->istiod_root, "data"), "root-cert.pem");
    if (cJSON_IsString(pem) && mesh_ca_pem_contains(pem->valuestring, root->info->sha256))
        return 1;
    mesh_problem_set(p, "IstiodNotUsingMeshRoot",
                     "cluster %s: istiod publishes %s root (ConfigMap %s/istio-ca-root-cert); "
                     "restart istiod so that it loads Secret cacerts",
                     f->spec->name, f->istiod_root ? "another" : "no", net->istio_namespace);
    return 0;
}

static void decide_certs(const struct mesh_network *net, const struct mesh_network_root *root,
                         const struct mesh_network_member_facts *f, time_t now,
                         struct mesh_network_member_desired *d)
{
    if (!root->ok) {
        mesh_problem_set(&d->certs_problem, root->problem->reason, "%s",
                         root->problem->message.buf);
        return;
    }
    if (f->cacerts_decided) {
        d->cacerts = *f->cacerts_decided;
        mesh_problem_init(&d->cacerts.why);
        mesh_problem_set(&d->cacerts.why, f->cacerts_decided->why.reason, "%s",
                         f->cacerts_decided->why.message.buf);
    } else {
        mesh_cacerts_decide(f->cacerts, net, f->spec->name, root->cert_pem, root->info, now,
                            &d->cacerts);
    }
    if (d->cacerts.verdict == MESH_CACERTS_FOREIGN) {
        mesh_problem_set(&d->certs_problem, "ForeignCACerts", "%s", d->cacerts.why.message.buf);
        return;
    }
    if (!istiod_uses_root(net, root, f, &d->certs_problem))
        return;
    /* after istiod's root: that one is broken now, this one soon */
    if (d->cacerts.verdict == MESH_CACERTS_KEEP &&
        strcmp(d->cacerts.why.reason, "RootExpiring") == 0) {
        mesh_problem_set(&d->certs_problem, d->cacerts.why.reason, "%s",
                         d->cacerts.why.message.buf);
        d->root_expiring = 1;
        return;
    }
    /* a new intermediate from that root is due for renewal at once */
    if (mesh_root_expiring(net, f->spec->name, root->info, now, &d->certs_problem)) {
        d->root_expiring = 1;
        return;
    }
    d->certs_ok = 1;
}

void mesh_network_desired_member(const struct mesh_network *net,
                                 const struct mesh_network_root *root,
                                 const struct mesh_network_member_facts *f, time_t now,
                                 struct mesh_network_member_desired *out)
{
    memset(out, 0, sizeof(*out));
    mesh_problem_init(&out->istio_problem);
    mesh_problem_init(&out->certs_problem);
    mesh_problem_init(&out->gateway_problem);
    mesh_problem_init(&out->cacerts.why);
    decide_istio(net, f, out);
    if (!f->istio_namespace) {
        /* Writing into a namespace that does not exist would fail object by object;
         * one clear condition says it all. */
        out->namespace_missing = 1;
#define NS_MISSING "cluster %s: namespace %s does not exist (is Istio installed?)"
        mesh_problem_set(&out->gateway_problem, "IstioNamespaceMissing", NS_MISSING, f->spec->name,
                         net->istio_namespace);
        mesh_problem_set(&out->certs_problem, "IstioNamespaceMissing", NS_MISSING, f->spec->name,
                         net->istio_namespace);
#undef NS_MISSING
        return;
    }
    decide_gateway(net, f, out);
    decide_certs(net, root, f, now, out);
}
