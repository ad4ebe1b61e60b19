package controllers

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// reconcileLink upserts the nav_connection row that links the environment back to the
// Business Central company.
func (r *Reconciler) reconcileLink(ctx context.Context, s *scope) error {
	const cond = salesv1alpha1.ConditionBusinessCentralLinked
	bc := s.obj.Spec.BusinessCentral
	if bc == nil || bc.WebClientURL == "" {
		removeCondition(s.obj, cond)
		return nil
	}
	if !s.solutionInstalled {
		if s.observing() {
			s.pending = append(s.pending, "link Business Central company "+bc.Company)
			setFalse(s.obj, cond, ReasonPendingChanges, "would link once the integration solution is imported")
			return nil
		}
		return stalled(cond, ReasonSolutionNotImported, "the Business Central link needs the integration solution, which is not installed")
	}
	want, err := r.desiredLink(ctx, s)
	if err != nil {
		return err
	}
	have, err := s.admin.FindNavConnection(ctx, bc.Company)
	if err != nil {
		return fromDataverse(cond, "reading the Business Central link", s.adminRef(), err)
	}
	switch {
	case have != nil && sameLink(*have, want):
	case s.observing():
		s.pending = append(s.pending, linkChange(have, bc.Company))
		setFalse(s.obj, cond, ReasonPendingChanges, linkChange(have, bc.Company)+" is pending")
		return nil
	case have == nil:
		if _, err := s.admin.CreateNavConnection(ctx, want); err != nil {
			return fromDataverse(cond, "creating the Business Central link", s.adminRef(), err)
		}
		s.changed(cond, "CreateLink", "Business Central link for "+bc.Company+" re-created")
	default:
		if err := s.admin.UpdateNavConnection(ctx, have.ID, want); err != nil {
			return fromDataverse(cond, "updating the Business Central link", s.adminRef(), err)
		}
		s.changed(cond, "UpdateLink", "Business Central link for "+bc.Company+" restored")
	}
	setTrue(s.obj, cond, ReasonLinked, fmt.Sprintf("company %s links to %s", bc.Company, want.URL))
	return nil
}

func linkChange(have *dataverse.NavConnection, company string) string {
	if have == nil {
		return "create the Business Central link for " + company
	}
	return "update the Business Central link for " + company
}

// desiredLink is the nav_connection row the spec asks for.
func (r *Reconciler) desiredLink(ctx context.Context, s *scope) (dataverse.NavConnection, error) {
	bc := s.obj.Spec.BusinessCentral
	want := dataverse.NavConnection{Name: bc.Company, URL: withCompany(bc.WebClientURL, bc.Company)}
	ia := bc.ItemAvailability
	if ia == nil || !ia.Enabled {
		return want, nil
	}
	key, err := s.secrets.value(ctx, ia.AccessKeySecretRef.Name, ia.AccessKeySecretRef.Key,
		salesv1alpha1.ConditionBusinessCentralLinked, "Business Central web service access key")
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

// withCompany appends ?company=<encoded> to the web client URL unless it names one.
func withCompany(webClientURL, company string) string {
	u, err := url.Parse(webClientURL)
	if err != nil {
		return webClientURL
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "company") {
			return webClientURL
		}
	}
	sep := "?"
	if u.RawQuery != "" {
		sep = "&"
	}
	return webClientURL + sep + "company=" + url.QueryEscape(company)
}

// reconcileDisabled is what clearing "Enabled" does: remove this company's link, leave
// the solution, roles and organization settings alone.
func (r *Reconciler) reconcileDisabled(ctx context.Context, s *scope) error {
	for _, c := range stepConditions {
		removeCondition(s.obj, c)
	}
	s.obj.Status.PendingChanges = nil
	removed, err := r.unlink(ctx, s)
	if err != nil {
		return err
	}
	if removed {
		s.normal("Disconnected", "Disconnect", "removed the Business Central link; solution, roles and organization settings are left as they are")
	}
	return nil
}

// unlink removes the nav_connection row of this company if there is one.
func (r *Reconciler) unlink(ctx context.Context, s *scope) (bool, error) {
	const cond = salesv1alpha1.ConditionBusinessCentralLinked
	bc := s.obj.Spec.BusinessCentral
	if bc == nil || bc.Company == "" {
		return false, nil
	}
	c, principal := s.admin, s.adminRef()
	if c == nil {
		c, principal = s.integration, s.integrationRef()
	}
	have, err := c.FindNavConnection(ctx, bc.Company)
	if dataverse.IsNotFound(err) { // the entity does not exist: the solution is not installed
		return false, nil
	}
	if err != nil {
		return false, fromDataverse(cond, "reading the Business Central link", principal, err)
	}
	if have == nil {
		return false, nil
	}
	if s.observing() {
		s.pending = append(s.pending, "remove the Business Central link for "+bc.Company)
		return false, nil
	}
	if err := c.DeleteNavConnection(ctx, have.ID); err != nil && !dataverse.IsNotFound(err) {
		return false, fromDataverse(cond, "removing the Business Central link", principal, err)
	}
	return true, nil
}
