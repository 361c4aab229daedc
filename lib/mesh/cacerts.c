/*
 * cacerts: root and cacerts decisions (see cacerts.h). Secret bytes are held
 * in strbufs that are wiped before they are freed; nothing here logs.
 */
#include "cacerts.h"

#include "json_path.h"
#include "objects.h"
#include "base/base64.h"
#include "base/timeutil.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mesh_secret_wipe(struct strbuf *sb)
{
    if (sb->alloc)
        OPENSSL_cleanse(sb->buf, sb->len);
    strbuf_release(sb);
}

int mesh_secret_data(const cJSON *secret, const char *key, struct strbuf *out)
{
    strbuf_reset(out);
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(secret, "data"), key);
    if (!cJSON_IsString(v) || base64_decode(out, v->valuestring, strlen(v->valuestring)) != 0) {
        mesh_secret_wipe(out); /* api.h: a failure leaves nothing to release */
        return 0;
    }
    return 1;
}

void mesh_cacerts_decision_release(struct mesh_cacerts_decision *d)
{
    mesh_problem_release(&d->why);
}

/* Is this Secret eastwest's for this mesh (see cacerts.h)? 1, or 0 and why not (the end of
 * the sentence "Secret istio-system/cacerts ..."). */
static int owned(const cJSON *secret, const struct mesh_network *net, const char *root_sha256,
                 struct strbuf *why_not)
{
    const char *by =
        mesh_json_str(mesh_json_get(secret, "metadata", "labels"), MESH_LABEL_MANAGED_BY, NULL);
    const char *m =
        mesh_json_str(mesh_json_get(secret, "metadata", "labels"), MESH_LABEL_MESH, NULL);
    const char *uid = mesh_json_str(mesh_json_get(secret, "metadata", "annotations"),
                                    MESH_ANNOTATION_OWNER, NULL);
    struct strbuf rootpem = STRBUF_INIT;
    int ok = 0;
    if (!by || !m || strcmp(by, MESH_FIELD_MANAGER) != 0 || strcmp(m, net->name) != 0)
        strbuf_adds(why_not, "was not written by eastwest for this mesh");
    else if (!uid || !uid[0])
        strbuf_addf(why_not, "carries eastwest's labels but not its annotation %s",
                    MESH_ANNOTATION_OWNER);
    else if (!mesh_secret_data(secret, "root-cert.pem", &rootpem))
        strbuf_adds(why_not, "carries eastwest's labels, but its data.root-cert.pem is missing "
                             "or not base64");
    else if (!mesh_ca_pem_contains(rootpem.buf, root_sha256))
        strbuf_adds(why_not, "carries eastwest's labels, but its data.root-cert.pem is not the "
                             "mesh root");
    else
        ok = 1;
    strbuf_release(&rootpem);
    return ok;
}

/* The field of a Secret a certificate problem is about: the key for key problems. */
static const char *problem_field(const struct mesh_problem *p, const char *cert_key,
                                 const char *key_key)
{
    return strcmp(p->reason, "InvalidKey") == 0 || strcmp(p->reason, "KeyMismatch") == 0 ? key_key
                                                                                         : cert_key;
}

/* Prefix p's message with "<what>: data.<field>: ". */
static void problem_prefix(struct mesh_problem *p, const char *what, const char *field)
{
    struct strbuf msg = STRBUF_INIT;
    strbuf_addf(&msg, "%s%sdata.%s: %s", what ? what : "", what ? ": " : "", field, p->message.buf);
    strbuf_reset(&p->message);
    strbuf_add(&p->message, msg.buf, msg.len);
    strbuf_release(&msg);
}

/* cert-chain.pem as eastwest writes it: the intermediate, then the root. */
static void chain_text(const char *inter_pem, const char *root_pem, struct strbuf *out)
{
    strbuf_reset(out);
    strbuf_adds(out, inter_pem);
    if (out->len && out->buf[out->len - 1] != '\n')
        strbuf_addch(out, '\n');
    strbuf_adds(out, root_pem);
}

/* Outside a root rotation (which writes its own bundles: root_rotate.h) root-cert.pem is
 * the mesh root alone and cert-chain.pem leads from ca-cert.pem to it, exactly as
 * mesh_build_cacerts writes them: an extra trust anchor, or a chain to another root, is
 * not ours to keep. MESH_OK, or why not. */
static mesh_code check_bundles(const cJSON *live, const char *cert_pem, const char *root_cert_pem,
                               struct mesh_problem *why)
{
    struct strbuf bundle = STRBUF_INIT, chain = STRBUF_INIT, want = STRBUF_INIT;
    mesh_code rc = MESH_OK;
    int n;
    if (!mesh_secret_data(live, "root-cert.pem", &bundle) || strcmp(bundle.buf, root_cert_pem))
        rc = (n = mesh_ca_pem_count(bundle.buf)) != 1
                 ? mesh_problem_set(why, "Invalid",
                                    "data.root-cert.pem holds %d certificates, not the mesh root "
                                    "alone (trust anchors eastwest did not write are removed)",
                                    n)
                 : mesh_problem_set(why, "Invalid",
                                    "data.root-cert.pem is not exactly the mesh root's PEM");
    else if (!mesh_secret_data(live, "cert-chain.pem", &chain))
        rc = mesh_problem_set(why, "Invalid", "data.cert-chain.pem is missing or not base64");
    else if (chain_text(cert_pem, root_cert_pem, &want), strcmp(chain.buf, want.buf) != 0)
        rc = mesh_problem_set(why, "Invalid",
                              "data.cert-chain.pem is not data.ca-cert.pem followed by the mesh "
                              "root (it holds %d certificates)",
                              mesh_ca_pem_count(chain.buf));
    strbuf_release(&bundle);
    strbuf_release(&chain);
    strbuf_release(&want);
    return rc;
}

/* Check the intermediate of a cacerts of ours (its root-cert.pem is the mesh root: owned);
 * MESH_OK with *not_after, or why it is unusable. */
static mesh_code check_ours(const cJSON *live, const char *root_cert_pem, time_t *not_after,
                            struct mesh_problem *why)
{
    static const char *const keys[] = {"ca-cert.pem", "ca-key.pem"};
    struct strbuf data[2] = {STRBUF_INIT, STRBUF_INIT};
    struct strbuf *cert = &data[0], *key = &data[1];
    mesh_code rc = MESH_OK;
    struct mesh_cert_info info;
    for (size_t i = 0; i < 2 && rc == MESH_OK; i++)
        if (!mesh_secret_data(live, keys[i], &data[i]))
            rc = mesh_problem_set(why, "Invalid", "data.%s is missing or not base64", keys[i]);
    if (rc == MESH_OK && mesh_ca_inspect(cert->buf, key->buf, &info, why) != MESH_OK) {
        problem_prefix(why, NULL, problem_field(why, "ca-cert.pem", "ca-key.pem"));
        rc = MESH_E_INVALID;
    } else if (rc == MESH_OK && mesh_ca_verify_chain(cert->buf, root_cert_pem, why) != MESH_OK) {
        problem_prefix(why, NULL, "ca-cert.pem");
        rc = MESH_E_INVALID;
    } else if (rc == MESH_OK) {
        rc = check_bundles(live, cert->buf, root_cert_pem, why);
        *not_after = info.not_after;
    }
    if (rc != MESH_OK)
        snprintf(why->reason, sizeof(why->reason), "Invalid");
    strbuf_release(cert);
    mesh_secret_wipe(key);
    return rc;
}

int mesh_root_expiring(const struct mesh_network *net, const char *cluster,
                       const struct mesh_cert_info *root, time_t now, struct mesh_problem *p)
{
    if ((double)(root->not_after - now) > net->ca.renew_before)
        return 0;
    if (p) {
        char when[32];
        ew_time_format_rfc3339(root->not_after, when, sizeof(when));
        mesh_problem_set(p, "RootExpiring",
                         "cluster %s: the mesh root CA expires at %s, within renewBefore; no "
                         "intermediate can outlive it, so the one in Secret %s/%s is kept and "
                         "not renewed until the root is rotated",
                         cluster, when, net->istio_namespace, MESH_CACERTS_NAME);
    }
    return 1;
}

void mesh_cacerts_decide(const cJSON *live, const struct mesh_network *net, const char *cluster,
                         const char *root_cert_pem, const struct mesh_cert_info *root, time_t now,
                         struct mesh_cacerts_decision *out)
{
    memset(out, 0, sizeof(*out));
    mesh_problem_init(&out->why);
    out->verdict = MESH_CACERTS_ISSUE;
    if (!live) {
        mesh_problem_set(&out->why, "Missing", "cluster %s has no Secret %s/%s", cluster,
                         net->istio_namespace, MESH_CACERTS_NAME);
        return;
    }
    struct strbuf why_not = STRBUF_INIT;
    int ours = owned(live, net, root->sha256, &why_not);
    if (!ours && net->ca.adopt_existing) {
        mesh_problem_set(&out->why, "Adopt",
                         "cluster %s: adopting Secret %s/%s (certificateAuthority."
                         "adoptExisting)",
                         cluster, net->istio_namespace, MESH_CACERTS_NAME);
    } else if (!ours) {
        out->verdict = MESH_CACERTS_FOREIGN;
        mesh_problem_set(&out->why, "ForeignCACerts",
                         "cluster %s: Secret %s/%s %s; it is left untouched (delete it, or set "
                         "certificateAuthority.adoptExisting: true to replace it)",
                         cluster, net->istio_namespace, MESH_CACERTS_NAME, why_not.buf);
    }
    strbuf_release(&why_not);
    if (!ours)
        return;
    time_t not_after = 0;
    if (check_ours(live, root_cert_pem, &not_after, &out->why) != MESH_OK)
        return;
    if (mesh_root_expiring(net, cluster, root, now, &out->why)) {
        out->verdict = MESH_CACERTS_KEEP;
        out->not_after = not_after;
        return;
    }
    if ((double)(not_after - now) <= net->ca.renew_before) {
        mesh_problem_set(&out->why, "Renewal",
                         "cluster %s: the intermediate expires within renewBefore", cluster);
        return;
    }
    out->verdict = MESH_CACERTS_KEEP;
    out->not_after = not_after;
}

static void add_data(cJSON *data, const char *key, const char *text)
{
    struct strbuf b = STRBUF_INIT;
    base64_encode(&b, text, strlen(text));
    cJSON_AddStringToObject(data, key, b.buf);
    mesh_secret_wipe(&b);
}

cJSON *mesh_build_cacerts_with(const struct mesh_network *net, const char *root_bundle_pem,
                               const char *signing_root_pem,
                               const struct mesh_keypair *intermediate)
{
    struct mesh_owner owner = {net->name, NULL, net->uid};
    cJSON *o = mesh_object_new("v1", "Secret", net->istio_namespace, MESH_CACERTS_NAME, &owner);
    cJSON_AddStringToObject(o, "type", "Opaque");
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    add_data(data, "root-cert.pem", root_bundle_pem);
    add_data(data, "ca-cert.pem", intermediate->cert_pem);
    add_data(data, "ca-key.pem", intermediate->key_pem);
    struct strbuf chain = STRBUF_INIT;
    chain_text(intermediate->cert_pem, signing_root_pem, &chain);
    add_data(data, "cert-chain.pem", chain.buf);
    strbuf_release(&chain);
    return o;
}

cJSON *mesh_build_cacerts(const struct mesh_network *net, const char *root_cert_pem,
                          const struct mesh_keypair *intermediate)
{
    return mesh_build_cacerts_with(net, root_cert_pem, root_cert_pem, intermediate);
}

char *mesh_root_secret_name(const struct mesh_network *net)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s-root-ca", net->name);
    return strbuf_detach(&sb, NULL);
}

cJSON *mesh_build_root_secret(const struct mesh_network *net, const char *ns,
                              const struct mesh_keypair *root)
{
    struct mesh_owner owner = {net->name, NULL, net->uid};
    char *name = mesh_root_secret_name(net);
    cJSON *o = mesh_object_new("v1", "Secret", ns, name, &owner);
    free(name);
    cJSON_AddStringToObject(o, "type", "kubernetes.io/tls");
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    add_data(data, "tls.crt", root->cert_pem);
    add_data(data, "tls.key", root->key_pem);
    return o;
}

mesh_code mesh_root_from_secret(const cJSON *secret, const char *secret_desc,
                                struct mesh_keypair *out, struct mesh_cert_info *info,
                                struct mesh_problem *p)
{
    memset(out, 0, sizeof(*out));
    struct strbuf cert = STRBUF_INIT, key = STRBUF_INIT;
    mesh_code rc = MESH_OK;
    if (!mesh_secret_data(secret, "tls.crt", &cert) || !mesh_secret_data(secret, "tls.key", &key)) {
        rc = mesh_problem_set(p, "RootSecretInvalid",
                              "%s: data tls.crt and tls.key must both be present (base64 PEM)",
                              secret_desc);
    } else if (mesh_ca_inspect(cert.buf, key.buf, info, p) != MESH_OK) {
        /* name the Secret and the field; the reason stays RootSecretInvalid */
        problem_prefix(p, secret_desc, problem_field(p, "tls.crt", "tls.key"));
        snprintf(p->reason, sizeof(p->reason), "RootSecretInvalid");
        rc = MESH_E_INVALID;
    } else if (mesh_ca_check_root(cert.buf, &out->cert_pem, p) != MESH_OK) {
        /* not a root (an intermediate of another PKI) or one that allows no intermediate:
         * refused, naming the Secret; the reason stays RootSecretInvalid */
        problem_prefix(p, secret_desc, "tls.crt");
        snprintf(p->reason, sizeof(p->reason), "RootSecretInvalid");
        rc = MESH_E_INVALID;
    } else {
        /* out->cert_pem: the first certificate alone, canonical: what root-cert.pem holds */
        out->key_pem = strbuf_detach(&key, NULL);
    }
    if (rc != MESH_OK)
        memset(info, 0, sizeof(*info)); /* api.h: a failure leaves every out-parameter empty */
    strbuf_release(&cert);
    mesh_secret_wipe(&key);
    return rc;
}

/* ---- the memo ---- */

static const char *secret_rv(const cJSON *secret)
{
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(secret, "metadata"), "resourceVersion");
    return cJSON_IsString(rv) ? rv->valuestring : NULL;
}

void mesh_cacerts_memo_release(struct mesh_cacerts_memo *m)
{
    free(m->rv);
    if (m->valid)
        mesh_cacerts_decision_release(&m->d);
    memset(m, 0, sizeof(*m));
}

int mesh_cacerts_memo_get(const struct mesh_cacerts_memo *m, const cJSON *live,
                          const struct mesh_network *net, const struct mesh_cert_info *root,
                          time_t now, struct mesh_cacerts_decision *out)
{
    const char *rv = secret_rv(live);
    if (!m->valid || !rv || strcmp(rv, m->rv) != 0 || strcmp(root->sha256, m->root) != 0 ||
        m->adopt != net->ca.adopt_existing || m->renew_before != net->ca.renew_before ||
        now >= m->until)
        return 0;
    *out = m->d;
    mesh_problem_init(&out->why);
    mesh_problem_set(&out->why, m->d.why.reason, "%s", m->d.why.message.buf);
    return 1;
}

void mesh_cacerts_memo_put(struct mesh_cacerts_memo *m, const cJSON *live,
                           const struct mesh_network *net, const struct mesh_cert_info *root,
                           time_t now, const struct mesh_cacerts_decision *d)
{
    mesh_cacerts_memo_release(m);
    const char *rv = secret_rv(live);
    if (!rv || d->verdict == MESH_CACERTS_ISSUE)
        return; /* an issue writes the Secret: its next version is another decision */
    m->rv = ew_strdup(rv);
    snprintf(m->root, sizeof(m->root), "%s", root->sha256);
    m->adopt = net->ca.adopt_existing;
    m->renew_before = net->ca.renew_before;
    /* until the verdict could turn with time alone: the intermediate or the root entering
     * the renew window; at most five minutes in any case */
    m->until = now + 300;
    time_t due = d->not_after - (time_t)net->ca.renew_before;
    if (d->verdict == MESH_CACERTS_KEEP && d->not_after && due < m->until)
        m->until = due;
    due = root->not_after - (time_t)net->ca.renew_before;
    if (due < m->until)
        m->until = due;
    m->d = *d;
    mesh_problem_init(&m->d.why);
    mesh_problem_set(&m->d.why, d->why.reason, "%s", d->why.message.buf);
    m->valid = 1;
}
