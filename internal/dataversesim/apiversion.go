package dataversesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// servesAPIVersion reports whether the environment answers /api/data/<segment>/. A
// server serves the Web API versions of its release and of the releases before it, from
// v8.0 (the first Web API) up to its own major.minor: a 9.1 server answers v9.0 and v9.1
// and not v9.2 (Microsoft Learn, "Web API versions": after an upgrade to v8.2 the v8.0
// and v8.1 services were identical; v9.0, v9.1 and v9.2 have identical behavior).
func (e *Environment) servesAPIVersion(segment string) bool {
	major, minor, ok := parseMajorMinor(strings.TrimPrefix(segment, "v"))
	if !ok || segment != fmt.Sprintf("v%d.%d", major, minor) {
		return false
	}
	serverMajor, serverMinor, ok := parseMajorMinor(e.version)
	if !ok {
		return false
	}
	if major < 8 || major > serverMajor {
		return false
	}
	return major < serverMajor || minor <= serverMinor
}

// parseMajorMinor reads the first two numbers of a dotted version ("9.1", "9.1.0.3").
func parseMajorMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil && major >= 0 && minor >= 0
}

// writeAPIVersionNotFound answers a Web API version the server does not serve. The
// status is what a real server gives (404); the body's wording is a guess [I], modeled on
// OData's answer to an unknown segment.
func writeAPIVersionNotFound(w http.ResponseWriter, segment string) {
	writeODataError(w, http.StatusNotFound, codeSegmentNotFound,
		fmt.Sprintf("Resource not found for the segment '%s'.", segment))
}
