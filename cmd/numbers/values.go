// values.go holds the flag values: lists, sizes, durations, counts and
// numbers that take the word off, and the switches.

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"numbers/guard"
	"numbers/service"
)

// listFlag returns a flag.Func setter that parses a comma-separated list.
func listFlag[T any](dst *[]T, parse func(string) ([]T, error)) func(string) error {
	return func(s string) error {
		v, err := parse(s)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// parseDenyNets parses -deny-nets, where "none" is the explicit empty list.
func parseDenyNets(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "none" {
		return []netip.Prefix{}, nil
	}
	return guard.ParsePrefixes(s)
}

// sampleFlag returns the setter of -trace-sample.
func sampleFlag(ratio *float64) func(string) error {
	return func(s string) error {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r < 0 || r > 1 {
			return errors.New("want a share from 0 to 1, such as 0.01")
		}
		*ratio = r
		return nil
	}
}

// off is the word that turns a setting off: the library's -1.
const off = "off"

// setting is a flag value of a number, a size or a duration, or off (-1).
// Its zero value prints as nothing, so that -h shows the default that its
// usage text names, not 0.
type setting[T int | int64 | float64 | time.Duration] struct {
	p     *T
	parse func(string) (T, error)
}

func (v setting[T]) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return fmt.Sprint(*v.p)
}

// Set parses s, or off.
func (v setting[T]) Set(s string) error {
	if s == off {
		*v.p = -1
		return nil
	}
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

// size is a setting of bytes: "8388608", "8MiB", "64KiB", "1GiB" (also
// KB/MB/GB, read as binary), or off.
func size(p *int64) setting[int64] { return setting[int64]{p, parseSize} }

// intSize is a size held in an int.
func intSize(p *int) setting[int] {
	return setting[int]{p, func(s string) (int, error) { n, err := parseSize(s); return int(n), err }}
}

// dur is a setting of a duration ("50ms"), or off.
func dur(p *time.Duration) setting[time.Duration] {
	return nonNegative(p, time.ParseDuration, "want a duration like 50ms, or off")
}

// count is a setting of a count, or off.
func count(p *int) setting[int] { return nonNegative(p, strconv.Atoi, "want a count, or off") }

// number is a setting of a number, or off.
func number(p *float64) setting[float64] {
	return nonNegative(p, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }, "want a number, or off")
}

// nonNegative is a setting that parse reads, refusing a negative value
// with want.
func nonNegative[T int | float64 | time.Duration](p *T, parse func(string) (T, error), want string) setting[T] {
	return setting[T]{p, func(s string) (T, error) {
		v, err := parse(s)
		if err != nil || v < 0 {
			return 0, errors.New(want)
		}
		return v, nil
	}}
}

// parseSize parses bytes, written plain or with a binary unit.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, errors.New("want bytes like 8388608 or 8MiB")
	}
	return n * mult, nil
}

// switchFlag is a boolean flag onto a service.Switch.
type switchFlag struct{ p *service.Switch }

func (s switchFlag) String() string {
	if s.p == nil || *s.p == service.Default {
		return ""
	}
	return strconv.FormatBool(*s.p == service.On)
}

// Set parses a boolean.
func (s switchFlag) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*s.p = service.SwitchOf(b)
	return nil
}

// IsBoolFlag lets -hedge stand for -hedge=true.
func (switchFlag) IsBoolFlag() bool { return true }
