package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// packageCache keeps the manifest of each solution package ConfigMap by resource
// version. A package may be close to a ConfigMap's 1 MiB, and every pass of every
// connection needs its version: with the cache a pass reads the ConfigMap's metadata, and
// the package itself only when it changed or is about to be imported.
type packageCache struct {
	mu      sync.Mutex
	entries map[client.ObjectKey]packageEntry
}

type packageEntry struct {
	resourceVersion, key string
	manifest             solution.Manifest
}

// get returns the manifest read from that version of the ConfigMap under that key.
func (c *packageCache) get(cm client.ObjectKey, key, resourceVersion string) (solution.Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cm]
	if !ok || e.resourceVersion != resourceVersion || e.key != key {
		return solution.Manifest{}, false
	}
	return e.manifest, true
}

// put remembers the manifest read from a version of the ConfigMap.
func (c *packageCache) put(cm client.ObjectKey, key, resourceVersion string, m solution.Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[client.ObjectKey]packageEntry{}
	}
	c.entries[cm] = packageEntry{resourceVersion: resourceVersion, key: key, manifest: m}
}
