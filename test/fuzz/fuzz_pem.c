/*
 * fuzz_pem.c: the certificates and keys the operator reads from outside: the user's
 * root CA Secret (certificateAuthority.rootSecretRef: tls.crt, tls.key), a member's
 * cacerts Secret (root-cert.pem, ca-cert.pem, ca-key.pem), istiod's
 * istio-ca-root-cert bundle. Must never crash, hang (an encrypted key must not wait
 * for a passphrase), leak, or accept what it should refuse.
 *
 * Input layout: byte 0 is a control byte, the rest is up to three NUL-separated parts:
 *   part 0: a certificate (tls.crt / ca-cert.pem), PEM
 *   part 1: a private key (tls.key / ca-key.pem), PEM
 *   part 2: a root or bundle (root-cert.pem / istio-ca-root-cert), PEM
 * Control bits:
 *   bit 0: inspect part 0 with the key (else without)
 *   bit 1: the cacerts Secret carries eastwest's labels for the mesh (else foreign)
 *   bit 2: Secret values go in as they are, not base64-encoded (the decoder's errors)
 *   bit 3: certificateAuthority.adoptExisting
 * Whatever is accepted must hold up: a root read from a Secret is a CA, currently
 * valid, with a matching key, and an intermediate can be issued from it; a cacerts
 * kept is one whose intermediate chains to part 2.
 *
 * Seeds (corpus/fuzz_pem/) were made with openssl(1) and the operator's own CA code:
 * a root and its key, an intermediate signed by it with the root, mismatched keys,
 * RSA and EC keys, an expired root, a CA:FALSE certificate, a certificate whose
 * keyUsage lacks keyCertSign, a v1 certificate, encrypted keys (PKCS#8 and legacy
 * Proc-Type headers), truncated and garbage PEM.
 */
#include "mesh/ca.h"
#include "mesh/cacerts.h"
#include "mesh/objects.h"
#include "base/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FUZZ_MESH[] =
    "{\"metadata\":{\"name\":\"training-mesh\",\"uid\":\"u-1\",\"generation\":1},"
    "\"spec\":{\"meshID\":\"training-mesh\",\"trustDomain\":\"corp.local\","
    "\"clusters\":[{\"name\":\"us\",\"network\":\"us-net\"},"
    "{\"name\":\"eu\",\"network\":\"eu-net\"}]}}";

static void need_message(const struct mesh_problem *p)
{
    if (!p->reason[0] || !p->message.len)
        abort();
}

static void put(cJSON *data, const char *key, const char *value, int raw)
{
    if (raw) {
        cJSON_AddStringToObject(data, key, value);
        return;
    }
    struct strbuf b = STRBUF_INIT;
    base64_encode(&b, value, strlen(value));
    cJSON_AddStringToObject(data, key, b.buf);
    strbuf_release(&b);
}

/* The user's root Secret: what is accepted must be usable. */
static void fuzz_root_secret(const char *cert, const char *key, int raw)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(s, "data");
    put(d, "tls.crt", cert, raw);
    put(d, "tls.key", key, raw);
    struct mesh_keypair root, inter;
    struct mesh_cert_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (mesh_root_from_secret(s, "Secret eastwest-system/my-root", &root, &info, &p) == MESH_OK) {
        time_t now = time(NULL);
        if (!info.is_ca || info.not_after <= now || info.not_before > now)
            abort(); /* accepted a root that is no CA, or not valid now */
        if (mesh_ca_issue_intermediate(&root, MESH_KEY_ECDSA_P256, 3600, "eu", &inter, &p) ==
            MESH_OK) {
            if (mesh_ca_verify_chain(inter.cert_pem, root.cert_pem, &p) != MESH_OK)
                need_message(&p);
            mesh_keypair_release(&inter);
        } else {
            need_message(&p); /* say, a root whose key cannot sign SHA-256 */
        }
        mesh_keypair_release(&root);
    } else {
        need_message(&p);
        if (root.cert_pem || root.key_pem)
            abort();
        if (!strstr(p.message.buf, "my-root"))
            abort(); /* the message names the Secret */
    }
    mesh_problem_release(&p);
    cJSON_Delete(s);
}

/* A member's cacerts Secret against the root in part 2. */
static void fuzz_cacerts(const char *cert, const char *key, const char *root_pem, uint8_t control)
{
    struct mesh_network net;
    struct mesh_problem p;
    mesh_problem_init(&p);
    cJSON *mj = cJSON_Parse(FUZZ_MESH);
    if (mesh_network_parse(mj, &net, &p) != MESH_OK)
        abort();
    cJSON_Delete(mj);
    net.ca.adopt_existing = (control >> 3) & 1;
    struct mesh_cert_info root;
    if (mesh_ca_inspect(root_pem, NULL, &root, &p) != MESH_OK)
        need_message(&p);
    struct mesh_owner owner = {net.name, NULL, net.uid};
    cJSON *s = (control & 2)
                   ? mesh_object_new("v1", "Secret", "istio-system", MESH_CACERTS_NAME, &owner)
                   : mesh_object_new("v1", "Secret", "istio-system", MESH_CACERTS_NAME, NULL);
    cJSON *d = cJSON_AddObjectToObject(s, "data");
    int raw = (control >> 2) & 1;
    put(d, "root-cert.pem", root_pem, raw);
    put(d, "ca-cert.pem", cert, raw);
    put(d, "ca-key.pem", key, raw);
    struct mesh_cacerts_decision dec;
    mesh_cacerts_decide(s, &net, "eu", root_pem, &root, time(NULL), &dec);
    if (dec.verdict == MESH_CACERTS_KEEP) {
        if (!(control & 2) || mesh_ca_verify_chain(cert, root_pem, &p) != MESH_OK)
            abort(); /* kept a foreign cacerts, or one that does not chain to the root */
    } else {
        need_message(&dec.why);
    }
    mesh_cacerts_decision_release(&dec);
    /* istiod's published root: is the mesh root in it? */
    struct mesh_cert_info ci;
    mesh_ca_inspect(cert, NULL, &ci, &p); /* sets ci.sha256 whenever the PEM reads */
    if (ci.sha256[0])
        mesh_ca_pem_contains(root_pem, ci.sha256);
    cJSON_Delete(s);
    mesh_network_release(&net);
    mesh_problem_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t control = data[0];
    /* split the rest at NUL bytes into up to three C strings */
    struct strbuf parts[3] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    size_t k = 0;
    for (size_t i = 1; i < size; i++) {
        if (data[i] == '\0' && k < 2)
            k++;
        else if (data[i] != '\0')
            strbuf_addch(&parts[k], (char)data[i]);
    }
    const char *cert = parts[0].buf, *key = parts[1].buf, *root = parts[2].buf;
    struct mesh_cert_info info;
    struct mesh_problem p;
    mesh_problem_init(&p);
    if (mesh_ca_inspect(cert, control & 1 ? key : NULL, &info, &p) == MESH_OK) {
        if (!info.is_ca)
            abort();
    } else {
        need_message(&p);
    }
    if (mesh_ca_verify_chain(cert, root, &p) != MESH_OK)
        need_message(&p);
    if (info.sha256[0])
        mesh_ca_pem_contains(root, info.sha256);
    mesh_problem_release(&p);
    fuzz_root_secret(cert, key, (control >> 2) & 1);
    fuzz_cacerts(cert, key, root, control);
    for (size_t i = 0; i < 3; i++)
        strbuf_release(&parts[i]);
    return 0;
}
