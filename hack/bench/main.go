// Command bench measures the operator run exactly as `make deploy` runs it (DESIGN
// section 11): N SalesConnections over 10 simulated environments with 20 ms latency and
// a 2 s import; apply-to-Ready and settle time (last create to all Ready) for the
// operator and for a status-only controller as the floor, import-notice latency,
// Dataverse requests per connection fresh and steady, object writes, and memory, also
// with 10,000 Secrets applied with `kubectl apply`. It prints the figures and writes
// docs/benchmarks.md; `make bench` runs it.
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

	"github.com/bcconnect/salesconnection-operator/hack/internal/deployed"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
)

type options struct {
	sizes          []int
	environments   int
	latency        time.Duration
	importDuration time.Duration
	secrets        int
	before         string
	workers        []int
	out            string
}

func main() {
	var o options
	var sizes, workers string
	flag.StringVar(&sizes, "n", "100,1000", "Numbers of SalesConnections, comma-separated.")
	flag.IntVar(&o.environments, "environments", 10, "Simulated Dataverse environments.")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "Simulated latency of each Dataverse request.")
	flag.DurationVar(&o.importDuration, "import-duration", 2*time.Second, "Simulated duration of a solution import.")
	flag.IntVar(&o.secrets, "secrets", 10000, "Secrets applied with kubectl apply semantics at the largest N, for the memory figure (0 skips it).")
	flag.StringVar(&o.before, "before", "", "A checkout of an earlier commit with bin/manager built: measured the same way, side by side.")
	flag.StringVar(&workers, "workers", "", "Worker counts to compare at the largest N (--max-concurrent-reconciles), to choose the default; empty skips it.")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "The report to write; empty prints only.")
	flag.Parse()
	var err error
	if o.sizes, err = ints(sizes); err != nil || len(o.sizes) == 0 {
		fail(fmt.Errorf("bad -n %q", sizes))
	}
	if o.workers, err = ints(workers); err != nil {
		fail(fmt.Errorf("bad -workers %q", workers))
	}
	ctrl.SetLogger(logr.Discard()) // the floor controller's log is not part of the result
	ctx := context.Background()

	runs := []string{"."}
	if o.before != "" {
		runs = append(runs, o.before)
	}
	report := &report{o: o, date: time.Now().UTC()}
	for i, dir := range runs {
		port, err := proc.FreePort()
		if err != nil {
			fail(err)
		}
		run, err := deployed.Read(dir, []string{"after", "before"}[i], leaseNamespace, port)
		if err != nil {
			fail(err)
		}
		report.runs = append(report.runs, run)
		for _, n := range o.sizes {
			secrets := 0
			if n == o.sizes[len(o.sizes)-1] {
				secrets = o.secrets
			}
			fmt.Fprintf(os.Stderr, "bench: %s (%s), N = %d\n", run.Label, run.Commit, n)
			res, err := measure(ctx, o, run, n, secrets)
			if err != nil {
				fail(err)
			}
			report.add(run.Label, res)
		}
	}
	for _, w := range o.workers {
		run := report.runs[0]
		run.Label = fmt.Sprintf("workers=%d", w)
		run.Args = withFlag(run.Args, "max-concurrent-reconciles", strconv.Itoa(w))
		n := o.sizes[len(o.sizes)-1]
		fmt.Fprintf(os.Stderr, "bench: %s, N = %d\n", run.Label, n)
		res, err := measure(ctx, o, run, n, 0)
		if err != nil {
			fail(err)
		}
		report.sweep = append(report.sweep, sweepResult{workers: w, res: res})
	}
	text := report.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil { //nolint:gosec // a document
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// withFlag replaces (or adds) --name=value.
func withFlag(args []string, name, value string) []string {
	out := make([]string, 0, len(args)+1)
	for _, a := range args {
		if !strings.HasPrefix(a, "--"+name+"=") && a != "--"+name {
			out = append(out, a)
		}
	}
	return append(out, "--"+name+"="+value)
}
