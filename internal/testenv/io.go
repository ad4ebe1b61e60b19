package testenv

import (
	"io"
	"strings"
)

func readAll(r io.Reader) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	_, _ = io.Copy(&b, r)
	return b.String()
}
