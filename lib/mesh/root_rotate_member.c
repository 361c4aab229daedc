/*
 * root_rotate_member.c: a member's cacerts during a root rotation, as the decided plan
 * has it (root_rotate.h): the bundle of roots, the intermediate kept or issued from the
 * root that signs in the phase, cert-chain.pem to that root; a cacerts that is not
 * eastwest's for this mesh is left alone and holds the rotation. Keys are wiped when
 * released; nothing here logs a key or a certificate.
 */
#include "root_rotate.h"

#include "cacerts.h"
#include "json_path.h"
#include "member_sync.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The bundle member cacerts carry in the plan: see root_rotate.h. */
static void plan_bundle(const struct mesh_rotation_run *r, const char *new_pem,
                        const struct mesh_rotation_member_plan *plan, struct strbuf *out)
{
    strbuf_reset(out);
    if (plan->bundle_old && plan->sign_with_new)
        strbuf_addf(out, ROTATION_MARKER_PREFIX "%s\n", r->next_info.sha256);
    if (plan->bundle_old && r->old_pem) {
        strbuf_adds(out, r->old_pem);
        if (out->len && out->buf[out->len - 1] != '\n')
            strbuf_addch(out, '\n');
    }
    if (plan->bundle_new)
        strbuf_adds(out, new_pem);
}

static int is_ours(const struct mesh_ctx *ctx, const cJSON *live, const char *bundle)
{
    return rotation_cacerts_labelled(ctx, live) && bundle &&
           (mesh_ca_pem_contains(bundle, ctx->rot.old_sha256) ||
            mesh_ca_pem_contains(bundle, ctx->rot.next_info.sha256));
}

/* The member's intermediate when it chains to *signer and is not due; else a new one
 * from *signer. A signer without its key (the old root after a change of root) issues
 * nothing: its intermediate is kept while it chains and is valid, even when due, and a
 * member without one gets one from the new root (*signer becomes it). */
static mesh_code take_intermediate(struct mesh_ctx *ctx, const struct member_result *res,
                                   const cJSON *live, const struct mesh_keypair **signer,
                                   struct mesh_keypair *out, int *issued, struct mesh_problem *p)
{
    struct strbuf cert = STRBUF_INIT, key = STRBUF_INIT;
    struct mesh_cert_info info;
    int keyless = !(*signer)->key_pem;
    *issued = 0;
    memset(out, 0, sizeof(*out));
    if (live && mesh_secret_data(live, "ca-cert.pem", &cert) &&
        mesh_secret_data(live, "ca-key.pem", &key) &&
        mesh_ca_inspect(cert.buf, key.buf, &info, NULL) == MESH_OK &&
        mesh_ca_verify_chain(cert.buf, (*signer)->cert_pem, NULL) == MESH_OK &&
        (keyless || (double)(info.not_after - time(NULL)) > ctx->net->ca.renew_before)) {
        out->cert_pem = strbuf_detach(&cert, NULL);
        out->key_pem = strbuf_detach(&key, NULL);
        return MESH_OK;
    }
    strbuf_release(&cert);
    mesh_secret_wipe(&key);
    *issued = 1;
    if (keyless)
        *signer = &ctx->rot.next;
    return mesh_ca_issue_intermediate(*signer, ctx->net->ca.key_algorithm,
                                      ctx->net->ca.intermediate_validity, res->spec->name, out, p);
}

void rotation_write_member(struct mesh_ctx *ctx, struct member_result *res, const cJSON *live)
{
    struct mesh_rotation_run *r = &ctx->rot;
    size_t i = (size_t)(res->spec - ctx->net->clusters);
    res->certs_ok = 1;
    mesh_problem_set(&res->certs_problem, "RootRotating", "%s", r->message ? r->message : "");
    if (r->hold || !r->plans)
        return;
    const struct mesh_rotation_member_plan *plan = &r->plans[i];
    struct strbuf live_bundle = STRBUF_INIT, want = STRBUF_INIT, chain = STRBUF_INIT;
    const char *lb =
        live && mesh_secret_data(live, "root-cert.pem", &live_bundle) ? live_bundle.buf : NULL;
    if (live && !is_ours(ctx, live, lb)) {
        res->certs_ok = 0;
        mesh_problem_set(&res->certs_problem, "ForeignCACerts",
                         "cluster %s: Secret %s/%s was not written by eastwest for this mesh; the "
                         "root rotation waits for it",
                         res->spec->name, ctx->net->istio_namespace, MESH_CACERTS_NAME);
        strbuf_release(&live_bundle);
        return;
    }
    /* before DropOld ctx->root is the old root; from it on, the new one. After a change
     * of root, ctx->root is the new one from the start and the old has no key here. */
    const struct mesh_keypair old_cert = {r->old_pem, NULL};
    const struct mesh_keypair *signer = plan->sign_with_new ? &r->next
                                        : r->derived        ? &old_cert
                                                            : &ctx->root;
    plan_bundle(r, r->next.cert_pem, plan, &want);
    struct mesh_keypair inter;
    int issued = 0;
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (take_intermediate(ctx, res, live, &signer, &inter, &issued, &p) != MESH_OK) {
        res->certs_ok = 0;
        mesh_problem_set(&res->certs_problem, "IssueFailed", "cluster %s: %s", res->spec->name,
                         p.message.buf);
        ctx->failed = 1;
        goto out;
    }
    mesh_secret_data(live, "cert-chain.pem", &chain);
    cJSON *secret = mesh_build_cacerts_with(ctx->net, want.buf, signer->cert_pem, &inter);
    struct strbuf want_chain = STRBUF_INIT;
    mesh_secret_data(secret, "cert-chain.pem", &want_chain);
    int same = lb && !issued && strcmp(lb, want.buf) == 0 && chain.len &&
               strcmp(chain.buf, want_chain.buf) == 0;
    strbuf_release(&want_chain);
    if (!same) {
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code rc = kube_apply(res->member->client, &KUBE_RES_SECRETS, ctx->net->istio_namespace,
                                  secret, MESH_FIELD_MANAGER, 1, NULL, &err);
        if (rc != KUBE_OK) {
            res->certs_ok = 0;
            mesh_problem_set(&res->certs_problem, "ApplyFailed",
                             "cluster %s: writing Secret %s/%s: %s", res->spec->name,
                             ctx->net->istio_namespace, MESH_CACERTS_NAME, err.message);
            ctx->failed = 1;
        } else {
            rt_record(&ctx->events, "Normal", "CertificateRotated", "Rotate",
                      "cluster %s: Secret %s/%s written for root rotation phase %s%s",
                      res->spec->name, ctx->net->istio_namespace, MESH_CACERTS_NAME,
                      mesh_rotation_phase_name(r->phase), issued ? " (a new intermediate)" : "");
        }
        kube_error_clear(&err);
    }
    cJSON_Delete(secret);
    struct mesh_cert_info info;
    if (mesh_ca_inspect(inter.cert_pem, NULL, &info, NULL) == MESH_OK)
        res->intermediate_not_after = info.not_after;
    mesh_keypair_release(&inter);
out:
    mesh_problem_release(&p);
    strbuf_release(&live_bundle);
    strbuf_release(&want);
    strbuf_release(&chain);
}
