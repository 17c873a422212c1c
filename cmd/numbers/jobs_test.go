package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"numbers/internal/testupstream"
)

// TestJobStreamShutdown runs a job in the binary, follows its events with a
// raw connection, and sends SIGTERM while the stream is open: the stream
// gets the event so far, a final comment, and is closed; the process exits
// cleanly.
func TestJobStreamShutdown(t *testing.T) {
	p := startWith(t, nil, map[string]any{"sse-ping": "1h"}, "-job-budget", "1m")
	entered := make(chan struct{}, 1)
	slow := testupstream.Start(t, testupstream.Hanging(entered)).URL
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[7]}`)).URL

	loc := post(t, p, good, slow)
	<-entered

	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+loc+"/events HTTP/1.1\r\nHost: numbers\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var stream strings.Builder
	for !strings.Contains(stream.String(), "event: upstream\ndata: ") || !strings.HasSuffix(stream.String(), "\n\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream so far %q: %v", stream.String(), err)
		}
		stream.WriteString(line)
	}
	if !strings.HasPrefix(stream.String(), "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n") {
		t.Fatalf("stream head %q", stream.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != ": shutting down\n\n" {
		t.Fatalf("stream after SIGTERM %q; want the final comment, then the end", rest)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM\n%s", p.log())
	}
	if p.err != nil || !strings.Contains(p.log(), "numbers stopped cleanly") {
		t.Fatalf("exit: %v\n%s", p.err, p.log())
	}
}
