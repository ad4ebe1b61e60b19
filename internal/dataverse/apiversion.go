package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The Web API version is in every request's path, and a server serves only the versions
// of its release and the ones before it (an on-premises 9.1 server has no /api/data/v9.2/).
// The client asks RetrieveVersion in the version every supported server answers, then
// speaks the server's own version, capped at the newest the operator was written against: Microsoft's
// guidance is to use the version current when the code was written, and not to move to a
// newer one untested; v9.0, v9.1 and v9.2 behave identically (Microsoft Learn, "Web API
// versions", learn.microsoft.com/power-apps/developer/data-platform/webapi/web-api-versions).
const (
	// discoveryAPIVersion is answered by every server the operator supports (9.0 and
	// later). A v8.x server answers it 404.
	discoveryAPIVersion = "v9.0"
	newestMajor         = 9
	newestMinor         = 2
)

// RetrieveVersion returns the server version, e.g. 9.2.24101.140; from then on every
// client of the environment speaks the server's Web API version.
func (c *Client) RetrieveVersion(ctx context.Context) (string, error) {
	const op = "RetrieveVersion"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet,
		url: c.envURL + "/api/data/" + discoveryAPIVersion + "/RetrieveVersion()"})
	if err != nil {
		if e, ok := asError(err); ok && e.Reason == ReasonNotFound {
			e.Message = fmt.Sprintf("the server does not answer /api/data/%s/RetrieveVersion(): the URL is not a Dataverse environment, or the server is older than 9.0, which the operator does not support", discoveryAPIVersion)
		}
		return "", err
	}
	var v struct {
		Version string `json:"Version"`
	}
	if err := decode(op, resp, &v); err != nil {
		return "", err
	}
	apiVersion, ok := apiVersionFor(v.Version)
	if !ok {
		return "", newError(op, ReasonInvalidResponse, resp.status, "", "the answer has no readable Version", nil)
	}
	c.env.mu.Lock()
	c.env.apiVersion = apiVersion
	c.env.mu.Unlock()
	return v.Version, nil
}

// apiBase is the environment's Web API root: in the server's version once a
// RetrieveVersion answered, in the discovery version (which every supported server
// serves, and which behaves as the newer ones do) until then.
func (c *Client) apiBase() string {
	c.env.mu.Lock()
	v := c.env.apiVersion
	c.env.mu.Unlock()
	if v == "" {
		v = discoveryAPIVersion
	}
	return c.envURL + "/api/data/" + v + "/"
}

// apiVersionFor is the Web API version to speak to a server of the given version:
// its major.minor, at least the discovery version and at most the newest known.
func apiVersionFor(serverVersion string) (string, bool) {
	parts := strings.SplitN(serverVersion, ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return "", false
	}
	switch {
	case major > newestMajor || (major == newestMajor && minor > newestMinor):
		major, minor = newestMajor, newestMinor
	case major < 9:
		major, minor = 9, 0
	}
	return fmt.Sprintf("v%d.%d", major, minor), true
}
