/*
 * host_name: is a CrossClusterService's host a name Istio accepts? (issue 32)
 *
 * Every host a mesh exports is listed in one Gateway per exporting member
 * (cross-network-gateway, objects.c), and istiod's validation refuses a whole Gateway
 * for one bad host: one service's name would stop every service of that member. The
 * CRD refuses a bad spec.host at admission, but the default host
 * <name>.<namespace>.<meshID>.global is put together by the operator (metadata.name
 * may hold a label longer than 63 characters, and the total may pass 253), and an
 * object stored before the CRD said so is still read. So the operator checks the host
 * it would use with these rules too, and a host that fails them claims nothing, is
 * written nowhere, and opens no Gateway (claims.c, roles.c).
 *
 * The rules are Istio's for Gateway and ServiceEntry hosts (ValidateWildcardDomain in
 * pkg/config/validation), kept a little stricter where the CRD already is: at most 253
 * characters (Istio: 255), labels of 1 to 63 characters of a-z, 0-9 and '-', neither
 * starting nor ending with '-' (Istio allows upper case; the CRD does not), and a last
 * label that is not all digits (Istio refuses it: an IP address is not a host).
 * Wildcards are not hosts a service can have.
 */
#ifndef EW_MESH_HOST_NAME_H
#define EW_MESH_HOST_NAME_H

#include "api.h"

#define MESH_HOST_MAX  253
#define MESH_LABEL_MAX 63

/* MESH_OK, or MESH_E_INVALID with p (may be NULL) set to reason InvalidHost and a
 * message naming host and what is wrong with it. */
mesh_code mesh_host_check(const char *host, struct mesh_problem *p);

/* mesh_host_check on the host c uses in mesh n (host: mesh_ccs_host's), with a message
 * naming the field to change: spec.host, or for the default host metadata.name (the
 * part the user chose), saying that spec.host can be set instead. */
mesh_code mesh_ccs_host_check(const struct mesh_ccs *c, const struct mesh_network *n,
                              const char *host, struct mesh_problem *p);

#endif
