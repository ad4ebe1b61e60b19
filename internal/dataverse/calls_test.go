package dataverse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	userID = "11111111-1111-1111-1111-111111111111"
	roleID = "22222222-2222-2222-2222-222222222222"
	buID   = "33333333-3333-3333-3333-333333333333"
	rootID = "8c8d4f51-a72b-e511-80d9-3863bb349780"
	orgID  = "44444444-4444-4444-4444-444444444444"
	opID   = "55555555-5555-5555-5555-555555555555"
	jobKey = "66666666-6666-6666-6666-666666666666"
	navID  = "77777777-7777-7777-7777-777777777777"
)

// TestCallShapes checks, for every call, the request Dataverse receives (method, path,
// query options, body, headers) and how the answer is read.
func TestCallShapes(t *testing.T) {
	type want struct {
		method, path string
		query        map[string]string
		body         string // JSON, compared semantically; "" means no body
		header       map[string]string
	}
	tests := []struct {
		name   string
		status int
		answer any
		header map[string]string
		call   func(c *Client) (any, error)
		want   want
		result any
	}{
		{
			name:   "WhoAmI",
			answer: map[string]string{"UserId": userID, "BusinessUnitId": buID, "OrganizationId": orgID},
			call:   func(c *Client) (any, error) { return c.WhoAmI(context.Background()) },
			want:   want{method: "GET", path: "WhoAmI"},
			result: WhoAmI{UserID: userID, BusinessUnitID: buID, OrganizationID: orgID},
		},
		{
			name:   "RetrieveVersion",
			answer: map[string]string{"Version": "9.2.24101.140"},
			call:   func(c *Client) (any, error) { return c.RetrieveVersion(context.Background()) },
			want:   want{method: "GET", path: "RetrieveVersion()"},
			result: "9.2.24101.140",
		},
		{
			name: "GetSystemUser",
			answer: map[string]any{"systemuserid": userID, "fullname": "Svc", "domainname": testUser, "internalemailaddress": testUser,
				"applicationid": nil, "isdisabled": false, "_businessunitid_value": buID, "systemuserroles_association": []map[string]any{
					{"roleid": roleID, "name": "Integration User", "_businessunitid_value": buID, "_parentrootroleid_value": rootID, "_roletemplateid_value": nil},
				}},
			call: func(c *Client) (any, error) { return c.GetSystemUser(context.Background(), strings.ToUpper(userID)) },
			want: want{method: "GET", path: "systemusers(" + userID + ")", query: map[string]string{
				"$select": userSelect,
				"$expand": "systemuserroles_association($select=roleid,name,_businessunitid_value,_parentrootroleid_value,_roletemplateid_value)",
			}},
			result: SystemUser{ID: userID, FullName: "Svc", DomainName: testUser, InternalEmailAddress: testUser, BusinessUnitID: buID,
				Roles: []Role{{ID: roleID, Name: "Integration User", BusinessUnitID: buID, ParentRootRoleID: rootID}}},
		},
		{
			name:   "FindBusinessUnitRole",
			answer: map[string]any{"value": []map[string]any{{"roleid": roleID, "name": "Integration Administrator", "_businessunitid_value": buID, "_parentrootroleid_value": rootID}}},
			call:   func(c *Client) (any, error) { return c.FindBusinessUnitRole(context.Background(), rootID, buID) },
			want: want{method: "GET", path: "roles", query: map[string]string{
				"$select": roleSelect, "$top": "1",
				"$filter": "(roleid eq " + rootID + " or _parentrootroleid_value eq " + rootID + ") and _businessunitid_value eq " + buID,
			}},
			result: Role{ID: roleID, Name: "Integration Administrator", BusinessUnitID: buID, ParentRootRoleID: rootID},
		},
		{
			name:   "FindRoleByName escapes quotes",
			answer: map[string]any{"value": []map[string]any{{"roleid": roleID, "name": "O'Brien's role", "_businessunitid_value": buID}}},
			call:   func(c *Client) (any, error) { return c.FindRoleByName(context.Background(), "O'Brien's role", buID) },
			want: want{method: "GET", path: "roles", query: map[string]string{
				"$select": roleSelect, "$top": "1",
				"$filter": "name eq 'O''Brien''s role' and _businessunitid_value eq " + buID,
			}},
			result: Role{ID: roleID, Name: "O'Brien's role", BusinessUnitID: buID},
		},
		{
			name:   "AssociateRole",
			status: http.StatusNoContent,
			call:   func(c *Client) (any, error) { return nil, c.AssociateRole(context.Background(), userID, roleID) },
			want: want{method: "POST", path: "systemusers(" + userID + ")/systemuserroles_association/$ref",
				body:   `{"@odata.id": "{env}/api/data/v9.0/roles(` + roleID + `)"}`,
				header: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		},
		{
			name:   "DisassociateRole",
			status: http.StatusNoContent,
			call:   func(c *Client) (any, error) { return nil, c.DisassociateRole(context.Background(), userID, roleID) },
			want: want{method: "DELETE", path: "systemusers(" + userID + ")/systemuserroles_association/$ref",
				query: map[string]string{"$id": "{env}/api/data/v9.0/roles(" + roleID + ")"}},
		},
		{
			name: "GetSolution",
			answer: map[string]any{"value": []map[string]any{{"solutionid": opID, "uniquename": "MicrosoftDynamicsNavIntegration",
				"friendlyname": "Dynamics 365 Business Central", "version": "25.0.1.0", "ismanaged": true, "installedon": "2026-01-02T03:04:05Z"}}},
			call: func(c *Client) (any, error) {
				return c.GetSolution(context.Background(), "MicrosoftDynamicsNavIntegration")
			},
			want: want{method: "GET", path: "solutions", query: map[string]string{
				"$select": "solutionid,uniquename,friendlyname,version,ismanaged,installedon",
				"$filter": "uniquename eq 'MicrosoftDynamicsNavIntegration'",
			}},
			result: &Solution{ID: opID, UniqueName: "MicrosoftDynamicsNavIntegration", FriendlyName: "Dynamics 365 Business Central",
				Version: "25.0.1.0", IsManaged: true, InstalledOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{
			name:   "GetSolution not installed",
			answer: map[string]any{"value": []any{}},
			call:   func(c *Client) (any, error) { return c.GetSolution(context.Background(), "Missing") },
			want: want{method: "GET", path: "solutions", query: map[string]string{
				"$select": "solutionid,uniquename,friendlyname,version,ismanaged,installedon", "$filter": "uniquename eq 'Missing'",
			}},
			result: (*Solution)(nil),
		},
		{
			name:   "ImportSolutionAsync",
			answer: map[string]string{"AsyncOperationId": opID, "ImportJobKey": jobKey},
			call: func(c *Client) (any, error) {
				return c.ImportSolutionAsync(context.Background(), []byte("PK\x03\x04zip"))
			},
			want: want{method: "POST", path: "ImportSolutionAsync",
				body: `{"CustomizationFile":"` + base64.StdEncoding.EncodeToString([]byte("PK\x03\x04zip")) + `","OverwriteUnmanagedCustomizations":false,"PublishWorkflows":true,"ComponentParameters":[]}`},
			result: ImportHandle{AsyncOperationID: opID, ImportJobKey: jobKey},
		},
		{
			name: "GetAsyncOperation",
			answer: map[string]any{"asyncoperationid": opID, "statecode": 3, "statuscode": 31, "message": "m", "friendlymessage": "fm",
				"completedon": "2026-01-02T03:04:05Z"},
			call: func(c *Client) (any, error) { return c.GetAsyncOperation(context.Background(), opID) },
			want: want{method: "GET", path: "asyncoperations(" + opID + ")", query: map[string]string{
				"$select": "asyncoperationid,statecode,statuscode,message,friendlymessage,completedon",
			}},
			result: AsyncOperation{ID: opID, StateCode: 3, StatusCode: 31, Message: "m", FriendlyMessage: "fm", CompletedOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{
			name:   "RunningImports",
			answer: map[string]any{"value": []map[string]any{{"importjobid": jobKey, "solutionname": "MicrosoftDynamicsNavIntegration", "createdon": "2026-01-02T03:04:05Z", "progress": 42.5}}},
			call:   func(c *Client) (any, error) { return c.RunningImports(context.Background()) },
			want: want{method: "GET", path: "importjobs", query: map[string]string{
				"$select": "importjobid,solutionname,createdon,progress", "$filter": "completedon eq null",
			}},
			result: []ImportJob{{ID: jobKey, SolutionName: "MicrosoftDynamicsNavIntegration", CreatedOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Progress: 42.5}},
		},
		{
			name:   "GetImportResult",
			answer: map[string]any{"SolutionOperationResult": map[string]any{"Status": "Failed", "ErrorMessages": []string{"missing dependency bcbi_CdsBaseIntegration"}, "WarningMessages": []string{}}},
			call:   func(c *Client) (any, error) { return c.GetImportResult(context.Background(), jobKey) },
			want:   want{method: "GET", path: "RetrieveSolutionImportResult(ImportJobId=" + jobKey + ")"},
			result: ImportResult{Status: "Failed", ErrorMessages: []string{"missing dependency bcbi_CdsBaseIntegration"}, WarningMessages: []string{}},
		},
		{
			name:   "GetOrganization",
			answer: map[string]any{"value": []map[string]any{{"organizationid": orgID, "issopintegrationenabled": true}}},
			call:   func(c *Client) (any, error) { return c.GetOrganization(context.Background()) },
			want:   want{method: "GET", path: "organizations", query: map[string]string{"$select": "organizationid,issopintegrationenabled"}},
			result: Organization{ID: orgID, SOPIntegrationEnabled: true},
		},
		{
			name:   "SetSOPIntegration",
			status: http.StatusNoContent,
			call:   func(c *Client) (any, error) { return nil, c.SetSOPIntegration(context.Background(), orgID, false) },
			want: want{method: "PATCH", path: "organizations(" + orgID + ")", body: `{"issopintegrationenabled":false}`,
				header: map[string]string{"If-Match": "*"}},
		},
		{
			name:   "HasSubmittedSalesOrders",
			answer: map[string]any{"value": []map[string]any{{"salesorderid": opID}}},
			call:   func(c *Client) (any, error) { return c.HasSubmittedSalesOrders(context.Background()) },
			want: want{method: "GET", path: "salesorders", query: map[string]string{
				"$select": "salesorderid", "$filter": "statecode eq 1", "$top": "1",
			}},
			result: true,
		},
		{
			name: "FindNavConnection",
			answer: map[string]any{"value": []map[string]any{{"nav_connectionid": navID, "nav_name": "CRONUS USA, Inc.",
				"nav_dynamicsnavurl": "https://bc/?company=CRONUS", "nav_dynamicsnavodataurl": nil}}},
			call: func(c *Client) (any, error) {
				return c.FindNavConnection(context.Background(), "https://bc/?company=CRONUS")
			},
			want: want{method: "GET", path: "nav_connections", query: map[string]string{
				"$select": "nav_connectionid,nav_name,nav_dynamicsnavurl,nav_dynamicsnavodataurl,nav_dynamicsnavodatausername,nav_dynamicsnavodataaccesskey",
				"$filter": "nav_dynamicsnavurl eq 'https://bc/?company=CRONUS'", "$top": "1",
			}},
			result: &NavConnection{ID: navID, Name: "CRONUS USA, Inc.", URL: "https://bc/?company=CRONUS"},
		},
		{
			name:   "CreateNavConnection",
			status: http.StatusNoContent,
			header: map[string]string{"OData-EntityId": "{env}/api/data/v9.2/nav_connections(" + strings.ToUpper(navID) + ")"},
			call: func(c *Client) (any, error) {
				return c.CreateNavConnection(context.Background(), NavConnection{Name: "CRONUS", URL: "https://bc/?company=CRONUS",
					ODataURL: "https://bc/odata", ODataUsername: "CRM-ITEMS", ODataAccessKey: "key"})
			},
			want: want{method: "POST", path: "nav_connections", body: `{"nav_name":"CRONUS","nav_dynamicsnavurl":"https://bc/?company=CRONUS",
				"nav_dynamicsnavodataurl":"https://bc/odata","nav_dynamicsnavodatausername":"CRM-ITEMS","nav_dynamicsnavodataaccesskey":"key"}`},
			result: navID,
		},
		{
			name:   "UpdateNavConnection clears item availability",
			status: http.StatusNoContent,
			call: func(c *Client) (any, error) {
				return nil, c.UpdateNavConnection(context.Background(), navID, NavConnection{Name: "CRONUS", URL: "https://bc/?company=CRONUS"})
			},
			want: want{method: "PATCH", path: "nav_connections(" + navID + ")", body: `{"nav_name":"CRONUS","nav_dynamicsnavurl":"https://bc/?company=CRONUS",
				"nav_dynamicsnavodataurl":null,"nav_dynamicsnavodatausername":null,"nav_dynamicsnavodataaccesskey":null}`,
				header: map[string]string{"If-Match": "*"}},
		},
		{
			name:   "DeleteNavConnection",
			status: http.StatusNoContent,
			call:   func(c *Client) (any, error) { return nil, c.DeleteNavConnection(context.Background(), navID) },
			want:   want{method: "DELETE", path: "nav_connections(" + navID + ")"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			env := f.envURL()
			f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
				for k, v := range tt.header {
					w.Header().Set(k, strings.ReplaceAll(v, "{env}", env))
				}
				status := tt.status
				if status == 0 {
					status = http.StatusOK
				}
				if tt.answer == nil {
					w.WriteHeader(status)
					return
				}
				writeJSON(w, status, tt.answer)
			})
			c := f.client(t, testPool(newFakeClock()), secretCreds(f))
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tt.result != nil && !reflect.DeepEqual(got, tt.result) {
				t.Errorf("result = %#v, want %#v", got, tt.result)
			}
			reqs := f.dataverseRequests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.want.method || r.Path != tt.want.path {
				t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tt.want.method, tt.want.path)
			}
			wantQuery := map[string]string{}
			for k, v := range tt.want.query {
				wantQuery[k] = strings.ReplaceAll(v, "{env}", env)
			}
			gotQuery := map[string]string{}
			for k, v := range r.Query {
				gotQuery[k] = strings.Join(v, ",")
			}
			if !reflect.DeepEqual(gotQuery, wantQuery) {
				t.Errorf("query = %v, want %v", gotQuery, wantQuery)
			}
			if strings.Contains(r.RawQuery, "+") {
				t.Errorf("raw query %q encodes spaces as +", r.RawQuery)
			}
			checkJSON(t, r.Body, strings.ReplaceAll(tt.want.body, "{env}", env))
			checkHeaders(t, r.Header, len(r.Body) > 0)
			for k, v := range tt.want.header {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// checkHeaders asserts the headers every Dataverse request carries (DESIGN section 7).
func checkHeaders(t *testing.T, h http.Header, hasBody bool) {
	t.Helper()
	for k, v := range map[string]string{
		"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0",
		"If-None-Match": "null", "User-Agent": "dataverse-test",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(h.Get("Authorization"), "Bearer tok-") {
		t.Errorf("Authorization = %q, want a bearer token", h.Get("Authorization"))
	}
	if ct := h.Get("Content-Type"); hasBody != (ct != "") {
		t.Errorf("Content-Type = %q with body %v", ct, hasBody)
	}
}

func checkJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("body = %s, want none", got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad test JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestFindUsersByEmailBatchesAndEscapes(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		// Answer one enabled user per query: the first address of the filter.
		filter := r.URL.Query().Get("$filter")
		first := strings.SplitN(strings.SplitN(filter, "internalemailaddress eq '", 2)[1], "'", 2)[0]
		writeJSON(w, 200, map[string]any{"value": []map[string]any{{"systemuserid": userID, "internalemailaddress": first, "isdisabled": false}}})
	})
	var emails []string
	for i := range 120 {
		emails = append(emails, fmt.Sprintf("user%03d@contoso.com", i))
	}
	emails = append(emails, "USER000@contoso.com", "", "o'brien@contoso.com") // a duplicate, an empty one, a quote
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	users, err := c.FindUsersByEmail(context.Background(), emails)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.dataverseRequests()
	if len(reqs) != 3 {
		t.Fatalf("%d queries for 121 distinct addresses, want 3", len(reqs))
	}
	if len(users) != 3 {
		t.Errorf("got %d users, want 3", len(users))
	}
	wantTerms := []int{50, 50, 21}
	for i, r := range reqs {
		filter := r.Query.Get("$filter")
		if !strings.HasPrefix(filter, "isdisabled eq false and (internalemailaddress eq '") || !strings.HasSuffix(filter, "')") {
			t.Errorf("query %d filter = %q", i, filter)
		}
		if n := strings.Count(filter, "internalemailaddress eq "); n != wantTerms[i] {
			t.Errorf("query %d has %d addresses, want %d", i, n, wantTerms[i])
		}
		if n := strings.Count(filter, " or "); n != wantTerms[i]-1 {
			t.Errorf("query %d has %d or, want %d", i, n, wantTerms[i]-1)
		}
	}
	if last := reqs[2].Query.Get("$filter"); !strings.Contains(last, "internalemailaddress eq 'o''brien@contoso.com'") {
		t.Errorf("quote not escaped: %q", last)
	}
	if none, err := c.FindUsersByEmail(context.Background(), nil); err != nil || none != nil || len(f.dataverseRequests()) != 3 {
		t.Errorf("no emails: %v, %v; want no query", none, err)
	}
}

func TestListFollowsNextLinkOnlyWithinEnvironment(t *testing.T) {
	f := newFakeServer(t)
	env := f.envURL()
	next := ""
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Query().Get("$skiptoken") == "" {
			writeJSON(w, 200, map[string]any{"value": []map[string]any{{"systemuserid": userID}}, "@odata.nextLink": next})
			return
		}
		writeJSON(w, 200, map[string]any{"value": []map[string]any{{"systemuserid": roleID}}})
	})
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))

	next = env + "/api/data/v9.2/systemusers?$skiptoken=2"
	users, err := c.FindUsersByEmail(context.Background(), []string{"a@b.c"})
	if err != nil || len(users) != 2 {
		t.Fatalf("paged: %v users, %v; want 2", len(users), err)
	}

	next = "https://elsewhere.example/api/data/v9.2/systemusers?$skiptoken=2"
	_, err = c.FindUsersByEmail(context.Background(), []string{"a@b.c"})
	if ReasonOf(err) != ReasonInvalidResponse {
		t.Fatalf("foreign nextLink: %v, want InvalidResponse", err)
	}
}

func TestInvalidIDsAreRefusedBeforeSending(t *testing.T) {
	f := newFakeServer(t)
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	for _, id := range []string{"", "x", userID + ")/../roles(", "1111111-1111-1111-1111-111111111111"} {
		if _, err := c.GetSystemUser(context.Background(), id); ReasonOf(err) != ReasonInvalidArgument {
			t.Errorf("GetSystemUser(%q) = %v, want InvalidArgument", id, err)
		}
	}
	if _, err := c.GetSystemUser(context.Background(), "{"+userID+"}"); err == nil || ReasonOf(err) == ReasonInvalidArgument {
		t.Errorf("a braced GUID must be accepted, got %v", err)
	}
	if n := len(f.dataverseRequests()); n != 1 {
		t.Errorf("%d requests sent, want only the valid one", n)
	}
}

func TestAsyncOperationHelpers(t *testing.T) {
	tests := []struct {
		op              AsyncOperation
		done, succeeded bool
	}{
		{AsyncOperation{StateCode: 0, StatusCode: 10}, false, false},
		{AsyncOperation{StateCode: 2, StatusCode: 20}, false, false},
		{AsyncOperation{StateCode: 3, StatusCode: 30}, true, true},
		{AsyncOperation{StateCode: 3, StatusCode: 31}, true, false},
		{AsyncOperation{StateCode: 3, StatusCode: 32}, true, false},
	}
	for _, tt := range tests {
		if tt.op.Done() != tt.done || tt.op.Succeeded() != tt.succeeded {
			t.Errorf("%+v: Done %v Succeeded %v", tt.op, tt.op.Done(), tt.op.Succeeded())
		}
	}
}
