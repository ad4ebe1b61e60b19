// Package proc runs the local processes of the demo and the benchmark.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a program started by Start; Stop ends it and waits, so no process is left
// behind.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // why it exited, set before done is closed
}

// Start runs a program with its output in logFile.
func Start(name, logFile string, env []string, bin string, args ...string) (*Process, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	// No context: Stop ends the process group with SIGTERM, then SIGKILL; a context would
	// only SIGKILL the leader.
	cmd := exec.Command(bin, args...) //nolint:noctx // stopped by Stop, see above
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so a Ctrl-C in the terminal reaches the demo, which then
	// stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// Stop sends SIGTERM to the process group, then SIGKILL after a grace period, so
// children the program started go too.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Exited reports an early exit, for a clear error instead of a timeout.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		err := p.err
		if err == nil {
			err = errors.New("exited")
		}
		return fmt.Errorf("%s stopped: %w", p.Name, err)
	default:
		return nil
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitForFile waits until a file exists and is not empty.
func WaitForFile(ctx context.Context, path string, p *Process) error {
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return nil
		}
		if err := p.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Tail returns the end of a log file, to show why a process failed.
func Tail(path string, limit int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	if len(data) > limit {
		data = data[len(data)-limit:]
	}
	return string(data)
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }
