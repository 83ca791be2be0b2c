package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

var units = []struct {
	suffix string
	bytes  float64
}{
	// Longest suffixes first so "GiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// parseBytes reads a traffic amount: plain bytes ("1500"), or a number with
// a decimal unit (KB, MB, GB, TB: powers of 1000, as at every API edge) or a
// binary one (KiB, MiB, GiB, TiB).
func parseBytes(s string) (int64, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(in, u.suffix) {
			in, mult = strings.TrimSpace(strings.TrimSuffix(in, u.suffix)), u.bytes
			break
		}
	}
	if n, err := strconv.ParseInt(in, 10, 64); err == nil && mult == 1 {
		if n < 0 || n > subgate.MaxBytes {
			return 0, fmt.Errorf("amount %q must be between 0 and %d bytes", s, subgate.MaxBytes)
		}
		return n, nil
	}
	v, err := strconv.ParseFloat(in, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("amount %q is not a size such as 10GB, 500MB or 1500", s)
	}
	if mult == 1 && v != math.Trunc(v) {
		return 0, fmt.Errorf("amount %q: bytes must be a whole number", s)
	}
	b := math.Round(v * mult)
	if b < 0 || b > float64(subgate.MaxBytes) {
		return 0, fmt.Errorf("amount %q must be between 0 and %d bytes", s, subgate.MaxBytes)
	}
	return int64(b), nil
}

// formatBytes renders bytes in decimal units for tables.
func formatBytes(b int64) string {
	f := float64(b)
	switch {
	case b >= 1e12:
		return strconv.FormatFloat(f/1e12, 'f', 2, 64) + " TB"
	case b >= 1e9:
		return strconv.FormatFloat(f/1e9, 'f', 2, 64) + " GB"
	case b >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 2, 64) + " MB"
	case b >= 1e3:
		return strconv.FormatFloat(f/1e3, 'f', 2, 64) + " KB"
	}
	return strconv.FormatInt(b, 10) + " B"
}

// bytesFlag is a flag holding a traffic amount.
type bytesFlag struct{ n int64 }

func (f *bytesFlag) String() string { return strconv.FormatInt(f.n, 10) }
func (f *bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	f.n = n
	return err
}
