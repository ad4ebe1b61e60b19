package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/envurl"
)

// Reconciler reconciles SalesConnection objects.
type Reconciler struct {
	client.Client
	// APIReader reads live: Secrets and ConfigMaps, which the manager's client does not
	// cache, and the SalesConnection at the start of each pass.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Dataverse holds the HTTP clients, tokens and per-environment limits shared by all
	// SalesConnections.
	Dataverse *dataverse.Pool
	// FederatedTokenFile is the projected service account token for WorkloadIdentity
	// (AZURE_FEDERATED_TOKEN_FILE).
	FederatedTokenFile string
	// ImportPollInterval is how often a running solution import is checked.
	ImportPollInterval time.Duration
	// StalledRetryInterval is the slow safety requeue of an object Stalled on something a
	// person fixes in Kubernetes; watches on the object and its Secrets bring it back
	// sooner. Failures fixed in Dataverse are re-checked at the resync interval.
	StalledRetryInterval time.Duration

	// profileWrites keeps the watch from answering the reconciler's own profile writes.
	profileWrites ownWrites
	// packages keeps the manifests of solution packages already read.
	packages packageCache
}

// Reconcile brings one SalesConnection's environment to its spec and reports status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	// The pass reads the object live, not from the cache: what it decides (drift to report,
	// roles it assigned, an import to resume) depends on the status it starts from, and
	// the cache can still hold the copy from before the previous pass's status write.
	obj := &salesv1alpha1.SalesConnection{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if !obj.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, obj)
	}
	if obj.Spec.Suspend {
		log.V(1).Info("suspended; leaving it alone")
		return ctrl.Result{}, nil
	}
	if base := obj.DeepCopy(); controllerutil.AddFinalizer(obj, salesv1alpha1.Finalizer) {
		if err := r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}

	s := &scope{
		obj:     obj,
		log:     log,
		before:  *obj.Status.DeepCopy(),
		secrets: &secretReader{reader: r.APIReader, namespace: obj.Namespace},
	}
	defer func() {
		err := r.writeStatus(ctx, s)
		if apierrors.IsConflict(err) {
			// The spec changed while this pass ran; the next pass works on the new one.
			log.V(1).Info("the object changed while this pass ran; requeueing")
			res, retErr = ctrl.Result{RequeueAfter: time.Second}, nil
			return
		}
		if err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()

	err := r.reconcileNormal(ctx, s)
	s.failure = asPhaseError(err)
	if err != nil {
		log.Info("reconcile did not complete", "reason", s.failure.reason, "error", err.Error())
	}
	return r.result(s, err)
}

// phase is one step of a pass. It reads Dataverse first and writes only what differs.
type phase func(ctx context.Context, s *scope) error

// reconcileNormal runs the phases in order, stopping at the first that fails or waits.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) error {
	if err := r.reconcileURL(ctx, s); err != nil {
		return err
	}
	if err := r.reconcileClients(ctx, s); err != nil {
		return err
	}
	if !s.obj.Spec.IsEnabled() {
		if err := r.reconcileDisabled(ctx, s); err != nil {
			return err
		}
		// Business Central-side tooling reads from the profile that the connection is off.
		return r.reconcileProfile(ctx, s)
	}
	phases := []phase{
		r.reconcileConnection,
		r.reconcileSolution,
		r.reconcileRoles,
		r.reconcileLink,
		r.reconcileSalesOrders,
		r.reconcileUserMapping,
		r.reconcileProfile,
	}
	if waitingForImport(s) {
		// Polling an import: check it first, and test the connection again only once it
		// is done (the roles need what Test Connection reads). Saves four requests per
		// poll for every connection that waits.
		phases[0], phases[1] = phases[1], phases[0]
	}
	for _, p := range phases {
		if err := p(ctx, s); err != nil {
			return err
		}
		if s.inProgress != nil {
			return nil
		}
	}
	return nil
}

// waitingForImport reports whether the last pass, for this generation, verified the
// connection and left the solution import running, and nobody asked for a new Test
// Connection since.
func waitingForImport(s *scope) bool {
	verified := meta.FindStatusCondition(s.before.Conditions, salesv1alpha1.ConditionConnectionVerified)
	importing := meta.FindStatusCondition(s.before.Conditions, salesv1alpha1.ConditionSolutionImported)
	return verified != nil && verified.Status == metav1.ConditionTrue && verified.ObservedGeneration == s.obj.Generation &&
		importing != nil && importing.Reason == ReasonImportInProgress && importing.ObservedGeneration == s.obj.Generation &&
		!s.requestedTestConnection()
}

// reconcileURL normalizes spec.url into status.url.
func (r *Reconciler) reconcileURL(_ context.Context, s *scope) error {
	u, err := envurl.Normalize(s.obj.Spec.URL)
	if err != nil {
		return stalled(salesv1alpha1.ConditionConnectionVerified, ReasonInvalidURL, "spec.url is not usable: %v", err)
	}
	s.envURL = u
	s.obj.Status.URL = u
	return nil
}

// reconcileClients reads the Secrets and builds the Dataverse clients of both principals.
func (r *Reconciler) reconcileClients(ctx context.Context, s *scope) error {
	ca, err := s.secrets.caBundle(ctx, s.obj.Spec.TLS)
	if err != nil {
		return err
	}
	s.caBundle = ca
	creds, err := s.secrets.credentialsFor(ctx, &s.obj.Spec.Authentication, principalIntegration, r.FederatedTokenFile)
	if err != nil {
		return err
	}
	if s.integration, err = r.Dataverse.Client(s.envURL, creds, ca); err != nil {
		return stalled(salesv1alpha1.ConditionConnectionVerified, ReasonAuthenticationFailed,
			"the integration user's credentials are unusable: %v", err)
	}
	if s.obj.Spec.Administrator == nil {
		return nil
	}
	adminCreds, err := s.secrets.credentialsFor(ctx, s.obj.Spec.Administrator, principalAdmin, r.FederatedTokenFile)
	if err != nil {
		return err
	}
	if s.admin, err = r.Dataverse.Client(s.envURL, adminCreds, ca); err != nil {
		return stalled(salesv1alpha1.ConditionConnectionVerified, ReasonAuthenticationFailed,
			"the administrator's credentials are unusable: %v", err)
	}
	return nil
}

// result turns the outcome of a pass into when to come back. Transient failures return
// the error, so the workqueue backs off exponentially, unless Dataverse said when to come
// back; terminal failures wait for a change (watched) with a slow safety requeue.
func (r *Reconciler) result(s *scope, err error) (ctrl.Result, error) {
	var pe *phaseError
	switch {
	case err == nil && s.inProgress != nil:
		return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
	case err == nil:
		return ctrl.Result{RequeueAfter: jitter(s.obj.Spec.Resync())}, nil
	case errors.As(err, &pe) && pe.terminal && fixedInKubernetes(pe.reason):
		return ctrl.Result{RequeueAfter: jitter(r.StalledRetryInterval)}, nil
	case errors.As(err, &pe) && pe.terminal:
		return ctrl.Result{RequeueAfter: jitter(min(s.obj.Spec.Resync(), r.StalledRetryInterval))}, nil
	}
	if wait := r.retryAfter(s, err); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, err
}

// retryAfter is how long Dataverse asked callers of this environment to wait.
func (r *Reconciler) retryAfter(s *scope, err error) time.Duration {
	wait := dataverse.RetryAfter(err)
	if s.envURL != "" {
		if until := time.Until(r.Dataverse.ThrottledUntil(s.envURL)); until > wait {
			wait = until
		}
	}
	return wait
}

// jitter spreads periodic resyncs of many objects by up to 10%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
