// Package solution reads Dataverse solution packages (the zip files that
// ImportSolutionAsync takes) and builds small valid ones for tests and the demo.
package solution

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a solution version: four numeric parts, compared part by part as numbers
// (9.10.0.0 is newer than 9.9.0.0).
type Version [4]int

// ParseVersion reads "major.minor[.build[.revision]]"; missing parts are 0.
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return v, fmt.Errorf("version %q must have two to four numeric parts, such as 9.2.0.0", s)
	}
	for i, p := range parts {
		// Digits only: Atoi alone also takes a sign, and "-0" is no version part.
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || strings.Trim(p, "0123456789") != "" {
			return v, fmt.Errorf("version %q has a part that is not a number: %q", s, p)
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	for i := range v {
		switch {
		case v[i] < o[i]:
			return -1
		case v[i] > o[i]:
			return 1
		}
	}
	return 0
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3])
}
