/*
 * rotate-root: start a rotation of a MeshNetwork's generated root now
 * (docs/certificates.md). It is the same as setting
 * spec.certificateAuthority.rotationRequest to a new value, which is all it does: a
 * merge patch with the current time, made only against the resourceVersion it read, so
 * a concurrent change to the MeshNetwork fails instead of being overwritten. The
 * operator does the rest, phase by phase.
 *
 * It refuses a mesh whose root is the user's own (rootSecretRef: eastwest makes no root
 * for it; pointing rootSecretRef at a new root's Secret rotates it) and a mesh whose
 * rotation is still running (a request made during one would start a second rotation
 * as soon as the first ends).
 */
#include "plugin.h"
#include "connect.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "mesh/objects.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const cJSON *field(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (v && b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (v && c)
        v = cJSON_GetObjectItemCaseSensitive(v, c);
    return v;
}

/* 0 when mesh may be asked to rotate, else 1 after saying why. */
static int check_rotatable(const char *name, const cJSON *mesh)
{
    const cJSON *ca = field(mesh, "spec", "certificateAuthority", NULL);
    if (cJSON_GetObjectItemCaseSensitive(ca, "rootSecretRef")) {
        fprintf(stderr,
                "kubectl-eastwest: meshnetwork %s: spec.certificateAuthority.rootSecretRef "
                "names a root of your own: eastwest makes no new one; to rotate it, put the new "
                "root in another Secret and point rootSecretRef at it (docs/certificates.md)\n",
                name);
        return 1;
    }
    const cJSON *phase = field(mesh, "status", "rootCA", "rotation");
    phase = cJSON_GetObjectItemCaseSensitive(phase, "phase");
    if (cJSON_IsString(phase)) {
        fprintf(stderr,
                "kubectl-eastwest: meshnetwork %s: a root rotation is running (phase %s); "
                "nothing changed. Watch it with: kubectl get meshnetwork %s -w\n",
                name, phase->valuestring, name);
        return 1;
    }
    return 0;
}

static int request(struct kube_client *home, const char *name, const char *rv)
{
    char now[32];
    ew_time_format_rfc3339(time(NULL), now, sizeof(now));
    struct strbuf patch = STRBUF_INIT;
    strbuf_addf(&patch,
                "{\"metadata\":{\"resourceVersion\":\"%s\"},"
                "\"spec\":{\"certificateAuthority\":{\"rotationRequest\":\"%s\"}}}",
                rv, now);
    struct kube_patch_options po = {.type = KUBE_PATCH_MERGE,
                                    .field_manager = PLUGIN_FIELD_MANAGER};
    struct kube_error err = KUBE_ERROR_INIT;
    int rc = 0;
    if (kube_patch(home, &MESH_RES_MESHNETWORKS, NULL, name, patch.buf, patch.len, &po, NULL,
                   &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: meshnetwork %s: setting rotationRequest: %s\n", name,
                err.message);
        rc = 1;
    } else
        printf("meshnetwork %s: root rotation requested "
               "(spec.certificateAuthority.rotationRequest=%s)\n"
               "watch it: kubectl get meshnetwork %s -w\n",
               name, now, name);
    kube_error_clear(&err);
    strbuf_release(&patch);
    return rc;
}

int plugin_rotate_root(const struct plugin_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "kubectl-eastwest: usage: rotate-root MESH\n");
        return 2;
    }
    const char *name = o->args[0];
    struct plugin_conn home;
    if (plugin_connect_home(o, &home))
        return 1;
    struct kube_error err = KUBE_ERROR_INIT;
    cJSON *mesh = NULL;
    int rc;
    if (kube_get(home.client, &MESH_RES_MESHNETWORKS, NULL, name, &mesh, &err) != KUBE_OK) {
        fprintf(stderr, "kubectl-eastwest: reading meshnetwork %s: %s\n", name, err.message);
        rc = 1;
    } else if ((rc = check_rotatable(name, mesh)) == 0) {
        const cJSON *rv = field(mesh, "metadata", "resourceVersion", NULL);
        rc = request(home.client, name, cJSON_IsString(rv) ? rv->valuestring : "");
    }
    cJSON_Delete(mesh);
    kube_error_clear(&err);
    plugin_disconnect(&home);
    return rc;
}
