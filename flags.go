package main

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// listFlag is a comma-separated list flag: "a,b" or "a, b"; empty items are dropped.
// Set replaces the default rather than adding to it, as a person reading
// `--flag=a,b` expects.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// validateNamespaces checks --watch-namespaces: names of namespaces, each once.
func validateNamespaces(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			return fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", n, strings.Join(errs, "; "))
		}
		if seen[n] {
			return fmt.Errorf("--watch-namespaces: %q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}
