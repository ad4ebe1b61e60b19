package dataverse

import (
	"net/url"
	"regexp"
	"strings"
)

// query is an ordered list of OData query options ($select, $filter, ...). Order is
// kept so URLs are stable (easier to read in logs and to match in tests).
type query []param

type param struct{ key, value string }

func (q query) add(key, value string) query { return append(q, param{key, value}) }

// encode percent-encodes values (space as %20, not "+", which OData servers may read
// literally) and leaves the system option names ($filter) as they are.
func (q query) encode() string {
	var b strings.Builder
	for i, p := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(p.value), "+", "%20"))
	}
	return b.String()
}

// stringLiteral quotes s as an OData string literal: single quotes are doubled.
func stringLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// normalizeID checks that id is a GUID (optionally in braces) and returns it lower-case.
// Ids go into paths and filters unquoted, so anything else is refused before sending.
func normalizeID(op, what, id string) (string, error) {
	s := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "{"), "}"))
	if !guidRE.MatchString(s) {
		return "", newError(op, ReasonInvalidArgument, 0, "", what+" is not a GUID", nil)
	}
	return s, nil
}

var entityIDRE = regexp.MustCompile(`\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$`)

// idFromEntityURL reads the id of a created record from its OData-EntityId
// (https://org/api/data/v9.2/nav_connections(<id>)).
func idFromEntityURL(u string) (string, bool) {
	m := entityIDRE.FindStringSubmatch(u)
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}
