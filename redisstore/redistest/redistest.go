// Package redistest starts a real redis-server for tests, on a free
// loopback port, with no persistence, and stops it after. Tests that need
// Redis fail, never skip, when redis-server is missing: make test installs it
// (scripts/need redis-server).
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Install is the command that installs redis-server on this kind of machine.
const Install = "apt-get install -y redis-server (or: scripts/need redis-server)"

// Server is a redis-server child process.
type Server struct {
	Addr   string // host:port
	URL    string // redis://host:port
	cmd    *exec.Cmd
	exited chan error // receives the process's end
	dir    string
}

// Start starts a redis-server on a free loopback port and waits until it
// answers PING.
func Start() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server is not installed: %s", Install)
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, err
	}
	var last error
	for range 5 { // a free port may be taken between the probe and the start
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
		s.URL = "redis://" + s.Addr
		if last = s.start(bin); last == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, last
}

// start runs redis-server on s.Addr and waits for it.
func (s *Server) start(bin string) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	s.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--loglevel", "warning", "--logfile", "redis.log")
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	limit := time.Now().Add(10 * time.Second)
	for time.Now().Before(limit) {
		if ping(s.Addr) == nil {
			return nil
		}
		select {
		case err := <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redistest: redis-server exited at start: %v\n%s", err, log)
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.Stop()
	return errors.New("redistest: redis-server did not answer within 10s")
}

// Stop stops the server (SIGKILL, as a crash would) and waits for its end.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // already gone is fine
	<-s.exited
	s.cmd = nil
}

// Restart starts the server again on the same port, empty (no persistence),
// as a Redis restarted without its data.
func (s *Server) Restart() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return s.start(bin)
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// Main runs a package's tests with a server started for them in *srv, and
// returns the exit code: for TestMain, os.Exit(redistest.Main(m, &srv)).
// Without redis-server the tests fail, saying how to install it.
func Main(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*srv = s
	defer s.Close()
	return m.Run()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ping sends PING to addr and reads +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck // the read fails if it did not take
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redistest: PING answered %q", line)
	}
	return nil
}

// Command sends one command to the server and returns the first line of its
// reply (":1", "+OK", "$5"...), for tests that look into Redis directly.
func (s *Server) Command(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck // the read fails if it did not take
	req := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		req += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}
