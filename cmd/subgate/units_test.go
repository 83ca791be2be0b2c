package main

import "testing"

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"1500": 1500, "10GB": 10_000_000_000, "10gb": 10_000_000_000, "500MB": 500_000_000,
		"1.5GB": 1_500_000_000, "2 TB": 2_000_000_000_000, "1KiB": 1024, "1GiB": 1 << 30,
		"7B": 7, "3k": 3000, "0": 0, "0.5MB": 500_000,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1", "-1GB", "ten", "NaNGB", "InfGB", "1e30", "9223372036854775807GB", "1.5"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0 B", 999: "999 B", 1500: "1.50 KB", 10_000_000_000: "10.00 GB", 2_500_000_000_000: "2.50 TB"} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
