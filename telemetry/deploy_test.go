package telemetry

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"numbers/cache"
	"numbers/forensics"
	"numbers/jobs"
	"numbers/redisstore"
	"numbers/resilience"
	"numbers/source"
)

// The operator's files in deploy/: a Grafana dashboard and Prometheus
// alerting rules (with their unit tests), all over this package's metrics.
const (
	dashboardFile  = "../deploy/grafana/numbers.json"
	alertsFile     = "../deploy/prometheus/alerts.yml"
	alertTestsFile = "../deploy/prometheus/alerts_test.yml"
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"` // a string, or {"query": "..."}
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert  string `yaml:"alert"`
			Record string `yaml:"record"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// decode reads file and decodes it into v with unmarshal.
func decode(t *testing.T, file string, unmarshal func([]byte, any) error, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func readDashboard(t *testing.T) (d dashboard) {
	t.Helper()
	decode(t, dashboardFile, json.Unmarshal, &d)
	return d
}

func readRules(t *testing.T) (f ruleFile) {
	t.Helper()
	decode(t, alertsFile, yaml.Unmarshal, &f)
	return f
}

// panelExprs returns the PromQL of every panel target, by panel title.
func (d dashboard) panelExprs() map[string][]string {
	exprs := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[p.Title] = append(exprs[p.Title], tg.Expr)
		}
	}
	return exprs
}

// expressions returns every expression of the dashboard (panel targets and
// template variable queries) and of the rules, each with where it is.
func expressions(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	d := readDashboard(t)
	for title, list := range d.panelExprs() {
		for i, e := range list {
			exprs[fmt.Sprintf("dashboard panel %q target %d", title, i)] = e
		}
	}
	for _, v := range d.Templating.List {
		switch q := v.Query.(type) {
		case string:
			exprs["dashboard variable "+v.Name] = q
		case map[string]any:
			exprs["dashboard variable "+v.Name], _ = q["query"].(string)
		}
	}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			exprs["rule "+r.Alert+r.Record] = r.Expr
		}
	}
	return exprs
}

var (
	// metricName matches our metric names, not the middle of another word.
	metricName = regexp.MustCompile(`(?:^|[^A-Za-z0-9_:])((?:numbers|go|process)_[A-Za-z0-9_:]*)`)
	// selector matches a metric name and its label matchers.
	selector = regexp.MustCompile(`((?:numbers|go|process)_[A-Za-z0-9_:]*)\s*\{([^}]*)\}`)
	// matcherLabel matches the label name of one label matcher.
	matcherLabel = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// exported returns the series names /metrics serves, with the label names
// of each, from Metrics watching everything the service wires in (health,
// hedges and retries, jobs and late-answer traces included, which the
// service exports when they are on).
func exported(t *testing.T) map[string][]string {
	t.Helper()
	m := New(500 * time.Millisecond)
	m.WatchCache(cache.New(cache.Config{}))
	m.WatchSource(&source.Stats{})
	m.WatchOutliers(resilience.NewDetector(resilience.OutlierConfig{}))
	m.WatchTailCutting(&resilience.Stats{}, resilience.NewRetryBudget(resilience.RetryBudgetConfig{}))
	m.WatchJobs(jobs.NewMemStore(jobs.MemConfig{}).Stats, &jobs.HubStats{})
	m.WatchLateTraces(&forensics.Stats{})
	m.WatchOverload(func() float64 { return 0 }, func() float64 { return 0 }, func() float64 { return 0 }, func() time.Duration { return 0 }, func() time.Duration { return 0 })
	m.WatchInFlight(func() int64 { return 0 })
	m.Fetched(time.Millisecond)
	m.Answered(time.Millisecond, false, false)
	m.WatchRedis(func() bool { return true }, &redisstore.CacheStats{}).Observe(redisstore.OpCacheGet, time.Millisecond, nil)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{}
	for name, f := range families {
		var labels []string
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		switch f.GetType().String() {
		case "HISTOGRAM":
			names[name+"_bucket"] = append(slices.Clone(labels), "le")
			names[name+"_sum"] = labels
			names[name+"_count"] = labels
		case "SUMMARY":
			names[name] = append(slices.Clone(labels), "quantile")
			names[name+"_sum"] = labels
			names[name+"_count"] = labels
		default:
			names[name] = labels
		}
	}
	return names
}

// TestDeployMetricsExist checks that every metric the dashboard and the
// alerting rules use is one /metrics serves, with the labels they match on
// (job and instance are Prometheus' own).
func TestDeployMetricsExist(t *testing.T) {
	have := exported(t)
	used := map[string]bool{}
	for where, expr := range expressions(t) {
		if strings.TrimSpace(expr) == "" {
			t.Errorf("%s: no expression", where)
		}
		for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
			used[m[1]] = true
			if _, ok := have[m[1]]; !ok {
				t.Errorf("%s uses %s, which /metrics does not serve", where, m[1])
			}
		}
		for _, m := range selector.FindAllStringSubmatch(expr, -1) {
			labels, ok := have[m[1]]
			if !ok {
				continue
			}
			for _, l := range matcherLabel.FindAllStringSubmatch(m[2], -1) {
				if l[1] != "job" && l[1] != "instance" && !slices.Contains(labels, l[1]) {
					t.Errorf("%s matches label %s of %s, which has labels %q", where, l[1], m[1], labels)
				}
			}
		}
	}
	// Every numbers_ series should be on the dashboard; a new metric
	// without a panel is probably forgotten.
	for name := range have {
		if strings.HasPrefix(name, "numbers_") && !strings.HasSuffix(name, "_sum") && !used[name] &&
			!(strings.HasSuffix(name, "_count") && used[strings.TrimSuffix(name, "_count")+"_bucket"]) {
			t.Errorf("%s is exported but neither the dashboard nor the rules use it", name)
		}
	}
}

// TestDashboardPanels checks what Grafana needs of every panel: a unique id,
// a title and a description (the README describes panels by them), the
// datasource variable, and at least one query.
func TestDashboardPanels(t *testing.T) {
	d := readDashboard(t)
	if !slices.ContainsFunc(d.Templating.List, func(v variable) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error(`no Prometheus datasource variable named "datasource"`)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" {
			t.Errorf("panel %d: title %q, description %q; want both", p.ID, p.Title, p.Description)
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q; want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
	}
}

// promtool returns the path of promtool, which make test installs when it
// is missing (scripts/need); without it the test fails, never skips.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run scripts/need promtool:prometheus (make test does), which installs Debian's prometheus package")
	}
	return path
}

// TestAlertRules runs promtool on the alerting rules (syntax, then their
// unit tests in alerts_test.yml) and on the dashboard's queries, with
// Grafana's variables replaced, as recording rules.
func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", alertsFile)
	run("test", "rules", alertTestsFile)

	vars := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$job", ".*", "$instance", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	i := 0
	for _, list := range readDashboard(t).panelExprs() {
		for _, e := range list {
			i++
			fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %q\n", i, vars.Replace(e))
		}
	}
	queries := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(queries, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run("check", "rules", queries)
}
