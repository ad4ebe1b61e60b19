package main

import (
	"context"
	"flag"
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
	importPollMin           time.Duration
	importPollMax           time.Duration
	stalledRetryInterval    time.Duration
	dataverseTimeout        time.Duration
	maxConcurrentPerEnv     int
	maxReconcilesPerEnv     int
	passTimeout             time.Duration
	allowedSolutions        string
}

func (o *controllerOptions) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 16,
		"How many SalesConnections are reconciled at once. Dataverse calls wait on the network, so more than the CPU count helps.")
	fs.DurationVar(&o.importPollMin, "import-poll-min", controllers.DefaultImportPollMin,
		"Shortest interval between two checks of an environment's running solution import (one poller per environment, however many connections wait).")
	fs.DurationVar(&o.importPollMax, "import-poll-max", controllers.DefaultImportPollMax,
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
	fs.StringVar(&o.allowedSolutions, "allowed-solutions", "MicrosoftDynamicsNavIntegration",
		"Comma-separated unique names of the solutions the operator may import (as System Administrator). Only Business Central's integration solution by default.")
}

// setupControllers registers the SalesConnection reconciler.
func setupControllers(ctx context.Context, mgr ctrl.Manager, o controllerOptions) error {
	pool := dataverse.NewPool(dataverse.PoolOptions{
		UserAgent:                   "salesconnection-operator",
		Timeout:                     o.dataverseTimeout,
		MaxConcurrentPerEnvironment: o.maxConcurrentPerEnv,
	})
	r := &controllers.Reconciler{
		Client:               mgr.GetClient(),
		APIReader:            mgr.GetAPIReader(),
		Recorder:             mgr.GetEventRecorder("salesconnection-operator"),
		Dataverse:            pool,
		FederatedTokenFile:   os.Getenv("AZURE_FEDERATED_TOKEN_FILE"),
		ImportPollMin:        o.importPollMin,
		ImportPollMax:        o.importPollMax,
		StalledRetryInterval: o.stalledRetryInterval,
		PassTimeout:          o.passTimeout,
		AllowedSolutions:     splitList(o.allowedSolutions),
	}
	return r.SetupWithManager(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles:     o.maxConcurrentReconciles,
		MaxConcurrentPerEnvironment: o.maxReconcilesPerEnv,
	})
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
