package main

import (
	"context"
	"flag"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bcconnect/salesconnection-operator/controllers"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// controllerOptions are the reconciler's command-line settings.
type controllerOptions struct {
	maxConcurrentReconciles int
	importPollInterval      time.Duration
	stalledRetryInterval    time.Duration
	dataverseTimeout        time.Duration
	maxConcurrentPerEnv     int
}

func (o *controllerOptions) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 16,
		"How many SalesConnections are reconciled at once. Dataverse calls wait on the network, so more than the CPU count helps.")
	fs.DurationVar(&o.importPollInterval, "import-poll-interval", 10*time.Second,
		"How often a running solution import is checked.")
	fs.DurationVar(&o.stalledRetryInterval, "stalled-retry-interval", 30*time.Minute,
		"Safety requeue of a SalesConnection Stalled on something fixed in Kubernetes (its spec, Secrets or ConfigMaps, whose changes bring it back at once) or on a wrong password; failures fixed in Dataverse are re-checked at the resync interval.")
	fs.DurationVar(&o.dataverseTimeout, "dataverse-timeout", 60*time.Second,
		"Timeout of one Dataverse or sign-in request.")
	fs.IntVar(&o.maxConcurrentPerEnv, "dataverse-max-concurrency", 52,
		"Concurrent requests per Dataverse environment; Dataverse's service protection limit is 52 per user.")
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
		ImportPollInterval:   o.importPollInterval,
		StalledRetryInterval: o.stalledRetryInterval,
	}
	return r.SetupWithManager(ctx, mgr, controllers.Options{MaxConcurrentReconciles: o.maxConcurrentReconciles})
}
