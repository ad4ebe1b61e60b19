package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReferenceCoversTheAPI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "api-reference.md")
	if err := run(filepath.Join("..", "..", "config", "crd", "bases", "sales.bcconnect.io_salesconnections.yaml"), out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, want := range []string{
		"`spec.authentication.secretRef.name`",
		"`spec.businessCentral.itemAvailability.accessKeySecretRef.key`",
		"`status.conditions[].reason`",
		"| `spec.resyncInterval` | string |  | `\"10m\"` |",
		"One of `Disconnect`, `Orphan`, `Deprovision`.",
		"Rule: packageRef is required when import is true",
		"| User | `.status.integrationUser.name` | -o wide |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
}
