package controllers

import (
	"context"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// observeSalesOrders reads the organization's sales order integration flag and plans to
// set it to the spec. Like Business Central, it refuses to turn it off while a submitted
// order exists.
func (r *Reconciler) observeSalesOrders(ctx context.Context, s *scope) (plan, outcome) {
	soi := s.obj.Spec.SalesOrderIntegration
	if soi == nil || s.admin == nil { // sales orders off without an administrator: nothing to change
		return plan{then: conditionAbsent()}, done()
	}
	p, o := r.planSalesOrderFlag(ctx, s, soi.Enabled)
	p.then = conditionTrue(salesv1alpha1.ReasonConfigured, salesOrderMessage(soi.Enabled))
	return p, o
}

// observeSalesOrdersOff turns the flag off on deletion with Deprovision, when that is
// allowed.
func (r *Reconciler) observeSalesOrdersOff(ctx context.Context, s *scope) (plan, outcome) {
	soi := s.obj.Spec.SalesOrderIntegration
	if s.obj.Spec.DeletionPolicy != salesv1alpha1.DeletionPolicyDeprovision || s.admin == nil || soi == nil || !soi.Enabled {
		return plan{}, done()
	}
	return r.planSalesOrderFlag(ctx, s, false)
}

// planSalesOrderFlag plans to set the flag to want, unless it is set already or
// submitted orders forbid turning it off.
func (r *Reconciler) planSalesOrderFlag(ctx context.Context, s *scope, want bool) (plan, outcome) {
	org, err := s.admin.GetOrganization(ctx)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the organization settings", s.adminRef(), err))
	}
	if org.SOPIntegrationEnabled == want {
		return plan{}, done()
	}
	if !want {
		submitted, err := s.admin.HasSubmittedSalesOrders(ctx)
		if err != nil {
			return plan{}, failed(fromDataverse("checking for submitted sales orders", s.adminRef(), err))
		}
		if submitted {
			return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonSubmittedOrdersExist,
				"sales order integration cannot be turned off while a sales order has the Submitted status: process or cancel the submitted orders in Dynamics 365 Sales"))
		}
	}
	what := "turn sales order integration on"
	if !want {
		what = "turn sales order integration off"
	}
	return plan{changes: []change{{
		what:   what,
		action: "SetSalesOrderIntegration",
		repair: "organization setting issopintegrationenabled set back to " + boolWord(want),
		apply: func(ctx context.Context) outcome {
			if err := s.admin.SetSOPIntegration(ctx, org.ID, want); err != nil {
				return failed(fromDataverse("changing the sales order integration setting", s.adminRef(), err))
			}
			return done()
		},
	}}}, done()
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
