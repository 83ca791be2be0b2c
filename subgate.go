// Package subgate holds the domain of the sub-user platform: resellers, their
// traffic pools, sub-users with limits, the traffic ledger and usage metering.
// Storage, HTTP edges, the proxy gateway and routing live in subpackages and
// depend on this package, never the other way round.
package subgate

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Product is a kind of proxy traffic a pool or a sub-user balance is for.
type Product string

const (
	ProductAny         Product = "*"   // usable for every product
	ProductResidential Product = "res" // rotating residential
	ProductDatacenter  Product = "dc"
	ProductStatic      Product = "stc" // static residential (ISP)
	ProductMobile      Product = "mob"
)

// Products lists every product in a stable order.
var Products = []Product{ProductAny, ProductResidential, ProductDatacenter, ProductStatic, ProductMobile}

// ParseProduct validates a product name as it arrives at an API edge.
func ParseProduct(s string) (Product, error) {
	p := Product(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Products {
		if p == known {
			return p, nil
		}
	}
	return "", Invalidf("product", "unknown product %q (want one of *, res, dc, stc, mob)", s)
}

// BytesPerGB is the decimal gigabyte used at every API boundary.
const BytesPerGB int64 = 1_000_000_000

// BytesPerMB is the decimal megabyte (IPRoyal limits are given in MB).
const BytesPerMB int64 = 1_000_000

// MaxBytes (1 EB) bounds any single traffic amount and what a reseller holds
// of one product (see CheckHeld), so no balance or sum can overflow int64.
const MaxBytes int64 = 1_000_000_000_000_000_000

// GBToBytes converts a decimal GB amount from an API edge to bytes, rounding to
// the nearest byte. NaN, infinities, negatives and absurdly large values are
// rejected with an error naming field.
func GBToBytes(field string, gb float64) (int64, error) {
	return unitsToBytes(field, gb, BytesPerGB)
}

// MBToBytes is GBToBytes for megabytes.
func MBToBytes(field string, mb float64) (int64, error) {
	return unitsToBytes(field, mb, BytesPerMB)
}

func unitsToBytes(field string, v float64, unit int64) (int64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, Invalidf(field, "must be a finite number")
	}
	if v < 0 {
		return 0, Invalidf(field, "must not be negative")
	}
	b := math.Round(v * float64(unit))
	if b > float64(MaxBytes) {
		return 0, Invalidf(field, "is too large")
	}
	return int64(b), nil
}

// BytesToGB converts bytes to decimal GB for API edges that speak GB.
func BytesToGB(b int64) float64 { return float64(b) / float64(BytesPerGB) }

// BytesToMB converts bytes to decimal MB.
func BytesToMB(b int64) float64 { return float64(b) / float64(BytesPerMB) }

// ValidateAmount checks a byte amount given to a ledger movement.
func ValidateAmount(field string, b int64) error {
	switch {
	case b <= 0:
		return Invalidf(field, "must be a positive number of bytes")
	case b > MaxBytes:
		return Invalidf(field, "is too large")
	}
	return nil
}

// Windows computes the keys of the limit windows a moment falls in. Daily limits
// reset at 00:00 and monthly limits on the 1st at 00:00 in Location (UTC unless
// configured). Keys are plain integers (YYYYMMDD, YYYYMM) so stores can compare
// them without time-zone arithmetic.
type Windows struct {
	Location *time.Location
}

func (w Windows) loc() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// DayKey returns the daily window of t as YYYYMMDD.
func (w Windows) DayKey(t time.Time) int64 {
	y, m, d := t.In(w.loc()).Date()
	return int64(y)*10000 + int64(m)*100 + int64(d)
}

// MonthKey returns the monthly window of t as YYYYMM.
func (w Windows) MonthKey(t time.Time) int64 {
	y, m, _ := t.In(w.loc()).Date()
	return int64(y)*100 + int64(m)
}

// FormatKey renders a window key for logs and errors.
func FormatKey(k int64) string { return strconv.FormatInt(k, 10) }

// HourOf truncates t to the start of its UTC hour: usage buckets are hourly.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
