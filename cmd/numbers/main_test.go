package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"numbers/internal/testbuild"
)

// binary is the numbers command, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "numbers-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "numbers")
	out, err := exec.Command("go", append(append([]string{"build"}, testbuild.Flags...), "-o", binary, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// slack is the generous allowance over a budget the tests set themselves.
const slack = time.Second

// proc is a running numbers process.
type proc struct {
	cmd    *exec.Cmd
	addr   string        // HOST:PORT it listens on
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, once exited is closed

	mu     sync.Mutex
	stderr strings.Builder
}

// cleanEnv is the environment without any NUMBERS_ or OTEL_ variable, plus
// extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

var listenRE = regexp.MustCompile(`msg="numbers listening" addr=(\S+)`)

// start runs the binary on a loopback port with args and waits until it logs
// its address. The process is killed by PID at cleanup if still running.
// Refusals for a busy machine or a queue are off unless args turn them on: these
// tests are not about overload, and a test machine that is merely busy must
// not get 503s (package overload tests them, and handler the refusals).
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startWith(t, nil, nil, args...)
}

// startWith is start with the variables env ("NAME=value") set and the
// tuning settings tune (name to value) in a -tuning file, over the tests'
// own: busy-limit 1 and queue-limit off.
func startWith(t *testing.T, env []string, tune map[string]any, args ...string) *proc {
	t.Helper()
	all := map[string]any{"busy-limit": 1, "queue-limit": "off"}
	maps.Copy(all, tune)
	args = append([]string{"-addr", "127.0.0.1:0", "-admin", "off", "-tuning", tuningFile(t, all)}, args...)
	p := &proc{cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	p.cmd.Env = cleanEnv(env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill() //nolint:errcheck // the process may exit meanwhile
			<-p.exited
		}
	})
	select {
	case p.addr = <-addr:
	case <-p.exited:
		t.Fatalf("numbers exited before listening: %v\n%s", p.err, p.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("numbers did not log its address\n%s", p.log())
	}
	return p
}

// tuningFile writes settings as a -tuning file and returns its path.
func tuningFile(t *testing.T, settings map[string]any) string {
	t.Helper()
	b, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tuning.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// get requests path from p with a fresh connection, and the request headers
// given as name and value pairs, and returns the response with its body
// read, and how long it took. It checks the response against the OpenAPI
// document (conform).
func (p *proc) get(t *testing.T, method, path string, header ...string) (*http.Response, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Close = true
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	took := time.Since(start)
	conform(t, req, resp, string(body))
	return resp, string(body), took
}

// query returns /numbers?u=...
func query(us ...string) string {
	if len(us) == 0 {
		return "/numbers"
	}
	return "/numbers?" + url.Values{"u": us}.Encode()
}
