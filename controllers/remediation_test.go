package controllers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// forbiddenAdvice is advice the operator's own rules forbid: following it would only
// trade one failure for another.
var forbiddenAdvice = []*regexp.Regexp{
	// Business Central and Test Connection refuse an integration user that is a System
	// Administrator, and securityRoles never grants it.
	regexp.MustCompile(`(?i)\bintegration user (lacks|needs|must)\b[^;]*\b(give|grant|assign|add)\b[^.;(]*System Administrator`),
	regexp.MustCompile(`(?i)securityRoles\b[^.;]*\b(add|include)\b[^.;]*System Administrator`),
	// There is no way to turn TLS verification off; the fix is to trust the CA.
	regexp.MustCompile(`(?i)(skip|disable|turn off|insecure)[^.;]*(TLS|certificate) (verification|check)`),
}

// TestRemediationNeverContradictsTheOperatorsRules scans every message the operator can
// put in a condition: the literals of its source and the messages it makes from
// Dataverse's errors, for either principal.
func TestRemediationNeverContradictsTheOperatorsRules(t *testing.T) {
	var messages []string
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil {
					messages = append(messages, name+": "+v)
				}
			}
			return true
		})
	}
	for _, who := range []credentialRef{{who: principalIntegration, secret: "erp/integration"}, {who: principalAdmin, secret: "erp/admin"}} {
		for _, reason := range []dataverse.Reason{dataverse.ReasonAuthenticationFailed, dataverse.ReasonTLSError, dataverse.ReasonUnreachable,
			dataverse.ReasonThrottled, dataverse.ReasonPrivilegeDenied, dataverse.ReasonBadRequest, dataverse.ReasonServerError, dataverse.ReasonCanceled} {
			f := fromDataverse("reading the integration user", who, &dataverse.Error{Reason: reason, Kind: dataverse.Terminal, Code: "0x80040220"})
			messages = append(messages, "the "+who.who+": "+f.message)
		}
	}
	docs, err := os.ReadFile(filepath.Join("..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	messages = append(messages, strings.Split(string(docs), "\n")...)
	for _, m := range messages {
		for _, re := range forbiddenAdvice {
			if re.MatchString(m) {
				t.Errorf("advice the operator forbids: %q", m)
			}
		}
	}
}
