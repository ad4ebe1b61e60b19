// Command dataverse-sim serves simulated Microsoft Entra ID and Dataverse environments
// over HTTPS, for the demo, benchmarks and trying the operator without a tenant.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

const usage = `dataverse-sim serves simulated Microsoft Entra ID and Dataverse environments over HTTPS.

Usage:
  dataverse-sim --config FILE [--addr 127.0.0.1:8443] [--public-host HOST[:PORT]] [--ca-out ca.crt] [fault flags]

It generates its own CA: point clients at the file --ca-out writes (for the operator, put
it in the Secret named by spec.tls.caSecretRef). Environment <name> is served at
https://HOST:PORT/<name> and the Entra ID authority at https://HOST:PORT/ (set
spec.authentication.authorityHost to it). HOST is --public-host, else the listen address.
Stop it with Ctrl-C.

Example:
  go run ./cmd/dataverse-sim --config cmd/dataverse-sim/example-config.yaml --ca-out /tmp/sim-ca.crt

From other hosts or pods: listen on every address and name the host they use. Tokens are
valid only for that name, as Dataverse accepts only tokens for its own URL:
  dataverse-sim --config sim.yaml --addr 0.0.0.0:8443 --public-host sim.example.internal

The config (YAML or JSON) lists tenants (app registrations with client secrets,
certificates or federated credentials; users with passwords) and environments (business
units, system users with roles, installed solutions, sales orders, import duration,
latency, faults). See cmd/dataverse-sim/example-config.yaml.

Fault flags (--latency, --error-rate, --throttle, --fail-imports) apply to every
environment, over the config's own; --token-outage to the token endpoint. Example:
  dataverse-sim --config sim.yaml --error-rate 503=0.05 --throttle 100/1m/10s

Flags:
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	srv, err := start(args, stdout, stderr)
	if err != nil || srv == nil {
		return err
	}
	defer srv.Close()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return nil
}

// start parses the flags and starts the simulator; it returns nil for --help.
func start(args []string, stdout, stderr io.Writer) (*dataversesim.Server, error) {
	fs := flag.NewFlagSet("dataverse-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "Path of the simulator config (YAML or JSON). Required.")
	addr := fs.String("addr", "127.0.0.1:8443", "Address to serve HTTPS on.")
	publicHost := fs.String("public-host", "", "The `HOST[:PORT]` clients reach the simulator at, used in URLs, token audiences and issuers and the certificate. Default: the listen address, or localhost when listening on every address.")
	caOut := fs.String("ca-out", "", "Where to write the CA certificate (PEM).")
	var faults faultFlags
	faults.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if *configPath == "" {
		fs.Usage()
		return nil, fmt.Errorf("--config is required")
	}
	cfg, err := dataversesim.LoadConfig(*configPath)
	if err != nil {
		return nil, err
	}
	if *publicHost != "" {
		cfg.PublicHost = *publicHost
	}
	faults.apply(&cfg)
	srv, err := dataversesim.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(*addr); err != nil {
		return nil, err
	}
	if faults.tokenOutage > 0 {
		time.AfterFunc(faults.tokenOutage, func() { srv.Faults().TokenEndpointOutage(false) })
	}
	if *caOut != "" {
		if err := srv.WriteCA(*caOut); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("writing the CA certificate: %w", err)
		}
	}
	fmt.Fprintf(stdout, "authority host: %s\n", srv.AuthorityHost())
	for _, env := range cfg.Environments {
		fmt.Fprintf(stdout, "environment %s: %s\n", env.Name, srv.EnvironmentURL(env.Name))
	}
	if *caOut != "" {
		fmt.Fprintf(stdout, "CA certificate: %s\n", *caOut)
	}
	return srv, nil
}
