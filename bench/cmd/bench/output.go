// output.go writes a run's results: the summary, the tables and the
// plots, in a directory of its own.

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"numbers/bench"
)

// resultsDir creates <parent>/<timestamp>.
func resultsDir(parent string) (string, error) {
	dir := filepath.Join(parent, time.Now().Format("2006-01-02T15-04-05"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// output prints the table (or JSON) and writes summary.json, table.txt and the plots.
func output(dir string, o options, sum *bench.Summary) error {
	var table strings.Builder
	if err := bench.WriteTable(&table, sum); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte(table.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "summary.json"))
	if err != nil {
		return err
	}
	if err := bench.WriteJSON(f, sum); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var out io.Writer = os.Stdout
	if o.json {
		if err := bench.WriteJSON(out, sum); err != nil {
			return err
		}
	} else {
		fmt.Fprint(out, table.String())
	}
	files, err := bench.WritePlots(dir, sum)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: results in %s (summary.json, table.txt, %d plots)\n", dir, len(files))
	return nil
}
