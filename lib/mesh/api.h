/*
 * api: MeshNetwork and CrossClusterService objects as C structs.
 *
 * The parser reads the JSON the API server stores (already validated by the
 * CRD schema and CEL rules) and applies the same defaults again, so objects
 * from older API servers or from tests without defaulting read the same. It
 * still checks every field it uses, because "admitted" is not "sane" (an
 * object written before a schema change, a defaulting bug): a problem becomes
 * a reason and a message for a status condition, never a crash.
 *
 * What admission cannot check (a member named in exportFrom that is not in the
 * MeshNetwork, a kubeconfig Secret that does not exist) is checked by
 * mesh_ccs_check_members and mesh_network_check_secrets, with the same kind of
 * reason and message.
 *
 * Ownership, one rule for every parser and reader in lib/mesh (this file,
 * istio_check.h, cacerts.h, members.h, ccs_objects.h, ca.h), as in lib/kube:
 *   - every struct owns its strings and arrays; *_release frees them and leaves
 *     the struct empty (zeroed), so releasing a zeroed or released one is safe;
 *   - a function that parses or reads into an out-parameter (mesh_network_parse,
 *     mesh_ccs_parse, mesh_istio_read, mesh_root_from_secret,
 *     mesh_member_config_from_secret, mesh_service_ports, mesh_secret_data,
 *     mesh_ca_generate_root, mesh_ca_issue_intermediate) clears it first; when it
 *     succeeds the caller owns the result and releases it; when it fails it has
 *     released the out-parameter itself and left it zeroed (empty), so the caller
 *     has nothing to release - and may still call *_release, which does nothing.
 * The one function that hands back a result with a problem is
 * mesh_gateway_addresses (gateway_addresses.h): its addresses are real even when unusable,
 * so its caller frees them in every case, as it says there.
 */
#ifndef EW_MESH_API_H
#define EW_MESH_API_H

#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mesh_code { MESH_OK = 0, MESH_E_INVALID } mesh_code;

/* Why an object cannot be used: reason (CamelCase, for a condition) and message. */
struct mesh_problem {
    char reason[64];
    struct strbuf message;
};
void mesh_problem_init(struct mesh_problem *p);
void mesh_problem_release(struct mesh_problem *p);
mesh_code mesh_problem_set(struct mesh_problem *p, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

enum mesh_exposure { MESH_EXPOSE_EXPORTED_ONLY, MESH_EXPOSE_ALL_LOCAL };
enum mesh_key_algorithm { MESH_KEY_ECDSA_P256, MESH_KEY_RSA_3072, MESH_KEY_RSA_4096 };
enum mesh_on_delete { MESH_CA_RETAIN, MESH_CA_DELETE };
enum mesh_partition_policy { MESH_KEEP_LAST_KNOWN, MESH_WITHDRAW };

struct mesh_string_pair {
    char *key;
    char *value;
};

struct mesh_cluster {
    char *name;
    char *network;
    char *locality;    /* may be NULL */
    char *secret_name; /* NULL: the home cluster */
    char *secret_key;  /* "kubeconfig" by default */
};

/* spec.serviceClaims: what the mesh's CrossClusterServices may claim (claims.h). */
struct mesh_claims {
    char **namespaces; /* NULL with nnamespaces 0: any namespace */
    size_t nnamespaces;
    int namespaces_set;
    char **hosts; /* patterns; never empty after parsing (the default) */
    size_t nhosts;
    char **addresses; /* CIDRs for spec.address besides the vipRange */
    size_t naddresses;
    int create_namespaces;
};

struct mesh_network {
    char *name;
    char *uid;
    int64_t generation;
    char *mesh_id;
    char *trust_domain;
    char *istio_namespace;
    struct mesh_cluster *clusters;
    size_t nclusters;
    struct {
        int replicas;
        char *service_type;
        struct mesh_string_pair *annotations;
        size_t nannotations;
        char **source_ranges;
        size_t nsource_ranges;
        cJSON *resources; /* copy of spec.eastWestGateway.resources, or NULL */
        enum mesh_exposure exposure;
    } gateway;
    struct {
        enum mesh_key_algorithm key_algorithm;
        double root_validity;         /* seconds */
        double intermediate_validity; /* seconds */
        double renew_before;          /* seconds */
        double root_renew_before;     /* seconds: a generated root this close to expiry rotates */
        char *root_secret;            /* NULL: generated */
        char *rotation_request;       /* NULL: none; a new value starts a root rotation */
        double rotation_overlap;      /* seconds the old root is still trusted (root_rotation.h) */
        int adopt_existing;
        enum mesh_on_delete on_delete;
    } ca;
    char *vip_range;
    uint32_t vip_base; /* network address, host order */
    int vip_prefix;
    int adopt_existing_objects; /* spec.adoptExistingObjects: take over foreign objects
                                   (foreign.h) of the names eastwest writes */
    struct mesh_claims claims;
};

struct mesh_port {
    int number;
    char *name;
    char *protocol;
    int target_port; /* 0: from the backing Service */
    /* The backing Service's targetPort when it is a name (a container port of the pods),
     * and then target_port is 0; NULL otherwise (never set by mesh_ccs_parse). */
    char *target_name;
};

struct mesh_export {
    char *cluster;
    char *service;
};

struct mesh_ccs {
    char *name;
    char *namespace_;
    char *uid;
    int64_t generation;
    char *creation_timestamp;
    char *mesh_network;
    char *host;    /* NULL: default, needs the meshID (mesh_ccs_host) */
    char *address; /* NULL: allocate from vipRange */
    struct mesh_export *exports;
    size_t nexports;
    char **import_to; /* NULL with nimport_to 0: every member not exporting */
    size_t nimport_to;
    int import_to_set;
    struct mesh_port *ports; /* none: from the backing Service */
    size_t nports;
    struct {
        int consecutive_5xx;
        double interval;
        double base_ejection_time;
    } outlier;
    enum mesh_partition_policy partition_policy;
    char **export_to; /* spec.exportTo: namespaces that see its objects; default "." */
    size_t nexport_to;
};

/* obj (may be NULL) into out; p (may be NULL) gets the first problem. On failure out is
 * released and zeroed (the rule above): the caller releases it only after MESH_OK. */
mesh_code mesh_network_parse(const cJSON *obj, struct mesh_network *out, struct mesh_problem *p);
void mesh_network_release(struct mesh_network *n);
const struct mesh_cluster *mesh_network_cluster(const struct mesh_network *n, const char *name);

/* The same for a CrossClusterService. */
mesh_code mesh_ccs_parse(const cJSON *obj, struct mesh_ccs *out, struct mesh_problem *p);
void mesh_ccs_release(struct mesh_ccs *c);
/* The host clients call: spec.host, or <name>.<namespace>.<meshID>.global. Caller frees. */
char *mesh_ccs_host(const struct mesh_ccs *c, const struct mesh_network *n);

/* Every cluster named in exportFrom and importTo is a member of the MeshNetwork. */
mesh_code mesh_ccs_check_members(const struct mesh_ccs *c, const struct mesh_network *n,
                                 struct mesh_problem *p);
/* Every kubeconfigSecretRef names a Secret that has the key: secret_has_key(ud, name, key)
 * answers 1 (yes), 0 (Secret missing), -1 (Secret there, key missing). */
mesh_code mesh_network_check_secrets(const struct mesh_network *n,
                                     int (*secret_has_key)(void *ud, const char *name,
                                                           const char *key),
                                     void *ud, struct mesh_problem *p);

/* metadata.generation of any object, 0 when absent or not a sane count. */
int64_t mesh_object_generation(const cJSON *obj);

/* Go duration ("1h30m", "10s", "0.5s") to seconds; -1 when malformed. */
double mesh_parse_duration(const char *s);

#endif
