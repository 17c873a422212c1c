package browser

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"numbers/internal/testupstream"
	"numbers/service"
)

var screenshots = flag.String("screenshots", "", "a folder to keep the pages' screenshots in (make screenshots: docs/)")

// browser starts headless Chromium and returns a context for one tab, and
// what the page reported: console errors, exceptions and failed requests.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/need chromium (make test does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true), // containers give /dev/shm 64 MB
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	var mu sync.Mutex
	var problems []string
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, fmt.Sprintf("exception: %s %v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, fmt.Sprintf("console error: %v", ev.Args))
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled { // an EventSource closed by its page is cancelled, not failed
				problems = append(problems, "request failed: "+ev.ErrorText)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Hooks installed before any page script: alerts, errors and CSP
	// violations are counted on window.__fired.
	hooks := `window.__fired = [];
		window.alert = m => window.__fired.push("alert " + m);
		window.addEventListener("error", e => window.__fired.push("error " + e.message));
		document.addEventListener("securitypolicyviolation", e => window.__fired.push("csp " + e.violatedDirective));`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hooks}); err != nil {
		t.Fatal(err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), problems...) }
}

// start starts the service on loopback with cfg's jobs settings.
func start(t *testing.T, jobs service.Jobs) *service.Service {
	t.Helper()
	s, err := service.New(service.Config{Addr: "127.0.0.1:0", Admin: "127.0.0.1:0", Answer: service.Answer{Calibrate: service.Off},
		Jobs: jobs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(context.Background()) //nolint:errcheck // Shutdown's result is checked
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// gated is an upstream whose path /N answers [N] once release(N) is called.
type gated struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

func (g *gated) gate(p string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates == nil {
		g.gates = map[string]chan struct{}{}
	}
	if g.gates[p] == nil {
		g.gates[p] = make(chan struct{})
	}
	return g.gates[p]
}

func (g *gated) release(n int) { close(g.gate(fmt.Sprintf("/%d", n))) }

func (g *gated) serve(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
	select {
	case <-g.gate(r.URL.Path):
	case <-hang:
		return
	}
	fmt.Fprintf(w, `{"numbers":[%s]}`, strings.TrimPrefix(r.URL.Path, "/"))
}

// createJob starts a job over urls and returns its id.
func createJob(t *testing.T, s *service.Service, urls ...string) string {
	t.Helper()
	q := url.Values{"u": urls}
	resp, err := http.Post("http://"+s.Addr().String()+"/jobs?"+q.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %v", resp.StatusCode, err)
	}
	return doc.ID
}

// jobDocument reads job id's status document.
func jobDocument(t *testing.T, s *service.Service, id string) (doc struct {
	Status  string
	Numbers []int64
}) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr().String() + "/jobs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// shot saves a screenshot of the page as name, in -screenshots or the
// test's folder, and checks it is a PNG.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStatusPage: the status page loads with no console error and no failed
// request, its figures follow the load, it links the recent job to its view
// on the public listener, and the public listener serves neither it nor
// its script.
func TestStatusPage(t *testing.T) {
	up := testupstream.Start(t, testupstream.JSON(`{"numbers":[1,2,3]}`))
	s := start(t, service.Jobs{})
	id := createJob(t, s, up.URL+"/job")
	ctx, problems := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.AdminAddr()+"/"),
		chromedp.Poll[chromedp.Void](`window.__status && window.__status.samples >= 2`)); err != nil {
		t.Fatal(err)
	}
	// Load: requests until the page has counted answers on time.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(fmt.Sprintf("http://%s/numbers?u=%s/%d", s.Addr(), up.URL, i%50))
			if err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // the count is what matters
				resp.Body.Close()
			}
		}
	}()
	// Five samples make a chart worth a screenshot.
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`window.__status.last.onTime > 0 && window.__status.last.p50 > 0 && window.__status.samples >= 5`))
	if err == nil {
		shot(t, ctx, "status-page.png")
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("the page's figures did not follow the load: %v", err)
	}
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#jobs a").href`))
	if want := "http://" + s.Addr().String() + "/jobs/" + id; err != nil || link != want {
		t.Errorf("the page links the job as %q (%v); want %q", link, err, want)
	}
	fired, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__fired`))
	if err != nil {
		t.Fatal(err)
	}
	if p := problems(); len(p) > 0 || len(fired) > 0 {
		t.Fatalf("the page reported %q, fired %q", p, fired)
	}
	for _, path := range []string{"/", "/status", "/status/events", "/ui/status.js"} {
		resp, err := http.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("public listener %s: %d; want 404", path, resp.StatusCode)
		}
	}
}

// TestJobViewResumes: the server cuts the job's stream mid-way (at a short
// -sse-max); the page shows reconnecting, resumes with Last-Event-ID, and
// ends with the job's exact answer, having seen every event once, in order.
func TestJobViewResumes(t *testing.T) {
	var g gated
	up := testupstream.Start(t, g.serve)
	s := start(t, service.Jobs{MaxStream: 300 * time.Millisecond})
	urls := []string{up.URL + "/1", up.URL + "/2", up.URL + "/3", up.URL + "/4"}
	id := createJob(t, s, urls...)
	ctx, problems := browser(t)
	g.release(1)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.Addr().String()+"/jobs/"+id),
		chromedp.Poll[chromedp.Void](`window.__job.events.length == 1`),
		chromedp.Poll[chromedp.Void](`window.__job.states.includes("reconnecting") && window.__job.states.at(-1) == "live"`)); err != nil {
		t.Fatal(err)
	}
	for n := 2; n <= len(urls); n++ {
		g.release(n)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`window.__job.final !== null`)); err != nil {
		t.Fatal(err)
	}
	events, err := chromedp.Run(ctx, chromedp.Evaluate[[]struct {
		ID   uint64
		Type string
	}](`window.__job.events`))
	if err != nil {
		t.Fatal(err)
	}
	numbers, err := chromedp.Run(ctx, chromedp.Evaluate[[]int64](`window.__job.final.numbers`))
	if err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "job-view.png")
	for i, ev := range events {
		want := "upstream"
		if i == len(urls) {
			want = "done"
		}
		if ev.ID != uint64(i+1) || ev.Type != want {
			t.Fatalf("events %+v: want ids 1..%d, upstreams then done, no gap, no duplicate", events, len(urls)+1)
		}
	}
	if len(events) != len(urls)+1 {
		t.Fatalf("%d events; want %d", len(events), len(urls)+1)
	}
	doc := jobDocument(t, s, id)
	if doc.Status != "done" || fmt.Sprint(numbers) != fmt.Sprint(doc.Numbers) || fmt.Sprint(numbers) != "[1 2 3 4]" {
		t.Fatalf("page's answer %v; the job's %s %v", numbers, doc.Status, doc.Numbers)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Text("#numbers")); err != nil || shown != "1, 2, 3, 4" {
		t.Fatalf("numbers shown %q (%v)", shown, err)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("the page reported %q", p)
	}
}

// TestHostileJob: URLs made to break out of markup are shown as text, and
// no script runs.
func TestHostileJob(t *testing.T) {
	up := testupstream.Start(t, testupstream.JSON(`{"numbers":[7]}`))
	s := start(t, service.Jobs{})
	hostile := []string{
		up.URL + "/?q=<script>alert(1)</script>",
		up.URL + `/?q="><img/src=x/onerror=alert(2)>`, // no spaces: a space makes the URL invalid, never shown
		up.URL + "/?q=" + strings.Repeat("x", 10<<10),
		"javascript:alert(3)",
	}
	id := createJob(t, s, hostile...)
	ctx, _ := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.Addr().String()+"/jobs/"+id),
		chromedp.Poll[chromedp.Void](`window.__job.final !== null`)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("#upstreams"))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("img, #upstreams script").length`))
	if err != nil {
		t.Fatal(err)
	}
	fired, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__fired`))
	if err != nil {
		t.Fatal(err)
	}
	if len(fired) > 0 || imgs > 0 {
		t.Fatalf("hostile job: fired %q, %d elements made from input", fired, imgs)
	}
	for _, want := range []string{"<script>alert(1)</script>", `"><img/src=x/onerror=alert(2)>`} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q as text:\n%.300s", want, text)
		}
	}
}
