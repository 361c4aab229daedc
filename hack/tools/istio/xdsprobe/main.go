// Command xdsprobe is test tooling for eastwest (the product itself is C; nothing of it
// is written in Go). It plays an Istio proxy against a real istiod:
//
//   - xdsprobe dump connects to istiod's plaintext xDS port as a sidecar or a gateway
//     ("router"), asks for CDS, EDS, LDS, RDS and NDS (Istio's DNS name table) the way
//     Envoy and pilot-agent do, validates every resource with Envoy's proto validation,
//     and prints what istiod sent as one JSON document. Tests read it to check what a
//     proxy in the mesh would really be told, and can make it wait until a change has
//     reached xDS.
//   - xdsprobe csr asks istiod's CA for a workload certificate the way pilot-agent does
//     and prints the chain, so tests can check the identities and roots istiod issues.
//
// Run "xdsprobe help" for the flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `xdsprobe: play an Istio proxy against a real istiod (eastwest test tooling)

usage:
  xdsprobe dump --xds HOST:PORT [node flags] [wait flags]
  xdsprobe csr  --ca HOST:PORT --root FILE --token-file FILE --spiffe URI [flags]

dump: connect to istiod's plaintext xDS port, request CDS, EDS (every EDS cluster),
LDS, RDS (every route the listeners name) and NDS, wait until all are answered, and
print one JSON document:
  {"node": {...}, "clusters": [...], "endpoints": [...], "listeners": [...],
   "routes": [...], "nameTable": {...}, "invalid": [{"type","name","error"}]}
Exit 0 when every resource passes Envoy's validation, 3 when some do not (they are
listed in "invalid"), 1 on connection errors and timeouts (stderr says what was not
answered), 2 on bad usage. When a --wait-* condition was not met at first, the probe
lets the push that meets it finish (300ms without a response) before printing.

  --xds HOST:PORT            istiod's plaintext xDS (gRPC) address (required)
  --type sidecar|router      proxy type (default sidecar)
  --ip IP                    the proxy's IP (default 198.51.100.1)
  --pod NAME                 pod name (default xdsprobe, or DEPLOYMENT-xdsprobe)
  --namespace NS             namespace (default default, or the Deployment's)
  --cluster-id ID            CLUSTER_ID (default Kubernetes)
  --labels k=v,k2=v2         pod labels (merged over the Deployment's)
  --service-account SA       SERVICE_ACCOUNT (default default, or the template's)
  --locality R[/Z[/S]]       the node's locality (region, zone, subzone), which istiod
                             uses for locality-aware endpoint priorities
  --meta KEY=VALUE           node metadata, repeatable; KEY:=JSON for a JSON value
                             (e.g. NETWORK=net-us, DNS_AUTO_ALLOCATE=true,
                             REQUESTED_NETWORK_VIEW=net-us, ENVOY_STATUS_PORT:=15021)
  --deployment FILE          "kubectl get deploy -o json" output: the node is built
                             from its pod template (labels, network label,
                             istio-proxy's ISTIO_META_* env, service account)
  --timeout DURATION         give up after this long (default 20s)
  --wait-for-cluster NAME    repeatable: wait until CDS has this cluster
  --wait-absent-cluster NAME repeatable: wait until CDS does not have this cluster
  --wait-endpoints NAME=N    repeatable: wait until cluster NAME has N lb endpoints
                             in EDS (0 when the cluster is absent)

Node ID: TYPE~IP~POD.NS~NS.svc.cluster.local. Metadata always has ISTIO_VERSION,
NAMESPACE, CLUSTER_ID, LABELS, INSTANCE_IPS, SERVICE_ACCOUNT, NAME,
INTERCEPTION_MODE=REDIRECT, and for sidecars DNS_CAPTURE=true. Precedence, lowest
first: defaults, the Deployment, its ISTIO_META_* env, the node flags, --meta.

csr: create a fresh ECDSA P-256 key and a CSR with the URI SAN, send it to istiod's
IstioCertificateService over TLS with the service-account token, and print the
returned chain as PEM (leaf first). istiod issues the identity of the token, not the
one the CSR asks for; a mismatch is warned about on stderr. Exit 0, or 1 on errors
(the token and the key are never printed).

  --ca HOST:PORT             istiod's CA address (its 15012-equivalent port, required)
  --root FILE                PEM root that istiod's serving certificate chains to
  --server-name NAME         expected name in istiod's certificate
                             (default istiod.istio-system.svc)
  --token-file FILE          service-account token (audience istio-ca)
  --cluster-id ID            ClusterID gRPC metadata (default Kubernetes)
  --spiffe URI               the URI SAN, spiffe://TRUST-DOMAIN/ns/NS/sa/SA
  --ttl DURATION             requested validity (default 1h)
  --key-out FILE             also write the private key here (mode 0600)
  --timeout DURATION         give up after this long (default 20s)
`

// errUsage makes main exit 2 after printing the usage.
var errUsage = errors.New("bad usage")

// exitError carries an exit code other than 1.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "dump":
		err = dumpMain(os.Args[2:])
	case "csr":
		err = csrMain(os.Args[2:])
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown subcommand %q: %w", os.Args[1], errUsage)
	}
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.Is(err, flag.ErrHelp):
		fmt.Print(usage)
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "xdsprobe: %v\nrun \"xdsprobe help\" for usage\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "xdsprobe: %v\n", err)
		os.Exit(1)
	}
}

// newFlagSet returns a flag set that reports errors to the caller instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs and rejects positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %v: %w", fs.Name(), err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q: %w", fs.Name(), fs.Arg(0), errUsage)
	}
	return nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
