// Command manager runs the salesconnection-operator: a controller-runtime manager that
// reconciles SalesConnection objects against Dynamics 365 Sales (Dataverse) environments.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/managercache"
	"github.com/bcconnect/salesconnection-operator/internal/metricsauth"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(salesv1alpha1.AddToScheme(scheme))
}

// options are the manager's command-line settings.
type options struct {
	metricsAddr      string
	metricsSecure    bool
	probeAddr        string
	leaderElect      bool
	leaderElectionNS string
	enableHTTP2      bool
	watchNamespaces  listFlag
	zap              zap.Options
	controllers      controllerOptions
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to, for example :8443 (https) or :8080 (http). 0 disables it.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true,
		"Serve metrics over https with Kubernetes authentication and authorization instead of plain http.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader so that only one replica reconciles at a time. Turn on when running more than one replica.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease. Defaults to the namespace the operator runs in.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Serve metrics over HTTP/2. Off by default because of the HTTP/2 rapid reset and stream cancellation CVEs.")
	fs.Var(&o.watchNamespaces, "watch-namespaces",
		"Comma-separated namespaces whose SalesConnections, Secrets and ConfigMaps the operator watches; empty watches all. With a list, Roles in those namespaces are enough (config/namespaced, or the chart's watchNamespaces).")
	o.controllers.bindFlags(fs)
	o.zap = zap.Options{Development: false}
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	// The flag package reports its own errors; these are ours.
	for _, err := range []error{validateNamespaces(o.watchNamespaces), o.controllers.validate()} {
		if err != nil {
			fmt.Fprintln(fs.Output(), err)
			return o, err
		}
	}
	return o, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.zap)))
	log := ctrl.Log.WithName("setup")

	if err := run(opts); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

func run(opts options) error {
	log := ctrl.Log.WithName("setup")

	var tlsOpts []func(*tls.Config)
	if !opts.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   opts.metricsAddr,
		SecureServing: opts.metricsSecure,
		TLSOpts:       tlsOpts,
	}
	if opts.metricsSecure {
		metricsOpts.FilterProvider = metricsauth.Filter
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  opts.probeAddr,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        "salesconnection-operator.sales.bcconnect.io",
		LeaderElectionNamespace: opts.leaderElectionNS,
		// Stepping down releases the Lease at once, so a rolling update does not wait for
		// it to expire. Safe because the process exits right after the manager stops.
		LeaderElectionReleaseOnCancel: true,
		// No managed fields anywhere, no annotations on the metadata of Secrets and
		// ConfigMaps, and only the listed namespaces (all when none).
		Cache: managercache.Options(opts.watchNamespaces),
		Client: client.Options{
			Cache: &client.CacheOptions{
				// Secrets and ConfigMaps are read live and only when referenced: caching them
				// would hold every credential and every large ConfigMap of the cluster in
				// memory. They are watched metadata-only instead.
				DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}},
			},
		},
	})
	if err != nil {
		return err
	}

	ctx := ctrl.SetupSignalHandler()
	if err := setupControllers(ctx, mgr, opts.controllers, operatorNamespace(opts.leaderElectionNS), opts.watchNamespaces); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}

	log.Info("starting manager", "watchNamespaces", opts.watchNamespaces,
		"allowedAuthorityHosts", opts.controllers.allowedAuthorityHosts,
		"allowedEnvironmentDomains", opts.controllers.allowedEnvironmentDomains)
	return mgr.Start(ctx)
}
