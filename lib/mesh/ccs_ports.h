/*
 * ccs_ports: which ports a CrossClusterService exports when it is written from
 * incomplete knowledge, or from exporters that disagree (issue 32). Pure: no I/O.
 *
 * The rule (docs/design.md, "Ports"):
 *   - spec.ports, when given, is the service's ports, whatever the exporters' Services
 *     say or whether any is known; each exporter's own ServiceEntry takes its target
 *     ports from its own Service;
 *   - else the first exporter in spec.exportFrom whose backing Service is not known
 *     gone defines them: its Service's ports when its cache has it; when its Service is
 *     only unknown (caches not synced, list failing), the ports the importers' entries
 *     already have (KeepLastKnown), and only when none has an entry, the next exporter;
 *     when every exporter's Service is gone or unusable, what the importers have;
 *   - the ports of every other exporter's Service are compared with the winning one:
 *     a port number one has and the other lacks, or that they name or type
 *     differently, is a conflict (Conflict=True, PortConflict, naming both clusters and
 *     the port), never merged: the winning definition is what importers get;
 *   - no port known at all: importers keep what they have (ccs_desired.h).
 * Multi-Cluster Services (KEP-1645) resolves a conflict by the oldest export; here the
 * order is the user's, spec.exportFrom, which a Service re-created does not change.
 */
#ifndef EW_MESH_CCS_PORTS_H
#define EW_MESH_CCS_PORTS_H

#include "api.h"

#include <cjson/cJSON.h>

/* The ports of a written importer ServiceEntry (spec.ports: number, name, protocol) into
 * *out (mesh_service_ports_free; protocol points at a static string). Returns the
 * count; 0 and *out NULL when it has none usable. */
size_t mesh_ccs_entry_ports(const cJSON *entry, struct mesh_port **out);

/* One exporter's ServiceEntry ports: def (the service's ports, its own target ports
 * ignored) with the target ports of svc (its backing Service), as mesh_service_ports
 * gives them. ndef 0: svc's own ports. Same contract as mesh_service_ports. */
size_t mesh_ccs_exporter_ports(const cJSON *svc, const struct mesh_port *def, size_t ndef,
                               const char *desc, struct mesh_port **out, struct mesh_problem *p);

/* Compare the ports of winner's Service (w, nw; described wdesc: "cluster eu's Service
 * echo/echo") with other's (o, no; odesc). Each difference is appended to msg ("; "
 * between them). Returns the number of differences. */
int mesh_ccs_ports_compare(const struct mesh_port *w, size_t nw, const char *wdesc,
                           const struct mesh_port *o, size_t no, const char *odesc,
                           struct strbuf *msg);

#endif
