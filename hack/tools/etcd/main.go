// Command etcd is upstream etcd's own entry point, built from the pinned module
// so the test clusters need no prebuilt download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
