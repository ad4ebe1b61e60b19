package dataverse

import (
	"context"
	"net/http"
)

// NavConnection is a nav_connection row: Business Central's link, per company, that the
// integration solution adds. Its entity set is missing (NotFound) until the solution is
// imported.
type NavConnection struct {
	ID   string
	Name string // nav_name: the Business Central company
	URL  string // nav_dynamicsnavurl: the web client URL with ?company=
	// Item availability (legacy OData web service).
	ODataURL      string
	ODataUsername string
	// ODataAccessKey is a secret: it never appears in errors.
	ODataAccessKey string
}

// String keeps the access key out of logs.
func (n NavConnection) String() string {
	return "NavConnection{ID: " + n.ID + ", Name: " + n.Name + ", URL: " + n.URL + "}"
}

// GoString hides the access key from %#v as well.
func (n NavConnection) GoString() string { return n.String() }

const navEntitySet = "nav_connections"

type navConnectionJSON struct {
	ID             string `json:"nav_connectionid"`
	Name           string `json:"nav_name"`
	URL            string `json:"nav_dynamicsnavurl"`
	ODataURL       string `json:"nav_dynamicsnavodataurl"`
	ODataUsername  string `json:"nav_dynamicsnavodatausername"`
	ODataAccessKey string `json:"nav_dynamicsnavodataaccesskey"`
}

// FindNavConnection returns the row whose nav_dynamicsnavurl is url, or nil, nil when
// none: Business Central finds its row by that URL, which names the company
// (CRMIntegrationManagement.SetCRMNAVConnectionUrl).
func (c *Client) FindNavConnection(ctx context.Context, url string) (*NavConnection, error) {
	const op = "FindNavConnection"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: navEntitySet,
		query: query{}.add("$select", "nav_connectionid,nav_name,nav_dynamicsnavurl,nav_dynamicsnavodataurl,nav_dynamicsnavodatausername,nav_dynamicsnavodataaccesskey").
			add("$filter", "nav_dynamicsnavurl eq "+stringLiteral(url)).add("$top", "1")})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value []navConnectionJSON `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, nil
	}
	n := NavConnection(page.Value[0])
	return &n, nil
}

// navBody is the row to write. Empty item availability fields are sent as null, so
// turning item availability off clears them.
func navBody(n NavConnection) map[string]any {
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return map[string]any{
		"nav_name":                      n.Name,
		"nav_dynamicsnavurl":            orNull(n.URL),
		"nav_dynamicsnavodataurl":       orNull(n.ODataURL),
		"nav_dynamicsnavodatausername":  orNull(n.ODataUsername),
		"nav_dynamicsnavodataaccesskey": orNull(n.ODataAccessKey),
	}
}

// CreateNavConnection creates the row and returns its id (from OData-EntityId).
func (c *Client) CreateNavConnection(ctx context.Context, n NavConnection) (string, error) {
	const op = "CreateNavConnection"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodPost, path: navEntitySet, body: navBody(n),
		retry: retryWrite, secrets: []string{n.ODataAccessKey}})
	if err != nil {
		return "", err
	}
	for _, h := range []string{"OData-EntityId", "Location"} {
		if id, ok := idFromEntityURL(resp.header.Get(h)); ok {
			return id, nil
		}
	}
	return "", newError(op, ReasonInvalidResponse, resp.status, "", "the answer has no OData-EntityId", nil)
}

// UpdateNavConnection overwrites the row with id; NotFound when it was deleted meanwhile.
func (c *Client) UpdateNavConnection(ctx context.Context, id string, n NavConnection) error {
	const op = "UpdateNavConnection"
	id, err := normalizeID(op, "the nav_connection id", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodPatch, path: navEntitySet + "(" + id + ")", body: navBody(n),
		retry: retryWrite, secrets: []string{n.ODataAccessKey},
		// Update only: PATCH would otherwise recreate a row someone deleted.
		header: map[string]string{"If-Match": "*"}})
	return err
}

// DeleteNavConnection deletes the row with id; NotFound when it is gone already.
func (c *Client) DeleteNavConnection(ctx context.Context, id string) error {
	const op = "DeleteNavConnection"
	id, err := normalizeID(op, "the nav_connection id", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodDelete, path: navEntitySet + "(" + id + ")", retry: retryWrite})
	return err
}
