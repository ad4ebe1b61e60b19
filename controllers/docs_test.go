package controllers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTroubleshootingCoversEveryReason: every reason the operator can put on a condition
// is explained, with what to do, in docs/troubleshooting.md and in the README's table.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	reasons := reasonConstants(t)
	if len(reasons) < 30 {
		t.Fatalf("found %d reasons in %s; the parser misses them", len(reasons), conditionsFile)
	}
	for _, doc := range []string{filepath.Join("..", "docs", "troubleshooting.md"), filepath.Join("..", "README.md")} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, r := range reasons {
			if !strings.Contains(text, "`"+r+"`") && !strings.Contains(text, "| "+r+" ") {
				t.Errorf("%s does not explain reason %s", doc, r)
			}
		}
	}
}

// conditionsFile declares the condition types and reasons of the API.
var conditionsFile = filepath.Join("..", "api", "v1alpha1", "conditions.go")

// reasonConstants reads the string values of the Reason* constants of the API.
func reasonConstants(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), conditionsFile, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				values = append(values, v)
			}
		}
		return true
	})
	return values
}
