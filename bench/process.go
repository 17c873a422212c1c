package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrProcess reports a child process that could not start or stop cleanly.
var ErrProcess = errors.New("bench: process")

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("%w: free port: %w", ErrProcess, err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("%w: free port: %w", ErrProcess, err)
	}
	return addr, nil
}

// BuildService builds the service's command into dir, with the go build
// flags given, and returns the binary's path; the compiler's output goes to
// out. It builds the package
// numbers/cmd/numbers, which the go command finds from anywhere in the
// repository: in the service's module, and in the bench module through its
// replace and tool directives.
func BuildService(ctx context.Context, dir string, out io.Writer, flags ...string) (string, error) {
	bin := filepath.Join(dir, "numbers")
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build"}, flags...), "-o", bin, "numbers/cmd/numbers")...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: build numbers/cmd/numbers (run from within the repository): %w", ErrProcess, err)
	}
	return bin, nil
}

// Process is a child process serving on a loopback address.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts path with args and environment env (nil means this
// process's), its output going to out, and waits up to wait for addr to accept
// TCP connections. On failure the child is stopped.
func StartProcess(ctx context.Context, path string, args, env []string, out io.Writer, addr string, wait time.Duration) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrProcess, path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitTCP(ctx, addr, wait, p.done); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w: %s never listened on %s: %w", ErrProcess, path, addr, err)
	}
	return p, nil
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 5s for the child to exit, then kills it.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%w: pid %d ignored SIGTERM for 5s, killed", ErrProcess, p.Pid())
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		return fmt.Errorf("%w: wait: %w", ErrProcess, p.err)
	}
	return nil
}

// waitTCP polls addr until it accepts a connection, the child exits, or wait passes.
func waitTCP(ctx context.Context, addr string, wait time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var d net.Dialer
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-exited:
			t.Stop()
			return errors.New("exited")
		case <-t.C:
		}
	}
}

// CaptureProfile fetches a CPU profile of the given length from a Go pprof
// endpoint (admin is a base URL such as "http://127.0.0.1:6060") into path.
func CaptureProfile(ctx context.Context, admin string, seconds int, path string) error {
	return download(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, max(1, seconds)), path)
}

// CaptureHeap fetches a heap profile from a Go pprof endpoint into path,
// after a collection, so that it shows what is live now.
func CaptureHeap(ctx context.Context, admin string, path string) error {
	return download(ctx, admin+"/debug/pprof/heap?gc=1", path)
}

// download saves the body of a GET of url into path.
func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bench: profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: profile: %s answered %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("bench: profile: %w", err)
	}
	return f.Close()
}
