package controllers

import (
	"context"
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// observeLink finds the nav_connection row that links the environment back to the
// Business Central company and plans to create or correct it.
func (r *Reconciler) observeLink(ctx context.Context, s *scope) (plan, outcome) {
	bc := s.obj.Spec.BusinessCentral
	if bc == nil || bc.WebClientURL == "" {
		return plan{then: conditionAbsent()}, done()
	}
	if !s.solutionInstalled {
		// Only in Observe mode, where the import is pending: Manage waits for the
		// import in the solution step.
		return plan{changes: []change{{
			what: "link Business Central company " + bc.Company + " once the integration solution is imported",
			apply: func(context.Context) outcome {
				return failed(stalledInDataverse(salesv1alpha1.ReasonSolutionNotImported,
					"the Business Central link needs the integration solution, which is not installed"))
			},
		}}}, done()
	}
	others, err := r.otherLinkUsers(ctx, s.obj)
	if err != nil {
		return plan{}, failed(err)
	}
	if owner := linkOwner(s.obj, others); owner != client.ObjectKeyFromObject(s.obj) {
		return plan{}, failed(stalledOnSpec(salesv1alpha1.ReasonLinkConflict,
			"SalesConnection %s already links company %s of this environment to Business Central; one environment and company have one link row: remove spec.businessCentral from one of them, or delete it",
			owner, bc.Company))
	}
	want, err := r.desiredLink(ctx, s)
	if err != nil {
		return plan{}, failed(err)
	}
	if n := utf8.RuneCountInString(want.URL); n > maxLinkURLLength {
		return plan{}, failed(stalledOnSpec(salesv1alpha1.ReasonInvalidURL,
			"the Business Central link URL (spec.businessCentral.webClientURL with ?company= and the encoded company) has %d characters, and Dataverse's nav_dynamicsnavurl holds %d: shorten webClientURL", n, maxLinkURLLength))
	}
	// Found by its URL, as Business Central finds it: a row Business Central wrote is
	// adopted, never doubled.
	have, err := s.admin.FindNavConnection(ctx, want.URL)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the Business Central link", s.adminRef(), err))
	}
	p := plan{then: conditionTrue(salesv1alpha1.ReasonLinked, fmt.Sprintf("company %s links to %s", bc.Company, want.URL))}
	switch {
	case have != nil && sameLink(*have, want):
	case have == nil:
		p.changes = []change{{
			what:   "create the Business Central link for " + bc.Company,
			action: "CreateLink",
			repair: "Business Central link for " + bc.Company + " re-created",
			apply: func(ctx context.Context) outcome {
				if _, err := s.admin.CreateNavConnection(ctx, want); err != nil {
					return failed(fromDataverse("creating the Business Central link", s.adminRef(), err))
				}
				return done()
			},
		}}
	default:
		p.changes = []change{{
			what:   "update the Business Central link for " + bc.Company,
			action: "UpdateLink",
			repair: "Business Central link for " + bc.Company + " restored",
			apply: func(ctx context.Context) outcome {
				if err := s.admin.UpdateNavConnection(ctx, have.ID, want); err != nil {
					return failed(fromDataverse("updating the Business Central link", s.adminRef(), err))
				}
				return done()
			},
		}}
	}
	return p, done()
}

// desiredLink is the nav_connection row the spec asks for.
func (r *Reconciler) desiredLink(ctx context.Context, s *scope) (dataverse.NavConnection, error) {
	bc := s.obj.Spec.BusinessCentral
	want := dataverse.NavConnection{Name: linkName(bc.Company), URL: linkURL(bc.WebClientURL, bc.Company)}
	ia := bc.ItemAvailability
	if ia == nil || !ia.Enabled {
		return want, nil
	}
	key, err := s.secrets.value(ctx, ia.AccessKeySecretRef.Name, ia.AccessKeySecretRef.Key, "Business Central web service access key")
	if err != nil {
		return want, err
	}
	want.ODataURL = ia.ODataURL
	want.ODataUsername = ia.Username
	want.ODataAccessKey = string(key)
	return want, nil
}

func sameLink(a, b dataverse.NavConnection) bool {
	return a.Name == b.Name && a.URL == b.URL && a.ODataURL == b.ODataURL &&
		a.ODataUsername == b.ODataUsername && a.ODataAccessKey == b.ODataAccessKey
}

// observeDisconnect is what clearing "Enabled" does: remove this company's link, leave
// the solution, roles and organization settings alone.
func (r *Reconciler) observeDisconnect(ctx context.Context, s *scope) (plan, outcome) {
	return r.planUnlink(ctx, s, "removed the Business Central link; solution, roles and organization settings are left as they are")
}

// observeUnlink removes the link on deletion (Disconnect and Deprovision).
func (r *Reconciler) observeUnlink(ctx context.Context, s *scope) (plan, outcome) {
	return r.planUnlink(ctx, s, "removed the Business Central link")
}

// planUnlink plans to remove the nav_connection row of this company if there is one;
// removing it is announced with a Disconnected event saying note.
func (r *Reconciler) planUnlink(ctx context.Context, s *scope, note string) (plan, outcome) {
	bc := s.obj.Spec.BusinessCentral
	if bc == nil || bc.WebClientURL == "" {
		return plan{then: conditionAbsent()}, done()
	}
	// A row another SalesConnection uses is left to it.
	if others, err := r.otherLinkUsers(ctx, s.obj); err != nil || len(others) > 0 {
		return plan{then: conditionAbsent()}, outcomeOf(err)
	}
	c, principal := s.admin, s.adminRef()
	if c == nil {
		c, principal = s.integration, s.integrationRef()
	}
	have, err := c.FindNavConnection(ctx, linkURL(bc.WebClientURL, bc.Company))
	if dataverse.IsNotFound(err) { // the entity does not exist: the solution is not installed
		return plan{then: conditionAbsent()}, done()
	}
	if err != nil {
		return plan{}, failed(fromDataverse("reading the Business Central link", principal, err))
	}
	if have == nil {
		return plan{then: conditionAbsent()}, done()
	}
	return plan{
		changes: []change{{
			what:   "remove the Business Central link for " + bc.Company,
			action: "Disconnect",
			repair: "Business Central link for " + bc.Company + " removed",
			apply: func(ctx context.Context) outcome {
				if err := c.DeleteNavConnection(ctx, have.ID); err != nil && !dataverse.IsNotFound(err) {
					return failed(fromDataverse("removing the Business Central link", principal, err))
				}
				r.Recorder.Eventf(s.obj, nil, corev1.EventTypeNormal, "Disconnected", "Disconnect", "%s", note)
				return done()
			},
		}},
		then: conditionAbsent(),
	}, done()
}
