package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// packageCache keeps the manifest of each solution package by its ConfigMap's resource
// version. A package may be close to a ConfigMap's 1 MiB, and every pass of every
// connection needs its version: with the cache a pass reads the ConfigMap's metadata, and
// the package itself only when it changed or is about to be imported.
type packageCache struct {
	mu      sync.Mutex
	entries map[packageRef]packageEntry
}

// packageRef is a package: a ConfigMap and the binaryData key that holds it.
type packageRef struct {
	configMap client.ObjectKey
	key       string
}

type packageEntry struct {
	resourceVersion string
	manifest        solution.Manifest
}

// get returns the manifest read from that version of the package's ConfigMap.
func (c *packageCache) get(ref packageRef, resourceVersion string) (solution.Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ref]
	if !ok || e.resourceVersion != resourceVersion {
		return solution.Manifest{}, false
	}
	return e.manifest, true
}

// put remembers the manifest read from a version of the package's ConfigMap.
func (c *packageCache) put(ref packageRef, resourceVersion string, m solution.Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[packageRef]packageEntry{}
	}
	c.entries[ref] = packageEntry{resourceVersion: resourceVersion, manifest: m}
}
