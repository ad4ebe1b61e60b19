// Command dataverse-sim serves simulated Microsoft Entra ID and Dataverse environments
// over HTTPS, for the demo, benchmarks and trying the operator without a tenant.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

const usage = `dataverse-sim serves simulated Microsoft Entra ID and Dataverse environments over HTTPS.

Usage:
  dataverse-sim --config FILE [--addr 127.0.0.1:8443] [--ca-out ca.crt]

It generates its own CA: point clients at the file --ca-out writes (for the operator, put
it in the Secret named by spec.tls.caSecretRef). Environment <name> is served at
https://ADDR/<name> and the Entra ID authority at https://ADDR/ (set
spec.authentication.authorityHost to it). Stop it with Ctrl-C.

Example:
  go run ./cmd/dataverse-sim --config cmd/dataverse-sim/example-config.yaml --ca-out /tmp/sim-ca.crt

The config (YAML or JSON) lists tenants (app registrations with client secrets,
certificates or federated credentials; users with passwords) and environments (business
units, system users with roles, installed solutions, sales orders, import duration,
latency). See cmd/dataverse-sim/example-config.yaml.

Flags:
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dataverse-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "Path of the simulator config (YAML or JSON). Required.")
	addr := fs.String("addr", "127.0.0.1:8443", "Address to serve HTTPS on.")
	caOut := fs.String("ca-out", "", "Where to write the CA certificate (PEM).")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if *configPath == "" {
		fs.Usage()
		return fmt.Errorf("--config is required")
	}
	cfg, err := dataversesim.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	srv, err := dataversesim.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(*addr); err != nil {
		return err
	}
	defer srv.Close()
	if *caOut != "" {
		if err := srv.WriteCA(*caOut); err != nil {
			return fmt.Errorf("writing the CA certificate: %w", err)
		}
	}
	fmt.Fprintf(stdout, "authority host: %s\n", srv.AuthorityHost())
	for _, env := range cfg.Environments {
		fmt.Fprintf(stdout, "environment %s: %s\n", env.Name, srv.EnvironmentURL(env.Name))
	}
	if *caOut != "" {
		fmt.Fprintf(stdout, "CA certificate: %s\n", *caOut)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return nil
}
