/*
 * network_recorded: the MeshNetwork a deletion cleans by when its spec cannot
 * be parsed (the API server admitted it, the operator's parse refuses it).
 *
 * Nothing of such a spec can be computed, but what the mesh wrote can still be
 * found: every object it wrote in a member carries its label, and its status
 * records where the members are. So the deletion runs as for a readable spec,
 * on a MeshNetwork rebuilt from what was recorded:
 *   - the members: status.clusters (each with its kubeconfigSecretRef; none for
 *     the home cluster), and spec.clusters entries that still read as a name
 *     (and a kubeconfigSecretRef) for any the status has not recorded yet;
 *     status.removedClusters is read by the removed-member step as always;
 *   - the Istio namespace: status.istioNamespace, else spec.istioNamespace when
 *     it is a string, else the default istio-system;
 *   - cacerts: deleted only with spec.certificateAuthority.onDelete exactly
 *     "Delete" (otherwise Retain, the default: never delete on a doubt), and
 *     only a cacerts with the mesh root, as always; the root Secret is
 *     rootSecretRef's name when that reads as a string, else the generated one.
 * status.istioNamespace is written together with the members' refs: a status
 * without it (written before they were recorded) says nothing of where a member
 * with no kubeconfigSecretRef is, so such a member not named in a readable
 * spec.clusters entry is unknown. An unknown member keeps the finalizer (the
 * caller says so): a read that failed is never a reason to delete or let go.
 */
#ifndef EW_MESH_NETWORK_RECORDED_H
#define EW_MESH_NETWORK_RECORDED_H

#include "api.h"
#include "base/strbuf.h"

/* Fill out (release with mesh_network_release) from obj's metadata, status and what
 * reads of its spec. The names of members whose place is unknown are appended to
 * unknown ("a, b"); out lists only the others. */
void mesh_network_recorded(const cJSON *obj, struct mesh_network *out, struct strbuf *unknown);

#endif
