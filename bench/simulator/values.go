// values.go parses single parameter values: integers, fractions, booleans, durations and sizes.

package simulator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

func parseInt(v []byte, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, errors.New("want an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want an integer in %d..%d", lo, hi)
	}
	return n, nil
}

func parseFraction(v []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || !(f >= 0 && f <= 1) { // also rejects NaN
		return 0, errors.New("want a number in 0..1")
	}
	return f, nil
}

func parseBool(v []byte) (bool, error) {
	switch string(v) {
	case "1", "true":
		return true, nil
	case "0", "false", "":
		return false, nil
	}
	return false, errors.New("want 0 or 1")
}

func parseDuration(v []byte, signed bool) (time.Duration, error) {
	d, err := time.ParseDuration(string(v))
	if err != nil {
		return 0, errors.New("want a Go duration such as 250ms")
	}
	if signed && (d > MaxShift || d < -MaxShift) {
		return 0, errors.New("want a duration within ±100000h")
	}
	if !signed && (d > MaxDuration || d < 0) {
		return 0, errors.New("want a duration in 0..1h")
	}
	return d, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// parseSize parses "50MB", "8MiB", "1024" or "1024B".
func parseSize(v []byte) (int64, error) {
	s := string(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > MaxSize/mult {
		return 0, errors.New("want a size such as 50MB or 8MiB, at most 64GiB")
	}
	return n * mult, nil
}

func printable(v []byte) bool {
	for _, c := range v {
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}
