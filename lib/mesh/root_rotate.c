/*
 * root_rotate.c: a root rotation's reads and home writes: the facts from the home
 * Secrets and every member's caches, the decision (root_rotation.h), the -next Secret
 * and the retirement (see root_rotate.h). Each member's cacerts is written by
 * root_rotate_member.c. Keys are held in keypairs and wiped when released; nothing here
 * logs a key or a certificate.
 */
#include "root_rotate.h"

#include "cacerts.h"
#include "json_path.h"
#include "member_sync.h"
#include "base/base64.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANN_PHASE         "eastwest.io/rotation-phase"
#define ANN_PHASE_STARTED "eastwest.io/rotation-phase-started"
#define ANN_STARTED       "eastwest.io/rotation-started"
#define ANN_TRIGGER       "eastwest.io/rotation-trigger"
#define ANN_REQUEST       "eastwest.io/rotation-request"
#define ANN_OLD_ROOT      "eastwest.io/rotation-old-root"
#define ANN_RETIRED       "eastwest.io/retired-root"
#define ANN_RETIRED_AT    "eastwest.io/retired-at"
#define TRIGGER_CHANGED   "RootSecretRefChanged"
#define DATA_OLD_ROOT     "old-root.pem" /* a change of root: the old root's certificate */
#define POLL_SECONDS      2.0

char *rotation_next_secret_name(const struct mesh_network *net)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s-root-ca-next", net->name);
    return strbuf_detach(&sb, NULL);
}

void rotation_release(struct mesh_rotation_run *r)
{
    free(r->old_pem);
    mesh_keypair_release(&r->next);
    free(r->plans);
    cJSON_Delete(r->status);
    cJSON_Delete(r->last);
    free(r->message);
    memset(r, 0, sizeof(*r));
}

static const char *annotation(const cJSON *obj, const char *key)
{
    return mesh_json_str(mesh_json_get(obj, "metadata", "annotations"), key, NULL);
}

static time_t annotation_time(const cJSON *obj, const char *key)
{
    time_t t = 0;
    const char *s = annotation(obj, key);
    if (s && ew_time_parse_rfc3339(s, &t) != 0)
        t = 0;
    return t;
}

static cJSON *home_secret(const struct mesh_ctx *ctx, const char *name)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%s/%s", ctx->mc->namespace_, name);
    cJSON *s = rt_store_get_copy(rt_reflector_store(ctx->mc->secrets), key.buf);
    strbuf_release(&key);
    return s;
}

/* ---- the facts ---- */

int rotation_cacerts_labelled(const struct mesh_ctx *ctx, const cJSON *live)
{
    const char *by =
        mesh_json_str(mesh_json_get(live, "metadata", "labels"), MESH_LABEL_MANAGED_BY, NULL);
    const char *m = mesh_json_str(mesh_json_get(live, "metadata", "labels"), MESH_LABEL_MESH, NULL);
    const char *uid = annotation(live, MESH_ANNOTATION_OWNER);
    return by && m && uid && *uid && strcmp(by, MESH_FIELD_MANAGER) == 0 &&
           strcmp(m, ctx->net->name) == 0;
}

/*
 * A change of root: the root this mesh last reported (status.rootCA) is not the mesh
 * root any more (rootSecretRef set, changed or removed), and a member's cacerts,
 * eastwest's by its labels, still holds the reported one. Then 1, and *old_pem gets that
 * root's certificate from the member's bundle. The reported root is the third mark
 * (cacerts.h) for a root eastwest no longer holds: a cacerts with another root stays
 * foreign. When a member cannot be read and none answered, *unknown is set: the status
 * must keep reporting the old root, or the mark would be lost.
 */
static int root_changed(const struct mesh_ctx *ctx, const struct member_result *res, size_t n,
                        char **old_pem, int *unknown)
{
    const char *reported =
        mesh_json_str(mesh_json_get(ctx->obj, "status", "rootCA"), "sha256Fingerprint", NULL);
    *old_pem = NULL;
    *unknown = 0;
    if (!reported || strcmp(reported, ctx->root_info.sha256) == 0)
        return 0;
    for (size_t i = 0; i < n && !*old_pem; i++) {
        if (!res[i].reachable || !res[i].synced || !res[i].member) {
            *unknown = 1;
            continue;
        }
        cJSON *cacerts = mesh_member_get(res[i].member, MESH_W_CACERTS, MESH_CACERTS_NAME);
        struct strbuf bundle = STRBUF_INIT;
        if (cacerts && rotation_cacerts_labelled(ctx, cacerts) &&
            mesh_secret_data(cacerts, "root-cert.pem", &bundle))
            *old_pem = mesh_ca_pem_find(bundle.buf, reported);
        strbuf_release(&bundle);
        cJSON_Delete(cacerts);
    }
    return *old_pem != NULL;
}

static const char *pem_of(const cJSON *obj, const char *key, struct strbuf *buf, int secret)
{
    if (secret)
        return mesh_secret_data(obj, key, buf) ? buf->buf : NULL;
    return mesh_json_str(mesh_json_get(obj, "data", NULL), key, NULL);
}

static void member_facts(struct mesh_ctx *ctx, const struct member_result *res,
                         struct mesh_rotation_member_facts *f)
{
    struct mesh_rotation_run *r = &ctx->rot;
    memset(f, 0, sizeof(*f));
    f->cluster = res->spec->name;
    f->reachable = res->reachable && res->synced && res->member;
    if (!f->reachable)
        return;
    cJSON *cacerts = mesh_member_get(res->member, MESH_W_CACERTS, MESH_CACERTS_NAME);
    cJSON *published = mesh_member_get(res->member, MESH_W_CONFIGMAPS, "istio-ca-root-cert");
    struct strbuf bundle = STRBUF_INIT, inter = STRBUF_INIT;
    const char *b = pem_of(cacerts, "root-cert.pem", &bundle, 1);
    f->bundle_has_old = b && mesh_ca_pem_contains(b, r->old_sha256);
    f->bundle_has_new = b && mesh_ca_pem_contains(b, r->next_info.sha256);
    const char *ic = pem_of(cacerts, "ca-cert.pem", &inter, 1);
    f->signed_by_new = ic && mesh_ca_verify_chain(ic, r->next.cert_pem, NULL) == MESH_OK;
    const char *p = pem_of(published, "root-cert.pem", NULL, 0);
    f->istiod_has_old = p && mesh_ca_pem_contains(p, r->old_sha256);
    f->istiod_has_new = p && mesh_ca_pem_contains(p, r->next_info.sha256);
    struct strbuf marker = STRBUF_INIT;
    strbuf_addf(&marker, ROTATION_MARKER_PREFIX "%s", r->next_info.sha256);
    /* the marker, or the new root alone: istiod loaded a cacerts with a new intermediate */
    f->istiod_signs_with_new =
        p && (strstr(p, marker.buf) != NULL || (f->istiod_has_new && !f->istiod_has_old));
    strbuf_release(&marker);
    strbuf_release(&bundle);
    strbuf_release(&inter);
    cJSON_Delete(cacerts);
    cJSON_Delete(published);
}

/* ---- home writes ---- */

static int home_write_failed(struct mesh_ctx *ctx, const char *what, struct kube_error *err)
{
    rt_record(&ctx->events, "Warning", "RootRotationWriteFailed", "Rotate", "%s: %s", what,
              err->message);
    kube_error_clear(err);
    ctx->failed = 1;
    ctx->rot.hold = 1;
    return -1;
}

static void set_annotation(cJSON *obj, const char *key, const char *value)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (!ann)
        ann = cJSON_AddObjectToObject(meta, "annotations");
    cJSON_DeleteItemFromObjectCaseSensitive(ann, key);
    cJSON_AddStringToObject(ann, key, value);
}

/* The -next Secret as the decision leaves it: the new root and the phase. */
static cJSON *build_next(const struct mesh_ctx *ctx, const cJSON *was, enum mesh_rotation_phase p,
                         const char *trigger, time_t now)
{
    char *name = rotation_next_secret_name(ctx->net);
    /* a change of root: the new root's key stays where it is (not copied); the old root's
     * certificate is kept here, as the members' bundles lose it */
    struct mesh_keypair cert_only = {ctx->rot.next.cert_pem, ""};
    cJSON *o = mesh_build_root_secret(ctx->net, ctx->mc->namespace_,
                                      ctx->rot.derived ? &cert_only : &ctx->rot.next);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name",
                                           cJSON_CreateString(name));
    if (ctx->rot.derived) {
        cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
        cJSON_DeleteItemFromObjectCaseSensitive(data, "tls.key");
        struct strbuf b64 = STRBUF_INIT;
        base64_encode(&b64, ctx->rot.old_pem, strlen(ctx->rot.old_pem));
        cJSON_AddStringToObject(data, DATA_OLD_ROOT, b64.buf);
        strbuf_release(&b64);
        cJSON_ReplaceItemInObjectCaseSensitive(o, "type", cJSON_CreateString("Opaque"));
    }
    free(name);
    char t[32];
    ew_time_format_rfc3339(now, t, sizeof(t));
    set_annotation(o, ANN_PHASE, mesh_rotation_phase_name(p));
    set_annotation(o, ANN_PHASE_STARTED, t);
    const char *started = was ? annotation(was, ANN_STARTED) : NULL;
    set_annotation(o, ANN_STARTED, started ? started : t);
    const char *trig = was ? annotation(was, ANN_TRIGGER) : trigger;
    set_annotation(o, ANN_TRIGGER, trig ? trig : "RotationRequest");
    const char *req = was ? annotation(was, ANN_REQUEST) : ctx->net->ca.rotation_request;
    set_annotation(o, ANN_REQUEST, req ? req : "");
    set_annotation(o, ANN_OLD_ROOT, ctx->rot.old_sha256);
    return o;
}

static int write_next(struct mesh_ctx *ctx, const cJSON *was, enum mesh_rotation_phase p,
                      const char *trigger, time_t now)
{
    cJSON *o = build_next(ctx, was, p, trigger, now);
    struct kube_error err = KUBE_ERROR_INIT;
    /* create when new: two replicas racing must not each make a root */
    cJSON *written = NULL;
    kube_code rc = was ? kube_apply(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, o,
                                    MESH_FIELD_MANAGER, 1, &written, &err)
                       : kube_create(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, o,
                                     NULL, &written, &err);
    cJSON_Delete(o);
    if (rc != KUBE_OK)
        return home_write_failed(ctx, "writing the new root's Secret", &err);
    /* the next reconcile decides from this phase, also before the watch brings it */
    rt_reflector_written(ctx->mc->secrets, written);
    return 0;
}

/* The mesh root Secret <mesh>-root-ca as the new root, recording the root it retired
 * and the request handled. */
static int write_retired(struct mesh_ctx *ctx, const char *request, time_t now)
{
    cJSON *o = mesh_build_root_secret(ctx->net, ctx->mc->namespace_, &ctx->rot.next);
    char t[32];
    ew_time_format_rfc3339(now, t, sizeof(t));
    set_annotation(o, ANN_REQUEST, request ? request : "");
    set_annotation(o, ANN_RETIRED, ctx->rot.old_sha256);
    set_annotation(o, ANN_RETIRED_AT, t);
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *written = NULL;
    kube_code rc = kube_apply(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, o,
                              MESH_FIELD_MANAGER, 1, &written, &err);
    cJSON_Delete(o);
    if (rc != KUBE_OK)
        return home_write_failed(ctx, "writing the new root into the mesh root's Secret", &err);
    rt_reflector_written(ctx->mc->secrets, written);
    return 0;
}

/* DropOld: the mesh root Secret becomes the new root; the old key is gone. */
static int swap_root(struct mesh_ctx *ctx, const cJSON *next_secret, time_t now)
{
    if (write_retired(ctx, annotation(next_secret, ANN_REQUEST), now) != 0)
        return -1;
    rt_record(&ctx->events, "Normal", "RootRetired", "Rotate",
              "the old root (sha256 %s) is retired: its key is deleted; the mesh root is now "
              "sha256 %s",
              ctx->rot.old_sha256, ctx->rot.next_info.sha256);
    /* this reconcile goes on with the new root as the mesh root */
    mesh_keypair_release(&ctx->root);
    ctx->root =
        (struct mesh_keypair){ew_strdup(ctx->rot.next.cert_pem), ew_strdup(ctx->rot.next.key_pem)};
    ctx->root_info = ctx->rot.next_info;
    free(ctx->rot.old_pem);
    ctx->rot.old_pem = NULL;
    return 0;
}

/* DropOld after a change of root: the new root is the mesh root already. A generated
 * root Secret of ours that still holds the old root (the mesh moved to a root of the
 * user's) is deleted: the old key goes. An old root that was the user's stays theirs.
 * A generated new root records the retirement, as swap_root does. Each step checks
 * what is there, so a kill -9 in between is taken up again; entered: DropOld began in
 * this reconcile (the Event for a key not eastwest's is sent then). */
static int retire_changed(struct mesh_ctx *ctx, int entered, time_t now)
{
    struct mesh_rotation_run *r = &ctx->rot;
    if (!ctx->net->ca.root_secret) {
        const char *retired = annotation(ctx->root_secret, ANN_RETIRED);
        if ((!retired || strcmp(retired, r->old_sha256) != 0) &&
            write_retired(ctx, annotation(ctx->root_secret, ANN_REQUEST), now) != 0)
            return -1;
        if (entered)
            rt_record(&ctx->events, "Normal", "RootRetired", "Rotate",
                      "the old root (sha256 %s) is retired; its key was not eastwest's; the mesh "
                      "root is now sha256 %s",
                      r->old_sha256, r->next_info.sha256);
        return 0;
    }
    char *name = mesh_root_secret_name(ctx->net);
    cJSON *generated = strcmp(name, ctx->net->ca.root_secret) ? home_secret(ctx, name) : NULL;
    struct strbuf crt = STRBUF_INIT;
    int holds_old = generated && mesh_secret_data(generated, "tls.crt", &crt) &&
                    mesh_ca_pem_contains(crt.buf, r->old_sha256);
    int rc = 0;
    if (holds_old) {
        struct kube_error err = KUBE_ERROR_INIT;
        kube_code k =
            kube_delete(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, name, NULL, &err);
        if (k != KUBE_OK && k != KUBE_E_NOT_FOUND)
            rc = home_write_failed(ctx, "deleting the old root's Secret", &err);
        else
            rt_record(&ctx->events, "Normal", "RootRetired", "Rotate",
                      "the old root (sha256 %s) is retired: its key (Secret %s/%s) is deleted; "
                      "the mesh root is now the one of rootSecretRef (sha256 %s)",
                      r->old_sha256, ctx->mc->namespace_, name, r->next_info.sha256);
        kube_error_clear(&err);
    } else if (entered) {
        rt_record(&ctx->events, "Normal", "RootRetired", "Rotate",
                  "the old root (sha256 %s) is retired; its key is not eastwest's: delete it "
                  "when nothing needs it; the mesh root is now sha256 %s",
                  r->old_sha256, r->next_info.sha256);
    }
    strbuf_release(&crt);
    cJSON_Delete(generated);
    free(name);
    return rc;
}

static int delete_next(struct mesh_ctx *ctx)
{
    char *name = rotation_next_secret_name(ctx->net);
    struct kube_error err = KUBE_ERROR_INIT;
    kube_code rc =
        kube_delete(ctx->mc->o.home, &KUBE_RES_SECRETS, ctx->mc->namespace_, name, NULL, &err);
    free(name);
    if (rc != KUBE_OK && rc != KUBE_E_NOT_FOUND)
        return home_write_failed(ctx, "deleting the new root's Secret", &err);
    kube_error_clear(&err);
    if (ctx->state) {
        struct mesh_state *st = ctx->state;
        snprintf(st->rotated_next, sizeof(st->rotated_next), "%s", ctx->rot.next_info.sha256);
        snprintf(st->rotated_old, sizeof(st->rotated_old), "%s", ctx->rot.old_sha256);
        ew_time_format_rfc3339(time(NULL), st->rotated_at, sizeof(st->rotated_at));
    }
    return 0;
}

/* ---- the step ---- */

/* A change of root's -next Secret: the new root's certificate, which must be the mesh
 * root (its key is taken from there), and the old root's certificate. */
static mesh_code load_changed(struct mesh_ctx *ctx, const cJSON *next, struct mesh_problem *p)
{
    struct mesh_rotation_run *r = &ctx->rot;
    struct strbuf crt = STRBUF_INIT, old = STRBUF_INIT;
    mesh_code rc = MESH_OK;
    if (!mesh_secret_data(next, "tls.crt", &crt) || !mesh_secret_data(next, DATA_OLD_ROOT, &old))
        rc = mesh_problem_set(p, "RootRotationInvalid",
                              "data tls.crt and " DATA_OLD_ROOT
                              " must both be present (base64 PEM)");
    else if (mesh_ca_inspect(crt.buf, NULL, &r->next_info, p) != MESH_OK)
        rc = MESH_E_INVALID;
    if (rc == MESH_OK) {
        r->next =
            (struct mesh_keypair){ew_strdup(ctx->root.cert_pem), ew_strdup(ctx->root.key_pem)};
        r->old_pem = strbuf_detach(&old, NULL);
    }
    strbuf_release(&crt);
    strbuf_release(&old);
    return rc;
}

/* The rotation under way is not to the mesh root as the spec now has it (rootSecretRef
 * changed again, or set during a rotation to a generated root): nothing is written
 * until the spec names it again. */
static int rotation_blocked(struct mesh_ctx *ctx)
{
    struct mesh_rotation_run *r = &ctx->rot;
    int blocked = r->derived ? strcmp(r->next_info.sha256, ctx->root_info.sha256) != 0
                             : ctx->net->ca.root_secret != NULL;
    if (!blocked)
        return 0;
    struct strbuf m = STRBUF_INIT;
    if (r->derived)
        strbuf_addf(&m,
                    "root rotation to sha256 %s held: the mesh root is now sha256 %s; set "
                    "certificateAuthority.rootSecretRef back to the Secret of the first to let "
                    "the rotation finish",
                    r->next_info.sha256, ctx->root_info.sha256);
    else
        strbuf_addf(&m,
                    "root rotation to a generated root (sha256 %s) held: "
                    "certificateAuthority.rootSecretRef was set while it ran; remove it to let the "
                    "rotation finish, then set it again",
                    r->next_info.sha256);
    rt_record(&ctx->events, "Warning", "RootRotationBlocked", "Rotate", "%s", m.buf);
    free(r->message);
    r->message = strbuf_detach(&m, NULL);
    return 1;
}

/* Read the -next Secret: the phase and the new root. 1 when a rotation runs. */
static int load_next(struct mesh_ctx *ctx, const cJSON *next, time_t *phase_started)
{
    struct mesh_rotation_run *r = &ctx->rot;
    int phase = mesh_rotation_phase_parse(annotation(next, ANN_PHASE));
    const char *trigger = annotation(next, ANN_TRIGGER);
    r->derived = trigger && strcmp(trigger, TRIGGER_CHANGED) == 0;
    struct mesh_problem p;
    mesh_problem_init(&p);
    int ok = phase > MESH_ROTATION_NONE &&
             (r->derived ? load_changed(ctx, next, &p)
                         : mesh_root_from_secret(next, "the new root's Secret", &r->next,
                                                 &r->next_info, &p)) == MESH_OK;
    if (!ok) {
        rt_record(&ctx->events, "Warning", "RootRotationInvalid", "Rotate",
                  "the new root's Secret cannot be read (annotation %s: %s)%s%s", ANN_PHASE,
                  annotation(next, ANN_PHASE) ? annotation(next, ANN_PHASE) : "missing",
                  p.message.len ? ": " : "", p.message.buf);
        mesh_problem_release(&p);
        ctx->failed = 1;
        return 0;
    }
    mesh_problem_release(&p);
    r->phase = (enum mesh_rotation_phase)phase;
    *phase_started = annotation_time(next, ANN_PHASE_STARTED);
    const char *old = annotation(next, ANN_OLD_ROOT);
    snprintf(r->old_sha256, sizeof(r->old_sha256), "%s", old ? old : ctx->root_info.sha256);
    if (!r->derived && strcmp(ctx->root_info.sha256, r->old_sha256) == 0)
        r->old_pem = ew_strdup(ctx->root.cert_pem);
    return !rotation_blocked(ctx);
}

/* Home's part of the decision; 0, or -1 (hold) when a write failed. */
static int carry_out(struct mesh_ctx *ctx, const cJSON *next,
                     const struct mesh_rotation_decision *d, time_t now)
{
    struct mesh_rotation_run *r = &ctx->rot;
    if (d->make_new_root && r->derived) { /* a change of root: the new is the mesh root */
        r->next =
            (struct mesh_keypair){ew_strdup(ctx->root.cert_pem), ew_strdup(ctx->root.key_pem)};
        r->next_info = ctx->root_info;
        if (write_next(ctx, NULL, d->phase, d->trigger, now) != 0)
            return -1;
    } else if (d->make_new_root) {
        struct mesh_problem p;
        mesh_problem_init(&p);
        if (mesh_ca_generate_root(ctx->net->ca.key_algorithm, ctx->net->ca.root_validity,
                                  ctx->net->name, &r->next, &p) != MESH_OK ||
            mesh_ca_inspect(r->next.cert_pem, NULL, &r->next_info, &p) != MESH_OK) {
            rt_record(&ctx->events, "Warning", "RootRotationFailed", "Rotate",
                      "making the new root: %s", p.message.buf);
            mesh_problem_release(&p);
            ctx->failed = 1;
            r->hold = 1;
            return -1;
        }
        mesh_problem_release(&p);
        if (write_next(ctx, NULL, d->phase, d->trigger, now) != 0)
            return -1;
    } else if (d->phase_changed && !d->finished &&
               write_next(ctx, next, d->phase, NULL, now) != 0) {
        return -1;
    }
    /* DropOld: entered now, or entered before a kill -9 that came ahead of the swap */
    int entered = d->phase_changed && d->phase == MESH_ROTATION_DROP_OLD;
    if (d->retire_old_root && r->derived && retire_changed(ctx, entered, now) != 0)
        return -1;
    if (d->retire_old_root && !r->derived &&
        strcmp(ctx->root_info.sha256, r->next_info.sha256) != 0 && swap_root(ctx, next, now) != 0)
        return -1;
    if (d->finished && delete_next(ctx) != 0)
        return -1;
    if (d->finished)
        rt_record(&ctx->events, "Normal", "RootRotated", "Rotate",
                  "the root rotation finished: every istiod publishes the new root (sha256 %s) "
                  "alone",
                  r->next_info.sha256);
    else if (d->phase_changed)
        rt_record(&ctx->events, "Normal", "RootRotationPhase", "Rotate",
                  "root rotation to sha256 %s: phase %s%s%s", r->next_info.sha256,
                  mesh_rotation_phase_name(d->phase), d->trigger ? ", started by " : "",
                  d->trigger ? d->trigger : "");
    return 0;
}

static void describe(struct mesh_ctx *ctx, const cJSON *next,
                     const struct mesh_rotation_decision *d, time_t now)
{
    struct mesh_rotation_run *r = &ctx->rot;
    cJSON *s = r->status = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(s, "phase", mesh_rotation_phase_name(d->phase));
    const char *trig = next ? annotation(next, ANN_TRIGGER) : d->trigger;
    cJSON_AddStringToObject(s, "trigger", trig ? trig : "");
    const char *started = next ? annotation(next, ANN_STARTED) : NULL;
    ew_time_format_rfc3339(now, t, sizeof(t));
    cJSON_AddStringToObject(s, "started", started ? started : t);
    const char *ps = next && !d->phase_changed ? annotation(next, ANN_PHASE_STARTED) : NULL;
    cJSON_AddStringToObject(s, "phaseStarted", ps ? ps : t);
    cJSON_AddStringToObject(s, "newSha256Fingerprint", r->next_info.sha256);
    cJSON_AddStringToObject(s, "waiting", d->waiting.buf);
    struct strbuf m = STRBUF_INIT;
    strbuf_addf(&m, "root rotation, phase %s", mesh_rotation_phase_name(d->phase));
    if (d->waiting.len)
        strbuf_addf(&m, ": waiting for %s", d->waiting.buf);
    else if (d->phase == MESH_ROTATION_OVERLAP)
        strbuf_addf(&m, ": the old root stays trusted for %.0f s more", d->requeue_after);
    r->message = strbuf_detach(&m, NULL);
}

static void describe_last(struct mesh_ctx *ctx, const cJSON *root_secret)
{
    const char *retired = annotation(root_secret, ANN_RETIRED);
    const char *at = annotation(root_secret, ANN_RETIRED_AT);
    if ((!retired || !at) && ctx->net->ca.root_secret && ctx->state && ctx->state->rotated_old[0]) {
        /* the user's root Secret is never written: what this process saw finish, as the
         * MeshNetwork in the cache may not have its status yet */
        cJSON *l = ctx->rot.last = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "retiredSha256Fingerprint", ctx->state->rotated_old);
        cJSON_AddStringToObject(l, "retiredAt", ctx->state->rotated_at);
        return;
    }
    if ((!retired || !at) && ctx->net->ca.root_secret) {
        /* and after a restart, what the status recorded */
        const cJSON *last = mesh_json_get(ctx->obj, "status", "rootCA");
        last = cJSON_GetObjectItemCaseSensitive(last, "lastRotation");
        if (cJSON_IsObject(last))
            ctx->rot.last = cJSON_Duplicate(last, 1);
        return;
    }
    if (!retired || !at)
        return;
    cJSON *l = ctx->rot.last = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "retiredSha256Fingerprint", retired);
    cJSON_AddStringToObject(l, "retiredAt", at);
}

void rotation_mark_new_root(const struct mesh_network *net, cJSON *root_secret)
{
    if (net->ca.rotation_request && *net->ca.rotation_request)
        set_annotation(root_secret, ANN_REQUEST, net->ca.rotation_request);
}

void rotation_run(struct mesh_ctx *ctx, struct member_result *res, size_t n)
{
    struct mesh_rotation_run *r = &ctx->rot;
    if (!ctx->root_ok)
        return; /* no root: nothing rotates */
    /* the user's own root is renewed by the user (a change of rootSecretRef rotates) */
    int users = ctx->net->ca.root_secret != NULL;
    const cJSON *root_secret = ctx->root_secret;
    char *next_name = rotation_next_secret_name(ctx->net);
    cJSON *next = home_secret(ctx, next_name);
    free(next_name);
    time_t now = time(NULL), phase_started = 0;
    struct mesh_rotation_facts f = {
        .now = now,
        .root_not_after = users ? 0 : ctx->root_info.not_after,
        .root_renew_before = ctx->net->ca.root_renew_before,
        .rotation_request = users ? NULL : ctx->net->ca.rotation_request,
        .handled_request = annotation(root_secret, ANN_REQUEST),
        .overlap = ctx->net->ca.rotation_overlap,
        .nmembers = n,
    };
    describe_last(ctx, root_secret);
    char *changed_old = NULL;
    int unknown = 0;
    if (!next)
        f.root_ref_changed = root_changed(ctx, res, n, &changed_old, &unknown);
    r->keep_reported_root = unknown;
    if (!next && !mesh_rotation_trigger(&f)) {
        /* the steady state: the root was read already; nothing to decide or write */
        cJSON_Delete(next);
        if (!users)
            r->requeue_after = (double)(f.root_not_after - now) - f.root_renew_before;
        return;
    }
    const char *next_old = annotation(next, ANN_OLD_ROOT);
    if (next && ctx->state && ctx->state->rotated_next[0] && next_old &&
        strcmp(next_old, ctx->state->rotated_old) == 0 &&
        strcmp(ctx->root_info.sha256, ctx->state->rotated_next) == 0) {
        cJSON_Delete(next); /* deleted when the rotation finished; the cache lags */
        next = NULL;
    }
    if (next && !load_next(ctx, next, &phase_started)) {
        r->hold = r->active = 1; /* a rotation whose state cannot be read writes nothing */
        goto out;
    }
    if (!next && f.root_ref_changed) { /* the old root: the one last reported */
        r->derived = 1;
        const char *reported =
            mesh_json_str(mesh_json_get(ctx->obj, "status", "rootCA"), "sha256Fingerprint", NULL);
        snprintf(r->old_sha256, sizeof(r->old_sha256), "%s", reported ? reported : "");
    } else if (!next) {
        snprintf(r->old_sha256, sizeof(r->old_sha256), "%s", ctx->root_info.sha256);
    }
    f.phase = r->phase;
    /* recorded in whole seconds: a phase is never taken to be older than it is */
    f.phase_started = phase_started ? phase_started + 1 : 0;
    struct mesh_rotation_member_facts *mf = ew_calloc(n ? n : 1, sizeof(*mf));
    for (size_t i = 0; next && i < n; i++)
        member_facts(ctx, &res[i], &mf[i]);
    for (size_t i = 0; !next && i < n; i++)
        mf[i].cluster = res[i].spec->name;
    f.members = mf;
    struct mesh_rotation_decision d;
    mesh_rotation_decide(&f, &d);
    if (d.make_new_root) {
        r->old_pem = r->derived ? changed_old : ew_strdup(ctx->root.cert_pem);
        changed_old = NULL;
    }
    if (carry_out(ctx, next, &d, now) == 0) {
        r->phase = d.phase;
        r->active = d.phase != MESH_ROTATION_NONE;
        r->plans = d.members;
        d.members = NULL;
        r->requeue_after = d.requeue_after ? d.requeue_after : POLL_SECONDS;
        if (r->active)
            describe(ctx, next, &d, now);
    } else {
        r->active = 1; /* hold: nothing written to members */
        /* a change of root not recorded: the status must still name the old one */
        r->keep_reported_root = r->keep_reported_root || (!next && r->derived);
    }
    if (d.finished) {
        cJSON_Delete(r->last);
        r->last = NULL;
        cJSON *ann = cJSON_CreateObject(); /* as swap_root wrote it, if it ran before */
        cJSON_AddStringToObject(ann, "retiredSha256Fingerprint", r->old_sha256);
        char t[32];
        ew_time_format_rfc3339(now, t, sizeof(t));
        const char *at = annotation(root_secret, ANN_RETIRED_AT);
        cJSON_AddStringToObject(ann, "retiredAt", at ? at : t);
        r->last = ann;
    }
    mesh_rotation_decision_release(&d);
    free(mf);
out:
    free(changed_old);
    cJSON_Delete(next);
}
