package jsonhttp

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

var numberType = reflect.TypeFor[Number]()

// Number is a JSON number that also accepts a numeric string ("5", "2.5"),
// because the providers' own APIs accept both and existing scripts send both.
type Number float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = bytes.TrimSpace([]byte(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return &json.UnmarshalTypeError{Value: "string", Type: numberType}
	}
	*n = Number(f)
	return nil
}

// Int reports the number as an int64 when it is a whole number in range.
func (n Number) Int() (int64, bool) {
	f := float64(n)
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}
