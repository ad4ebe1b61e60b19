package dataversesim_test

import (
	"strings"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestNonAdminWritesAreRefused: only a System Administrator assigns roles and writes
// nav_connection rows; a Basic User gets 403 and nothing changes.
func TestNonAdminWritesAreRefused(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	user := token(t, srv, hc, userApp, userSecret, "contoso")
	env := srv.Environment("contoso")
	if err := env.InstallSolution(dataversesim.IntegrationSolutionName, "1.0.0.0"); err != nil {
		t.Fatal(err)
	}
	const self = "bbbbbbbb-0000-0000-0000-000000000002"
	basicUser := rolesNamed(t, srv, hc, admin, "Basic User")
	rootBU := whoAmIBU(t, srv, hc, user)
	basicUserID := ""
	for _, r := range basicUser {
		if r.BU == rootBU {
			basicUserID = r.ID
		}
	}
	ref := func(id string) string {
		return `{"@odata.id":"` + srv.EnvironmentURL("contoso") + `/api/data/v9.2/roles(` + id + `)"}`
	}
	created := send(t, srv, hc, admin, "POST", "nav_connections", `{"nav_name":"CRONUS","nav_dynamicsnavurl":"https://bc/"}`)
	if created.status != 204 || len(env.NavConnections()) != 1 {
		t.Fatalf("the administrator's create = %d", created.status)
	}
	row := env.NavConnections()[0].ID
	rolePath := "systemusers(" + self + ")/systemuserroles_association/$ref"
	tests := []struct{ name, method, path, body string }{
		{"associate a role", "POST", rolePath, ref(dataversesim.IntegrationUserID)},
		{"disassociate a role", "DELETE", rolePath + "?$id=" + srv.EnvironmentURL("contoso") + "/api/data/v9.2/roles(" + basicUserID + ")", ""},
		{"create a nav_connection", "POST", "nav_connections", `{"nav_name":"Other","nav_dynamicsnavurl":"https://other/"}`},
		{"update a nav_connection", "PATCH", "nav_connections(" + row + ")", `{"nav_dynamicsnavurl":"https://evil/"}`},
		{"delete a nav_connection", "DELETE", "nav_connections(" + row + ")", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := send(t, srv, hc, user, tt.method, tt.path, tt.body); a.status != 403 || a.code != "0x80040220" {
				t.Errorf("%s %s = %d %s, want 403 0x80040220", tt.method, tt.path, a.status, a.code)
			}
		})
	}
	if roles := strings.Join(env.UserRoles(self), ","); roles != "Basic User" {
		t.Errorf("roles changed to %s", roles)
	}
	if rows := env.NavConnections(); len(rows) != 1 || rows[0].URL != "https://bc/" {
		t.Errorf("nav_connection rows changed: %+v", rows)
	}
}
