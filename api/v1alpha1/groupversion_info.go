// Package v1alpha1 contains the v1alpha1 API of the sales.bcconnect.io group: the
// SalesConnection resource, which connects a Dynamics 365 Sales (Dataverse) environment to
// Business Central.
// +kubebuilder:object:generate=true
// +groupName=sales.bcconnect.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "sales.bcconnect.io", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this API to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
