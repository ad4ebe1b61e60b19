package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	// Throttles keeps Dataverse's Retry-After windows across restarts and leader changes;
	// nil keeps them in memory only.
	Throttles *ThrottleStore
	// WorkloadIdentity is where WorkloadIdentity objects' federated tokens come from.
	WorkloadIdentity WorkloadIdentity
	// MinImportPoll and MaxImportPoll bound how often an environment's running solution
	// import is checked; between them the import's progress decides.
	MinImportPoll, MaxImportPoll time.Duration
	// StalledRetryInterval is the slow safety requeue of an object Stalled on something a
	// person fixes in Kubernetes; watches on the object and its Secrets bring it back
	// sooner. Failures fixed in Dataverse are re-checked at the resync interval.
	StalledRetryInterval time.Duration
	// PassTimeout bounds the steps of one pass; the status write after them is not
	// counted, so a pass that ran out of time still reports why.
	PassTimeout time.Duration
	// AllowedSolutions are the unique names of the solutions the operator imports. Only
	// Business Central's integration solution unless a cluster admin allows others: the
	// import runs as System Administrator.
	AllowedSolutions []string

	// profileWrites keeps the watch from answering the reconciler's own profile writes.
	profileWrites ownWrites
	// packages keeps the manifests of solution packages already read.
	packages packageCache
	// envShare keeps one environment from holding every worker.
	envShare envShare
	// imports watches running imports, one poller per environment.
	imports *importWatch
	// principals and roleIDs spare steady passes the reads of what does not change.
	principals ttlCache[principalInfo]
	roleIDs    ttlCache[dataverse.Role]
}

// Reconcile brings one SalesConnection's environment to its spec and reports status:
// object → scope → steps → outcome → status and the next pass.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	// The pass reads the object live, not from the cache: what it decides (drift to report,
	// roles it assigned, an import to resume) depends on the status it starts from, and
	// the cache can still hold the copy from before the previous pass's status write.
	obj := &salesv1alpha1.SalesConnection{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forgetObject(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if obj.Spec.Suspend && obj.DeletionTimestamp.IsZero() {
		log.V(1).Info("suspended; leaving it alone")
		return ctrl.Result{}, nil
	}
	if env, err := envurl.Normalize(obj.Spec.URL); err == nil {
		release, ok := r.envShare.tryAcquire(env)
		if !ok {
			log.V(1).Info("this environment has its share of the workers; waiting for one of them")
			return ctrl.Result{RequeueAfter: jitter(envShareRetry)}, nil
		}
		defer release()
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, obj)
	}
	if base := obj.DeepCopy(); controllerutil.AddFinalizer(obj, salesv1alpha1.Finalizer) {
		if err := r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}

	s := r.newScope(ctx, obj)
	if !obj.Spec.IsEnabled() {
		removeStepConditions(obj)
	}
	return r.finish(ctx, s, r.runPass(ctx, s))
}

// envShareRetry is how soon a pass that found its environment's share of the workers
// taken looks again.
const envShareRetry = 250 * time.Millisecond

// runPass runs the pass this object needs, within the pass deadline.
func (r *Reconciler) runPass(ctx context.Context, s *scope) passResult {
	if r.PassTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.PassTimeout)
		defer cancel()
	}
	return r.runSteps(ctx, s, stepsFor(s))
}

func (r *Reconciler) newScope(ctx context.Context, obj *salesv1alpha1.SalesConnection) *scope {
	return &scope{
		obj:     obj,
		log:     ctrl.LoggerFrom(ctx),
		before:  *obj.Status.DeepCopy(),
		secrets: &secretReader{reader: r.APIReader, namespace: obj.Namespace},
	}
}

// finish turns the result of a pass into status, events and when to come back.
func (r *Reconciler) finish(ctx context.Context, s *scope, res passResult) (ctrl.Result, error) {
	if f := res.failure; f != nil {
		s.log.Info("reconcile did not complete", "reason", f.reason, "error", f.Error())
	}
	err := r.writeStatus(ctx, s, res)
	if apierrors.IsConflict(err) {
		// The spec changed while this pass ran; the next pass works on the new one.
		s.log.V(1).Info("the object changed while this pass ran; requeueing")
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	result, resErr := r.requeue(s, res.outcome)
	return result, errors.Join(resErr, err)
}

// requeue says when to come back. Transient failures return the error, so the workqueue
// backs off exponentially, unless Dataverse said when to come back; terminal failures
// wait for a change with a safety requeue, slow for what the watches see, at the resync
// for what a person fixes in Dataverse.
func (r *Reconciler) requeue(s *scope, o outcome) (ctrl.Result, error) {
	resync := s.obj.Spec.Resync()
	switch f := o.failure; {
	case o.wait != nil:
		return ctrl.Result{RequeueAfter: o.wait.after}, nil
	case f == nil:
		return ctrl.Result{RequeueAfter: jitter(resync)}, nil
	case f.terminal && f.watched:
		return ctrl.Result{RequeueAfter: jitter(r.StalledRetryInterval)}, nil
	case f.terminal:
		return ctrl.Result{RequeueAfter: jitter(min(resync, r.StalledRetryInterval))}, nil
	}
	if wait := r.retryAfter(s, o.failure); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, o.failure
}

// retryAfter is how long Dataverse asked callers of this environment to wait.
func (r *Reconciler) retryAfter(s *scope, f *failure) time.Duration {
	wait := f.retryAfter
	if s.envURL != "" && r.Dataverse != nil {
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
