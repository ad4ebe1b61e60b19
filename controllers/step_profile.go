package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// tableMapping is one of Business Central's default integration table mappings.
type tableMapping struct {
	table, entity, direction string
}

// defaultTableMappings are what "Use Default Synchronization Setup" configures
// (Business Central's CDSSetupDefaults and CRMSetupDefaults). Payment terms, shipment
// methods and shipping agents map to option sets of the account, not to tables.
var defaultTableMappings = []tableMapping{
	{"Salesperson/Purchaser", "systemuser", "FromIntegrationTable"},
	{"Customer", "account", "Bidirectional"},
	{"Vendor", "account", "Bidirectional"},
	{"Contact", "contact", "Bidirectional"},
	{"Currency", "transactioncurrency", "ToIntegrationTable"},
	{"Payment Terms", "account.paymenttermscode (option set)", "FromIntegrationTable"},
	{"Shipment Method", "account.address1_freighttermscode (option set)", "FromIntegrationTable"},
	{"Shipping Agent", "account.address1_shippingmethodcode (option set)", "FromIntegrationTable"},
	{"Unit Group", "uomschedule", "ToIntegrationTable"},
	{"Item Unit of Measure", "uom", "ToIntegrationTable"},
	{"Resource Unit of Measure", "uom", "ToIntegrationTable"},
	{"Item", "product", "Bidirectional"},
	{"Resource", "product", "Bidirectional"},
	{"Price List Header", "pricelevel", "ToIntegrationTable"},
	{"Price List Line", "productpricelevel", "ToIntegrationTable"},
	{"Sales Invoice Header", "invoice", "ToIntegrationTable"},
	{"Sales Invoice Line", "invoicedetail", "ToIntegrationTable"},
	{"Opportunity", "opportunity", "Bidirectional"},
}

// salesOrderMapping is added with sales order integration: Business Central sends the
// status of orders it created from Dynamics 365 Sales back to their salesorder.
var salesOrderMapping = tableMapping{"Sales Header (Order)", "salesorder", "ToIntegrationTable"}

// reconcileProfile writes the connection profile ConfigMap that Business Central-side
// tooling reads. It holds placeholders, never secrets, and is owned by the
// SalesConnection, so it is garbage collected with it. It writes to Kubernetes only, so
// it runs in Observe mode too.
func (r *Reconciler) reconcileProfile(ctx context.Context, s *scope) (plan, outcome) {
	return plan{}, outcomeOf(r.writeProfile(ctx, s))
}

func (r *Reconciler) writeProfile(ctx context.Context, s *scope) error {
	ref := s.obj.Spec.WriteConnectionProfileTo
	if ref == nil {
		return nil
	}
	data := connectionProfile(s.obj)
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: s.obj.Namespace, Name: ref.Name}
	err := r.APIReader.Get(ctx, key, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Data: data}
		if err := controllerutil.SetControllerReference(s.obj, cm, r.Scheme()); err != nil {
			return fmt.Errorf("owning the connection profile: %w", err)
		}
		r.profileWrites.expect(cm)
		if err := r.Create(ctx, cm); err != nil {
			r.profileWrites.forget(cm)
			return fmt.Errorf("creating the connection profile ConfigMap %s: %w", key, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading the connection profile ConfigMap %s: %w", key, err)
	}
	if !metav1.IsControlledBy(cm, s.obj) {
		return stalledOnSpec(salesv1alpha1.ReasonProfileConflict,
			"ConfigMap %s exists and is not owned by this SalesConnection: choose another spec.writeConnectionProfileTo or delete it", key)
	}
	if equality.Semantic.DeepEqual(cm.Data, data) {
		return nil
	}
	base := cm.DeepCopy()
	cm.Data = data
	r.profileWrites.expect(base)
	if err := r.Patch(ctx, cm, client.MergeFrom(base)); err != nil {
		r.profileWrites.forget(base)
		return fmt.Errorf("updating the connection profile ConfigMap %s: %w", key, err)
	}
	return nil
}

// connectionProfileVersion is the version of the profile's layout, a contract with
// Business Central-side tooling (docs/business-central.md): adding a key keeps it;
// removing or renaming a key, or changing a value's format, increments it.
const connectionProfileVersion = "1"

// connectionProfile is the profile's data.
func connectionProfile(obj *salesv1alpha1.SalesConnection) map[string]string {
	spec := &obj.Spec
	soi := spec.SalesOrderIntegration
	if soi == nil {
		soi = &salesv1alpha1.SalesOrderIntegration{}
	}
	data := map[string]string{
		"profileVersion":         connectionProfileVersion,
		"url":                    obj.Status.URL,
		"serverVersion":          obj.Status.ServerVersion,
		"sdkVersion":             spec.SDKVersion,
		"authenticationType":     string(spec.Authentication.Type),
		"connectionString":       connectionString(obj),
		"enabled":                strconv.FormatBool(spec.IsEnabled()),
		"salesOrderIntegration":  strconv.FormatBool(soi.Enabled),
		"autoCreateSalesOrders":  strconv.FormatBool(soi.AutoCreateSalesOrders),
		"autoProcessSalesQuotes": strconv.FormatBool(soi.AutoProcessSalesQuotes),
		"useDefaultSynchronizationSetup": strconv.FormatBool(
			spec.Synchronization != nil && spec.Synchronization.UseDefaultSetup),
	}
	if bc := spec.BusinessCentral; bc != nil {
		data["company"] = bc.Company
		data["itemAvailability"] = strconv.FormatBool(bc.ItemAvailability != nil && bc.ItemAvailability.Enabled)
	}
	if spec.Synchronization != nil && spec.Synchronization.UseDefaultSetup {
		data["tableMappings"] = tableMappings(soi.Enabled)
	}
	return data
}

// connectionString is the XRM tooling connection string, with placeholders where the
// secrets go.
func connectionString(obj *salesv1alpha1.SalesConnection) string {
	auth := obj.Spec.Authentication
	proxy := obj.Spec.SDKVersion
	parts := []string{"AuthType=" + string(auth.Type), "Url=" + obj.Status.URL}
	switch auth.Type {
	case salesv1alpha1.AuthenticationClientSecret:
		parts = append(parts, "ClientId={CLIENTID}", "ClientSecret={CLIENTSECRET}")
	case salesv1alpha1.AuthenticationCertificate:
		parts = append(parts, "ClientId={CLIENTID}", "Thumbprint={CERTIFICATETHUMBPRINT}")
	case salesv1alpha1.AuthenticationWorkloadIdentity:
		parts = append(parts, "ClientId="+auth.ClientID)
	default:
		parts = append(parts, "UserName={USERNAME}", "Password={PASSWORD}")
	}
	if proxy != "" {
		parts = append(parts, "ProxyVersion="+proxy)
	}
	return strings.Join(parts, "; ")
}

// tableMappings is one line per mapping: table, entity, direction.
func tableMappings(salesOrders bool) string {
	mappings := defaultTableMappings
	if salesOrders {
		mappings = append(append([]tableMapping{}, mappings...), salesOrderMapping)
	}
	var b strings.Builder
	for _, m := range mappings {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", m.table, m.entity, m.direction)
	}
	return b.String()
}
