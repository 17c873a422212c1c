package bench

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one latency curve of a plot.
type Series struct {
	Label  string
	Result *Result
}

// percentileTicks labels the log axis of 1/(1-p) with percentiles, as
// HdrHistogram's plotter does: 1 is 0%, 10 is 90%, 100 is 99%...
var percentileTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"}
	for i, l := range labels {
		v := math.Pow(10, float64(i))
		if v >= lo && v <= hi {
			ticks = append(ticks, plot.Tick{Value: v, Label: l})
		}
	}
	if 2 >= lo && 2 <= hi {
		ticks = append(ticks, plot.Tick{Value: 2, Label: "50%"})
	}
	return ticks
})

// latencyTicks labels the log latency axis at 1, 2 and 5 times each power of
// ten, so that even a range within one decade gets labels.
var latencyTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ticks
})

// minLatency is the floor of the log latency axis, in milliseconds.
const minLatency = 0.01

// curve samples a result's histogram at percentiles spaced evenly on the log
// axis, up to the resolution its sample count supports.
func curve(r *Result) plotter.XYs {
	h := r.Histogram()
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	maxX := math.Max(10, float64(h.TotalCount()))
	var pts plotter.XYs
	for k := 0; ; k++ {
		x := math.Pow(10, float64(k)/20) // 20 points per decade
		if x > maxX {
			break
		}
		p := 100 * (1 - 1/x)
		pts = append(pts, plotter.XY{X: x, Y: max(minLatency, ms(h.ValueAtQuantile(p)))})
	}
	return append(pts, plotter.XY{X: maxX, Y: max(minLatency, ms(h.Max()))})
}

// Plot draws the latency-by-percentile curves of the series into a PNG at path.
func Plot(path, title string, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms, from intended send time)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	p.X.Min = 1
	// Latency on a log axis too, so that a 1 ms service and a 5 s baseline
	// both stay readable in one plot.
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = latencyTicks
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	n := 0
	for i, s := range series {
		pts := curve(s.Result)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("bench: plot %s: %w", s.Label, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Label, l)
		n++
	}
	if n == 0 {
		return nil
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}

// label names a series for a legend.
func label(target string, r *Result) string {
	return target + " " + r.Name + " (p99 " + strconv.FormatFloat(r.Latency.P99, 'f', 2, 64) + " ms)"
}

// WritePlots writes a plot per run ("<target>-<run>.png"), a combined plot per
// scenario comparing its runs and targets ("<scenario>.png"), and latency.png
// with one headline run per scenario and target. It returns the files written.
func WritePlots(dir string, sum *Summary) ([]string, error) {
	var files []string
	save := func(name, title string, series []Series) error {
		path := dir + "/" + fileName(name) + ".png"
		if err := Plot(path, title, series); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	byScenario := map[string][]Series{}
	var order []string
	headline := map[string]Series{}
	var headOrder []string
	for _, rec := range sum.Runs {
		r := rec.Result
		s := Series{Label: label(rec.Target, r), Result: r}
		if err := save(rec.Target+"-"+r.Name, rec.Target+" "+r.Name, []Series{s}); err != nil {
			return files, err
		}
		if _, seen := byScenario[rec.Scenario]; !seen {
			order = append(order, rec.Scenario)
		}
		byScenario[rec.Scenario] = append(byScenario[rec.Scenario], s)
		key := rec.Scenario + "/" + rec.Target
		_, seen := headline[key]
		if !seen {
			headOrder = append(headOrder, key)
		}
		if !seen || r.Name == "capacity@1000" || r.Name == "classic@1000" {
			headline[key] = s
		}
	}
	for _, sc := range order {
		if err := save(sc, sc+": latency by percentile", byScenario[sc]); err != nil {
			return files, err
		}
	}
	var heads []Series
	for _, k := range headOrder {
		heads = append(heads, headline[k])
	}
	if err := save("latency", "latency by percentile, headline runs", heads); err != nil {
		return files, err
	}
	return files, nil
}
