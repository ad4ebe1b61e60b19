package controllers

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// packageManifest returns the manifest of the solution package named by
// spec.integrationSolution, reading the package only when its ConfigMap changed since
// the last read.
func (r *Reconciler) packageManifest(ctx context.Context, s *scope) (solution.Manifest, error) {
	spec := s.obj.Spec.IntegrationSolution.PackageRef
	ref := packageRef{configMap: client.ObjectKey{Namespace: s.obj.Namespace, Name: spec.Name}, key: spec.Key}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err := r.Get(ctx, ref.configMap, meta); err == nil {
		if m, ok := r.packages.get(ref, meta.ResourceVersion); ok {
			return m, nil
		}
	}
	_, manifest, resourceVersion, err := r.readPackage(ctx, s)
	if err != nil {
		return solution.Manifest{}, err
	}
	r.packages.put(ref, resourceVersion, manifest)
	return manifest, nil
}

// readPackage reads and parses the solution package named by spec.integrationSolution,
// live, and returns the ConfigMap's resource version with it.
func (r *Reconciler) readPackage(ctx context.Context, s *scope) ([]byte, solution.Manifest, string, error) {
	ref := s.obj.Spec.IntegrationSolution.PackageRef
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.obj.Namespace, Name: ref.Name}, cm)
	if apierrors.IsNotFound(err) {
		return nil, solution.Manifest{}, "", stalledOnSpec(salesv1alpha1.ReasonPackageNotFound,
			"ConfigMap %s/%s with the solution package not found: create it with the zip under binaryData key %q", s.obj.Namespace, ref.Name, ref.Key)
	}
	if err != nil {
		return nil, solution.Manifest{}, "", retrying(salesv1alpha1.ReasonRetrying, "reading ConfigMap %s/%s failed; retrying", s.obj.Namespace, ref.Name)
	}
	pkg, ok := cm.BinaryData[ref.Key]
	if !ok {
		return nil, solution.Manifest{}, "", stalledOnSpec(salesv1alpha1.ReasonPackageNotFound,
			"ConfigMap %s/%s has no binaryData key %q: add the solution zip there (kubectl create configmap --from-file puts binary files in binaryData)", s.obj.Namespace, ref.Name, ref.Key)
	}
	manifest, err := solution.Read(pkg)
	if err != nil {
		return nil, solution.Manifest{}, "", stalledOnSpec(salesv1alpha1.ReasonInvalidPackage,
			"ConfigMap %s/%s key %q is not a usable solution package: %s", s.obj.Namespace, ref.Name, ref.Key, boundedText(err.Error(), maxMessageLength))
	}
	if !r.allowsSolution(manifest.UniqueName) {
		return nil, solution.Manifest{}, "", stalledOnSpec(salesv1alpha1.ReasonInvalidPackage,
			"ConfigMap %s/%s key %q holds solution %q, not Business Central's integration solution %s: the operator imports only the solutions a cluster admin allows with --allowed-solutions",
			s.obj.Namespace, ref.Name, ref.Key, boundedText(manifest.UniqueName, maxNameLength), integrationSolutionName)
	}
	return pkg, manifest, cm.ResourceVersion, nil
}

// allowsSolution reports whether the operator may import the solution with that unique
// name: only the integration solution, unless a cluster admin allowed others.
func (r *Reconciler) allowsSolution(uniqueName string) bool {
	allowed := r.AllowedSolutions
	if len(allowed) == 0 {
		allowed = []string{integrationSolutionName}
	}
	return slices.ContainsFunc(allowed, func(name string) bool { return strings.EqualFold(name, uniqueName) })
}
