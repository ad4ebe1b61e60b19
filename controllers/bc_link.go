package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/envurl"
)

// The nav_connection row as Business Central writes it (codeunit 5330 "CRM Integration
// Management", SetCRMNAVConnectionUrl and RemoveCRMNAVConnectionUrl, BC 23 and later):
// it is found by nav_dynamicsnavurl, the web client URL followed by "?company=" and the
// company name encoded with .NET's HttpUtility.UrlPathEncode, unless the URL has
// "?company=" already; nav_name is the company name cut to the column's 100 characters.
const (
	companyParameter  = "?company="
	maxLinkURLLength  = 250 // nav_dynamicsnavurl, Text[250] in BC's proxy table 5368
	maxLinkNameLength = 100 // nav_name, Text[100]
)

// linkURL is nav_dynamicsnavurl for a company, exactly as Business Central writes it.
func linkURL(webClientURL, company string) string {
	if strings.Contains(webClientURL, companyParameter) {
		return webClientURL
	}
	return webClientURL + companyParameter + urlPathEncode(company)
}

// linkName is nav_name for a company.
func linkName(company string) string {
	if utf8.RuneCountInString(company) <= maxLinkNameLength {
		return company
	}
	return string([]rune(company)[:maxLinkNameLength])
}

// urlPathEncode is .NET's HttpUtility.UrlPathEncode, which Business Central applies to
// the company name: the UTF-8 bytes of spaces, control characters and non-ASCII
// characters become %xx with lower-case hex digits; every other character stays as it
// is, "," "&" "+" "#" "/" "%" included; and nothing from the first "?" on is encoded
// (System.Web HttpEncoder.UrlPathEncode, and its port in dotnet/runtime, which Business
// Central online runs on and which leaves 0x7F as it is).
func urlPathEncode(s string) string {
	path, rest, hasQuery := strings.Cut(s, "?")
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c <= 0x20 || c >= 0x80 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(rest)
	}
	return b.String()
}

// indexLinkKey indexes SalesConnections by the link they ask for: the environment and
// nav_dynamicsnavurl. One environment and company take one row, so two SalesConnections
// with one key would take turns rewriting it.
const indexLinkKey = "spec.linkKey"

// linkKeyOf is the index value of a SalesConnection; none when it links nothing or its
// URL is unusable. Dataverse compares strings without regard to case, so neither does
// the key.
func linkKeyOf(sc *salesv1alpha1.SalesConnection) []string {
	bc := sc.Spec.BusinessCentral
	if bc == nil || bc.WebClientURL == "" {
		return nil
	}
	env, err := envurl.Normalize(sc.Spec.URL)
	if err != nil {
		return nil
	}
	return []string{strings.ToLower(env + " " + linkURL(bc.WebClientURL, bc.Company))}
}

// otherLinkUsers are the other SalesConnections that ask for the link obj asks for and
// use it: enabled, not being deleted, and signed in to the environment (ConnectionVerified):
// naming an environment and a company is not enough to hold another team's link.
func (r *Reconciler) otherLinkUsers(ctx context.Context, obj *salesv1alpha1.SalesConnection) ([]salesv1alpha1.SalesConnection, error) {
	keys := linkKeyOf(obj)
	if len(keys) == 0 {
		return nil, nil
	}
	list := &salesv1alpha1.SalesConnectionList{}
	if err := r.List(ctx, list, client.MatchingFields{indexLinkKey: keys[0]}); err != nil {
		return nil, fmt.Errorf("listing the SalesConnections of the same link: %w", err)
	}
	return slices.DeleteFunc(list.Items, func(sc salesv1alpha1.SalesConnection) bool {
		return sc.UID == obj.UID || !sc.Spec.IsEnabled() || !sc.DeletionTimestamp.IsZero() ||
			!meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionConnectionVerified))
	}), nil
}

// linkOwner is the SalesConnection that owns the link obj asks for: the oldest of those
// using it (then by namespace and name); obj itself when it is alone. Only the owner
// writes the row, and a row someone else uses is never removed.
func linkOwner(obj *salesv1alpha1.SalesConnection, others []salesv1alpha1.SalesConnection) client.ObjectKey {
	owner := slices.MinFunc(append(others, *obj), func(a, b salesv1alpha1.SalesConnection) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return client.ObjectKeyFromObject(&owner)
}
