package main

// Everything istiod may put in an Any field must be registered for protojson to print
// it as typed fields (an unknown type is an error, not an opaque blob).
import (
	// TypedStruct, in both of its homes (istiod wraps filters configured by name in it).
	_ "github.com/cncf/xds/go/udpa/type/v1"
	_ "github.com/cncf/xds/go/xds/type/v3"

	// Istio's stats filter config (its other filters are in go-control-plane's contrib).
	_ "istio.io/api/envoy/extensions/stats"

	// The Envoy extensions (filters, transport sockets, ...), as istiod registers them.
	_ "istio.io/istio/pkg/config/xds"
)
