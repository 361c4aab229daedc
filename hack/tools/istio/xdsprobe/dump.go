package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	dnsproto "istio.io/istio/pkg/dns/proto"
)

const (
	typeCDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeEDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeLDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	typeNDS = "type.googleapis.com/istio.networking.nds.v1.NameTable"
)

var shortType = map[string]string{typeCDS: "CDS", typeEDS: "EDS", typeLDS: "LDS", typeRDS: "RDS", typeNDS: "NDS"}

// invalid is a resource that failed to decode or Envoy's validation.
type invalid struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Error string `json:"error"`
}

// subscription is what the probe last asked for, and was last sent, of one type.
type subscription struct {
	names          []string // nil: wildcard
	version, nonce string
	answered       bool
}

// probe is one ADS (SotW) stream and the latest state istiod sent on it.
type probe struct {
	stream    discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	subs      map[string]*subscription
	clusters  map[string]*cluster.Cluster
	endpoints map[string]*endpoint.ClusterLoadAssignment
	listeners map[string]*listener.Listener
	routes    map[string]*route.RouteConfiguration
	nameTable *dnsproto.NameTable
	badDecode map[string][]invalid // by type, from the latest response of that type

	waitPresent, waitAbsent []string
	waitEndpoints           map[string]int
}

func dumpMain(args []string) error {
	fs := newFlagSet("dump")
	var nf nodeFlags
	nf.register(fs)
	xds := fs.String("xds", "", "istiod's plaintext xDS address")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after")
	var present, absent, eps listFlag
	fs.Var(&present, "wait-for-cluster", "wait until CDS has this cluster")
	fs.Var(&absent, "wait-absent-cluster", "wait until CDS lacks this cluster")
	fs.Var(&eps, "wait-endpoints", "NAME=COUNT: wait until the cluster has COUNT lb endpoints")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *xds == "" {
		return fmt.Errorf("dump: --xds is required: %w", errUsage)
	}
	node, err := nf.build()
	if err != nil {
		return err
	}
	p := &probe{
		subs:          map[string]*subscription{},
		clusters:      map[string]*cluster.Cluster{},
		endpoints:     map[string]*endpoint.ClusterLoadAssignment{},
		listeners:     map[string]*listener.Listener{},
		routes:        map[string]*route.RouteConfiguration{},
		badDecode:     map[string][]invalid{},
		waitPresent:   present,
		waitAbsent:    absent,
		waitEndpoints: map[string]int{},
	}
	for _, e := range eps {
		name, n, ok := strings.Cut(e, "=")
		count, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || count < 0 {
			return fmt.Errorf("--wait-endpoints %q: want CLUSTER=COUNT: %w", e, errUsage)
		}
		p.waitEndpoints[name] = count
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient(*xds,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return fmt.Errorf("xds %s: %v", *xds, err)
	}
	defer conn.Close()
	p.stream, err = discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("xds %s: opening the ADS stream: %v", *xds, err)
	}
	// Like Envoy: the node goes with the first request only.
	first := &discovery.DiscoveryRequest{Node: node, TypeUrl: typeCDS}
	p.subs[typeCDS] = &subscription{}
	if err := p.stream.Send(first); err != nil {
		return p.streamErr(ctx, *xds, err)
	}
	for _, t := range []string{typeLDS, typeNDS} {
		p.subs[t] = &subscription{}
		if err := p.send(t); err != nil {
			return p.streamErr(ctx, *xds, err)
		}
	}

	type received struct {
		resp *discovery.DiscoveryResponse
		err  error
	}
	recv := make(chan received, 1)
	go func() {
		for {
			resp, err := p.stream.Recv()
			recv <- received{resp, err}
			if err != nil {
				return
			}
		}
	}()
	// A push istiod makes while the probe waits goes out type by type (CDS first, NDS
	// last), so once a wait condition has held off the end, let the rest of that push in.
	var waited bool
	var settled <-chan time.Time
	for {
		select {
		case r := <-recv:
			if r.err != nil {
				return p.streamErr(ctx, *xds, r.err)
			}
			if err := p.handle(r.resp); err != nil {
				return p.streamErr(ctx, *xds, err)
			}
		case <-settled:
			return p.print(node)
		case <-ctx.Done():
			if settled != nil {
				return p.print(node)
			}
			return p.streamErr(ctx, *xds, ctx.Err())
		}
		unanswered, unmet := p.unanswered(), p.unmet()
		waited = waited || (len(unanswered) == 0 && len(unmet) > 0)
		switch {
		case len(unanswered)+len(unmet) > 0:
			settled = nil
		case !waited:
			return p.print(node)
		default:
			settled = time.After(settleTime)
		}
	}
}

// settleTime is how long a push may pause between two types.
const settleTime = 300 * time.Millisecond

// streamErr explains a failed stream: on timeout, what had not been answered yet.
func (p *probe) streamErr(ctx context.Context, addr string, err error) error {
	// gRPC may report the deadline (even as the server's RST_STREAM) before ctx knows.
	if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
		missing := append(p.unanswered(), p.unmet()...)
		return fmt.Errorf("xds %s: timed out waiting for: %s", addr, strings.Join(missing, "; "))
	}
	return fmt.Errorf("xds %s: %v", addr, err)
}

// send (re)sends the request of one type: its current names, ACKing the last response.
func (p *probe) send(typeURL string) error {
	s := p.subs[typeURL]
	return p.stream.Send(&discovery.DiscoveryRequest{
		TypeUrl:       typeURL,
		ResourceNames: s.names,
		VersionInfo:   s.version,
		ResponseNonce: s.nonce,
	})
}

// handle stores one response, ACKs it, and subscribes to the EDS clusters and RDS
// routes the new CDS or LDS state names.
func (p *probe) handle(resp *discovery.DiscoveryResponse) error {
	t := resp.TypeUrl
	s := p.subs[t]
	if s == nil {
		return nil // not asked for; istiod does not do this
	}
	s.version, s.nonce, s.answered = resp.VersionInfo, resp.Nonce, true
	p.badDecode[t] = nil
	msgs := map[string]proto.Message{}
	for _, a := range resp.Resources {
		m, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{})
		if err == nil && a.TypeUrl != t {
			err = fmt.Errorf("resource of type %s in a %s response", a.TypeUrl, shortType[t])
		}
		if err != nil {
			p.badDecode[t] = append(p.badDecode[t], invalid{shortType[t], "", err.Error()})
			continue
		}
		msgs[resourceName(m)] = m
	}
	switch t {
	case typeCDS: // SotW: the full set
		clear(p.clusters)
		for n, m := range msgs {
			p.clusters[n] = m.(*cluster.Cluster)
		}
	case typeLDS:
		clear(p.listeners)
		for n, m := range msgs {
			p.listeners[n] = m.(*listener.Listener)
		}
	case typeEDS: // EDS and RDS responses may carry only some of the names
		for n, m := range msgs {
			p.endpoints[n] = m.(*endpoint.ClusterLoadAssignment)
		}
	case typeRDS:
		for n, m := range msgs {
			p.routes[n] = m.(*route.RouteConfiguration)
		}
	case typeNDS:
		p.nameTable = nil
		for _, m := range msgs {
			p.nameTable = m.(*dnsproto.NameTable)
		}
	}
	if err := p.send(t); err != nil { // ACK
		return err
	}
	switch t {
	case typeCDS:
		names := p.edsNames()
		prune(p.endpoints, names)
		return p.subscribe(typeEDS, names)
	case typeLDS:
		names := p.routeNames()
		prune(p.routes, names)
		return p.subscribe(typeRDS, names)
	}
	return nil
}

// subscribe asks for exactly names of a non-wildcard type. With no names nothing is
// asked: an empty list would unsubscribe.
func (p *probe) subscribe(typeURL string, names []string) error {
	s := p.subs[typeURL]
	if s == nil {
		s = &subscription{}
		p.subs[typeURL] = s
	}
	changed := !slices.Equal(s.names, names)
	s.names = names
	if !changed || len(names) == 0 {
		return nil
	}
	return p.send(typeURL)
}

// prune forgets the resources no longer asked for.
func prune[M any](have map[string]M, names []string) {
	for n := range have {
		if !slices.Contains(names, n) {
			delete(have, n)
		}
	}
}

// names is what the probe currently asks for of a type.
func (p *probe) names(typeURL string) []string {
	if s := p.subs[typeURL]; s != nil {
		return s.names
	}
	return nil
}

// edsNames are the sorted EDS service names of the EDS clusters.
func (p *probe) edsNames() []string {
	var names []string
	for _, c := range p.clusters {
		if c.GetType() == cluster.Cluster_EDS {
			names = append(names, edsName(c))
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

func edsName(c *cluster.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}

// routeNames are the sorted RDS route names the listeners' HTTP connection managers use.
func (p *probe) routeNames() []string {
	var names []string
	for _, l := range p.listeners {
		chains := l.GetFilterChains()
		if l.GetDefaultFilterChain() != nil {
			chains = append(slices.Clip(chains), l.GetDefaultFilterChain())
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				var h hcm.HttpConnectionManager
				if f.GetTypedConfig().MessageIs(&h) && f.GetTypedConfig().UnmarshalTo(&h) == nil {
					if n := h.GetRds().GetRouteConfigName(); n != "" {
						names = append(names, n)
					}
				}
			}
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// unanswered lists the requests istiod has not answered yet.
func (p *probe) unanswered() []string {
	var out []string
	for _, t := range []string{typeCDS, typeLDS, typeNDS} {
		if s := p.subs[t]; s != nil && !s.answered {
			out = append(out, shortType[t]+" (no response)")
		}
	}
	if n := countMissing(p.names(typeEDS), p.endpoints); n > 0 {
		out = append(out, fmt.Sprintf("EDS for %d of %d clusters", n, len(p.names(typeEDS))))
	}
	if n := countMissing(p.names(typeRDS), p.routes); n > 0 {
		out = append(out, fmt.Sprintf("RDS for %d of %d routes", n, len(p.names(typeRDS))))
	}
	return out
}

// unmet lists the --wait-* conditions that do not hold (yet).
func (p *probe) unmet() []string {
	if !p.subs[typeCDS].answered {
		return nil // unanswered says so
	}
	var out []string
	for _, c := range p.waitPresent {
		if p.clusters[c] == nil {
			out = append(out, "cluster "+c+" in CDS")
		}
	}
	for _, c := range p.waitAbsent {
		if p.clusters[c] != nil {
			out = append(out, "cluster "+c+" gone from CDS")
		}
	}
	for _, c := range slices.Sorted(maps.Keys(p.waitEndpoints)) {
		if want, got := p.waitEndpoints[c], p.lbEndpoints(c); got != want {
			out = append(out, fmt.Sprintf("%d lb endpoints in cluster %s (have %d)", want, c, got))
		}
	}
	return out
}

func countMissing[M any](names []string, have map[string]M) int {
	n := 0
	for _, name := range names {
		if _, ok := have[name]; !ok {
			n++
		}
	}
	return n
}

// lbEndpoints counts the lb endpoints EDS gives the cluster, 0 when it is absent.
func (p *probe) lbEndpoints(clusterName string) int {
	c := p.clusters[clusterName]
	if c == nil || c.GetType() != cluster.Cluster_EDS {
		return 0
	}
	n := 0
	for _, l := range p.endpoints[edsName(c)].GetEndpoints() {
		n += len(l.GetLbEndpoints())
	}
	return n
}

func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *cluster.Cluster:
		return r.GetName()
	case *endpoint.ClusterLoadAssignment:
		return r.GetClusterName()
	case *listener.Listener:
		return r.GetName()
	case *route.RouteConfiguration:
		return r.GetName()
	}
	return ""
}

// print writes the JSON document and returns exitError{3} if anything was invalid.
func (p *probe) print(node proto.Message) error {
	var bad []invalid
	var printErr error
	for _, t := range []string{typeCDS, typeEDS, typeLDS, typeRDS, typeNDS} {
		bad = append(bad, p.badDecode[t]...)
	}
	encode := func(t string, m proto.Message) json.RawMessage {
		if v, ok := m.(interface{ ValidateAll() error }); ok {
			if err := v.ValidateAll(); err != nil {
				bad = append(bad, invalid{shortType[t], resourceName(m), err.Error()})
			}
		}
		b, err := protojson.Marshal(m)
		if err != nil && printErr == nil {
			printErr = fmt.Errorf("printing %s %q: %v (register the type in types.go)", shortType[t], resourceName(m), err)
		}
		return b
	}
	doc := struct {
		Node      json.RawMessage   `json:"node"`
		Clusters  []json.RawMessage `json:"clusters"`
		Endpoints []json.RawMessage `json:"endpoints"`
		Listeners []json.RawMessage `json:"listeners"`
		Routes    []json.RawMessage `json:"routes"`
		NameTable json.RawMessage   `json:"nameTable"`
		Invalid   []invalid         `json:"invalid"`
	}{
		Node:      encode("", node),
		Clusters:  encodeAll(typeCDS, p.clusters, encode),
		Endpoints: encodeAll(typeEDS, p.endpoints, encode),
		Listeners: encodeAll(typeLDS, p.listeners, encode),
		Routes:    encodeAll(typeRDS, p.routes, encode),
		NameTable: json.RawMessage("null"),
	}
	if p.nameTable != nil {
		doc.NameTable = encode(typeNDS, p.nameTable)
	}
	if printErr != nil {
		return printErr
	}
	doc.Invalid = append([]invalid{}, bad...)
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	if _, err := os.Stdout.Write(out.Bytes()); err != nil {
		return err
	}
	if len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "xdsprobe: %d invalid resources\n", len(bad))
		return exitError{3}
	}
	return nil
}

// encodeAll encodes the resources sorted by name.
func encodeAll[M proto.Message](t string, m map[string]M, encode func(string, proto.Message) json.RawMessage) []json.RawMessage {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []json.RawMessage{}
	for _, n := range names {
		out = append(out, encode(t, m[n]))
	}
	return out
}
