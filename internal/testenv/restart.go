package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// RestartAPIServer stops kube-apiserver with SIGTERM, as a control-plane upgrade does
// (SIGKILL after 5 s: its graceful shutdown can wait a minute for open requests), and
// starts it again with the same flags, certificates and port, while etcd keeps
// running and keeps every object. It returns once the new process answers /readyz, and
// how long the API was down.
//
// envtest can restart its API server only with new certificates (a new CA for serving
// and for client certificates), which every existing client would refuse; this restarts
// the process instead, as a real control plane restarts.
func (e *Env) RestartAPIServer(ctx context.Context) (time.Duration, error) {
	pid, args, err := e.apiServerProcess()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	for i := 0; processAlive(pid); i++ {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if i == 100 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// No context: it outlives this call, and Stop ends it with SIGTERM, not SIGKILL.
	cmd := exec.Command(args[0], args[1:]...) //nolint:gosec,noctx // the binary and flags envtest chose
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	e.restarted = cmd
	go func() { _ = cmd.Wait() }()
	if err := e.waitReady(ctx, 60*time.Second); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

// stopRestarted stops the API server RestartAPIServer started, which envtest does not
// know about.
func (e *Env) stopRestarted() {
	if e.restarted == nil || e.restarted.Process == nil {
		return
	}
	pid := e.restarted.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200 && processAlive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	e.restarted = nil
}

// apiServerProcess finds the running kube-apiserver of this control plane (envtest's,
// or the one a restart started): the process that serves this secure port, and its
// command line.
func (e *Env) apiServerProcess() (int, []string, error) {
	api := e.env.ControlPlane.APIServer
	if api == nil {
		return 0, nil, errors.New("the control plane has no API server")
	}
	port := "--secure-port=" + api.SecureServing.Port
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, nil, err
	}
	for _, dir := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) != "kube-apiserver" || !processAlive(pidOf(dir)) {
			continue
		}
		for _, a := range args {
			if a == port {
				return pidOf(dir), args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver process serves %s", port)
}

func pidOf(procDir string) int {
	pid, _ := strconv.Atoi(filepath.Base(procDir))
	return pid
}

// waitReady polls /readyz until the API server answers 200.
func (e *Env) waitReady(ctx context.Context, timeout time.Duration) error {
	hc, err := rest.HTTPClientFor(e.Config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(e.Config.Host, "/")+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready %s after its restart", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(stat)
	if i := strings.LastIndex(s, ")"); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
