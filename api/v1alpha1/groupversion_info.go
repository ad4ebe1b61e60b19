// Package v1alpha1 contains the v1alpha1 API of the sales.bcconnect.io group: the
// SalesConnection resource, which connects a Dynamics 365 Sales (Dataverse) environment to
// Business Central.
// +kubebuilder:object:generate=true
// +groupName=sales.bcconnect.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "sales.bcconnect.io", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this API to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the types of this API, and the meta/v1 options types for its
// group version, in a scheme.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &SalesConnection{}, &SalesConnectionList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
