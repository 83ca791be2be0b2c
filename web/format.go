package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

var funcs = template.FuncMap{
	"gb":          formatGB,
	"bytes":       formatBytes,
	"gbInput":     gbInput,
	"productName": productName,
	"ledgerKind":  ledgerKind,
	"when":        formatTime,
	"day":         formatDay,
	"axisY":       func(h int) int { return h - 16 },
	"labelY":      func(h int) int { return h - 3 },
	"field":       field,
	"fieldValue":  fieldValue,
}

// formatGB shows bytes as decimal GB (10^9 bytes), the unit resellers buy;
// amounts too small to show in GB or MB go in kB or bytes.
func formatGB(b int64) string {
	gb := subgate.BytesToGB(b)
	switch {
	case b == 0:
		return "0 GB"
	case b < 1000 && b > -1000:
		return strconv.FormatInt(b, 10) + " bytes"
	case b < 1_000_000 && b > -1_000_000:
		return strconv.FormatFloat(float64(b)/1000, 'f', 2, 64) + " kB"
	case gb < 0.01 && gb > -0.01:
		return strconv.FormatFloat(subgate.BytesToMB(b), 'f', 2, 64) + " MB"
	}
	return strconv.FormatFloat(gb, 'f', 2, 64) + " GB"
}

// formatBytes shows an exact byte count with thousands separators.
func formatBytes(b int64) string {
	s := strconv.FormatInt(b, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out) + " bytes"
	}
	return string(out) + " bytes"
}

// gbInput fills a GB form field; zero stays empty (no limit).
func gbInput(b int64) string {
	if b == 0 {
		return ""
	}
	return strconv.FormatFloat(subgate.BytesToGB(b), 'f', -1, 64)
}

var productNames = map[subgate.Product]string{
	subgate.ProductAny: "Any product", subgate.ProductResidential: "Residential",
	subgate.ProductDatacenter: "Datacenter", subgate.ProductStatic: "Static ISP", subgate.ProductMobile: "Mobile",
}

func productName(p subgate.Product) string {
	if n, ok := productNames[p]; ok {
		return n
	}
	return string(p)
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDay(t time.Time) string { return t.Format("Jan 2") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// countInput fills a count form field; zero stays empty (no limit).
func countInput(n int64) string {
	if n == 0 {
		return ""
	}
	return itoa(n)
}

// fieldView is one labelled form input.
type fieldView struct {
	Name, Label, Type, Hint, Value, Error string
}

// field builds an input filled with what was typed into it, if anything.
func field(pg *page, name, label, typ, hint string) fieldView {
	v := fieldView{Name: name, Label: label, Type: typ, Hint: hint, Value: pg.Form.Get(name), Error: pg.Fields[name]}
	if typ == "password" {
		v.Value = "" // never echoed back into a page
	}
	return v
}

// fieldValue builds an input with a given value.
func fieldValue(pg *page, name, label, typ, value string) fieldView {
	return fieldView{Name: name, Label: label, Type: typ, Value: value, Error: pg.Fields[name]}
}

var ledgerKinds = map[subgate.LedgerKind]string{
	subgate.LedgerGive: "given from the pool", subgate.LedgerTake: "taken back to the pool",
	subgate.LedgerReturn: "returned to the pool", subgate.LedgerUsage: "used (that hour)",
	subgate.LedgerOverdraft: "used beyond the balance (not charged)",
	subgate.LedgerCredit:    "pool credited", subgate.LedgerDebit: "pool debited",
}

func ledgerKind(k subgate.LedgerKind) string {
	if n, ok := ledgerKinds[k]; ok {
		return n
	}
	return string(k)
}
