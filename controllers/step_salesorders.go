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
	if soi == nil {
		return plan{then: conditionAbsent()}, done()
	}
	if s.admin == nil {
		// Only "off" comes without an administrator: report a flag that is on.
		return r.checkSalesOrderFlag(ctx, s, soi.Enabled)
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
	if want && !s.solutionInstalled {
		// Business Central enables it only once the solution is installed
		// (CRMConnectionSetup.SetCRMSOPEnabled: TestField "Is CRM Solution Installed").
		return plan{changes: []change{{
			what: what + " once the integration solution is imported",
			apply: func(context.Context) outcome {
				return failed(stalledInDataverse(salesv1alpha1.ReasonSolutionNotImported,
					"sales order integration needs the integration solution, which is not installed: import it (spec.integrationSolution.import) first, as Business Central requires"))
			},
		}}}, done()
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

// checkSalesOrderFlag reports, without changing it, whether the flag is as the spec says.
func (r *Reconciler) checkSalesOrderFlag(ctx context.Context, s *scope, want bool) (plan, outcome) {
	org, err := s.integration.GetOrganization(ctx)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the organization settings", s.integrationRef(), err))
	}
	if org.SOPIntegrationEnabled != want {
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonConfigurationDiffers,
			"the organization's sales order integration (issopintegrationenabled) is %s, and spec.salesOrderIntegration.enabled is %s: add spec.administrator so the operator changes it, or change it in Dataverse",
			salesOrderWord(org.SOPIntegrationEnabled), boolWord(want)))
	}
	return plan{then: conditionTrue(salesv1alpha1.ReasonConfigured, salesOrderMessage(want))}, done()
}

func salesOrderWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func salesOrderMessage(enabled bool) string {
	return "sales order integration is " + salesOrderWord(enabled)
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
