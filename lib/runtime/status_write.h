/*
 * status_write: writing a controller's status to its object's status
 * subresource, only when it changed.
 *
 * The controller computes the whole status of an object on every reconcile
 * (level-triggered); writing it each time would make a steady state cost a
 * request per reconcile and wake every watcher. So the new status is compared
 * with the one the object has, and written only when it differs, as one JSON
 * merge patch of the status subresource: fields of the old status that the new
 * one lacks are set to null so that they go.
 */
#ifndef EW_RT_STATUS_WRITE_H
#define EW_RT_STATUS_WRITE_H

#include "kube/client.h"

/* Write status (a complete status object, consumed) to obj's status subresource
 * unless obj already has exactly that status. *written (may be NULL) is the object
 * the server returned when it wrote (the caller's to free; rt_reflector_written
 * takes it), else NULL. */
kube_code rt_status_write(struct kube_client *c, const struct kube_resource *r, const cJSON *obj,
                          cJSON *status, cJSON **written, struct kube_error *err);

#endif
