// Command bench measures the operator (DESIGN section 11): N SalesConnections over 10
// simulated environments with 20 ms latency, from apply to all Ready, against a
// status-only controller as the floor; Dataverse requests and status writes per
// connection on a pass with nothing to change; peak operator memory; and memory with
// 10,000 unrelated Secrets. `make bench` runs it; results go to docs/benchmarks.md by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

type options struct {
	managerBin     string
	sizes          []int
	environments   int
	latency        time.Duration
	importDuration time.Duration
	concurrency    int
	secrets        int
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.managerBin, "manager", "bin/manager", "The operator binary.")
	flag.StringVar(&sizes, "n", "100,1000", "Numbers of SalesConnections, comma-separated.")
	flag.IntVar(&o.environments, "environments", 10, "Simulated Dataverse environments.")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "Simulated latency of each Dataverse request.")
	flag.DurationVar(&o.importDuration, "import-duration", 2*time.Second, "Simulated duration of a solution import.")
	flag.IntVar(&o.concurrency, "max-concurrent-reconciles", 64, "The operator's --max-concurrent-reconciles.")
	flag.IntVar(&o.secrets, "secrets", 10000, "Unrelated Secrets for the memory measurement (0 skips it).")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bad -n %q\n", s)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	ctrl.SetLogger(logr.Discard()) // the floor controller's log is not part of the result
	ctx := context.Background()
	for _, n := range o.sizes {
		if err := runSize(ctx, o, n); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}
