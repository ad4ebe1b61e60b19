package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// dataverseCacheTTL bounds how long a pass trusts what an earlier pass read of things
// that practically never change: who a principal is, the server's version, the ids of a
// business unit's roles. What drift detection needs (the user's roles, the link, the
// organization flag, the solution) is read live on every pass.
const dataverseCacheTTL = time.Hour

// ttlCache is a small map whose entries expire; expired entries are dropped as new ones
// are put, so it holds about as many entries as there are live keys.
type ttlCache[V any] struct {
	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value V
	at    time.Time
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || time.Since(e.at) > dataverseCacheTTL {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]ttlEntry[V]{}
	}
	for k, e := range c.entries {
		if time.Since(e.at) > dataverseCacheTTL {
			delete(c.entries, k)
		}
	}
	c.entries[key] = ttlEntry[V]{value: v, at: time.Now()}
}

func (c *ttlCache[V]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// principalInfo is what Test Connection learns about the integration principal that
// does not change from pass to pass.
type principalInfo struct {
	who     dataverse.WhoAmI
	version string
}

// findRoleCached finds a role's copy in a business unit, from the cache when an earlier
// pass found it.
func (r *Reconciler) findRoleCached(ctx context.Context, c dataverseAPI, env string, ref roleRef, businessUnitID string) (dataverse.Role, error) {
	key := roleKey(env, ref, businessUnitID)
	if role, ok := r.roleIDs.get(key); ok {
		return role, nil
	}
	role, err := findRole(ctx, c, ref, businessUnitID)
	if err == nil {
		r.roleIDs.put(key, role)
	}
	return role, err
}

func roleKey(env string, ref roleRef, businessUnitID string) string {
	return env + "|" + businessUnitID + "|" + ref.rootID + "|" + ref.name
}
