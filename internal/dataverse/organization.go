package dataverse

import (
	"context"
	"net/http"
)

// Organization is the environment's organization row.
type Organization struct {
	ID string
	// SOPIntegrationEnabled is issopintegrationenabled: the legacy sales order
	// integration with Business Central.
	SOPIntegrationEnabled bool
}

// GetOrganization reads the organization row.
func (c *Client) GetOrganization(ctx context.Context) (Organization, error) {
	const op = "GetOrganization"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "organizations",
		query: query{}.add("$select", "organizationid,issopintegrationenabled")})
	if err != nil {
		return Organization{}, err
	}
	var page struct {
		Value []struct {
			ID  string `json:"organizationid"`
			SOP bool   `json:"issopintegrationenabled"`
		} `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return Organization{}, err
	}
	if len(page.Value) == 0 {
		return Organization{}, newError(op, ReasonNotFound, 0, "", "the environment has no organization row", nil)
	}
	return Organization{ID: page.Value[0].ID, SOPIntegrationEnabled: page.Value[0].SOP}, nil
}

// SetSOPIntegration turns the sales order integration flag on or off (System
// Administrator only).
func (c *Client) SetSOPIntegration(ctx context.Context, orgID string, enabled bool) error {
	const op = "SetSOPIntegration"
	orgID, err := normalizeID(op, "the organization id", orgID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodPatch, retry: retryWrite,
		path: "organizations(" + orgID + ")", body: map[string]bool{"issopintegrationenabled": enabled},
		// PATCH is an upsert in Dataverse: If-Match: * makes it update only.
		header: map[string]string{"If-Match": "*"}})
	return err
}

// HasSubmittedSalesOrders reports whether any sales order is in state Submitted (1):
// Business Central refuses to turn the integration off then.
func (c *Client) HasSubmittedSalesOrders(ctx context.Context) (bool, error) {
	const op = "HasSubmittedSalesOrders"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "salesorders",
		query: query{}.add("$select", "salesorderid").add("$filter", "statecode eq 1").add("$top", "1")})
	if err != nil {
		return false, err
	}
	var page struct {
		Value []struct{} `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return false, err
	}
	return len(page.Value) > 0, nil
}
