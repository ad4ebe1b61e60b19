// Package e2etest runs the SalesConnection reconciler end to end: in a manager on a real
// kube-apiserver and etcd, against the Dataverse and Entra ID simulator over TLS. The
// decisions of each step are unit tested in package controllers, without either.
package e2etest
