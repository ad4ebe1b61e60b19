package dataverse

import (
	"context"
	"net/http"
)

// Client calls one Dataverse environment as one principal. Build it with Pool.Client;
// it is safe for concurrent use.
type Client struct {
	pool   *Pool
	env    *environment
	envURL string
	http   *http.Client
	tokens *tokenSource
	red    redactor
}

// String names the environment only: a Client holds the redactor of its credentials,
// which must never be printed.
func (c *Client) String() string { return "dataverse.Client{" + c.envURL + "}" }

// GoString hides the fields from %#v as well.
func (c *Client) GoString() string { return c.String() }

// WhoAmI is the caller's identity in the environment.
type WhoAmI struct {
	UserID, BusinessUnitID, OrganizationID string
}

// WhoAmI checks the connection end to end: a token, a request, an answer.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	const op = "WhoAmI"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "WhoAmI"})
	if err != nil {
		return WhoAmI{}, err
	}
	var w struct {
		UserID         string `json:"UserId"`
		BusinessUnitID string `json:"BusinessUnitId"`
		OrganizationID string `json:"OrganizationId"`
	}
	if err := decode(op, resp, &w); err != nil {
		return WhoAmI{}, err
	}
	if w.UserID == "" {
		return WhoAmI{}, newError(op, ReasonInvalidResponse, resp.status, "", "the answer has no UserId", nil)
	}
	return WhoAmI{UserID: w.UserID, BusinessUnitID: w.BusinessUnitID, OrganizationID: w.OrganizationID}, nil
}
