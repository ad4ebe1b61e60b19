package v1alpha1

import "time"

// DefaultResyncInterval is used when spec.resyncInterval is unset (objects created
// before defaulting, or built in Go).
const DefaultResyncInterval = 10 * time.Minute

// IsEnabled reports whether the connection is on; unset means on.
func (s *SalesConnectionSpec) IsEnabled() bool {
	return s.Enabled == nil || *s.Enabled
}

// ImportsSolution reports whether the spec asks for the integration solution.
func (s *SalesConnectionSpec) ImportsSolution() bool {
	return s.IntegrationSolution != nil && s.IntegrationSolution.Import
}

// Resync returns the resync interval, defaulted.
func (s *SalesConnectionSpec) Resync() time.Duration {
	if s.ResyncInterval == nil || s.ResyncInterval.Duration <= 0 {
		return DefaultResyncInterval
	}
	return s.ResyncInterval.Duration
}

// Observing reports whether the operator may only read Dataverse.
func (s *SalesConnectionSpec) Observing() bool {
	return s.ManagementPolicy == ManagementPolicyObserve
}
