/*
 * yaml_json: read a YAML (or JSON) document into a cJSON tree with libyaml.
 *
 * Kubernetes documents are plain data, so only mappings, sequences and scalars
 * are needed. Scalars follow YAML 1.1 core-schema resolution the way
 * Kubernetes' sigs.k8s.io/yaml does for the types we read: plain null/~ ->
 * null, true/false -> bool, integers and floats -> number, everything else (and
 * every quoted scalar) -> string. Anchors and aliases are refused (a kubeconfig
 * does not need them, and alias expansion is a denial-of-service vector).
 * Multi-document input: the first document is read.
 *
 * Errors carry the line and column from libyaml.
 */
#ifndef EW_KUBE_YAML_JSON_H
#define EW_KUBE_YAML_JSON_H

#include "kube_error.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* On success *out is a new tree owned by the caller (cJSON_Delete). An empty
 * document yields a cJSON null. Errors: KUBE_E_CONFIG with "line L column C: ...". */
kube_code yaml_to_json(const char *data, size_t len, cJSON **out, struct kube_error *err);
/* Every document of a stream ("---" separated), as a JSON array; empty documents are
 * skipped. */
kube_code yaml_to_json_all(const char *data, size_t len, cJSON **out, struct kube_error *err);

#endif
