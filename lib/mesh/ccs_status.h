/*
 * ccs_status: a CrossClusterService's status from what one reconcile found and
 * did, as a pure function: no I/O, no clock. The controller (ccs.c) fills the
 * member views from the MeshNetwork's status and its caches, writes each member
 * as ccs_desired.h decides, and writes what is built here.
 *
 * host and address; from and to (the exporters and importers, comma-separated);
 * per member with a role: role, ready, an exporter's endpoints, an importer's
 * gateways (the other exporters' addresses, port 15443, but not those of an exporter
 * whose Service is gone), an exporter's reason and message when something is wrong
 * with it (BackingServiceNotFound, BackingServiceUnknown, PortConflict, ...); the
 * conditions Exported (every exporter's backing Service usable; else
 * BackingServiceNotFound when one is known gone, or BackingServiceNotReady), Imported
 * (every importer written, with an endpoint; else NotWritten, ForeignObject,
 * WaitingForIdentity (no identity of the exporters' workloads known: no importer entry
 * is written), PortsUnknown (no port known: importers keep what they have),
 * ClusterUnreachable or NoEndpoints), Conflict (False; True with reason PortConflict
 * when the exporters' Services differ in their ports: the first exporter's win, the
 * message names both clusters and the port) and Ready. A CrossClusterService that
 * cannot be worked on (a conflict, an invalid spec, its MeshNetwork missing or deleting)
 * gets Ready=False with the reason, and keeps what its status last said of the members.
 *
 * Where it wrote: status.meshNetwork and status.writtenClusters name the mesh and
 * its members where its objects may be. They are recorded with the status of the
 * reconcile that writes there (before the write, when the mesh gains a member), kept
 * by every blocked status, and read back when it moves to another mesh (the old one
 * is cleaned first) and when it is deleted, even with a spec the operator cannot
 * parse: cleanup goes by what was written, never by a spec that can no longer be read.
 */
#ifndef EW_MESH_CCS_STATUS_H
#define EW_MESH_CCS_STATUS_H

#include "api.h"

#include <stdint.h>

/* What the MeshNetwork's status and the caches say of one member, in one reconcile. */
struct member_view {
    const struct mesh_cluster *spec;
    int reachable;
    char **addresses;
    size_t naddresses;
    int exporter, importer;
    /* exporter facts */
    cJSON *selector; /* its backing Service's selector */
    int endpoints;   /* ready pods */
    int ready;       /* the backing Service is usable */
    struct strbuf problem;
    /* issue 32: its backing Service is known gone (NotFound in a synced cache): its
     * endpoints are withdrawn from the importers. Unknown (caches not synced) is not gone. */
    int gone;
    cJSON *service;          /* that Service as cached; NULL: gone or unknown */
    struct mesh_port *ports; /* its exporter ServiceEntry's ports (its own target ports) */
    size_t nports;
    char reason[64];        /* status.clusters[].reason; "": none */
    struct strbuf conflict; /* its ports against the winning exporter's (PortConflict) */
};

struct mesh_ccs_outcome {
    int64_t generation;
    const char *host, *address;
    const struct member_view *members; /* one per spec.clusters[] of the mesh */
    size_t nmembers;
    int write_errors, unreachable; /* why Imported is False, by kind */
    int waiting_for_identity;      /* importers left without their entry: no identity known */
    int namespace_missing;         /* NamespaceMissing: not created (serviceClaims) */
    const char *write_problem;     /* "" or NULL: every importer written */
    int foreign;       /* members where a foreign object of its name was left alone (foreign.h) */
    int gone;          /* exporters whose backing Service is known gone: BackingServiceNotFound */
    int ports_unknown; /* importers kept as they are: no port known (PortsUnknown) */
    const char *mesh_network;  /* the mesh written in: status.meshNetwork (NULL: none) */
    const char *port_conflict; /* "" or NULL: the exporters' Services agree (Conflict) */
};

/* The reason of Imported and Ready while no identity is known (see above). */
#define MESH_CCS_WAITING_FOR_IDENTITY "WaitingForIdentity"
/* Conflict=True's reason when exporters' Services differ in their ports (issue 32). */
#define MESH_CCS_PORT_CONFLICT "PortConflict"

/* Set st's meshNetwork to mesh and writtenClusters to the n members' names (mesh NULL:
 * leave st as it is). */
void mesh_ccs_status_record(cJSON *st, const char *mesh, const struct member_view *members,
                            size_t n);
/* 1 when obj's status already records mesh with each of the n members. */
int mesh_ccs_status_records(const cJSON *obj, const char *mesh, const struct member_view *members,
                            size_t n);
/* old: the status's conditions as last written (may be NULL). */
cJSON *mesh_ccs_status(const cJSON *old, const struct mesh_ccs_outcome *o);
/* Ready=False with reason and message (Conflict True when conflict); obj: the
 * CrossClusterService as read, whose status's host, address, from, to and clusters stay. */
cJSON *mesh_ccs_blocked_status(const cJSON *obj, int64_t gen, const char *reason, const char *msg,
                               int conflict);

#endif
