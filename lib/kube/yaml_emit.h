/*
 * yaml_emit: a cJSON tree as one YAML document, the way kubectl prints one
 * (the reverse of yaml_json.h), with libyaml's emitter.
 *
 * Block style, 2-space indent, sequences not indented under their key (as
 * kubectl's go-yaml writes them), no line folding. Numbers, booleans and null are
 * plain scalars; a string is plain unless a YAML reader would take it for
 * something else: empty, null/~, a YAML 1.1 boolean (true, yes, on, y, in any
 * common case), or a number (80, 1e3, 0x1F, .5, .inf) are written double-quoted
 * ("80"), as kubectl does; what libyaml itself cannot write plain (a leading "*",
 * ": " inside, leading spaces) it quotes; strings with line breaks are literal
 * blocks (|). Reading the output back with yaml_to_json gives the same tree.
 * Empty objects and arrays are {} and [].
 */
#ifndef EW_KUBE_YAML_EMIT_H
#define EW_KUBE_YAML_EMIT_H

#include "../base/strbuf.h"
#include "kube_error.h"

#include <cjson/cJSON.h>

/* v into out (cleared first), without a "---" line. Fails (KUBE_E_ARG: a string
 * that is not UTF-8, nesting deeper than 64) with out released. */
kube_code kube_yaml_emit(const cJSON *v, struct strbuf *out, struct kube_error *err);

/* Whether a plain scalar s would be read as something other than the string s. */
int kube_yaml_needs_quotes(const char *s);

#endif
