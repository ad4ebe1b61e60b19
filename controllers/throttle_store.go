package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// ThrottleConfigMapName is the ConfigMap, in the operator's namespace, that keeps each
// environment's Retry-After window.
const ThrottleConfigMapName = "salesconnection-operator-throttle"

// throttleKey is the ConfigMap's key: a JSON object of environment URL to the end of its
// window (RFC 3339).
const throttleKey = "windows.json"

// ThrottleStore keeps each environment's Retry-After window where a restarted operator,
// or a new leader, reads it before its first request: Dataverse's service protection
// limits are kept per user on the server, over a sliding 5-minute window, whatever
// client process sends (Microsoft Learn, "Service protection API limits",
// learn.microsoft.com/power-apps/developer/data-platform/api-limits), so a window must
// not end with the process that was given it. Windows are written by the leader as 429s arrive, at most one write a
// second, and read once per process, before its first Dataverse request.
type ThrottleStore struct {
	// Client writes the ConfigMap; Reader reads it live.
	Client client.Client
	Reader client.Reader
	// Namespace is the operator's own.
	Namespace string
	// Pool receives the windows read back.
	Pool *dataverse.Pool

	// mu guards pending, which Record fills from request goroutines: never held across
	// a request to the API server.
	mu      sync.Mutex
	pending map[string]time.Time
	kick    chan struct{}
	// loadMu makes the first passes wait for one read of the kept windows.
	loadMu sync.Mutex
	loaded bool
}

// NewThrottledPool returns the Dataverse pool and, when namespace is set, the store that
// keeps its Retry-After windows there (nil otherwise): register the store with the
// manager and give it to the Reconciler.
func NewThrottledPool(opts dataverse.PoolOptions, c client.Client, reader client.Reader, namespace string) (*dataverse.Pool, *ThrottleStore) {
	if namespace == "" {
		return dataverse.NewPool(opts), nil
	}
	store := &ThrottleStore{Client: c, Reader: reader, Namespace: namespace, kick: make(chan struct{}, 1)}
	opts.OnThrottle = store.Record
	store.Pool = dataverse.NewPool(opts)
	return store.Pool, store
}

// Record is the pool's OnThrottle: it queues the window for the writer and never blocks.
func (s *ThrottleStore) Record(environmentURL string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]time.Time{}
	}
	if until.After(s.pending[environmentURL]) {
		s.pending[environmentURL] = until
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Start writes queued windows until ctx ends (a manager Runnable: only the leader runs it).
func (s *ThrottleStore) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
		s.mu.Lock()
		windows := s.pending
		s.pending = nil
		s.mu.Unlock()
		if err := s.write(ctx, windows); err != nil {
			log.FromContext(ctx).Error(err, "keeping the Dataverse throttle windows failed; a restarted operator may not know them")
		}
		// At most one write a second, however many 429s arrive.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// NeedLeaderElection is true: only the leader talks to Dataverse, so only it keeps windows.
func (s *ThrottleStore) NeedLeaderElection() bool { return true }

// load reads the kept windows into the pool once per process, before the first Dataverse
// request of a pass; a failed read is tried again by the next pass.
func (s *ThrottleStore) load(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.loaded {
		return nil
	}
	windows, _, err := s.read(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for url, until := range windows {
		if until.After(now) {
			s.Pool.Throttle(url, until)
		}
	}
	s.loaded = true
	return nil
}

func (s *ThrottleStore) read(ctx context.Context) (map[string]time.Time, *corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	err := s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ThrottleConfigMapName}, cm)
	if apierrors.IsNotFound(err) {
		return map[string]time.Time{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading ConfigMap %s/%s: %w", s.Namespace, ThrottleConfigMapName, err)
	}
	windows := map[string]time.Time{}
	if data := cm.Data[throttleKey]; data != "" {
		// A damaged value is dropped: the next 429 writes it again.
		_ = json.Unmarshal([]byte(data), &windows)
	}
	return windows, cm, nil
}

// write merges windows into the ConfigMap, dropping the ones that ended.
func (s *ThrottleStore) write(ctx context.Context, windows map[string]time.Time) error {
	if len(windows) == 0 {
		return nil
	}
	kept, cm, err := s.read(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for url, until := range kept {
		if !until.After(now) {
			delete(kept, url)
		}
	}
	for url, until := range windows {
		if until.After(kept[url]) {
			kept[url] = until.UTC()
		}
	}
	data, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	if cm == nil {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: ThrottleConfigMapName,
				Labels: map[string]string{"app.kubernetes.io/name": "salesconnection-operator"}},
			Data: map[string]string{throttleKey: string(data)},
		}
		return s.Client.Create(ctx, cm)
	}
	base := cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[throttleKey] = string(data)
	return s.Client.Patch(ctx, cm, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
