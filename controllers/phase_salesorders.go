package controllers

import (
	"context"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// reconcileSalesOrders sets the organization's sales order integration flag to the spec.
// Like Business Central, it refuses to turn it off while a submitted order exists.
func (r *Reconciler) reconcileSalesOrders(ctx context.Context, s *scope) error {
	const cond = salesv1alpha1.ConditionSalesOrderIntegrationConfigured
	soi := s.obj.Spec.SalesOrderIntegration
	if soi == nil {
		removeCondition(s.obj, cond)
		return nil
	}
	want := soi.Enabled
	if s.admin == nil { // sales orders off without an administrator: nothing to change
		removeCondition(s.obj, cond)
		return nil
	}
	org, err := s.admin.GetOrganization(ctx)
	if err != nil {
		return fromDataverse(cond, "reading the organization settings", s.adminRef(), err)
	}
	if org.SOPIntegrationEnabled != want {
		if err := r.setSalesOrderFlag(ctx, s, org.ID, want); err != nil {
			return err
		}
		if s.observing() {
			return nil
		}
	}
	setTrue(s.obj, cond, ReasonConfigured, salesOrderMessage(want))
	return nil
}

// setSalesOrderFlag changes the flag, or in Observe mode records that it would.
func (r *Reconciler) setSalesOrderFlag(ctx context.Context, s *scope, orgID string, want bool) error {
	const cond = salesv1alpha1.ConditionSalesOrderIntegrationConfigured
	if !want {
		submitted, err := s.admin.HasSubmittedSalesOrders(ctx)
		if err != nil {
			return fromDataverse(cond, "checking for submitted sales orders", s.adminRef(), err)
		}
		if submitted {
			return stalled(cond, ReasonSubmittedOrdersExist,
				"sales order integration cannot be turned off while a sales order has the Submitted status: process or cancel the submitted orders in Dynamics 365 Sales")
		}
	}
	if s.observing() {
		change := "turn sales order integration on"
		if !want {
			change = "turn sales order integration off"
		}
		s.pending = append(s.pending, change)
		setFalse(s.obj, cond, ReasonPendingChanges, "would "+change)
		return nil
	}
	if err := s.admin.SetSOPIntegration(ctx, orgID, want); err != nil {
		return fromDataverse(cond, "changing the sales order integration setting", s.adminRef(), err)
	}
	s.changed(cond, "SetSalesOrderIntegration", "organization setting issopintegrationenabled set back to "+boolWord(want))
	return nil
}

func salesOrderMessage(enabled bool) string {
	return "sales order integration is " + map[bool]string{true: "on", false: "off"}[enabled]
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
