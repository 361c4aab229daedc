package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"istio.io/istio/pkg/model"
)

// istioVersion is what the probe claims to be: istiod shapes its config by proxy version.
const istioVersion = "1.31.0"

// nodeFlags are the flags that describe the proxy the probe pretends to be.
type nodeFlags struct {
	typ, ip, pod, namespace, clusterID, labels, serviceAccount, deployment, locality string
	meta                                                                             listFlag
}

func (n *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.typ, "type", "sidecar", "sidecar or router")
	fs.StringVar(&n.ip, "ip", "", "the proxy's IP")
	fs.StringVar(&n.pod, "pod", "", "pod name")
	fs.StringVar(&n.namespace, "namespace", "", "namespace")
	fs.StringVar(&n.clusterID, "cluster-id", "", "CLUSTER_ID")
	fs.StringVar(&n.labels, "labels", "", "k=v,k2=v2")
	fs.StringVar(&n.serviceAccount, "service-account", "", "SERVICE_ACCOUNT")
	fs.StringVar(&n.deployment, "deployment", "", "Deployment JSON file")
	fs.StringVar(&n.locality, "locality", "", "region[/zone[/subzone]]: the node's locality, as pilot-agent sends it")
	fs.Var(&n.meta, "meta", "KEY=VALUE or KEY:=JSON node metadata (repeatable)")
}

// deployment is the part of a Deployment the node is built from.
type deployment struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				ServiceAccountName string `json:"serviceAccountName"`
				Containers         []struct {
					Name string `json:"name"`
					Env  []struct {
						Name  string  `json:"name"`
						Value *string `json:"value"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// build returns the Envoy node: ID "<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local"
// and the metadata pilot-agent would send. Precedence, lowest first: defaults, the
// Deployment's pod template, istio-proxy's ISTIO_META_* env, explicit flags, --meta.
func (n *nodeFlags) build() (*core.Node, error) {
	if n.typ != "sidecar" && n.typ != "router" {
		return nil, fmt.Errorf("--type %q: want sidecar or router: %w", n.typ, errUsage)
	}
	ip, pod, ns, sa := "198.51.100.1", "xdsprobe", "default", "default"
	labels := map[string]string{}
	meta := map[string]any{
		"ISTIO_VERSION":     istioVersion,
		"INTERCEPTION_MODE": "REDIRECT",
		"CLUSTER_ID":        "Kubernetes",
	}
	if n.typ == "sidecar" {
		meta["DNS_CAPTURE"] = "true"
	}

	if n.deployment != "" {
		b, err := os.ReadFile(n.deployment)
		if err != nil {
			return nil, err
		}
		var d deployment
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("--deployment %s: %v", n.deployment, err)
		}
		if d.Metadata.Name == "" {
			return nil, fmt.Errorf("--deployment %s: no metadata.name; is it a Deployment?", n.deployment)
		}
		pod = d.Metadata.Name + "-xdsprobe"
		meta["WORKLOAD_NAME"] = d.Metadata.Name
		if d.Metadata.Namespace != "" {
			ns = d.Metadata.Namespace
		}
		tmpl := d.Spec.Template
		for k, v := range tmpl.Metadata.Labels {
			labels[k] = v
		}
		if nw := labels["topology.istio.io/network"]; nw != "" {
			meta["NETWORK"] = nw
		}
		if tmpl.Spec.ServiceAccountName != "" {
			sa = tmpl.Spec.ServiceAccountName
		}
		for _, c := range tmpl.Spec.Containers {
			if c.Name != "istio-proxy" {
				continue
			}
			for _, e := range c.Env {
				// Like pilot-agent; values from valueFrom are not known here.
				if k, ok := strings.CutPrefix(e.Name, "ISTIO_META_"); ok && e.Value != nil {
					meta[k] = *e.Value
				}
			}
		}
	}
	// Env may have set these already (the injector sets ISTIO_META_CLUSTER_ID).
	for k, v := range map[string]string{"NAMESPACE": ns, "SERVICE_ACCOUNT": sa} {
		if _, ok := meta[k]; !ok {
			meta[k] = v
		}
	}

	for _, f := range []struct {
		val    string
		target *string
		key    string
	}{
		{n.ip, &ip, "INSTANCE_IPS"},
		{n.pod, &pod, "NAME"},
		{n.namespace, &ns, "NAMESPACE"},
		{n.serviceAccount, &sa, "SERVICE_ACCOUNT"},
		{n.clusterID, new(string), "CLUSTER_ID"},
	} {
		if f.val != "" {
			*f.target = f.val
			meta[f.key] = f.val
		}
	}
	if n.labels != "" {
		for _, kv := range strings.Split(n.labels, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--labels: %q is not k=v: %w", kv, errUsage)
			}
			labels[k] = v
		}
	}
	meta["INSTANCE_IPS"] = ip
	meta["NAME"] = pod
	lm := map[string]any{}
	for k, v := range labels {
		lm[k] = v
	}
	meta["LABELS"] = lm

	for _, kv := range n.meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == ":" {
			return nil, fmt.Errorf("--meta: %q is not KEY=VALUE or KEY:=JSON: %w", kv, errUsage)
		}
		if jk, isJSON := strings.CutSuffix(k, ":"); isJSON {
			var j any
			if err := json.Unmarshal([]byte(v), &j); err != nil {
				return nil, fmt.Errorf("--meta %s: %v", kv, err)
			}
			meta[jk] = j
		} else {
			meta[k] = v
		}
	}

	// istiod rejects the stream when the metadata does not decode into its typed form;
	// say so here, naming the field, instead of after a round trip.
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &model.BootstrapNodeMetadata{}); err != nil {
		return nil, fmt.Errorf("node metadata istiod would reject: %v (--meta KEY:=JSON gives a non-string value)", err)
	}
	st, err := structpb.NewStruct(meta)
	if err != nil {
		return nil, fmt.Errorf("node metadata: %v", err)
	}
	node := &core.Node{
		Id:            fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", n.typ, ip, pod, ns, ns),
		Metadata:      st,
		UserAgentName: "xdsprobe",
	}
	if n.locality != "" {
		parts := strings.SplitN(n.locality, "/", 3)
		parts = append(parts, "", "")
		node.Locality = &core.Locality{Region: parts[0], Zone: parts[1], SubZone: parts[2]}
	}
	return node, nil
}
