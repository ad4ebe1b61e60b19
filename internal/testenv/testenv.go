// Package testenv starts the test control plane: a real kube-apiserver and etcd, built
// from source by hack/build-controlplane.sh, with the SalesConnection CRD installed.
// Each test package starts one in TestMain and shares it between its tests.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// Env is a running control plane.
type Env struct {
	env *envtest.Environment
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Client is an uncached client with the operator's scheme.
	Client client.Client
	// Scheme has the core types and the SalesConnection API.
	Scheme *k8sruntime.Scheme
	// Codecs decodes manifests with Scheme.
	Codecs serializer.CodecFactory
	admin  *envtest.AuthenticatedUser
	// restarted is the API server RestartAPIServer started in envtest's place.
	restarted *exec.Cmd
}

// RepoRoot is the repository's top directory, found from this file's location so tests
// work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir is where kube-apiserver, etcd and kubectl are: KUBEBUILDER_ASSETS when set
// (make test sets it), otherwise the newest bin/k8s/<version> that `make controlplane`
// built.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob(filepath.Join(RepoRoot(), "bin", "k8s", "v*"))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "kube-apiserver")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("no test control plane found: run `make controlplane` (or `make test`, which builds it) first")
}

// Start starts kube-apiserver and etcd and installs the CRDs of config/crd/bases.
func Start() (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := salesv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the test control plane from %s: %w", assets, err)
	}
	e := &Env{env: env, Config: cfg, Scheme: scheme, Codecs: serializer.NewCodecFactory(scheme)}
	e.Client, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	return e, nil
}

// Stop stops the control plane and removes its data.
func (e *Env) Stop() error {
	e.stopRestarted()
	return e.env.Stop()
}

// Addresses are the host:port addresses on which kube-apiserver and etcd serve.
func (e *Env) Addresses() []string {
	cp := e.env.ControlPlane
	var addrs []string
	if api := cp.APIServer; api != nil && api.SecureServing.Port != "" {
		addrs = append(addrs, net.JoinHostPort(api.SecureServing.Address, api.SecureServing.Port))
	}
	if etcd := cp.Etcd; etcd != nil && etcd.URL != nil {
		addrs = append(addrs, etcd.URL.Host)
	}
	return addrs
}

// Kubeconfig returns a kubeconfig for a cluster administrator.
func (e *Env) Kubeconfig() ([]byte, error) {
	admin, err := e.adminUser()
	if err != nil {
		return nil, err
	}
	return admin.KubeConfig()
}

// Kubectl runs the kubectl built with the control plane against this API server and
// returns its standard output and standard error.
func (e *Env) Kubectl(args ...string) (stdout, stderr string, err error) {
	admin, err := e.adminUser()
	if err != nil {
		return "", "", err
	}
	k, err := admin.Kubectl()
	if err != nil {
		return "", "", err
	}
	out, errOut, runErr := k.Run(args...)
	return readAll(out), readAll(errOut), runErr
}

func (e *Env) adminUser() (*envtest.AuthenticatedUser, error) {
	if e.admin != nil {
		return e.admin, nil
	}
	admin, err := e.env.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding an administrator: %w", err)
	}
	e.admin = admin
	return admin, nil
}

// Main starts the control plane, runs a package's tests against it and stops it. Call it
// from TestMain: func TestMain(m *testing.M) { testenv.Main(m, &env) }. Each after
// function runs once the tests have passed, before the control plane stops (the
// secret-leak sweep, for example); an error fails the package.
func Main(m *testing.M, env **Env, after ...func(*Env) error) {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	for _, f := range after {
		if code != 0 {
			break
		}
		if err := f(e); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}

// ServiceAccountIssuer is who signs the API server's service account tokens: the issuer
// URL (the iss claim) and the signing key's certificate in PEM, for a test authority to
// trust as a federated credential.
func (e *Env) ServiceAccountIssuer() (issuer string, certificatePEM []byte, err error) {
	api := e.env.ControlPlane.APIServer
	if api == nil {
		return "", nil, errors.New("the control plane has no API server")
	}
	// envtest writes the signing certificate under this name and passes it as
	// --service-account-key-file, with --service-account-issuer its secure URL.
	certificatePEM, err = os.ReadFile(filepath.Join(api.CertDir, "sa-signer.crt"))
	if err != nil {
		return "", nil, fmt.Errorf("reading the service account signing certificate: %w", err)
	}
	return api.SecureServing.URL("https", "/").String(), certificatePEM, nil
}

// WaitForSalesConnection reads the object every 50 ms until check passes, and fails t,
// showing the last status read, if timeout passes first.
func (e *Env) WaitForSalesConnection(t testing.TB, key client.ObjectKey, what string, timeout time.Duration,
	check func(*salesv1alpha1.SalesConnection) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := &salesv1alpha1.SalesConnection{}
	for time.Now().Before(deadline) {
		if err := e.Client.Get(context.Background(), key, got); err == nil && check(got) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; status: %+v", what, got.Status)
}
