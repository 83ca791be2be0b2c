package iproyal

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// product is the balance IPRoyal's residential sub-users draw from.
const product = subgate.ProductResidential

// resource is IPRoyal's Subuser resource.
type resource struct {
	ID               int64   `json:"id"`
	Hash             string  `json:"hash"`
	Username         string  `json:"username"`
	Password         string  `json:"password"`
	TrafficAvailable float64 `json:"traffic_available"`
	TrafficUsed      float64 `json:"traffic_used"`
}

func resourceOf(u *subgate.SubUser) resource {
	return resource{
		ID: u.ID, Hash: u.Hash, Username: u.Username, Password: u.Password,
		TrafficAvailable: subgate.BytesToGB(u.Traffic[product].Available),
		TrafficUsed:      subgate.BytesToGB(u.TotalUsed()),
	}
}

var limitsType = reflect.TypeFor[limitsBody]()

// limitsBody is the "limits" parameter, in MB.
type limitsBody struct {
	Daily    *jsonhttp.Number `json:"daily_limit"`
	Monthly  *jsonhttp.Number `json:"monthly_limit"`
	Lifetime *jsonhttp.Number `json:"lifetime_limit"`
}

// UnmarshalJSON accepts an object or an empty array (what PHP clients send
// for an empty associative array).
func (l *limitsBody) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var empty []json.RawMessage
		if err := json.Unmarshal(t, &empty); err != nil || len(empty) > 0 {
			return &json.UnmarshalTypeError{Value: "array", Type: limitsType}
		}
		*l = limitsBody{}
		return nil
	}
	type plain limitsBody
	return json.Unmarshal(b, (*plain)(l))
}

// apply sets the limits that were given, in bytes, on top of base.
func (l *limitsBody) apply(base subgate.Limits) (subgate.Limits, error) {
	if l == nil {
		return base, nil
	}
	for _, f := range []struct {
		name string
		in   *jsonhttp.Number
		out  *int64
	}{
		{"limits.daily_limit", l.Daily, &base.Daily},
		{"limits.monthly_limit", l.Monthly, &base.Monthly},
		{"limits.lifetime_limit", l.Lifetime, &base.Lifetime},
	} {
		if f.in == nil {
			continue
		}
		b, err := subgate.MBToBytes(f.name, float64(*f.in))
		if err != nil {
			return base, err
		}
		*f.out = b
	}
	return base, nil
}

// writeRequest is the body of create and update.
type writeRequest struct {
	Username *string          `json:"username"`
	Password *string          `json:"password"`
	Traffic  *jsonhttp.Number `json:"traffic"`
	Limits   *limitsBody      `json:"limits"`
}

// trafficBytes converts the GB traffic parameter, if given.
func (req *writeRequest) trafficBytes() (int64, bool, error) {
	if req.Traffic == nil {
		return 0, false, nil
	}
	b, err := subgate.GBToBytes("traffic", float64(*req.Traffic))
	return b, true, err
}
