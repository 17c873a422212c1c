package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the runs as an aligned table, then the capacities,
// checks and notes.
func WriteTable(w io.Writer, sum *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trun\trate/s\tok/s\tgood/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tp99.99 ms\tmax ms\tlate\tnear\tlate sent\tsrv late\tsrv max\terrors\tcomplete\tmean len\tgen behind\t")
	for _, rec := range sum.Runs {
		r := rec.Result
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%.1f\t%s\t%.3f\t%.0f\t%d\t\n",
			rec.Target, r.Name, r.Rate, r.Throughput, r.Goodput, r.Latency.P50, r.Latency.P90, r.Latency.P99,
			r.Latency.P999, r.Latency.P9999, r.Latency.Max, r.Late, r.Near, r.LateSent, r.ServerLate, r.ServerMaxMs, errorsCell(r), r.Completeness, r.MeanLength, r.Generator.Behind)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: table: %w", err)
	}
	if len(sum.Capacity) > 0 {
		names := make([]string, 0, len(sum.Capacity))
		for n := range sum.Capacity {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "\ncapacity (p99 <= 50 ms, no errors):")
		for _, n := range names {
			fmt.Fprintf(w, "  %-10s %g req/s\n", n, sum.Capacity[n])
		}
	}
	first := true
	for _, rec := range sum.Runs {
		if m := rec.Memory; m != nil {
			if first {
				fmt.Fprintln(w, "\nmemory (admin /metrics; start / half-way / end / settled):")
				first = false
			}
			fmt.Fprintf(w, "  %s %s: RSS %s MiB, goroutines %s\n", rec.Target, rec.Result.Name, m.rss(), m.goroutines())
		}
	}
	if len(sum.Checks) > 0 {
		fmt.Fprintln(w, "\ntargets:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range sum.Checks {
			verdict := "PASS"
			if !c.Pass {
				verdict = "MISS"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\twant %s\tgot %s\n", verdict, c.Target, c.Name, c.Want, c.Got)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("bench: table: %w", err)
		}
	}
	for _, n := range sum.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// errorsCell renders errors by kind compactly: "0" or "timeout=3 status_503=10".
func errorsCell(r *Result) string {
	if len(r.Errors) == 0 {
		return "0"
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, r.Errors[k])
	}
	return b.String()
}

// WriteJSON writes the summary as indented JSON.
func WriteJSON(w io.Writer, sum *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		return fmt.Errorf("bench: json: %w", err)
	}
	return nil
}
