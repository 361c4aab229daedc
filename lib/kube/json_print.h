/*
 * json_print: a cJSON tree as JSON the way kubectl -o json prints it: 2-space
 * indent, "key": value with one space, one member per line, empty objects and
 * arrays as {} and []. Scalars keep cJSON's own text (its escaping and number
 * format), so only the layout differs from cJSON_Print's tabs.
 */
#ifndef EW_KUBE_JSON_PRINT_H
#define EW_KUBE_JSON_PRINT_H

#include "../base/strbuf.h"

#include <cjson/cJSON.h>

/* Appends v to out, without a final newline. */
void kube_json_print(const cJSON *v, struct strbuf *out);

#endif
