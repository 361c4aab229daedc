/*
 * conditions: metav1.Condition lists and status writes for eastwest's resources.
 *
 * A condition keeps its lastTransitionTime while its status stays the same
 * (reason and message may change without a transition), as the Kubernetes API
 * conventions ask. A status is written only when it differs from the one the
 * object has, so a steady state makes no writes.
 */
#ifndef EW_MESH_CONDITIONS_H
#define EW_MESH_CONDITIONS_H

#include "kube/client.h"

#include <stdint.h>

enum mesh_cond_status { MESH_COND_FALSE = 0, MESH_COND_TRUE = 1, MESH_COND_UNKNOWN = 2 };

/* Append {type, status, reason, message, observedGeneration, lastTransitionTime} to arr;
 * old (an array of conditions or NULL) supplies lastTransitionTime when the status of
 * that type has not changed. generation < 0 leaves observedGeneration out. */
void mesh_condition_add(cJSON *arr, const cJSON *old, const char *type,
                        enum mesh_cond_status status, const char *reason, const char *message,
                        int64_t generation);
/* "True", "False", "Unknown", or NULL when arr has no condition of that type. */
const char *mesh_condition_status(const cJSON *arr, const char *type);

/* Write status (a complete status object, consumed) to obj's status subresource
 * unless obj already has exactly that status. *written says whether it did. */
kube_code mesh_status_write(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                            cJSON *status, int *written, struct kube_error *err);

#endif
