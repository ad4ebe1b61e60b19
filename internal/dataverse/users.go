package dataverse

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// SystemUser is a Dataverse user or application user.
type SystemUser struct {
	ID                   string
	FullName             string
	DomainName           string
	InternalEmailAddress string
	// ApplicationID is set for application users (service principals).
	ApplicationID  string
	IsDisabled     bool
	BusinessUnitID string
	// What Business Central prepares on its integration user and checks of it
	// (CDSIntegrationImpl.SetUserAsIntegrationUser, SetAccessModeToNonInteractive and
	// CheckIntegrationUserPrerequisites; systemuser columns isintegrationuser,
	// invitestatuscode, accessmode, islicensed).
	IsIntegrationUser bool
	InviteStatusCode  int
	AccessMode        int
	IsLicensed        bool
	// Roles are the roles the user holds directly, read with the user.
	Roles []Role
}

// Values of systemuser.invitestatuscode and systemuser.accessmode (Microsoft's systemuser
// table reference; Business Central's proxy table 5340 "CRM Systemuser" has the same
// option ordinals).
const (
	InviteStatusInvitationAccepted = 4
	AccessModeReadWrite            = 0
	AccessModeNonInteractive       = 4
)

// UserPreparation is what Business Central sets on its integration user with the
// administrator's connection; nil fields are left as they are.
type UserPreparation struct {
	IsIntegrationUser *bool
	InviteStatusCode  *int
	AccessMode        *int
}

const userSelect = "systemuserid,fullname,domainname,internalemailaddress,applicationid,isdisabled,_businessunitid_value," +
	"isintegrationuser,invitestatuscode,accessmode,islicensed"

type systemUserJSON struct {
	ID                   string `json:"systemuserid"`
	FullName             string `json:"fullname"`
	DomainName           string `json:"domainname"`
	InternalEmailAddress string `json:"internalemailaddress"`
	ApplicationID        string `json:"applicationid"`
	IsDisabled           bool   `json:"isdisabled"`
	BusinessUnitID       string `json:"_businessunitid_value"`
	IsIntegrationUser    bool   `json:"isintegrationuser"`
	InviteStatusCode     *int   `json:"invitestatuscode"`
	AccessMode           *int   `json:"accessmode"`
	IsLicensed           bool   `json:"islicensed"`
}

func (u systemUserJSON) user() SystemUser {
	out := SystemUser{ID: u.ID, FullName: u.FullName, DomainName: u.DomainName, InternalEmailAddress: u.InternalEmailAddress,
		ApplicationID: u.ApplicationID, IsDisabled: u.IsDisabled, BusinessUnitID: u.BusinessUnitID,
		IsIntegrationUser: u.IsIntegrationUser, IsLicensed: u.IsLicensed}
	if u.InviteStatusCode != nil {
		out.InviteStatusCode = *u.InviteStatusCode
	}
	if u.AccessMode != nil {
		out.AccessMode = *u.AccessMode
	}
	return out
}

// PrepareUser sets what Business Central sets on its integration user; only a System
// Administrator may (PrivilegeDenied otherwise).
func (c *Client) PrepareUser(ctx context.Context, id string, p UserPreparation) error {
	const op = "PrepareUser"
	id, err := normalizeID(op, "the user id", id)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if p.IsIntegrationUser != nil {
		body["isintegrationuser"] = *p.IsIntegrationUser
	}
	if p.InviteStatusCode != nil {
		body["invitestatuscode"] = *p.InviteStatusCode
	}
	if p.AccessMode != nil {
		body["accessmode"] = *p.AccessMode
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodPatch, path: "systemusers(" + id + ")", body: body,
		retry: retryWrite, header: map[string]string{"If-Match": "*"}})
	return err
}

// GetSystemUser reads one user and, in the same request, the roles it holds directly.
func (c *Client) GetSystemUser(ctx context.Context, id string) (SystemUser, error) {
	const op = "GetSystemUser"
	id, err := normalizeID(op, "the user id", id)
	if err != nil {
		return SystemUser{}, err
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "systemusers(" + id + ")",
		query: query{}.add("$select", userSelect).
			add("$expand", "systemuserroles_association($select="+roleSelect+")")})
	if err != nil {
		return SystemUser{}, err
	}
	var u struct {
		systemUserJSON
		Roles []roleJSON `json:"systemuserroles_association"`
	}
	if err := decode(op, resp, &u); err != nil {
		return SystemUser{}, err
	}
	user := u.user()
	user.Roles = make([]Role, 0, len(u.Roles))
	for _, r := range u.Roles {
		user.Roles = append(user.Roles, r.role())
	}
	return user, nil
}

// emailsPerQuery keeps the $filter, and so the URL, well under Dataverse's limits.
const emailsPerQuery = 50

// FindUsersByEmail returns the enabled users whose primary email is one of emails
// (compared case-insensitively by Dataverse), with one query per 50 addresses.
func (c *Client) FindUsersByEmail(ctx context.Context, emails []string) ([]SystemUser, error) {
	return c.findUsers(ctx, "FindUsersByEmail", "internalemailaddress", emails)
}

// FindUsersByDomainName returns the enabled users whose domain name (DOMAIN\user) is one
// of names: how Business Central maps its users for AD and IFD sign-in
// (CRMConnectionSetup.TryGetSystemUserId).
func (c *Client) FindUsersByDomainName(ctx context.Context, names []string) ([]SystemUser, error) {
	return c.findUsers(ctx, "FindUsersByDomainName", "domainname", names)
}

func (c *Client) findUsers(ctx context.Context, op, column string, emails []string) ([]SystemUser, error) {
	seen := map[string]bool{}
	var unique []string
	for _, e := range emails {
		e = strings.TrimSpace(e)
		if k := strings.ToLower(e); e != "" && !seen[k] {
			seen[k] = true
			unique = append(unique, e)
		}
	}
	var users []SystemUser
	for start := 0; start < len(unique); start += emailsPerQuery {
		batch := unique[start:min(start+emailsPerQuery, len(unique))]
		terms := make([]string, len(batch))
		for i, e := range batch {
			terms[i] = column + " eq " + stringLiteral(e)
		}
		q := query{}.add("$select", userSelect).
			add("$filter", "isdisabled eq false and ("+strings.Join(terms, " or ")+")")
		err := c.list(ctx, &request{op: op, method: http.MethodGet, path: "systemusers", query: q}, func(rows json.RawMessage) error {
			var page []systemUserJSON
			if err := json.Unmarshal(rows, &page); err != nil {
				return newError(op, ReasonInvalidResponse, http.StatusOK, "", "the answer is not the expected JSON", nil)
			}
			for _, u := range page {
				users = append(users, u.user())
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}
