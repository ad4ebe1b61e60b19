package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bcconnect/salesconnection-operator/controllers"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// controllerOptions are the reconciler's command-line settings.
type controllerOptions struct {
	maxConcurrentReconciles int
	minImportPoll           time.Duration
	maxImportPoll           time.Duration
	stalledRetryInterval    time.Duration
	dataverseTimeout        time.Duration
	maxConcurrentPerEnv     int
	maxReconcilesPerEnv     int
	passTimeout             time.Duration
	allowedSolutions        listFlag
	// allowOperatorIdentity lets WorkloadIdentity objects without serviceAccountName use
	// the operator's own service account.
	allowOperatorIdentity bool
	// The destinations the operator may send credentials and tokens to.
	allowedAuthorityHosts     listFlag
	allowedEnvironmentDomains listFlag
}

func (o *controllerOptions) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 32,
		"How many SalesConnections are reconciled at once. Dataverse calls wait on the network, so more than the CPU count helps.")
	fs.DurationVar(&o.minImportPoll, "import-poll-min", controllers.DefaultMinImportPoll,
		"Shortest interval between two checks of an environment's running solution import (one poller per environment, however many connections wait).")
	fs.DurationVar(&o.maxImportPoll, "import-poll-max", controllers.DefaultMaxImportPoll,
		"Longest interval between two checks of a running import; between the two, the import's progress decides.")
	fs.DurationVar(&o.stalledRetryInterval, "stalled-retry-interval", 30*time.Minute,
		"Safety requeue of a SalesConnection Stalled on something fixed in Kubernetes (its spec, Secrets or ConfigMaps, whose changes bring it back at once) or on a wrong password; failures fixed in Dataverse are re-checked at the resync interval.")
	fs.DurationVar(&o.dataverseTimeout, "dataverse-timeout", 60*time.Second,
		"Timeout of one Dataverse or sign-in request.")
	fs.IntVar(&o.maxConcurrentPerEnv, "dataverse-max-concurrency", 52,
		"Concurrent requests per Dataverse environment; Dataverse's service protection limit is 52 per user.")
	fs.IntVar(&o.maxReconcilesPerEnv, "max-concurrent-reconciles-per-environment", 0,
		"How many of the workers may work on one Dataverse environment at once, so a slow environment cannot hold them all. 0: half of --max-concurrent-reconciles.")
	fs.DurationVar(&o.passTimeout, "pass-timeout", controllers.DefaultPassTimeout,
		"Deadline of one reconcile pass's Dataverse work; a pass that runs out of time is retried with backoff.")
	o.allowedSolutions = listFlag{"MicrosoftDynamicsNavIntegration"}
	fs.Var(&o.allowedSolutions, "allowed-solutions",
		"Comma-separated unique names of the solutions the operator may import (as System Administrator). Only Business Central's integration solution by default.")
	fs.BoolVar(&o.allowOperatorIdentity, "allow-operator-workload-identity", false,
		"Let WorkloadIdentity SalesConnections without authentication.serviceAccountName sign in with the operator's own federated token (AZURE_FEDERATED_TOKEN_FILE). Off: any namespace could then act as every Entra application that trusts the operator.")
	o.allowedAuthorityHosts = append(listFlag(nil), dataverse.DefaultAuthorityHosts...)
	fs.Var(&o.allowedAuthorityHosts, dataverse.FlagAllowedAuthorityHosts,
		"Comma-separated sign-in authorities credentials may be sent to: host, host:port, or *.domain for its subdomains. The default is Microsoft Entra ID in the public and national clouds; list an on-premises AD FS here. The value replaces the default.")
	o.allowedEnvironmentDomains = append(listFlag(nil), dataverse.DefaultEnvironmentDomains...)
	fs.Var(&o.allowedEnvironmentDomains, dataverse.FlagAllowedEnvironmentDomains,
		"Comma-separated Dataverse hosts tokens may be sent to: host, host:port, or *.domain for its subdomains (https only; plain http only to a host listed by name). The default is Dataverse online in the public and national clouds; list an on-premises server here. The value replaces the default.")
}

// validate checks what the flags cannot: every allowlist entry reads, and no list is
// empty (an empty list would fall back to the defaults, not allow nothing).
func (o controllerOptions) validate() error {
	if o.passTimeout < 0 {
		return fmt.Errorf("--pass-timeout=%s: want a positive duration such as 3m", o.passTimeout)
	}
	if len(o.allowedAuthorityHosts) == 0 {
		return fmt.Errorf("--%s lists no host", dataverse.FlagAllowedAuthorityHosts)
	}
	if len(o.allowedEnvironmentDomains) == 0 {
		return fmt.Errorf("--%s lists no domain", dataverse.FlagAllowedEnvironmentDomains)
	}
	return o.poolOptions().Validate()
}

func (o controllerOptions) poolOptions() dataverse.PoolOptions {
	return dataverse.PoolOptions{
		UserAgent:                   "salesconnection-operator",
		Timeout:                     o.dataverseTimeout,
		MaxConcurrentPerEnvironment: o.maxConcurrentPerEnv,
		AllowedAuthorityHosts:       o.allowedAuthorityHosts,
		AllowedEnvironmentDomains:   o.allowedEnvironmentDomains,
	}
}

// setupControllers registers the SalesConnection reconciler; namespace is the operator's
// own, where it keeps the Dataverse throttle windows ("" keeps them in memory only).
func setupControllers(ctx context.Context, mgr ctrl.Manager, o controllerOptions, namespace string, watchNamespaces []string) error {
	pool, throttles := controllers.NewThrottledPool(o.poolOptions(), mgr.GetClient(), mgr.GetAPIReader(), namespace)
	r := &controllers.Reconciler{
		Throttles: throttles,
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("salesconnection-operator"),
		Dataverse: pool,
		WorkloadIdentity: controllers.WorkloadIdentity{
			Tokens:                mgr.GetClient(),
			OperatorTokenFile:     os.Getenv("AZURE_FEDERATED_TOKEN_FILE"),
			AllowOperatorIdentity: o.allowOperatorIdentity,
		},
		MinImportPoll:        o.minImportPoll,
		MaxImportPoll:        o.maxImportPoll,
		StalledRetryInterval: o.stalledRetryInterval,
		PassTimeout:          o.passTimeout,
		AllowedSolutions:     o.allowedSolutions,
	}
	return r.SetupWithManager(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles:     o.maxConcurrentReconciles,
		MaxConcurrentPerEnvironment: o.maxReconcilesPerEnv,
		WatchNamespaces:             watchNamespaces,
	})
}

// serviceAccountNamespaceFile is where a pod finds its own namespace.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// operatorNamespace is the namespace the operator runs in: POD_NAMESPACE, else the leader
// election namespace, else the pod's service account namespace; "" outside a cluster.
func operatorNamespace(leaderElectionNamespace string) string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if leaderElectionNamespace != "" {
		return leaderElectionNamespace
	}
	if data, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		return strings.TrimSpace(string(data))
	}
	return ""
}
