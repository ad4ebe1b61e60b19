// Command demo runs the operator on a laptop: etcd, kube-apiserver, the Dataverse
// simulator and the operator as local processes; it applies the demo samples, prints a
// line per condition change, and ends with `kubectl get salesconnections -o wide`.
// `make demo` builds what it needs and runs it. DEMO_KEEP=1 keeps everything running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.managerBin, "manager", "bin/manager", "The operator binary.")
	flag.StringVar(&o.simBin, "sim", "bin/dataverse-sim", "The simulator binary.")
	flag.StringVar(&o.workDir, "work-dir", ".demo", "Where logs, the kubeconfig and the simulator's CA go.")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "How long to wait for the connections to settle.")
	flag.Parse()
	o.keep = os.Getenv("DEMO_KEEP") == "1"
	o.out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	_, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// run runs the demo and tears it down; with o.keep it first waits for ctx to end. It
// returns what ran, so a test can check the outcome and that nothing is left behind.
func run(ctx context.Context, o options) (d *demo, err error) {
	d, err = start(ctx, o)
	if d != nil {
		defer func() { err = errors.Join(err, d.teardown()) }()
	}
	if err != nil {
		return d, err
	}
	if d.outcome, err = d.applyAndWatch(ctx); err != nil {
		return d, err
	}
	if err := d.report(ctx, d.outcome); err != nil {
		return d, err
	}
	if !o.keep {
		fmt.Fprintln(o.out, "\nTearing down (run with DEMO_KEEP=1 to keep it running).")
		return d, nil
	}
	abs, _ := filepath.Abs(d.kubeconfig)
	fmt.Fprintf(o.out, "\nStill running. In another terminal:\n\n  export KUBECONFIG=%s\n  %s get salesconnections -o wide\n\nPress Ctrl-C to stop.\n", abs, d.kubectlPath)
	<-ctx.Done()
	fmt.Fprintln(o.out, "\nTearing down.")
	if errors.Is(ctx.Err(), context.Canceled) {
		return d, nil
	}
	return d, ctx.Err()
}
