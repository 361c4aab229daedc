/*
 * conditions: metav1.Condition lists for eastwest's resources.
 *
 * A condition keeps its lastTransitionTime while its status stays the same
 * (reason and message may change without a transition), as the Kubernetes API
 * conventions ask. The status that holds them is written by rt_status_write
 * (runtime/status_write.h), only when it differs from the object's.
 */
#ifndef EW_MESH_CONDITIONS_H
#define EW_MESH_CONDITIONS_H

#include "kube/client.h"

#include <stddef.h>
#include <stdint.h>

enum mesh_cond_status { MESH_COND_FALSE = 0, MESH_COND_TRUE = 1, MESH_COND_UNKNOWN = 2 };

/* The CRDs' maxLength of a condition's message (characters), and what ends a message
 * cut to fit it. */
#define MESH_COND_MESSAGE_MAX 32768
#define MESH_COND_TRUNCATED   " ... (truncated)"

/* How many bytes of message to keep so that they, and MESH_COND_TRUNCATED after them
 * when not all of message is kept, fit in max bytes: strlen(message) when it fits, else
 * a cut at a UTF-8 character boundary. */
size_t mesh_condition_fit(const char *message, size_t max);

/* Append {type, status, reason, message, observedGeneration, lastTransitionTime} to arr;
 * old (an array of conditions or NULL) supplies lastTransitionTime when the status of
 * that type has not changed. generation < 0 leaves observedGeneration out. A message
 * longer than MESH_COND_MESSAGE_MAX is cut to fit, ending in MESH_COND_TRUNCATED. */
void mesh_condition_add(cJSON *arr, const cJSON *old, const char *type,
                        enum mesh_cond_status status, const char *reason, const char *message,
                        int64_t generation);
/* "True", "False", "Unknown", or NULL when arr has no condition of that type. */
const char *mesh_condition_status(const cJSON *arr, const char *type);

#endif
