// Package servicemonitor only pins the module that holds the ServiceMonitor API types,
// so that controller-gen can load them from this module.
package servicemonitor

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
