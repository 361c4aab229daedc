/*
 * kubectl-eastwest: flags, and the subcommand to run (plugin.h).
 */
#include "plugin.h"
#include "mesh/api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: kubectl eastwest COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  link NAME --context CTX    give eastwest-operator credentials for member cluster NAME:\n"
    "                             least-privilege RBAC and a token in the cluster of context\n"
    "                             CTX, and Secret NAME-kubeconfig in the home cluster\n"
    "  status [MESH]              each MeshNetwork as a table per member cluster\n"
    "  plan -f FILE [-o yaml|json] [--cluster NAME]\n"
    "                             the objects the operator would write for the CRs in FILE,\n"
    "                             per member cluster (YAML documents, or a JSON List per\n"
    "                             cluster; nothing is written)\n"
    "  member-rbac                print the RBAC link applies in a member, as manifests\n"
    "  rotate-root MESH           start a rotation of MESH's generated root now (sets\n"
    "                             spec.certificateAuthority.rotationRequest)\n"
    "  remove-finalizer KIND NAME [-n NS] --force\n"
    "                             let a MeshNetwork or CrossClusterService that is being\n"
    "                             deleted go without the operator's cleanup (a member is\n"
    "                             gone for good); warns what may be left, and where\n"
    "\n"
    "Flags:\n"
    "  --kubeconfig PATH          (default: $KUBECONFIG, ~/.kube/config)\n"
    "  --home-context CTX         the cluster running eastwest-operator (default: current)\n"
    "  --context CTX              link: the member cluster's context\n"
    "  --namespace NS             the operator's namespace (default eastwest-system)\n"
    "  --istio-namespace NS       (default istio-system)\n"
    "  --secret-name NAME         link: the kubeconfig Secret (default NAME-kubeconfig)\n"
    "  --token-duration DURATION  link: token lifetime (default 8760h; re-run link to rotate)\n"
    "  --force                    remove-finalizer: do it (else only the warning)\n"
    "  -f FILE                    plan: a YAML or JSON file of MeshNetworks and\n"
    "                             CrossClusterServices ('-' for standard input)\n"
    "  -o, --output yaml|json     plan: the output format (default yaml)\n"
    "  --cluster NAME             plan: only the objects of member cluster NAME\n";

static int parse(int argc, char **argv, struct plugin_opts *o)
{
    static const struct option longs[] = {
        {"kubeconfig", required_argument, NULL, 'k'},
        {"home-context", required_argument, NULL, 'H'},
        {"context", required_argument, NULL, 'c'},
        {"namespace", required_argument, NULL, 'n'},
        {"istio-namespace", required_argument, NULL, 'i'},
        {"secret-name", required_argument, NULL, 's'},
        {"token-duration", required_argument, NULL, 't'},
        {"force", no_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'},
        {"cluster", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    o->namespace_ = "eastwest-system";
    o->istio_namespace = "istio-system";
    o->token_seconds = 8760.0 * 3600;
    while ((c = getopt_long(argc, argv, "f:n:o:h", longs, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->kubeconfig = optarg;
            break;
        case 'H':
            o->home_context = optarg;
            break;
        case 'c':
            o->context = optarg;
            break;
        case 'n':
            o->namespace_ = optarg;
            o->namespace_set = 1;
            break;
        case 'F':
            o->force = 1;
            break;
        case 'i':
            o->istio_namespace = optarg;
            break;
        case 's':
            o->secret = optarg;
            break;
        case 'f':
            o->file = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'C':
            o->cluster = optarg;
            break;
        case 't':
            o->token_seconds = mesh_parse_duration(optarg);
            if (o->token_seconds < 600) {
                fprintf(stderr,
                        "kubectl-eastwest: --token-duration=%s: want a duration of at "
                        "least 10m, such as 8760h\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    struct plugin_opts o = {0};
    int rc = parse(argc - 1, argv + 1, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    kube_global_init();
    if (strcmp(cmd, "link") == 0)
        rc = plugin_link(&o);
    else if (strcmp(cmd, "status") == 0)
        rc = plugin_status(&o);
    else if (strcmp(cmd, "plan") == 0)
        rc = plugin_plan(&o);
    else if (strcmp(cmd, "member-rbac") == 0)
        rc = plugin_print_member_rbac(&o);
    else if (strcmp(cmd, "rotate-root") == 0)
        rc = plugin_rotate_root(&o);
    else if (strcmp(cmd, "remove-finalizer") == 0)
        rc = plugin_remove_finalizer(&o);
    else {
        fprintf(stderr, "kubectl-eastwest: unknown command \"%s\"\n\n%s", cmd, usage);
        rc = 2;
    }
    kube_global_cleanup();
    return rc;
}
